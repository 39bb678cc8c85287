//! A DestinationRule `TrafficPolicy` mapped onto the machines'
//! configurations, as Istio's cluster builder maps it onto an Envoy cluster
//! (istio/istio `pilot/pkg/networking/core/cluster_traffic_policy.go`:
//! `applyOutlierDetection`, `applyConnectionPool` with `shouldH2Upgrade`,
//! `applyLoadBalancer` with `ApplyRingHashLoadBalancer`).
//!
//! The policy given is the one in force for the destination: the merged
//! DestinationRule's policy for the port and subset
//! ([`crate::destination_rules::MergedRule::policy`], or a decision's
//! `Destination.policy`). Every binding and the scenario runner configure the
//! machines through these functions.

use super::balancer::hash::HashPolicy;
use super::balancer::{maglev, ring_hash, LbPolicy};
use super::outlier::{IstioOutlierDetection, OutlierConfig};
use super::pool::{IstioConnectionPool, PoolConfig};
use crate::duration::{parse_duration, DurationError};
use crate::model::destination_rule::{
    H2UpgradePolicy, LoadBalancerSettings, OutlierDetection, SimpleLb, TrafficPolicy,
};

/// A policy value the machines cannot take (a duration that does not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct PolicyError {
    /// The field, from the traffic policy (`outlierDetection.interval`).
    pub field: &'static str,
    /// Why its value was refused.
    pub error: DurationError,
}

/// Outlier detection for the policy; `None` when the policy has no
/// `outlierDetection` block: Istio then configures none, so no host is ever
/// ejected (`applyOutlierDetection` returns early).
pub fn outlier_config(policy: &TrafficPolicy) -> Result<Option<OutlierConfig>, PolicyError> {
    policy
        .outlier_detection
        .as_ref()
        .map(outlier_config_of)
        .transpose()
}

/// Outlier detection for a present `outlierDetection` block.
///
/// A negative `minHealthPercent` leaves Envoy's default panic threshold
/// (50%): Istio sets `healthy_panic_threshold` only when the value is >= 0.
pub fn outlier_config_of(od: &OutlierDetection) -> Result<OutlierConfig, PolicyError> {
    let duration = |value: &Option<String>, field| match value {
        Some(text) => parse_duration(text)
            .map(Some)
            .map_err(|error| PolicyError { field, error }),
        None => Ok(None),
    };
    let istio = IstioOutlierDetection {
        consecutive_5xx_errors: od.consecutive_5xx_errors,
        consecutive_gateway_errors: od.consecutive_gateway_errors,
        split_external_local_origin_errors: od.split_external_local_origin_errors.unwrap_or(false),
        consecutive_local_origin_failures: od.consecutive_local_origin_failures,
        interval: duration(&od.interval, "outlierDetection.interval")?,
        base_ejection_time: duration(&od.base_ejection_time, "outlierDetection.baseEjectionTime")?,
        max_ejection_percent: od.max_ejection_percent.unwrap_or(0),
        min_health_percent: od.min_health_percent.unwrap_or(0),
    };
    let mut config = OutlierConfig::from_istio(&istio);
    if od.min_health_percent.is_some_and(|p| p < 0) {
        config.healthy_panic_threshold = OutlierConfig::default().healthy_panic_threshold;
    }
    Ok(config)
}

/// Whether a port with this name speaks HTTP/2 natively: its protocol prefix
/// is `http2`, `grpc` or `grpc-web` (Istio's protocol `IsHTTP2`), so Istio
/// builds its cluster with HTTP/2 options whatever `h2UpgradePolicy` says.
pub fn port_name_is_http2(port_name: &str) -> bool {
    let prefix = port_name.split('-').next().unwrap_or("");
    ["http2", "grpc"]
        .iter()
        .any(|p| prefix.eq_ignore_ascii_case(p))
}

/// Whether Istio's cluster speaks HTTP/2 upstream: the port is an HTTP/2
/// port, or the policy's `h2UpgradePolicy` is `UPGRADE` (`shouldH2Upgrade`;
/// the mesh-wide default, `DO_NOT_UPGRADE`, upgrades nothing).
pub fn upstream_http2(policy: &TrafficPolicy, port_is_http2: bool) -> bool {
    let upgrade = policy
        .connection_pool
        .as_ref()
        .and_then(|p| p.http.as_ref())
        .and_then(|h| h.h2_upgrade_policy)
        == Some(H2UpgradePolicy::Upgrade);
    port_is_http2 || upgrade
}

