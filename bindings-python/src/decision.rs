//! `Decision` and the objects it is made of. Each wraps the core's value and
//! converts a field only when Python reads it, so deciding stays cheap.

use crate::convert::{json_to_py, repr_opt, repr_str};
use meshroute::decide as core;
use meshroute::duration::format_duration;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Decision>()?;
    m.add_class::<Destination>()?;
    m.add_class::<Rule>()?;
    m.add_class::<Redirect>()?;
    m.add_class::<DirectResponse>()?;
    m.add_class::<Rewrite>()?;
    m.add_class::<Retries>()?;
    m.add_class::<Fault>()?;
    m.add_class::<FaultDelay>()?;
    m.add_class::<FaultAbort>()?;
    m.add_class::<Mirror>()?;
    m.add_class::<HeaderOps>()?;
    m.add_class::<TraceEntry>()?;
    Ok(())
}

fn to_dict<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyDict>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(json_to_py(py, &json)?.cast_into::<PyDict>()?)
}

fn opt_duration<'py>(py: Python<'py>, d: Option<Duration>) -> PyResult<Option<Bound<'py, PyAny>>> {
    d.map(|d| Ok(d.into_pyobject(py)?.into_any())).transpose()
}

/// Where a request goes and why. Returned by `Mesh.route`, `Mesh.decide`
/// and `Mesh.explain`.
#[pyclass(module = "meshroute", frozen)]
pub struct Decision {
    mesh: Arc<meshroute::Mesh>,
    request: Arc<meshroute::Request>,
    inner: core::Decision<'static>,
}

impl Decision {
    pub fn new(
        mesh: Arc<meshroute::Mesh>,
        request: Arc<meshroute::Request>,
        inner: core::Decision<'static>,
    ) -> Self {
        Decision {
            mesh,
            request,
            inner,
        }
    }
}

