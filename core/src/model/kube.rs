//! Placeholder: filled in by the model work.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
/// Placeholder service spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {}
/// A workload: pod labels and how many endpoints (replicas) it stands for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Pod labels (for a controller, its pod template's labels).
    pub labels: BTreeMap<String, String>,
    /// Number of pods: 1 for a Pod, `spec.replicas` (default 1) for controllers.
    pub replicas: u32,
}
impl Workload {
    /// A single pod.
    pub fn pod(labels: BTreeMap<String, String>) -> Self {
        Workload {
            labels,
            replicas: 1,
        }
    }
}
/// Placeholder controller spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControllerSpec {}
impl ControllerSpec {
    /// Placeholder.
    pub fn into_workload(self) -> Workload {
        Workload::default()
    }
}
