//! `meshroute test`: run route-test files, one line per failing case, then
//! `N passed, M failed`.

use crate::args::{scan, unknown, Arg};
use crate::inputs;
use crate::progress::Reporter;
use crate::route::differences;
use crate::style::Style;
use crate::Failure;
use meshroute::limits::Limits;
use meshroute::routetest::{self, CaseStatus, RunOptions};

const HELP: &str = "\
Usage: meshroute test [options] FILES...

Runs route-test files (*.routetest.yaml) and resilience scenarios
(*.scenario.yaml: each `expect` entry is a case). Directories are searched recursively. Prints one line per failing case with
the expected and actual values, and ends with `N passed, M failed`.

Options:
  -v, --verbose    also print the request, expected and actual JSON of each failure
      --mesh-config FILE
                   Istio MeshConfig YAML for files that give no config.meshConfig
                   (spec/mesh-config.md)
{LIMITS}  -h, --help       this text

Exit status: 0 when nothing failed, 1 when a case failed, 2 on bad usage.
";

/// Runs the command; returns the exit status.
pub fn main(argv: &[String]) -> Result<u8, Failure> {
    let mut verbose = false;
    let mut paths = Vec::new();
    let mut mesh_config_path: Option<String> = None;
    let mut limits = Limits::default();
    let mut show_progress = true;
    for arg in scan(argv, &["--mesh-config", "--limit"])? {
        match arg {
            Arg::Positional(p) => paths.push(p),
            Arg::Flag(f, v) => match f.as_str() {
                "--mesh-config" => mesh_config_path = v,
                "--limit" => crate::limits::apply(&mut limits, v.as_deref().unwrap_or(""))?,
                "--no-progress" => show_progress = false,
                "-h" | "--help" => {
                    print!("{}", HELP.replace("{LIMITS}", crate::limits::HELP));
                    return Ok(0);
                }
                "-v" | "--verbose" => verbose = true,
                other => return Err(unknown(other, "test")),
            },
        }
    }
    if paths.is_empty() {
        return Err(Failure(
            "no files given; run `meshroute test --help`".into(),
        ));
    }
    let mesh_config = inputs::read_mesh_config(mesh_config_path.as_deref(), &limits)?;
    let reporter = Reporter::for_stderr(show_progress);
    let options = RunOptions {
        mesh_config_file: mesh_config.as_ref().map(inputs::Text::pair),
        limits: &limits,
        progress: reporter.progress(),
    };
    let style = Style::for_stdout();
    let names = inputs::expand(&paths, inputs::is_test_file)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for name in &names {
        let report = match inputs::read(name, &limits) {
            Ok(text) => {
                routetest::run_with_options(&text, name, inputs::resolver(name, &limits), &options)
            }
            Err(e) => {
                println!("{} {name}: {e}", style.red("FAIL"));
                failed += 1;
                continue;
            }
        };
        if let Some(e) = &report.error {
            println!("{} {e}", style.red("FAIL"));
            failed += 1;
            continue;
        }
        for case in &report.cases {
            let place = format!("{name}:{}", case.location.line);
            match case.status {
                CaseStatus::Passed => passed += 1,
                CaseStatus::Failed => {
                    failed += 1;
                    println!(
                        "{} {place}: {}: {}",
                        style.red("FAIL"),
                        case.name,
                        differences(case)
                    );
                    if verbose {
                        println!("    request:  {}", case.request);
                        println!("    expected: {}", case.expected);
                        println!("    actual:   {}", case.actual);
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}
