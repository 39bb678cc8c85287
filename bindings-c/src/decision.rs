//! Reading a `meshroute_decision`: the handle, the types its accessors
//! hand out, the accessors, and freeing it.

use crate::decide::DecisionState;
use crate::ffi::{
    guard, meshroute_status, meshroute_status::*, meshroute_str, out_required, write_out, Failure,
};
use crate::handle;
use meshroute_core::decide::Verdict;

/// Where a request goes and why. Opaque; created by the
/// `meshroute_mesh_decide*`/`meshroute_mesh_explain*` calls, released with
/// `meshroute_decision_free`. Independent of the mesh it came from.
pub struct meshroute_decision {
    _private: [u8; 0],
}

/// What happens to the request.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_outcome {
    /// Forwarded to the weighted destinations.
    MESHROUTE_OUTCOME_ROUTE = 0,
    /// Answered with a redirect.
    MESHROUTE_OUTCOME_REDIRECT = 1,
    /// Answered with a fixed response.
    MESHROUTE_OUTCOME_DIRECT_RESPONSE = 2,
    /// No route (Envoy 404 NR; TCP/TLS closed).
    MESHROUTE_OUTCOME_NOT_FOUND = 3,
    /// No VirtualService owns the host: straight to the service.
    MESHROUTE_OUTCOME_DEFAULT_ROUTE = 4,
    /// Host unknown to the registry, sent to the original destination.
    MESHROUTE_OUTCOME_PASSTHROUGH = 5,
}

/// One weighted destination; strings borrowed from the decision.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_destination {
    /// FQDN of the destination service.
    pub host: meshroute_str,
    /// Whether `subset` is set.
    pub has_subset: bool,
    /// DestinationRule subset (empty when `has_subset` is false).
    pub subset: meshroute_str,
    /// Whether `port` is set.
    pub has_port: bool,
    /// Destination port (0 when `has_port` is false).
    pub port: u32,
    /// Weight (percent of traffic; all weights sum to 100).
    pub weight: u32,
    /// Envoy cluster name (`outbound|9080|v1|reviews.default.svc.cluster.local`).
    pub cluster: meshroute_str,
}

/// How one step of an explanation fared.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_verdict {
    /// Chosen / condition held.
    MESHROUTE_VERDICT_MATCHED = 0,
    /// Not chosen / condition failed.
    MESHROUTE_VERDICT_FAILED = 1,
    /// Not considered for this proxy or port.
    MESHROUTE_VERDICT_SKIPPED = 2,
    /// A default or a fact the decision relies on.
    MESHROUTE_VERDICT_NOTE = 3,
}

/// One step of an explanation (only decisions from `meshroute_mesh_explain*`
/// have any); strings borrowed from the decision.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_trace_entry {
    /// What was considered (`host`, `virtualService`, `rule`, `match`, ...).
    pub stage: meshroute_str,
    /// Which one (`default/reviews`, `http[1]`, ...).
    pub subject: meshroute_str,
    /// How it fared.
    pub verdict: meshroute_verdict,
    /// Why, in words.
    pub detail: meshroute_str,
}

fn outcome_out(o: meshroute_core::Outcome) -> meshroute_outcome {
    use meshroute_core::Outcome as O;
    use meshroute_outcome::*;
    match o {
        O::Route => MESHROUTE_OUTCOME_ROUTE,
        O::Redirect => MESHROUTE_OUTCOME_REDIRECT,
        O::DirectResponse => MESHROUTE_OUTCOME_DIRECT_RESPONSE,
        O::NotFound => MESHROUTE_OUTCOME_NOT_FOUND,
        O::DefaultRoute => MESHROUTE_OUTCOME_DEFAULT_ROUTE,
        O::Passthrough => MESHROUTE_OUTCOME_PASSTHROUGH,
    }
}

fn verdict_out(v: Verdict) -> meshroute_verdict {
    use meshroute_verdict::*;
    match v {
        Verdict::Matched => MESHROUTE_VERDICT_MATCHED,
        Verdict::Failed => MESHROUTE_VERDICT_FAILED,
        Verdict::Skipped => MESHROUTE_VERDICT_SKIPPED,
        Verdict::Note => MESHROUTE_VERDICT_NOTE,
    }
}

