//! Loads and validates N generated VirtualServices + DestinationRules once,
//! printing times and peak memory (VmHWM):
//! `target/release/examples/load_validate_rss [yaml|vs-only|json] [N]`.

#[path = "../benches/support/generate.rs"]
mod generator;

/// Peak resident memory of this process so far, from /proc (Linux only).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let form = args.get(1).map(String::as_str).unwrap_or("yaml");
    let n = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000usize);
    let text = match form {
        "json" => generator::generate_json(n),
        "vs-only" => generator::generate_virtual_services(n),
        _ => generator::generate(n),
    };
    let before = peak_rss();
    // Reset the high-water mark (Linux >= 4.0), so the peak below is the
    // load's own and not the generator's (the JSON one peaks higher).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let start = std::time::Instant::now();
    let config = meshroute::load::load_str(&text, "generated");
    let loaded = start.elapsed();
    let messages = meshroute::check(&config);
    let total = start.elapsed();
    println!(
        "{form}: {} resources, {} messages, {} input bytes: load {:?}, check {:?}, total {:?} ({:?} per resource); peak RSS {} ({}; after generating the text: {before})",
        config.resource_count(),
        messages.len(),
        text.len(),
        loaded,
        total - loaded,
        total,
        total / u32::try_from(config.resource_count().max(1)).unwrap_or(u32::MAX),
        peak_rss(),
        if reset {
            "since the text was generated"
        } else {
            "of the whole process"
        },
    );
}
