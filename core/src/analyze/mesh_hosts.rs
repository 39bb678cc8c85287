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
//!
//! Cost: a namespace-scoped plain host is compared with the `*`-scoped key of
//! the same host (one lookup) and the `*`-scoped wildcard hosts; only a
//! namespace-scoped wildcard host is compared with every `*`-scoped key.

use super::defaults::AnalysisView;
use super::{export_scopes, report, to_fqdn};
use crate::fasthash::FastMap;
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
    // The `*`-scoped keys, found by host instead of by a scan of every key:
    // plain hosts by name, wildcard hosts in a list of their own.
    let mut everywhere: FastMap<&str, &Vec<usize>> = FastMap::default();
    let mut everywhere_wildcards: Vec<(&str, &Vec<usize>)> = Vec::new();
    for ((scope, host), list) in &keys {
        if scope != "*" {
            continue;
        }
        if host.starts_with('*') {
            everywhere_wildcards.push((host, list));
        } else {
            everywhere.insert(host, list);
        }
    }
    let mut reported: HashSet<usize> = HashSet::new();
    for ((scope, fqdn), list) in &keys {
        let mut list = list.clone();
        if scope != "*" {
            // `*`-scoped hosts that match, in key order.
            let mut more: Vec<(&str, &Vec<usize>)> = if fqdn.starts_with('*') {
                // A wildcard matches plain hosts by suffix: every key is a
                // candidate (bounded by the namespace-scoped wildcard keys).
                keys.iter()
                    .filter(|((other_scope, other_host), _)| {
                        other_scope == "*" && matches(fqdn, other_host)
                    })
                    .map(|((_, h), l)| (h.as_str(), l))
                    .collect()
            } else {
                everywhere_wildcards
                    .iter()
                    .copied()
                    .filter(|(h, _)| matches(fqdn, h))
                    .chain(everywhere.get(fqdn.as_str()).map(|l| (fqdn.as_str(), *l)))
                    .collect()
            };
            more.sort_by(|a, b| a.0.cmp(b.0));
            for (_, l) in more {
                list.extend(l);
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
