//! Loads and validates N generated VirtualServices + DestinationRules once,
//! for measuring peak memory: `/usr/bin/time -v target/release/examples/load_validate_rss 10000`.

#[path = "../benches/support/generate.rs"]
mod generator;

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000usize);
    let text = generator::generate(n);
    let start = std::time::Instant::now();
    let config = meshroute::load::load_str(&text, "generated.yaml");
    let loaded = start.elapsed();
    let messages = meshroute::validate::check(&config);
    let total = start.elapsed();
    println!(
        "{} resources, {} messages, {} input bytes: load {:?}, validate {:?}, total {:?} ({:?} per resource)",
        config.resource_count(),
        messages.len(),
        text.len(),
        loaded,
        total - loaded,
        total,
        total / u32::try_from(config.resource_count().max(1)).unwrap_or(u32::MAX)
    );
}
