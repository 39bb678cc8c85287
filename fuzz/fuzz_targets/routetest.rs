//! Any route-test or scenario text: running it never panics, runs the same
//! way twice, every case is passed, failed or pending, and a failed case says
//! why. Files a test names resolve to the Bookinfo example (by file name).
#![no_main]
use libfuzzer_sys::fuzz_target;
use meshroute::routetest::{self, CaseStatus};

const FILES: [(&str, &str); 5] = [
    ("bookinfo.yaml", include_str!("../../examples/bookinfo/bookinfo.yaml")),
    ("destination-rule-all.yaml", include_str!("../../examples/bookinfo/destination-rule-all.yaml")),
    ("virtual-service-reviews-jason.yaml", include_str!("../../examples/bookinfo/virtual-service-reviews-jason.yaml")),
    ("bookinfo-gateway.yaml", include_str!("../../examples/bookinfo/bookinfo-gateway.yaml")),
    ("reviews.yaml", include_str!("../../tests/scenarios/config/reviews.yaml")),
];

fn resolve(name: &str) -> Result<String, String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    FILES
        .iter()
        .find(|(n, _)| *n == base)
        .map(|(_, text)| text.to_string())
        .ok_or_else(|| format!("{name}: no such file"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = routetest::run(text, "fuzz.routetest.yaml", resolve);
    assert_eq!(
        report.passed() + report.failed(),
        report.cases.len()
    );
    if report.error.is_some() {
        assert!(report.cases.is_empty(), "a file that cannot run has no cases");
    }
    for case in &report.cases {
        if case.status == CaseStatus::Failed {
            assert!(
                !case.mismatches.is_empty() || !case.note.is_empty(),
                "a failed case says why: {case:?}"
            );
        }
    }
    let again = routetest::run(text, "fuzz.routetest.yaml", resolve);
    assert_eq!(report, again, "a route test runs the same way twice");
});
