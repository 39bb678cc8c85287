//! Typed model of the resources meshroute reads, exactly as written.
//!
//! Istio `networking.istio.io` kinds (all of v1alpha3, v1beta1 and v1 share one
//! schema) and the Kubernetes objects that make up the service registry.
//! Field names are the JSON (lowerCamelCase) names; unknown fields are
//! rejected by the loader with a "did you mean". Nothing here knows matching
//! or validation.

pub mod common;
pub mod destination_rule;
pub mod gateway;
pub mod gateway_api;
pub mod ingress;
pub mod kube;
pub mod security;
pub mod service_entry;
pub mod service_entry_status;
pub mod sidecar;
pub mod virtual_service;
pub mod workload_entry;

pub use destination_rule::DestinationRule;
pub use gateway::Gateway;
pub use ingress::{Ingress, IngressClass};
pub use service_entry::ServiceEntry;
pub use sidecar::Sidecar;
pub use virtual_service::VirtualService;
pub use workload_entry::WorkloadEntry;

use crate::message::Message;
use crate::source::{FieldLocations, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The API group of the Istio networking kinds.
pub const ISTIO_NETWORKING_GROUP: &str = "networking.istio.io";
/// The Istio networking versions meshroute reads (all share one schema).
pub const ISTIO_NETWORKING_VERSIONS: [&str; 3] = ["v1alpha3", "v1beta1", "v1"];

/// Istio's default root namespace (meshConfig `rootNamespace`), where its mesh
/// configuration ConfigMap lives.
const ISTIO_ROOT_NAMESPACE: &str = "istio-system";

/// Whether a ConfigMap is the mesh config istiod reads: `istio` in the root
/// namespace (istio `pilot/pkg/bootstrap/mesh.go`, `getMeshConfigMapName`
/// for the default revision). Its `data.mesh` is read by
/// [`crate::mesh_config`].
pub fn is_mesh_config_map(namespace: &str, name: &str) -> bool {
    namespace == ISTIO_ROOT_NAMESPACE && name == crate::mesh_config::CONFIG_MAP_NAME
}

/// Whether Istio itself ignores a document for traffic management, so that
/// skipping it says nothing about a decision (`meshroute check -v` still lists
/// it). Every other kind meshroute does not model is reported as not modelled.
///
/// This is the one list. A kind is here when istiod's config and service
/// registry controllers never read it for routing (pilot watches the
/// `networking.istio.io` kinds, Services, Endpoints/EndpointSlices, Pods,
/// Nodes, Gateway API and mesh config; see istio `pilot/pkg/serviceregistry/kube/controller`):
/// - identities and access control for Kubernetes itself: ServiceAccount,
///   Role, RoleBinding, ClusterRole, ClusterRoleBinding;
/// - Secrets (only gateway TLS credentials, which do not pick a route) and
///   Namespaces (labels for sidecar injection, not routing);
/// - ConfigMaps, except Istio's mesh config (`istio` or `istio-<revision>` in
///   the root namespace), which sets mesh-wide defaults such as the outbound
///   traffic policy;
/// - storage, scheduling, scaling and cluster plumbing: PersistentVolume(Claim),
///   StorageClass, LimitRange, ResourceQuota, PriorityClass,
///   HorizontalPodAutoscaler, PodDisruptionBudget, CustomResourceDefinition,
///   admission webhook configurations;
/// - NetworkPolicy, enforced by the network plugin, not by Istio.
pub fn ignored_by_istio(api_version: &str, kind: &str, namespace: &str, name: &str) -> bool {
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    match (group, kind) {
        ("", "ConfigMap") => {
            let mesh_config = name == "istio" || name.starts_with("istio-");
            !(mesh_config && namespace == ISTIO_ROOT_NAMESPACE)
        }
        (
            "",
            "ServiceAccount"
            | "Secret"
            | "Namespace"
            | "PersistentVolume"
            | "PersistentVolumeClaim"
            | "LimitRange"
            | "ResourceQuota",
        ) => true,
        (
            "rbac.authorization.k8s.io",
            "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding",
        ) => true,
        ("storage.k8s.io", "StorageClass")
        | ("scheduling.k8s.io", "PriorityClass")
        | ("autoscaling", "HorizontalPodAutoscaler")
        | ("policy", "PodDisruptionBudget")
        | ("apiextensions.k8s.io", "CustomResourceDefinition")
        | ("networking.k8s.io", "NetworkPolicy") => true,
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => true,
        _ => false,
    }
}

/// Kubernetes object metadata, the parts routing uses. Other metadata fields
/// (uid, resourceVersion, managedFields ...) are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default)]
    pub name: String,
    /// Namespace; empty means the loader's default namespace (filled in by the loader).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time; Istio orders conflicting resources by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
}

/// The kinds meshroute reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// networking.istio.io VirtualService.
    VirtualService,
    /// networking.istio.io DestinationRule.
    DestinationRule,
    /// networking.istio.io Gateway.
    Gateway,
    /// networking.istio.io ServiceEntry.
    ServiceEntry,
    /// networking.istio.io WorkloadEntry.
    WorkloadEntry,
    /// networking.istio.io Sidecar.
    Sidecar,
    /// Kubernetes v1 Service.
    Service,
    /// A Kubernetes workload: Pod, Deployment, StatefulSet, DaemonSet or ReplicaSet.
    Workload,
    /// Kubernetes networking.k8s.io/v1 Ingress.
    Ingress,
    /// Kubernetes networking.k8s.io/v1 IngressClass.
    IngressClass,
}

