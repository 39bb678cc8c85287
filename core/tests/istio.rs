//! Istio's own tests, converted into route tests under `tests/istio/<area>/`,
//! are the oracle: every converted case passes, every file names where its
//! cases come from, and every area lists what it left out and why.

use std::path::{Path, PathBuf};

fn istio_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/istio")
}

/// Every route-test and scenario file under `dir`, recursively, sorted.
fn route_test_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            route_test_files(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".routetest.yaml") || n.ends_with(".scenario.yaml"))
        {
            out.push(path);
        }
    }
    out.sort();
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    route_test_files(&istio_dir(), &mut files);
    files
}

#[test]
fn every_converted_istio_case_passes() {
    let mut failures = Vec::new();
    let mut passed = 0;
    for path in all_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let dir = path.parent().unwrap().to_path_buf();
        let report = meshroute::routetest::run(&text, &path.display().to_string(), |name| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))
        });
        if let Some(e) = &report.error {
            failures.push(format!("{}: {e}", path.display()));
            continue;
        }
        passed += report.passed();
        for case in report
            .cases
            .iter()
            .filter(|c| c.status == meshroute::routetest::CaseStatus::Failed)
        {
            failures.push(format!(
                "{}: {}: {:?}",
                path.display(),
                case.name,
                case.mismatches
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 0 || all_files().is_empty());
}

#[test]
fn every_converted_file_names_its_istio_source_and_licence() {
    for path in all_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in ["istio/istio", "Apache-2.0"] {
            assert!(
                text.contains(needle),
                "{} does not name its source ({needle:?} missing from its header)",
                path.display()
            );
        }
    }
}

#[test]
fn every_area_lists_its_counts_and_what_it_left_out() {
    let Ok(entries) = std::fs::read_dir(istio_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let area = entry.path();
        if !area.is_dir() {
            continue;
        }
        for file in ["COUNTS.md", "SKIPPED.md"] {
            assert!(
                area.join(file).is_file(),
                "{} has no {file} (counts per Istio test; cases left out with their reason)",
                area.display()
            );
        }
    }
}
