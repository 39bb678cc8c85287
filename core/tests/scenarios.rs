//! Resilience scenario files run through `routetest::run_scenario`: the conformance
//! scenarios (`tests/conformance/resilience-*.scenario.yaml`, and those of an
//! extra corpus such as `../shared/conformance` beside the checkout when it
//! exists) and the project's own `tests/scenarios/*.scenario.yaml`, one per
//! behaviour. Every `expect` entry must pass.

mod corpus;
use corpus::conformance_dirs;

use meshroute::scenario;
use std::path::{Path, PathBuf};

fn run_file(path: &Path) -> scenario::ScenarioReport {
    let text = std::fs::read_to_string(path).expect("read scenario");
    assert!(
        scenario::is_scenario(&text),
        "{} is not a scenario",
        path.display()
    );
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    meshroute::routetest::run_scenario(&text, &path.display().to_string(), |name| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_all_pass(files: &[PathBuf]) {
    let mut failures = Vec::new();
    let mut cases = 0;
    for f in files {
        let report = run_file(f);
        assert!(
            !report.results.is_empty(),
            "{} has no expect entries",
            f.display()
        );
        for r in &report.results {
            cases += 1;
            if !r.passed {
                failures.push(format!(
                    "{}:{} at {:?}: expected {} got {}\n{}",
                    f.display(),
                    r.line,
                    r.at,
                    r.expected,
                    r.actual,
                    report.render_timeline()
                ));
            }
        }
    }
    assert!(cases > 0, "no cases run");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn yaml_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn resilience_scenarios(dir: &Path) -> Vec<PathBuf> {
    yaml_files(dir, ".scenario.yaml")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("resilience-"))
        })
        .collect()
}

#[test]
fn conformance_resilience_scenarios_pass() {
    let dirs = conformance_dirs();
    // The repository's corpus: the circuit-breaking task's pool overflow, ejection,
    // no picks for an ejected host, and every host ejected.
    let own = resilience_scenarios(&dirs[0]);
    assert_eq!(
        own.len(),
        4,
        "expected the four resilience scenarios: {own:?}"
    );
    assert_all_pass(&own);
    for extra in &dirs[1..] {
        let files = resilience_scenarios(extra);
        assert!(
            !files.is_empty(),
            "{}: no resilience scenario",
            extra.display()
        );
        assert_all_pass(&files);
    }
}

#[test]
fn project_scenarios_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let files = yaml_files(&dir, ".yaml");
    assert!(files.len() >= 12, "expected a scenario per behaviour");
    assert_all_pass(&files);
}
