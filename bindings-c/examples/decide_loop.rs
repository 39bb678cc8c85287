//! The decisions of `benches/decide.rs`, for counting instructions per
//! decision with callgrind (`bindings-c/count-instructions.sh`): a count
//! does not drift with the machine's load as wall-clock time does. Runs
//! `N` decisions of the kind `KIND` names (environment), one kind per
//! process, each through `measured`.

use meshroute::{
    meshroute_decision, meshroute_decision_destination, meshroute_decision_free,
    meshroute_decision_outcome, meshroute_destination, meshroute_header, meshroute_mesh,
    meshroute_mesh_decide, meshroute_mesh_decide_into, meshroute_outcome, meshroute_request,
    meshroute_status::MESHROUTE_STATUS_OK,
};
use meshroute_core::decide::{Decision, RequestFields};
use meshroute_core::{Mesh, Outcome, Request};
use std::hint::black_box;
use std::mem::MaybeUninit;

#[path = "../benches/fixture/mod.rs"]
mod fixture;

use fixture::{s, ONE_HEADER, PROXY_HEADERS};

/// Rust, buffers kept: refill one request, decide into one decision.
#[inline(never)]
fn rust_kept<'m>(
    mesh: &'m Mesh,
    headers: &[(&str, &str)],
    r: &mut Request,
    out: &mut Decision<'m>,
) {
    r.headers.refill(black_box(headers).iter().copied());
    r.refill(&RequestFields {
        host: black_box("reviews"),
        method: Some(black_box("GET")),
        path: Some(black_box("/reviews/0")),
        namespace: Some(black_box("default")),
        ..RequestFields::default()
    });
    mesh.decide_into(r, out).expect("decides");
    assert_eq!(out.outcome, Outcome::Route);
    black_box(out.destinations.first().map(|d| d.host.len()));
}

/// Rust, a new request and decision.
#[inline(never)]
fn rust_new(mesh: &Mesh) {
    let request = Request::new(black_box("reviews"))
        .method(black_box("GET"))
        .path(black_box("/reviews/0"))
        .header("end-user", black_box("jason"))
        .from_namespace(black_box("default"));
    let decision = mesh.decide(&request).expect("decides");
    assert_eq!(decision.outcome, Outcome::Route);
    black_box(decision.destinations.first().map(|d| d.host.len()));
}

fn c_request(headers: &[meshroute_header]) -> meshroute_request {
    meshroute_request {
        method: s(black_box("GET")),
        authority: s(black_box("reviews")),
        path: s(black_box("/reviews/0")),
        headers: headers.as_ptr(),
        header_count: headers.len(),
        source_namespace: s(black_box("default")),
        source_labels: std::ptr::null(),
        source_label_count: 0,
        gateway: s(""),
    }
}

/// Reads the outcome and the first destination, as a proxy does.
///
/// # Safety
/// `d` is a live decision.
#[inline(always)]
unsafe fn read(d: *const meshroute_decision) {
    let mut outcome = MaybeUninit::<meshroute_outcome>::uninit();
    let mut dest = MaybeUninit::<meshroute_destination>::uninit();
    // SAFETY: the caller's live handle; out pointers to locals.
    unsafe {
        assert_eq!(
            meshroute_decision_outcome(d, outcome.as_mut_ptr()),
            MESHROUTE_STATUS_OK
        );
        assert_eq!(
            meshroute_decision_destination(d, 0, dest.as_mut_ptr()),
            MESHROUTE_STATUS_OK
        );
        black_box(dest.assume_init().host.len);
    }
}

/// C, the hot path: decide into one kept handle.
///
/// # Safety
/// `mesh` live; `d` NULL or a live decision.
#[inline(never)]
unsafe fn c_kept(
    mesh: *const meshroute_mesh,
    headers: &[meshroute_header],
    d: &mut *mut meshroute_decision,
) {
    let request = c_request(headers);
    // SAFETY: the caller's handles; the request borrows live strings.
    unsafe {
        assert_eq!(
            meshroute_mesh_decide_into(mesh, &request, d),
            MESHROUTE_STATUS_OK
        );
        read(*d);
    }
}

/// C, a new handle per decision, freed after reading it.
///
/// # Safety
/// `mesh` live.
#[inline(never)]
unsafe fn c_new(mesh: *const meshroute_mesh, headers: &[meshroute_header]) {
    let request = c_request(headers);
    let mut d = std::ptr::null_mut();
    // SAFETY: as `c_kept`; the new handle is freed once.
    unsafe {
        assert_eq!(
            meshroute_mesh_decide(mesh, &request, &mut d),
            MESHROUTE_STATUS_OK
        );
        read(d);
        assert_eq!(meshroute_decision_free(d), MESHROUTE_STATUS_OK);
    }
}

fn main() {
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let (mesh, c_mesh) = fixture::meshes();
    let c_header = |(name, value): (&'static str, &'static str)| meshroute_header {
        name: s(name),
        value: s(value),
    };
    let (c_one, c_eight) = (ONE_HEADER.map(c_header), PROXY_HEADERS.map(c_header));
    // One kind runs per process: one kept request, decision and handle.
    let mut request = Request::new("x");
    let mut out = Decision::new(Outcome::NotFound);
    let mut d = std::ptr::null_mut();
    let kind = std::env::var("KIND").unwrap_or_default();
    // SAFETY (the C kinds): live mesh; the kept handles are NULL or live.
    let mut decide: Box<dyn FnMut()> = match kind.as_str() {
        "rust_kept_one" => Box::new(|| rust_kept(&mesh, &ONE_HEADER, &mut request, &mut out)),
        "rust_kept_eight" => Box::new(|| rust_kept(&mesh, &PROXY_HEADERS, &mut request, &mut out)),
        "rust_new" => Box::new(|| rust_new(&mesh)),
        "c_kept_one" => Box::new(|| unsafe { c_kept(c_mesh, &c_one, &mut d) }),
        "c_kept_eight" => Box::new(|| unsafe { c_kept(c_mesh, &c_eight, &mut d) }),
        "c_new" => Box::new(|| unsafe { c_new(c_mesh, &c_one) }),
        _ => panic!(
            "KIND: one of rust_kept_one rust_kept_eight rust_new c_kept_one c_kept_eight c_new"
        ),
    };
    // The first decision fills the kept buffers; the rest are measured.
    decide();
    for _ in 0..n {
        measured(&mut *decide);
    }
}

/// One decision of the chosen kind: what callgrind counts.
#[inline(never)]
fn measured(decide: &mut dyn FnMut()) {
    decide();
}
