//! Connection-pool circuit breakers of one cluster (Envoy `conn_pool_base` +
//! the cluster resource manager), with the thresholds Istio emits.
//!
//! Model: every host has its own pool of connections; the thresholds are
//! per cluster (all hosts). Connections are warm: a created connection is
//! ready at once. A new request
//! 1. attaches to a ready connection of its host if there is one;
//! 2. otherwise fails with pending overflow when `pending >= max_pending_requests`;
//! 3. otherwise queues as pending and a connection is created if
//!    `connections < max_connections` (or the host has no connection at all);
//!    the new connection takes pending requests at once;
//!
//! and attaching fails with active overflow when `active >= max_requests`.
//! Overflow is a local 503 with `x-envoy-overloaded: true`, flag `UO`, never
//! retried and never reported to outlier detection. A finished request frees
//! its connection's slot, which then serves the host's pending requests
//! first-in first-out. No randomness is used.

use super::outlier::HostId;
use super::retry::RetryCircuit;
use std::collections::VecDeque;

/// Istio's "unlimited" threshold, 2^32 − 1.
pub const ISTIO_UNLIMITED: u64 = 4_294_967_295;

/// HTTP protocol of the upstream connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// One request per connection at a time.
    Http1,
    /// Multiplexed streams.
    Http2 {
        /// `max_concurrent_streams` (Istio default 2^31 − 1).
        max_concurrent_streams: u32,
    },
}

/// Circuit-breaker thresholds and connection options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// `max_connections`.
    pub max_connections: u64,
    /// `max_pending_requests`.
    pub max_pending_requests: u64,
    /// `max_requests`.
    pub max_requests: u64,
    /// `max_retries`.
    pub max_retries: u64,
    /// `max_requests_per_connection` (`None` = unlimited).
    pub max_requests_per_connection: Option<u32>,
    /// Upstream protocol.
    pub protocol: Protocol,
}

impl Default for PoolConfig {
    /// What Istio emits with no `connectionPool`: every threshold 2^32 − 1, HTTP/1.1.
    fn default() -> Self {
        PoolConfig {
            max_connections: ISTIO_UNLIMITED,
            max_pending_requests: ISTIO_UNLIMITED,
            max_requests: ISTIO_UNLIMITED,
            max_retries: ISTIO_UNLIMITED,
            max_requests_per_connection: None,
            protocol: Protocol::Http1,
        }
    }
}

/// A DestinationRule `connectionPool` block (0 = unset, as in Istio).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IstioConnectionPool {
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
    /// `http.maxConcurrentStreams` (HTTP/2 only).
    pub max_concurrent_streams: i32,
}

impl PoolConfig {
    /// Istio's translation: start from 2^32 − 1 and override with values > 0.
    pub fn from_istio(p: &IstioConnectionPool, http2: bool) -> PoolConfig {
        let pick = |v: i32| {
            u64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(ISTIO_UNLIMITED)
        };
        PoolConfig {
            max_connections: pick(p.max_connections),
            max_pending_requests: pick(p.http1_max_pending_requests),
            max_requests: pick(p.http2_max_requests),
            max_retries: pick(p.max_retries),
            max_requests_per_connection: u32::try_from(p.max_requests_per_connection)
                .ok()
                .filter(|v| *v > 0),
            protocol: if http2 {
                Protocol::Http2 {
                    max_concurrent_streams: u32::try_from(p.max_concurrent_streams)
                        .ok()
                        .filter(|v| *v > 0)
                        .unwrap_or(2_147_483_647),
                }
            } else {
                Protocol::Http1
            },
        }
    }

    fn streams_per_connection(&self) -> u32 {
        match self.protocol {
            Protocol::Http1 => 1,
            Protocol::Http2 {
                max_concurrent_streams,
            } => max_concurrent_streams.max(1),
        }
    }
}

/// Identifies a request in a pool (generation-checked, so a stale id is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    index: u32,
    generation: u32,
}

impl RequestId {
    /// A stable numeric form (for FFI).
    pub fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The inverse of [`RequestId::to_u64`].
    pub fn from_u64(v: u64) -> RequestId {
        RequestId {
            index: (v & 0xFFFF_FFFF) as u32,
            generation: (v >> 32) as u32,
        }
    }
}

/// Which limit a request overflowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// `max_pending_requests` (`upstream_rq_pending_overflow`).
    Pending,
    /// `max_requests` (`upstream_rq_active_overflow`).
    Active,
}

