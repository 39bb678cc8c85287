//! `Mesh` (a compiled configuration) and `Request` (a prepared request).

use crate::convert::{json_to_py, py_to_json, repr_str};
use crate::decision::Decision;
use crate::message::Message;
use crate::{ConfigError, RequestError};
use meshroute::decide::{Headers, Protocol};
use meshroute::load::{Input, LoadOptions};
use meshroute::model::Config;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A compiled, immutable routing table built from Istio resources (and
/// optional Kubernetes Services and workloads, which form the registry).
///
/// Safe to share between threads: deciding releases the GIL and never
/// mutates the table.
#[pyclass(module = "meshroute", frozen)]
pub struct Mesh {
    mesh: Arc<meshroute::Mesh>,
    config: Arc<Config>,
}

/// Every message about a configuration: the loader's, then (once core
/// offers it) the validator's.
fn all_messages(config: &Config) -> Vec<meshroute::Message> {
    meshroute::check(config)
}

fn messages_list<'py>(
    py: Python<'py>,
    messages: Vec<meshroute::Message>,
) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, messages.into_iter().map(Message::new))
}

/// Loads and compiles named texts with the GIL released; with `strict`,
/// raises `ConfigError` when a message is an error.
/// The name messages give a mesh config passed as `mesh_config=`.
const MESH_CONFIG_NAME: &str = "<mesh_config>";

/// `mesh_config=` as text: YAML as given, or a mapping written as JSON
/// (which the YAML reader takes), for the core to read.
fn mesh_config_text(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(text) = value.extract::<String>() {
        return Ok(Some(text));
    }
    if value.is_instance_of::<PyDict>() {
        return Ok(Some(py_to_json(value)?.to_string()));
    }
    Err(PyTypeError::new_err(
        "mesh_config must be MeshConfig YAML (str) or a mapping such as {'outboundTrafficPolicy': {'mode': 'REGISTRY_ONLY'}}",
    ))
}

fn build(
    py: Python<'_>,
    sources: Vec<(String, String)>,
    namespace: &str,
    strict: bool,
    mesh_config: Option<String>,
    limits: meshroute::limits::Limits,
) -> PyResult<Mesh> {
    let options = LoadOptions {
        default_namespace: namespace.to_string(),
        limits,
    };
    let (config, mesh) = py.detach(move || {
        let inputs: Vec<Input<'_>> = sources
            .iter()
            .map(|(name, text)| Input { name, text })
            .collect();
        let mut config = meshroute::load::load(&inputs, &options);
        if let Some(text) = &mesh_config {
            config.add_mesh_config_file(text, MESH_CONFIG_NAME);
        }
        let mesh = meshroute::Mesh::compile(&config);
        (config, mesh)
    });
    if strict {
        let errors: Vec<meshroute::Message> = all_messages(&config)
            .into_iter()
            .filter(|m| m.is_error())
            .collect();
        if let Some(first) = errors.first() {
            let text = if errors.len() == 1 {
                first.to_string()
            } else {
                format!("{first} (and {} more errors)", errors.len() - 1)
            };
            let list = messages_list(py, errors)?.unbind();
            return Err(ConfigError::new_err((text, list)));
        }
    }
    Ok(Mesh {
        mesh: Arc::new(mesh),
        config: Arc::new(config),
    })
}

