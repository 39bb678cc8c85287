//! Setting the machines up for a scenario's destination: the mesh resolves
//! the destination as a request from `source` would, and the merged
//! DestinationRule policy configures the machines through
//! [`crate::resilience::from_policy`]. Each choice is described in one line
//! of the report's setup.

use super::format::{HostSpec, Scenario};
use crate::destination_rules::MergedRule;
use crate::duration::format_duration;
use crate::limits;
use crate::model::destination_rule::{
    LoadBalancerSettings, OutlierDetection, SimpleLb, TrafficPolicy,
};
use crate::model::Config;
use crate::resilience::balancer::hash::HashPolicy;
use crate::resilience::from_policy::{self, BalancerSetup};
use crate::resilience::pool::{Protocol, ISTIO_UNLIMITED};
use crate::resilience::{LbPolicy, OutlierConfig, PoolConfig};
use crate::Mesh;

/// The machines' configurations for one scenario, and how they came about.
#[derive(Debug)]
pub(super) struct Setup {
    pub lines: Vec<String>,
    pub hosts: Vec<HostSpec>,
    pub endpoint_port: Option<u32>,
    pub outlier: Option<OutlierConfig>,
    pub pool: PoolConfig,
    pub lb: BalancerSetup,
}

impl Setup {
    /// Refuses a configuration with load errors: a resource the scenario
    /// relies on may have been left out.
    pub fn build(s: &Scenario, config: &Config) -> Result<Setup, String> {
        let errors: Vec<String> = config.load_errors().map(|m| m.to_string()).collect();
        if !errors.is_empty() {
            return Err(format!(
                "the configuration has errors:\n{}",
                errors.join("\n")
            ));
        }
        let mesh = Mesh::compile(config);
        let (fqdn, _) = mesh.resolve_host(&s.host.to_ascii_lowercase(), &s.namespace);
        let service = mesh.registry().lookup(&fqdn, &s.namespace);
        let fqdn = service.map_or(fqdn, |svc| svc.hostname.to_string());
        let port = s
            .port
            .or_else(|| match service.map(|svc| svc.ports.as_slice()) {
                Some([only]) => Some(only.number),
                _ => None,
            });
        let service_port = port.and_then(|p| service.and_then(|svc| svc.port(p)));
        if let (Some(svc), Some(p)) = (service, port) {
            if service_port.is_none() && !svc.ports.is_empty() {
                return Err(format!(
                    "{fqdn} has no port {p}: Envoy has no such cluster (503 NC)"
                ));
            }
        }
        let rule: Option<&std::sync::Arc<MergedRule>> = mesh.destination_rules().lookup(
            &fqdn,
            &s.namespace,
            Some(&s.labels),
            service.map(|svc| svc.namespace.as_str()),
            &mesh.options().root_namespace,
        );
        let subset_def = match &s.subset {
            Some(name) => Some(rule.and_then(|r| r.subset(name)).ok_or_else(|| {
                format!(
                    "subset {name:?} is not defined in a DestinationRule for {fqdn}: Envoy has no such cluster (503 NC)"
                )
            })?),
            None => None,
        };
        let policy: Option<TrafficPolicy> = rule
            .and_then(|r| r.policy(port, s.subset.as_deref()))
            .map(|p| (*p).clone());
        let cluster = format!(
            "outbound|{}|{}|{}",
            port.map(|p| p.to_string()).unwrap_or_default(),
            s.subset.as_deref().unwrap_or(""),
            fqdn
        );
        let mut lines = vec![format!(
            "destination {cluster}: {}",
            match rule {
                Some(r) => format!("DestinationRule {}", r.names.join(", ")),
                None => "no DestinationRule (Istio's defaults)".to_string(),
            }
        )];
        let hosts: Vec<HostSpec> = match &s.hosts {
            Some(h) => {
                lines.push(format!("hosts (from the scenario): {}", describe_hosts(h)));
                h.clone()
            }
            None => {
                let svc = service.ok_or_else(|| {
                    format!(
                        "{fqdn} is not in the service registry and the scenario gives no `hosts`"
                    )
                })?;
                let selected: Vec<HostSpec> = match subset_def {
                    Some(def) => svc
                        .endpoints_matching(&def.labels)
                        .map(|e| HostSpec {
                            address: e.address.clone(),
                            weight: e.weight.max(1),
                        })
                        .collect(),
                    None => svc
                        .endpoints
                        .iter()
                        .map(|e| HostSpec {
                            address: e.address.clone(),
                            weight: e.weight.max(1),
                        })
                        .collect(),
                };
                if selected.is_empty() {
                    return Err(format!(
                        "{cluster} has no endpoints in the registry (503 UH); give `hosts:` in the scenario"
                    ));
                }
                let max_hosts = s.limits.max_scenario_hosts;
                if selected.len() > max_hosts {
                    return Err(format!(
                        "{cluster} has more than {max_hosts} endpoints ({})",
                        limits::hint("max_scenario_hosts", max_hosts as u64)
                    ));
                }
                lines.push(format!(
                    "hosts (the registry's endpoints{}): {}",
                    s.subset
                        .as_deref()
                        .map(|n| format!(" of subset {n}"))
                        .unwrap_or_default(),
                    describe_hosts(&selected)
                ));
                selected
            }
        };
        let policy = policy.unwrap_or_default();
        let outlier = from_policy::outlier_config(&policy).map_err(|e| e.to_string())?;
        lines.push(match (&outlier, &policy.outlier_detection) {
            (Some(c), Some(od)) => describe_outlier(c, od),
            _ => "outlier detection: off (the policy has no outlierDetection): no host is ever ejected"
                .to_string(),
        });
        let port_name = service_port.map(|p| p.name.as_str()).unwrap_or("");
        let pool = from_policy::pool_config(&policy, from_policy::port_name_is_http2(port_name));
        lines.push(describe_pool(&pool));
        let lb = from_policy::balancer(&policy);
        let panic = from_policy::panic_threshold(outlier.as_ref());
        lines.push(format!(
            "load balancer: {}; panic threshold {}",
            describe_balancer(&lb, &policy),
            if outlier.is_some() {
                if panic == 0 {
                    "0 (minHealthPercent unset: panic disabled, ejected hosts never take traffic)"
                        .to_string()
                } else {
                    format!("{panic}% (minHealthPercent): below it every host takes traffic again")
                }
            } else {
                "50% (Envoy's default; no host is ever unhealthy without outlier detection)"
                    .to_string()
            }
        ));
        Ok(Setup {
            lines,
            hosts,
            endpoint_port: service_port.and_then(|p| p.target_port).or(port),
            outlier,
            pool,
            lb,
        })
    }
}