/// The admission decision for a new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Running on a connection now.
    Active(RequestId),
    /// Queued until a connection frees up.
    Pending(RequestId),
    /// Failed at once: 503, `x-envoy-overloaded: true`, flag `UO`.
    Overflow(Overflow),
}

/// What became of a pending request when capacity freed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    /// It now runs.
    Active(RequestId),
    /// It failed with active overflow (its id is no longer valid).
    Overflow(RequestId),
}

impl Promotion {
    /// The request concerned.
    pub fn id(&self) -> RequestId {
        match self {
            Promotion::Active(id) | Promotion::Overflow(id) => *id,
        }
    }
}

/// A request id the pool does not know (finished, cancelled or never issued),
/// or a host id out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Unknown request.
    #[error("unknown or finished request")]
    UnknownRequest,
    /// Unknown host.
    #[error("unknown host")]
    UnknownHost,
}

/// Running totals and current counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Requests that got a connection (including promoted pending ones).
    pub admitted: u64,
    /// Requests failed with overflow (pending + active).
    pub overflowed: u64,
    /// Of which pending overflow.
    pub pending_overflow: u64,
    /// Of which active overflow.
    pub active_overflow: u64,
    /// Connections not created because of `max_connections` (`upstream_cx_overflow`).
    pub connection_overflow: u64,
    /// Retries refused by `max_retries` (`upstream_rq_retry_overflow`).
    pub retry_overflow: u64,
    /// Requests running now.
    pub active: u64,
    /// Requests queued now.
    pub pending: u64,
    /// Connections open now.
    pub connections: u64,
    /// Retries outstanding now.
    pub retries: u64,
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    open: bool,
    active: u32,
    /// Streams this connection may still start (`None` = unlimited).
    remaining: Option<u32>,
}

#[derive(Debug, Clone, Default)]
struct HostPool {
    conns: Vec<Conn>,
    open: usize,
    pending: VecDeque<RequestId>,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Free,
    Active { host: HostId, conn: usize },
    Pending { host: HostId },
}

/// The circuit breakers and per-host pools of one cluster.
#[derive(Debug, Clone)]
pub struct ConnectionPool {
    config: PoolConfig,
    hosts: Vec<HostPool>,
    slots: Vec<(u32, Slot)>,
    free: Vec<u32>,
    stats: PoolStats,
    /// What became of older pending requests when `start` opened a
    /// connection for the host (see [`ConnectionPool::take_promotions`]).
    promotions: Vec<Promotion>,
}

