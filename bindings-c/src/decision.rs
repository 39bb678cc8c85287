//! Deciding a request on a mesh, and reading the `meshroute_decision`.

use crate::ffi::{
    copy_plain, copy_plain_or, guard, meshroute_status, meshroute_status::*, meshroute_str,
    meshroute_str_in, out_required, plain, slice_in, str_in, write_out, Failure, Outcome,
};
use crate::handle::{self, Kind, Tagged};
use crate::mesh::{mesh_ref, meshroute_mesh};
use meshroute_core::decide::{Decision, Protocol, RequestFields, Verdict};
use meshroute_core::{Mesh, Request, RequestError};
use std::os::raw::c_char;
use std::sync::Arc;
use std::sync::OnceLock;

/// Where a request goes and why. Opaque; created by the
/// `meshroute_mesh_decide*`/`meshroute_mesh_explain*` calls, released with
/// `meshroute_decision_free`. Independent of the mesh it came from.
pub struct meshroute_decision {
    _private: [u8; 0],
}

/// What a decision handle holds: the decision, borrowing from the mesh it
/// keeps alive. Field order matters: the decision is dropped before the mesh.
pub(crate) struct DecisionState {
    decision: Decision<'static>,
    mesh: Arc<Mesh>,
    json: OnceLock<String>,
    /// The request decided, kept for its buffers: `meshroute_mesh_decide_into`
    /// refills them (no allocation per call once they are large enough).
    request: Request,
}

impl DecisionState {
    /// Decides on `mesh`, keeping it alive for as long as the decision.
    fn decide(mesh: &Arc<Mesh>, request: Request, explain: bool) -> Result<Self, Failure> {
        let decision = run(mesh, &request, explain)?;
        // SAFETY: the decision borrows from `*mesh`, which lives in the Arc's
        // heap allocation; the state holds a clone of that Arc and drops the
        // decision first, so the borrow never outlives the mesh.
        let decision = unsafe { std::mem::transmute::<Decision<'_>, Decision<'static>>(decision) };
        Ok(DecisionState {
            decision,
            mesh: Arc::clone(mesh),
            json: OnceLock::new(),
            request,
        })
    }

    /// Replaces the decision in place with one for the C `request`, read
    /// into the kept request buffers, on `mesh`; on failure the old
    /// decision stays (the buffers are then partly refilled, never read).
    ///
    /// # Safety
    /// The strings and arrays of `request` are valid as the header documents.
    unsafe fn redecide(&mut self, mesh: &Arc<Mesh>, request: &meshroute_request) -> Outcome {
        // SAFETY: forwarded contract.
        unsafe { fill_request(&mut self.request, request) }?;
        if !Arc::ptr_eq(&self.mesh, mesh) {
            let decision = run(mesh, &self.request, false)?;
            // SAFETY: borrows `*mesh`; the state keeps that mesh from the next
            // line on, and the old decision (borrowing the old mesh) is dropped
            // here, before the old mesh.
            self.decision =
                unsafe { std::mem::transmute::<Decision<'_>, Decision<'static>>(decision) };
            self.mesh = Arc::clone(mesh);
        } else {
            // Decided into the kept slot (one move of the decision, not three).
            // SAFETY: the slot is typed `'static` but holds borrows of
            // `*self.mesh`, the same mesh as `mesh`, which the state keeps
            // alive (as in `decide`).
            let slot =
                unsafe { &mut *std::ptr::from_mut(&mut self.decision).cast::<Decision<'_>>() };
            mesh.decide_into(&self.request, slot)
                .map_err(request_error)?;
        }
        self.json = OnceLock::new();
        Ok(())
    }
}

fn run<'m>(mesh: &'m Mesh, request: &Request, explain: bool) -> Result<Decision<'m>, Failure> {
    if explain {
        mesh.explain(request)
    } else {
        mesh.decide(request)
    }
    .map_err(request_error)
}

impl Kind for DecisionState {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-decn1");
    const NAME: &'static str = "decision";
}

