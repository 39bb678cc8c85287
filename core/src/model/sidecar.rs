//! Sidecar: the listeners of a workload's proxy and which services it knows.

use super::common::{null_as_default, Destination, Port, WorkloadSelector};
use super::destination_rule::ConnectionPoolSettings;
use super::gateway::ServerTlsSettings;
use serde::{Deserialize, Serialize};

/// The `spec` of a Sidecar: listeners and imported services of selected workloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sidecar {
    /// Workloads (in the same namespace) this applies to; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
    /// Listeners for inbound traffic.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ingress: Vec<IstioIngressListener>,
    /// Listeners for outbound traffic and the services they import.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub egress: Vec<IstioEgressListener>,
    /// Inbound connection limits for all ingress listeners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_connection_pool: Option<ConnectionPoolSettings>,
    /// What happens to traffic for hosts not in the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
}

/// A listener for inbound traffic to the workload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioIngressListener {
    /// Port the listener accepts traffic on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Port>,
    /// IP to bind to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// How traffic reaches the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<CaptureMode>,
    /// Address or socket the traffic is forwarded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_endpoint: Option<String>,
    /// TLS termination for the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTlsSettings>,
    /// Inbound connection limits for this listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPoolSettings>,
}

/// A listener for outbound traffic and the hosts it imports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IstioEgressListener {
    /// Port of the listener; absent means every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Port>,
    /// IP or `unix://` socket to bind to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// How traffic reaches the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<CaptureMode>,
    /// Imported hosts as `namespace/dnsName`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hosts: Vec<String>,
}

/// How traffic is captured into a listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaptureMode {
    /// The environment's default (the proto default).
    #[default]
    #[serde(rename = "DEFAULT")]
    Default,
    /// Redirected by iptables.
    #[serde(rename = "IPTABLES")]
    Iptables,
    /// Not captured: the application addresses the listener directly.
    #[serde(rename = "NONE")]
    None,
}

/// Handling of outbound traffic to hosts that are not in the registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutboundTrafficPolicy {
    /// Allow or reject unknown destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OutboundTrafficMode>,
    /// Proxy that receives traffic for unknown destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_proxy: Option<Destination>,
}

/// Whether traffic to unknown hosts is forwarded or rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboundTrafficMode {
    /// Reject it (the proto default when `mode` is unset; the mesh default is `ALLOW_ANY`).
    #[default]
    #[serde(rename = "REGISTRY_ONLY")]
    RegistryOnly,
    /// Forward it to its original destination.
    #[serde(rename = "ALLOW_ANY")]
    AllowAny,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn egress_hosts_and_outbound_policy_are_read() {
        let sc: Sidecar = serde_saphyr::from_str(
            r#"
workloadSelector:
  labels:
    app: ratings
egress:
- hosts:
  - "./*"
  - "istio-system/*"
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
  egressProxy:
    host: egress.istio-system.svc.cluster.local
"#,
        )
        .unwrap();
        assert_eq!(sc.egress[0].hosts, ["./*", "istio-system/*"]);
        assert_eq!(sc.egress[0].port, None);
        let otp = sc.outbound_traffic_policy.as_ref().unwrap();
        assert_eq!(otp.mode, Some(OutboundTrafficMode::RegistryOnly));
        assert!(otp.egress_proxy.is_some());
        let selector = sc.workload_selector.as_ref().unwrap();
        assert_eq!(
            selector.labels.get("app").map(String::as_str),
            Some("ratings")
        );
        let again: Sidecar = serde_json::from_value(serde_json::to_value(&sc).unwrap()).unwrap();
        assert_eq!(again, sc);
    }

    #[test]
    fn workload_selector_uses_labels_not_match_labels() {
        let labels = json!({"workloadSelector": {"labels": {"app": "a"}}});
        assert!(serde_json::from_value::<Sidecar>(labels).is_ok());
        let match_labels = json!({"workloadSelector": {"matchLabels": {"app": "a"}}});
        assert!(serde_json::from_value::<Sidecar>(match_labels).is_err());
    }

    #[test]
    fn unset_mode_is_the_proto_default_registry_only() {
        assert_eq!(
            OutboundTrafficMode::default(),
            OutboundTrafficMode::RegistryOnly
        );
        let allow: OutboundTrafficPolicy =
            serde_json::from_value(json!({"mode": "ALLOW_ANY"})).unwrap();
        assert_eq!(allow.mode, Some(OutboundTrafficMode::AllowAny));
    }
}
