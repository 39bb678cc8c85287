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
//! Istio's ambient-mode exemptions (IST0163 instead) are not modelled.

use super::{quote, report, selector_string};
use crate::message::{codes, Message, Severity};
use crate::model::{Config, Kind};
use crate::registry::labels_match;
use crate::source::path;
use std::collections::BTreeMap;

/// Runs the Sidecar checks.
pub fn analyze(config: &Config, out: &mut Vec<Message>) {
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
        for (w, workload) in config.workloads.iter().enumerate() {
            if workload.namespace() != sc.namespace() {
                continue;
            }
            if labels_match(labels, &workload.spec.labels) {
                found = true;
                by_workload.entry(w).or_default().push(i);
            }
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
    for (w, list) in &by_workload {
        if list.len() < 2 {
            continue;
        }
        let Some(workload) = config.workloads.get(*w) else {
            continue;
        };
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
    for (ns, list) in &without_selector {
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

fn sorted_names(config: &Config, list: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|&i| config.sidecars.get(i))
        .map(|s| s.name().to_string())
        .collect();
    names.sort();
    names
}
