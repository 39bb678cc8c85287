//! Sidecars (istio/istio `analyzers/sidecar/selector.go`).
//!
//! * IST0111: more than one Sidecar without `workloadSelector` (or with empty
//!   labels) in a namespace; each is reported.
//! * IST0110: several Sidecars of one namespace select the same workload;
//!   each is reported once per such workload.
//! * IST0101 `selector`: a Sidecar `workloadSelector` matching no workload of
//!   its namespace (Pods, and controllers by their pod template labels; see
//!   [`super`]).
//!
//! * IST0167 IneffectivePolicy (Warning), instead of IST0110 / IST0111: a
//!   Sidecar selecting a workload in ambient mode (annotation
//!   `ambient.istio.io/redirection: enabled`), or a Sidecar without selector
//!   in an ambient namespace (a `Namespace` labelled
//!   `istio.io/dataplane-mode: ambient`, without `istio-injection: enabled` or
//!   `istio.io/rev`): ambient workloads have no sidecar to configure. Each
//!   Sidecar is reported once. Namespaces are read for this analysis only.

use super::defaults::AnalysisView;
use super::{quote, report, selector_string};
use crate::fasthash::FastMap;
use crate::message::{codes, Message, Severity};
use crate::model::{kube, Kind, Resource};
use crate::source::path;
use std::collections::BTreeMap;

/// Runs the Sidecar checks.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    let mut without_selector: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    // workload index -> sidecar indexes selecting it
    let mut by_workload: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, sc) in config.sidecars.iter().enumerate() {
        let labels = sc.spec.workload_selector.as_ref().map(|s| &s.labels);
        let Some(labels) = labels.filter(|l| !l.is_empty()) else {
            without_selector.entry(sc.namespace()).or_default().push(i);
            continue;
        };
        let mut found = false;
        for w in config.workload_labels.matching_in(sc.namespace(), labels) {
            found = true;
            by_workload.entry(w).or_default().push(i);
        }
        if !found {
            let first = labels.keys().next().map(String::as_str).unwrap_or("");
            out.push(report(
                sc,
                Kind::Sidecar,
                codes::REFERENCED_RESOURCE_NOT_FOUND,
                Severity::Error,
                &path::key("spec.workloadSelector.labels", first),
                format!(
                    "Referenced selector not found: {}",
                    quote(&selector_string(labels))
                ),
                "make the workloadSelector match the labels of a workload in this namespace",
            ));
        }
    }
    // Sidecars reported as ineffective are not reported again.
    let mut ineffective: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut report_ineffective = |i: usize, reason: &str, out: &mut Vec<Message>| {
        let Some(sc) = config.sidecars.get(i) else {
            return;
        };
        if !ineffective.insert(i) {
            return;
        }
        out.push(report(
            sc,
            Kind::Sidecar,
            codes::INEFFECTIVE_POLICY,
            Severity::Warning,
            "metadata.name",
            format!("The policy has no impact: {reason}."),
            "remove the Sidecar: ambient workloads have no sidecar proxy (use a waypoint for their policies)",
        ));
    };
    for (w, list) in &by_workload {
        let Some(workload) = config.workloads.get(*w) else {
            continue;
        };
        if pod_in_ambient_mode(&workload.metadata.annotations) {
            for &i in list {
                report_ineffective(
                    i,
                    "selected workload is in ambient mode, the policy has no impact",
                    out,
                );
            }
            continue;
        }
        if list.len() < 2 {
            continue;
        }
        let names = sorted_names(config, list);
        for &i in list {
            let Some(sc) = config.sidecars.get(i) else {
                continue;
            };
            out.push(report(
                sc,
                Kind::Sidecar,
                codes::CONFLICTING_SIDECAR_WORKLOAD_SELECTORS,
                Severity::Error,
                "metadata.name",
                format!(
                    "The Sidecars [{}] in namespace {} select the same workload pod {}, which can lead to undefined behavior.",
                    names.join(" "),
                    quote(workload.namespace()),
                    quote(workload.name())
                ),
                "make the workloadSelectors of these Sidecars select disjoint workloads, or merge them",
            ));
        }
    }
    let mut namespaces: FastMap<&str, &Resource<kube::Namespace>> = FastMap::default();
    for n in config.namespaces.iter().rev() {
        namespaces.insert(n.name(), n);
    }
    for (ns, list) in &without_selector {
        let namespace = namespaces.get(ns);
        if namespace.is_some_and(|n| namespace_in_ambient_mode(&n.metadata.labels)) {
            for &i in list {
                report_ineffective(
                    i,
                    "namespace is in ambient mode, the policy has no impact",
                    out,
                );
            }
            continue;
        }
        if list.len() < 2 {
            continue;
        }
        let names = sorted_names(config, list);
        for &i in list {
            let Some(sc) = config.sidecars.get(i) else {
                continue;
            };
            out.push(report(
                sc,
                Kind::Sidecar,
                codes::MULTIPLE_SIDECARS_WITHOUT_SELECTORS,
                Severity::Error,
                "metadata.name",
                format!(
                    "The Sidecars [{}] in namespace {} have no workload selector, which can lead to undefined behavior.",
                    names.join(" "),
                    quote(ns)
                ),
                "keep one Sidecar without workloadSelector per namespace; give the others a selector",
            ));
        }
    }
}

/// Istio `util.PodInAmbientMode`: annotation `ambient.istio.io/redirection: enabled`.
fn pod_in_ambient_mode(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get("ambient.istio.io/redirection")
        .is_some_and(|v| v == "enabled")
}

/// Istio `util.NamespaceInAmbientMode`: label `istio.io/dataplane-mode:
/// ambient`, unless the namespace asks for sidecar injection
/// (`istio-injection: enabled`) or names a revision (`istio.io/rev`).
fn namespace_in_ambient_mode(labels: &BTreeMap<String, String>) -> bool {
    if labels
        .get("istio-injection")
        .is_some_and(|v| v == "enabled")
        || labels.get("istio.io/rev").is_some_and(|v| !v.is_empty())
    {
        return false;
    }
    labels
        .get("istio.io/dataplane-mode")
        .is_some_and(|v| v == "ambient")
}

fn sorted_names(config: &AnalysisView<'_>, list: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|&i| config.sidecars.get(i))
        .map(|s| s.name().to_string())
        .collect();
    names.sort();
    names
}
