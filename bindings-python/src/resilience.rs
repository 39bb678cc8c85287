//! The resilience machines (`meshroute::resilience`) as Python classes. Time
//! comes in as seconds (int/float) or `datetime.timedelta` from the caller's
//! origin; randomness from a seeded stream or an explicit list of values.

use crate::convert::py_to_json;
use meshroute::model::destination_rule::TrafficPolicy;
use meshroute::resilience::from_policy;
use meshroute::resilience::outlier::{HostReport, IstioOutlierDetection, OutlierEventKind};
use meshroute::resilience::pool::{IstioConnectionPool, Overflow, Promotion};
use meshroute::resilience::random::Sequence;
use meshroute::resilience::{
    Admission as CoreAdmission, ConnectionPool as CorePool, Instant, OutlierConfig,
    OutlierDetector as CoreDetector, PoolConfig, Random, SplitMix64,
};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Most hosts one machine tracks (each costs a few words of state).
const MAX_HOSTS: usize = 1_000_000;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<OutlierDetector>()?;
    m.add_class::<OutlierEvent>()?;
    m.add_class::<ConnectionPool>()?;
    m.add_class::<Admission>()?;
    Ok(())
}

/// An instant from seconds (int or float, >= 0) or a `timedelta`.
fn instant(obj: &Bound<'_, PyAny>) -> PyResult<Instant> {
    let secs: f64 = match obj.extract::<f64>() {
        Ok(s) => s,
        Err(_) => obj
            .extract::<Duration>()
            .map_err(|_| {
                PyTypeError::new_err("time must be seconds (int or float) or a timedelta >= 0")
            })?
            .as_secs_f64(),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(PyValueError::new_err(format!(
            "time {secs} must be finite and >= 0"
        )));
    }
    Ok(Instant::from_nanos((secs * 1e9).round() as u64))
}

fn seconds(i: Instant) -> f64 {
    i.as_nanos() as f64 / 1e9
}

fn lock<T>(m: &Mutex<T>) -> PyResult<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| PyRuntimeError::new_err("state poisoned by an earlier panic"))
}

/// A random stream: the given values (then the last one repeated), or the
/// object's own seeded stream.
enum Draws<'a> {
    Given(Sequence),
    Own(&'a mut SplitMix64),
}

impl Random for Draws<'_> {
    fn next_u64(&mut self) -> u64 {
        match self {
            Draws::Given(s) => s.next_u64(),
            Draws::Own(r) => r.next_u64(),
        }
    }
}

/// A destination's traffic policy (`Destination.policy`, Istio's
/// TrafficPolicy shape; `None` is an empty policy).
fn traffic_policy(policy: &Bound<'_, PyAny>) -> PyResult<TrafficPolicy> {
    match py_to_json(policy)? {
        Value::Null => Ok(TrafficPolicy::default()),
        json => {
            serde_json::from_value(json).map_err(|e| PyValueError::new_err(format!("policy: {e}")))
        }
    }
}

struct DetectorState {
    detector: CoreDetector,
    rng: SplitMix64,
}

/// Envoy's outlier detector for one cluster's hosts (numbered 0..hosts),
/// configured as Istio translates a DestinationRule's `outlierDetection`.
#[pyclass(module = "meshroute", frozen)]
pub struct OutlierDetector {
    state: Mutex<DetectorState>,
}

/// One entry of an outlier detector's timeline.
#[pyclass(module = "meshroute", frozen, get_all)]
pub struct OutlierEvent {
    /// Seconds from the origin.
    at: f64,
    /// Host index.
    host: usize,
    /// `"ejected"`, `"ejectionOverflow"`, `"notEnforced"` or `"unejected"`.
    kind: &'static str,
    /// The detector that fired (`"consecutive 5xx"`, ...), or `None` for unejections.
    cause: Option<String>,
    /// Ejection time (for `ejected`) or time spent ejected (for `unejected`).
    duration: Option<Duration>,
}

#[pymethods]
impl OutlierEvent {
    fn __repr__(&self) -> String {
        format!(
            "OutlierEvent(at={:?}, host={}, kind='{}', cause={}, duration={})",
            self.at,
            self.host,
            self.kind,
            self.cause
                .as_deref()
                .map_or("None".into(), crate::convert::repr_str),
            self.duration
                .map_or("None".into(), meshroute::duration::format_duration)
        )
    }
}