#[pymethods]
impl Mesh {
    /// Builds a mesh from YAML (one or more documents) or JSON text.
    ///
    /// Loading never fails: resources with problems are left out and the
    /// problems are returned by `check()`. With `strict=True`, any error
    /// raises `ConfigError` (its `.messages` lists them) instead.
    /// `name` is the file name messages use; `namespace` is given to
    /// resources that name none (as `kubectl apply` without `-n`).
    /// `mesh_config` is Istio's MeshConfig (YAML text, or a mapping in
    /// istiod's camelCase shape, e.g. `{"outboundTrafficPolicy": {"mode":
    /// "REGISTRY_ONLY"}}`); it replaces a ConfigMap `istio-system/istio`
    /// among the resources, and its problems are messages named
    /// `<mesh_config>`. `limits` raises (or lowers) input limits by name,
    /// `{"max_input_bytes": "1GiB", "max_documents": 1_000_000}` (README
    /// "Limits"); the mesh decides within its request limits. An unknown
    /// name or bad value raises `ValueError` naming it.
    #[staticmethod]
    #[pyo3(signature = (text, *, name="<string>", namespace="default", strict=false, mesh_config=None, limits=None))]
    fn from_yaml(
        py: Python<'_>,
        text: String,
        name: &str,
        namespace: &str,
        strict: bool,
        mesh_config: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Mesh> {
        let mesh_config = mesh_config_text(mesh_config)?;
        let limits = crate::limits::limits_from(limits)?;
        build(
            py,
            vec![(name.to_string(), text)],
            namespace,
            strict,
            mesh_config,
            limits,
        )
    }

    /// Builds a mesh from YAML or JSON files, loaded in order. Raises
    /// `FileNotFoundError` (or another `OSError`) when a file cannot be read;
    /// `strict`, `namespace`, `mesh_config` and `limits` as for `from_yaml`.
    #[staticmethod]
    #[pyo3(signature = (*paths, namespace="default", strict=false, mesh_config=None, limits=None))]
    fn from_files(
        py: Python<'_>,
        paths: &Bound<'_, PyTuple>,
        namespace: &str,
        strict: bool,
        mesh_config: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Mesh> {
        let mesh_config = mesh_config_text(mesh_config)?;
        let limits = crate::limits::limits_from(limits)?;
        let paths: Vec<PathBuf> = paths
            .iter()
            .map(|p| p.extract::<PathBuf>())
            .collect::<PyResult<_>>()?;
        let read = py.detach(move || {
            paths
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map(|text| (p.display().to_string(), text))
                        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
                })
                .collect::<Result<Vec<_>, _>>()
        });
        build(py, read?, namespace, strict, mesh_config, limits)
    }

    /// Builds a mesh from `(name, text)` pairs, loaded in order (several
    /// files already in memory); `strict`, `namespace`, `mesh_config` and
    /// `limits` as for `from_yaml`.
    #[staticmethod]
    #[pyo3(signature = (sources, *, namespace="default", strict=false, mesh_config=None, limits=None))]
    fn from_sources(
        py: Python<'_>,
        sources: &Bound<'_, PyAny>,
        namespace: &str,
        strict: bool,
        mesh_config: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Mesh> {
        let mesh_config = mesh_config_text(mesh_config)?;
        let limits = crate::limits::limits_from(limits)?;
        let mut list = Vec::new();
        for item in sources.try_iter()? {
            let (name, text): (String, String) = item?
                .extract()
                .map_err(|_| PyTypeError::new_err("sources must be (name, text) pairs of str"))?;
            list.push((name, text));
        }
        build(py, list, namespace, strict, mesh_config, limits)
    }

    /// Every problem found in the configuration, as `Message` objects, in
    /// input order. Empty when the configuration is clean.
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let config = self.config.clone();
        let messages = py.detach(move || all_messages(&config));
        messages_list(py, messages)
    }

