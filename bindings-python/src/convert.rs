//! Conversions between JSON values, durations and Python objects.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use std::time::Duration;

/// Deepest nesting converted from Python; deeper input is refused instead
/// of overflowing the stack on a self-referencing or hostile structure.
const MAX_DEPTH: usize = 128;

/// A JSON value as plain Python objects (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python object (dict with str keys, list/tuple, str, int, float, bool,
/// None) as a JSON value. Anything else is a `TypeError`.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    py_to_json_at(obj, 0)
}

fn py_to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "structure nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int subclass.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        let u: u64 = obj.extract()?;
        return Ok(Value::Number(u.into()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity have no JSON form"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("mapping keys must be str"))?
                .to_cow()?
                .into_owned();
            map.insert(key, py_to_json_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            items.push(py_to_json_at(&item?, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "cannot convert {} to JSON (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

/// Parses a duration as Istio (Go's `time.ParseDuration`) reads it into a
/// `datetime.timedelta`. Raises `ValueError` when the text is not one.
#[pyfunction]
pub fn parse_duration(text: &str) -> PyResult<Duration> {
    meshroute::duration::parse_duration(text).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Parses one YAML (or JSON) document into plain Python objects, with the
/// reader and limits the configuration loader uses (`limits` as for
/// `Mesh.from_yaml`). Raises `ValueError` naming the position (and the
/// limit, when one is exceeded).
#[pyfunction]
#[pyo3(signature = (text, name = "<yaml>", *, limits = None))]
pub fn parse_yaml<'py>(
    py: Python<'py>,
    text: &str,
    name: &str,
    limits: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let limits = crate::limits::limits_from(limits)?;
    let (owned, name) = (text.to_owned(), name.to_owned());
    let value = py.detach(move || {
        meshroute::load::read_document_within(&owned, &name, &limits)
            .map_err(|message| message.to_string())
    });
    json_to_py(py, &value.map_err(PyValueError::new_err)?)
}

/// Python's `repr` of an optional string: `'text'` or `None`.
pub fn repr_opt(s: Option<&str>) -> String {
    match s {
        None => "None".to_string(),
        Some(s) => repr_str(s),
    }
}

/// Python's `repr` of a string (single quotes, backslash escapes).
pub fn repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Runs one route-test file with the core's runner. `text` is the file's
/// text, `name` its name in messages, and `config.files` entries are read
/// relative to `base_dir`. Returns the report in the core's JSON shape.
#[pyfunction]
pub fn run_route_test<'py>(
    py: Python<'py>,
    text: String,
    name: String,
    base_dir: std::path::PathBuf,
) -> PyResult<Bound<'py, PyAny>> {
    let report = py.detach(move || {
        let report = meshroute::routetest::run(&text, &name, |file| {
            let path = base_dir.join(file);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        });
        serde_json::to_value(&report).map_err(|e| e.to_string())
    });
    json_to_py(py, &report.map_err(PyValueError::new_err)?)
}
