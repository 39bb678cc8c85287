//! A decision through the C ABI against the same decision from Rust
//! (`fixture`: both sides take the request as borrowed strings, decide,
//! read the outcome and the first destination). Compared in pairs doing
//! the same work: a new request and decision each time on both sides, and
//! buffers kept on both sides (Rust refills one `Request` and decides into
//! one `Decision`; C decides into one handle, which keeps both).

mod fixture;

use criterion::{criterion_group, criterion_main, Criterion};
use fixture::{c_headers, c_kept, c_new, rust_kept, rust_new, ONE_HEADER, PROXY_HEADERS};
use meshroute::{meshroute_decision_free, meshroute_mesh_free};
use meshroute_core::decide::Decision;
use meshroute_core::{Outcome, Request};
use std::cell::{Cell, RefCell};
use std::time::Instant;

fn bench(c: &mut Criterion) {
    let (rust_mesh, c_mesh) = fixture::meshes();
    let (c_one, c_proxy) = (c_headers(ONE_HEADER), c_headers(PROXY_HEADERS));
    // Kept buffers: a request and a decision per Rust pair, a handle per C pair.
    let rust_buffers = || {
        RefCell::new((
            Request::new(String::new()),
            Decision::new(Outcome::NotFound),
        ))
    };
    let (kept, kept_proxy) = (rust_buffers(), rust_buffers());
    let (handle, handle_proxy) = (
        Cell::new(std::ptr::null_mut()),
        Cell::new(std::ptr::null_mut()),
    );
    let rust_once = || rust_new(&rust_mesh);
    // SAFETY (the C closures): live mesh; the kept handles are NULL or live.
    let c_once = || unsafe { c_new(c_mesh, &c_one) };
    let rust_kept_once = || {
        let (request, out) = &mut *kept.borrow_mut();
        rust_kept(&rust_mesh, &ONE_HEADER, request, out);
    };
    let c_kept_once = || unsafe {
        let mut d = handle.get();
        c_kept(c_mesh, &c_one, &mut d);
        handle.set(d);
    };
    paired(
        "a new request (Rust) / a new handle (C) per decision",
        &rust_once,
        &c_once,
    );
    paired(
        "buffers kept: Rust refills one request, C decides into one handle",
        &rust_kept_once,
        &c_kept_once,
    );
    paired(
        "buffers kept, eight headers",
        &|| {
            let (request, out) = &mut *kept_proxy.borrow_mut();
            rust_kept(&rust_mesh, &PROXY_HEADERS, request, out);
        },
        &|| unsafe {
            let mut d = handle_proxy.get();
            c_kept(c_mesh, &c_proxy, &mut d);
            handle_proxy.set(d);
        },
    );
    paired(
        "C decide_into against Rust building a new request",
        &rust_once,
        &c_kept_once,
    );
    // Each pair measured back to back, the hot-path pair first.
    let mut group = c.benchmark_group("decide");
    group.bench_function("rust_request_reused", |b| b.iter(rust_kept_once));
    group.bench_function("c_abi_decide_into", |b| b.iter(c_kept_once));
    group.bench_function("rust", |b| b.iter(rust_once));
    group.bench_function("c_abi", |b| b.iter(c_once));
    group.finish();
    // SAFETY: the handles are live (or NULL) and freed once; then the mesh.
    unsafe {
        meshroute_decision_free(handle.get());
        meshroute_decision_free(handle_proxy.get());
        meshroute_mesh_free(c_mesh);
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