/// The circuit breakers and connection options for the policy: every
/// threshold Istio's default 2^32 − 1 unless the `connectionPool` sets it
/// above 0 (`applyConnectionPool`); HTTP/2 per [`upstream_http2`].
pub fn pool_config(policy: &TrafficPolicy, port_is_http2: bool) -> PoolConfig {
    let pool = policy.connection_pool.as_ref();
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let http = pool.and_then(|p| p.http.as_ref());
    let istio = IstioConnectionPool {
        max_connections: tcp.and_then(|t| t.max_connections).unwrap_or(0),
        http1_max_pending_requests: http.and_then(|h| h.http1_max_pending_requests).unwrap_or(0),
        http2_max_requests: http.and_then(|h| h.http2_max_requests).unwrap_or(0),
        max_requests_per_connection: http
            .and_then(|h| h.max_requests_per_connection)
            .unwrap_or(0),
        max_retries: http.and_then(|h| h.max_retries).unwrap_or(0),
        max_concurrent_streams: http.and_then(|h| h.max_concurrent_streams).unwrap_or(0),
    };
    PoolConfig::from_istio(&istio, upstream_http2(policy, port_is_http2))
}

/// The load balancer Istio configures, and the request hash policies the
/// route carries for a consistent-hash balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct BalancerSetup {
    /// The algorithm.
    pub policy: LbPolicy,
    /// What a request hash is computed from, in order (empty unless the
    /// policy is a consistent hash with a key).
    pub hash: Vec<HashPolicy>,
}

/// The load balancer for the policy (`applyLoadBalancer`):
///
/// * `PASSTHROUGH` sends to the original destination, even with a
///   `consistentHash` (its cluster is ORIGINAL_DST, whose policy
///   `applyTrafficPolicy` forces to CLUSTER_PROVIDED);
/// * otherwise a `consistentHash` is a ring hash or Maglev whatever `simple`
///   says (`ApplyRingHashLoadBalancer` runs last); a ring hash takes
///   `ringHash.minimumRingSize`, or without `ringHash` the deprecated
///   `minimumRingSize`, else Envoy's 1024; Maglev its `tableSize`, else 65537;
/// * otherwise `simple`, where `LEAST_CONN` and an unset value are
///   `LEAST_REQUEST` (Istio's default).
pub fn balancer(policy: &TrafficPolicy) -> BalancerSetup {
    balancer_of(policy.load_balancer.as_ref())
}

/// [`balancer`] for the `loadBalancer` block alone.
pub fn balancer_of(lb: Option<&LoadBalancerSettings>) -> BalancerSetup {
    let simple = lb.and_then(|l| l.simple);
    let consistent_hash = lb.and_then(|l| l.consistent_hash.as_ref());
    let Some(ch) = consistent_hash.filter(|_| simple != Some(SimpleLb::Passthrough)) else {
        return BalancerSetup {
            policy: simple_policy(simple),
            hash: Vec::new(),
        };
    };
    // The route's hash policy (istio `pilot/pkg/networking/core/route/route.go`,
    // `consistentHashToHashPolicy`).
    let mut hash = Vec::new();
    if let Some(h) = &ch.http_header_name {
        hash.push(HashPolicy::Header(h.to_ascii_lowercase()));
    }
    if let Some(c) = &ch.http_cookie {
        hash.push(HashPolicy::Cookie {
            name: c.name.clone().unwrap_or_default(),
            generate_when_absent: c.ttl.is_some(),
        });
    }
    if ch.use_source_ip == Some(true) {
        hash.push(HashPolicy::SourceIp);
    }
    if let Some(q) = &ch.http_query_parameter_name {
        hash.push(HashPolicy::QueryParameter(q.clone()));
    }
    let policy = match (&ch.maglev, &ch.ring_hash) {
        (Some(m), _) => LbPolicy::Maglev {
            table_size: m
                .table_size
                .filter(|s| *s > 0)
                .unwrap_or(maglev::DEFAULT_TABLE_SIZE),
        },
        (None, ring) => LbPolicy::RingHash {
            minimum_ring_size: match ring {
                Some(r) => r.minimum_ring_size,
                None => ch.minimum_ring_size,
            }
            .filter(|s| *s > 0)
            .unwrap_or(ring_hash::DEFAULT_MINIMUM_RING_SIZE),
            maximum_ring_size: ring_hash::DEFAULT_MAXIMUM_RING_SIZE,
        },
    };
    BalancerSetup { policy, hash }
}