    /// Decides where a request goes, as a sidecar (`gateway="mesh"`) or a
    /// gateway would: one Gateway (`"namespace/name"`), or the gateway
    /// workload with some labels (`"namespace/key=value[,key=value][@address]"`,
    /// every Gateway selecting it merged, as istiod merges them). `host` may carry `:port`
    /// and may be short (`reviews`, resolved from `source_namespace` as a
    /// pod's DNS search path does). `headers` maps names to a value or a
    /// list of values (or is a list of `(name, value)` pairs). Instead of
    /// `host`, a prepared `Request` may be given (then nothing else).
    ///
    /// Raises `RequestError` when the request is malformed or over a limit.
    #[pyo3(signature = (host, path=None, method=None, headers=None, source_namespace=None,
        source_labels=None, gateway=None, port=None, *, scheme=None, protocol=None, sni=None,
        destination_ip=None))]
    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        py: Python<'_>,
        host: &Bound<'_, PyAny>,
        path: Option<String>,
        method: Option<String>,
        headers: Option<&Bound<'_, PyAny>>,
        source_namespace: Option<String>,
        source_labels: Option<BTreeMap<String, String>>,
        gateway: Option<String>,
        port: Option<i64>,
        scheme: Option<String>,
        protocol: Option<&str>,
        sni: Option<String>,
        destination_ip: Option<String>,
    ) -> PyResult<Decision> {
        let args = RequestArgs {
            path,
            method,
            headers,
            source_namespace,
            source_labels,
            gateway,
            port,
            scheme,
            protocol,
            sni,
            destination_ip,
        };
        let request = request_from(host, args, &self.mesh.options().limits)?;
        self.run(py, request, false)
    }

    /// Like `route`, with the trace that says why (`Decision.trace`,
    /// `Decision.explain()`).
    #[pyo3(signature = (host, path=None, method=None, headers=None, source_namespace=None,
        source_labels=None, gateway=None, port=None, *, scheme=None, protocol=None, sni=None,
        destination_ip=None))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        host: &Bound<'_, PyAny>,
        path: Option<String>,
        method: Option<String>,
        headers: Option<&Bound<'_, PyAny>>,
        source_namespace: Option<String>,
        source_labels: Option<BTreeMap<String, String>>,
        gateway: Option<String>,
        port: Option<i64>,
        scheme: Option<String>,
        protocol: Option<&str>,
        sni: Option<String>,
        destination_ip: Option<String>,
    ) -> PyResult<Decision> {
        let args = RequestArgs {
            path,
            method,
            headers,
            source_namespace,
            source_labels,
            gateway,
            port,
            scheme,
            protocol,
            sni,
            destination_ip,
        };
        let request = request_from(host, args, &self.mesh.options().limits)?;
        self.run(py, request, true)
    }

    /// Decides a prepared `Request` (the fastest path: nothing to convert).
    fn decide(&self, py: Python<'_>, request: &Bound<'_, Request>) -> PyResult<Decision> {
        self.run(py, request.get().inner.clone(), false)
    }

    fn __repr__(&self) -> String {
        let c = &self.config;
        format!(
            "Mesh(virtual_services={}, destination_rules={}, gateways={}, service_entries={}, services={}, messages={})",
            c.virtual_services.len(),
            c.destination_rules.len(),
            c.gateways.len(),
            c.service_entries.len(),
            c.services.len(),
            c.messages.len()
        )
    }
}

impl Mesh {
    fn run(
        &self,
        py: Python<'_>,
        request: Arc<meshroute::Request>,
        trace: bool,
    ) -> PyResult<Decision> {
        let mesh = &self.mesh;
        let req = &*request;
        let result = py.detach(|| {
            if trace {
                mesh.explain(req)
            } else {
                mesh.decide(req)
            }
            .map(meshroute::Decision::into_owned)
        });
        match result {
            Ok(d) => Ok(Decision::new(self.mesh.clone(), request, d)),
            Err(e) => Err(RequestError::new_err(e.to_string())),
        }
    }
}

/// The optional parts of a request as Python passed them.
struct RequestArgs<'a, 'py> {
    path: Option<String>,
    method: Option<String>,
    headers: Option<&'a Bound<'py, PyAny>>,
    source_namespace: Option<String>,
    source_labels: Option<BTreeMap<String, String>>,
    gateway: Option<String>,
    port: Option<i64>,
    scheme: Option<String>,
    protocol: Option<&'a str>,
    sni: Option<String>,
    destination_ip: Option<String>,
}

