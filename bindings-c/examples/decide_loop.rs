//! The decisions of `benches/decide.rs` (its `fixture`), for counting
//! instructions per decision with callgrind
//! (`bindings-c/count-instructions.sh`): a count does not drift with the
//! machine's load as wall-clock time does. Runs `N` decisions of the kind
//! `KIND` names (environment), one kind per process, each through
//! `measured`.

#[path = "../benches/fixture/mod.rs"]
mod fixture;

use fixture::{c_headers, c_kept, c_new, rust_kept, rust_new, ONE_HEADER, PROXY_HEADERS};
use meshroute_core::decide::Decision;
use meshroute_core::{Outcome, Request};

fn main() {
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let (mesh, c_mesh) = fixture::meshes();
    let (c_one, c_proxy) = (c_headers(ONE_HEADER), c_headers(PROXY_HEADERS));
    // One kind runs per process: one kept request, decision and handle.
    let mut request = Request::new("x");
    let mut out = Decision::new(Outcome::NotFound);
    let mut d = std::ptr::null_mut();
    let kind = std::env::var("KIND").unwrap_or_default();
    // SAFETY (the C kinds): live mesh; the kept handle is NULL or live.
    let mut decide: Box<dyn FnMut()> = match kind.as_str() {
        "rust_kept_one" => Box::new(|| rust_kept(&mesh, &ONE_HEADER, &mut request, &mut out)),
        "rust_kept_eight" => Box::new(|| rust_kept(&mesh, &PROXY_HEADERS, &mut request, &mut out)),
        "rust_new" => Box::new(|| rust_new(&mesh)),
        "c_kept_one" => Box::new(|| unsafe { c_kept(c_mesh, &c_one, &mut d) }),
        "c_kept_eight" => Box::new(|| unsafe { c_kept(c_mesh, &c_proxy, &mut d) }),
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