/// A name/value pair: a request header, or a source label.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_header {
    /// Header name (any case; matched lower-cased) or label key.
    pub name: meshroute_str,
    /// Value.
    pub value: meshroute_str,
}

/// A request as a proxy sees it. Every string is borrowed for the call
/// only; an empty string (len 0) takes the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_request {
    /// HTTP method; default `GET`.
    pub method: meshroute_str,
    /// `:authority` (Host), may carry `:port`. Required.
    pub authority: meshroute_str,
    /// Path with optional `?query`; default `/`.
    pub path: meshroute_str,
    /// Request headers, `header_count` of them (NULL when 0). Repeated names are joined with `,`.
    pub headers: *const meshroute_header,
    /// Number of `headers`.
    pub header_count: usize,
    /// Namespace of the calling workload; default `default`.
    pub source_namespace: meshroute_str,
    /// Labels of the calling workload, `source_label_count` of them (NULL when 0).
    pub source_labels: *const meshroute_header,
    /// Number of `source_labels`.
    pub source_label_count: usize,
    /// `mesh` (a sidecar) or `namespace/name` of the Gateway; default `mesh`.
    pub gateway: meshroute_str,
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

/// Reads `list[index].field`; the field's name is only formatted for an error
/// message, so the common path does not allocate.
///
/// # Safety
/// As `meshroute_str_in`.
#[inline]
unsafe fn pair_field_in<'a>(
    list: &str,
    index: usize,
    field: &str,
    value: meshroute_str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    unsafe { meshroute_str_in("", value) }.map_err(|e| Failure {
        status: e.status,
        message: format!("{list}[{index}].{field} {}", e.message),
    })
}

/// Converts the C request into core's `Request`.
///
/// # Safety
/// Every pointer in `req` must satisfy the `meshroute_request` contract.
unsafe fn request_in(req: &meshroute_request) -> Result<Request, Failure> {
    let mut request = Request::new(String::new());
    // SAFETY: forwarded contract.
    unsafe { fill_request(&mut request, req) }?;
    Ok(request)
}

/// Writes the C request into `request`, every field, reusing its buffers.
/// On failure `request` is partly written and must not be decided.
///
/// # Safety
/// The strings and arrays of `req` are valid as the header documents.
#[inline(always)]
unsafe fn fill_request(request: &mut Request, req: &meshroute_request) -> Result<(), Failure> {
    // SAFETY (both): forwarded contract.
    if unsafe { fill_plain(request, req) }.is_some() {
        return Ok(());
    }
    unsafe { fill_checked(request, req) }
}

/// The request nearly every proxy passes, read without the error paths'
/// bookkeeping: every string ASCII (or empty), a non-empty authority, the
/// arrays present and within `MAX_REQUEST_HEADERS`. The five request
/// strings and the headers are checked while they are copied
/// ([`copy_plain`], into core's kept buffers); the labels (rare) are
/// checked as core copies them. Anything else returns `None`, the
/// request partly written, and [`fill_checked`] reads it all again with the
/// message that names the field. (On the hot path, carrying a possible
/// `Failure` through the header copy cost ~85 instructions a call.)
///
/// The fields are written here as core's `Request::refill` writes them
/// (empty = the default; the C request has no port, scheme, protocol, SNI
/// or destination IP): `the_fast_path_fills_what_the_checked_path_fills`
/// holds the two paths to the same result.
///
/// # Safety
/// As [`fill_request`].
#[inline(always)]
unsafe fn fill_plain(request: &mut Request, req: &meshroute_request) -> Option<()> {
    /// The pairs at `ptr` (NULL with count 0 is none), when within
    /// `MAX_REQUEST_HEADERS`.
    ///
    /// # Safety
    /// As [`fill_request`].
    #[inline(always)]
    unsafe fn pairs<'a>(
        ptr: *const meshroute_header,
        count: usize,
    ) -> Option<&'a [meshroute_header]> {
        if ptr.is_null() {
            return (count == 0).then_some(&[]);
        }
        if count > meshroute_core::limits::MAX_REQUEST_HEADERS {
            return None;
        }
        // SAFETY: the caller's contract: `count` items at `ptr`.
        Some(unsafe { std::slice::from_raw_parts(ptr, count) })
    }
    // SAFETY (all blocks below): the caller's contract.
    let labels = unsafe { pairs(req.source_labels, req.source_label_count) }?;
    let headers = unsafe { pairs(req.headers, req.header_count) }?;
    let texts_plain = unsafe {
        (req.authority.len != 0 && copy_plain(&mut request.host, req.authority))
            && copy_plain_or(&mut request.method, req.method, Request::DEFAULT_METHOD)
            && copy_plain_or(&mut request.path, req.path, Request::DEFAULT_PATH)
            && copy_plain_or(&mut request.gateway, req.gateway, Request::DEFAULT_GATEWAY)
            && copy_plain_or(
                &mut request.source.namespace,
                req.source_namespace,
                Request::DEFAULT_NAMESPACE,
            )
    };
    if !texts_plain {
        return None;
    }
    request.port = None;
    request.scheme = None;
    request.protocol = Protocol::Http;
    request.sni = None;
    request.destination_ip = None;
    request
        .headers
        .try_refill_with(headers.len(), |i, name, value| {
            let h = &headers[i];
            // SAFETY: the caller's contract for the header strings.
            let plain = unsafe { copy_plain(name, h.name) & copy_plain(value, h.value) };
            plain.then_some(()).ok_or(())
        })
        .ok()?;
    request
        .source
        .try_refill_labels(
            labels
                .iter()
                .map(|l| unsafe { plain(l.name).zip(plain(l.value)) }.ok_or(())),
        )
        .ok()
}