impl RequestArgs<'_, '_> {
    fn any_given(&self) -> bool {
        self.path.is_some()
            || self.method.is_some()
            || self.headers.is_some()
            || self.source_namespace.is_some()
            || self.source_labels.is_some()
            || self.gateway.is_some()
            || self.port.is_some()
            || self.scheme.is_some()
            || self.protocol.is_some()
            || self.sni.is_some()
            || self.destination_ip.is_some()
    }
}

/// A request from a `Request` object or from a host and arguments.
/// The request `host` is, or the one the arguments make, checked against
/// `limits` (the mesh's).
fn request_from(
    host: &Bound<'_, PyAny>,
    args: RequestArgs<'_, '_>,
    limits: &meshroute::limits::Limits,
) -> PyResult<Arc<meshroute::Request>> {
    if let Ok(prepared) = host.cast::<Request>() {
        if args.any_given() {
            return Err(PyTypeError::new_err(
                "with a prepared Request, give no other request arguments",
            ));
        }
        return Ok(prepared.get().inner.clone());
    }
    let host = host
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("host must be a str or a meshroute.Request"))?
        .to_cow()?
        .into_owned();
    Ok(Arc::new(build_request(host, args, limits)?))
}

fn build_request(
    host: String,
    a: RequestArgs<'_, '_>,
    limits: &meshroute::limits::Limits,
) -> PyResult<meshroute::Request> {
    let mut r = meshroute::Request::new(host);
    if let Some(p) = a.path {
        r.path = p;
    }
    if let Some(m) = a.method {
        r.method = m;
    }
    if let Some(h) = a.headers {
        r.headers = headers_from(h, limits.max_request_headers)?;
    }
    if let Some(ns) = a.source_namespace {
        r.source.namespace = ns;
    }
    if let Some(labels) = a.source_labels {
        r.source.labels = labels;
    }
    if let Some(g) = a.gateway {
        r.gateway = g;
    }
    if let Some(p) = a.port {
        r.port = Some(u16::try_from(p).ok().filter(|p| *p != 0).ok_or_else(|| {
            RequestError::new_err(format!("port {p} is not between 1 and 65535"))
        })?);
    }
    r.scheme = a.scheme;
    if let Some(p) = a.protocol {
        r.protocol = match p {
            "http" => Protocol::Http,
            "tls" => Protocol::Tls,
            "tcp" => Protocol::Tcp,
            other => {
                return Err(RequestError::new_err(format!(
                    "protocol {other:?} is not one of \"http\", \"tls\", \"tcp\""
                )))
            }
        };
    }
    r.sni = a.sni;
    r.destination_ip = a.destination_ip;
    r.check_limits_within(limits)
        .map_err(|e| RequestError::new_err(e.to_string()))?;
    Ok(r)
}

/// Headers from a mapping of name to value or list of values, or from an
/// iterable of `(name, value)` pairs.
fn headers_from(obj: &Bound<'_, PyAny>, max_headers: usize) -> PyResult<Headers> {
    let mut headers = Headers::new();
    let mut add = |name: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>| -> PyResult<()> {
        let name = name
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("header names must be str"))?
            .to_cow()?;
        if let Ok(v) = value.cast::<PyString>() {
            headers.append(&name, &v.to_cow()?);
        } else if let Ok(values) = value.extract::<Vec<String>>() {
            for v in &values {
                headers.append(&name, v);
            }
        } else {
            return Err(PyTypeError::new_err(format!(
                "header {name:?}: value must be a str or a list of str"
            )));
        }
        if headers.len() > max_headers {
            return Err(RequestError::new_err(format!(
                "more than {max_headers} headers ({})",
                meshroute::limits::hint("max_request_headers", max_headers as u64)
            )));
        }
        Ok(())
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            add(&k, &v)?;
        }
    } else if obj.hasattr("items")? {
        for item in obj.call_method0("items")?.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            add(&k, &v)?;
        }
    } else {
        for item in obj.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract().map_err(|_| {
                PyTypeError::new_err("headers must be a mapping or (name, value) pairs")
            })?;
            add(&k, &v)?;
        }
    }
    Ok(headers)
}