fn events_out(events: Vec<meshroute::resilience::OutlierEvent>) -> Vec<OutlierEvent> {
    events
        .into_iter()
        .map(|e| {
            let (kind, cause, duration) = match e.kind {
                OutlierEventKind::Ejected {
                    cause, duration, ..
                } => ("ejected", Some(cause.to_string()), Some(duration)),
                OutlierEventKind::EjectionOverflow { cause } => {
                    ("ejectionOverflow", Some(cause.to_string()), None)
                }
                OutlierEventKind::NotEnforced { cause } => {
                    ("notEnforced", Some(cause.to_string()), None)
                }
                OutlierEventKind::Unejected { ejected_for } => {
                    ("unejected", None, Some(ejected_for))
                }
            };
            OutlierEvent {
                at: seconds(e.at),
                host: e.host,
                kind,
                cause,
                duration,
            }
        })
        .collect()
}

fn host_report(result: &Bound<'_, PyAny>) -> PyResult<HostReport> {
    if let Ok(code) = result.extract::<u16>() {
        return Ok(HostReport::HttpStatus(code));
    }
    let text: String = result
        .extract()
        .map_err(|_| PyTypeError::new_err("result must be an HTTP status or a str"))?;
    Ok(match text.as_str() {
        "reset" | "connect-failure" => HostReport::LocalOriginConnectFailed,
        "timeout" => HostReport::LocalOriginTimeout,
        "connect-success" => HostReport::LocalOriginConnectSuccess,
        other => {
            return Err(PyValueError::new_err(format!(
                "result {other:?} is not an HTTP status, \"reset\", \"connect-failure\", \"timeout\" or \"connect-success\""
            )))
        }
    })
}

#[pymethods]
impl OutlierDetector {
    /// A detector for `hosts` hosts starting at time `start`. Keyword
    /// arguments are the DestinationRule's `outlierDetection` fields (unset =
    /// Istio's default); `seed` seeds the stream used for ejection jitter.
    #[new]
    #[pyo3(signature = (hosts, *, consecutive_5xx_errors=None, consecutive_gateway_errors=None,
        split_external_local_origin_errors=false, consecutive_local_origin_failures=None,
        interval=None, base_ejection_time=None, max_ejection_percent=0, min_health_percent=0,
        start=None, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        hosts: usize,
        consecutive_5xx_errors: Option<u32>,
        consecutive_gateway_errors: Option<u32>,
        split_external_local_origin_errors: bool,
        consecutive_local_origin_failures: Option<u32>,
        interval: Option<Duration>,
        base_ejection_time: Option<Duration>,
        max_ejection_percent: i32,
        min_health_percent: i32,
        start: Option<&Bound<'_, PyAny>>,
        seed: u64,
    ) -> PyResult<Self> {
        let od = IstioOutlierDetection {
            consecutive_5xx_errors,
            consecutive_gateway_errors,
            split_external_local_origin_errors,
            consecutive_local_origin_failures,
            interval,
            base_ejection_time,
            max_ejection_percent,
            min_health_percent,
        };
        Self::build(OutlierConfig::from_istio(&od), hosts, start, seed)
    }

    /// A detector from a destination's merged traffic policy
    /// (`Destination.policy`, Istio's TrafficPolicy shape), configured by
    /// core's `from_policy`: Istio's defaults for fields the
    /// `outlierDetection` block leaves out; `ValueError` without the block.
    #[staticmethod]
    #[pyo3(signature = (policy, hosts, *, start=None, seed=0))]
    fn from_policy(
        policy: &Bound<'_, PyAny>,
        hosts: usize,
        start: Option<&Bound<'_, PyAny>>,
        seed: u64,
    ) -> PyResult<Self> {
        let config = from_policy::outlier_config(&traffic_policy(policy)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?
            .ok_or_else(|| {
                PyValueError::new_err(
                    "the policy has no outlierDetection: Istio configures no outlier detection for it, so no host is ever ejected",
                )
            })?;
        Self::build(config, hosts, start, seed)
    }

    /// Reports one result for `host` at `now`: an HTTP status, or
    /// `"reset"`/`"connect-failure"` (503), `"timeout"` (504),
    /// `"connect-success"`. Interval ticks due by `now` run first. `random`
    /// gives the values drawn (else the seeded stream). Returns the events.
    #[pyo3(signature = (host, result, now, random=None))]
    fn report(
        &self,
        host: usize,
        result: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
        random: Option<Vec<u64>>,
    ) -> PyResult<Vec<OutlierEvent>> {
        let report = host_report(result)?;
        let now = instant(now)?;
        let mut guard = lock(&self.state)?;
        let state = &mut *guard;
        if host >= state.detector.total_hosts() {
            return Err(PyKeyError::new_err(format!("unknown host {host}")));
        }
        let mut draws = match random {
            Some(values) => Draws::Given(Sequence::new(values)),
            None => Draws::Own(&mut state.rng),
        };
        let mut events = Vec::new();
        state
            .detector
            .report(host, report, now, &mut draws, &mut events);
        Ok(events_out(events))
    }

    /// Runs the interval ticks due by `now`; returns the events (unejections).
    fn advance_to(&self, now: &Bound<'_, PyAny>) -> PyResult<Vec<OutlierEvent>> {
        let now = instant(now)?;
        let mut events = Vec::new();
        lock(&self.state)?.detector.advance_to(now, &mut events);
        Ok(events_out(events))
    }

    /// Whether `host` is ejected now.
    fn is_ejected(&self, host: usize) -> PyResult<bool> {
        Ok(lock(&self.state)?.detector.is_ejected(host))
    }

    /// The hosts ejected now, in order.
    #[getter]
    fn ejected(&self) -> PyResult<Vec<usize>> {
        Ok(lock(&self.state)?.detector.ejected_hosts().collect())
    }

    /// When the next interval tick happens, in seconds from the origin.
    #[getter]
    fn next_tick(&self) -> PyResult<f64> {
        Ok(seconds(lock(&self.state)?.detector.next_tick()))
    }

    /// Running totals: `ejections_enforced`, `ejections_overflow`,
    /// `ejections_not_enforced`, `unejections`.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = lock(&self.state)?.detector.stats();
        let d = PyDict::new(py);
        d.set_item("ejections_enforced", s.ejections_enforced)?;
        d.set_item("ejections_overflow", s.ejections_overflow)?;
        d.set_item("ejections_not_enforced", s.ejections_not_enforced)?;
        d.set_item("unejections", s.unejections)?;
        Ok(d)
    }
}

