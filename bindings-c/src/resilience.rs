//! The resilience machines (outlier detector, connection pool, balancer)
//! behind opaque handles. Time is passed in as nanoseconds on the caller's
//! monotonic clock; randomness as a `random` seed per call, expanded by
//! SplitMix64 for calls that draw more than one value. Each handle wraps
//! core's thread-safe `shared` form, so every call here is thread-safe.

use crate::ffi::{
    guard, meshroute_status, meshroute_status::*, slice_in, str_in, write_out, Failure,
};
use crate::handle::{self, Kind, Tagged};
use meshroute_core::model::destination_rule::SimpleLb;
use meshroute_core::resilience::from_policy;
use meshroute_core::resilience::outlier::{HostReport, IstioOutlierDetection, OutlierConfig};
use meshroute_core::resilience::pool::{IstioConnectionPool, PoolConfig, RequestId};
use meshroute_core::resilience::shared::{SharedBalancer, SharedDetector, SharedPool};
use meshroute_core::resilience::{
    Admission, Balancer, ConnectionPool, Endpoint, Instant, OutlierDetector, Pick, PickContext,
    SplitMix64,
};
use std::os::raw::c_char;
use std::sync::Arc;
use std::time::Duration;

/// Outlier detector for one cluster. Opaque; thread-safe.
pub struct meshroute_outlier_detector {
    _private: [u8; 0],
}
/// Connection pool (circuit breaker) for one cluster. Opaque; thread-safe.
pub struct meshroute_pool {
    _private: [u8; 0],
}
/// Load balancer over one cluster's endpoints. Opaque; thread-safe.
pub struct meshroute_balancer {
    _private: [u8; 0],
}

impl Kind for SharedDetector {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-outl1");
    const NAME: &'static str = "outlier detector";
}
impl Kind for Arc<SharedPool> {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-pool1");
    const NAME: &'static str = "pool";
}
impl Kind for SharedBalancer {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-bal01");
    const NAME: &'static str = "balancer";
}

/// A DestinationRule `outlierDetection` block. Counts below 0 mean "unset"
/// (Istio's default applies); durations are nanoseconds, 0 = unset.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_outlier_config {
    /// `consecutive5xxErrors` (< 0: unset).
    pub consecutive_5xx_errors: i64,
    /// `consecutiveGatewayErrors` (< 0: unset).
    pub consecutive_gateway_errors: i64,
    /// `splitExternalLocalOriginErrors`.
    pub split_external_local_origin_errors: bool,
    /// `consecutiveLocalOriginFailures` (< 0: unset).
    pub consecutive_local_origin_failures: i64,
    /// `interval` in nanoseconds (0: unset).
    pub interval_ns: u64,
    /// `baseEjectionTime` in nanoseconds (0: unset).
    pub base_ejection_time_ns: u64,
    /// `maxEjectionPercent` (0: unset).
    pub max_ejection_percent: i32,
    /// `minHealthPercent` (0: panic mode disabled).
    pub min_health_percent: i32,
}

/// A DestinationRule `connectionPool` block; 0 (or less) = unset.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_pool_config {
    /// `tcp.maxConnections`.
    pub max_connections: i32,
    /// `http.http1MaxPendingRequests`.
    pub http1_max_pending_requests: i32,
    /// `http.http2MaxRequests`.
    pub http2_max_requests: i32,
    /// `http.maxRequestsPerConnection`.
    pub max_requests_per_connection: i32,
    /// `http.maxRetries`.
    pub max_retries: i32,
    /// `http.maxConcurrentStreams`.
    pub max_concurrent_streams: i32,
    /// Whether the upstream speaks HTTP/2.
    pub http2: bool,
}

/// What the pool did with a new request.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_admission {
    /// Running on a connection now; release it with `meshroute_pool_release`.
    MESHROUTE_ADMISSION_ACTIVE = 0,
    /// Queued until a connection frees up; release (abandon) it with `meshroute_pool_release`.
    MESHROUTE_ADMISSION_PENDING = 1,
    /// Refused at once (Envoy 503 `UO`); there is nothing to release.
    MESHROUTE_ADMISSION_OVERFLOW = 2,
}