/// A prepared request: converted once, decided many times with
/// `Mesh.decide` (or given to `Mesh.route` / `Mesh.explain`).
#[pyclass(module = "meshroute", frozen)]
pub struct Request {
    inner: Arc<meshroute::Request>,
}

#[pymethods]
impl Request {
    /// Builds a request; arguments as for `Mesh.route`. Raises
    /// `RequestError` when it is malformed or over a limit.
    #[new]
    #[pyo3(signature = (host, path=None, method=None, headers=None, source_namespace=None,
        source_labels=None, gateway=None, port=None, *, scheme=None, protocol=None, sni=None,
        destination_ip=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        host: String,
        path: Option<String>,
        method: Option<String>,
        headers: Option<&Bound<'_, PyAny>>,
        source_namespace: Option<String>,
        source_labels: Option<BTreeMap<String, String>>,
        gateway: Option<String>,
        port: Option<i64>,
        scheme: Option<String>,
        protocol: Option<&str>,
        sni: Option<String>,
        destination_ip: Option<String>,
    ) -> PyResult<Request> {
        let args = RequestArgs {
            path,
            method,
            headers,
            source_namespace,
            source_labels,
            gateway,
            port,
            scheme,
            protocol,
            sni,
            destination_ip,
        };
        Ok(Request {
            inner: Arc::new(build_request(
                host,
                args,
                &meshroute::limits::Limits::default(),
            )?),
        })
    }

    /// A request from the spec's JSON shape (camelCase keys, as in
    /// route-test files: `{"host": "reviews", "source": {"namespace": "x"}}`).
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Request> {
        let value = py_to_json(data)?;
        let r: meshroute::Request =
            serde_json::from_value(value).map_err(|e| RequestError::new_err(e.to_string()))?;
        r.check_limits()
            .map_err(|e| RequestError::new_err(e.to_string()))?;
        Ok(Request { inner: Arc::new(r) })
    }

    /// The request in the spec's JSON shape, as plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let value = serde_json::to_value(&*self.inner)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Ok(json_to_py(py, &value)?.cast_into::<PyDict>()?)
    }

    /// The `:authority` (may carry `:port`).
    #[getter]
    fn host(&self) -> &str {
        &self.inner.host
    }
    /// Path with optional `?query`.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }
    /// HTTP method.
    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }
    /// Destination port, or `None` (then the port in `host`, else 80/443).
    #[getter]
    fn port(&self) -> Option<u16> {
        self.inner.port
    }
    /// Header lines as `(name, value)` pairs, names lower-cased.
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }
    /// Namespace of the calling workload.
    #[getter]
    fn source_namespace(&self) -> &str {
        &self.inner.source.namespace
    }
    /// Labels of the calling workload.
    #[getter]
    fn source_labels(&self) -> BTreeMap<String, String> {
        self.inner.source.labels.clone()
    }
    /// `"mesh"` or `"namespace/name"` of a Gateway.
    #[getter]
    fn gateway(&self) -> &str {
        &self.inner.gateway
    }
    /// `"http"`, `"tls"` or `"tcp"`.
    #[getter]
    fn protocol(&self) -> &'static str {
        match self.inner.protocol {
            Protocol::Http => "http",
            Protocol::Tls => "tls",
            Protocol::Tcp => "tcp",
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "Request(host={}, path={}, method={}, source_namespace={}, gateway={})",
            repr_str(&self.inner.host),
            repr_str(&self.inner.path),
            repr_str(&self.inner.method),
            repr_str(&self.inner.source.namespace),
            repr_str(&self.inner.gateway)
        )
    }
}
