//! Fast conversions for `Mesh.route`, the call made per request (issue 7):
//!
//! - request in ([`packed`]): `packRequest` (src/convert.js) reads the JS
//!   object once and packs it into wasm memory; [`Tape::read_request`]
//!   refills the `Request`. Anything unusual (unknown key, wrong type, ...)
//!   is not packed, and the caller takes the JSON path, so every error stays
//!   the core's.
//! - decision out ([`tape`]): [`Tape`] writes the decision as a flat list
//!   of numbers (its common fields by hand, the rest through serde
//!   ([`serialize`]): `&mut Tape` is a serde `Serializer`); `buildDecision`
//!   (src/convert.js) builds the plain object JSON.parse would give for the
//!   serde JSON. Strings cross once: each is kept in a JS array
//!   ([`strings`]) and later decisions name it by index.

mod packed;
mod serialize;
mod strings;
mod tape;

pub(crate) use tape::Tape;

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
