//! `meshroute simulate FILE...`: replays resilience scenarios and prints
//! their timelines (ejections, unejections, admissions, overflows, picks).

use crate::{inputs, Failure};

const HELP: &str = "\
Usage: meshroute simulate [--mesh-config FILE] [--limit NAME=VALUE]... FILE.scenario.yaml...

Replays a resilience scenario (format: spec/route-tests.md, \"Resilience
scenarios\") and prints the timeline: every ejection with its cause and
duration, every unejection, admissions and overflows, pick counts, and each
expectation with its result. Exit status: 0 when every expectation holds,
1 otherwise, 2 when a file cannot be read or run. `--mesh-config FILE` gives
an Istio MeshConfig YAML to scenarios that give no config.meshConfig.

Options:
      --mesh-config FILE       Istio MeshConfig YAML (spec/mesh-config.md)
{LIMITS}  -h, --help                   this text
";

/// Runs the command; returns the exit status.
pub fn main(args: &[String]) -> Result<u8, Failure> {
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", HELP.replace("{LIMITS}", crate::limits::HELP));
        return Ok(if args.is_empty() { 2 } else { 0 });
    }
    let mut files = Vec::new();
    let mut mesh_config_path: Option<String> = None;
    let mut limits = meshroute::limits::Limits::default();
    for arg in crate::args::scan(args, &["--mesh-config", "--limit"])? {
        match arg {
            crate::args::Arg::Positional(p) => files.push(p),
            crate::args::Arg::Flag(f, v) if f == "--mesh-config" => mesh_config_path = v,
            crate::args::Arg::Flag(f, v) if f == "--limit" => {
                crate::limits::apply(&mut limits, v.as_deref().unwrap_or(""))?
            }
            // A replay reports no progress; the flag is taken as every command takes it.
            crate::args::Arg::Flag(f, _) if f == "--no-progress" => {}
            crate::args::Arg::Flag(f, _) => return Err(crate::args::unknown(&f, "simulate")),
        }
    }
    let mesh_config = inputs::read_mesh_config(mesh_config_path.as_deref(), &limits)?;
    let mut failed = 0usize;
    for file in &files {
        let text = inputs::read(file, &limits).map_err(|e| Failure(format!("{file}: {e}")))?;
        let report = meshroute::routetest::run_scenario_within(
            &text,
            file,
            inputs::resolver(file, &limits),
            mesh_config.as_ref().map(inputs::Text::pair),
            &limits,
        )?;
        println!("── {file}");
        print!("{}", report.render_timeline());
        for r in &report.results {
            println!("{}", expectation_line(r));
            if !r.passed {
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// `✔ expect at 2s (line 12): {...}`, with the actual values when it failed.
pub fn expectation_line(r: &meshroute::scenario::ExpectResult) -> String {
    format!(
        "{} expect at {} (line {}): {}{}",
        if r.passed { "\u{2714}" } else { "\u{2718}" },
        meshroute::duration::format_duration(r.at),
        r.line,
        r.expected,
        if r.passed {
            String::new()
        } else {
            format!("  actual {}", r.actual)
        }
    )
}
