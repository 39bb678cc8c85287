//! Outlier detection for one upstream host set (one Envoy cluster), following
//! Envoy's `outlier_detection_impl.cc` as Istio configures it.
//!
//! * Consecutive-error detection (5xx, gateway, local-origin) fires when a
//!   host's counter **equals** its threshold, ejects at once through the
//!   `max_ejection_percent` cap (`100·(ejected+1)/total <= max`, strict: no
//!   "always eject one") and an enforcement roll, then resets that counter.
//! * Interval ticks at every positive multiple of `interval` after the
//!   detector's start: unejection when `now − ejected_at ≥ min(base·k, max) +
//!   jitter`, then the multiplier `k` of each healthy host unejected at least
//!   one interval ago decays by one.
//! * Every call that passes a time first runs the ticks due at or before that
//!   time, so a tick and an event at the same instant see the tick first.
//!
//! Randomness: per ejection allowed by the percentage cap, one value for the
//! enforcement roll (`R() % 100 < enforcing`) and, when enforced, one for the
//! jitter (`R() % (jitter_ms + 1)`, drawn even when the jitter maximum is 0).
//! Nothing else draws. Success-rate and failure-percentage detection are not
//! modelled (Istio never enforces them; see [`OutlierConfig`]).

use super::random::Random;
use super::time::{duration_millis, duration_nanos, Instant};
use std::time::Duration;

/// Index of a host in a detector, pool or balancer (the order the caller
/// listed the endpoints in).
pub type HostId = usize;

/// Envoy's `outlier_detection` fields that matter for consecutive-error
/// ejection, plus the cluster's panic threshold Istio derives from the same block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierConfig {
    /// `consecutive_5xx` threshold.
    pub consecutive_5xx: u32,
    /// `enforcing_consecutive_5xx` (percent).
    pub enforcing_consecutive_5xx: u32,
    /// `consecutive_gateway_failure` threshold.
    pub consecutive_gateway_failure: u32,
    /// `enforcing_consecutive_gateway_failure` (percent; Envoy default 0).
    pub enforcing_consecutive_gateway_failure: u32,
    /// `split_external_local_origin_errors`.
    pub split_external_local_origin_errors: bool,
    /// `consecutive_local_origin_failure` threshold (split mode only).
    pub consecutive_local_origin_failure: u32,
    /// `enforcing_consecutive_local_origin_failure` (percent).
    pub enforcing_consecutive_local_origin_failure: u32,
    /// `interval` between sweeps.
    pub interval: Duration,
    /// `base_ejection_time`.
    pub base_ejection_time: Duration,
    /// `max_ejection_time` (default `max(300 s, base)`).
    pub max_ejection_time: Duration,
    /// `max_ejection_time_jitter` (default 0).
    pub max_ejection_time_jitter: Duration,
    /// `max_ejection_percent` (default 10).
    pub max_ejection_percent: u32,
    /// `always_eject_one_host` (Envoy ≥ 1.31; Istio never sets it).
    pub always_eject_one_host: bool,
    /// Cluster `healthy_panic_threshold` in percent (Istio: `minHealthPercent`,
    /// 0 = panic disabled). Used by the load balancer, not by the detector.
    pub healthy_panic_threshold: u32,
}

impl Default for OutlierConfig {
    /// Envoy's defaults (an `outlier_detection: {}` written directly in Envoy),
    /// with Envoy's default 50 % panic threshold.
    fn default() -> Self {
        OutlierConfig {
            consecutive_5xx: 5,
            enforcing_consecutive_5xx: 100,
            consecutive_gateway_failure: 5,
            enforcing_consecutive_gateway_failure: 0,
            split_external_local_origin_errors: false,
            consecutive_local_origin_failure: 5,
            enforcing_consecutive_local_origin_failure: 100,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_time_jitter: Duration::ZERO,
            max_ejection_percent: 10,
            always_eject_one_host: false,
            healthy_panic_threshold: 50,
        }
    }
}

/// A DestinationRule `outlierDetection` block, as the engine hands it over
/// (`None` = field unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IstioOutlierDetection {
    /// `consecutive5xxErrors`.
    pub consecutive_5xx_errors: Option<u32>,
    /// `consecutiveGatewayErrors`.
    pub consecutive_gateway_errors: Option<u32>,
    /// `splitExternalLocalOriginErrors`.
    pub split_external_local_origin_errors: bool,
    /// `consecutiveLocalOriginFailures`.
    pub consecutive_local_origin_failures: Option<u32>,
    /// `interval`.
    pub interval: Option<Duration>,
    /// `baseEjectionTime`.
    pub base_ejection_time: Option<Duration>,
    /// `maxEjectionPercent` (0 = unset).
    pub max_ejection_percent: i32,
    /// `minHealthPercent` (0 = panic disabled).
    pub min_health_percent: i32,
}

