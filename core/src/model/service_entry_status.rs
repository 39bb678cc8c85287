//! The `status` istiod writes on a ServiceEntry, the part analysis reads:
//! the addresses it allocated (IST0134 is not reported for a ServiceEntry
//! with allocated addresses, istio `analyzers/serviceentry/protocoladdresses.go`).
//! Routing does not read status.

use serde::{Deserialize, Serialize};

/// A ServiceEntry's `status`, the parts analysis reads; other fields are
/// accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntryStatus {
    /// Addresses istiod allocated, one per host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AllocatedAddress>,
}

/// One allocated address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocatedAddress {
    /// The host it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}