pub(super) fn describe_hosts(hosts: &[HostSpec]) -> String {
    const SHOWN: usize = 20;
    let mut parts: Vec<String> = hosts
        .iter()
        .take(SHOWN)
        .map(|h| {
            if h.weight == 1 {
                h.address.clone()
            } else {
                format!("{} (weight {})", h.address, h.weight)
            }
        })
        .collect();
    if hosts.len() > SHOWN {
        parts.push(format!("... {} in all", hosts.len()));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn describe_outlier(c: &OutlierConfig, od: &OutlierDetection) -> String {
    let mut parts = Vec::new();
    if c.enforcing_consecutive_5xx > 0 && c.consecutive_5xx > 0 {
        parts.push(format!("eject after {} consecutive 5xx", c.consecutive_5xx));
    } else {
        parts.push("consecutive 5xx off".to_string());
    }
    if c.enforcing_consecutive_gateway_failure > 0 && c.consecutive_gateway_failure > 0 {
        parts.push(format!(
            "after {} consecutive gateway errors (502/503/504)",
            c.consecutive_gateway_failure
        ));
    }
    if c.split_external_local_origin_errors {
        parts.push(format!(
            "after {} consecutive local-origin failures (split from responses)",
            c.consecutive_local_origin_failure
        ));
    }
    parts.push(format!("interval {}", format_duration(c.interval)));
    parts.push(format!(
        "ejection {} x times ejected (at most {})",
        format_duration(c.base_ejection_time),
        format_duration(c.max_ejection_time)
    ));
    parts.push(format!(
        "maxEjectionPercent {}{}",
        c.max_ejection_percent,
        if od.max_ejection_percent.unwrap_or(0) > 0 {
            ""
        } else {
            " (Istio's default: with fewer than 10 hosts none can be ejected)"
        }
    ));
    format!("outlier detection: {}", parts.join(", "))
}

pub(super) fn limit(v: u64) -> String {
    if v >= ISTIO_UNLIMITED {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

fn describe_pool(c: &PoolConfig) -> String {
    format!(
        "connection pool ({}): maxConnections {}, http1MaxPendingRequests {}, http2MaxRequests {}, maxRequestsPerConnection {}",
        match c.protocol {
            Protocol::Http1 => "HTTP/1.1, one request per connection at a time".to_string(),
            Protocol::Http2 {
                max_concurrent_streams,
            } => format!("HTTP/2, {max_concurrent_streams} streams per connection"),
        },
        limit(c.max_connections),
        limit(c.max_pending_requests),
        limit(c.max_requests),
        c.max_requests_per_connection
            .map_or("unlimited".to_string(), |v| v.to_string()),
    )
}

/// The balancer in words: the algorithm and what a consistent hash reads.
fn describe_balancer(lb: &BalancerSetup, policy: &TrafficPolicy) -> String {
    let settings: Option<&LoadBalancerSettings> = policy.load_balancer.as_ref();
    let simple = settings.and_then(|l| l.simple);
    let algorithm = match lb.policy {
        LbPolicy::RoundRobin => "ROUND_ROBIN".to_string(),
        LbPolicy::Random => "RANDOM".to_string(),
        LbPolicy::Passthrough => {
            "PASSTHROUGH (to the original destination; no host is picked)".to_string()
        }
        LbPolicy::LeastRequest { .. } => match simple {
            Some(SimpleLb::LeastConn) => "LEAST_REQUEST (LEAST_CONN is its deprecated name)",
            Some(SimpleLb::LeastRequest) => "LEAST_REQUEST",
            _ => "LEAST_REQUEST (Istio's default)",
        }
        .to_string(),
        LbPolicy::RingHash {
            minimum_ring_size, ..
        } => format!("ring hash (minimum ring size {minimum_ring_size})"),
        LbPolicy::Maglev { table_size } => format!("Maglev (table {table_size})"),
    };
    if !matches!(
        lb.policy,
        LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. }
    ) {
        return algorithm;
    }
    let keys: Vec<String> = lb
        .hash
        .iter()
        .map(|h| match h {
            HashPolicy::Header(name) => format!("header {name}"),
            HashPolicy::Cookie { name, .. } => format!("cookie {name}"),
            HashPolicy::SourceIp => "source IP".to_string(),
            HashPolicy::QueryParameter(name) => format!("query parameter {name}"),
        })
        .collect();
    format!(
        "consistent hash, {algorithm}, on {}",
        if keys.is_empty() {
            "nothing (every pick hashes a random value)".to_string()
        } else {
            keys.join(" then ")
        }
    )
}