impl ConnectionPool {
    /// A pool for `host_count` hosts with no connections yet.
    pub fn new(config: PoolConfig, host_count: usize) -> ConnectionPool {
        ConnectionPool {
            config,
            hosts: vec![HostPool::default(); host_count],
            slots: Vec::new(),
            free: Vec::new(),
            stats: PoolStats::default(),
            promotions: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Totals and current counts.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Add a host; returns its id.
    pub fn add_host(&mut self) -> HostId {
        self.hosts.push(HostPool::default());
        self.hosts.len() - 1
    }

    /// Open `n` idle connections to `host` ahead of time (warm pool), within
    /// `max_connections`. Returns how many were opened.
    pub fn warm(&mut self, host: HostId, n: usize) -> Result<usize, PoolError> {
        if host >= self.hosts.len() {
            return Err(PoolError::UnknownHost);
        }
        let mut opened = 0;
        while opened < n && self.stats.connections < self.config.max_connections {
            self.open_connection(host);
            opened += 1;
        }
        Ok(opened)
    }

    /// Admit a new request to `host`.
    pub fn start(&mut self, host: HostId) -> Result<Admission, PoolError> {
        if host >= self.hosts.len() {
            return Err(PoolError::UnknownHost);
        }
        if let Some(conn) = self.ready_connection(host) {
            if !self.requests_available() {
                return Ok(Admission::Overflow(self.overflow(Overflow::Active)));
            }
            let id = self.alloc(Slot::Free);
            self.attach(id, host, conn);
            return Ok(Admission::Active(id));
        }
        if self.stats.pending >= self.config.max_pending_requests {
            return Ok(Admission::Overflow(self.overflow(Overflow::Pending)));
        }
        let id = self.alloc(Slot::Pending { host });
        self.stats.pending += 1;
        if let Some(h) = self.hosts.get_mut(host) {
            h.pending.push_back(id);
        }
        let mut promoted = Vec::new();
        self.serve_pending(host, &mut promoted);
        // Older requests queued on this host are served first (FIFO): what
        // became of this one is what its own id says, not the first promotion;
        // what became of the older ones is kept for `take_promotions`.
        self.promotions
            .extend(promoted.into_iter().filter(|p| p.id() != id));
        Ok(if self.is_active(id) {
            Admission::Active(id)
        } else if self.is_pending(id) {
            Admission::Pending(id)
        } else {
            Admission::Overflow(Overflow::Active)
        })
    }

    /// What became of older pending requests of a host when [`ConnectionPool::start`]
    /// opened a connection for it (promoted to active, or failed with
    /// overflow), oldest first, since the last call. A caller tracking
    /// pending requests calls it after `start`.
    pub fn take_promotions(&mut self) -> Vec<Promotion> {
        std::mem::take(&mut self.promotions)
    }

    /// A running request ended (or a pending one was abandoned). Returns what
    /// became of pending requests served by the freed capacity.
    pub fn finish(&mut self, id: RequestId) -> Result<Vec<Promotion>, PoolError> {
        let slot = self.take(id)?;
        let mut promoted = Vec::new();
        match slot {
            Slot::Free => return Err(PoolError::UnknownRequest),
            Slot::Pending { host } => {
                self.stats.pending -= 1;
                if let Some(h) = self.hosts.get_mut(host) {
                    h.pending.retain(|p| *p != id);
                }
            }
            Slot::Active { host, conn } => {
                self.stats.active -= 1;
                let config_limit = self.config.max_requests_per_connection.is_some();
                if let Some(h) = self.hosts.get_mut(host) {
                    if let Some(c) = h.conns.get_mut(conn) {
                        c.active -= 1;
                        if config_limit && c.remaining == Some(0) && c.active == 0 {
                            c.open = false;
                            h.open -= 1;
                            self.stats.connections -= 1;
                        }
                    }
                }
                self.serve_pending(host, &mut promoted);
            }
        }
        Ok(promoted)
    }

    /// Whether `id` is running now.
    pub fn is_active(&self, id: RequestId) -> bool {
        matches!(self.slot(id), Some(Slot::Active { .. }))
    }

    /// Whether `id` is queued now.
    pub fn is_pending(&self, id: RequestId) -> bool {
        matches!(self.slot(id), Some(Slot::Pending { .. }))
    }

    fn slot(&self, id: RequestId) -> Option<Slot> {
        self.slots
            .get(id.index as usize)
            .filter(|(g, _)| *g == id.generation)
            .map(|(_, s)| *s)
    }

    fn requests_available(&self) -> bool {
        self.stats.active < self.config.max_requests
    }

    fn overflow(&mut self, kind: Overflow) -> Overflow {
        self.stats.overflowed += 1;
        match kind {
            Overflow::Pending => self.stats.pending_overflow += 1,
            Overflow::Active => self.stats.active_overflow += 1,
        }
        kind
    }

    fn ready_connection(&self, host: HostId) -> Option<usize> {
        let per_conn = self.config.streams_per_connection();
        self.hosts
            .get(host)?
            .conns
            .iter()
            .position(|c| c.open && c.active < per_conn && c.remaining != Some(0))
    }

    fn open_connection(&mut self, host: HostId) -> Option<usize> {
        let remaining = self.config.max_requests_per_connection;
        let h = self.hosts.get_mut(host)?;
        let conn = Conn {
            open: true,
            active: 0,
            remaining,
        };
        let index = match h.conns.iter().position(|c| !c.open) {
            Some(i) => {
                h.conns[i] = conn;
                i
            }
            None => {
                h.conns.push(conn);
                h.conns.len() - 1
            }
        };
        h.open += 1;
        self.stats.connections += 1;
        Some(index)
    }

    fn attach(&mut self, id: RequestId, host: HostId, conn: usize) {
        if let Some(c) = self.hosts.get_mut(host).and_then(|h| h.conns.get_mut(conn)) {
            c.active += 1;
            c.remaining = c.remaining.map(|r| r.saturating_sub(1));
        }
        if let Some(s) = self.slots.get_mut(id.index as usize) {
            s.1 = Slot::Active { host, conn };
        }
        self.stats.active += 1;
        self.stats.admitted += 1;
    }

    fn serve_pending(&mut self, host: HostId, promoted: &mut Vec<Promotion>) {
        loop {
            let Some(&next) = self.hosts.get(host).and_then(|h| h.pending.front()) else {
                return;
            };
            let conn = match self.ready_connection(host) {
                Some(c) => c,
                None => {
                    let host_has_none = self.hosts.get(host).is_some_and(|h| h.open == 0);
                    if self.stats.connections < self.config.max_connections || host_has_none {
                        match self.open_connection(host) {
                            Some(c) => c,
                            None => return,
                        }
                    } else {
                        self.stats.connection_overflow += 1;
                        return;
                    }
                }
            };
            if let Some(h) = self.hosts.get_mut(host) {
                h.pending.pop_front();
            }
            self.stats.pending -= 1;
            if self.requests_available() {
                self.attach(next, host, conn);
                promoted.push(Promotion::Active(next));
            } else {
                self.overflow(Overflow::Active);
                let _ = self.take(next);
                promoted.push(Promotion::Overflow(next));
            }
        }
    }

    fn alloc(&mut self, slot: Slot) -> RequestId {
        match self.free.pop() {
            Some(index) => {
                let entry = &mut self.slots[index as usize];
                entry.1 = slot;
                RequestId {
                    index,
                    generation: entry.0,
                }
            }
            None => {
                let index = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push((0, slot));
                RequestId {
                    index,
                    generation: 0,
                }
            }
        }
    }

    fn take(&mut self, id: RequestId) -> Result<Slot, PoolError> {
        let entry = self
            .slots
            .get_mut(id.index as usize)
            .filter(|(g, s)| *g == id.generation && !matches!(s, Slot::Free))
            .ok_or(PoolError::UnknownRequest)?;
        let slot = std::mem::replace(&mut entry.1, Slot::Free);
        entry.0 = entry.0.wrapping_add(1);
        self.free.push(id.index);
        Ok(slot)
    }

    /// Take one retry slot (`max_retries`); counts `retry_overflow` when refused.
    pub fn try_acquire_retry(&mut self) -> bool {
        if self.stats.retries < self.config.max_retries {
            self.stats.retries += 1;
            true
        } else {
            self.stats.retry_overflow += 1;
            false
        }
    }

    /// Give a retry slot back.
    pub fn release_retry(&mut self) {
        self.stats.retries = self.stats.retries.saturating_sub(1);
    }
}

impl RetryCircuit for ConnectionPool {
    fn try_acquire_retry(&mut self) -> bool {
        ConnectionPool::try_acquire_retry(self)
    }
    fn release_retry(&mut self) {
        ConnectionPool::release_retry(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(a: Admission) -> RequestId {
        match a {
            Admission::Active(id) => id,
            other => panic!("expected active, got {other:?}"),
        }
    }

    fn start(p: &mut ConnectionPool, host: HostId) -> Admission {
        p.start(host)
            .unwrap_or(Admission::Overflow(Overflow::Pending))
    }

    #[test]
    fn a_new_request_behind_older_pending_ones_is_reported_pending() {
        // Found by the `pool` fuzz target: a connection freed on another host
        // lets this host open one; the oldest pending request takes it, and
        // the new request must be reported as still pending.
        let cfg = PoolConfig {
            max_connections: 2,
            max_requests_per_connection: Some(1),
            ..PoolConfig::default()
        };
        let mut p = ConnectionPool::new(cfg, 2);
        let c = active(start(&mut p, 1));
        let e = active(start(&mut p, 1));
        active(start(&mut p, 0)); // host 0 has none: opened past the limit
        let b = match start(&mut p, 0) {
            Admission::Pending(id) => id,
            other => panic!("expected pending, got {other:?}"),
        };
        assert_eq!(p.finish(c), Ok(vec![]));
        assert_eq!(p.finish(e), Ok(vec![]));
        let d = start(&mut p, 0);
        assert!(p.is_active(b), "the oldest pending request runs first");
        assert_eq!(
            p.take_promotions(),
            vec![Promotion::Active(b)],
            "and the caller hears of it"
        );
        assert!(p.take_promotions().is_empty());
        match d {
            Admission::Pending(id) => assert!(p.is_pending(id)),
            other => panic!("expected the new request pending, got {other:?}"),
        }
        // The nearest case: nothing queued ahead, so the new request runs.
        let mut q = ConnectionPool::new(cfg, 1);
        let id = active(start(&mut q, 0));
        assert!(q.is_active(id));
    }

    #[test]
    fn scenario_connection_pool_overflow() {
        // resilience-connection-pool-overflow.scenario.yaml: http2MaxRequests 2.
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                http2_max_requests: 2,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 2);
        let a = active(start(&mut p, 0));
        active(start(&mut p, 1));
        assert_eq!(start(&mut p, 0), Admission::Overflow(Overflow::Active));
        assert_eq!((p.stats().admitted, p.stats().overflowed), (2, 1));
        assert_eq!(p.finish(a), Ok(vec![]));
        active(start(&mut p, 0));
        assert_eq!(p.stats().overflowed, 1);
        assert_eq!(start(&mut p, 1), Admission::Overflow(Overflow::Active));
        assert_eq!(p.stats().overflowed, 2);
        assert_eq!(p.stats().active, 2);
    }

    #[test]
    fn http1_queues_at_max_connections_then_pending_overflows() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 1,
                http1_max_pending_requests: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        let first = active(start(&mut p, 0));
        let Admission::Pending(second) = start(&mut p, 0) else {
            panic!("second should queue")
        };
        assert_eq!(start(&mut p, 0), Admission::Overflow(Overflow::Pending));
        assert_eq!(p.stats().connection_overflow, 1);
        assert_eq!(p.finish(first), Ok(vec![Promotion::Active(second)]));
        assert!(p.is_active(second));
        assert_eq!(
            (p.stats().pending, p.stats().active, p.stats().admitted),
            (0, 1, 2)
        );
        assert_eq!(
            p.finish(first),
            Err(PoolError::UnknownRequest),
            "stale id rejected"
        );
    }

    #[test]
    fn a_host_without_connections_may_always_open_one() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 2);
        active(start(&mut p, 0));
        active(start(&mut p, 1));
        assert_eq!(p.stats().connections, 2);
        assert!(matches!(start(&mut p, 1), Admission::Pending(_)));
    }