impl OutlierConfig {
    /// Istio's translation (`applyOutlierDetection`) of a present block. An
    /// empty block gives: 5 consecutive 5xx enforced, gateway detection
    /// computed but not enforced, interval 10 s, base 30 s, max ejection time
    /// 300 s (or base if larger), 10 % max ejection, panic threshold 0.
    pub fn from_istio(od: &IstioOutlierDetection) -> OutlierConfig {
        let mut c = OutlierConfig::default();
        let enforce = |v: u32| if v > 0 { 100 } else { 0 };
        if let Some(v) = od.consecutive_5xx_errors {
            c.consecutive_5xx = v;
            c.enforcing_consecutive_5xx = enforce(v);
        }
        if let Some(v) = od.consecutive_gateway_errors {
            c.consecutive_gateway_failure = v;
            c.enforcing_consecutive_gateway_failure = enforce(v);
        }
        c.split_external_local_origin_errors = od.split_external_local_origin_errors;
        if let Some(v) = od
            .consecutive_local_origin_failures
            .filter(|v| *v > 0 && od.split_external_local_origin_errors)
        {
            c.consecutive_local_origin_failure = v;
            c.enforcing_consecutive_local_origin_failure = 100;
        }
        if let Some(i) = od.interval.filter(|d| !d.is_zero()) {
            c.interval = i;
        }
        if let Some(b) = od.base_ejection_time.filter(|d| !d.is_zero()) {
            c.base_ejection_time = b;
        }
        c.max_ejection_time = c.max_ejection_time.max(c.base_ejection_time);
        if od.max_ejection_percent > 0 {
            c.max_ejection_percent = u32::try_from(od.max_ejection_percent).unwrap_or(100);
        }
        c.healthy_panic_threshold = u32::try_from(od.min_health_percent.clamp(0, 100)).unwrap_or(0);
        c
    }
}

/// What the router reports about one host (Envoy `putHttpResponseCode` / `putResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostReport {
    /// Response headers with this status (gRPC: the status mapped by
    /// [`grpc_status_to_http`]).
    HttpStatus(u16),
    /// Connect failure, connect timeout or reset (`LocalOriginConnectFailed`).
    LocalOriginConnectFailed,
    /// Per-try or global timeout before headers (`LocalOriginTimeout`).
    LocalOriginTimeout,
    /// Connection established (`LocalOriginConnectSuccess`).
    LocalOriginConnectSuccess,
    /// `LocalOriginConnectSuccessFinal` (non-HTTP protocols).
    LocalOriginConnectSuccessFinal,
    /// `ExtOriginRequestFailed` (non-HTTP protocols).
    ExtOriginRequestFailed,
    /// `ExtOriginRequestSuccess` (non-HTTP protocols).
    ExtOriginRequestSuccess,
}

/// Envoy's gRPC status → HTTP status mapping used for outlier detection of
/// trailers-only gRPC replies.
pub fn grpc_status_to_http(code: u32) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500, // UNKNOWN 2, INTERNAL 13, DATA_LOSS 15, anything else
    }
}

impl HostReport {
    /// What the HTTP router reports for a retry-state attempt outcome; `None`
    /// for circuit-breaker overflow (never reported). `grpc_request` selects
    /// the gRPC status mapping for responses carrying `grpc-status`.
    pub fn from_attempt(
        outcome: &super::retry::AttemptOutcome,
        grpc_request: bool,
    ) -> Option<HostReport> {
        use super::retry::{AttemptOutcome, ResetReason};
        match *outcome {
            AttemptOutcome::Response(r) => Some(HostReport::HttpStatus(match r.grpc_status {
                Some(g) if grpc_request => grpc_status_to_http(g),
                _ => r.status,
            })),
            AttemptOutcome::Reset {
                reason: ResetReason::Overflow,
                ..
            } => None,
            AttemptOutcome::Reset { .. } => Some(HostReport::LocalOriginConnectFailed),
            AttemptOutcome::PerTryTimeout { .. } | AttemptOutcome::GlobalTimeout => {
                Some(HostReport::LocalOriginTimeout)
            }
        }
    }
}

