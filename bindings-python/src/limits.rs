//! `limits={"max_input_bytes": "1GiB", "max_documents": 1_000_000}`: the
//! core's input limits raised (or lowered) on purpose, by name.

use meshroute::limits::Limits;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};

/// The limits a `limits=` argument gives: the defaults with each named
/// limit set. A value is an `int` or a `str` (`"64MiB"`, `"1_000_000"`).
/// `ValueError` names an unknown limit (with the closest name), a fixed one
/// or a bad value; `TypeError` for anything but a mapping of str to int or str.
pub fn limits_from(value: Option<&Bound<'_, PyAny>>) -> PyResult<Limits> {
    let mut limits = Limits::default();
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(limits);
    };
    let map = value.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(
            "limits must be a dict of limit name to int or str, e.g. {'max_input_bytes': '1GiB'}",
        )
    })?;
    for (name, v) in map.iter() {
        let name = name
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("limit names must be str"))?
            .to_cow()?
            .into_owned();
        let text = if v.is_instance_of::<PyBool>() {
            None
        } else if let Ok(n) = v.extract::<u64>() {
            Some(n.to_string())
        } else if let Ok(s) = v.cast::<PyString>() {
            Some(s.to_cow()?.into_owned())
        } else if v.extract::<i64>().is_ok() {
            return Err(PyValueError::new_err(format!(
                "limit {name}: {} is negative",
                v.repr()?
            )));
        } else {
            None
        };
        let text = text.ok_or_else(|| {
            PyTypeError::new_err(format!("limit {name}: the value must be an int or a str"))
        })?;
        limits
            .set(&name, &text)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    Ok(limits)
}
