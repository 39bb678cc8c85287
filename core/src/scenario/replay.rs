//! Replaying a scenario's events through the machines, writing the timeline
//! and checking each `expect` entry against the state at its time.

use super::format::{Counter, Event, EventKind, Expect, Outcome, RequestInput, Scenario};
use super::report::{ExpectResult, ScenarioReport, TimelineEntry};
use super::setup::{describe_hosts, limit, Setup};
use crate::duration::format_duration;
use crate::limits;
use crate::load::did_you_mean;
use crate::load::fields::Fields;
use crate::resilience::balancer::hash::{request_hash, HashInput};
use crate::resilience::from_policy::{self, BalancerSetup};
use crate::resilience::outlier::{grpc_status_to_http, Detection, HostReport, OutlierEventKind};
use crate::resilience::pool::{Overflow, Promotion, Protocol, RequestId, ISTIO_UNLIMITED};
use crate::resilience::time::duration_nanos;
use crate::resilience::{
    Admission, Balancer, ConnectionPool, Endpoint, HostId, Instant, OutlierConfig, OutlierDetector,
    OutlierEvent, Pick, PickContext, SplitMix64,
};
use crate::source::Location;
use serde_json::{json, Map, Value as Json};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

/// The machines and what has happened to them so far.
pub(super) struct Runner {
    names: Vec<String>,
    lines: Vec<String>,
    detector: Option<OutlierDetector>,
    pool: ConnectionPool,
    balancer: Balancer,
    lb: BalancerSetup,
    rng: SplitMix64,
    /// Running requests, oldest first.
    running: VecDeque<(RequestId, HostId)>,
    /// Queued requests, oldest first.
    pending: VecDeque<(RequestId, HostId)>,
    /// When each ejected host was ejected and for how long.
    ejections: Vec<Option<(Instant, Duration)>>,
    picks_time: Option<Duration>,
    picks: Vec<u64>,
    unpicked: u64,
    timeline: Vec<TimelineEntry>,
    now: Duration,
}

fn instant(d: Duration) -> Instant {
    Instant::from_nanos(duration_nanos(d))
}

fn since_start(i: Instant) -> Duration {
    Duration::from_nanos(i.as_nanos())
}

impl Runner {
    pub fn new(setup: Setup, s: &Scenario) -> Result<Runner, String> {
        let n = setup.hosts.len();
        let mut rng = SplitMix64::new(0);
        let endpoints: Vec<Endpoint> = setup
            .hosts
            .iter()
            .map(|h| Endpoint {
                address: match setup.endpoint_port {
                    Some(p) if !h.address.contains(':') => format!("{}:{p}", h.address),
                    _ => h.address.clone(),
                },
                weight: h.weight,
                ..Endpoint::default()
            })
            .collect();
        let panic = from_policy::panic_threshold(setup.outlier.as_ref());
        let balancer = Balancer::new(endpoints, setup.lb.policy, panic, &mut rng);
        if let Some(c) = &setup.outlier {
            let horizon = s
                .events
                .iter()
                .map(|e| e.at)
                .chain(s.expects.iter().map(|x| x.at))
                .max()
                .unwrap_or_default();
            let ticks = duration_nanos(horizon) / duration_nanos(c.interval).max(1);
            let work = ticks.saturating_mul(u64::try_from(n.max(1)).unwrap_or(u64::MAX));
            let max_work = s.limits.max_scenario_host_ticks;
            if work > max_work {
                return Err(format!(
                    "{}: the scenario spans {ticks} outlier-detection intervals over {n} hosts; at most {max_work} interval-hosts are replayed ({})",
                    s.file,
                    limits::hint("max_scenario_host_ticks", max_work)
                ));
            }
        }
        let names: Vec<String> = setup.hosts.iter().map(|h| h.address.clone()).collect();
        let fields = Fields::new(&s.file);
        let known = |name: &str, at: Location| -> Result<(), String> {
            if names.iter().any(|n| n == name) {
                Ok(())
            } else {
                let hint = did_you_mean(name, names.iter().map(String::as_str))
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                Err(format!(
                    "{}: {name} is not one of the destination's hosts ({}){hint}",
                    fields.at(at),
                    describe_hosts(&setup.hosts)
                ))
            }
        };
        for e in &s.events {
            if let Some(h) = &e.host {
                known(h, e.location)?;
            }
        }
        for x in &s.expects {
            for h in x.ejected.iter().flatten() {
                known(h, x.location)?;
            }
            for h in x.picks.iter().flat_map(|p| p.keys()) {
                known(h, x.location)?;
            }
        }
        Ok(Runner {
            detector: setup
                .outlier
                .clone()
                .map(|c| OutlierDetector::new(c, n, Instant::ZERO)),
            pool: ConnectionPool::new(setup.pool, n),
            balancer,
            lb: setup.lb,
            lines: setup.lines,
            rng,
            running: VecDeque::new(),
            pending: VecDeque::new(),
            ejections: vec![None; n],
            picks_time: None,
            picks: vec![0; n],
            unpicked: 0,
            timeline: Vec::new(),
            now: Duration::ZERO,
            names,
        })
    }

