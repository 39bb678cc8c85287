//! Reads typed values out of a [`Node`] tree, recording where every field is
//! written and turning serde's errors into messages that name the field path,
//! the line and a fix ("did you mean `weight`?").

use super::node::{Node, Value};
use super::suggest::did_you_mean;
use crate::source::{path, Location};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::fmt;

/// A problem found while reading one resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    /// Field path (`spec.http[0].route[0].weight`).
    pub path: String,
    pub loc: Location,
    pub text: String,
    pub fix: String,
}

/// serde's error type for the node deserializer. Boxed: every derived
/// visitor moves `Result<_, DeError>` around, and a pointer-sized error keeps
/// that code (instantiated once per model type) small.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeError(Box<DeErrorData>);

#[derive(Debug, Clone, PartialEq)]
struct DeErrorData {
    text: String,
    fix: String,
    /// Set once the error has been attributed to a field.
    at: Option<(String, Location)>,
    unknown_field: bool,
}

impl DeError {
    fn new(text: String, fix: String, unknown_field: bool) -> Self {
        DeError(Box::new(DeErrorData {
            text,
            fix,
            at: None,
            unknown_field,
        }))
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(msg.to_string(), String::new(), false)
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let fix = match did_you_mean(field, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if expected.is_empty() => "remove it: this object takes no fields".into(),
            None => format!("remove it; known fields here: {}", expected.join(", ")),
        };
        DeError::new(format!("unknown field `{field}`"), fix, true)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let fix = match did_you_mean(variant, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use one of: {}", expected.join(", ")),
        };
        DeError::new(format!("unknown value `{variant}`"), fix, false)
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(
            format!("missing required field `{field}`"),
            format!("add `{field}`"),
            false,
        )
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(
            format!("expected {exp}, found {unexp}"),
            String::new(),
            false,
        )
    }
}

/// The field path of the value being read, kept as links to its parents on
/// the stack and written out only when an error needs it.
#[derive(Clone, Copy)]
enum Path<'p> {
    Base(&'p str),
    /// A mapping entry: `parent.name` in a struct (`true`), `parent["key"]`
    /// in a map. The key node is kept, and described only when rendered.
    Entry(&'p Path<'p>, &'p Node<'p>, bool),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Base(b) => b.to_string(),
            Path::Entry(parent, key, is_struct) => {
                let described;
                let text = match &key.value {
                    Value::Str(s) => s,
                    other => {
                        described = other.describe();
                        described.as_str()
                    }
                };
                if *is_struct {
                    path::field(&parent.render(), text)
                } else {
                    path::key(&parent.render(), text)
                }
            }
            Path::Index(parent, i) => path::index(&parent.render(), *i),
        }
    }
}

impl DeError {
    /// Out of line: called on the error path of every generic reader.
    #[inline(never)]
    fn at(mut self, path: &Path<'_>, loc: Location) -> Self {
        if self.0.at.is_none() {
            self.0.at = Some((path.render(), loc));
        }
        self
    }

    fn into_field_error(self, fallback_path: &str, fallback_loc: Location) -> FieldError {
        let DeErrorData { text, fix, at, .. } = *self.0;
        let (path, loc) = at.unwrap_or_else(|| (fallback_path.to_string(), fallback_loc));
        FieldError {
            path,
            loc,
            text,
            fix,
        }
    }
}

/// Most unknown fields reported for one resource before giving up.
const MAX_UNKNOWN_FIELDS_REPORTED: usize = 32;

/// Reads a `T` from `node`, whose field path is `base` (`spec`, `metadata`).
///
/// Every unknown field is reported, not only the first: serde stops at the
/// first one, so the key is removed and the read repeated (only on this
/// error path, a few times at most). The first type error stops reading.
pub(crate) fn read<T: de::DeserializeOwned>(node: &Node, base: &str) -> Result<T, Vec<FieldError>> {
    let mut value = None;
    read_with(node, base, &mut |d| {
        value = Some(T::deserialize(d)?);
        Ok(())
    })?;
    value.ok_or_else(Vec::new)
}

