//! Gateway API (`gateway.networking.k8s.io`) resources, the parts analysis
//! reads. meshroute does not route Gateway API resources (the loader reports
//! them as not modelled), but `istioctl analyze` accepts a VirtualService
//! naming a Gateway API Gateway in `gateways` and compares its hosts with
//! the listeners' hostnames ([`crate::analyze::gateways`]).

use serde::{Deserialize, Serialize};

/// The `spec` of a Gateway API Gateway, the parts analysis reads; other
/// fields are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesGateway {
    /// The listeners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
}

/// One listener of a Gateway API Gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// The host it serves; absent or empty: every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}