/// The balancing algorithm (the Istio `simple` values meshroute decides).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_lb_policy {
    /// `ROUND_ROBIN`.
    MESHROUTE_LB_ROUND_ROBIN = 0,
    /// `LEAST_REQUEST` (Istio's default), Envoy defaults: 2 choices, bias 1.0.
    MESHROUTE_LB_LEAST_REQUEST = 1,
    /// `RANDOM`.
    MESHROUTE_LB_RANDOM = 2,
}

/// One endpoint of a balancer.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_endpoint {
    /// Address (`10.0.0.1:9080`), borrowed for the call.
    pub address: crate::ffi::meshroute_str,
    /// Weight (0 is treated as 1).
    pub weight: u32,
}

fn ns(v: u64) -> Option<Duration> {
    (v > 0).then(|| Duration::from_nanos(v))
}

fn count(v: i64) -> Option<u32> {
    u32::try_from(v).ok()
}

/// Creates an outlier detector over `host_count` hosts (numbered from 0),
/// starting at `now_ns`.
///
/// # Safety
/// `config` valid, or NULL (refused: `MESHROUTE_STATUS_NULL_ARGUMENT`);
/// `out` writable, or NULL (refused the same way).
#[no_mangle]
pub unsafe extern "C" fn meshroute_outlier_detector_new(
    config: *const meshroute_outlier_config,
    host_count: usize,
    now_ns: u64,
    out: *mut *mut meshroute_outlier_detector,
) -> meshroute_status {
    guard("meshroute_outlier_detector_new", || {
        crate::ffi::out_required("out", out)?;
        // SAFETY: checked non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        if config.is_null() {
            return Err(Failure::null("config"));
        }
        // SAFETY: non-NULL; caller guarantees a valid struct.
        let c = unsafe { *config };
        let istio = IstioOutlierDetection {
            consecutive_5xx_errors: count(c.consecutive_5xx_errors),
            consecutive_gateway_errors: count(c.consecutive_gateway_errors),
            split_external_local_origin_errors: c.split_external_local_origin_errors,
            consecutive_local_origin_failures: count(c.consecutive_local_origin_failures),
            interval: ns(c.interval_ns),
            base_ejection_time: ns(c.base_ejection_time_ns),
            max_ejection_percent: c.max_ejection_percent,
            min_health_percent: c.min_health_percent,
        };
        let detector = OutlierDetector::new(
            OutlierConfig::from_istio(&istio),
            host_count,
            Instant::from_nanos(now_ns),
        );
        let raw = handle::into_handle::<SharedDetector, _>(SharedDetector::new(detector));
        // SAFETY: checked non-NULL.
        unsafe { out.write(raw.cast()) };
        Ok(())
    })
}

/// Frees an outlier detector (NULL: no-op; twice: `MESHROUTE_STATUS_INVALID_HANDLE`).
///
/// # Safety
/// `detector` NULL or a pointer meshroute returned.
#[no_mangle]
pub unsafe extern "C" fn meshroute_outlier_detector_free(
    detector: *mut meshroute_outlier_detector,
) -> meshroute_status {
    guard("meshroute_outlier_detector_free", || {
        // SAFETY: forwarded; the registry refuses non-live pointers.
        unsafe { handle::free::<SharedDetector, SharedDetector>(detector.cast()) }
    })
}

/// # Safety
/// `d` NULL or live.
unsafe fn detector_ref<'a>(
    d: *const meshroute_outlier_detector,
) -> Result<&'a SharedDetector, Failure> {
    // SAFETY: forwarded.
    unsafe { handle::borrow::<SharedDetector, SharedDetector>(d.cast::<Tagged<SharedDetector>>()) }
}

