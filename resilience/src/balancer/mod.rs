//! Load balancing over one cluster's endpoints (Envoy's load balancers as
//! Istio configures them), single priority.
//!
//! Health comes from the caller (usually the [`OutlierDetector`]): ejected
//! hosts leave the healthy set. Panic (Envoy, one priority): with
//! `health = min(100, ⌊140·healthy/total⌋)`, the set is in panic when the
//! threshold `T > 0`, `health < 100` and `100·healthy/total < T`; then every
//! host is used. Otherwise only healthy hosts; none → [`Pick::NoHost`]
//! (503 `no healthy upstream`, flag `UH`).
//!
//! Randomness per pick (what Envoy draws):
//! * ROUND_ROBIN: 1 (priority choice); weighted (EDF) also 1.
//! * LEAST_REQUEST, equal weights: 1 (priority) + `choice_count` samples;
//!   unequal weights (EDF): 1.
//! * RANDOM: 1, used for both priority and host.
//! * RING_HASH / MAGLEV: 0 with a request hash, 1 without (it becomes the hash).
//! * PASSTHROUGH: 0.
//!
//! Building a ROUND_ROBIN or LEAST_REQUEST balancer draws one value (the
//! per-balancer `seed`: start index / EDF start offset); other policies draw none.
//!
//! [`OutlierDetector`]: super::outlier::OutlierDetector

pub mod hash;
pub mod maglev;
pub mod ring_hash;
pub mod round_robin;

use super::outlier::{HostId, OutlierDetector};
use super::random::Random;
use maglev::MaglevTable;
use ring_hash::Ring;
use round_robin::Edf;
use std::collections::BTreeMap;

/// One upstream endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    /// `ip:port` (IPv6 as `[addr]:port`): the key ring hash and Maglev hash.
    pub address: String,
    /// Load-balancing weight (0 is treated as 1).
    pub weight: u32,
    /// Endpoint labels.
    pub labels: BTreeMap<String, String>,
    /// `region/zone/subzone`.
    pub locality: String,
}

impl Endpoint {
    /// An endpoint with weight 1 and no labels.
    pub fn new(address: impl Into<String>) -> Endpoint {
        Endpoint {
            address: address.into(),
            weight: 1,
            ..Endpoint::default()
        }
    }
}

/// The load-balancing algorithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LbPolicy {
    /// `ROUND_ROBIN`.
    RoundRobin,
    /// `LEAST_REQUEST` (Istio's default; `LEAST_CONN` and `UNSPECIFIED` map here).
    LeastRequest {
        /// Samples per pick (Envoy default 2).
        choice_count: u32,
        /// `active_request_bias` for unequal weights (Envoy default 1.0).
        active_request_bias: f64,
    },
    /// `RANDOM` (weights ignored).
    Random,
    /// `PASSTHROUGH`: Envoy ORIGINAL_DST, no pick.
    Passthrough,
    /// Ring hash.
    RingHash {
        /// `minimum_ring_size` (default 1024).
        minimum_ring_size: u64,
        /// `maximum_ring_size` (default 8 Mi).
        maximum_ring_size: u64,
    },
    /// Maglev.
    Maglev {
        /// Table size (prime; default 65537).
        table_size: u64,
    },
}

impl LbPolicy {
    /// Istio's default, `LEAST_REQUEST` with Envoy's defaults.
    pub const LEAST_REQUEST: LbPolicy = LbPolicy::LeastRequest {
        choice_count: 2,
        active_request_bias: 1.0,
    };
    /// Ring hash with Envoy's default sizes.
    pub const RING_HASH: LbPolicy = LbPolicy::RingHash {
        minimum_ring_size: ring_hash::DEFAULT_MINIMUM_RING_SIZE,
        maximum_ring_size: ring_hash::DEFAULT_MAXIMUM_RING_SIZE,
    };
    /// Maglev with the default table size.
    pub const MAGLEV: LbPolicy = LbPolicy::Maglev {
        table_size: maglev::DEFAULT_TABLE_SIZE,
    };
}

/// The result of a pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// This host.
    Host(HostId),
    /// No host available (`unpicked` in scenarios; 503 `UH`).
    NoHost,
    /// PASSTHROUGH: connect to the request's original destination.
    OriginalDestination,
}