    pub fn replay(&mut self, s: &Scenario) -> Result<ScenarioReport, String> {
        let mut times: Vec<Duration> = s
            .events
            .iter()
            .map(|e| e.at)
            .chain(s.expects.iter().map(|x| x.at))
            .collect();
        times.sort_unstable();
        times.dedup();
        let mut results: Vec<Option<ExpectResult>> = vec![None; s.expects.len()];
        let mut events = s.events.iter().peekable();
        for t in times {
            self.advance(t);
            while let Some(e) = events.next_if(|e| e.at == t) {
                self.event(e)?;
            }
            for (slot, x) in results.iter_mut().zip(&s.expects) {
                if x.at == t {
                    *slot = Some(self.check(x));
                }
            }
        }
        Ok(ScenarioReport {
            setup: std::mem::take(&mut self.lines),
            timeline: std::mem::take(&mut self.timeline),
            results: results.into_iter().flatten().collect(),
        })
    }

    fn name(&self, h: HostId) -> &str {
        self.names.get(h).map_or("?", String::as_str)
    }

    fn host_id(&self, name: &str) -> Option<HostId> {
        self.names.iter().position(|n| n == name)
    }

    fn note(&mut self, at: Duration, text: String) {
        self.timeline.push(TimelineEntry { at, text });
    }

    /// Runs the interval ticks up to `t`, one at a time while they can
    /// change something, so each unejection and decay shows at its tick.
    fn advance(&mut self, t: Duration) {
        if self.picks_time != Some(t) {
            self.picks_time = Some(t);
            self.picks.iter_mut().for_each(|p| *p = 0);
            self.unpicked = 0;
        }
        self.now = t;
        let to = instant(t);
        let n = self.names.len();
        loop {
            let Some(d) = self.detector.as_mut() else {
                return;
            };
            let tick = d.next_tick();
            if tick > to {
                return;
            }
            let busy = d.ejections_active() > 0 || (0..n).any(|h| d.multiplier(h) > 0);
            let mut events = Vec::new();
            if !busy {
                d.advance_to(to, &mut events);
                return;
            }
            let before: Vec<u32> = (0..n).map(|h| d.multiplier(h)).collect();
            d.advance_to(tick, &mut events);
            let after: Vec<u32> = (0..n).map(|h| d.multiplier(h)).collect();
            let base = d.config().base_ejection_time;
            let max = d.config().max_ejection_time;
            self.outlier_events(&events);
            for (h, (b, a)) in before.iter().zip(&after).enumerate() {
                if a < b {
                    let next = base.saturating_mul(a.saturating_add(1)).min(max);
                    let text = format!(
                        "tick: {} ejection multiplier {b} -> {a} (healthy for a whole interval since it came back); a new ejection would last {}",
                        self.name(h),
                        format_duration(next)
                    );
                    self.note(since_start(tick), text);
                }
            }
        }
    }

    fn event(&mut self, e: &Event) -> Result<(), String> {
        match e.kind {
            EventKind::Result { result, repeat } => {
                let host = e.host.as_deref().and_then(|h| self.host_id(h));
                if let Some(h) = host {
                    self.result(h, result, repeat);
                }
            }
            EventKind::Start(n) => self.start(e, n),
            EventKind::Finish(n) => self.finish(e, n),
            EventKind::Pick(n) => self.pick(e, n),
        }
        Ok(())
    }

