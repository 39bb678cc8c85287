//! Load + validate N VirtualServices with one DestinationRule each.
//! Target: 10,000 of each in under 0.5 s on one core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meshroute::load::load_str;
use meshroute::validate::check;

#[path = "support/generate.rs"]
mod generator;
use generator::generate;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_validate");
    group.sample_size(10);
    for n in [1usize, 100, 10_000] {
        let text = generate(n);
        group.throughput(Throughput::Elements(2 * n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let config = load_str(text, "bench.yaml");
                let messages = check(&config);
                assert!(messages.iter().all(|m| !m.is_error()));
                (config.resource_count(), messages.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
