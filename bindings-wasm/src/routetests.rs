//! `runRouteTests(text, files)`: route-test files (spec: route-tests.md) run
//! against the core. The file resolver is the `files` object (name to text),
//! since nothing here reads a disk.

use wasm_bindgen::prelude::*;

/// Runs a route-test file. `files` maps the names in `config.files` to their
/// text. Returns the report; throws an `Error` when the file itself cannot be
/// read (its cases are then not run).
#[wasm_bindgen(js_name = runRouteTests, unchecked_return_type = "RouteTestReport")]
pub fn run_route_tests(
    text: &str,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] files: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let _ = (text, files);
    Err(JsError::new(
        "runRouteTests: this build has no route-test runner (meshroute::routetest is not in core yet)",
    ))
}
