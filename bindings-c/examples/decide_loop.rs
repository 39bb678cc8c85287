//! The decisions of `benches/decide.rs`, each in its own function, for
//! counting instructions per decision with callgrind
//! (`bindings-c/count-instructions.sh`): a count does not drift with the
//! machine's load as wall-clock time does. Runs `N` decisions of the kind
//! `KIND` names (environment), each through `measured`.

use meshroute::{
    meshroute_decision, meshroute_decision_destination, meshroute_decision_free,
    meshroute_decision_outcome, meshroute_destination, meshroute_header, meshroute_mesh,
    meshroute_mesh_decide, meshroute_mesh_decide_into, meshroute_mesh_new, meshroute_outcome,
    meshroute_request, meshroute_status::MESHROUTE_STATUS_OK, meshroute_str,
};
use meshroute_core::decide::{Decision, RequestFields};
use meshroute_core::{Mesh, Outcome, Request};
use std::hint::black_box;
use std::mem::MaybeUninit;

const CONFIG: &str = include_str!("../benches/decide.yaml");

/// One header, as the criterion benchmark's main pair.
const ONE: [(&str, &str); 1] = [("end-user", "jason")];
/// The headers a proxy typically passes, two longer than 16 bytes.
const EIGHT: [(&str, &str); 8] = [
    ("end-user", "jason"),
    (":scheme", "http"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
    ("accept", "*/*"),
    ("x-request-id", "3f2c8a1e-5b7d-4e29-9c41-0a6b8d2f7e13"),
    ("x-forwarded-proto", "http"),
    ("content-length", "0"),
    ("x-b3-sampled", "1"),
];

fn s(text: &str) -> meshroute_str {
    meshroute_str {
        ptr: text.as_ptr().cast(),
        len: text.len(),
    }
}

/// Rust, buffers kept: refill one request, decide into one decision.
#[inline(always)]
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
#[inline(always)]
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
    let config = meshroute_core::load::load_str(CONFIG, "decide.yaml");
    let mesh = Mesh::compile(&config);
    let mut c_mesh = std::ptr::null_mut();
    // SAFETY: valid text and out pointer.
    let status = unsafe {
        meshroute_mesh_new(
            CONFIG.as_ptr().cast(),
            CONFIG.len(),
            std::ptr::null(),
            0,
            &mut c_mesh,
        )
    };
    assert_eq!(status, MESHROUTE_STATUS_OK);
    let c_headers = |pairs: &[(&'static str, &'static str)]| -> Vec<meshroute_header> {
        pairs
            .iter()
            .map(|(name, value)| meshroute_header {
                name: s(name),
                value: s(value),
            })
            .collect()
    };
    let (c_one, c_eight) = (c_headers(&ONE), c_headers(&EIGHT));
    let (mut r1, mut r8) = (Request::new("x"), Request::new("x"));
    let (mut out1, mut out8) = (
        Decision::new(Outcome::NotFound),
        Decision::new(Outcome::NotFound),
    );
    let (mut d1, mut d8) = (std::ptr::null_mut(), std::ptr::null_mut());
    let kind = std::env::var("KIND").unwrap_or_default();
    // SAFETY (the C kinds): live mesh; the kept handles are NULL or live.
    let mut decide: Box<dyn FnMut()> = match kind.as_str() {
        "rust_kept_one" => Box::new(|| rust_kept_one(&mesh, &mut r1, &mut out1)),
        "rust_kept_eight" => Box::new(|| rust_kept_eight(&mesh, &mut r8, &mut out8)),
        "rust_new" => Box::new(|| rust_new(&mesh)),
        "c_kept_one" => Box::new(|| unsafe { c_kept_one(c_mesh, &c_one, &mut d1) }),
        "c_kept_eight" => Box::new(|| unsafe { c_kept_eight(c_mesh, &c_eight, &mut d8) }),
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

// One function per kind, each run alone (`KIND`).

/// [`rust_kept`] with [`ONE`] header.
#[inline(never)]
fn rust_kept_one<'m>(mesh: &'m Mesh, r: &mut Request, out: &mut Decision<'m>) {
    rust_kept(mesh, &ONE, r, out);
}

/// [`rust_kept`] with [`EIGHT`] headers.
#[inline(never)]
fn rust_kept_eight<'m>(mesh: &'m Mesh, r: &mut Request, out: &mut Decision<'m>) {
    rust_kept(mesh, &EIGHT, r, out);
}

/// [`c_kept`] with one header.
///
/// # Safety
/// As [`c_kept`].
#[inline(never)]
unsafe fn c_kept_one(
    mesh: *const meshroute_mesh,
    headers: &[meshroute_header],
    d: &mut *mut meshroute_decision,
) {
    // SAFETY: forwarded contract.
    unsafe { c_kept(mesh, headers, d) }
}

/// [`c_kept`] with eight headers.
///
/// # Safety
/// As [`c_kept`].
#[inline(never)]
unsafe fn c_kept_eight(
    mesh: *const meshroute_mesh,
    headers: &[meshroute_header],
    d: &mut *mut meshroute_decision,
) {
    // SAFETY: forwarded contract.
    unsafe { c_kept(mesh, headers, d) }
}