/// Reports the HTTP status of a response from `host` at `now_ns` (ticks
/// that are due run first). `random` seeds the draws an ejection makes
/// (enforcement percentages, ejection-time jitter). `*ejected` (may be NULL)
/// tells whether `host` is ejected afterwards. `MESHROUTE_STATUS_OUT_OF_RANGE`
/// (nothing recorded) for a host the detector does not have, as
/// `meshroute_outlier_detector_is_ejected` answers.
///
/// # Safety
/// `detector` NULL or live; `ejected` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn meshroute_outlier_detector_report_status(
    detector: *const meshroute_outlier_detector,
    host: usize,
    http_status: u16,
    now_ns: u64,
    random: u64,
    ejected: *mut bool,
) -> meshroute_status {
    guard("meshroute_outlier_detector_report_status", || {
        // SAFETY: caller contract.
        let d = unsafe { detector_ref(detector) }?;
        host_in_range(d.with(|det| det.total_hosts()), host)?;
        let mut events = Vec::new();
        let now = Instant::from_nanos(now_ns);
        d.report(
            host,
            HostReport::HttpStatus(http_status),
            now,
            &mut SplitMix64::new(random),
            &mut events,
        );
        if !ejected.is_null() {
            let is = d.with(|det| det.is_ejected(host));
            // SAFETY: non-NULL; caller guarantees writable.
            unsafe { write_out("ejected", ejected, is) }?;
        }
        Ok(())
    })
}

/// `MESHROUTE_STATUS_OUT_OF_RANGE` unless `host` is one of the detector's `total` hosts.
fn host_in_range(total: usize, host: usize) -> Result<(), Failure> {
    if host < total {
        Ok(())
    } else {
        Err(Failure::new(
            MESHROUTE_STATUS_OUT_OF_RANGE,
            format!("host {host}, but the detector has {total} hosts"),
        ))
    }
}

/// Advances the detector's clock to `now_ns` (runs due interval ticks:
/// un-ejections).
///
/// # Safety
/// `detector` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn meshroute_outlier_detector_advance(
    detector: *const meshroute_outlier_detector,
    now_ns: u64,
) -> meshroute_status {
    guard("meshroute_outlier_detector_advance", || {
        // SAFETY: caller contract.
        let d = unsafe { detector_ref(detector) }?;
        d.advance_to(Instant::from_nanos(now_ns), &mut Vec::new());
        Ok(())
    })
}

/// Whether `host` is ejected now. `MESHROUTE_STATUS_OUT_OF_RANGE` for a
/// host the detector does not have.
///
/// # Safety
/// `detector` NULL or live; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_outlier_detector_is_ejected(
    detector: *const meshroute_outlier_detector,
    host: usize,
    out: *mut bool,
) -> meshroute_status {
    guard("meshroute_outlier_detector_is_ejected", || {
        // SAFETY: caller contract.
        let d = unsafe { detector_ref(detector) }?;
        crate::ffi::out_required("out", out)?;
        let (total, is) = d.with(|det| (det.total_hosts(), det.is_ejected(host)));
        host_in_range(total, host)?;
        // SAFETY: checked non-NULL.
        unsafe { write_out("out", out, is) }
    })
}

/// Creates a connection pool over `host_count` hosts from an Istio
/// `connectionPool` block.
///
/// # Safety
/// `config` valid, or NULL (refused: `MESHROUTE_STATUS_NULL_ARGUMENT`);
/// `out` writable, or NULL (refused the same way).
#[no_mangle]
pub unsafe extern "C" fn meshroute_pool_new(
    config: *const meshroute_pool_config,
    host_count: usize,
    out: *mut *mut meshroute_pool,
) -> meshroute_status {
    guard("meshroute_pool_new", || {
        crate::ffi::out_required("out", out)?;
        // SAFETY: checked non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        if config.is_null() {
            return Err(Failure::null("config"));
        }
        // SAFETY: non-NULL; caller guarantees a valid struct.
        let c = unsafe { *config };
        let istio = IstioConnectionPool {
            max_connections: c.max_connections,
            http1_max_pending_requests: c.http1_max_pending_requests,
            http2_max_requests: c.http2_max_requests,
            max_requests_per_connection: c.max_requests_per_connection,
            max_retries: c.max_retries,
            max_concurrent_streams: c.max_concurrent_streams,
        };
        let pool = ConnectionPool::new(PoolConfig::from_istio(&istio, c.http2), host_count);
        let raw = handle::into_handle::<Arc<SharedPool>, _>(SharedPool::new(pool));
        // SAFETY: checked non-NULL.
        unsafe { out.write(raw.cast()) };
        Ok(())
    })
}

