//! Fast conversions for `Mesh.route`, the call made per request (issue 7):
//!
//! - request in: `packRequest` (src/convert.js) reads the JS object once
//!   and packs it into wasm memory; [`refill_request`] refills the
//!   `Request`. Anything unusual (unknown key, wrong type, ...) is not packed,
//!   and the caller takes the JSON path, so every error stays the core's.
//! - decision out: [`Tape`] writes the decision as a flat list of numbers
//!   (its common fields by hand, the rest through serde: `Tape` is a serde
//!   `Serializer`); `buildDecision` (src/convert.js) builds the plain object
//!   JSON.parse would give for the serde JSON. Strings cross once: each is
//!   kept in a JS array ([`Strings`]) and later decisions name it by index.

use meshroute::decide::{Destination, Outcome, Protocol, RequestFields, Retries, RuleRef, Shared};
use meshroute::fasthash::FastMap;
use meshroute::limits;
use meshroute::{Decision, Request};
use serde::ser::{self, Serialize};
use std::borrow::Cow;
use std::fmt;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/convert.js")]
extern "C" {
    // None of these throws (each catches inside): wasm-bindgen's `catch`
    // wrapper costs ~0.2 µs a call in V8. Buffers in wasm memory cross as
    // their address (JS keeps one view of the memory, made again only when
    // the memory grows): a typed-array view made per call costs ~40 ns.

    /// Gives the JS side the module's memory (`WebAssembly.Memory`).
    #[wasm_bindgen(js_name = useMemory)]
    fn use_memory(memory: &JsValue);

    /// Writes the request's strings into the `capacity` bytes at `address`
    /// and its length entries into the `count` u32s at `lengths` (layout in
    /// src/convert.js): the number of entries, -1 to take the JSON path, -2
    /// if a buffer is too small.
    #[wasm_bindgen(js_name = packRequest)]
    fn pack_request(
        request: &JsValue,
        address: usize,
        capacity: usize,
        lengths: usize,
        count: usize,
    ) -> i32;

    /// The decision the tape of `len` numbers at `address` describes (see
    /// [`Tape::decision`]); `undefined` if it could not be built.
    #[wasm_bindgen(js_name = buildDecision)]
    fn build_decision(
        address: usize,
        len: usize,
        strings: &js_sys::Array,
        fresh: Option<&str>,
    ) -> JsValue;

    /// Adds `text` to `strings` as a property-key string (V8 internalises
    /// it once, so objects built with it as a key take the fast path).
    #[wasm_bindgen(js_name = keepString)]
    fn keep_string(strings: &js_sys::Array, text: &str) -> u32;
}

/// First size of the buffers `packRequest` writes into (bytes, entries).
const PACKED_START: (usize, usize) = (4 * 1024, 256);
/// Larger requests take the JSON path (bounds the buffers kept): more
/// entries than the core accepts headers would be refused anyway.
const PACKED_MAX: (usize, usize) = (1024 * 1024, 16 + 2 * limits::MAX_REQUEST_HEADERS);

/// A length entry for an absent field (`ABSENT` in src/convert.js).
const ABSENT: u32 = u32::MAX;

/// Builds the request from what `packRequest` wrote (layout documented
/// there): the strings' text one after the other, and the length entries.
/// `None` when they are not in that layout, or hold more headers than the
/// core accepts (the JSON path then gives the core's error).
#[cfg(test)]
pub(crate) fn request_from_packed(text: &str, lengths: &[u32]) -> Option<Request> {
    let mut request = Request::new("");
    refill_request(&mut request, text, lengths).ok()?;
    Some(request)
}

/// A packed request being read: the text, where the next string starts,
/// and the length entries still to read.
struct Packed<'a> {
    text: &'a str,
    at: usize,
    lengths: std::slice::Iter<'a, u32>,
}