/// [`fill_request`] with every check spelt out: the first string that is
/// NULL with a length, not UTF-8, or a count over a limit is the error.
///
/// # Safety
/// As [`fill_request`].
#[cold]
#[inline(never)]
unsafe fn fill_checked(request: &mut Request, req: &meshroute_request) -> Result<(), Failure> {
    // SAFETY (all blocks below): the caller's contract for the request's strings and arrays.
    let authority = unsafe { meshroute_str_in("request.authority", req.authority) }?;
    if authority.is_empty() {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_REQUEST,
            "request.authority is empty",
        ));
    }
    // Refuse an absurd count before copying anything; core checks the exact limit again.
    if req.header_count > meshroute_core::limits::MAX_REQUEST_HEADERS {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_REQUEST,
            format!(
                "{} headers, more than {} (limits::MAX_REQUEST_HEADERS)",
                req.header_count,
                meshroute_core::limits::MAX_REQUEST_HEADERS
            ),
        ));
    }
    let method = unsafe { meshroute_str_in("request.method", req.method) }?;
    let path = unsafe { meshroute_str_in("request.path", req.path) }?;
    let namespace = unsafe { meshroute_str_in("request.source_namespace", req.source_namespace) }?;
    let gateway = unsafe { meshroute_str_in("request.gateway", req.gateway) }?;
    let headers = unsafe { slice_in("request.headers", req.headers, req.header_count) }?;
    let labels = unsafe {
        slice_in(
            "request.source_labels",
            req.source_labels,
            req.source_label_count,
        )
    }?;
    request
        .headers
        .try_refill(headers.iter().enumerate().map(|(i, h)| {
            let name = unsafe { pair_field_in("request.headers", i, "name", h.name) }?;
            let value = unsafe { pair_field_in("request.headers", i, "value", h.value) }?;
            Ok::<_, Failure>((name, value))
        }))?;
    request
        .source
        .try_refill_labels(labels.iter().enumerate().map(|(i, l)| {
            let key = unsafe { pair_field_in("request.source_labels", i, "name", l.name) }?;
            let value = unsafe { pair_field_in("request.source_labels", i, "value", l.value) }?;
            Ok::<_, Failure>((key, value))
        }))?;
    request.refill(&c_fields(authority, method, path, namespace, gateway));
    Ok(())
}

