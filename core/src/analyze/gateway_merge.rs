//! What istiod's gateway merge does to the user's Gateways (istio
//! `pilot/pkg/model/gateway.go`, `mergeGateways`), where Istio's own tests
//! call the result a bug or a trap. meshroute routes as Istio does; these
//! warnings say so.
//!
//! * A server left out of the merged gateway (MR0009, warning): an earlier
//!   Gateway on the same workload already serves its port with a protocol it
//!   cannot share (TCP beside HTTP, two TCP servers: istio/istio#27481 and,
//!   for two Gateways of one name in different namespaces, #21394), or
//!   already serves one of its hosts with TLS. Gateways merge in creation
//!   time, name, namespace order, so the survivor is not always the one
//!   VirtualServices bind to.
//! * Two TLS servers that both survive the merge but answer the same SNI
//!   on one port (MR0009, warning): `./*` in two namespaces becomes two
//!   different host strings, so the duplicate check misses them, and Envoy
//!   rejects a listener with two filter chains matching alike
//!   (istio/istio#24638).
//! * Ingresses: what Istio's conversion ignores (info, from
//!   [`crate::ingress::convert`]), and the above for the Gateways made from
//!   them, reported on the Ingress (istio/istio#24385: the VirtualService of
//!   a host binds to the oldest Ingress's Gateway, the TLS host goes to the
//!   Gateway whose name sorts first).
//!
//! Each distinct Gateway selector stands for one gateway workload with
//! exactly those labels; Gateways with an empty selector apply to all.

use super::defaults::AnalysisView;
use super::CLUSTER_DOMAIN;
use crate::decide::gateway::GatewayTable;
use crate::message::{codes, Message, Severity};
use crate::model::{Config, Gateway, Resource};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the gateway-merge checks.
pub fn analyze(view: &AnalysisView<'_>, out: &mut Vec<Message>) {
    if view.config.ingresses.is_empty() && view.gateways.len() < 2 {
        return;
    }
    // The gateway table and the Ingress conversion read a `Config`: one of
    // just the kinds they read, copied only when there is something to merge.
    fn copied<T: Clone>(list: &[&Resource<T>]) -> Vec<Resource<T>> {
        list.iter().map(|r| (*r).clone()).collect()
    }
    let gateway_config = Config {
        gateways: copied(&view.gateways),
        services: copied(&view.services),
        service_entries: copied(&view.service_entries),
        ingresses: view.config.ingresses.clone(),
        ingress_classes: view.config.ingress_classes.clone(),
        ..Config::default()
    };
    let config = &gateway_config;
    if !config.ingresses.is_empty() {
        out.extend(crate::ingress::convert(config, CLUSTER_DOMAIN).messages);
    }
    let with_ingresses = crate::ingress::with_converted(config, CLUSTER_DOMAIN);
    let config: &Config = &with_ingresses;
    if config.gateways.len() < 2 {
        return;
    }
    let table = GatewayTable::build(config, CLUSTER_DOMAIN);
    let resource = |key: &str| config.gateways.iter().find(|g| g.key() == key);
    let mut selectors: BTreeSet<BTreeMap<String, String>> = BTreeSet::new();
    for g in &config.gateways {
        if !g
            .metadata
            .annotations
            .contains_key(crate::decide::gateway::GATEWAY_SERVICE_ANNOTATION)
        {
            selectors.insert(g.spec.selector.clone());
        }
    }
    let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
    let gws = table.gateways();
    for labels in &selectors {
        let merged = table.merge_selected(labels);
        let workload = super::selector_string(labels);
        for (gi, si, why) in &merged.rejected {
            if !reported.insert((*gi, *si)) {
                continue;
            }
            if let Some(r) = resource(&gws[*gi].key) {
                out.push(message(
                    r,
                    &format!("spec.servers[{si}]"),
                    format!(
                        "On gateway workloads labelled {workload}, Gateways merge in order {}; this server is {why} (istiod mergeGateways)",
                        order(&merged.applied, &table)
                    ),
                    "serve the port from one Gateway per workload, or give the servers distinct hosts and protocols",
                ));
            }
        }
        // Same SNI answered by two surviving TLS servers of different Gateways.
        for mp in &merged.ports {
            let mut seen: Vec<(String, usize, usize)> = Vec::new();
            for ms in &mp.servers {
                let s = table.server(ms);
                if s.tls.is_none() || crate::decide::gateway::is_http_protocol(&mp.protocol) {
                    continue;
                }
                for h in &ms.hosts {
                    let sni = h.split_once('/').map_or(h.as_str(), |(_, d)| d).to_string();
                    if let Some((_, g0, _)) =
                        seen.iter().find(|(x, g, _)| *x == sni && *g != ms.gateway)
                    {
                        if reported.insert((ms.gateway, ms.server)) {
                            if let Some(r) = resource(&gws[ms.gateway].key) {
                                out.push(message(
                                    r,
                                    &format!("spec.servers[{}]", ms.server),
                                    format!(
                                        "On gateway workloads labelled {workload}, this server and one of {} both answer TLS server name {sni:?} on port {}: Envoy rejects a listener whose filter chains match alike (istio/istio#24638)",
                                        gws[*g0].key, mp.port
                                    ),
                                    "write the hosts without `./` or `ns/` parts so that one Gateway serves each name, or serve the name from one Gateway",
                                ));
                            }
                        }
                    } else {
                        seen.push((sni, ms.gateway, ms.server));
                    }
                }
            }
        }
    }
}

