//! ServiceEntry: adds hosts (usually outside the mesh) to the service registry.

use super::common::{null_as_default, Port, WorkloadSelector};
use super::workload_entry::WorkloadEntry;
use serde::{Deserialize, Serialize};

/// The `spec` of a ServiceEntry: hosts, their ports and how endpoints are found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceEntry {
    /// Host names added to the registry, used verbatim (no short-name expansion).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hosts: Vec<String>,
    /// Virtual IPs or CIDRs of the service.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub addresses: Vec<String>,
    /// Ports of the service.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ports: Vec<Port>,
    /// Whether the service is inside or outside the mesh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// How endpoints are found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Explicit endpoints (exclusive with `workloadSelector`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub endpoints: Vec<WorkloadEntry>,
    /// Selects pods and WorkloadEntries in the same namespace as endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<WorkloadSelector>,
    /// Namespaces that can see the hosts (`.`, `*`, `~` or names).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub export_to: Vec<String>,
    /// Names accepted in the server certificate of the endpoints.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subject_alt_names: Vec<String>,
}

/// Whether a ServiceEntry's service is part of the mesh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Location {
    /// Outside the mesh: no automatic mutual TLS (the proto default).
    #[default]
    #[serde(rename = "MESH_EXTERNAL")]
    MeshExternal,
    /// Inside the mesh.
    #[serde(rename = "MESH_INTERNAL")]
    MeshInternal,
}

/// How the endpoints of a ServiceEntry are found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resolution {
    /// No endpoints: connect to the original destination address (the proto default).
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// Endpoints are the given addresses or selected workloads.
    #[serde(rename = "STATIC")]
    Static,
    /// Endpoint addresses (or the hosts) are resolved by DNS.
    #[serde(rename = "DNS")]
    Dns,
    /// Resolved by DNS, one address used for new connections.
    #[serde(rename = "DNS_ROUND_ROBIN")]
    DnsRoundRobin,
    /// Wildcard hosts resolved per request from Host or SNI.
    #[serde(rename = "DYNAMIC_DNS")]
    DynamicDns,
}
