//! Python bindings for meshroute: conversion between Python objects and the
//! core's types, nothing more. The Python package (`python/meshroute`)
//! re-exports these classes with its own exceptions and helpers.
#![warn(missing_docs)]

mod convert;
mod decision;
mod limits;
mod mesh;
mod message;
mod resilience;

use pyo3::prelude::*;

// The exception classes live in Python (`meshroute/_errors.py`) so users can
// subclass and construct them like any Python exception; Rust raises them.
pyo3::import_exception!(meshroute._errors, ConfigError);
pyo3::import_exception!(meshroute._errors, RequestError);

/// The native module `meshroute._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<mesh::Mesh>()?;
    m.add_class::<mesh::Request>()?;
    m.add_class::<message::Message>()?;
    decision::register(m)?;
    resilience::register(m)?;
    m.add_function(wrap_pyfunction!(convert::parse_duration, m)?)?;
    m.add_function(wrap_pyfunction!(convert::parse_yaml, m)?)?;
    m.add_function(wrap_pyfunction!(convert::run_route_test, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