#[pymethods]
impl Decision {
    /// `"route"`, `"redirect"`, `"directResponse"`, `"notFound"`,
    /// `"defaultRoute"` or `"passthrough"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.inner.outcome().as_str()
    }

    /// `namespace/name` of the VirtualService whose rule matched (the
    /// delegate for a delegated rule), or `None`.
    #[getter]
    fn virtual_service(&self) -> Option<&str> {
        self.inner.virtual_service()
    }

    /// For a delegated rule, the root VirtualService; else `None`.
    #[getter]
    fn delegated_from(&self) -> Option<&str> {
        self.inner.delegated_from()
    }

    /// The matched rule, or `None`.
    #[getter]
    fn rule(&self) -> Option<Rule> {
        self.inner.rule().cloned().map(|inner| Rule { inner })
    }

    /// Weighted destinations, in configuration order.
    #[getter]
    fn destinations(&self) -> Vec<Destination> {
        self.inner
            .destinations()
            .iter()
            .cloned()
            .map(|inner| Destination { inner })
            .collect()
    }

    /// The redirect the proxy answers with, or `None`.
    #[getter]
    fn redirect(&self) -> Option<Redirect> {
        self.inner
            .redirect()
            .cloned()
            .map(|inner| Redirect { inner })
    }

    /// The fixed response the proxy answers with, or `None`.
    #[getter]
    fn direct_response(&self) -> Option<DirectResponse> {
        self.inner
            .direct_response()
            .cloned()
            .map(|inner| DirectResponse { inner })
    }

    /// Path and authority sent upstream after rewrites, or `None`.
    #[getter]
    fn rewrite(&self) -> Option<Rewrite> {
        self.inner.rewrite().cloned().map(|inner| Rewrite { inner })
    }

    /// The route's overall timeout as a `datetime.timedelta`; `None` when there is none.
    #[getter]
    fn timeout<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_duration(py, self.inner.timeout())
    }

    /// The retry policy in force (Istio's default when the route sets none), or `None`.
    #[getter]
    fn retries(&self) -> Option<Retries> {
        self.inner.retries().cloned().map(|inner| Retries { inner })
    }

    /// Fault injection on the route, or `None`.
    #[getter]
    fn fault(&self) -> Option<Fault> {
        self.inner.fault().cloned().map(|inner| Fault { inner })
    }

    /// Mirror targets.
    #[getter]
    fn mirrors(&self) -> Vec<Mirror> {
        self.inner
            .mirrors()
            .iter()
            .cloned()
            .map(|inner| Mirror { inner })
            .collect()
    }

    /// Request header operations (route and destination level combined).
    #[getter]
    fn request_headers(&self) -> HeaderOps {
        HeaderOps {
            inner: (*self.inner.request_headers()).clone(),
        }
    }

    /// Response header operations (route and destination level combined).
    #[getter]
    fn response_headers(&self) -> HeaderOps {
        HeaderOps {
            inner: (*self.inner.response_headers()).clone(),
        }
    }

    /// The route's CORS policy in Istio's CorsPolicy shape, or `None`.
    #[getter]
    fn cors<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.cors().map(|c| to_dict(py, c)).transpose()
    }

    /// Why: the steps considered (filled by `Mesh.explain`; empty otherwise).
    #[getter]
    fn trace(&self) -> Vec<TraceEntry> {
        self.inner
            .trace()
            .iter()
            .cloned()
            .map(|inner| TraceEntry { inner })
            .collect()
    }

    /// Picks one destination as Envoy's weighted clusters do: `random %
    /// total weight`, walking the list in order. `None` without destinations.
    fn pick(&self, random: u64) -> Option<Destination> {
        self.inner
            .pick(random)
            .cloned()
            .map(|inner| Destination { inner })
    }

    /// The decision as the spec's JSON, in plain Python objects (camelCase keys).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        to_dict(py, &self.inner)
    }

    /// The decision as the spec's JSON text.
    #[pyo3(signature = (indent=None))]
    fn to_json(&self, indent: Option<usize>) -> PyResult<String> {
        let value = self.inner.to_json();
        let text = match indent {
            None => serde_json::to_string(&value),
            Some(n) => {
                let pad = vec![b' '; n];
                let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
                let mut out = Vec::new();
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(&value, &mut ser)
                    .map(|_| String::from_utf8_lossy(&out).into_owned())
            }
        };
        text.map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// Why the request goes where it goes, as text a person can follow: each
    /// VirtualService, rule and condition considered, then the outcome.
    /// Re-runs the decision with tracing when it was made without.
    fn explain(&self, py: Python<'_>) -> PyResult<String> {
        if !self.inner.trace().is_empty() {
            return Ok(explain_text(&self.request, &self.inner));
        }
        let mesh = self.mesh.clone();
        let request = self.request.clone();
        let traced = py.detach(move || mesh.explain(&request).map(core::Decision::into_owned));
        let traced = traced.map_err(|e| crate::RequestError::new_err(e.to_string()))?;
        Ok(explain_text(&self.request, &traced))
    }

    fn __repr__(&self) -> String {
        let d = &self.inner;
        let mut s = format!("Decision(outcome={}", repr_str(d.outcome().as_str()));
        if let Some(vs) = d.virtual_service() {
            let _ = write!(s, ", virtual_service={}", repr_str(vs));
        }
        if let Some(r) = d.rule() {
            let _ = write!(s, ", rule={}", r.index());
        }
        if !d.destinations().is_empty() {
            let list: Vec<String> = d.destinations().iter().map(destination_repr).collect();
            let _ = write!(s, ", destinations=[{}]", list.join(", "));
        }
        if let Some(r) = d.redirect() {
            let _ = write!(s, ", redirect={} {}", r.status, repr_str(&r.location));
        }
        if let Some(r) = d.direct_response() {
            let _ = write!(s, ", direct_response={}", r.status);
        }
        s.push(')');
        s
    }
}

