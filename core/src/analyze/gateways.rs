//! Gateways (istio/istio `analyzers/virtualservice/gateways.go`,
//! `analyzers/gateway/gateway.go`, `analyzers/gateway/conflictinggateway.go`).
//!
//! * IST0101 `gateway`: a VirtualService `gateways` entry other than `mesh`
//!   naming no Gateway. Names are read as Istio's `NewShortOrFullName` reads
//!   them: `ns/name`, else `name` in the VirtualService's namespace (so the
//!   `./name` and dotted legacy forms are reported too, as istioctl does).
//! * IST0132: none of the VirtualService's hosts `Matches` a host of that
//!   Gateway's servers admitted for the VirtualService's namespace (a missing
//!   Gateway has no hosts, so it draws both messages).
//! * IST0101 `selector`: a Gateway selector matching no workload of any
//!   namespace (the default ingress gateway pod included, see [`super`]).
//! * IST0162: a server port that is neither a port nor a target port of any
//!   TCP Service selecting the gateway's workloads (only when the selector
//!   matched workloads; a port without `protocol` is TCP, the Kubernetes
//!   default).
//! * IST0145: another Gateway with the same selector (or overlapping selectors
//!   that select one common workload) has a server on the same port with the
//!   same host string and bind. Istio's analyzer also records each checked
//!   server's hosts into the other Gateway's known set, in map order; that
//!   order-dependent side effect is not reproduced.

use super::{quote, report, selector_string};
use crate::hosts::matches;
use crate::message::{codes, Message, Severity};
use crate::model::kube::IntOrString;
use crate::model::{Config, Gateway, Kind, Resource};
use crate::registry::labels_match;
use crate::source::path;
use std::collections::{BTreeMap, HashSet};

/// Runs the gateway checks.
pub fn analyze(config: &Config, out: &mut Vec<Message>) {
    for vs in &config.virtual_services {
        for (i, written) in vs.spec.gateways.iter().enumerate() {
            if written == crate::hosts::MESH_GATEWAY {
                continue;
            }
            let (ns, name) = match written.split_once('/') {
                Some((ns, name)) => (ns, name),
                None => (vs.namespace(), written.as_str()),
            };
            let gateway = config
                .gateways
                .iter()
                .find(|g| g.namespace() == ns && g.name() == name);
            let p = path::index("spec.gateways", i);
            if gateway.is_none() {
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::REFERENCED_RESOURCE_NOT_FOUND,
                    Severity::Error,
                    &p,
                    format!("Referenced gateway not found: {}", quote(written)),
                    "create the Gateway or reference an existing one as `namespace/name`",
                ));
            }
            let found =
                gateway.is_some_and(|g| vs_host_in_gateway(g, &vs.spec.hosts, vs.namespace()));
            if !found {
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::VS_HOST_NOT_FOUND_IN_GATEWAY,
                    Severity::Warning,
                    &p,
                    format!(
                        "one or more host [{}] defined in VirtualService {} not found in Gateway {ns}/{name}.",
                        vs.spec.hosts.join(" "),
                        vs.key()
                    ),
                    "add a matching host to the Gateway's servers (for this namespace), or change the VirtualService hosts",
                ));
            }
        }
    }
    for gw in &config.gateways {
        selector_and_ports(gw, config, out);
    }
    conflicting(config, out);
}

/// Whether some VirtualService host matches some server host of `gw` that
/// admits `vs_namespace` (`./h` is the Gateway's namespace, `*/h` any).
fn vs_host_in_gateway(gw: &Resource<Gateway>, vs_hosts: &[String], vs_namespace: &str) -> bool {
    gw.spec
        .servers
        .iter()
        .flat_map(|s| s.hosts.iter())
        .filter_map(|h| match h.split_once('/') {
            None => Some(h.as_str()),
            Some(("*", dns)) => Some(dns),
            Some((".", dns)) => (gw.namespace() == vs_namespace).then_some(dns),
            Some((ns, dns)) => (ns == vs_namespace).then_some(dns),
        })
        .any(|gh| vs_hosts.iter().any(|vh| matches(gh, vh)))
}