impl<'a> Packed<'a> {
    /// The next entry.
    fn entry(&mut self) -> Result<u32, ()> {
        self.lengths.next().copied().ok_or(())
    }

    /// The next string (its length is the next entry).
    fn string(&mut self) -> Result<&'a str, ()> {
        let len = self.entry()?;
        self.string_of(len)
    }

    fn string_of(&mut self, len: u32) -> Result<&'a str, ()> {
        let end = self.at.checked_add(len as usize).ok_or(())?;
        // `get` checks the bounds and that both ends are char boundaries.
        let s = self.text.get(self.at..end).ok_or(())?;
        self.at = end;
        Ok(s)
    }

    /// The next optional string: `None` when its entry is ABSENT.
    fn optional(&mut self) -> Result<Option<&'a str>, ()> {
        match self.entry()? {
            ABSENT => Ok(None),
            len => self.string_of(len).map(Some),
        }
    }
}

/// Replaces every field of `r` with the request `packRequest` wrote,
/// reusing `r`'s buffers: a request refilled for each call stops allocating
/// once they are large enough. `Err` (with `r` partly filled) when `text`
/// and `lengths` are not in its layout or hold more headers than the core
/// accepts. Lengths instead of separators: nothing to scan for here.
pub(crate) fn refill_request(r: &mut Request, text: &str, lengths: &[u32]) -> Result<(), ()> {
    let mut p = Packed {
        text,
        at: 0,
        lengths: lengths.iter(),
    };
    // Read in the layout's order.
    let host = p.string()?;
    let port = match p.entry()? {
        ABSENT => None,
        port => Some(u16::try_from(port).map_err(|_| ())?),
    };
    let method = p.optional()?;
    let path = p.optional()?;
    let scheme = p.optional()?;
    let gateway = p.optional()?;
    let protocol = match p.entry()? {
        ABSENT | 0 => Protocol::Http,
        1 => Protocol::Tls,
        2 => Protocol::Tcp,
        _ => return Err(()),
    };
    r.refill(&RequestFields {
        host,
        port,
        method,
        path,
        scheme,
        gateway,
        protocol,
        sni: p.optional()?,
        destination_ip: p.optional()?,
        namespace: p.optional()?,
    });
    let label_count = p.entry()?;
    r.source
        .try_refill_labels((0..label_count).map(|_| Ok((p.string()?, p.string()?))))?;
    let mut count = 0;
    let pairs = std::iter::from_fn(|| {
        let name = p.string().ok()?;
        count += 1;
        Some(match p.string() {
            Ok(value) if count <= limits::MAX_REQUEST_HEADERS => Ok((name, value)),
            _ => Err(()),
        })
    });
    r.headers.try_refill(pairs)?;
    // Every byte read: anything else is not this layout.
    if p.at == text.len() {
        Ok(())
    } else {
        Err(())
    }
}

/// Most strings kept for the page; a full table is cleared and refilled by
/// the next decisions (names from the mesh come back at once; strings made
/// from requests, like passthrough hosts, do not pile up).
const MAX_KNOWN_STRINGS: usize = 4096;
/// Most bytes of kept strings.
const MAX_KNOWN_BYTES: usize = 256 * 1024;
/// Longer strings always cross as fresh text.
const MAX_KNOWN_LEN: usize = 512;

/// The strings the JS side holds (`table`), and their indexes.
pub(crate) struct Strings {
    index: FastMap<Box<str>, u32>,
    /// Strings lent by the mesh by address and length: the mesh is
    /// immutable and outlives this table (both belong to one `Mesh`), so an
    /// address names one content, found without hashing or comparing it.
    by_address: FastMap<(usize, usize), u32>,
    table: js_sys::Array,
    bytes: usize,
}

impl Strings {
    pub(crate) fn new() -> Strings {
        Strings {
            index: FastMap::default(),
            by_address: FastMap::default(),
            table: js_sys::Array::new(),
            bytes: 0,
        }
    }

