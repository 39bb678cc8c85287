//! The agreement corpus (`proxy-wasm/e2e/corpus`) states Istio's and
//! Envoy's answers as route tests: meshroute's decision must give every one
//! of them, as the real-Envoy harness (proxy-wasm/test.sh) checks Envoy does.

use meshroute::routetest::{run, CaseStatus};

#[test]
fn every_case_of_the_agreement_corpus_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".routetest.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the corpus files: {files:?}");
    let mut cases = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let report = run(&text, &path.to_string_lossy(), |f| {
            std::fs::read_to_string(dir.join(f)).map_err(|e| e.to_string())
        });
        assert!(report.error.is_none(), "{path:?}: {:?}", report.error);
        for c in &report.cases {
            assert_eq!(c.status, CaseStatus::Passed, "{path:?}: {}", c.name);
        }
        cases += report.cases.len();
    }
    assert!(cases >= 50, "{cases} cases");
}