fn selector_and_ports(gw: &Resource<Gateway>, config: &Config, out: &mut Vec<Message>) {
    let selector = &gw.spec.selector;
    let selector_text = selector_string(selector);
    let selector_path = match selector.keys().next() {
        Some(k) => path::key("spec.selector", k),
        None => "spec.selector".to_string(),
    };
    let pods: Vec<_> = config
        .workloads
        .iter()
        .filter(|w| labels_match(selector, &w.spec.labels))
        .collect();
    if pods.is_empty() {
        out.push(report(
            gw,
            Kind::Gateway,
            codes::REFERENCED_RESOURCE_NOT_FOUND,
            Severity::Error,
            &selector_path,
            format!("Referenced selector not found: {}", quote(&selector_text)),
            "make the selector match the labels of the gateway workload",
        ));
        return;
    }
    let mut accepted: HashSet<u32> = HashSet::new();
    for pod in &pods {
        for svc in config
            .services
            .iter()
            .filter(|s| s.namespace() == pod.namespace())
        {
            if !labels_match(&svc.spec.selector, &pod.spec.labels) {
                continue;
            }
            for port in &svc.spec.ports {
                if !port.protocol.as_deref().unwrap_or("TCP").eq("TCP") {
                    continue;
                }
                accepted.insert(port.port);
                let target = match &port.target_port {
                    Some(IntOrString::Int(n)) => u32::try_from(*n).unwrap_or(0),
                    Some(IntOrString::String(s)) => s.parse().unwrap_or(0),
                    None => 0,
                };
                if target != 0 {
                    accepted.insert(target);
                }
            }
        }
    }
    for (i, server) in gw.spec.servers.iter().enumerate() {
        let Some(port) = &server.port else { continue };
        let number = port.number.unwrap_or(0);
        if accepted.contains(&number) {
            continue;
        }
        let p = path::field(
            &path::field(&path::index("spec.servers", i), "port"),
            "number",
        );
        out.push(report(
            gw,
            Kind::Gateway,
            codes::GATEWAY_PORT_NOT_DEFINED_ON_SERVICE,
            Severity::Warning,
            &p,
            format!(
                "The gateway is listening on a target port (port {number}) that is not defined in the Service associated with its workload instances (Pod selector {selector_text}). If you need to access the gateway port through the gateway Service, it will not be available."
            ),
            "add this port (as port or targetPort) to the gateway's Service, or listen on a port the Service exposes",
        ));
    }
}

/// Host -> bind of one Gateway's servers on one port (the last server on a
/// port wins, as in Istio's map).
type HostsBind = BTreeMap<String, String>;

fn conflicting(config: &Config, out: &mut Vec<Message>) {
    // (selector string, port) -> gateway key -> hosts/bind
    let mut by_key: BTreeMap<(String, u32), BTreeMap<String, HostsBind>> = BTreeMap::new();
    for gw in &config.gateways {
        let sel = selector_string(&gw.spec.selector);
        for server in &gw.spec.servers {
            let port = server.port.as_ref().and_then(|p| p.number).unwrap_or(0);
            let bind = server.bind.clone().unwrap_or_default();
            let hb = server
                .hosts
                .iter()
                .map(|h| (h.clone(), bind.clone()))
                .collect();
            by_key
                .entry((sel.clone(), port))
                .or_default()
                .insert(gw.key(), hb);
        }
    }
    for gw in &config.gateways {
        let sel = selector_string(&gw.spec.selector);
        let same_workload = |other: &str| {
            if other == sel {
                return true;
            }
            if !(other.contains(sel.as_str()) || sel.contains(other)) {
                return false;
            }
            let other_sel = parse_selector(other);
            config.workloads.iter().any(|w| {
                labels_match(&gw.spec.selector, &w.spec.labels)
                    && labels_match(&other_sel, &w.spec.labels)
            })
        };
        for (i, server) in gw.spec.servers.iter().enumerate() {
            let port = server.port.as_ref().and_then(|p| p.number).unwrap_or(0);
            let bind = server.bind.clone().unwrap_or_default();
            let mut names: Vec<&str> = Vec::new();
            for ((other_sel, other_port), gateways) in &by_key {
                if *other_port != port || !same_workload(other_sel) {
                    continue;
                }
                for (name, hb) in gateways {
                    if *name != gw.key() && server.hosts.iter().any(|h| hb.get(h) == Some(&bind)) {
                        names.push(name);
                    }
                }
            }
            if names.is_empty() {
                continue;
            }
            names.sort_unstable();
            out.push(report(
                gw,
                Kind::Gateway,
                codes::CONFLICTING_GATEWAYS,
                Severity::Error,
                &path::index("spec.servers", i),
                format!(
                    "Conflict with gateways {} (workload selector {sel}, port {port}, hosts {}).",
                    names.join(","),
                    server.hosts.join(",")
                ),
                "serve each host and port from one Gateway per workload, or merge the Gateways",
            ));
        }
    }
}

/// `k1=v1,k2=v2` back to a label map (pairs without one `=` are dropped).
fn parse_selector(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter_map(|pair| {
            let mut parts = pair.split('=');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(k), Some(v), None) => Some((k.to_string(), v.to_string())),
                _ => None,
            }
        })
        .collect()
}
