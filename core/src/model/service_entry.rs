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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HTTPBIN_EXT: &str = r#"
hosts:
- httpbin.org
ports:
- number: 80
  name: http
  protocol: HTTP
  targetPort: 8080
resolution: DNS
location: MESH_EXTERNAL
endpoints:
- address: eu.httpbin.org
  ports:
    http: 8081
  labels:
    region: eu
  weight: 3
exportTo: ["."]
"#;

    #[test]
    fn hosts_ports_and_endpoints_are_read() {
        let se: ServiceEntry = serde_saphyr::from_str(HTTPBIN_EXT).unwrap();
        assert_eq!(se.hosts, ["httpbin.org"]);
        assert_eq!(se.resolution, Some(Resolution::Dns));
        assert_eq!(se.location, Some(Location::MeshExternal));
        assert_eq!(se.ports[0].number, Some(80));
        assert_eq!(se.ports[0].target_port, Some(8080));
        let ep = &se.endpoints[0];
        assert_eq!(ep.address.as_deref(), Some("eu.httpbin.org"));
        assert_eq!(ep.ports.get("http"), Some(&8081));
        assert_eq!(ep.weight, Some(3));
        assert_eq!(se.export_to, ["."]);
        assert_eq!(se.workload_selector, None);
    }

    #[test]
    fn round_trips_through_json() {
        let se: ServiceEntry = serde_saphyr::from_str(HTTPBIN_EXT).unwrap();
        let value = serde_json::to_value(&se).unwrap();
        assert_eq!(value["resolution"], json!("DNS"));
        assert_eq!(value["endpoints"][0]["ports"], json!({"http": 8081}));
        let again: ServiceEntry = serde_json::from_value(value).unwrap();
        assert_eq!(again, se);
    }

    #[test]
    fn resolution_is_a_name_not_a_number() {
        let named = json!({"hosts": ["a"], "resolution": "DNS_ROUND_ROBIN"});
        let se: ServiceEntry = serde_json::from_value(named).unwrap();
        assert_eq!(se.resolution, Some(Resolution::DnsRoundRobin));
        let numbered = json!({"hosts": ["a"], "resolution": 2});
        assert!(serde_json::from_value::<ServiceEntry>(numbered).is_err());
    }

    #[test]
    fn endpoint_port_is_unsigned_and_range_checked_later() {
        let ok = json!({"endpoints": [{"ports": {"http": 70000}}]});
        assert!(serde_json::from_value::<ServiceEntry>(ok).is_ok());
        let negative = json!({"endpoints": [{"ports": {"http": -1}}]});
        assert!(serde_json::from_value::<ServiceEntry>(negative).is_err());
    }
}
