//! A decision through the C ABI against the same decision from Rust.
//! Both sides take the request as borrowed strings, decide, read the
//! outcome and the first destination's host. Compared in pairs doing the
//! same work: a new request and decision each time on both sides, and
//! buffers kept on both sides (Rust refills one `Request`; C decides into
//! one handle, which refills the request it keeps).

mod fixture;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use fixture::{s, ONE_HEADER, PROXY_HEADERS};
use meshroute::{
    meshroute_decision, meshroute_decision_destination, meshroute_decision_free,
    meshroute_decision_outcome, meshroute_destination, meshroute_header, meshroute_mesh,
    meshroute_mesh_decide, meshroute_mesh_decide_into, meshroute_mesh_free, meshroute_outcome,
    meshroute_request, meshroute_status,
};
use meshroute_core::decide::RequestFields;
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::time::Instant;

/// The C functions as a C caller reaches them: called through their
/// addresses, hidden from the optimiser. Called directly, the bench
/// profile's LTO inlines them into the closures and folds the request's
/// constant fields, which no C caller gets.
struct CAbi {
    decide: unsafe extern "C" fn(
        *const meshroute_mesh,
        *const meshroute_request,
        *mut *mut meshroute_decision,
    ) -> meshroute_status,
    decide_into: unsafe extern "C" fn(
        *const meshroute_mesh,
        *const meshroute_request,
        *mut *mut meshroute_decision,
    ) -> meshroute_status,
    outcome:
        unsafe extern "C" fn(*const meshroute_decision, *mut meshroute_outcome) -> meshroute_status,
    destination: unsafe extern "C" fn(
        *const meshroute_decision,
        usize,
        *mut meshroute_destination,
    ) -> meshroute_status,
    free: unsafe extern "C" fn(*mut meshroute_decision) -> meshroute_status,
}

static C_ABI: CAbi = CAbi {
    decide: meshroute_mesh_decide,
    decide_into: meshroute_mesh_decide_into,
    outcome: meshroute_decision_outcome,
    destination: meshroute_decision_destination,
    free: meshroute_decision_free,
};

/// [`C_ABI`], through `black_box`: the optimiser cannot see which
/// functions it holds.
fn c_abi() -> &'static CAbi {
    black_box(&C_ABI)
}