    fn result(&mut self, h: HostId, result: Outcome, repeat: u64) {
        let at = self.now;
        let now = instant(at);
        let shown = match result {
            Outcome::Status(c) => c.to_string(),
            Outcome::Grpc(c) => format!("gRPC status {c} (as HTTP {})", grpc_status_to_http(c)),
            Outcome::Reset => "reset".to_string(),
            Outcome::ConnectFailure => "connect failure".to_string(),
            Outcome::Timeout => "timeout".to_string(),
        };
        let times = if repeat == 1 {
            String::new()
        } else {
            format!(" x{repeat}")
        };
        let Some(d) = self.detector.as_mut() else {
            let text = format!(
                "{}: {shown}{times} (outlier detection off: results change nothing)",
                self.name(h)
            );
            self.note(at, text);
            return;
        };
        let reports: &[HostReport] = match result {
            Outcome::Status(_) | Outcome::Grpc(_) => &[HostReport::LocalOriginConnectSuccess],
            Outcome::Reset => &[
                HostReport::LocalOriginConnectSuccess,
                HostReport::LocalOriginConnectFailed,
            ],
            Outcome::ConnectFailure => &[HostReport::LocalOriginConnectFailed],
            Outcome::Timeout => &[
                HostReport::LocalOriginConnectSuccess,
                HostReport::LocalOriginTimeout,
            ],
        };
        let status = match result {
            Outcome::Status(c) => Some(HostReport::HttpStatus(c)),
            Outcome::Grpc(c) => Some(HostReport::HttpStatus(grpc_status_to_http(c))),
            _ => None,
        };
        let mut events = Vec::new();
        for _ in 0..repeat {
            for r in reports.iter().copied().chain(status) {
                d.report(h, r, now, &mut self.rng, &mut events);
            }
        }
        let c = d.config().clone();
        let counts = d.consecutive_counts(h).unwrap_or_default();
        let mut streaks = Vec::new();
        if c.enforcing_consecutive_5xx > 0 && c.consecutive_5xx > 0 {
            streaks.push(format!("5xx {}/{}", counts.0, c.consecutive_5xx));
        }
        if c.enforcing_consecutive_gateway_failure > 0 && c.consecutive_gateway_failure > 0 {
            streaks.push(format!(
                "gateway errors {}/{}",
                counts.1, c.consecutive_gateway_failure
            ));
        }
        if c.split_external_local_origin_errors {
            streaks.push(format!(
                "local-origin failures {}/{}",
                counts.2, c.consecutive_local_origin_failure
            ));
        }
        let mut text = format!("{}: {shown}{times}", self.name(h));
        if !streaks.is_empty() && events.is_empty() {
            let _ = write!(text, "; consecutive {} now", streaks.join(", "));
        }
        if c.split_external_local_origin_errors
            && matches!(result, Outcome::Reset | Outcome::Timeout)
        {
            text.push_str(
                " (split mode: the connection succeeded first, which resets the local-origin count)",
            );
        }
        if self.ejections.get(h).is_some_and(Option::is_some) && events.is_empty() {
            text.push_str(" (ejected: counted, cannot eject it again)");
        }
        self.note(at, text);
        self.outlier_events(&events);
    }

