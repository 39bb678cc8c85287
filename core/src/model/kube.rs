//! Kubernetes objects that make up the service registry: Services and the
//! workloads (Pods and their controllers) behind them.
//!
//! These types are lenient: real manifests carry many fields routing does
//! not use, so unknown fields are ignored rather than rejected.

use super::common::null_as_default;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// The `spec` of a Kubernetes v1 Service, the parts routing uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Ports the service exposes.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ports: Vec<ServicePort>,
    /// Labels of the pods behind the service; empty means none are selected.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub selector: BTreeMap<String, String>,
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// The virtual IP, or `None` for a headless service.
    #[serde(rename = "clusterIP", default, skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// DNS name an `ExternalName` service aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
}

/// One port of a Kubernetes Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// Port name; Istio also infers the protocol from a `proto-` or `proto` name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Transport protocol: `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Application protocol, preferred by Istio over the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// The service port.
    pub port: u32,
    /// Pod port (number or container port name); defaults to `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// Port opened on every node for `NodePort`/`LoadBalancer` services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u32>,
}

/// A Kubernetes int-or-string: a port number or a named container port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A name.
    String(String),
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(n) => serializer.serialize_i64(*n),
            IntOrString::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntOrStringVisitor;

        impl Visitor<'_> for IntOrStringVisitor {
            type Value = IntOrString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
                i64::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v))
            }
        }

        deserializer.deserialize_any(IntOrStringVisitor)
    }
}

/// The `spec` of a Deployment, StatefulSet, ReplicaSet or DaemonSet: how many
/// pods it runs and their labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerSpec {
    /// Desired number of pods; absent means 1 (a DaemonSet has none: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// The pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
}

/// A pod template, the parts routing uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Metadata given to each pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodTemplateMeta>,
}

/// Metadata of a pod template, the parts routing uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateMeta {
    /// Labels given to each pod.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

impl ControllerSpec {
    /// The workload this controller stands for: its pod template labels and
    /// its replica count (1 when unset; an explicit 0 stays 0).
    pub fn into_workload(self) -> Workload {
        let labels = self
            .template
            .and_then(|t| t.metadata)
            .map(|m| m.labels)
            .unwrap_or_default();
        Workload {
            labels,
            replicas: self.replicas.unwrap_or(1),
            node_name: None,
        }
    }
}

/// A workload: pod labels and how many endpoints (replicas) it stands for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Pod labels (for a controller, its pod template's labels).
    pub labels: BTreeMap<String, String>,
    /// Number of pods: 1 for a Pod, `spec.replicas` (default 1) for controllers.
    pub replicas: u32,
    /// The Node a Pod runs on (`spec.nodeName`); analysis reads the Node's
    /// topology labels from it, as Istio's registry does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

/// The `spec` of a Pod, the parts meshroute reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The Node the Pod is scheduled on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

/// A Kubernetes v1 Node: its metadata (topology labels) is what analysis
/// reads. Not part of routing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {}

impl Workload {
    /// A single Pod with these metadata labels.
    pub fn pod(labels: BTreeMap<String, String>) -> Workload {
        Workload {
            labels,
            replicas: 1,
            node_name: None,
        }
    }
}

/// A Kubernetes v1 Namespace: its metadata (labels) is what analysis reads
/// (ambient mode, `istio.io/dataplane-mode`). Not part of routing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {}

/// A Kubernetes v1 Secret, the parts analysis reads (gateway credentials).
/// Not part of routing. Values of `data` are base64 as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// `Opaque`, `kubernetes.io/tls`, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    /// Keys and base64 values.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub data: BTreeMap<String, String>,
    /// Keys and plain values (the API server merges them into `data`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub string_data: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn service_spec_reads_routing_fields_and_ignores_the_rest() {
        let spec: Service = serde_json::from_value(json!({
            "type": "ClusterIP",
            "clusterIP": "10.0.0.1",
            "sessionAffinity": "None",
            "selector": {"app": "reviews"},
            "ports": [
                {"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"},
                {"name": "grpc", "appProtocol": "grpc", "port": 9090, "targetPort": "grpc-port", "nodePort": 30001}
            ]
        }))
        .unwrap();
        assert_eq!(spec.service_type.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(spec.selector, labels(&[("app", "reviews")]));
        assert_eq!(spec.ports.len(), 2);
        assert_eq!(spec.ports[0].target_port, Some(IntOrString::Int(9080)));
        assert_eq!(
            spec.ports[1].target_port,
            Some(IntOrString::String("grpc-port".into()))
        );
        assert_eq!(spec.ports[1].app_protocol.as_deref(), Some("grpc"));
        assert_eq!(spec.ports[1].node_port, Some(30001));
    }

    #[test]
    fn service_port_requires_a_port_number() {
        assert!(serde_json::from_value::<ServicePort>(json!({"name": "http"})).is_err());
        assert!(serde_json::from_value::<ServicePort>(json!({"port": 80})).is_ok());
    }

    #[test]
    fn external_name_service_has_no_selector() {
        let spec: Service = serde_json::from_value(
            json!({"type": "ExternalName", "externalName": "db.example.com", "selector": null}),
        )
        .unwrap();
        assert_eq!(spec.external_name.as_deref(), Some("db.example.com"));
        assert!(spec.selector.is_empty());
    }

    #[test]
    fn int_or_string_round_trips_both_forms() {
        for v in [json!(8080), json!("http")] {
            let parsed: IntOrString = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), v);
        }
        assert!(serde_json::from_value::<IntOrString>(json!(true)).is_err());
    }

    #[test]
    fn controller_replicas_default_to_one_but_zero_stays_zero() {
        let deployment: ControllerSpec = serde_json::from_value(json!({
            "selector": {"matchLabels": {"app": "reviews"}},
            "template": {"metadata": {"labels": {"app": "reviews", "version": "v1"}},
                         "spec": {"containers": []}}
        }))
        .unwrap();
        let w = deployment.into_workload();
        assert_eq!(w.replicas, 1);
        assert_eq!(w.labels, labels(&[("app", "reviews"), ("version", "v1")]));

        let scaled_down: ControllerSpec =
            serde_json::from_value(json!({"replicas": 0, "template": {}})).unwrap();
        assert_eq!(scaled_down.into_workload().replicas, 0);

        let three: ControllerSpec = serde_json::from_value(json!({"replicas": 3})).unwrap();
        let w = three.into_workload();
        assert_eq!(w.replicas, 3);
        assert!(w.labels.is_empty());
    }

    #[test]
    fn daemon_set_without_replicas_is_one_workload() {
        let ds: ControllerSpec = serde_json::from_value(json!({
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": "agent"}}}
        }))
        .unwrap();
        assert_eq!(
            ds.into_workload(),
            Workload {
                labels: labels(&[("app", "agent")]),
                replicas: 1,
                node_name: None,
            }
        );
    }

    #[test]
    fn negative_replicas_are_a_type_error() {
        assert!(serde_json::from_value::<ControllerSpec>(json!({"replicas": -1})).is_err());
    }

    #[test]
    fn pod_is_one_replica() {
        let w = Workload::pod(labels(&[("app", "ratings")]));
        assert_eq!(w.replicas, 1);
        assert_eq!(w.labels, labels(&[("app", "ratings")]));
    }
}
