//! ServiceEntries (istio/istio `analyzers/serviceentry`).
//!
//! * IST0134: a ServiceEntry without `addresses` having a port whose protocol
//!   is empty or TCP, one message per such port. Istio skips this only when
//!   the mesh config enables DNS auto-allocation (`ISTIO_META_DNS_CAPTURE` and
//!   `ISTIO_META_DNS_AUTO_ALLOCATE` or `PILOT_ENABLE_IP_AUTOALLOCATE` proxy
//!   metadata, read from the configuration's mesh config:
//!   `MeshConfig::dns_auto_allocation`) or the entry has status addresses
//!   (`status.addresses`, read for this analysis only).
//! * IST0177: ServiceEntries visible in one scope (`*` or a namespace; a
//!   namespace scope also sees `*`) define one host (as written) and port
//!   number with different protocols (compared in upper case). Each entry is
//!   reported once.

use super::defaults::AnalysisView;
use super::{export_scopes, report};
use crate::message::{codes, Message, Severity};
use crate::model::Kind;
use crate::source::path;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Runs both checks.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    let auto_allocated = config
        .mesh_config()
        .is_some_and(|m| m.config.dns_auto_allocation());
    // `(namespace, name)` of the ServiceEntries whose status carries addresses.
    let allocated: HashSet<(&str, &str)> = config
        .service_entry_statuses
        .iter()
        .filter(|st| !st.spec.addresses.is_empty())
        .map(|st| (st.namespace(), st.name()))
        .collect();
    for se in &config.service_entries {
        if !se.spec.addresses.is_empty() || auto_allocated {
            continue;
        }
        if allocated.contains(&(se.namespace(), se.name())) {
            continue;
        }
        for (i, port) in se.spec.ports.iter().enumerate() {
            let protocol = port.protocol.as_deref().unwrap_or("");
            if protocol.is_empty() || protocol.eq_ignore_ascii_case("TCP") {
                out.push(report(
                    se,
                    Kind::ServiceEntry,
                    codes::SERVICE_ENTRY_ADDRESSES_REQUIRED,
                    Severity::Warning,
                    &path::field(&path::index("spec.ports", i), "name"),
                    "ServiceEntry addresses are required for this protocol.".to_string(),
                    "add `addresses` (a VIP or CIDR), or give the port an HTTP or TLS protocol",
                ));
            }
        }
    }
    conflicting_protocols(config, out);
}

fn conflicting_protocols(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    // (scope, host, port) -> (protocol, entry index)
    let mut index: BTreeMap<(String, String, u32), Vec<(String, usize)>> = BTreeMap::new();
    for (i, se) in config.service_entries.iter().enumerate() {
        for scope in export_scopes(&se.spec.export_to, se.namespace()) {
            for host in &se.spec.hosts {
                for port in &se.spec.ports {
                    index
                        .entry((scope.clone(), host.clone(), port.number.unwrap_or(0)))
                        .or_default()
                        .push((port.protocol.clone().unwrap_or_default(), i));
                }
            }
        }
    }
    let mut reported: HashSet<usize> = HashSet::new();
    for ((scope, host, port), entries) in &index {
        let mut entries = entries.clone();
        if scope != "*" {
            if let Some(star) = index.get(&("*".to_string(), host.clone(), *port)) {
                entries.extend(star.iter().cloned());
            }
        }
        let protocols: BTreeSet<String> = entries
            .iter()
            .map(|(p, _)| p.to_ascii_uppercase())
            .collect();
        if protocols.len() < 2 {
            continue;
        }
        let names: BTreeSet<String> = entries
            .iter()
            .filter_map(|(_, i)| config.service_entries.get(*i))
            .map(|se| se.key())
            .collect();
        let names = names.into_iter().collect::<Vec<_>>().join(", ");
        let protocols = protocols.into_iter().collect::<Vec<_>>().join(", ");
        for (_, i) in &entries {
            let Some(se) = config.service_entries.get(*i) else {
                continue;
            };
            if !reported.insert(*i) {
                continue;
            }
            out.push(report(
                se,
                Kind::ServiceEntry,
                codes::CONFLICTING_SERVICE_ENTRY_PROTOCOL,
                Severity::Warning,
                "metadata.name",
                format!(
                    "Multiple ServiceEntries ({names}) define the same host {} and port {port} with conflicting protocols ({protocols}).",
                    super::quote(host)
                ),
                "give the port the same protocol in every ServiceEntry for this host",
            ));
        }
    }
}