/// Frees a pool (NULL: no-op; twice: `MESHROUTE_STATUS_INVALID_HANDLE`).
///
/// # Safety
/// `pool` NULL or a pointer meshroute returned.
#[no_mangle]
pub unsafe extern "C" fn meshroute_pool_free(pool: *mut meshroute_pool) -> meshroute_status {
    guard("meshroute_pool_free", || {
        // SAFETY: forwarded; the registry refuses non-live pointers.
        unsafe { handle::free::<Arc<SharedPool>, Arc<SharedPool>>(pool.cast()) }
    })
}

/// # Safety
/// `p` NULL or live.
unsafe fn pool_ref<'a>(p: *const meshroute_pool) -> Result<&'a Arc<SharedPool>, Failure> {
    // SAFETY: forwarded.
    unsafe {
        handle::borrow::<Arc<SharedPool>, Arc<SharedPool>>(p.cast::<Tagged<Arc<SharedPool>>>())
    }
}

/// Asks the pool to admit a request to `host`. `*admission` says what
/// happened; for ACTIVE and PENDING `*request_id` identifies the request
/// for `meshroute_pool_release` (which must be called exactly once).
///
/// # Safety
/// `pool` NULL or live; both outs writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_pool_acquire(
    pool: *const meshroute_pool,
    host: usize,
    admission: *mut meshroute_admission,
    request_id: *mut u64,
) -> meshroute_status {
    guard("meshroute_pool_acquire", || {
        // SAFETY: caller contract.
        let p = unsafe { pool_ref(pool) }?;
        crate::ffi::out_required("admission", admission)?;
        crate::ffi::out_required("request_id", request_id)?;
        let result = p.start(host).map_err(|e| {
            Failure::new(MESHROUTE_STATUS_OUT_OF_RANGE, format!("host {host}: {e}"))
        })?;
        let (kind, id) = match result {
            Admission::Active(id) => (meshroute_admission::MESHROUTE_ADMISSION_ACTIVE, id.to_u64()),
            Admission::Pending(id) => (
                meshroute_admission::MESHROUTE_ADMISSION_PENDING,
                id.to_u64(),
            ),
            Admission::Overflow(_) => (meshroute_admission::MESHROUTE_ADMISSION_OVERFLOW, 0),
        };
        // SAFETY: both checked non-NULL.
        unsafe { write_out("admission", admission, kind) }?;
        unsafe { write_out("request_id", request_id, id) }
    })
}

/// Ends a request admitted by `meshroute_pool_acquire` (or abandons a
/// pending one), freeing its capacity for pending requests.
/// `MESHROUTE_STATUS_INVALID_ARGUMENT` for an unknown or already released id.
///
/// # Safety
/// `pool` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn meshroute_pool_release(
    pool: *const meshroute_pool,
    request_id: u64,
) -> meshroute_status {
    guard("meshroute_pool_release", || {
        // SAFETY: caller contract.
        let p = unsafe { pool_ref(pool) }?;
        p.finish(RequestId::from_u64(request_id))
            .map(|_| ())
            .map_err(|e| {
                Failure::new(
                    MESHROUTE_STATUS_INVALID_ARGUMENT,
                    format!("request {request_id}: {e}"),
                )
            })
    })
}