    fn outlier_events(&mut self, events: &[OutlierEvent]) {
        if events.is_empty() {
            return;
        }
        let Some((config, total)) = self
            .detector
            .as_ref()
            .map(|d| (d.config().clone(), d.total_hosts()))
        else {
            return;
        };
        for ev in events {
            let at = since_start(ev.at);
            let host = self.name(ev.host).to_string();
            let text = match ev.kind {
                OutlierEventKind::Ejected {
                    cause,
                    duration,
                    multiplier,
                } => {
                    if let Some(slot) = self.ejections.get_mut(ev.host) {
                        *slot = Some((ev.at, duration));
                    }
                    let ejected_now = self
                        .detector
                        .as_ref()
                        .map_or(0, OutlierDetector::ejections_active);
                    format!(
                        "EJECTED {host} ({}): out for {} (base {} x {multiplier}), back at the first interval tick at or after {}; {ejected_now} of {total} hosts ejected",
                        cause_text(cause, &config),
                        format_duration(duration),
                        format_duration(config.base_ejection_time),
                        format_duration(at.saturating_add(duration)),
                    )
                }
                OutlierEventKind::EjectionOverflow { cause } => {
                    let ejected = self
                        .detector
                        .as_ref()
                        .map_or(0, OutlierDetector::ejections_active);
                    format!(
                        "NOT EJECTED {host}: {}{} detected, but maxEjectionPercent {} forbids it: {} of {total} hosts would be out ({:.1}% > {}%), counted in ejectionsOverflow",
                        cause_text(cause, &config),
                        if enforcing(cause, &config) == 0 {
                            " (an unenforced detector)"
                        } else {
                            ""
                        },
                        config.max_ejection_percent,
                        ejected + 1,
                        100.0 * (ejected as f64 + 1.0) / (total.max(1) as f64),
                        config.max_ejection_percent
                    )
                }
                OutlierEventKind::NotEnforced { cause } => format!(
                    "{host}: {} counted too, but that detector is not enforced: Istio enforces it only when {} is set above 0",
                    cause_text(cause, &config),
                    istio_field(cause)
                ),
                OutlierEventKind::Unejected { ejected_for } => {
                    let since = self.ejections.get_mut(ev.host).and_then(Option::take);
                    match since {
                        Some((when, dur)) => format!(
                            "BACK {host}: interval tick after {} out (ejected at {} for {}, which ran out at {}; only a tick brings a host back)",
                            format_duration(ejected_for),
                            format_duration(since_start(when)),
                            format_duration(dur),
                            format_duration(since_start(when).saturating_add(dur)),
                        ),
                        None => format!(
                            "BACK {host}: interval tick after {} out",
                            format_duration(ejected_for)
                        ),
                    }
                }
            };
            self.note(at, text);
        }
        let changed = events.iter().any(|e| {
            matches!(
                e.kind,
                OutlierEventKind::Ejected { .. } | OutlierEventKind::Unejected { .. }
            )
        });
        if changed {
            self.sync_health(events.last().map_or(self.now, |e| since_start(e.at)));
        }
    }

    fn sync_health(&mut self, at: Duration) {
        let Some(d) = self.detector.as_ref() else {
            return;
        };
        let was_panic = self.balancer.in_panic();
        self.balancer.sync_health(d);
        let total = self.names.len();
        let healthy = total.saturating_sub(d.ejections_active());
        let threshold = d.config().healthy_panic_threshold;
        let text = if self.balancer.in_panic() {
            Some(format!(
                "PANIC: {healthy} of {total} hosts healthy, below minHealthPercent {threshold}%: the load balancer uses every host, ejected ones too"
            ))
        } else if was_panic {
            Some(format!(
                "panic over: {healthy} of {total} hosts healthy (minHealthPercent {threshold}%): ejected hosts get no traffic again"
            ))
        } else if healthy == 0 && total > 0 {
            Some(format!(
                "every host is ejected and panic is {}: requests fail with 503 UH (no healthy upstream) until a host comes back",
                if threshold == 0 {
                    "disabled (minHealthPercent 0)".to_string()
                } else {
                    format!("at {threshold}%")
                }
            ))
        } else {
            None
        };
        if let Some(text) = text {
            self.note(at, text);
        }
    }

    fn stream(&self, seed: Option<u64>) -> Option<SplitMix64> {
        seed.map(SplitMix64::new)
    }

    fn pick_one(&mut self, ctx: PickContext, own: &mut Option<SplitMix64>) -> Pick {
        match own.as_mut() {
            Some(r) => self.balancer.pick(ctx, r),
            None => self.balancer.pick(ctx, &mut self.rng),
        }
    }

    fn hash_of(&self, input: &RequestInput) -> Option<u64> {
        if self.lb.hash.is_empty() {
            return None;
        }
        let headers: Vec<(&str, &str)> = input
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request_hash(
            &self.lb.hash,
            &HashInput {
                headers: &headers,
                query: input.query.as_deref(),
                source_ip: input.source_ip.as_deref(),
                ..HashInput::default()
            },
        )
        .hash
    }