/// Frees a decision. NULL is a no-op. Returns
/// `MESHROUTE_STATUS_INVALID_HANDLE` (and does nothing) for a decision
/// already freed, or a pointer that is no decision.
///
/// # Safety
/// `decision` NULL or a pointer meshroute returned.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_free(
    decision: *mut meshroute_decision,
) -> meshroute_status {
    guard("meshroute_decision_free", || {
        // SAFETY: forwarded contract; the registry refuses non-live pointers.
        unsafe { handle::free::<DecisionState, DecisionState>(decision.cast()) }
    })
}

/// Borrows a decision's state.
///
/// # Safety
/// `decision` NULL or live.
unsafe fn decision_ref<'a>(
    decision: *const meshroute_decision,
) -> Result<&'a DecisionState, Failure> {
    // SAFETY: forwarded contract.
    unsafe { handle::borrow::<DecisionState, DecisionState>(decision.cast()) }
}

fn absent(what: &str) -> Failure {
    Failure::new(
        MESHROUTE_STATUS_ABSENT,
        format!("the decision has no {what}"),
    )
}

/// Shared body of the single-value decision accessors: checks the handle and
/// the out-parameter, computes the value, writes it.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
unsafe fn read_field<T>(
    function: &str,
    decision: *const meshroute_decision,
    out: *mut T,
    field: impl FnOnce(&DecisionState) -> Result<T, Failure>,
) -> meshroute_status {
    guard(function, || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("out", out)?;
        let value = field(state)?;
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { write_out("out", out, value) }
    })
}

/// What happens to the request.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_outcome(
    decision: *const meshroute_decision,
    out: *mut meshroute_outcome,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_outcome", decision, out, |s| {
            Ok(outcome_out(s.decision.outcome()))
        })
    }
}

/// The outcome's name in the spec's JSON (`route`, `defaultRoute` ...), static.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_outcome_name(
    decision: *const meshroute_decision,
    out: *mut meshroute_str,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_outcome_name", decision, out, |s| {
            Ok(meshroute_str::borrow(s.decision.outcome().as_str()))
        })
    }
}

/// `namespace/name` of the VirtualService whose rule decided;
/// `MESHROUTE_STATUS_ABSENT` when none did.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_virtual_service(
    decision: *const meshroute_decision,
    out: *mut meshroute_str,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_virtual_service", decision, out, |s| {
            s.decision
                .virtual_service()
                .map(meshroute_str::borrow)
                .ok_or_else(|| absent("virtual service"))
        })
    }
}

/// 0-based index of the matched rule in the VirtualService's `http`
/// (`tls`, `tcp`) list; `MESHROUTE_STATUS_ABSENT` when no rule matched.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_rule_index(
    decision: *const meshroute_decision,
    out: *mut usize,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_rule_index", decision, out, |s| {
            s.decision
                .rule()
                .map(|r| r.index())
                .ok_or_else(|| absent("matched rule"))
        })
    }
}

/// The matched rule's `name`; `MESHROUTE_STATUS_ABSENT` when no rule
/// matched or it has no name.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_rule_name(
    decision: *const meshroute_decision,
    out: *mut meshroute_str,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_rule_name", decision, out, |s| {
            s.decision
                .rule()
                .and_then(|r| r.name())
                .map(meshroute_str::borrow)
                .ok_or_else(|| absent("rule name"))
        })
    }
}

/// Number of weighted destinations (0 unless the outcome forwards).
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_destination_count(
    decision: *const meshroute_decision,
    out: *mut usize,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_destination_count", decision, out, |s| {
            Ok(s.decision.destinations().len())
        })
    }
}

/// The route timeout as a duration string (`"10s"`, `"500ms"`), the
/// configured value written in meshroute's canonical form;
/// `MESHROUTE_STATUS_ABSENT` when none is set.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_timeout(
    decision: *const meshroute_decision,
    out: *mut meshroute_str,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_timeout", decision, out, |s| {
            let timeout = s.decision.timeout().ok_or_else(|| absent("timeout"))?;
            Ok(meshroute_str::borrow(s.timeout.get_or_init(|| {
                meshroute_core::duration::format_duration(timeout)
            })))
        })
    }
}

/// The whole decision as the spec's JSON (with `trace` when explained),
/// borrowed from the decision.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_json(
    decision: *const meshroute_decision,
    out: *mut meshroute_str,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_json", decision, out, |s| {
            Ok(meshroute_str::borrow(
                s.json.get_or_init(|| s.decision.to_json().to_string()),
            ))
        })
    }
}