/// Which consecutive-error detector fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detection {
    /// `consecutive_5xx`.
    Consecutive5xx,
    /// `consecutive_gateway_failure`.
    ConsecutiveGatewayFailure,
    /// `consecutive_local_origin_failure`.
    ConsecutiveLocalOriginFailure,
}

impl std::fmt::Display for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Detection::Consecutive5xx => "consecutive 5xx",
            Detection::ConsecutiveGatewayFailure => "consecutive gateway errors",
            Detection::ConsecutiveLocalOriginFailure => "consecutive local-origin failures",
        })
    }
}

/// One entry of the detector's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierEvent {
    /// When.
    pub at: Instant,
    /// Which host.
    pub host: HostId,
    /// What happened.
    pub kind: OutlierEventKind,
}

/// What happened to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlierEventKind {
    /// Ejected; it returns at the first tick at least `duration` later.
    Ejected {
        /// The detector that fired.
        cause: Detection,
        /// Nominal ejection time `min(base·k, max) + jitter`.
        duration: Duration,
        /// The multiplier `k` after this ejection.
        multiplier: u32,
    },
    /// Detected, but blocked by `max_ejection_percent` (`ejections_overflow`).
    EjectionOverflow {
        /// The detector that fired.
        cause: Detection,
    },
    /// Detected and allowed, but the enforcement roll said no.
    NotEnforced {
        /// The detector that fired.
        cause: Detection,
    },
    /// Returned to service by an interval tick.
    Unejected {
        /// How long it was out.
        ejected_for: Duration,
    },
}

#[derive(Debug, Clone, Default)]
struct HostState {
    present: bool,
    c5xx: u32,
    cgw: u32,
    clocal: u32,
    ejected: bool,
    num_ejections: u64,
    backoff_k: u32,
    last_ejection: Option<Instant>,
    last_unejection: Option<Instant>,
    jitter: Duration,
}

/// Running totals of a detector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutlierStats {
    /// Ejections performed.
    pub ejections_enforced: u64,
    /// Detections blocked by the percentage cap.
    pub ejections_overflow: u64,
    /// Detections that passed the cap but lost the enforcement roll.
    pub ejections_not_enforced: u64,
    /// Unejections.
    pub unejections: u64,
}

/// The outlier detector of one cluster.
#[derive(Debug, Clone)]
pub struct OutlierDetector {
    config: OutlierConfig,
    hosts: Vec<HostState>,
    present: usize,
    ejected: usize,
    next_tick: Instant,
    stats: OutlierStats,
}

impl OutlierDetector {
    /// A detector over `host_count` hosts (ids `0..host_count`), started at `start`.
    pub fn new(config: OutlierConfig, host_count: usize, start: Instant) -> OutlierDetector {
        let interval = Self::interval_of(&config);
        OutlierDetector {
            config,
            hosts: vec![
                HostState {
                    present: true,
                    ..HostState::default()
                };
                host_count
            ],
            present: host_count,
            ejected: 0,
            next_tick: start + interval,
            stats: OutlierStats::default(),
        }
    }

    fn interval_of(config: &OutlierConfig) -> Duration {
        config.interval.max(Duration::from_millis(1))
    }

    /// The configuration.
    pub fn config(&self) -> &OutlierConfig {
        &self.config
    }

    /// Add a host; returns its id.
    pub fn add_host(&mut self) -> HostId {
        self.hosts.push(HostState {
            present: true,
            ..HostState::default()
        });
        self.present += 1;
        self.hosts.len() - 1
    }

    /// Remove a host (its ejection, if any, ends without an event). Unknown
    /// or already removed ids are ignored.
    pub fn remove_host(&mut self, host: HostId) {
        if let Some(h) = self.hosts.get_mut(host).filter(|h| h.present) {
            if h.ejected {
                self.ejected -= 1;
            }
            *h = HostState::default();
            self.present -= 1;
        }
    }

    /// Hosts in the cluster (all priorities).
    pub fn total_hosts(&self) -> usize {
        self.present
    }

    /// Hosts currently ejected.
    pub fn ejections_active(&self) -> usize {
        self.ejected
    }

    /// Whether `host` is ejected.
    pub fn is_ejected(&self, host: HostId) -> bool {
        self.hosts.get(host).is_some_and(|h| h.ejected)
    }