impl OutlierDetector {
    fn build(
        config: OutlierConfig,
        hosts: usize,
        start: Option<&Bound<'_, PyAny>>,
        seed: u64,
    ) -> PyResult<Self> {
        if hosts > MAX_HOSTS {
            return Err(PyValueError::new_err(format!("{hosts} hosts is too many")));
        }
        let start = start.map(instant).transpose()?.unwrap_or(Instant::ZERO);
        Ok(OutlierDetector {
            state: Mutex::new(DetectorState {
                detector: CoreDetector::new(config, hosts, start),
                rng: SplitMix64::new(seed),
            }),
        })
    }
}

/// The result of `ConnectionPool.start`.
#[pyclass(module = "meshroute", frozen, get_all)]
pub struct Admission {
    /// `"active"` (runs now), `"pending"` (queued) or `"overflow"` (503 UO).
    status: &'static str,
    /// The request's id (for `finish`), or `None` on overflow.
    request_id: Option<u64>,
    /// Which limit overflowed (`"pending"` or `"active"`), or `None`.
    overflow: Option<&'static str>,
}

#[pymethods]
impl Admission {
    fn __repr__(&self) -> String {
        format!(
            "Admission(status='{}', request_id={}, overflow={})",
            self.status,
            self.request_id.map_or("None".into(), |i| i.to_string()),
            self.overflow.map_or("None".into(), |o| format!("'{o}'"))
        )
    }
}

/// Envoy's circuit breakers and per-host connection pools for one cluster
/// (hosts numbered 0..hosts), configured as Istio translates a
/// DestinationRule's `connectionPool`.
#[pyclass(module = "meshroute", frozen)]
pub struct ConnectionPool {
    pool: Mutex<CorePool>,
}

