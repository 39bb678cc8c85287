//! WorkloadEntry: a non-Kubernetes workload, or one endpoint of a ServiceEntry.

use super::common::null_as_default;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `spec` of a WorkloadEntry, also the shape of a ServiceEntry endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEntry {
    /// IP, host name (DNS resolution only) or `unix://` socket of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Endpoint port by service port name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub ports: BTreeMap<String, u32>,
    /// Endpoint labels, used by subsets and selectors.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Network the endpoint is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Locality `region/zone/subzone` of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Load-balancing weight of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Service account of the workload, its mTLS identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vm_workload_entry_round_trips() {
        let we: WorkloadEntry = serde_json::from_value(json!({
            "address": "10.0.0.7",
            "labels": {"app": "details", "version": "v2"},
            "ports": {"http": 9080},
            "serviceAccount": "details",
            "network": "vm-net",
            "locality": "us-east1/us-east1-b"
        }))
        .unwrap();
        assert_eq!(we.address.as_deref(), Some("10.0.0.7"));
        assert_eq!(we.ports.get("http"), Some(&9080));
        assert_eq!(we.weight, None);
        let again: WorkloadEntry =
            serde_json::from_value(serde_json::to_value(&we).unwrap()).unwrap();
        assert_eq!(again, we);
    }

    #[test]
    fn unknown_field_is_rejected() {
        assert!(serde_json::from_value::<WorkloadEntry>(json!({"adress": "10.0.0.7"})).is_err());
        assert!(serde_json::from_value::<WorkloadEntry>(json!({"address": "10.0.0.7"})).is_ok());
    }
}