impl Kind {
    /// The kind's name as written in `kind:` (for workloads, `Workload`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::VirtualService => "VirtualService",
            Kind::DestinationRule => "DestinationRule",
            Kind::Gateway => "Gateway",
            Kind::ServiceEntry => "ServiceEntry",
            Kind::WorkloadEntry => "WorkloadEntry",
            Kind::Sidecar => "Sidecar",
            Kind::Service => "Service",
            Kind::Workload => "Workload",
            Kind::Ingress => "Ingress",
            Kind::IngressClass => "IngressClass",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One loaded resource: envelope, typed spec, and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource<T> {
    /// `apiVersion` as written.
    pub api_version: String,
    /// `kind` as written (`Deployment` for a workload from a Deployment).
    pub kind_name: String,
    /// Metadata; `namespace` is always filled in (the loader's default when absent).
    pub metadata: ObjectMeta,
    /// The typed spec.
    pub spec: T,
    /// Where the document starts.
    pub source: Source,
    /// Where each field is written.
    pub fields: Arc<FieldLocations>,
    /// Position in load order (0-based over all resources of a load); the
    /// tie-breaker after creation time.
    pub order: usize,
}

impl<T> Resource<T> {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    /// The source position of a field path, falling back to its nearest parent.
    pub fn source_of(&self, field_path: &str) -> Source {
        let loc = self.fields.locate(field_path);
        if loc.is_known() {
            self.source.at(loc)
        } else {
            self.source.clone()
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.metadata.namespace
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// Everything one load produced: the resources by kind, and the messages
/// about the text (parse errors, unknown fields, skipped kinds).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// VirtualServices in load order.
    pub virtual_services: Vec<Resource<VirtualService>>,
    /// DestinationRules in load order.
    pub destination_rules: Vec<Resource<DestinationRule>>,
    /// Gateways in load order.
    pub gateways: Vec<Resource<Gateway>>,
    /// ServiceEntries in load order.
    pub service_entries: Vec<Resource<ServiceEntry>>,
    /// WorkloadEntries in load order.
    pub workload_entries: Vec<Resource<WorkloadEntry>>,
    /// Sidecars in load order.
    pub sidecars: Vec<Resource<Sidecar>>,
    /// Kubernetes Services in load order.
    pub services: Vec<Resource<kube::Service>>,
    /// Kubernetes workloads (pods and pod templates) in load order.
    pub workloads: Vec<Resource<kube::Workload>>,
    /// Kubernetes Ingresses in load order (routed as Istio converts them: `crate::ingress`).
    pub ingresses: Vec<Resource<Ingress>>,
    /// Kubernetes IngressClasses in load order.
    pub ingress_classes: Vec<Resource<IngressClass>>,
    /// Secrets in load order: read for analysis only (gateway credentials),
    /// never for routing.
    pub secrets: Vec<Resource<kube::Secret>>,
    /// Gateway API Gateways in load order: read for analysis only.
    pub kubernetes_gateways: Vec<Resource<gateway_api::KubernetesGateway>>,
    /// The status of ServiceEntries that carry one (kind `ServiceEntryStatus`,
    /// named as their ServiceEntry): read for analysis only.
    pub service_entry_statuses: Vec<Resource<service_entry_status::ServiceEntryStatus>>,
    /// Nodes in load order: read for analysis only (their topology labels).
    pub nodes: Vec<Resource<kube::Node>>,
    /// Namespaces in load order: read for analysis only (their labels).
    pub namespaces: Vec<Resource<kube::Namespace>>,
    /// RequestAuthentications in load order: read for analysis only.
    pub request_authentications: Vec<Resource<security::RequestAuthentication>>,
    /// Mesh configs, in the order given: the mesh ConfigMap among the
    /// resources, files given explicitly (see [`crate::mesh_config`];
    /// [`Config::mesh_config`] picks the one in force).
    pub mesh_configs: Vec<crate::mesh_config::MeshConfigSource>,
    /// Messages produced while loading.
    pub messages: Vec<Message>,
    /// The limits it was loaded with; `check` and `Mesh::compile` apply them.
    pub limits: crate::limits::Limits,
}

impl Config {
    /// Whether loading produced an error message.
    pub fn has_errors(&self) -> bool {
        self.load_errors().next().is_some()
    }

    /// The loader's error messages: resources they name are left out.
    pub fn load_errors(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| m.is_error())
    }

    /// Number of resources of every kind.
    pub fn resource_count(&self) -> usize {
        self.virtual_services.len()
            + self.destination_rules.len()
            + self.gateways.len()
            + self.service_entries.len()
            + self.workload_entries.len()
            + self.sidecars.len()
            + self.services.len()
            + self.workloads.len()
            + self.ingresses.len()
            + self.ingress_classes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_ignores_access_control_and_plumbing_but_not_its_mesh_config() {
        assert!(ignored_by_istio("v1", "ServiceAccount", "default", "x"));
        assert!(ignored_by_istio("v1", "Secret", "default", "x"));
        assert!(ignored_by_istio(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "x"
        ));
        assert!(ignored_by_istio("v1", "ConfigMap", "default", "istio"));
        assert!(ignored_by_istio("v1", "ConfigMap", "istio-system", "other"));
        assert!(!ignored_by_istio(
            "v1",
            "ConfigMap",
            "istio-system",
            "istio"
        ));
        assert!(!ignored_by_istio(
            "v1",
            "ConfigMap",
            "istio-system",
            "istio-canary"
        ));
        assert!(!ignored_by_istio(
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            "default",
            "r"
        ));
        assert!(!ignored_by_istio(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            "default",
            "p"
        ));
        assert!(!ignored_by_istio("v1", "Endpoints", "default", "e"));
        // A Role in another API group is not Kubernetes' Role.
        assert!(!ignored_by_istio("example.com/v1", "Role", "default", "r"));
    }
}