fn bench(c: &mut Criterion) {
    let (rust_mesh, c_mesh) = fixture::meshes();

    let (method, authority, path, user, namespace) =
        ("GET", "reviews", "/reviews/0", "jason", "default");
    let c_header = |(name, value): (&str, &str)| meshroute_header {
        name: s(name),
        value: s(value),
    };
    let headers = ONE_HEADER.map(c_header);

    let rust_once = || {
        let request = meshroute_core::Request::new(black_box(authority))
            .method(black_box(method))
            .path(black_box(path))
            .header("end-user", black_box(user))
            .from_namespace(black_box(namespace));
        let decision = match rust_mesh.decide(&request) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(decision.outcome, meshroute_core::Outcome::Route);
        black_box(decision.destinations.first().map(|d| d.host.len()));
    };
    // A Rust caller on its hot path refills one request's buffers
    // (`Request::refill`, `Headers::refill`), as `meshroute_mesh_decide_into`
    // does inside the C decision handle. Its headers come as a list known at
    // run time only, as a proxy's do (a constant list would let the compiler
    // unroll the copy, which no proxy gets).
    let rust_reuse = |kept: &RefCell<meshroute_core::Request>, headers: &[(&str, &str)]| {
        let mut request = kept.borrow_mut();
        request.headers.refill(black_box(headers).iter().copied());
        request.refill(&RequestFields {
            host: black_box(authority),
            method: Some(black_box(method)),
            path: Some(black_box(path)),
            namespace: Some(black_box(namespace)),
            ..RequestFields::default()
        });
        let decision = match rust_mesh.decide(&request) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(decision.outcome, meshroute_core::Outcome::Route);
        black_box(decision.destinations.first().map(|d| d.host.len()));
    };
    // Both C forms build the request from the same borrowed strings.
    let c_request = |headers: &[meshroute_header]| meshroute_request {
        method: s(black_box(method)),
        authority: s(black_box(authority)),
        path: s(black_box(path)),
        headers: headers.as_ptr(),
        header_count: headers.len(),
        source_namespace: s(black_box(namespace)),
        source_labels: std::ptr::null(),
        source_label_count: 0,
        gateway: s(""),
    };
    let c_once = || {
        let request = c_request(&headers);
        let mut decision: *mut meshroute_decision = std::ptr::null_mut();
        // SAFETY: live mesh, valid request and out pointers; the decision is freed below.
        unsafe {
            assert_eq!(
                (c_abi().decide)(c_mesh, &request, &mut decision),
                meshroute_status::MESHROUTE_STATUS_OK
            );
            read_decision(decision);
            assert_eq!(
                (c_abi().free)(decision),
                meshroute_status::MESHROUTE_STATUS_OK
            );
        }
    };
    // The hot-path form: one decision handle, decided into again and again.
    let c_reuse = |kept: &Cell<*mut meshroute_decision>, headers: &[meshroute_header]| {
        let request = c_request(headers);
        let mut decision = kept.get();
        // SAFETY: live mesh, valid request; `decision` is NULL or the live handle kept.
        unsafe {
            assert_eq!(
                (c_abi().decide_into)(c_mesh, &request, &mut decision),
                meshroute_status::MESHROUTE_STATUS_OK
            );
            kept.set(decision);
            read_decision(decision);
        }
    };
    let c_proxy_headers = PROXY_HEADERS.map(c_header);
    let (kept, kept_proxy) = (
        RefCell::new(meshroute_core::Request::new(String::new())),
        RefCell::new(meshroute_core::Request::new(String::new())),
    );
    let (reused, reused_proxy) = (
        Cell::new(std::ptr::null_mut()),
        Cell::new(std::ptr::null_mut()),
    );
    let rust_reuse_once = || rust_reuse(&kept, &ONE_HEADER);
    let c_reuse_once = || c_reuse(&reused, &headers);
    paired(
        "a new request (Rust) / a new handle (C) per decision",
        &rust_once,
        &c_once,
    );
    paired(
        "buffers kept: Rust refills one request, C decides into one handle",
        &rust_reuse_once,
        &c_reuse_once,
    );
    paired(
        "buffers kept, eight headers",
        &|| rust_reuse(&kept_proxy, &PROXY_HEADERS),
        &|| c_reuse(&reused_proxy, &c_proxy_headers),
    );
    paired(
        "C decide_into against Rust building a new request",
        &rust_once,
        &c_reuse_once,
    );
    // Each pair measured back to back, the hot-path pair first.
    let mut group = c.benchmark_group("decide");
    group.bench_function("rust_request_reused", |b| b.iter(rust_reuse_once));
    group.bench_function("c_abi_decide_into", |b| b.iter(c_reuse_once));
    group.bench_function("rust", |b| b.iter(rust_once));
    group.bench_function("c_abi", |b| b.iter(c_once));
    group.finish();
    // SAFETY: the handles are live (or NULL) and freed once.
    unsafe {
        meshroute_decision_free(reused.get());
        meshroute_decision_free(reused_proxy.get());
    }
    // SAFETY: the mesh is live and freed once.
    unsafe { meshroute_mesh_free(c_mesh) };
}

/// Reads what a proxy reads: the outcome and the first destination's host.
///
/// # Safety
/// `decision` is a live decision handle.
unsafe fn read_decision(decision: *const meshroute_decision) {
    let mut outcome = MaybeUninit::<meshroute_outcome>::uninit();
    let mut dest = MaybeUninit::<meshroute_destination>::uninit();
    // SAFETY: the caller guarantees a live handle; the out pointers are valid.
    unsafe {
        assert_eq!(
            (c_abi().outcome)(decision, outcome.as_mut_ptr()),
            meshroute_status::MESHROUTE_STATUS_OK
        );
        assert_eq!(
            outcome.assume_init(),
            meshroute_outcome::MESHROUTE_OUTCOME_ROUTE
        );
        assert_eq!(
            (c_abi().destination)(decision, 0, dest.as_mut_ptr()),
            meshroute_status::MESHROUTE_STATUS_OK
        );
        black_box(dest.assume_init().host.len);
    }
}

/// Alternates batches of both sides (which goes first alternates too) and
/// reports each side's fastest batch and the median of the per-round
/// ratios: on a busy VM whose speed drifts, a ratio taken within one round
/// compares the two sides at the same machine speed.
fn paired(label: &str, rust: &dyn Fn(), c_abi: &dyn Fn()) {
    const ROUNDS: usize = 100;
    const BATCH: u32 = 2_000;
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
    };
    let (mut best_rust, mut best_c) = (f64::MAX, f64::MAX);
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (r, c) = if round % 2 == 0 {
            let r = time(rust);
            (r, time(c_abi))
        } else {
            let c = time(c_abi);
            (time(rust), c)
        };
        best_rust = best_rust.min(r);
        best_c = best_c.min(c);
        ratios.push(c / r);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{label}: {ROUNDS} alternating rounds: fastest rust {best_rust:.0} ns, c_abi {best_c:.0} ns \
         ({:.2}x); median per-round ratio {:.2}x",
        best_c / best_rust,
        ratios[ROUNDS / 2]
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