/// The matched rule: its position in the VirtualService's `http` (`tls`,
/// `tcp`) list, and its name.
#[pyclass(module = "meshroute", frozen)]
pub struct Rule {
    inner: core::RuleRef<'static>,
}

#[pymethods]
impl Rule {
    /// 0-based position in the route list.
    #[getter]
    fn index(&self) -> usize {
        self.inner.index()
    }
    /// The rule's `name`, or `None`.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.inner.name()
    }
    fn __repr__(&self) -> String {
        format!(
            "Rule(index={}, name={})",
            self.inner.index(),
            repr_opt(self.inner.name())
        )
    }
}

fn destination_repr(d: &core::Destination) -> String {
    format!(
        "Destination(host={}, subset={}, port={}, weight={})",
        repr_str(d.host()),
        repr_opt(d.subset()),
        d.port().map_or("None".to_string(), |p| p.to_string()),
        d.weight()
    )
}

/// One weighted destination.
#[pyclass(module = "meshroute", frozen)]
pub struct Destination {
    inner: core::Destination<'static>,
}

#[pymethods]
impl Destination {
    /// FQDN of the destination service.
    #[getter]
    fn host(&self) -> &str {
        self.inner.host()
    }
    /// DestinationRule subset, or `None`.
    #[getter]
    fn subset(&self) -> Option<&str> {
        self.inner.subset()
    }
    /// Destination service port, or `None`.
    #[getter]
    fn port(&self) -> Option<u32> {
        self.inner.port()
    }
    /// Configured weight; the share is weight / sum of weights.
    #[getter]
    fn weight(&self) -> u32 {
        self.inner.weight()
    }
    /// Envoy cluster name `outbound|PORT|SUBSET|HOST`.
    #[getter]
    fn cluster(&self) -> &str {
        self.inner.cluster()
    }
    /// The merged traffic policy in Istio's TrafficPolicy shape, or `None`.
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.policy().map(|p| to_dict(py, p)).transpose()
    }
    /// Why traffic to this destination fails at runtime, or `None`.
    #[getter]
    fn problem(&self) -> Option<&str> {
        self.inner.problem()
    }
    /// The destination as the spec's JSON, in plain Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        to_dict(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        destination_repr(&self.inner)
    }
}

/// A redirect answered by the proxy.
#[pyclass(module = "meshroute", frozen)]
pub struct Redirect {
    inner: core::Redirect,
}

#[pymethods]
impl Redirect {
    /// 301, 302, 303, 307 or 308.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }
    /// The full Location header the client receives.
    #[getter]
    fn location(&self) -> &str {
        &self.inner.location
    }
    fn __repr__(&self) -> String {
        format!(
            "Redirect(status={}, location={})",
            self.inner.status,
            repr_str(&self.inner.location)
        )
    }
}

/// A fixed response answered by the proxy.
#[pyclass(module = "meshroute", frozen)]
pub struct DirectResponse {
    inner: core::DirectResponse,
}

#[pymethods]
impl DirectResponse {
    /// Status code.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }
    /// Body, or `None`.
    #[getter]
    fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }
    fn __repr__(&self) -> String {
        format!(
            "DirectResponse(status={}, body={})",
            self.inner.status,
            repr_opt(self.inner.body.as_deref())
        )
    }
}

/// Path and authority sent upstream after rewrites.
#[pyclass(module = "meshroute", frozen)]
pub struct Rewrite {
    inner: core::Rewrite,
}

#[pymethods]
impl Rewrite {
    /// Path (with query) sent upstream, or `None` when not rewritten.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.inner.path.as_deref()
    }
    /// Authority sent upstream, or `None` when not rewritten.
    #[getter]
    fn authority(&self) -> Option<&str> {
        self.inner.authority.as_deref()
    }
    fn __repr__(&self) -> String {
        format!(
            "Rewrite(path={}, authority={})",
            repr_opt(self.inner.path.as_deref()),
            repr_opt(self.inner.authority.as_deref())
        )
    }
}

