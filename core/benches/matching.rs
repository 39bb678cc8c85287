//! Cost of matching a typical request path with each `uri` matcher kind.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use meshroute::matching::{normalize_path, split_path, PathNormalization, StringMatcher};

fn matching(c: &mut Criterion) {
    let path = "/api/v1/reviews/12345/comments";
    let exact = StringMatcher::exact("/api/v1/reviews/12345/comments");
    let prefix = StringMatcher::prefix("/api/v1/");
    let prefix_ci = StringMatcher::prefix("/API/V1/").ignoring_case(true);
    let regex = match StringMatcher::regex(r"/api/v[0-9]+/reviews/\d+/comments") {
        Ok(m) => m,
        Err(e) => panic!("bench regex: {e}"),
    };
    c.bench_function("exact", |b| b.iter(|| exact.matches(black_box(path))));
    c.bench_function("prefix", |b| b.iter(|| prefix.matches(black_box(path))));
    c.bench_function("prefix_ignore_case", |b| {
        b.iter(|| prefix_ci.matches(black_box(path)))
    });
    c.bench_function("regex", |b| b.iter(|| regex.matches(black_box(path))));
    c.bench_function("split_path", |b| {
        b.iter(|| split_path(black_box("/api/v1/reviews/12345?x=1")))
    });
    c.bench_function("normalize_base", |b| {
        b.iter(|| normalize_path(black_box(path), PathNormalization::Base))
    });
}

criterion_group!(benches, matching);
criterion_main!(benches);