    /// Starts over when full (called between values, never during one:
    /// a tape's indexes must all name the same table).
    fn make_room(&mut self) {
        if self.index.len() >= MAX_KNOWN_STRINGS
            || self.by_address.len() >= MAX_KNOWN_STRINGS
            || self.bytes >= MAX_KNOWN_BYTES
        {
            self.index.clear();
            self.by_address.clear();
            self.table = js_sys::Array::new();
            self.bytes = 0;
        }
    }

    /// The index of `s` in the JS table, adding it when there is room.
    fn known(&mut self, s: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(s) {
            return Some(i);
        }
        if s.len() > MAX_KNOWN_LEN
            || self.index.len() >= MAX_KNOWN_STRINGS
            || self.bytes + s.len() > MAX_KNOWN_BYTES
        {
            return None;
        }
        let i = keep_string(&self.table, s);
        self.index.insert(s.into(), i);
        self.bytes += s.len();
        Some(i)
    }

    /// [`Strings::known`] for a string lent by the mesh (see `by_address`).
    fn known_lent(&mut self, s: &str) -> Option<u32> {
        let address = (s.as_ptr() as usize, s.len());
        if let Some(&i) = self.by_address.get(&address) {
            return Some(i);
        }
        let i = self.known(s)?;
        if self.by_address.len() < MAX_KNOWN_STRINGS {
            self.by_address.insert(address, i);
        }
        Some(i)
    }
}

// Tape operations; src/convert.js reads the same numbers.
const NULL: f64 = 0.0;
const FALSE: f64 = 1.0;
const TRUE: f64 = 2.0;
const NUMBER: f64 = 3.0;
const KNOWN: f64 = 4.0;
const FRESH: f64 = 5.0;
const ARRAY: f64 = 6.0;
const OBJECT: f64 = 7.0;