/// The C request's strings as core's fields: an empty string is the C
/// API's "not set" (the field's default).
#[inline(always)]
fn c_fields<'a>(
    authority: &'a str,
    method: &'a str,
    path: &'a str,
    namespace: &'a str,
    gateway: &'a str,
) -> RequestFields<'a> {
    let set = |given: &'a str| (!given.is_empty()).then_some(given);
    RequestFields {
        host: authority,
        method: set(method),
        path: set(path),
        gateway: set(gateway),
        namespace: set(namespace),
        ..RequestFields::default()
    }
}

fn request_error(e: RequestError) -> Failure {
    Failure::new(MESHROUTE_STATUS_INVALID_REQUEST, e.to_string())
}

/// Decides (or explains) and hands the decision out as a new handle.
///
/// # Safety
/// `mesh` live or NULL; `out` checked and writable.
unsafe fn decide_into(
    mesh: *const meshroute_mesh,
    request: Request,
    explain: bool,
    out: *mut *mut meshroute_decision,
) -> Outcome {
    // SAFETY: caller contract.
    let state = unsafe { mesh_ref(mesh) }?;
    let raw: *mut Tagged<DecisionState> = handle::into_handle::<DecisionState, _>(
        DecisionState::decide(&state.mesh, request, explain)?,
    );
    // SAFETY: `out` was checked non-NULL by the entry point.
    unsafe { out.write(raw.cast()) };
    Ok(())
}

/// Shared body of the two struct-request entry points.
///
/// # Safety
/// The entry points' contract.
unsafe fn decide_struct(
    mesh: *const meshroute_mesh,
    request: *const meshroute_request,
    explain: bool,
    out: *mut *mut meshroute_decision,
) -> Outcome {
    out_required("out", out)?;
    // SAFETY: checked non-NULL.
    unsafe { out.write(std::ptr::null_mut()) };
    if request.is_null() {
        return Err(Failure::null("request"));
    }
    // SAFETY: non-NULL; the caller guarantees a valid meshroute_request.
    let request = unsafe { request_in(&*request) }?;
    // SAFETY: forwarded.
    unsafe { decide_into(mesh, request, explain, out) }
}

/// Shared body of the two JSON-request entry points.
///
/// # Safety
/// The entry points' contract.
unsafe fn decide_json(
    mesh: *const meshroute_mesh,
    json: *const c_char,
    json_len: usize,
    explain: bool,
    out: *mut *mut meshroute_decision,
) -> Outcome {
    out_required("out", out)?;
    // SAFETY: checked non-NULL.
    unsafe { out.write(std::ptr::null_mut()) };
    // SAFETY: caller contract.
    let text = unsafe { str_in("json", json, json_len) }?;
    let request: Request = serde_json::from_str(text).map_err(|e| {
        Failure::new(
            MESHROUTE_STATUS_INVALID_REQUEST,
            format!("request JSON: {e}"),
        )
    })?;
    // SAFETY: forwarded.
    unsafe { decide_into(mesh, request, explain, out) }
}

/// Decides where `request` goes. On success `*out` is a new decision (free
/// it with `meshroute_decision_free`); on failure NULL. Thread-safe: many
/// threads may decide on one mesh at once.
///
/// # Safety
/// `mesh` a live mesh or NULL; `request` NULL or valid with its strings and
/// arrays; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_decide(
    mesh: *const meshroute_mesh,
    request: *const meshroute_request,
    out: *mut *mut meshroute_decision,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    guard("meshroute_mesh_decide", || unsafe {
        decide_struct(mesh, request, false, out)
    })
}

/// Decides where `request` goes, reusing a decision handle: when
/// `*decision` is NULL a new decision is made (as `meshroute_mesh_decide`);
/// otherwise the live decision `*decision` is replaced in place, which
/// saves the handle's allocation and bookkeeping on a hot path; the handle
/// also keeps the request's buffers, so once they are large enough a call
/// allocates nothing (the request's strings are still copied: nothing of
/// `request` is kept after the call returns). On failure
/// the old decision (or NULL) stays. Free the handle once, with
/// `meshroute_decision_free`. Thread-safe for the mesh; a decision handle
/// must not be read or reused by another thread during the call.
///
/// # Safety
/// `mesh` a live mesh or NULL; `request` NULL or valid; `decision` NULL or
/// pointing to NULL or to a live decision.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_decide_into(
    mesh: *const meshroute_mesh,
    request: *const meshroute_request,
    decision: *mut *mut meshroute_decision,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    guard("meshroute_mesh_decide_into", || unsafe {
        out_required("decision", decision)?;
        let current = decision.read();
        if current.is_null() {
            return decide_struct(mesh, request, false, decision);
        }
        if request.is_null() {
            return Err(Failure::null("request"));
        }
        let state = mesh_ref(mesh)?;
        let target = handle::borrow_mut::<DecisionState, DecisionState>(current.cast())?;
        target.redecide(&state.mesh, &*request)
    })
}