/// Creates a balancer over `endpoint_count` endpoints (hosts numbered in
/// order from 0) with the panic threshold in percent (Envoy default 50).
/// `policy` is a `meshroute_lb_policy` value, passed as an integer so that an
/// unknown value is `MESHROUTE_STATUS_INVALID_ARGUMENT` rather than undefined
/// behaviour. `random` seeds the balancer's initial state.
///
/// # Safety
/// `endpoints` NULL (count 0) or `endpoint_count` valid items; `out` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_balancer_new(
    endpoints: *const meshroute_endpoint,
    endpoint_count: usize,
    policy: u32,
    panic_threshold: u32,
    random: u64,
    out: *mut *mut meshroute_balancer,
) -> meshroute_status {
    guard("meshroute_balancer_new", || {
        crate::ffi::out_required("out", out)?;
        // SAFETY: checked non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        let simple = match policy {
            0 => SimpleLb::RoundRobin,
            1 => SimpleLb::LeastRequest,
            2 => SimpleLb::Random,
            other => {
                return Err(Failure::new(
                    MESHROUTE_STATUS_INVALID_ARGUMENT,
                    format!("policy {other} is no meshroute_lb_policy"),
                ))
            }
        };
        // SAFETY: caller contract.
        let list = unsafe { slice_in("endpoints", endpoints, endpoint_count) }?;
        let mut converted = Vec::with_capacity(list.len());
        for e in list {
            // SAFETY: caller contract for each address.
            let address: &str = unsafe {
                str_in(
                    "endpoints[].address",
                    e.address.ptr as *const c_char,
                    e.address.len,
                )
            }?;
            let mut endpoint = Endpoint::new(address);
            endpoint.weight = e.weight;
            converted.push(endpoint);
        }
        let balancer = Balancer::new(
            converted,
            from_policy::simple_policy(Some(simple)),
            panic_threshold,
            &mut SplitMix64::new(random),
        );
        let raw = handle::into_handle::<SharedBalancer, _>(SharedBalancer::new(balancer));
        // SAFETY: checked non-NULL.
        unsafe { out.write(raw.cast()) };
        Ok(())
    })
}

/// Frees a balancer (NULL: no-op; twice: `MESHROUTE_STATUS_INVALID_HANDLE`).
///
/// # Safety
/// `balancer` NULL or a pointer meshroute returned.
#[no_mangle]
pub unsafe extern "C" fn meshroute_balancer_free(
    balancer: *mut meshroute_balancer,
) -> meshroute_status {
    guard("meshroute_balancer_free", || {
        // SAFETY: forwarded; the registry refuses non-live pointers.
        unsafe { handle::free::<SharedBalancer, SharedBalancer>(balancer.cast()) }
    })
}

/// # Safety
/// `b` NULL or live.
unsafe fn balancer_ref<'a>(b: *const meshroute_balancer) -> Result<&'a SharedBalancer, Failure> {
    // SAFETY: forwarded.
    unsafe { handle::borrow::<SharedBalancer, SharedBalancer>(b.cast::<Tagged<SharedBalancer>>()) }
}

/// Picks a host for a request; `random` seeds the pick's draws. `*host` is
/// the endpoint's index. `MESHROUTE_STATUS_ABSENT` when no host can be
/// picked (Envoy 503 `UH`).
///
/// # Safety
/// `balancer` NULL or live; `host` writable or NULL.
#[no_mangle]
pub unsafe extern "C" fn meshroute_balancer_pick(
    balancer: *const meshroute_balancer,
    random: u64,
    host: *mut usize,
) -> meshroute_status {
    guard("meshroute_balancer_pick", || {
        // SAFETY: caller contract.
        let b = unsafe { balancer_ref(balancer) }?;
        crate::ffi::out_required("host", host)?;
        match b.pick(PickContext::default(), &mut SplitMix64::new(random)) {
            // SAFETY: checked non-NULL.
            Pick::Host(h) => unsafe { write_out("host", host, h) },
            Pick::NoHost | Pick::OriginalDestination => Err(Failure::new(
                MESHROUTE_STATUS_ABSENT,
                "no healthy host to pick",
            )),
        }
    })
}

/// Marks `host` unhealthy (or healthy again), e.g. from
/// `meshroute_outlier_detector_is_ejected`.
///
/// # Safety
/// `balancer` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn meshroute_balancer_set_unhealthy(
    balancer: *const meshroute_balancer,
    host: usize,
    unhealthy: bool,
) -> meshroute_status {
    guard("meshroute_balancer_set_unhealthy", || {
        // SAFETY: caller contract.
        let b = unsafe { balancer_ref(balancer) }?;
        let n = b.with(|bal| bal.endpoints().len());
        if host >= n {
            return Err(Failure::new(
                MESHROUTE_STATUS_OUT_OF_RANGE,
                format!("host {host}, but the balancer has {n} endpoints"),
            ));
        }
        b.with(|bal| bal.set_unhealthy(host, unhealthy));
        Ok(())
    })
}