/// A decision as a flat list of numbers (read by `buildDecision`; serde
/// values inside it as `value()` there reads them): kept between calls so a
/// decision allocates nothing here once warm.
pub(crate) struct Tape {
    ops: Vec<f64>,
    fresh: String,
    strings: Strings,
    /// Where `packRequest` writes the request's strings...
    packed: Vec<u8>,
    /// ...and its length entries.
    lengths: Vec<u32>,
    /// The request last read by [`Tape::read_request`], its buffers reused.
    pub(crate) request: Request,
}

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
    pub(crate) fn new() -> Tape {
        use_memory(&wasm_bindgen::memory());
        Tape {
            ops: Vec::new(),
            fresh: String::new(),
            strings: Strings::new(),
            packed: Vec::new(),
            lengths: Vec::new(),
            request: Request::new(""),
        }
    }

    /// Reads the JS request object into [`Tape::request`] without JSON text
    /// when it is plainly well formed (see `packRequest`); false means: parse
    /// it through JSON instead (for anything unusual, and for the core's errors).
    pub(crate) fn read_request(&mut self, request: &JsValue) -> bool {
        if self.packed.is_empty() {
            self.packed.resize(PACKED_START.0, 0);
            self.lengths.resize(PACKED_START.1, 0);
        }
        loop {
            let entries = pack_request(
                request,
                self.packed.as_mut_ptr() as usize,
                self.packed.len(),
                self.lengths.as_mut_ptr() as usize,
                self.lengths.len(),
            );
            if entries == -2 {
                if self.packed.len() >= PACKED_MAX.0 && self.lengths.len() >= PACKED_MAX.1 {
                    return false;
                }
                let bytes = (self.packed.len() * 4).min(PACKED_MAX.0);
                let words = (self.lengths.len() * 4).min(PACKED_MAX.1);
                self.packed.resize(bytes, 0);
                self.lengths.resize(words, 0);
                continue;
            }
            let Some(lengths) = usize::try_from(entries)
                .ok()
                .and_then(|n| self.lengths.get(..n))
            else {
                return false;
            };
            // The first entry is the number of bytes written.
            let Some((text, lengths)) = lengths.split_first().and_then(|(&written, lengths)| {
                let bytes = self.packed.get(..written as usize)?;
                Some((std::str::from_utf8(bytes).ok()?, lengths))
            }) else {
                return false;
            };
            return refill_request(&mut self.request, text, lengths).is_ok();
        }
    }

    /// `decision` as the plain JS object `JSON.parse` gives for its serde
    /// JSON, built by `buildDecision` from the fields written here by hand
    /// (the common ones; the rest through serde), which is ~10x faster in
    /// V8 than building objects key by key.
    pub(crate) fn decision(&mut self, decision: &Decision<'_>) -> Result<JsValue, JsError> {
        self.write_decision(decision)
            .map_err(|e| JsError::new(&format!("internal error: {e}")))?;
        built(build_decision(
            self.ops.as_ptr() as usize,
            self.ops.len(),
            &self.strings.table,
            self.fresh_text(),
        ))
    }

    /// The decision tape: outcome, a bit per present field, then each
    /// present field in serde's order. Every field is named so a new field
    /// in the core fails to compile here instead of going missing.
    fn write_decision(&mut self, d: &Decision<'_>) -> Result<(), TapeError> {
        self.ops.clear();
        self.fresh.clear();
        self.strings.make_room();
        let Decision {
            outcome,
            virtual_service,
            delegated_from,
            rule,
            destinations,
            redirect,
            direct_response,
            rewrite,
            timeout,
            retries,
            fault,
            mirrors,
            request_headers,
            response_headers,
            cors,
            trace,
        } = d;
        let present = [
            virtual_service.is_some(),
            delegated_from.is_some(),
            rule.is_some(),
            !destinations.is_empty(),
            redirect.is_some(),
            direct_response.is_some(),
            rewrite.is_some(),
            timeout.is_some(),
            retries.is_some(),
            fault.is_some(),
            !mirrors.is_empty(),
            !request_headers.is_empty(),
            !response_headers.is_empty(),
            cors.is_some(),
            !trace.is_empty(),
        ];
        self.ops
            .extend_from_slice(&[outcome_code(*outcome), bits(&present)]);
        if let Some(vs) = virtual_service {
            self.cow_text(vs);
        }
        if let Some(root) = delegated_from {
            self.cow_text(root);
        }
        if let Some(RuleRef { index, name }) = rule {
            self.ops.push(*index as f64);
            match name {
                Some(name) => self.cow_text(name),
                None => self.ops.push(NULL),
            }
        }
        if !destinations.is_empty() {
            self.ops.push(destinations.len() as f64);
            // A list lent by the mesh (built ahead for the route) holds
            // strings that live as long as the mesh, whatever their `Cow` says.
            let lent = matches!(destinations, Cow::Borrowed(_));
            for destination in destinations.iter() {
                self.destination(destination, lent)?;
            }
        }
        if let Some(redirect) = redirect {
            redirect.serialize(&mut *self)?;
        }
        if let Some(direct) = direct_response {
            direct.serialize(&mut *self)?;
        }
        if let Some(rewrite) = rewrite {
            rewrite.serialize(&mut *self)?;
        }
        if let Some(timeout) = timeout {
            self.cow_text(timeout);
        }
        if let Some(retries) = retries {
            let lent = !matches!(retries, Shared::Owned(_));
            self.retries(retries, lent);
        }
        if let Some(fault) = fault {
            fault.serialize(&mut *self)?;
        }
        if !mirrors.is_empty() {
            mirrors.serialize(&mut *self)?;
        }
        if !request_headers.is_empty() {
            request_headers.serialize(&mut *self)?;
        }
        if !response_headers.is_empty() {
            response_headers.serialize(&mut *self)?;
        }
        if let Some(cors) = cors {
            cors.serialize(&mut *self)?;
        }
        if !trace.is_empty() {
            trace.serialize(&mut *self)?;
        }
        Ok(())
    }

    /// host, subset?, port?, weight, cluster, policy?, problem? after a bit
    /// per optional field. `lent`: the destination lives as long as the mesh.
    fn destination(&mut self, d: &Destination<'_>, lent: bool) -> Result<(), TapeError> {
        let Destination {
            host,
            subset,
            port,
            weight,
            cluster,
            policy,
            problem,
        } = d;
        let present = [
            subset.is_some(),
            port.is_some(),
            policy.is_some(),
            problem.is_some(),
        ];
        self.ops.push(bits(&present));
        let text = |tape: &mut Tape, s: &Cow<'_, str>| match lent {
            true => tape.lent_text(s),
            false => tape.cow_text(s),
        };
        text(self, host);
        if let Some(subset) = subset {
            text(self, subset);
        }
        if let Some(port) = port {
            self.ops.push(f64::from(*port));
        }
        self.ops.push(f64::from(*weight));
        text(self, cluster);
        if let Some(policy) = policy {
            policy.serialize(&mut *self)?;
        }
        if let Some(problem) = problem {
            text(self, problem);
        }
        Ok(())
    }

    /// attempts, perTryTimeout?, retryOn?, backoff?, default? after a bit
    /// per optional field (serde leaves out an empty retryOn and a false
    /// default). `lent`: the policy lives as long as the mesh.
    fn retries(&mut self, r: &Retries, lent: bool) {
        let Retries {
            attempts,
            per_try_timeout,
            retry_on,
            backoff,
            default,
        } = r;
        let present = [
            per_try_timeout.is_some(),
            !retry_on.is_empty(),
            backoff.is_some(),
            *default,
        ];
        self.ops
            .extend_from_slice(&[bits(&present), f64::from(*attempts)]);
        for text in [
            per_try_timeout.as_deref(),
            Some(retry_on.as_str()).filter(|t| !t.is_empty()),
            backoff.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            if lent {
                self.lent_text(text);
            } else {
                self.text(text);
            }
        }
    }

    /// Writes the decision tape and returns its length (for `bench-parts`).
    #[cfg(feature = "bench-parts")]
    pub(crate) fn write_decision_len(&mut self, decision: &Decision<'_>) -> usize {
        self.write_decision(decision)
            .map(|()| self.ops.len())
            .unwrap_or(0)
    }

    /// The fresh strings, `None` when there are none (spares decoding an
    /// empty string, which costs as much as a short one).
    fn fresh_text(&self) -> Option<&str> {
        (!self.fresh.is_empty()).then_some(self.fresh.as_str())
    }

    fn text(&mut self, s: &str) {
        let known = self.strings.known(s);
        self.text_as(s, known);
    }

    /// A string of the decision: lent by the mesh (`Borrowed`), or made
    /// for this decision (`Owned`).
    #[allow(clippy::ptr_arg)] // the variant is the point: it says where the string lives
    fn cow_text(&mut self, s: &Cow<'_, str>) {
        match s {
            Cow::Borrowed(lent) => self.lent_text(lent),
            Cow::Owned(made) => self.text(made),
        }
    }

    /// A string that lives as long as the mesh, unchanged.
    fn lent_text(&mut self, s: &str) {
        let known = self.strings.known_lent(s);
        self.text_as(s, known);
    }

    fn text_as(&mut self, s: &str, known: Option<u32>) {
        match known {
            Some(i) => self.ops.extend_from_slice(&[KNOWN, f64::from(i)]),
            None => {
                self.fresh.push_str(s);
                let units = s.chars().map(char::len_utf16).sum::<usize>();
                self.ops.extend_from_slice(&[FRESH, units as f64]);
            }
        }
    }

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