/// Gateway keys in merge order.
fn order(applied: &[usize], table: &GatewayTable) -> String {
    applied
        .iter()
        .map(|&i| table.gateways()[i].key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A warning on a Gateway, or on the Ingress a generated Gateway comes from
/// (its `kind_name` is `Ingress`, its source the Ingress's).
fn message(g: &Resource<Gateway>, path: &str, text: String, fix: &str) -> Message {
    let (resource, path, text) = if g.kind_name == "Ingress" {
        (
            format!("Gateway {} (made from an Ingress)", g.key()),
            "spec.tls",
            format!("{text}; the VirtualService of each Ingress host binds to the Gateway of the host's oldest Ingress, so HTTPS for it may find no route (istio/istio#24385)"),
        )
    } else {
        (format!("Gateway {}", g.key()), path, text)
    };
    Message::new(
        codes::GATEWAY_MERGE_TRAP,
        Severity::Warning,
        resource,
        path,
        g.source_of(path),
        text,
        fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(yaml: &str) -> Vec<String> {
        let config = crate::load::load_str(yaml, "t.yaml");
        let mut out = Vec::new();
        analyze(&AnalysisView::unfiltered(&config), &mut out);
        out.iter().map(|m| m.to_string()).collect()
    }

    fn gateway(name: &str, ns: &str, protocol: &str, port: u32, host: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{istio: ingressgateway}}\n  servers:\n  - port: {{number: {port}, name: p, protocol: {protocol}}}\n    hosts: [\"{host}\"]\n    tls: {{mode: SIMPLE, credentialName: c}}\n---\n"
        )
    }

    #[test]
    fn a_server_left_out_by_the_merge_is_named_with_the_order() {
        // istio/istio#27481: TCP first takes the port; the HTTP server is left out.
        let yaml = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: alpha, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: tcp, protocol: TCP}\n    hosts: [foo.bar]\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: beta, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [foo.bar]\n";
        let w = warnings(yaml);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("Gateway default/beta"), "{w:?}");
        assert!(
            w[0].contains("merge in order default/alpha, default/beta"),
            "{w:?}"
        );
        assert!(w[0].contains("TCP"), "{w:?}");
    }

    #[test]
    fn the_same_tls_name_from_two_namespaces_is_reported() {
        // istio/istio#24638: `./*` in two namespaces survives the duplicate check.
        let yaml = gateway("default", "istio-system", "HTTPS", 443, "./*")
            + &gateway("default", "default", "HTTPS", 443, "./*");
        let w = warnings(&yaml);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("istio/istio#24638"), "{w:?}");
    }

    #[test]
    fn distinct_hosts_on_one_tls_port_are_quiet() {
        let yaml = gateway("a", "default", "HTTPS", 443, "a.com")
            + &gateway("b", "default", "HTTPS", 443, "b.com");
        assert!(warnings(&yaml).is_empty());
    }
}
