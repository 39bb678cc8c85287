//! `runRouteTests(text, files, name)`: route-test files (spec: route-tests.md)
//! run by `meshroute::routetest`. The file resolver is the `files` object
//! (name to text), since nothing here reads a disk.

use meshroute::routetest::{self, TestReport};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The core's report plus the counts a caller wants first.
#[derive(Serialize)]
struct ReportJs<'a> {
    #[serde(flatten)]
    report: &'a TestReport,
    passed: usize,
    failed: usize,
    /// `N passed, M failed`, as `meshroute test` ends.
    summary: String,
}

/// Runs a route-test file. `files` maps the names in `config.files` (as
/// written, relative to the test file) to their text; `name` is the test
/// file's name in messages. Throws an `Error` when the file cannot be run
/// at all (unreadable, or a config file missing from `files`); failing cases
/// are in the report, not thrown.
#[wasm_bindgen(js_name = runRouteTests, unchecked_return_type = "RouteTestReport")]
pub fn run_route_tests(
    text: &str,
    files: Option<crate::FilesArg>,
    name: Option<String>,
) -> Result<JsValue, JsError> {
    let files = crate::files_from_js(files.map_or(JsValue::UNDEFINED, JsValue::from))?;
    let name = name.unwrap_or_else(|| "<inline>".to_string());
    let report = routetest::run(text, &name, |wanted| {
        files
            .iter()
            .find(|(n, _)| n == wanted)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| "not in the files given to runRouteTests".to_string())
    });
    if let Some(error) = &report.error {
        return Err(JsError::new(error));
    }
    let (passed, failed) = (report.passed(), report.failed());
    crate::to_js(&ReportJs {
        report: &report,
        passed,
        failed,
        summary: format!("{passed} passed, {failed} failed"),
    })
}
