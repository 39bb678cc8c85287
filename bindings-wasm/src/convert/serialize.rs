//! `&mut Tape` as a serde `Serializer`: the decision's less common fields
//! (and every serde value inside it) written as `value()` in
//! src/convert.js reads them.

use super::tape::{Tape, ARRAY, FALSE, NULL, NUMBER, OBJECT, TRUE};
use serde::ser::{self, Serialize};
use std::fmt;

/// Why a value could not be written (a map key that is not a string or
/// number; serde_json refuses those too).
#[derive(Debug)]
pub(crate) struct TapeError(String);

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TapeError {}

impl ser::Error for TapeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TapeError(msg.to_string())
    }
}

impl Tape {
    fn number(&mut self, n: f64) {
        // serde_json writes NaN and infinities as null.
        if n.is_finite() {
            self.ops.extend_from_slice(&[NUMBER, n]);
        } else {
            self.ops.push(NULL);
        }
    }

    /// Opens an array or object; its length is set by [`Compound::end`].
    fn open(&mut self, op: f64) -> Compound<'_> {
        self.ops.extend_from_slice(&[op, 0.0]);
        let at = self.ops.len() - 1;
        Compound {
            tape: self,
            at,
            count: 0,
        }
    }
}

/// An array or object being written: where its length goes, and the count.
pub(crate) struct Compound<'t> {
    tape: &'t mut Tape,
    at: usize,
    count: u32,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TapeError> {
        self.count += 1;
        value.serialize(&mut *self.tape)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), TapeError> {
        self.count += 1;
        self.tape.text(key);
        value.serialize(&mut *self.tape)
    }

    fn end(self) -> Result<(), TapeError> {
        if let Some(slot) = self.tape.ops.get_mut(self.at) {
            *slot = f64::from(self.count);
        }
        Ok(())
    }
}

/// Writes a single-key object `{variant: ...}` (serde_json's externally
/// tagged enums) and returns the open inner compound's parent count fixup.
fn open_variant<'t>(tape: &'t mut Tape, variant: &str, op: f64) -> Compound<'t> {
    tape.ops.extend_from_slice(&[OBJECT, 1.0]);
    tape.text(variant);
    tape.open(op)
}

/// `serialize_*` methods of the number types `f64::from` takes exactly.
macro_rules! exact_numbers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), TapeError> {
            self.number(f64::from(v));
            Ok(())
        }
    )*};
}

/// `serialize_*` methods of map keys written as their text, as serde_json does.
macro_rules! display_keys {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), TapeError> {
            self.display(v)
        }
    )*};
}

impl<'t> ser::Serializer for &'t mut Tape {
    type Ok = ();
    type Error = TapeError;
    type SerializeSeq = Compound<'t>;
    type SerializeTuple = Compound<'t>;
    type SerializeTupleStruct = Compound<'t>;
    type SerializeTupleVariant = Compound<'t>;
    type SerializeMap = Compound<'t>;
    type SerializeStruct = Compound<'t>;
    type SerializeStructVariant = Compound<'t>;

    fn serialize_bool(self, v: bool) -> Result<(), TapeError> {
        self.ops.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    exact_numbers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32
    );
    fn serialize_i64(self, v: i64) -> Result<(), TapeError> {
        // JSON.parse rounds large integers to the nearest double too.
        self.number(v as f64);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), TapeError> {
        self.number(v as f64);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), TapeError> {
        // serde_json prints the f32's shortest text, which JSON.parse reads
        // as the double nearest that decimal, not the f32 widened.
        let text = v.to_string();
        self.number(text.parse().unwrap_or(f64::NAN));
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), TapeError> {
        self.number(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), TapeError> {
        self.text(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), TapeError> {
        self.text(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), TapeError> {
        let mut seq = self.open(ARRAY);
        for b in v {
            seq.element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), TapeError> {
        self.ops.push(NULL);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), TapeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), TapeError> {
        self.ops.push(NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), TapeError> {
        self.ops.push(NULL);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), TapeError> {
        self.text(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), TapeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), TapeError> {
        self.ops.extend_from_slice(&[OBJECT, 1.0]);
        self.text(variant);
        value.serialize(self)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'t>, TapeError> {
        Ok(self.open(ARRAY))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'t>, TapeError> {
        Ok(self.open(ARRAY))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'t>, TapeError> {
        Ok(self.open(ARRAY))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'t>, TapeError> {
        Ok(open_variant(self, variant, ARRAY))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'t>, TapeError> {
        Ok(self.open(OBJECT))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'t>, TapeError> {
        Ok(self.open(OBJECT))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'t>, TapeError> {
        Ok(open_variant(self, variant, OBJECT))
    }
}

/// The serde compound traits that only forward to [`Compound`]: list-like
/// ones add an element, struct-like ones a named field.
macro_rules! forward_compound {
    (elements: $($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = TapeError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TapeError> {
                self.element(value)
            }
            fn end(self) -> Result<(), TapeError> {
                Compound::end(self)
            }
        }
    )*};
    (fields: $($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = TapeError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), TapeError> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), TapeError> {
                Compound::end(self)
            }
        }
    )*};
}

forward_compound!(elements:
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);
forward_compound!(fields: SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = TapeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), TapeError> {
        self.count += 1;
        key.serialize(KeyWriter(&mut *self.tape))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TapeError> {
        value.serialize(&mut *self.tape)
    }
    fn end(self) -> Result<(), TapeError> {
        Compound::end(self)
    }
}

/// Writes a map key as serde_json does: strings as they are, numbers,
/// booleans and unit variants as their text; anything else is an error.
struct KeyWriter<'t>(&'t mut Tape);

fn key_error() -> TapeError {
    TapeError("key must be a string".into())
}

impl KeyWriter<'_> {
    fn display(self, v: impl fmt::Display) -> Result<(), TapeError> {
        self.0.text(&v.to_string());
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = TapeError;
    type SerializeSeq = ser::Impossible<(), TapeError>;
    type SerializeTuple = ser::Impossible<(), TapeError>;
    type SerializeTupleStruct = ser::Impossible<(), TapeError>;
    type SerializeTupleVariant = ser::Impossible<(), TapeError>;
    type SerializeMap = ser::Impossible<(), TapeError>;
    type SerializeStruct = ser::Impossible<(), TapeError>;
    type SerializeStructVariant = ser::Impossible<(), TapeError>;

    fn serialize_str(self, v: &str) -> Result<(), TapeError> {
        self.0.text(v);
        Ok(())
    }
    display_keys!(
        serialize_char: char,
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_f32(self, _v: f32) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), TapeError> {
        self.0.text(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), TapeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), TapeError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, TapeError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, TapeError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, TapeError> {
        Err(key_error())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, TapeError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, TapeError> {
        Err(key_error())
    }
}
