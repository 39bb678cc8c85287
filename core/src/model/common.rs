//! Types shared by several Istio kinds: string matchers, destinations,
//! ports, percentages and workload selectors.
//!
//! Every Istio struct rejects unknown fields (the loader turns serde's
//! "unknown field" into a "did you mean"), keeps scalars as `Option` because
//! presence matters, and keeps oneof groups as separate optional fields so
//! validation can report "only one of" with the location of each member.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Deserializes an explicit `null` as the type's default (an empty list or
/// map), as both the Kubernetes API server (which prunes nulls) and Istio's
/// protobuf JSON decoder (which treats null as unset) do.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string condition: at most one of `exact`, `prefix` or `regex`; none set
/// means "present" or "absent" depending on where it is used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringMatch {
    /// The value must equal this string (case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The value must start with this string (case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The whole value must match this RE2 pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// A percentage of traffic, 0 to 100 with fractions allowed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Percent {
    /// The percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// Selects one port of a service by number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSelector {
    /// The port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
}

/// Where traffic goes: a registry host, optionally narrowed to a subset and a port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    /// Registry host name (short names are expanded in the resource's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Name of a DestinationRule subset of the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    /// Service port; when absent, the only port or the port the traffic arrived on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

/// A port a proxy listens on or a service exposes (Gateway server port,
/// Sidecar listener port, ServiceEntry port: they share one shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    /// The port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Application protocol (`HTTP`, `HTTPS`, `GRPC`, `TCP`, `TLS` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port on the endpoint that receives the traffic (ServiceEntry) or a
    /// deprecated, rejected field (Gateway, Sidecar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u32>,
}

/// Selects workloads whose labels include all of `labels` (Sidecar, ServiceEntry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSelector {
    /// Labels a workload must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

/// Selects workloads whose labels include all of `matchLabels` (DestinationRule).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchLabelsSelector {
    /// Labels a workload must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub match_labels: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_match_keeps_every_oneof_member_for_validation() {
        let m: StringMatch = serde_json::from_value(json!({"exact": "a", "prefix": "b"})).unwrap();
        assert_eq!(m.exact.as_deref(), Some("a"));
        assert_eq!(m.prefix.as_deref(), Some("b"));
        assert_eq!(m.regex, None);
    }

    #[test]
    fn empty_string_match_is_distinct_from_exact_empty() {
        let empty: StringMatch = serde_json::from_value(json!({})).unwrap();
        let exact: StringMatch = serde_json::from_value(json!({"exact": ""})).unwrap();
        assert_eq!(empty, StringMatch::default());
        assert_eq!(exact.exact.as_deref(), Some(""));
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = serde_json::from_value::<StringMatch>(json!({"exakt": "a"}));
        assert!(err.is_err_and(|e| e.to_string().contains("unknown field `exakt`")));
        assert!(serde_json::from_value::<StringMatch>(json!({"exact": "a"})).is_ok());
    }

    #[test]
    fn null_labels_are_empty_and_absent_on_output() {
        let s: WorkloadSelector = serde_json::from_value(json!({"labels": null})).unwrap();
        assert!(s.labels.is_empty());
        assert_eq!(serde_json::to_value(&s).unwrap(), json!({}));
        let s: WorkloadSelector = serde_json::from_value(json!({"labels": {"app": "x"}})).unwrap();
        assert_eq!(s.labels.get("app").map(String::as_str), Some("x"));
    }

    #[test]
    fn percent_accepts_integer_and_fraction() {
        let p: Percent = serde_json::from_value(json!({"value": 50})).unwrap();
        assert_eq!(p.value, Some(50.0));
        let p: Percent = serde_json::from_value(json!({"value": 0.5})).unwrap();
        assert_eq!(p.value, Some(0.5));
    }
}