/// The retry policy in force.
#[pyclass(module = "meshroute", frozen)]
pub struct Retries {
    inner: core::Retries,
}

#[pymethods]
impl Retries {
    /// Retries after the first attempt.
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts
    }
    /// Per-attempt timeout as a `datetime.timedelta`, or `None`.
    #[getter]
    fn per_try_timeout<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_duration(py, self.inner.per_try_timeout)
    }
    /// Retry conditions (`["connect-failure", "refused-stream", ...]`).
    #[getter]
    fn retry_on(&self) -> Vec<&str> {
        self.inner
            .retry_on
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
    /// Base back-off interval as a `datetime.timedelta`, or `None`.
    #[getter]
    fn backoff<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        opt_duration(py, self.inner.backoff)
    }
    /// Whether Istio's default policy applied (the route set no `retries`).
    #[getter]
    fn default(&self) -> bool {
        self.inner.default
    }
    fn __repr__(&self) -> String {
        format!(
            "Retries(attempts={}, per_try_timeout={}, retry_on={}, default={})",
            self.inner.attempts,
            repr_opt(self.inner.per_try_timeout.map(format_duration).as_deref()),
            repr_str(&self.inner.retry_on),
            if self.inner.default { "True" } else { "False" }
        )
    }
}

/// Fault injection on the route.
#[pyclass(module = "meshroute", frozen)]
pub struct Fault {
    inner: core::Fault,
}

#[pymethods]
impl Fault {
    /// The injected delay, or `None`.
    #[getter]
    fn delay(&self) -> Option<FaultDelay> {
        self.inner.delay.clone().map(|inner| FaultDelay { inner })
    }
    /// The injected abort, or `None`.
    #[getter]
    fn abort(&self) -> Option<FaultAbort> {
        self.inner.abort.clone().map(|inner| FaultAbort { inner })
    }
    fn __repr__(&self) -> String {
        let delay = self
            .inner
            .delay
            .as_ref()
            .map_or("None".to_string(), fault_delay_repr);
        let abort = self
            .inner
            .abort
            .as_ref()
            .map_or("None".to_string(), fault_abort_repr);
        format!("Fault(delay={delay}, abort={abort})")
    }
}

fn fault_delay_repr(d: &core::FaultDelay) -> String {
    format!(
        "FaultDelay(fixed_delay={}, percent={:?})",
        repr_str(&format_duration(d.fixed_delay)),
        d.percent
    )
}

fn fault_abort_repr(a: &core::FaultAbort) -> String {
    format!(
        "FaultAbort(http_status={}, grpc_status={}, percent={:?})",
        a.http_status.map_or("None".to_string(), |s| s.to_string()),
        repr_opt(a.grpc_status.as_deref()),
        a.percent
    )
}

/// An injected delay.
#[pyclass(module = "meshroute", frozen)]
pub struct FaultDelay {
    inner: core::FaultDelay,
}

#[pymethods]
impl FaultDelay {
    /// How long, as a `datetime.timedelta`.
    #[getter]
    fn fixed_delay(&self) -> Duration {
        self.inner.fixed_delay
    }
    /// Percentage of requests delayed (0 to 100).
    #[getter]
    fn percent(&self) -> f64 {
        self.inner.percent
    }
    fn __repr__(&self) -> String {
        fault_delay_repr(&self.inner)
    }
}

/// An injected abort.
#[pyclass(module = "meshroute", frozen)]
pub struct FaultAbort {
    inner: core::FaultAbort,
}

#[pymethods]
impl FaultAbort {
    /// HTTP status answered, or `None`.
    #[getter]
    fn http_status(&self) -> Option<i32> {
        self.inner.http_status
    }
    /// gRPC status answered, by name (`"UNAVAILABLE"`), or `None`.
    #[getter]
    fn grpc_status(&self) -> Option<&str> {
        self.inner.grpc_status.as_deref()
    }
    /// Percentage of requests aborted (0 to 100).
    #[getter]
    fn percent(&self) -> f64 {
        self.inner.percent
    }
    fn __repr__(&self) -> String {
        fault_abort_repr(&self.inner)
    }
}

