//! The parts of `Mesh.route`, one export each, for `scripts/bench.mjs` to
//! time from JS (feature `bench-parts`, never in the published packages).
//! Timed from JS, not in a loop inside the module: a long-running wasm
//! call stays in V8's baseline tier and would distort the figures.

use crate::convert::Tape;
use crate::Mesh;
use meshroute::Request;
use wasm_bindgen::prelude::*;

/// One request, as JSON text and parsed, and a tape.
#[wasm_bindgen]
pub struct Bench {
    json: String,
    request: Request,
    tape: Tape,
}

#[wasm_bindgen]
impl Bench {
    /// For the request given as JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(request_json: &str) -> Result<Bench, JsError> {
        let request =
            serde_json::from_str(request_json).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Bench {
            json: request_json.to_string(),
            request,
            tape: Tape::new(),
        })
    }

    /// serde_json parses the request text.
    pub fn parse(&self) -> usize {
        serde_json::from_str::<Request>(&self.json)
            .map(|r| r.path.len())
            .unwrap_or(0)
    }

    /// `packRequest` and the tape's `Request` refilled from what it wrote.
    pub fn read(&mut self, request: JsValue) -> usize {
        if self.tape.read_request(&request) {
            self.tape.request.path.len()
        } else {
            0
        }
    }

    /// The core's decision.
    pub fn decide(&self, mesh: &Mesh) -> usize {
        mesh.mesh
            .decide(&self.request)
            .map(|d| d.destinations.len())
            .unwrap_or(0)
    }

    /// Decision, then serde_json text.
    pub fn serialise(&self, mesh: &Mesh) -> usize {
        mesh.mesh
            .decide(&self.request)
            .ok()
            .and_then(|d| serde_json::to_string(&d).ok())
            .map(|s| s.len())
            .unwrap_or(0)
    }

    /// Decision, then the tape.
    #[wasm_bindgen(js_name = tapeWrite)]
    pub fn tape_write(&mut self, mesh: &Mesh) -> usize {
        match mesh.mesh.decide(&self.request) {
            Ok(d) => self.tape.write_decision_len(&d),
            Err(_) => 0,
        }
    }

    /// Decision, tape, and the JS object built from it.
    #[wasm_bindgen(js_name = tapeBuild)]
    pub fn tape_build(&mut self, mesh: &Mesh) -> Result<JsValue, JsError> {
        let d = mesh
            .mesh
            .decide(&self.request)
            .map_err(|e| JsError::new(&e.to_string()))?;
        self.tape.decision(&d)
    }
}