    #[test]
    fn http2_multiplexes_on_one_connection() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 1,
                ..Default::default()
            },
            true,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        for _ in 0..10 {
            active(start(&mut p, 0));
        }
        assert_eq!((p.stats().connections, p.stats().pending), (1, 0));
    }

    #[test]
    fn max_requests_per_connection_closes_and_reopens() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_requests_per_connection: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        let a = active(start(&mut p, 0));
        assert_eq!(p.finish(a), Ok(vec![]));
        assert_eq!(p.stats().connections, 0);
        active(start(&mut p, 0));
        assert_eq!(p.stats().connections, 1);
    }

    #[test]
    fn promoted_pending_request_can_overflow_max_requests() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 1,
                http2_max_requests: 1,
                max_requests_per_connection: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        let a = active(start(&mut p, 0));
        let Admission::Pending(b) = start(&mut p, 0) else {
            panic!("should queue")
        };
        // `a` closes its connection; a new one opens for `b`, which then fits.
        assert_eq!(p.finish(a), Ok(vec![Promotion::Active(b)]));
        let _ = p.finish(b);
        assert_eq!(p.stats().active, 0);
    }

    #[test]
    fn cancelling_pending_frees_the_queue() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 1,
                http1_max_pending_requests: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        let _a = active(start(&mut p, 0));
        let Admission::Pending(b) = start(&mut p, 0) else {
            panic!("should queue")
        };
        assert!(p.is_pending(b));
        assert_eq!(p.finish(b), Ok(vec![]));
        assert!(matches!(start(&mut p, 0), Admission::Pending(_)));
        assert_eq!(p.start(5), Err(PoolError::UnknownHost));
    }

    #[test]
    fn retry_slots_limited_by_max_retries() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_retries: 1,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, 1);
        assert!(p.try_acquire_retry());
        assert!(!p.try_acquire_retry());
        p.release_retry();
        assert!(p.try_acquire_retry());
        assert_eq!(p.stats().retry_overflow, 1);
        assert_eq!(PoolConfig::default().max_retries, ISTIO_UNLIMITED);
    }

    #[test]
    fn request_id_round_trips_through_u64() {
        let mut p = ConnectionPool::new(PoolConfig::default(), 1);
        let id = active(start(&mut p, 0));
        assert_eq!(RequestId::from_u64(id.to_u64()), id);
    }
}