    fn pick(&mut self, e: &Event, n: u64) {
        let mut own = self.stream(e.seed);
        let hash = self.hash_of(&e.request);
        let mut counts = vec![0u64; self.names.len()];
        let (mut unpicked, mut passthrough) = (0u64, 0u64);
        for _ in 0..n {
            match self.pick_one(PickContext { hash, attempt: 0 }, &mut own) {
                Pick::Host(h) => {
                    if let Some(c) = counts.get_mut(h) {
                        *c += 1;
                    }
                }
                Pick::NoHost => unpicked += 1,
                Pick::OriginalDestination => passthrough += 1,
            }
        }
        for (total, c) in self.picks.iter_mut().zip(&counts) {
            *total += c;
        }
        self.unpicked += unpicked;
        let mut text = format!("pick x{n}");
        if let Some(seed) = e.seed {
            let _ = write!(text, " (seed {seed})");
        }
        if !self.lb.hash.is_empty() {
            text.push_str(match hash {
                Some(_) => " (one request hash for all)",
                None => " (no hash key in the request: a random hash per pick)",
            });
        }
        let landed: Vec<String> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(h, c)| format!("{}: {c}", self.name(h)))
            .collect();
        let _ = write!(
            text,
            ": {}",
            if landed.is_empty() {
                "no host".to_string()
            } else {
                landed.join(", ")
            }
        );
        if unpicked > 0 {
            let _ = write!(
                text,
                "; {unpicked} found no host (503 UH, no healthy upstream)"
            );
        }
        if passthrough > 0 {
            let _ = write!(
                text,
                "; {passthrough} go to their original destination (PASSTHROUGH)"
            );
        }
        let ejected: Vec<&str> = self
            .detector
            .iter()
            .flat_map(|d| d.ejected_hosts())
            .map(|h| self.name(h))
            .collect();
        if !ejected.is_empty() {
            let _ = write!(
                text,
                "; ejected{}: {}",
                if self.balancer.in_panic() {
                    " (in panic, so picked too)"
                } else {
                    " (not picked)"
                },
                ejected.join(", ")
            );
        }
        let at = self.now;
        self.note(at, text);
    }

    fn start(&mut self, e: &Event, n: u64) {
        let at = self.now;
        let fixed = e.host.as_deref().and_then(|h| self.host_id(h));
        let mut own = self.stream(e.seed);
        let hash = self.hash_of(&e.request);
        let mut running = vec![0u64; self.names.len()];
        let mut queued = vec![0u64; self.names.len()];
        let (mut no_host, mut passthrough) = (0u64, 0u64);
        let mut overflow_notes: Vec<String> = Vec::new();
        let (mut active_overflow, mut pending_overflow) = (0u64, 0u64);
        for _ in 0..n {
            let h = match fixed {
                Some(h) => h,
                None => match self.pick_one(PickContext { hash, attempt: 0 }, &mut own) {
                    Pick::Host(h) => h,
                    Pick::NoHost => {
                        no_host += 1;
                        continue;
                    }
                    Pick::OriginalDestination => {
                        passthrough += 1;
                        continue;
                    }
                },
            };
            let stats = self.pool.stats();
            match self.pool.start(h) {
                Ok(Admission::Active(id)) => {
                    self.running.push_back((id, h));
                    self.balancer.request_started(h);
                    if let Some(c) = running.get_mut(h) {
                        *c += 1;
                    }
                }
                Ok(Admission::Pending(id)) => {
                    self.pending.push_back((id, h));
                    if let Some(c) = queued.get_mut(h) {
                        *c += 1;
                    }
                }
                Ok(Admission::Overflow(kind)) => {
                    let first = match kind {
                        Overflow::Active => {
                            active_overflow += 1;
                            active_overflow == 1
                        }
                        Overflow::Pending => {
                            pending_overflow += 1;
                            pending_overflow == 1
                        }
                    };
                    if first {
                        overflow_notes.push(self.overflow_reason(kind, &stats));
                    }
                }
                Err(_) => no_host += 1,
            }
        }
        let mut text = format!("start x{n}");
        let mut parts = Vec::new();
        let per_host = |counts: &[u64], names: &[String]| -> String {
            counts
                .iter()
                .zip(names)
                .filter(|(c, _)| **c > 0)
                .map(|(c, name)| format!("{name}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let run_total: u64 = running.iter().sum();
        if run_total > 0 {
            parts.push(format!(
                "{run_total} running ({})",
                per_host(&running, &self.names)
            ));
        }
        let queue_total: u64 = queued.iter().sum();
        if queue_total > 0 {
            parts.push(format!(
                "{queue_total} waiting for a connection ({})",
                per_host(&queued, &self.names)
            ));
        }
        let overflowed = active_overflow + pending_overflow;
        if overflowed > 0 {
            parts.push(format!(
                "{overflowed} OVERFLOWED with 503 UO at once: {}",
                overflow_notes.join("; ")
            ));
        }
        if no_host > 0 {
            parts.push(format!("{no_host} found no healthy host (503 UH)"));
        }
        if passthrough > 0 {
            parts.push(format!(
                "{passthrough} went to their original destination (PASSTHROUGH, not modelled)"
            ));
        }
        let _ = write!(text, ": {}", parts.join("; "));
        self.note(at, text);
    }

    /// Why a request overflowed, with the counts that made it.
    fn overflow_reason(
        &self,
        kind: Overflow,
        before: &crate::resilience::pool::PoolStats,
    ) -> String {
        let c = self.pool.config();
        match kind {
            Overflow::Active => format!(
                "http2MaxRequests {} reached, {} requests already active across the cluster's hosts{}",
                limit(c.max_requests),
                before.active,
                if c.protocol == Protocol::Http1 {
                    "; the limit counts HTTP/1.1 requests too"
                } else {
                    ""
                }
            ),
            Overflow::Pending => {
                let mut s = format!(
                    "http1MaxPendingRequests {} reached, {} requests already waiting for a connection",
                    limit(c.max_pending_requests),
                    before.pending
                );
                if before.connections >= c.max_connections {
                    let _ = write!(
                        s,
                        ", and maxConnections {} allows no new connection{}",
                        limit(c.max_connections),
                        if c.protocol == Protocol::Http1 {
                            " (HTTP/1.1 runs one request per connection)"
                        } else {
                            ""
                        }
                    );
                }
                if c.max_requests < ISTIO_UNLIMITED {
                    let _ = write!(
                        s,
                        "; this is before http2MaxRequests {} is reached",
                        c.max_requests
                    );
                }
                s
            }
        }
    }

    fn finish(&mut self, e: &Event, n: u64) {
        let at = self.now;
        let only = e.host.as_deref().and_then(|h| self.host_id(h));
        let mut ended = vec![0u64; self.names.len()];
        let mut ended_total = 0u64;
        let (mut promoted, mut promoted_overflow) = (0u64, 0u64);
        for _ in 0..n {
            let position = self
                .running
                .iter()
                .position(|(_, h)| only.is_none_or(|o| o == *h));
            let Some((id, h)) = position.and_then(|p| self.running.remove(p)) else {
                break;
            };
            let Ok(promotions) = self.pool.finish(id) else {
                continue;
            };
            self.balancer.request_finished(h);
            ended_total += 1;
            if let Some(c) = ended.get_mut(h) {
                *c += 1;
            }
            for p in promotions {
                match p {
                    Promotion::Active(pid) => {
                        if let Some(pos) = self.pending.iter().position(|(q, _)| *q == pid) {
                            if let Some((q, qh)) = self.pending.remove(pos) {
                                self.running.push_back((q, qh));
                                self.balancer.request_started(qh);
                            }
                        }
                        promoted += 1;
                    }
                    Promotion::Overflow(pid) => {
                        self.pending.retain(|(q, _)| *q != pid);
                        promoted_overflow += 1;
                    }
                }
            }
        }
        let mut text = format!("finish x{n}: {ended_total} ended");
        let names: Vec<String> = ended
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(h, c)| format!("{}: {c}", self.name(h)))
            .collect();
        if !names.is_empty() {
            let _ = write!(text, " ({})", names.join(", "));
        }
        if ended_total < n {
            let _ = write!(
                text,
                "; only {ended_total} {}running",
                match e.host.as_deref() {
                    Some(h) => format!("request(s) to {h} were "),
                    None => "request(s) were ".to_string(),
                }
            );
        }
        if promoted > 0 {
            let _ = write!(
                text,
                "; {promoted} waiting request(s) got the freed connection and run now"
            );
        }
        if promoted_overflow > 0 {
            let _ = write!(
                text,
                "; {promoted_overflow} waiting request(s) overflowed (503 UO): http2MaxRequests reached"
            );
        }
        self.note(at, text);
    }

    fn check(&self, x: &Expect) -> ExpectResult {
        let mut actual = Map::new();
        let mut passed = true;
        if let Some(want) = &x.ejected {
            let got: Vec<String> = self
                .detector
                .iter()
                .flat_map(|d| d.ejected_hosts())
                .map(|h| self.name(h).to_string())
                .collect();
            let mut a = got.clone();
            let mut b = want.clone();
            a.sort();
            b.sort();
            b.dedup();
            passed &= a == b;
            actual.insert("ejected".into(), json!(got));
        }
        for (counter, want) in &x.counters {
            let (key, got) = self.counter(*counter);
            passed &= got == *want;
            actual.insert(key.into(), json!(got));
        }
        if let Some(want) = &x.picks {
            let mut got = Map::new();
            let mut ok = true;
            for (h, name) in self.names.iter().enumerate() {
                let count = if self.picks_time == Some(x.at) {
                    self.picks.get(h).copied().unwrap_or(0)
                } else {
                    0
                };
                let expected = want.get(name).copied().unwrap_or(0);
                ok &= count == expected;
                if count > 0 || want.contains_key(name) {
                    got.insert(name.clone(), json!(count));
                }
            }
            passed &= ok;
            actual.insert("picks".into(), Json::Object(got));
        }
        // Keep the expected key order in `actual`.
        let ordered: Map<String, Json> = match &x.expected {
            Json::Object(m) => m
                .keys()
                .filter_map(|k| actual.get(k).map(|v| (k.clone(), v.clone())))
                .collect(),
            _ => actual,
        };
        ExpectResult {
            at: x.at,
            line: x.location.line,
            location: x.location,
            expected: x.expected.clone(),
            actual: Json::Object(ordered),
            passed,
        }
    }

    fn counter(&self, c: Counter) -> (&'static str, u64) {
        let stats = self.pool.stats();
        match c {
            Counter::Admitted => ("admitted", stats.admitted),
            Counter::Overflowed => ("overflowed", stats.overflowed),
            Counter::EjectionsOverflow => (
                "ejectionsOverflow",
                self.detector
                    .as_ref()
                    .map_or(0, |d| d.stats().ejections_overflow),
            ),
            Counter::Active => ("active", stats.active),
            Counter::Pending => ("pending", stats.pending),
            Counter::Unpicked => (
                "unpicked",
                if self.picks_time == Some(self.now) {
                    self.unpicked
                } else {
                    0
                },
            ),
        }
    }
}

fn enforcing(cause: Detection, c: &OutlierConfig) -> u32 {
    match cause {
        Detection::Consecutive5xx => c.enforcing_consecutive_5xx,
        Detection::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
        Detection::ConsecutiveLocalOriginFailure => c.enforcing_consecutive_local_origin_failure,
    }
}

fn istio_field(cause: Detection) -> &'static str {
    match cause {
        Detection::Consecutive5xx => "consecutive5xxErrors",
        Detection::ConsecutiveGatewayFailure => "consecutiveGatewayErrors",
        Detection::ConsecutiveLocalOriginFailure => "consecutiveLocalOriginFailures",
    }
}

fn cause_text(cause: Detection, c: &OutlierConfig) -> String {
    match cause {
        Detection::Consecutive5xx => format!("{} consecutive 5xx", c.consecutive_5xx),
        Detection::ConsecutiveGatewayFailure => format!(
            "{} consecutive gateway errors",
            c.consecutive_gateway_failure
        ),
        Detection::ConsecutiveLocalOriginFailure => format!(
            "{} consecutive local-origin failures",
            c.consecutive_local_origin_failure
        ),
    }
}