/// [`read`] without its type: `deserialize` reads one attempt and keeps the
/// value. Kept apart so that the retry loop is not repeated for every type read.
fn read_with(
    node: &Node,
    base: &str,
    deserialize: &mut dyn FnMut(NodeDeserializer<'_, '_>) -> Result<(), DeError>,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut pruned: Option<Node> = None;
    loop {
        let current = pruned.as_ref().unwrap_or(node);
        let d = NodeDeserializer {
            node: current,
            path: Path::Base(base),
        };
        match deserialize(d) {
            Ok(()) if errors.is_empty() => return Ok(()),
            Ok(_) => return Err(errors),
            Err(e) => {
                let unknown = e.0.unknown_field;
                let fe = e.into_field_error(base, current.loc);
                let loc = fe.loc;
                errors.push(fe);
                if !unknown || errors.len() >= MAX_UNKNOWN_FIELDS_REPORTED {
                    return Err(errors);
                }
                let mut next = current.clone();
                if !remove_key_at(&mut next, loc) {
                    return Err(errors);
                }
                pruned = Some(next);
            }
        }
    }
}

/// Removes the mapping entry whose key is written at `loc`.
pub(crate) fn remove_key_at(node: &mut Node, loc: Location) -> bool {
    match &mut node.value {
        Value::Map(entries) => {
            if let Some(i) = entries.iter().position(|(k, _)| k.loc == loc) {
                entries.remove(i);
                return true;
            }
            entries.iter_mut().any(|(_, v)| remove_key_at(v, loc))
        }
        Value::Seq(items) => items.iter_mut().any(|n| remove_key_at(n, loc)),
        _ => false,
    }
}

struct NodeDeserializer<'a, 'p> {
    node: &'a Node<'a>,
    path: Path<'p>,
}

impl<'a> NodeDeserializer<'a, '_> {
    fn err(&self, e: DeError) -> DeError {
        e.at(&self.path, self.node.loc)
    }

    #[inline(never)]
    fn type_error(&self, exp: &dyn de::Expected) -> DeError {
        self.err(DeError::new(
            format!("expected {exp}, found {}", self.node.value.describe()),
            String::new(),
            false,
        ))
    }

    fn deserialize_mapping<V: Visitor<'a>>(
        self,
        visitor: V,
        is_struct: bool,
    ) -> Result<V::Value, DeError> {
        let entries: &'a [(Node<'a>, Node<'a>)] = match &self.node.value {
            Value::Map(entries) => entries,
            // `field: ~` / `field:` for an object: treat as empty, as Kubernetes' JSON does for null.
            Value::Null => &[],
            _ => return Err(self.type_error(&visitor)),
        };
        // One `visit_map` call site: this function is instantiated per model type.
        let access = NodeMapAccess {
            entries,
            index: 0,
            parent: self.path,
            is_struct,
            current: None,
        };
        visitor.visit_map(access).map_err(|e| self.err(e))
    }
}

macro_rules! forward_integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            match &self.node.value {
                Value::Int(i) => visitor.visit_i64(*i).map_err(|e| self.err(e)),
                Value::UInt(u) => visitor.visit_u64(*u).map_err(|e| self.err(e)),
                _ => Err(self.type_error(&visitor)),
            }
        }
    )*};
}

