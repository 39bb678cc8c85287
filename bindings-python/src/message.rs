//! `Message`: one diagnostic, as Python sees it.

use crate::convert::{json_to_py, repr_opt, repr_str};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One diagnostic about one resource, in the shape `istioctl analyze` users
/// know: code, severity, resource, field, location, text and fix.
#[pyclass(module = "meshroute", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct Message {
    inner: meshroute::Message,
}

impl Message {
    pub fn new(inner: meshroute::Message) -> Self {
        Message { inner }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[pymethods]
impl Message {
    /// Istio's analyzer code (`IST0101`) or meshroute's own (`MR0002`).
    #[getter]
    fn code(&self) -> &str {
        &self.inner.code
    }

    /// `"Error"`, `"Warning"` or `"Info"`.
    #[getter]
    fn severity(&self) -> String {
        self.inner.severity.to_string()
    }

    /// `Kind namespace/name`, or `None` for messages about the text itself.
    #[getter]
    fn resource(&self) -> Option<&str> {
        non_empty(&self.inner.resource)
    }

    /// Field path inside the resource (`spec.http[0].route[1].weight`), or `None`.
    #[getter]
    fn field(&self) -> Option<&str> {
        non_empty(&self.inner.field_path)
    }

    /// The input the message is about (a file path or the name given to `from_yaml`).
    #[getter]
    fn file(&self) -> Option<&str> {
        non_empty(&self.inner.source.file)
    }

    /// 1-based line, or `None` when unknown.
    #[getter]
    fn line(&self) -> Option<u32> {
        let l = self.inner.source.location;
        l.is_known().then_some(l.line)
    }

    /// 1-based column, or `None` when unknown.
    #[getter]
    fn column(&self) -> Option<u32> {
        let l = self.inner.source.location;
        l.is_known().then_some(l.column)
    }

    /// What is wrong, in Istio's wording where Istio has one.
    #[getter]
    fn text(&self) -> &str {
        &self.inner.text
    }

    /// How to fix it, or `None` when there is nothing to fix.
    #[getter]
    fn fix(&self) -> Option<&str> {
        non_empty(&self.inner.fix)
    }

    /// Whether the severity is `"Error"`.
    #[getter]
    fn is_error(&self) -> bool {
        self.inner.is_error()
    }

    /// The message as JSON-shaped plain objects (camelCase keys, as the CLI writes it).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let value = serde_json::to_value(&self.inner)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Ok(json_to_py(py, &value)?.cast_into::<PyDict>()?)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        let loc = self.inner.source.location;
        let num = |known: bool, n: u32| if known { n.to_string() } else { "None".into() };
        format!(
            "Message(code={}, severity={}, resource={}, field={}, line={}, column={}, text={})",
            repr_str(&self.inner.code),
            repr_str(&self.inner.severity.to_string()),
            repr_opt(non_empty(&self.inner.resource)),
            repr_opt(non_empty(&self.inner.field_path)),
            num(loc.is_known(), loc.line),
            num(loc.is_known(), loc.column),
            repr_str(&self.inner.text)
        )
    }
}
