//! Load + validate N VirtualServices with one DestinationRule each (YAML),
//! plus 10,000 VirtualServices alone and the 10,000 + 10,000 case as one
//! JSON `List`. Target: 10,000 of each in under 0.5 s on one core.
//!
//! The generated configuration has no Services, so analysis reports every
//! destination host (IST0101, 3 per VirtualService) and every DestinationRule
//! host (IST0174): 4 messages per pair, none from loading or validation.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meshroute::check;
use meshroute::load::load_str;

#[path = "support/generate.rs"]
mod generator;
use generator::{generate, generate_json, generate_virtual_services};

/// Loads and checks `text`, asserting it has only the analysis messages
/// the generated configuration should have.
fn load_and_check(text: &str, name: &str) -> (usize, usize) {
    let config = load_str(text, name);
    assert!(config.messages.is_empty(), "{:?}", config.messages.first());
    let messages = check(&config);
    assert!(
        messages
            .iter()
            .all(|m| m.code == "IST0101" || m.code == "IST0174"),
        "{:?}",
        messages
            .iter()
            .find(|m| m.code != "IST0101" && m.code != "IST0174")
    );
    (config.resource_count(), messages.len())
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_validate");
    group.sample_size(10);
    for n in [1usize, 100, 10_000] {
        let text = generate(n);
        group.throughput(Throughput::Elements(2 * n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| load_and_check(text, "bench.yaml"))
        });
    }
    let n = 10_000usize;
    let text = generate_virtual_services(n);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(
        BenchmarkId::new("virtual_services_only", n),
        &text,
        |b, text| b.iter(|| load_and_check(text, "bench.yaml")),
    );
    let text = generate_json(n);
    group.throughput(Throughput::Elements(2 * n as u64));
    group.bench_with_input(BenchmarkId::new("json", n), &text, |b, text| {
        b.iter(|| load_and_check(text, "bench.json"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
