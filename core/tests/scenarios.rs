//! Resilience scenario files run through `scenario::run`: the public
//! conformance scenarios (`../shared/conformance/resilience-*.scenario.yaml`
//! beside the checkout, or `$MESHROUTE_SHARED/conformance`) and the project's
//! own `tests/scenarios/*.scenario.yaml`, one per behaviour. Every `expect` entry must pass.

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
    scenario::run(&text, &path.display().to_string(), |name| {
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

fn shared_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("MESHROUTE_SHARED").map(PathBuf::from),
        // CI and developers have the shared folder beside the checkout.
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("conformance").is_dir())
        .expect("shared folder not found beside the checkout: set MESHROUTE_SHARED")
}

#[test]
fn conformance_resilience_scenarios_pass() {
    let files: Vec<PathBuf> = yaml_files(&shared_dir().join("conformance"), ".scenario.yaml")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("resilience-"))
        })
        .collect();
    assert_eq!(files.len(), 4, "expected the four resilience scenarios");
    assert_all_pass(&files);
}

#[test]
fn project_scenarios_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let files = yaml_files(&dir, ".yaml");
    assert!(files.len() >= 12, "expected a scenario per behaviour");
    assert_all_pass(&files);
}
