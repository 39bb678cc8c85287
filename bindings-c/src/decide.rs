//! Deciding a request on a mesh: what a decision handle holds, and the
//! `meshroute_mesh_decide*` / `meshroute_mesh_explain*` entry points that
//! make or refill one.

use crate::decision::meshroute_decision;
use crate::ffi::{
    guard, meshroute_status, meshroute_status::*, out_required, str_in, Failure, Outcome,
};
use crate::handle::{self, Kind, Tagged};
use crate::mesh::{mesh_ref, meshroute_mesh};
use crate::request::{fill_request, meshroute_request, request_in};
use meshroute_core::decide::Decision;
use meshroute_core::{Mesh, Request, RequestError};
use std::os::raw::c_char;
use std::sync::Arc;
use std::sync::OnceLock;

/// What a decision handle holds: the decision, borrowing from the mesh it
/// keeps alive. Field order matters: the decision is dropped before the mesh.
pub(crate) struct DecisionState {
    pub(crate) decision: Decision<'static>,
    mesh: Arc<Mesh>,
    pub(crate) json: OnceLock<String>,
    /// The timeout as text, written when first asked for.
    pub(crate) timeout: OnceLock<String>,
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
            timeout: OnceLock::new(),
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
        let max_headers = mesh.options().limits.max_request_headers;
        unsafe { fill_request(&mut self.request, request, max_headers) }?;
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
        self.timeout = OnceLock::new();
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
    // The mesh's header limit bounds the copy; a mesh that is not live is
    // reported by `decide_into`, after the request's own errors.
    // SAFETY: the caller's contract for `mesh`.
    let max_headers = unsafe { crate::mesh::mesh_ref(mesh) }
        .map_or(meshroute_core::limits::MAX_REQUEST_HEADERS, |state| {
            state.mesh.options().limits.max_request_headers
        });
    // SAFETY: non-NULL; the caller guarantees a valid meshroute_request.
    let request = unsafe { request_in(&*request, max_headers) }?;
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