/// Per-pick inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PickContext {
    /// The request hash (ring hash / Maglev); `None` = draw one.
    pub hash: Option<u64>,
    /// Host re-selection attempt (0 for the first pick).
    pub attempt: u32,
}

#[derive(Debug, Clone, Default)]
struct Source {
    hosts: Vec<HostId>,
    rr_index: u64,
    edf: Option<Edf>,
    ring: Option<Ring>,
    maglev: Option<MaglevTable>,
}

/// A load balancer over one cluster.
#[derive(Debug, Clone)]
pub struct Balancer {
    endpoints: Vec<Endpoint>,
    unhealthy: Vec<bool>,
    active: Vec<u32>,
    policy: LbPolicy,
    panic_threshold: u32,
    seed: u64,
    healthy: Source,
    all: Source,
    in_panic: bool,
}

impl Balancer {
    /// A balancer over `endpoints` (all healthy), with the cluster's panic
    /// threshold in percent (Envoy default 50; Istio with outlier detection:
    /// `minHealthPercent`, default 0 = never panic). See the module doc for
    /// the randomness drawn.
    pub fn new(
        endpoints: Vec<Endpoint>,
        policy: LbPolicy,
        panic_threshold: u32,
        rng: &mut impl Random,
    ) -> Balancer {
        let seed = match policy {
            LbPolicy::RoundRobin | LbPolicy::LeastRequest { .. } => rng.next_u64(),
            _ => 0,
        };
        let n = endpoints.len();
        let mut b = Balancer {
            endpoints,
            unhealthy: vec![false; n],
            active: vec![0; n],
            policy,
            panic_threshold,
            seed,
            healthy: Source {
                rr_index: seed,
                ..Source::default()
            },
            all: Source {
                rr_index: seed,
                ..Source::default()
            },
            in_panic: false,
        };
        b.rebuild();
        b
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Whether the host set is in panic (all hosts used).
    pub fn in_panic(&self) -> bool {
        self.in_panic
    }

    /// Mark `host` unhealthy (ejected) or healthy; rebuilds the host sets on change.
    pub fn set_unhealthy(&mut self, host: HostId, unhealthy: bool) {
        if let Some(u) = self.unhealthy.get_mut(host) {
            if *u != unhealthy {
                *u = unhealthy;
                self.rebuild();
            }
        }
    }

    /// Take every host's health from a detector (ejected = unhealthy).
    pub fn sync_health(&mut self, detector: &OutlierDetector) {
        let changed = (0..self.endpoints.len())
            .any(|h| self.unhealthy.get(h).copied() != Some(detector.is_ejected(h)));
        if changed {
            for (h, u) in self.unhealthy.iter_mut().enumerate() {
                *u = detector.is_ejected(h);
            }
            self.rebuild();
        }
    }

    /// A request to `host` started (least request counts in-flight requests).
    pub fn request_started(&mut self, host: HostId) {
        if let Some(a) = self.active.get_mut(host) {
            *a = a.saturating_add(1);
        }
    }

    /// A request to `host` ended.
    pub fn request_finished(&mut self, host: HostId) {
        if let Some(a) = self.active.get_mut(host) {
            *a = a.saturating_sub(1);
        }
    }

    fn weight(&self, h: HostId) -> u32 {
        self.endpoints.get(h).map_or(1, |e| e.weight.max(1))
    }

    fn rebuild(&mut self) {
        let total = self.endpoints.len();
        let healthy: Vec<HostId> = (0..total)
            .filter(|h| !self.unhealthy.get(*h).copied().unwrap_or(false))
            .collect();
        let health = (140 * healthy.len())
            .checked_div(total)
            .unwrap_or(0)
            .min(100);
        self.in_panic = total > 0
            && self.panic_threshold > 0
            && health < 100
            && (100 * healthy.len()) < (self.panic_threshold as usize) * total;
        let all: Vec<HostId> = (0..total).collect();
        let healthy_source = self.build_source(healthy, self.healthy.rr_index);
        let all_source = if self.in_panic || self.all.hosts.len() != total {
            self.build_source(all, self.all.rr_index)
        } else {
            std::mem::take(&mut self.all)
        };
        self.healthy = healthy_source;
        self.all = all_source;
    }

    fn build_source(&self, hosts: Vec<HostId>, rr_index: u64) -> Source {
        let weighted = hosts
            .windows(2)
            .any(|w| self.weight(w[0]) != self.weight(w[1]));
        let keyed: Vec<(HostId, &str, u32)> = match self.policy {
            LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. } => hosts
                .iter()
                .filter_map(|h| {
                    self.endpoints
                        .get(*h)
                        .map(|e| (*h, e.address.as_str(), e.weight.max(1)))
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut s = Source {
            rr_index,
            ..Source::default()
        };
        match self.policy {
            LbPolicy::RoundRobin | LbPolicy::LeastRequest { .. } if weighted => {
                let w: Vec<(HostId, f64)> =
                    hosts.iter().map(|h| (*h, self.edf_weight(*h))).collect();
                s.edf = Some(Edf::with_prepicks(&w, self.seed));
            }
            LbPolicy::RingHash {
                minimum_ring_size,
                maximum_ring_size,
            } => {
                s.ring = Some(Ring::build(&keyed, minimum_ring_size, maximum_ring_size));
            }
            LbPolicy::Maglev { table_size } => {
                s.maglev = Some(MaglevTable::build(&keyed, table_size))
            }
            _ => {}
        }
        s.hosts = hosts;
        s
    }

    fn edf_weight(&self, h: HostId) -> f64 {
        let w = f64::from(self.weight(h));
        match self.policy {
            LbPolicy::LeastRequest {
                active_request_bias,
                ..
            } => {
                let active = f64::from(self.active.get(h).copied().unwrap_or(0));
                if active_request_bias == 1.0 {
                    w / (active + 1.0)
                } else if active_request_bias == 0.0 {
                    w
                } else {
                    w / (active + 1.0).powf(active_request_bias)
                }
            }
            _ => w,
        }
    }

    /// Pick a host for one request (see the module doc for randomness).
    pub fn pick(&mut self, ctx: PickContext, rng: &mut impl Random) -> Pick {
        let policy = self.policy;
        if policy == LbPolicy::Passthrough {
            return Pick::OriginalDestination;
        }
        let in_panic = self.in_panic;
        // Hash-based policies use the request hash (or one draw) for priority and host.
        let value = match (policy, ctx.hash) {
            (LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. }, Some(h)) => h,
            _ => rng.next_u64(),
        };
        let active = &self.active;
        let source = if in_panic {
            &mut self.all
        } else {
            &mut self.healthy
        };
        let n = source.hosts.len() as u64;
        if n == 0 {
            return Pick::NoHost;
        }
        let picked = match policy {
            LbPolicy::RoundRobin | LbPolicy::LeastRequest { .. } if source.edf.is_some() => {
                let endpoints = &self.endpoints;
                let w = |h: HostId| -> f64 {
                    let base = f64::from(endpoints.get(h).map_or(1, |e| e.weight.max(1)));
                    match policy {
                        LbPolicy::LeastRequest {
                            active_request_bias,
                            ..
                        } => {
                            let a = f64::from(active.get(h).copied().unwrap_or(0)) + 1.0;
                            if active_request_bias == 1.0 {
                                base / a
                            } else {
                                base / a.powf(active_request_bias)
                            }
                        }
                        _ => base,
                    }
                };
                source.edf.as_mut().and_then(|e| e.pick_and_add(w))
            }
            LbPolicy::RoundRobin => {
                let i = source.rr_index;
                source.rr_index = source.rr_index.wrapping_add(1);
                source.hosts.get((i % n) as usize).copied()
            }
            LbPolicy::LeastRequest { choice_count, .. } => {
                let mut candidate: Option<HostId> = None;
                for _ in 0..choice_count.max(1) {
                    let sampled = source.hosts.get((rng.next_u64() % n) as usize).copied();
                    candidate = match (candidate, sampled) {
                        (None, s) => s,
                        (Some(c), Some(s)) if active.get(s) < active.get(c) => Some(s),
                        (c, _) => c,
                    };
                }
                candidate
            }
            LbPolicy::Random => source.hosts.get((value % n) as usize).copied(),
            LbPolicy::RingHash { .. } => source
                .ring
                .as_ref()
                .and_then(|r| r.pick(value, ctx.attempt)),
            LbPolicy::Maglev { .. } => source
                .maglev
                .as_ref()
                .and_then(|m| m.pick(value, ctx.attempt)),
            LbPolicy::Passthrough => None,
        };
        picked.map_or(Pick::NoHost, Pick::Host)
    }
}

#[cfg(test)]
mod tests;
