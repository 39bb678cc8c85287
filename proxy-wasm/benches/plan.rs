//! The filter's own work per request, natively: building the request from
//! Envoy's header list, the decision alone, and the whole plan (request,
//! decision, router headers) with reused buffers, on the example config's
//! `/split` request (the one `proxy-wasm/test.sh --bench` sends).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use meshroute_filter::plan::{configure, request, Filter};

fn headers() -> Vec<(String, String)> {
    [
        (":authority", "reviews:9080"),
        (":path", "/split"),
        (":method", "GET"),
        (":scheme", "http"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "0b6f6f0e-6c0c-4a53-9d43-8f1d1f0c2d7e"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn bench(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(dir.join("example/istio.yaml")).expect("the example");
    let options = serde_json::json!({"config": config, "listenerPort": 9080}).to_string();
    let filter = match configure(options.as_bytes()) {
        Ok(c) => Filter::new(c),
        Err(e) => panic!("{e:?}"),
    };
    let headers = headers();
    let mut scratch = filter.scratch();
    c.bench_function("filter/plan (request, decision, router headers)", |b| {
        b.iter(|| {
            let p = filter.plan(&mut scratch, black_box(&headers));
            scratch.recycle(black_box(p));
        })
    });
    let req = request(&filter.configured.options, &headers);
    c.bench_function("filter/decide alone", |b| {
        b.iter(|| black_box(filter.configured.mesh.decide(black_box(&req)).is_ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