/// The algorithm for a `simple` value (unset: Istio's default, `LEAST_REQUEST`
/// with Envoy's defaults).
pub fn simple_policy(simple: Option<SimpleLb>) -> LbPolicy {
    match simple {
        Some(SimpleLb::RoundRobin) => LbPolicy::RoundRobin,
        Some(SimpleLb::Random) => LbPolicy::Random,
        Some(SimpleLb::Passthrough) => LbPolicy::Passthrough,
        Some(SimpleLb::LeastRequest | SimpleLb::LeastConn | SimpleLb::Unspecified) | None => {
            LbPolicy::LEAST_REQUEST
        }
    }
}

/// The panic threshold the balancer uses: `minHealthPercent` when the
/// policy has outlier detection, else Envoy's default 50%.
pub fn panic_threshold(outlier: Option<&OutlierConfig>) -> u32 {
    outlier.map_or(OutlierConfig::default().healthy_panic_threshold, |c| {
        c.healthy_panic_threshold
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::pool::{Protocol, ISTIO_UNLIMITED};
    use serde_json::json;
    use std::time::Duration;

    fn policy(json: serde_json::Value) -> TrafficPolicy {
        serde_json::from_value(json).expect("a TrafficPolicy")
    }

    #[test]
    fn no_outlier_detection_block_means_none_and_an_empty_block_istios_defaults() {
        assert_eq!(outlier_config(&TrafficPolicy::default()), Ok(None));
        let c = outlier_config(&policy(json!({"outlierDetection": {}})))
            .unwrap()
            .unwrap();
        assert_eq!((c.consecutive_5xx, c.enforcing_consecutive_5xx), (5, 100));
        assert_eq!(c.enforcing_consecutive_gateway_failure, 0);
        assert_eq!(c.interval, Duration::from_secs(10));
        assert_eq!(c.base_ejection_time, Duration::from_secs(30));
        assert_eq!(c.max_ejection_percent, 10);
        // Istio disables panic unless minHealthPercent says otherwise.
        assert_eq!(c.healthy_panic_threshold, 0);
    }

    #[test]
    fn outlier_fields_map_as_apply_outlier_detection_maps_them() {
        let c = outlier_config_of(
            &serde_json::from_value(json!({
                "consecutive5xxErrors": 0, "consecutiveGatewayErrors": 2,
                "consecutiveLocalOriginFailures": 3, "interval": "1s",
                "baseEjectionTime": "10m", "maxEjectionPercent": 100, "minHealthPercent": 40
            }))
            .unwrap(),
        )
        .unwrap();
        assert_eq!((c.consecutive_5xx, c.enforcing_consecutive_5xx), (0, 0));
        assert_eq!(
            (
                c.consecutive_gateway_failure,
                c.enforcing_consecutive_gateway_failure
            ),
            (2, 100)
        );
        // Local-origin failures count only with splitExternalLocalOriginErrors.
        assert!(!c.split_external_local_origin_errors);
        assert_eq!(c.consecutive_local_origin_failure, 5);
        // max_ejection_time follows a base ejection time above 300s.
        assert_eq!(c.max_ejection_time, Duration::from_secs(600));
        assert_eq!(
            (c.max_ejection_percent, c.healthy_panic_threshold),
            (100, 40)
        );
    }

    #[test]
    fn a_negative_min_health_percent_leaves_envoys_panic_threshold() {
        let c = outlier_config_of(&OutlierDetection {
            min_health_percent: Some(-1),
            ..OutlierDetection::default()
        })
        .unwrap();
        assert_eq!(c.healthy_panic_threshold, 50);
    }

    #[test]
    fn a_bad_duration_names_its_field() {
        let e = outlier_config(&policy(
            json!({"outlierDetection": {"baseEjectionTime": "3 m"}}),
        ))
        .unwrap_err();
        assert_eq!(e.field, "outlierDetection.baseEjectionTime");
        assert!(e
            .to_string()
            .starts_with("outlierDetection.baseEjectionTime: invalid duration"));
    }

    #[test]
    fn pool_thresholds_above_zero_override_istios_unlimited() {
        assert_eq!(
            pool_config(&TrafficPolicy::default(), false),
            PoolConfig::default()
        );
        let c = pool_config(
            &policy(json!({"connectionPool": {
                "tcp": {"maxConnections": 1},
                "http": {"http1MaxPendingRequests": 0, "http2MaxRequests": 7, "maxRequestsPerConnection": 1}
            }})),
            false,
        );
        assert_eq!(c.max_connections, 1);
        assert_eq!(c.max_pending_requests, ISTIO_UNLIMITED);
        assert_eq!(c.max_requests, 7);
        assert_eq!(c.max_requests_per_connection, Some(1));
        assert_eq!(c.protocol, Protocol::Http1);
    }

    #[test]
    fn http2_comes_from_the_port_or_an_upgrade_as_should_h2_upgrade_decides() {
        assert!(port_name_is_http2("grpc-api"));
        assert!(port_name_is_http2("HTTP2"));
        assert!(port_name_is_http2("grpc-web"));
        assert!(!port_name_is_http2("http"));
        assert!(!port_name_is_http2("tcp-grpc"));
        let upgrade = policy(json!({"connectionPool": {"http": {"h2UpgradePolicy": "UPGRADE"}}}));
        let keep = policy(
            json!({"connectionPool": {"http": {"h2UpgradePolicy": "DO_NOT_UPGRADE", "maxConcurrentStreams": 8}}}),
        );
        assert!(upstream_http2(&upgrade, false));
        assert!(!upstream_http2(&keep, false));
        // An HTTP/2 port's cluster is HTTP/2 whatever the upgrade policy says.
        assert_eq!(
            pool_config(&keep, true).protocol,
            Protocol::Http2 {
                max_concurrent_streams: 8
            }
        );
    }

    #[test]
    fn balancer_follows_apply_load_balancer() {
        let lb = |v| balancer(&policy(json!({"loadBalancer": v})));
        assert_eq!(
            balancer(&TrafficPolicy::default()).policy,
            LbPolicy::LEAST_REQUEST
        );
        assert_eq!(
            lb(json!({"simple": "LEAST_CONN"})).policy,
            LbPolicy::LEAST_REQUEST
        );
        assert_eq!(
            lb(json!({"simple": "ROUND_ROBIN"})).policy,
            LbPolicy::RoundRobin
        );
        assert_eq!(lb(json!({"simple": "RANDOM"})).policy, LbPolicy::Random);
        // consistentHash wins over simple: ApplyRingHashLoadBalancer runs last.
        let ring =
            lb(json!({"simple": "ROUND_ROBIN", "consistentHash": {"httpHeaderName": "X-User"}}));
        assert_eq!(ring.policy, LbPolicy::RING_HASH);
        assert_eq!(ring.hash, vec![HashPolicy::Header("x-user".into())]);
        let deprecated =
            lb(json!({"consistentHash": {"useSourceIp": true, "minimumRingSize": 64}}));
        assert!(matches!(
            deprecated.policy,
            LbPolicy::RingHash {
                minimum_ring_size: 64,
                ..
            }
        ));
        // With `ringHash` the deprecated field is not read; 0 is Envoy's default.
        let ring_zero = lb(
            json!({"consistentHash": {"useSourceIp": true, "minimumRingSize": 64, "ringHash": {"minimumRingSize": 0}}}),
        );
        assert_eq!(ring_zero.policy, LbPolicy::RING_HASH);
        let maglev = lb(
            json!({"consistentHash": {"httpQueryParameterName": "u", "maglev": {"tableSize": 251}}}),
        );
        assert_eq!(maglev.policy, LbPolicy::Maglev { table_size: 251 });
        assert_eq!(maglev.hash, vec![HashPolicy::QueryParameter("u".into())]);
        let cookie =
            lb(json!({"consistentHash": {"httpCookie": {"name": "s", "ttl": "0s"}, "maglev": {}}}));
        assert_eq!(cookie.policy, LbPolicy::MAGLEV);
        assert_eq!(
            cookie.hash,
            vec![HashPolicy::Cookie {
                name: "s".into(),
                generate_when_absent: true
            }]
        );
    }

    #[test]
    fn passthrough_wins_over_a_consistent_hash() {
        // applyTrafficPolicy: an ORIGINAL_DST cluster's policy is CLUSTER_PROVIDED.
        let setup = balancer(&policy(json!({"loadBalancer": {
            "simple": "PASSTHROUGH", "consistentHash": {"httpHeaderName": "x"}
        }})));
        assert_eq!(
            setup,
            BalancerSetup {
                policy: LbPolicy::Passthrough,
                hash: Vec::new()
            }
        );
    }

    #[test]
    fn the_panic_threshold_is_envoys_without_outlier_detection() {
        assert_eq!(panic_threshold(None), 50);
        let c = outlier_config(&policy(json!({"outlierDetection": {}}))).unwrap();
        assert_eq!(panic_threshold(c.as_ref()), 0);
    }
}
