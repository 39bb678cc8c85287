//! `security.istio.io` resources, the parts analysis reads. They decide no
//! route (the loader still reports them as not modelled for routing), but
//! `istioctl analyze` checks routes against them: a VirtualService routing
//! on a JWT claim needs a RequestAuthentication on the gateway pods
//! (IST0149, [`crate::analyze::jwt_claim_routes`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `spec` of a RequestAuthentication, the parts analysis reads; other
/// fields (`jwtRules`, `targetRef`, ...) are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAuthentication {
    /// The workloads it applies to; absent: every workload of its namespace
    /// (of the mesh, in the root namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A workload selector (`istio.type.v1beta1.WorkloadSelector`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels a workload must carry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}