/// One mirror target.
#[pyclass(module = "meshroute", frozen)]
pub struct Mirror {
    inner: core::Mirror<'static>,
}

#[pymethods]
impl Mirror {
    /// FQDN.
    #[getter]
    fn host(&self) -> &str {
        self.inner.host()
    }
    /// Subset, or `None`.
    #[getter]
    fn subset(&self) -> Option<&str> {
        self.inner.subset()
    }
    /// Port, or `None`.
    #[getter]
    fn port(&self) -> Option<u32> {
        self.inner.port()
    }
    /// Envoy cluster name.
    #[getter]
    fn cluster(&self) -> &str {
        self.inner.cluster()
    }
    /// Percentage of requests mirrored (0 to 100).
    #[getter]
    fn percent(&self) -> f64 {
        self.inner.percent()
    }
    fn __repr__(&self) -> String {
        format!(
            "Mirror(host={}, subset={}, percent={:?})",
            repr_str(self.inner.host()),
            repr_opt(self.inner.subset()),
            self.inner.percent()
        )
    }
}

/// Header operations: set (overwrite), add (append), remove.
#[pyclass(module = "meshroute", frozen)]
pub struct HeaderOps {
    inner: core::HeaderOps,
}

#[pymethods]
impl HeaderOps {
    /// Headers set (overwritten or added).
    #[getter]
    fn set(&self) -> std::collections::BTreeMap<String, String> {
        self.inner.set.clone()
    }
    /// Headers appended.
    #[getter]
    fn add(&self) -> std::collections::BTreeMap<String, String> {
        self.inner.add.clone()
    }
    /// Headers removed.
    #[getter]
    fn remove(&self) -> Vec<String> {
        self.inner.remove.clone()
    }
    fn __bool__(&self) -> bool {
        !self.inner.is_empty()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let set = self.set().into_pyobject(py)?.repr()?.to_string();
        let add = self.add().into_pyobject(py)?.repr()?.to_string();
        let remove = PyList::new(py, &self.inner.remove)?.repr()?.to_string();
        Ok(format!("HeaderOps(set={set}, add={add}, remove={remove})"))
    }
}

/// One step of an explanation.
#[pyclass(module = "meshroute", frozen)]
pub struct TraceEntry {
    inner: core::TraceEntry,
}

fn verdict_str(v: core::Verdict) -> &'static str {
    match v {
        core::Verdict::Matched => "matched",
        core::Verdict::Failed => "failed",
        core::Verdict::Skipped => "skipped",
        core::Verdict::Note => "note",
    }
}

#[pymethods]
impl TraceEntry {
    /// What was considered (`host`, `virtualService`, `rule`, `match`, ...).
    #[getter]
    fn stage(&self) -> &'static str {
        self.inner.stage
    }
    /// Which one (`default/reviews`, `http[1]`, `http[0].match[2]`).
    #[getter]
    fn subject(&self) -> &str {
        &self.inner.subject
    }
    /// `"matched"`, `"failed"`, `"skipped"` or `"note"`.
    #[getter]
    fn verdict(&self) -> &'static str {
        verdict_str(self.inner.verdict)
    }
    /// Why, in words.
    #[getter]
    fn detail(&self) -> &str {
        &self.inner.detail
    }
    fn __repr__(&self) -> String {
        format!(
            "TraceEntry(stage={}, subject={}, verdict={}, detail={})",
            repr_str(self.inner.stage),
            repr_str(&self.inner.subject),
            repr_str(verdict_str(self.inner.verdict)),
            repr_str(&self.inner.detail)
        )
    }
}

/// The explanation as text, as `meshroute explain` prints it without colour.
fn explain_text(req: &meshroute::Request, d: &core::Decision) -> String {
    meshroute::explain::explanation(req, d, &meshroute::explain::Plain)
}