/// As `meshroute_mesh_decide`, and the decision carries the trace that says
/// why (`meshroute_decision_trace_*`, and `trace` in the JSON). Thread-safe.
///
/// # Safety
/// As `meshroute_mesh_decide`.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_explain(
    mesh: *const meshroute_mesh,
    request: *const meshroute_request,
    out: *mut *mut meshroute_decision,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    guard("meshroute_mesh_explain", || unsafe {
        decide_struct(mesh, request, true, out)
    })
}

/// Decides a request given as JSON, in the route-test request shape
/// (`{"host": "reviews", "path": "/", "headers": {...}, "source":
/// {"namespace": ..., "labels": {...}}, "gateway": ..., "port": ...,
/// "protocol": "http"|"tls"|"tcp", "sni": ...}`). Thread-safe.
///
/// # Safety
/// `mesh` a live mesh or NULL; `json` `json_len` readable bytes (or NULL
/// with 0); `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_decide_json(
    mesh: *const meshroute_mesh,
    json: *const c_char,
    json_len: usize,
    out: *mut *mut meshroute_decision,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    guard("meshroute_mesh_decide_json", || unsafe {
        decide_json(mesh, json, json_len, false, out)
    })
}

/// As `meshroute_mesh_decide_json`, with the trace. Thread-safe.
///
/// # Safety
/// As `meshroute_mesh_decide_json`.
#[no_mangle]
pub unsafe extern "C" fn meshroute_mesh_explain_json(
    mesh: *const meshroute_mesh,
    json: *const c_char,
    json_len: usize,
    out: *mut *mut meshroute_decision,
) -> meshroute_status {
    // SAFETY: forwarded contract.
    guard("meshroute_mesh_explain_json", || unsafe {
        decide_json(mesh, json, json_len, true, out)
    })
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
            Ok(outcome_out(s.decision.outcome))
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
            Ok(meshroute_str::borrow(s.decision.outcome.as_str()))
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
                .virtual_service
                .as_deref()
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
                .rule
                .as_ref()
                .map(|r| r.index)
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
                .rule
                .as_ref()
                .and_then(|r| r.name.as_deref())
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
            Ok(s.decision.destinations.len())
        })
    }
}