impl<'a> Deserializer<'a> for NodeDeserializer<'a, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(_) => return self.deserialize_seq(visitor),
            Value::Map(_) => return self.deserialize_mapping(visitor, false),
        };
        r.map_err(|e| self.err(e))
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Bool(b) => visitor.visit_bool(*b).map_err(|e| self.err(e)),
            _ => Err(self.type_error(&visitor)),
        }
    }

    forward_integer!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64);

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::UInt(u) => visitor.visit_f64(*u as f64),
            _ => return Err(self.type_error(&visitor)),
        };
        r.map_err(|e| self.err(e))
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    #[inline(never)]
    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => visitor.visit_str(s).map_err(|e| self.err(e)),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    #[inline(never)]
    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    #[inline(never)]
    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items: &'a [Node<'a>] = match &self.node.value {
            Value::Seq(items) => items,
            // `hosts:` with nothing after it is null in YAML; Kubernetes reads it as empty.
            Value::Null => &[],
            _ => return Err(self.type_error(&visitor)),
        };
        let access = NodeSeqAccess {
            items,
            index: 0,
            parent: self.path,
        };
        visitor.visit_seq(access).map_err(|e| self.err(e))
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_mapping(visitor, false)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_mapping(visitor, true)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => visitor
                .visit_enum(UnitVariant { name: s })
                .map_err(|e| self.err(e)),
            // Protobuf JSON also accepts enum numbers; let the enum's own
            // deserializer decide whether it takes them.
            Value::Int(_) | Value::UInt(_) => self.deserialize_any(visitor),
            _ => Err(self.type_error(&visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct UnitVariant<'s> {
    name: &'s str,
}

impl<'a, 's> EnumAccess<'a> for UnitVariant<'s> {
    type Error = DeError;
    type Variant = UnitOnly;

    fn variant_seed<S: DeserializeSeed<'a>>(
        self,
        seed: S,
    ) -> Result<(S::Value, UnitOnly), DeError> {
        let d: de::value::StrDeserializer<'_, DeError> = self.name.into_deserializer();
        Ok((seed.deserialize(d)?, UnitOnly))
    }
}

struct UnitOnly;

impl<'a> VariantAccess<'a> for UnitOnly {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'a>>(self, _seed: S) -> Result<S::Value, DeError> {
        Err(de::Error::custom("expected a plain string value"))
    }
    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, _v: V) -> Result<V::Value, DeError> {
        Err(de::Error::custom("expected a plain string value"))
    }
    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::custom("expected a plain string value"))
    }
}

struct NodeSeqAccess<'a, 'p> {
    items: &'a [Node<'a>],
    index: usize,
    parent: Path<'p>,
}

impl<'a> SeqAccess<'a> for NodeSeqAccess<'a, '_> {
    type Error = DeError;

    #[inline(never)]
    fn next_element_seed<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        let Some(item) = self.items.get(self.index) else {
            return Ok(None);
        };
        let p = Path::Index(&self.parent, self.index);
        self.index += 1;
        let d = NodeDeserializer {
            node: item,
            path: p,
        };
        seed.deserialize(d)
            .map(Some)
            .map_err(|e| e.at(&p, item.loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.index.min(self.items.len()))
    }
}

struct NodeMapAccess<'a, 'p> {
    entries: &'a [(Node<'a>, Node<'a>)],
    index: usize,
    parent: Path<'p>,
    is_struct: bool,
    /// Key and value of the entry whose key was just returned.
    current: Option<(&'a Node<'a>, &'a Node<'a>)>,
}

impl<'a> NodeMapAccess<'a, '_> {
    /// The path of the entry with `key`.
    fn entry_path<'s>(&'s self, key: &'a Node<'a>) -> Path<'s> {
        Path::Entry(&self.parent, key, self.is_struct)
    }
}

impl<'a> MapAccess<'a> for NodeMapAccess<'a, '_> {
    type Error = DeError;

    #[inline(never)]
    fn next_key_seed<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        let Some((key, value)) = self.entries.get(self.index) else {
            return Ok(None);
        };
        self.index += 1;
        let p = self.entry_path(key);
        let d = NodeDeserializer { node: key, path: p };
        let k = seed.deserialize(d).map_err(|e| e.at(&p, key.loc))?;
        self.current = Some((key, value));
        Ok(Some(k))
    }

    #[inline(never)]
    fn next_value_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let Some((key, value)) = self.current.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        let p = self.entry_path(key);
        let d = NodeDeserializer {
            node: value,
            path: p,
        };
        seed.deserialize(d).map_err(|e| e.at(&p, value.loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.index.min(self.entries.len()))
    }
}