/// Number of trace entries (0 unless made by `meshroute_mesh_explain*`).
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_trace_count(
    decision: *const meshroute_decision,
    out: *mut usize,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    unsafe {
        read_field("meshroute_decision_trace_count", decision, out, |s| {
            Ok(s.decision.trace().len())
        })
    }
}

/// The destination at `index` (below `meshroute_decision_destination_count`).
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_destination(
    decision: *const meshroute_decision,
    index: usize,
    out: *mut meshroute_destination,
) -> meshroute_status {
    guard("meshroute_decision_destination", || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("out", out)?;
        let list = state.decision.destinations();
        let d = list
            .get(index)
            .ok_or_else(|| Failure::out_of_range(index, list.len(), "destinations"))?;
        let view = meshroute_destination {
            host: meshroute_str::borrow(d.host()),
            has_subset: d.subset().is_some(),
            subset: meshroute_str::borrow(d.subset().unwrap_or("")),
            has_port: d.port().is_some(),
            port: d.port().unwrap_or(0),
            weight: d.weight(),
            cluster: meshroute_str::borrow(d.cluster()),
        };
        // SAFETY: checked non-NULL.
        unsafe { write_out("out", out, view) }
    })
}

/// Picks one destination the way Envoy's weighted clusters do with the
/// per-request random number `random`; `*out` is its index.
/// `MESHROUTE_STATUS_ABSENT` when there are no destinations.
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_pick(
    decision: *const meshroute_decision,
    random: u64,
    out: *mut usize,
) -> meshroute_status {
    guard("meshroute_decision_pick", || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("out", out)?;
        let picked = state
            .decision
            .pick(random)
            .ok_or_else(|| absent("destinations"))?;
        let index = state
            .decision
            .destinations()
            .iter()
            .position(|d| std::ptr::eq(d, picked))
            .ok_or_else(|| absent("picked destination"))?;
        // SAFETY: checked non-NULL.
        unsafe { write_out("out", out, index) }
    })
}

/// The redirect: HTTP status and `Location` value (borrowed).
/// `MESHROUTE_STATUS_ABSENT` unless the outcome is a redirect.
///
/// # Safety
/// `decision` a live decision or NULL; both outs writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_redirect(
    decision: *const meshroute_decision,
    status: *mut u16,
    location: *mut meshroute_str,
) -> meshroute_status {
    guard("meshroute_decision_redirect", || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("status", status)?;
        out_required("location", location)?;
        let r = state
            .decision
            .redirect()
            .ok_or_else(|| absent("redirect"))?;
        // SAFETY: both checked non-NULL.
        unsafe { write_out("status", status, r.status) }?;
        unsafe { write_out("location", location, meshroute_str::borrow(&r.location)) }
    })
}

/// The direct response: HTTP status and body (borrowed; empty when the
/// response has none). `MESHROUTE_STATUS_ABSENT` unless the outcome is a
/// direct response.
///
/// # Safety
/// `decision` a live decision or NULL; both outs writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_direct_response(
    decision: *const meshroute_decision,
    status: *mut u16,
    body: *mut meshroute_str,
) -> meshroute_status {
    guard("meshroute_decision_direct_response", || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("status", status)?;
        out_required("body", body)?;
        let r = state
            .decision
            .direct_response()
            .ok_or_else(|| absent("direct response"))?;
        // SAFETY: both checked non-NULL.
        unsafe { write_out("status", status, r.status) }?;
        unsafe {
            write_out(
                "body",
                body,
                meshroute_str::borrow(r.body.as_deref().unwrap_or("")),
            )
        }
    })
}

/// The trace entry at `index` (below `meshroute_decision_trace_count`).
///
/// # Safety
/// `decision` a live decision or NULL; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_decision_trace_entry(
    decision: *const meshroute_decision,
    index: usize,
    out: *mut meshroute_trace_entry,
) -> meshroute_status {
    guard("meshroute_decision_trace_entry", || {
        // SAFETY: caller contract.
        let state = unsafe { decision_ref(decision) }?;
        out_required("out", out)?;
        let trace = state.decision.trace();
        let t = trace
            .get(index)
            .ok_or_else(|| Failure::out_of_range(index, trace.len(), "trace entries"))?;
        let view = meshroute_trace_entry {
            stage: meshroute_str::borrow(t.stage),
            subject: meshroute_str::borrow(&t.subject),
            verdict: verdict_out(t.verdict),
            detail: meshroute_str::borrow(&t.detail),
        };
        // SAFETY: checked non-NULL.
        unsafe { write_out("out", out, view) }
    })
}