/// What `buildDecision` returned: `undefined` means it failed.
fn built(value: JsValue) -> Result<JsValue, JsError> {
    if value.is_undefined() {
        Err(JsError::new("internal error: the value could not be built"))
    } else {
        Ok(value)
    }
}

/// The outcome as its index in `OUTCOMES` (src/convert.js).
fn outcome_code(outcome: Outcome) -> f64 {
    match outcome {
        Outcome::Route => 0.0,
        Outcome::Redirect => 1.0,
        Outcome::DirectResponse => 2.0,
        Outcome::NotFound => 3.0,
        Outcome::DefaultRoute => 4.0,
        Outcome::Passthrough => 5.0,
    }
}

/// Flags as a number: bit i set when `present[i]`.
fn bits(present: &[bool]) -> f64 {
    let mut n = 0u32;
    for (i, &p) in present.iter().enumerate() {
        if p {
            n |= 1 << i;
        }
    }
    f64::from(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of a packed request, as `packRequest` writes it.
    #[derive(Clone, Copy)]
    enum Entry<'a> {
        Text(&'a str),
        Number(u32),
        Absent,
    }
    use Entry::{Absent, Number, Text};

    /// The text and length entries `packRequest` writes for `entries`
    /// (without the leading byte count, which `read_request` takes off).
    fn packed(entries: &[Entry<'_>]) -> (String, Vec<u32>) {
        let mut text = String::new();
        let mut lengths = Vec::new();
        for entry in entries {
            lengths.push(match *entry {
                Text(s) => {
                    text.push_str(s);
                    s.len() as u32
                }
                Number(n) => n,
                Absent => ABSENT,
            });
        }
        (text, lengths)
    }

    fn read(entries: &[Entry<'_>]) -> Option<Request> {
        let (text, lengths) = packed(entries);
        request_from_packed(&text, &lengths)
    }

    /// host, then the nine fixed fields absent, and no labels.
    const BARE: [Entry<'static>; 11] = [
        Text("h"),
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Absent,
        Number(0),
    ];

    /// BARE with headers.
    fn with_headers<'a>(headers: &[(&'a str, &'a str)]) -> Vec<Entry<'a>> {
        let mut entries = BARE.to_vec();
        for (name, value) in headers {
            entries.extend([Text(name), Text(value)]);
        }
        entries
    }

    #[test]
    fn a_packed_request_reads_as_the_json_one() {
        let mut entries = with_headers(&[("End-User", "jason"), ("x-b", "one"), ("x-b", "two")]);
        entries[0] = Text("reviews");
        entries[1] = Number(9080);
        entries[3] = Text("/reviews/0");
        let fast = read(&entries).expect("packed request");
        let json: Request = serde_json::from_str(
            r#"{"host":"reviews","port":9080,"path":"/reviews/0","headers":{"End-User":"jason","x-b":["one","two"]}}"#,
        )
        .expect("json request");
        assert_eq!(fast, json);
        assert_eq!(fast.method, "GET");
        assert_eq!(fast.headers.get("end-user").as_deref(), Some("jason"));
        assert_eq!(fast.headers.get("x-b").as_deref(), Some("one,two"));
    }

    #[test]
    fn every_packed_field_lands_in_its_place() {
        let r = read(&[
            Text("h"),
            Absent,
            Text("PUT"),
            Text("/p\0é"),
            Text("https"),
            Text("ns/gw"),
            Number(1),
            Text("sni.example"),
            Text("10.0.0.1"),
            Text("team"),
            Number(2),
            Text("app"),
            Text("a"),
            Text("version"),
            Text("v1"),
        ])
        .expect("packed request");
        assert_eq!(r.port, None);
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.gateway.as_str()),
            ("PUT", "/p\0é", "ns/gw")
        );
        assert_eq!(r.scheme.as_deref(), Some("https"));
        assert_eq!(r.protocol, Protocol::Tls);
        assert_eq!(r.sni.as_deref(), Some("sni.example"));
        assert_eq!(r.destination_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.source.namespace, "team");
        assert_eq!(
            r.source.labels.get("version").map(String::as_str),
            Some("v1")
        );
        assert!(r.headers.is_empty());
        assert_eq!(read(&BARE).map(|r| r.protocol), Some(Protocol::Http));
    }

    #[test]
    fn a_refilled_request_keeps_nothing_of_the_one_before() {
        let mut full = with_headers(&[("a", "1"), ("b", "2")]);
        full[1] = Number(8080);
        full[4] = Text("https");
        full[7] = Text("sni");
        full[10] = Number(1);
        full.splice(11..11, [Text("app"), Text("x")]);
        let (text, lengths) = packed(&full);
        let mut request = Request::new("");
        assert_eq!(refill_request(&mut request, &text, &lengths), Ok(()));
        assert_eq!(request.headers.len(), 2);
        let (text, lengths) = packed(&with_headers(&[("c", "3")]));
        assert_eq!(refill_request(&mut request, &text, &lengths), Ok(()));
        let mut expected = Request::new("h");
        expected.headers.append("c", "3");
        assert_eq!(request, expected);
    }

    #[test]
    fn anything_not_in_the_layout_goes_the_json_way() {
        let with = |at: usize, entry: Entry<'static>| {
            let mut entries = BARE;
            entries[at] = entry;
            read(&entries)
        };
        // Port out of range, an unknown protocol code, a label count
        // without its pairs, an absent host, entries missing.
        assert_eq!(with(1, Number(70000)), None);
        assert_eq!(with(6, Number(3)), None);
        assert_eq!(with(10, Number(1)), None);
        assert_eq!(with(0, Absent), None);
        assert_eq!(read(&BARE[..4]), None);
        // A length past the text, one that splits a character, text left over.
        let (text, mut lengths) = packed(&BARE);
        lengths[0] = 2;
        assert_eq!(request_from_packed(&text, &lengths), None);
        let (_, lengths) = packed(&BARE);
        assert_eq!(request_from_packed("é", &lengths), None);
        assert_eq!(request_from_packed("hh", &lengths), None);
        // A header name without its value.
        let mut entries = BARE.to_vec();
        entries.push(Text("name"));
        assert_eq!(read(&entries), None);
        // The nearest good ones.
        assert!(read(&BARE).is_some());
        assert!(with(1, Number(65535)).is_some());
        assert!(with(6, Number(2)).is_some());
    }

    #[test]
    fn more_headers_than_the_limit_go_the_json_way_for_its_error() {
        let headers = vec![("n", "v"); limits::MAX_REQUEST_HEADERS];
        assert_eq!(
            read(&with_headers(&headers)).map(|r| r.headers.len()),
            Some(limits::MAX_REQUEST_HEADERS)
        );
        let over = vec![("n", "v"); limits::MAX_REQUEST_HEADERS + 1];
        assert_eq!(read(&with_headers(&over)), None);
    }

    #[test]
    fn outcome_codes_follow_the_js_table_and_bits_the_fields() {
        // OUTCOMES in src/convert.js, in this order.
        let js = include_str!("convert.js");
        let table = js
            .lines()
            .find(|l| l.starts_with("const OUTCOMES"))
            .expect("OUTCOMES in convert.js");
        for (outcome, code) in [
            (Outcome::Route, 0.0),
            (Outcome::Redirect, 1.0),
            (Outcome::DirectResponse, 2.0),
            (Outcome::NotFound, 3.0),
            (Outcome::DefaultRoute, 4.0),
            (Outcome::Passthrough, 5.0),
        ] {
            assert_eq!(outcome_code(outcome), code);
            let position = table
                .split(',')
                .position(|item| item.contains(&format!("'{}'", outcome.as_str())));
            assert_eq!(position, Some(code as usize), "{outcome:?} in {table}");
        }
        assert_eq!(bits(&[true, false, true]), 5.0);
        assert_eq!(bits(&[false, false]), 0.0);
    }
}
