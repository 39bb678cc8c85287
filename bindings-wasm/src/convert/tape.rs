//! The decision out: [`Tape`] writes a decision as the flat list of
//! numbers `buildDecision` (src/convert.js) reads, its common fields by
//! hand and the rest through serde ([`super::serialize`]).

use super::serialize::TapeError;
use super::strings::Strings;
use super::{build_decision, use_memory};
use meshroute::decide::{Destination, Outcome, Retries};
use meshroute::duration::format_duration;
use meshroute::{Decision, Request};
use serde::Serialize;
use wasm_bindgen::prelude::*;

// Tape operations; src/convert.js reads the same numbers.
pub(super) const NULL: f64 = 0.0;
pub(super) const FALSE: f64 = 1.0;
pub(super) const TRUE: f64 = 2.0;
pub(super) const NUMBER: f64 = 3.0;
const KNOWN: f64 = 4.0;
const FRESH: f64 = 5.0;
pub(super) const ARRAY: f64 = 6.0;
pub(super) const OBJECT: f64 = 7.0;

/// A decision as a flat list of numbers (read by `buildDecision`; serde
/// values inside it as `value()` there reads them): kept between calls so a
/// decision allocates nothing here once warm.
pub(crate) struct Tape {
    pub(super) ops: Vec<f64>,
    fresh: String,
    strings: Strings,
    /// Where `packRequest` writes the request's strings...
    pub(super) packed: Vec<u8>,
    /// ...and its length entries.
    pub(super) lengths: Vec<u32>,
    /// The request last read by [`Tape::read_request`], its buffers reused.
    pub(crate) request: Request,
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
    /// present field in serde's order (the decision's JSON; the tests hold
    /// the two to the same value).
    fn write_decision(&mut self, d: &Decision<'_>) -> Result<(), TapeError> {
        self.ops.clear();
        self.fresh.clear();
        self.strings.make_room();
        let destinations = d.destinations();
        let timeout = d.timeout();
        let present = [
            d.virtual_service().is_some(),
            d.delegated_from().is_some(),
            d.rule().is_some(),
            !destinations.is_empty(),
            d.redirect().is_some(),
            d.direct_response().is_some(),
            d.rewrite().is_some(),
            timeout.is_some(),
            d.retries().is_some(),
            d.fault().is_some(),
            !d.mirrors().is_empty(),
            !d.request_headers().is_empty(),
            !d.response_headers().is_empty(),
            d.cors().is_some(),
            !d.trace().is_empty(),
        ];
        self.ops
            .extend_from_slice(&[outcome_code(d.outcome()), bits(&present)]);
        if let Some(vs) = d.virtual_service() {
            self.text(vs);
        }
        if let Some(root) = d.delegated_from() {
            self.text(root);
        }
        if let Some(rule) = d.rule() {
            self.ops.push(rule.index() as f64);
            match rule.name() {
                Some(name) => self.text(name),
                None => self.ops.push(NULL),
            }
        }
        if !destinations.is_empty() {
            self.ops.push(destinations.len() as f64);
            // A list lent by the mesh (built ahead for the route) holds
            // strings that live as long as the mesh.
            let lent = d.lent_destinations().is_some();
            for destination in destinations {
                self.destination(destination, lent)?;
            }
        }
        if let Some(redirect) = d.redirect() {
            redirect.serialize(&mut *self)?;
        }
        if let Some(direct) = d.direct_response() {
            direct.serialize(&mut *self)?;
        }
        if let Some(rewrite) = d.rewrite() {
            rewrite.serialize(&mut *self)?;
        }
        if let Some(timeout) = timeout {
            self.text(&format_duration(timeout));
        }
        if let Some(retries) = d.retries() {
            self.retries(retries);
        }
        if let Some(fault) = d.fault() {
            fault.serialize(&mut *self)?;
        }
        if !d.mirrors().is_empty() {
            d.mirrors().serialize(&mut *self)?;
        }
        if !d.request_headers().is_empty() {
            d.request_headers().serialize(&mut *self)?;
        }
        if !d.response_headers().is_empty() {
            d.response_headers().serialize(&mut *self)?;
        }
        if let Some(cors) = d.cors() {
            cors.serialize(&mut *self)?;
        }
        if !d.trace().is_empty() {
            d.trace().serialize(&mut *self)?;
        }
        Ok(())
    }

    /// host, subset?, port?, weight, cluster, policy?, problem? after a bit
    /// per optional field. `lent`: the destination lives as long as the mesh.
    fn destination(&mut self, d: &Destination<'_>, lent: bool) -> Result<(), TapeError> {
        let present = [
            d.subset().is_some(),
            d.port().is_some(),
            d.policy().is_some(),
            d.problem().is_some(),
        ];
        self.ops.push(bits(&present));
        let text = |tape: &mut Tape, s: &str| match lent {
            true => tape.lent_text(s),
            false => tape.text(s),
        };
        text(self, d.host());
        if let Some(subset) = d.subset() {
            text(self, subset);
        }
        if let Some(port) = d.port() {
            self.ops.push(f64::from(port));
        }
        self.ops.push(f64::from(d.weight()));
        text(self, d.cluster());
        if let Some(policy) = d.policy() {
            policy.serialize(&mut *self)?;
        }
        if let Some(problem) = d.problem() {
            text(self, problem);
        }
        Ok(())
    }

    /// attempts, perTryTimeout?, retryOn?, backoff?, default? after a bit
    /// per optional field (serde leaves out an empty retryOn and a false
    /// default).
    fn retries(&mut self, r: &Retries) {
        let Retries {
            attempts,
            per_try_timeout,
            retry_on,
            backoff,
            default,
            ..
        } = r;
        let present = [
            per_try_timeout.is_some(),
            !retry_on.is_empty(),
            backoff.is_some(),
            *default,
        ];
        self.ops
            .extend_from_slice(&[bits(&present), f64::from(*attempts)]);
        if let Some(per_try) = per_try_timeout {
            self.text(&format_duration(*per_try));
        }
        if !retry_on.is_empty() {
            self.text(retry_on);
        }
        if let Some(backoff) = backoff {
            self.text(&format_duration(*backoff));
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

    pub(super) fn text(&mut self, s: &str) {
        let known = self.strings.known(s);
        self.text_as(s, known);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_codes_follow_the_js_table_and_bits_the_fields() {
        // OUTCOMES in src/convert.js, in this order.
        let js = include_str!("../convert.js");
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