    /// The ejected hosts, in id order.
    pub fn ejected_hosts(&self) -> impl Iterator<Item = HostId> + '_ {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.ejected)
            .map(|(i, _)| i)
    }

    /// The ejection multiplier `k` of `host` (0 for unknown hosts).
    pub fn multiplier(&self, host: HostId) -> u32 {
        self.hosts.get(host).map_or(0, |h| h.backoff_k)
    }

    /// Lifetime ejections of `host`.
    pub fn num_ejections(&self, host: HostId) -> u64 {
        self.hosts.get(host).map_or(0, |h| h.num_ejections)
    }

    /// Running totals.
    pub fn stats(&self) -> OutlierStats {
        self.stats
    }

    /// The consecutive-error counters of `host` right now: (5xx, gateway
    /// errors, local-origin failures); `None` for unknown or removed hosts.
    pub fn consecutive_counts(&self, host: HostId) -> Option<(u32, u32, u32)> {
        self.hosts
            .get(host)
            .filter(|h| h.present)
            .map(|h| (h.c5xx, h.cgw, h.clocal))
    }

    /// The next interval tick.
    pub fn next_tick(&self) -> Instant {
        self.next_tick
    }

    /// Run every interval tick due at or before `now`, appending unejections to `events`.
    pub fn advance_to(&mut self, now: Instant, events: &mut Vec<OutlierEvent>) {
        let interval = Self::interval_of(&self.config);
        while self.next_tick <= now {
            if self.ejected == 0 && self.hosts.iter().all(|h| h.backoff_k == 0) {
                // Ticks change nothing now: jump to the last one due.
                let step = duration_nanos(interval).max(1);
                let skipped = (now.as_nanos() - self.next_tick.as_nanos()) / step;
                self.next_tick = Instant(
                    self.next_tick
                        .as_nanos()
                        .saturating_add(skipped.saturating_mul(step)),
                );
                self.next_tick = self.next_tick + interval;
                return;
            }
            let tick = self.next_tick;
            self.tick(tick, events);
            self.next_tick = tick + interval;
        }
    }

    fn tick(&mut self, now: Instant, events: &mut Vec<OutlierEvent>) {
        let c = &self.config;
        for (id, h) in self.hosts.iter_mut().enumerate() {
            if !h.ejected {
                continue;
            }
            let ejected_at = h.last_ejection.unwrap_or(now);
            let nominal = c
                .base_ejection_time
                .saturating_mul(h.backoff_k)
                .min(c.max_ejection_time)
                + h.jitter;
            let out_for = now.saturating_since(ejected_at);
            if out_for >= nominal {
                h.ejected = false;
                h.c5xx = 0;
                h.cgw = 0;
                h.clocal = 0;
                h.last_unejection = Some(now);
                self.ejected -= 1;
                self.stats.unejections += 1;
                events.push(OutlierEvent {
                    at: now,
                    host: id,
                    kind: OutlierEventKind::Unejected {
                        ejected_for: out_for,
                    },
                });
            }
        }
        let interval = c.interval;
        for h in self
            .hosts
            .iter_mut()
            .filter(|h| !h.ejected && h.backoff_k > 0)
        {
            if h.last_unejection
                .is_some_and(|u| now.saturating_since(u) >= interval)
            {
                h.backoff_k -= 1;
            }
        }
    }

    /// Report one result for `host` at `now` (ticks due first). Detections and
    /// ejections are appended to `events`. Unknown or removed hosts are ignored.
    pub fn report(
        &mut self,
        host: HostId,
        report: HostReport,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        self.advance_to(now, events);
        let split = self.config.split_external_local_origin_errors;
        let code = match (report, split) {
            (HostReport::HttpStatus(code), _) => Some(code),
            (HostReport::LocalOriginConnectFailed, false) => Some(503),
            (HostReport::LocalOriginTimeout, false) => Some(504),
            (HostReport::LocalOriginConnectSuccess, false) => None,
            (HostReport::LocalOriginConnectSuccessFinal, false) => Some(200),
            (HostReport::ExtOriginRequestFailed, false) => Some(500),
            (HostReport::ExtOriginRequestFailed, true) => Some(503),
            (HostReport::ExtOriginRequestSuccess, _) => Some(200),
            (HostReport::LocalOriginConnectFailed | HostReport::LocalOriginTimeout, true) => {
                self.local_origin(host, true, now, rng, events);
                None
            }
            (
                HostReport::LocalOriginConnectSuccess | HostReport::LocalOriginConnectSuccessFinal,
                true,
            ) => {
                self.local_origin(host, false, now, rng, events);
                None
            }
        };
        if split && report == HostReport::ExtOriginRequestSuccess {
            self.local_origin(host, false, now, rng, events);
        }
        if let Some(code) = code {
            self.http_status(host, code, now, rng, events);
        }
    }

    fn http_status(
        &mut self,
        host: HostId,
        code: u16,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        let (gw_t, fx_t) = (
            self.config.consecutive_gateway_failure,
            self.config.consecutive_5xx,
        );
        let Some(h) = self.hosts.get_mut(host).filter(|h| h.present) else {
            return;
        };
        if !(500..=599).contains(&code) {
            h.c5xx = 0;
            h.cgw = 0;
            return;
        }
        let mut fire_gw = false;
        if matches!(code, 502..=504) {
            h.cgw = h.cgw.saturating_add(1);
            fire_gw = h.cgw == gw_t;
        } else {
            h.cgw = 0;
        }
        h.c5xx = h.c5xx.saturating_add(1);
        let fire_5xx = h.c5xx == fx_t;
        if fire_gw {
            self.detected(host, Detection::ConsecutiveGatewayFailure, now, rng, events);
        }
        if fire_5xx {
            self.detected(host, Detection::Consecutive5xx, now, rng, events);
        }
    }

    fn local_origin(
        &mut self,
        host: HostId,
        failed: bool,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        let threshold = self.config.consecutive_local_origin_failure;
        let Some(h) = self.hosts.get_mut(host).filter(|h| h.present) else {
            return;
        };
        if !failed {
            h.clocal = 0;
            return;
        }
        h.clocal = h.clocal.saturating_add(1);
        if h.clocal == threshold {
            self.detected(
                host,
                Detection::ConsecutiveLocalOriginFailure,
                now,
                rng,
                events,
            );
        }
    }

    fn detected(
        &mut self,
        host: HostId,
        cause: Detection,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        if self.hosts.get(host).is_none_or(|h| h.ejected) {
            // Already ejected: ignored, and the counter is not reset.
            return;
        }
        self.eject(host, cause, now, rng, events);
        if let Some(h) = self.hosts.get_mut(host) {
            match cause {
                Detection::Consecutive5xx => h.c5xx = 0,
                Detection::ConsecutiveGatewayFailure => h.cgw = 0,
                Detection::ConsecutiveLocalOriginFailure => h.clocal = 0,
            }
        }
    }

    /// Envoy's percentage check, in floating point as Envoy computes it.
    fn ejection_allowed(&self) -> bool {
        let max_pct = f64::from(self.config.max_ejection_percent.min(100));
        let after = 100.0 * (self.ejected as f64 + 1.0) / (self.present.max(1) as f64);
        after <= max_pct || (self.config.always_eject_one_host && self.ejected == 0)
    }

    fn eject(
        &mut self,
        host: HostId,
        cause: Detection,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        if !self.ejection_allowed() {
            self.stats.ejections_overflow += 1;
            events.push(OutlierEvent {
                at: now,
                host,
                kind: OutlierEventKind::EjectionOverflow { cause },
            });
            return;
        }
        let c = &self.config;
        let enforcing = match cause {
            Detection::Consecutive5xx => c.enforcing_consecutive_5xx,
            Detection::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
            Detection::ConsecutiveLocalOriginFailure => {
                c.enforcing_consecutive_local_origin_failure
            }
        };
        if rng.next_u64() % 100 >= u64::from(enforcing) {
            self.stats.ejections_not_enforced += 1;
            events.push(OutlierEvent {
                at: now,
                host,
                kind: OutlierEventKind::NotEnforced { cause },
            });
            return;
        }
        let jitter_ms =
            rng.next_u64() % duration_millis(c.max_ejection_time_jitter).saturating_add(1);
        let (base, max) = (c.base_ejection_time, c.max_ejection_time);
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        h.ejected = true;
        h.num_ejections += 1;
        h.last_ejection = Some(now);
        h.jitter = Duration::from_millis(jitter_ms);
        if base.saturating_mul(h.backoff_k) < max.saturating_add(base) {
            h.backoff_k += 1;
        }
        let duration = base.saturating_mul(h.backoff_k).min(max) + h.jitter;
        let multiplier = h.backoff_k;
        self.ejected += 1;
        self.stats.ejections_enforced += 1;
        events.push(OutlierEvent {
            at: now,
            host,
            kind: OutlierEventKind::Ejected {
                cause,
                duration,
                multiplier,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Sequence, SplitMix64};
    use proptest::prelude::*;

    fn istio(max_pct: i32) -> OutlierConfig {
        OutlierConfig::from_istio(&IstioOutlierDetection {
            consecutive_5xx_errors: Some(5),
            interval: Some(Duration::from_secs(10)),
            base_ejection_time: Some(Duration::from_secs(30)),
            max_ejection_percent: max_pct,
            ..Default::default()
        })
    }

    fn fail(
        d: &mut OutlierDetector,
        host: HostId,
        code: u16,
        n: usize,
        at: Instant,
    ) -> Vec<OutlierEvent> {
        let mut ev = Vec::new();
        let mut rng = Sequence::new(vec![0]);
        for _ in 0..n {
            d.report(host, HostReport::HttpStatus(code), at, &mut rng, &mut ev);
        }
        ev
    }

    fn at(d: &mut OutlierDetector, t: Instant) -> Vec<HostId> {
        d.advance_to(t, &mut Vec::new());
        d.ejected_hosts().collect()
    }

    #[test]
    fn empty_istio_block_defaults() {
        let c = OutlierConfig::from_istio(&IstioOutlierDetection::default());
        assert_eq!((c.consecutive_5xx, c.enforcing_consecutive_5xx), (5, 100));
        assert_eq!(
            (
                c.consecutive_gateway_failure,
                c.enforcing_consecutive_gateway_failure
            ),
            (5, 0)
        );
        assert_eq!(c.interval, Duration::from_secs(10));
        assert_eq!(c.base_ejection_time, Duration::from_secs(30));
        assert_eq!(c.max_ejection_time, Duration::from_secs(300));
        assert_eq!((c.max_ejection_percent, c.healthy_panic_threshold), (10, 0));
        let zero = OutlierConfig::from_istio(&IstioOutlierDetection {
            consecutive_5xx_errors: Some(0),
            consecutive_gateway_errors: Some(3),
            base_ejection_time: Some(Duration::from_secs(400)),
            consecutive_local_origin_failures: Some(2),
            ..Default::default()
        });
        assert_eq!(zero.enforcing_consecutive_5xx, 0);
        assert_eq!(
            (
                zero.consecutive_gateway_failure,
                zero.enforcing_consecutive_gateway_failure
            ),
            (3, 100)
        );
        assert_eq!(zero.max_ejection_time, Duration::from_secs(400));
        // Local-origin threshold only applies in split mode.
        assert_eq!(zero.consecutive_local_origin_failure, 5);
    }

    #[test]
    fn scenario_outlier_ejection_and_unejection() {
        // resilience-outlier-ejection-and-unejection.scenario.yaml
        let mut d = OutlierDetector::new(istio(50), 2, Instant::ZERO);
        assert!(fail(&mut d, 0, 503, 4, Instant::from_secs(1)).is_empty());
        assert_eq!(at(&mut d, Instant::from_secs(1)), Vec::<HostId>::new());
        let ev = fail(&mut d, 0, 503, 1, Instant::from_secs(2));
        // Envoy runs gateway detection first (threshold 5, enforcement 0 when
        // unset): it passes the cap, loses the roll, ejects nothing.
        assert_eq!(
            ev,
            vec![
                OutlierEvent {
                    at: Instant::from_secs(2),
                    host: 0,
                    kind: OutlierEventKind::NotEnforced {
                        cause: Detection::ConsecutiveGatewayFailure
                    }
                },
                OutlierEvent {
                    at: Instant::from_secs(2),
                    host: 0,
                    kind: OutlierEventKind::Ejected {
                        cause: Detection::Consecutive5xx,
                        duration: Duration::from_secs(30),
                        multiplier: 1
                    }
                }
            ]
        );
        assert_eq!(at(&mut d, Instant::from_secs(39)), vec![0]);
        let mut ev = Vec::new();
        d.advance_to(Instant::from_secs(40), &mut ev);
        assert_eq!(
            ev[0].kind,
            OutlierEventKind::Unejected {
                ejected_for: Duration::from_secs(38)
            }
        );
        assert_eq!(d.ejected_hosts().count(), 0);
    }

    #[test]
    fn scenario_max_ejection_percent_few_hosts() {
        // resilience-max-ejection-percent-few-hosts.scenario.yaml
        let mut d = OutlierDetector::new(istio(50), 2, Instant::ZERO);
        fail(&mut d, 0, 503, 5, Instant::from_secs(1));
        assert_eq!(at(&mut d, Instant::from_secs(1)), vec![0]);
        let ev = fail(&mut d, 1, 503, 5, Instant::from_secs(2));
        // Both the (unenforced) gateway detection and the 5xx one hit the cap.
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                OutlierEventKind::EjectionOverflow {
                    cause: Detection::ConsecutiveGatewayFailure
                },
                OutlierEventKind::EjectionOverflow {
                    cause: Detection::Consecutive5xx
                }
            ]
        );
        assert_eq!(at(&mut d, Instant::from_secs(2)), vec![0]);
        assert_eq!(d.stats().ejections_overflow, 2);
        assert_eq!(at(&mut d, Instant::from_secs(40)), Vec::<HostId>::new());
    }

    #[test]
    fn ten_percent_never_ejects_below_ten_hosts() {
        let mut d = OutlierDetector::new(istio(0), 9, Instant::ZERO);
        fail(&mut d, 3, 500, 50, Instant::from_secs(1));
        assert_eq!(d.ejections_active(), 0);
        let mut d = OutlierDetector::new(istio(0), 10, Instant::ZERO);
        fail(&mut d, 3, 500, 5, Instant::from_secs(1));
        assert_eq!(d.ejections_active(), 1);
        // A second host would make 20 %.
        fail(&mut d, 4, 500, 5, Instant::from_secs(1));
        assert_eq!(d.ejections_active(), 1);
    }

    #[test]
    fn reejection_doubles_and_multiplier_decays_per_healthy_interval() {
        let mut d = OutlierDetector::new(istio(100), 1, Instant::ZERO);
        fail(&mut d, 0, 500, 5, Instant::from_secs(10)); // ejected at 10 s, k = 1
        assert_eq!(at(&mut d, Instant::from_secs(39)), vec![0]);
        assert_eq!(at(&mut d, Instant::from_secs(40)), Vec::<HostId>::new()); // 30 s exactly
        let ev = fail(&mut d, 0, 500, 5, Instant::from_secs(40));
        assert!(
            matches!(ev[0].kind, OutlierEventKind::Ejected { duration, multiplier: 2, .. } if duration == Duration::from_secs(60))
        );
        assert_eq!(at(&mut d, Instant::from_secs(99)), vec![0]);
        assert_eq!(at(&mut d, Instant::from_secs(100)), Vec::<HostId>::new());
        assert_eq!(d.multiplier(0), 2); // not decremented on its unejection tick
        at(&mut d, Instant::from_secs(110));
        assert_eq!(d.multiplier(0), 1);
        at(&mut d, Instant::from_secs(120));
        assert_eq!(d.multiplier(0), 0);
        let ev = fail(&mut d, 0, 500, 5, Instant::from_secs(125));
        assert!(matches!(
            ev[0].kind,
            OutlierEventKind::Ejected { multiplier: 1, .. }
        ));
    }

    #[test]
    fn multiplier_stops_growing_and_duration_caps_at_max() {
        let mut d = OutlierDetector::new(istio(100), 1, Instant::ZERO);
        let mut t = Instant::from_secs(1);
        let mut durations = Vec::new();
        for _ in 0..12 {
            for e in fail(&mut d, 0, 500, 5, t) {
                if let OutlierEventKind::Ejected { duration, .. } = e.kind {
                    durations.push(duration.as_secs());
                }
            }
            while d.is_ejected(0) {
                t = d.next_tick();
                d.advance_to(t, &mut Vec::new());
            }
        }
        assert_eq!(
            durations,
            [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]
        );
        assert_eq!(d.multiplier(0), 11);
    }

    #[test]
    fn non_5xx_resets_and_counts_must_be_consecutive() {
        let mut d = OutlierDetector::new(istio(100), 1, Instant::ZERO);
        fail(&mut d, 0, 500, 4, Instant::ZERO);
        fail(&mut d, 0, 404, 1, Instant::ZERO);
        fail(&mut d, 0, 500, 4, Instant::ZERO);
        assert!(!d.is_ejected(0));
        fail(&mut d, 0, 500, 1, Instant::ZERO);
        assert!(d.is_ejected(0));
    }

    #[test]
    fn gateway_detection_unset_never_ejects_but_draws_and_resets() {
        let c = OutlierConfig::from_istio(&IstioOutlierDetection {
            consecutive_5xx_errors: Some(7),
            max_ejection_percent: 100,
            ..Default::default()
        });
        let mut d = OutlierDetector::new(c, 1, Instant::ZERO);
        let mut rng = Sequence::new(vec![0]);
        let mut ev = Vec::new();
        for _ in 0..5 {
            d.report(
                0,
                HostReport::HttpStatus(503),
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
        }
        assert_eq!(ev.len(), 1);
        assert_eq!(
            ev[0].kind,
            OutlierEventKind::NotEnforced {
                cause: Detection::ConsecutiveGatewayFailure
            }
        );
        assert_eq!(rng.consumed(), 1);
        // Counter reset: 5 more gateway errors fire again; 5xx reaches 7 at the 7th.
        for _ in 0..2 {
            d.report(
                0,
                HostReport::HttpStatus(503),
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
        }
        assert!(d.is_ejected(0));
    }

    #[test]
    fn gateway_errors_enforced_when_configured() {
        let c = OutlierConfig::from_istio(&IstioOutlierDetection {
            consecutive_5xx_errors: Some(0),
            consecutive_gateway_errors: Some(2),
            max_ejection_percent: 100,
            ..Default::default()
        });
        let mut d = OutlierDetector::new(c, 2, Instant::ZERO);
        fail(&mut d, 0, 500, 10, Instant::ZERO);
        assert!(!d.is_ejected(0));
        fail(&mut d, 1, 502, 1, Instant::ZERO);
        fail(&mut d, 1, 500, 1, Instant::ZERO); // non-gateway 5xx resets cgw
        fail(&mut d, 1, 504, 1, Instant::ZERO);
        assert!(!d.is_ejected(1));
        fail(&mut d, 1, 503, 1, Instant::ZERO);
        assert!(d.is_ejected(1));
    }

    #[test]
    fn local_origin_failures_count_as_503_unless_split() {
        let mut d = OutlierDetector::new(istio(100), 1, Instant::ZERO);
        let mut rng = Sequence::new(vec![0]);
        let mut ev = Vec::new();
        for _ in 0..5 {
            d.report(
                0,
                HostReport::LocalOriginConnectFailed,
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
            d.report(
                0,
                HostReport::LocalOriginConnectSuccess,
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
        }
        assert!(d.is_ejected(0));

        let split = OutlierConfig::from_istio(&IstioOutlierDetection {
            split_external_local_origin_errors: true,
            consecutive_local_origin_failures: Some(3),
            max_ejection_percent: 100,
            ..Default::default()
        });
        let mut d = OutlierDetector::new(split, 1, Instant::ZERO);
        for _ in 0..5 {
            d.report(
                0,
                HostReport::LocalOriginTimeout,
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
            d.report(
                0,
                HostReport::LocalOriginConnectSuccess,
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
        }
        assert!(
            !d.is_ejected(0),
            "a connect success resets the local-origin counter"
        );
        for _ in 0..3 {
            // In split mode an HTTP 200 does not reset the local-origin counter.
            d.report(
                0,
                HostReport::HttpStatus(200),
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
            d.report(
                0,
                HostReport::LocalOriginTimeout,
                Instant::ZERO,
                &mut rng,
                &mut ev,
            );
        }
        assert!(d.is_ejected(0));
        assert!(matches!(
            ev.last().map(|e| e.kind),
            Some(OutlierEventKind::Ejected {
                cause: Detection::ConsecutiveLocalOriginFailure,
                ..
            })
        ));
    }

    #[test]
    fn removing_an_ejected_host_frees_its_share() {
        let mut d = OutlierDetector::new(istio(50), 2, Instant::ZERO);
        fail(&mut d, 0, 500, 5, Instant::ZERO);
        d.remove_host(0);
        assert_eq!((d.ejections_active(), d.total_hosts()), (0, 1));
        let h = d.add_host();
        fail(&mut d, h, 500, 5, Instant::ZERO);
        assert!(d.is_ejected(h));
    }

    proptest! {
        #[test]
        fn never_ejects_beyond_max_percent(
            hosts in 1usize..30,
            max_pct in 1i32..100,
            seed: u64,
            events in proptest::collection::vec((0usize..30, 0u8..4, 0u64..2_000), 1..400),
        ) {
            let mut d = OutlierDetector::new(istio(max_pct), hosts, Instant::ZERO);
            let mut rng = SplitMix64::new(seed);
            let mut ev = Vec::new();
            let mut t = 0u64;
            for (host, kind, dt) in events {
                t += dt;
                let report = match kind {
                    0 => HostReport::HttpStatus(200),
                    1 => HostReport::HttpStatus(503),
                    2 => HostReport::LocalOriginConnectFailed,
                    _ => HostReport::HttpStatus(500),
                };
                d.report(host % hosts, report, Instant::from_millis(t * 100), &mut rng, &mut ev);
                prop_assert!(d.ejections_active() * 100 <= max_pct as usize * hosts);
                prop_assert_eq!(d.ejections_active(), d.ejected_hosts().count());
            }
        }
    }
}