#[pymethods]
impl ConnectionPool {
    /// A pool for `hosts` hosts; keyword arguments are the `connectionPool`
    /// fields (0 = unset, Istio's default); `http2` selects HTTP/2 upstreams.
    #[new]
    #[pyo3(signature = (hosts, *, max_connections=0, http1_max_pending_requests=0,
        http2_max_requests=0, max_requests_per_connection=0, max_retries=0,
        max_concurrent_streams=0, http2=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        hosts: usize,
        max_connections: i32,
        http1_max_pending_requests: i32,
        http2_max_requests: i32,
        max_requests_per_connection: i32,
        max_retries: i32,
        max_concurrent_streams: i32,
        http2: bool,
    ) -> PyResult<Self> {
        let p = IstioConnectionPool {
            max_connections,
            http1_max_pending_requests,
            http2_max_requests,
            max_requests_per_connection,
            max_retries,
            max_concurrent_streams,
        };
        Self::build(PoolConfig::from_istio(&p, http2), hosts)
    }

    /// A pool from a destination's merged traffic policy
    /// (`Destination.policy`, Istio's TrafficPolicy shape), configured by
    /// core's `from_policy`. `http2`: the port speaks HTTP/2 (`http2-*`,
    /// `grpc-*`); an `h2UpgradePolicy: UPGRADE` makes it HTTP/2 as well.
    #[staticmethod]
    #[pyo3(signature = (policy, hosts, *, http2=false))]
    fn from_policy(policy: &Bound<'_, PyAny>, hosts: usize, http2: bool) -> PyResult<Self> {
        let config = from_policy::pool_config(&traffic_policy(policy)?, http2);
        Self::build(config, hosts)
    }

    /// A request begins on `host` (warm connections are assumed free).
    fn start(&self, host: usize) -> PyResult<Admission> {
        let admission = lock(&self.pool)?
            .start(host)
            .map_err(|e| PyKeyError::new_err(format!("host {host}: {e}")))?;
        Ok(match admission {
            CoreAdmission::Active(id) => Admission {
                status: "active",
                request_id: Some(id.to_u64()),
                overflow: None,
            },
            CoreAdmission::Pending(id) => Admission {
                status: "pending",
                request_id: Some(id.to_u64()),
                overflow: None,
            },
            CoreAdmission::Overflow(o) => Admission {
                status: "overflow",
                request_id: None,
                overflow: Some(match o {
                    Overflow::Pending => "pending",
                    Overflow::Active => "active",
                }),
            },
        })
    }

    /// A request ends; returns what became of queued requests as
    /// `("active" | "overflow", request_id)` pairs.
    fn finish(&self, request_id: u64) -> PyResult<Vec<(&'static str, u64)>> {
        let id = meshroute::resilience::pool::RequestId::from_u64(request_id);
        let promotions = lock(&self.pool)?
            .finish(id)
            .map_err(|e| PyKeyError::new_err(format!("request {request_id}: {e}")))?;
        Ok(promotions
            .into_iter()
            .map(|p| match p {
                Promotion::Active(id) => ("active", id.to_u64()),
                Promotion::Overflow(id) => ("overflow", id.to_u64()),
            })
            .collect())
    }

    /// Takes a retry slot (`maxRetries`); false when the retry overflows.
    fn try_acquire_retry(&self) -> PyResult<bool> {
        Ok(lock(&self.pool)?.try_acquire_retry())
    }

    /// Gives back a retry slot.
    fn release_retry(&self) -> PyResult<()> {
        lock(&self.pool)?.release_retry();
        Ok(())
    }

    /// Running totals and current counts (`admitted`, `overflowed`,
    /// `pending_overflow`, `active_overflow`, `connection_overflow`,
    /// `retry_overflow`, `active`, `pending`, `connections`, `retries`).
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = lock(&self.pool)?.stats();
        let d = PyDict::new(py);
        for (k, v) in [
            ("admitted", s.admitted),
            ("overflowed", s.overflowed),
            ("pending_overflow", s.pending_overflow),
            ("active_overflow", s.active_overflow),
            ("connection_overflow", s.connection_overflow),
            ("retry_overflow", s.retry_overflow),
            ("active", s.active),
            ("pending", s.pending),
            ("connections", s.connections),
            ("retries", s.retries),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
}

impl ConnectionPool {
    fn build(config: PoolConfig, hosts: usize) -> PyResult<Self> {
        if hosts > MAX_HOSTS {
            return Err(PyValueError::new_err(format!("{hosts} hosts is too many")));
        }
        Ok(ConnectionPool {
            pool: Mutex::new(CorePool::new(config, hosts)),
        })
    }
}
