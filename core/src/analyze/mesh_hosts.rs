//! Conflicting mesh VirtualService hosts (istio/istio
//! `analyzers/virtualservice/conflictingmeshgatewayhosts.go`), IST0109.
//!
//! Every VirtualService bound to `mesh` (no `gateways`, or `mesh` listed) is
//! keyed by scope (`*` when exported everywhere, else each exportTo
//! namespace) and each of its hosts after short-name expansion in its own
//! namespace. A key held by more than one VirtualService conflicts; a key of
//! a namespace scope also conflicts with every `*`-scoped key whose host
//! `Matches` it (wildcards included). Each VirtualService is reported once,
//! for the first conflicting key in sorted order (Istio walks its map in
//! random order). Sidecars would keep only one of them for the host (§2.7).

use super::defaults::AnalysisView;
use super::{export_scopes, report, to_fqdn};
use crate::hosts::{matches, MESH_GATEWAY};
use crate::message::{codes, Message, Severity};
use crate::model::Kind;
use std::collections::{BTreeMap, HashSet};

/// Runs the check.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    // (scope, fqdn) -> indexes into config.virtual_services
    let mut keys: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, vs) in config.virtual_services.iter().enumerate() {
        let gateways = &vs.spec.gateways;
        if !(gateways.is_empty() || gateways.iter().any(|g| g == MESH_GATEWAY)) {
            continue;
        }
        for scope in export_scopes(&vs.spec.export_to, vs.namespace()) {
            for host in &vs.spec.hosts {
                keys.entry((scope.clone(), to_fqdn(host, vs.namespace())))
                    .or_default()
                    .push(i);
            }
        }
    }
    let mut reported: HashSet<usize> = HashSet::new();
    for ((scope, fqdn), list) in &keys {
        let mut list = list.clone();
        if scope != "*" {
            for ((other_scope, other_host), more) in &keys {
                if other_scope == "*" && matches(fqdn, other_host) {
                    list.extend(more);
                }
            }
        }
        if list.len() < 2 {
            continue;
        }
        let names: Vec<String> = list
            .iter()
            .filter_map(|&i| config.virtual_services.get(i))
            .map(|v| v.key())
            .collect();
        for &i in &list {
            let Some(vs) = config.virtual_services.get(i) else {
                continue;
            };
            if !reported.insert(i) {
                continue;
            }
            out.push(report(
                vs,
                Kind::VirtualService,
                codes::CONFLICTING_MESH_GATEWAY_VS_HOSTS,
                Severity::Error,
                "metadata.name",
                format!(
                    "The VirtualServices {} associated with mesh gateway define the same host {scope}/{fqdn} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.",
                    names.join(",")
                ),
                "merge the VirtualServices for this host into one resource",
            ));
        }
    }
}