/// The route timeout as written in the configuration (`"10s"`);
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
            s.decision
                .timeout
                .as_deref()
                .map(meshroute_str::borrow)
                .ok_or_else(|| absent("timeout"))
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
            Ok(s.decision.trace.len())
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
        let list = &state.decision.destinations;
        let d = list
            .get(index)
            .ok_or_else(|| Failure::out_of_range(index, list.len(), "destinations"))?;
        let view = meshroute_destination {
            host: meshroute_str::borrow(&d.host),
            has_subset: d.subset.is_some(),
            subset: meshroute_str::borrow(d.subset.as_deref().unwrap_or("")),
            has_port: d.port.is_some(),
            port: d.port.unwrap_or(0),
            weight: d.weight,
            cluster: meshroute_str::borrow(&d.cluster),
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
            .destinations
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
            .redirect
            .as_ref()
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
            .direct_response
            .as_ref()
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
        let trace = &state.decision.trace;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> meshroute_str {
        meshroute_str::borrow(text)
    }

    fn empty_request(authority: &'static str) -> meshroute_request {
        meshroute_request {
            method: s(""),
            authority: s(authority),
            path: s(""),
            headers: std::ptr::null(),
            header_count: 0,
            source_namespace: s(""),
            source_labels: std::ptr::null(),
            source_label_count: 0,
            gateway: s(""),
        }
    }

    #[test]
    fn empty_fields_take_the_spec_defaults() {
        // SAFETY: every string borrows a live &'static str; arrays are NULL with count 0.
        let r = unsafe { request_in(&empty_request("reviews")) }.unwrap();
        assert_eq!(r, Request::new("reviews"));
    }

    #[test]
    fn given_fields_are_kept_and_header_names_lower_cased() {
        let headers = [meshroute_header {
            name: s("End-User"),
            value: s("jason"),
        }];
        let labels = [meshroute_header {
            name: s("app"),
            value: s("web"),
        }];
        let mut c = empty_request("reviews:9080");
        c.method = s("POST");
        c.path = s("/a?b");
        c.headers = headers.as_ptr();
        c.header_count = 1;
        c.source_namespace = s("shop");
        c.source_labels = labels.as_ptr();
        c.source_label_count = 1;
        c.gateway = s("istio-system/ingress");
        // SAFETY: all pointers borrow live locals for the call.
        let r = unsafe { request_in(&c) }.unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/a?b"));
        assert_eq!(r.headers.get("end-user").as_deref(), Some("jason"));
        assert_eq!(r.source.namespace, "shop");
        assert_eq!(r.source.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(r.gateway, "istio-system/ingress");
        assert_eq!(r.host, "reviews:9080");
    }

    /// Requests for the fast path's edges: ASCII of every short length,
    /// UTF-8 text (which only the checked path reads), empty and NULL
    /// strings, labels, repeated headers; `run` is told whether every
    /// string of the request is ASCII.
    fn varied_requests(mut run: impl FnMut(&meshroute_request, bool)) {
        let texts = [
            "",
            "a",
            "ab",
            "GET",
            "/r/1",
            "default",
            "end-user",
            "reviews.default.svc",
            "héllo",
            "ünïcode-über-16-bytes",
        ];
        for (i, &text) in texts.iter().enumerate() {
            let other = texts[(i + 3) % texts.len()];
            let pairs = [
                meshroute_header {
                    name: s(text),
                    value: s(other),
                },
                meshroute_header {
                    name: s("X-Id"),
                    value: s(text),
                },
                meshroute_header {
                    name: s("x-id"),
                    value: s("2"),
                },
            ];
            let mut c = empty_request("reviews");
            c.authority = s(if text.is_empty() { "h" } else { text });
            c.method = s(text);
            c.path = s(other);
            c.headers = pairs.as_ptr();
            c.header_count = if text.is_empty() { 0 } else { pairs.len() };
            c.source_namespace = s(other);
            c.source_labels = if text.len() % 2 == 1 {
                pairs.as_ptr()
            } else {
                std::ptr::null()
            };
            c.source_label_count = if text.len() % 2 == 1 { 2 } else { 0 };
            c.gateway = s(text);
            run(&c, text.is_ascii() && other.is_ascii());
        }
    }

    #[test]
    fn the_fast_path_fills_what_the_checked_path_fills() {
        let mut kept = Request::new("previous");
        kept.headers.append("stale", "1");
        kept.source.labels.insert("stale".into(), "1".into());
        varied_requests(|c, ascii| {
            let mut checked = Request::new(String::new());
            // SAFETY: every pointer in `c` borrows live locals for the call.
            unsafe { fill_checked(&mut checked, c) }.unwrap();
            // SAFETY: as above.
            let fast = unsafe { fill_plain(&mut kept, c) };
            assert_eq!(fast.is_some(), ascii, "the fast path reads ASCII: {c:?}");
            if fast.is_none() {
                // SAFETY: as above.
                unsafe { fill_checked(&mut kept, c) }.unwrap();
            }
            assert_eq!(kept, checked, "{c:?}");
        });
    }

    #[test]
    fn an_empty_authority_is_an_invalid_request() {
        // SAFETY: as above.
        let err = unsafe { request_in(&empty_request("")) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_INVALID_REQUEST);
    }
}
