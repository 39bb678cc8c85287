//! Sidecar validation (the parts that scope routing), as Istio's
//! `ValidateSidecar` does it.

use super::common::{selector_label_errors, validate_unix_address, Report, UNIX_PREFIX};
use super::gateway::namespace_slash_host;
use crate::message::Message;
use crate::model::sidecar::{CaptureMode, OutboundTrafficMode, Sidecar};
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, index, key};
use std::collections::{BTreeMap, BTreeSet};

/// Validates one Sidecar, appending messages to `out`.
pub(crate) fn validate(res: &Resource<Sidecar>, out: &mut Vec<Message>) {
    let mut r = Report::new("Sidecar", res, out);
    let sc = &res.spec;
    if let Some(sel) = &sc.workload_selector {
        let errors = selector_label_errors(&sel.labels);
        let has_errors = !errors.is_empty();
        for (k, e) in errors {
            r.error(
                &key("spec.workloadSelector.labels", &k),
                e,
                "use exact, non-empty label keys and values without *",
            );
        }
        if has_errors {
            return;
        }
        if sel.labels.is_empty() {
            r.warning(
                "spec.workloadSelector",
                "sidecar: workload selector specified without labels, will be applied to all services in namespace",
                "add labels, or remove workloadSelector",
            );
        }
    }
    if sc.egress.is_empty()
        && sc.ingress.is_empty()
        && sc.outbound_traffic_policy.is_none()
        && sc.inbound_connection_pool.is_none()
    {
        r.error(
            "spec",
            "sidecar: empty configuration provided",
            "add egress, ingress or outboundTrafficPolicy",
        );
        return;
    }
    let mut ports = BTreeSet::new();
    let mut uds = BTreeSet::new();
    let mut catch_all = false;
    let last = sc.egress.len().saturating_sub(1);
    for (i, e) in sc.egress.iter().enumerate() {
        let ep = index("spec.egress", i);
        match &e.port {
            None => {
                if catch_all {
                    r.error(
                        &ep,
                        "sidecar: egress can have only one listener with empty port",
                        "give every other egress listener a port",
                    );
                    continue;
                }
                if i == last {
                    catch_all = true;
                } else {
                    r.error(
                        &ep,
                        "sidecar: the egress listener with empty port should be the last listener in the list",
                        "move the listener without port to the end",
                    );
                }
            }
            Some(port) => {
                let pp = field(&ep, "port");
                if port.target_port.unwrap_or(0) > 0 {
                    r.error(
                        &field(&pp, "targetPort"),
                        "targetPort has no impact on Sidecars",
                        "remove targetPort",
                    );
                }
                if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                    r.port_name(&field(&pp, "name"), name);
                }
                let bind = e.bind.as_deref().unwrap_or("");
                r.protocol(&field(&pp, "protocol"), port.protocol.as_deref());
                let number = port.number.unwrap_or(0);
                if number == 0 {
                    if let Some(path) = bind.strip_prefix(UNIX_PREFIX) {
                        r.error_if(
                            &field(&ep, "bind"),
                            validate_unix_address(path),
                            "use unix:///absolute/path",
                        );
                    } else {
                        r.error(
                            &field(&ep, "bind"),
                            "sidecar: ports with 0 value must have a unix domain socket bind address",
                            "give a port number, or bind to unix:///path",
                        );
                    }
                    if matches!(e.capture_mode, Some(CaptureMode::Iptables)) {
                        r.error(
                            &field(&ep, "captureMode"),
                            "sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners",
                            "use captureMode DEFAULT or NONE",
                        );
                    }
                    if !uds.insert(bind.to_string()) {
                        r.error(
                            &field(&ep, "bind"),
                            "sidecar: unix domain socket values for listeners must be unique",
                            "use a different socket path",
                        );
                    }
                } else {
                    r.port(&field(&pp, "number"), number);
                    if !bind.is_empty() {
                        r.error_if(
                            &field(&ep, "bind"),
                            names::validate_ip(bind),
                            "use an IP address",
                        );
                    }
                    if !ports.insert(number) {
                        r.error(
                            &field(&pp, "number"),
                            "sidecar: ports on IP bound listeners must be unique",
                            "use each port number once",
                        );
                    }
                }
            }
        }
        egress_hosts(&mut r, &ep, &e.hosts, &res.metadata.namespace);
    }
    if let Some(tp) = &sc.outbound_traffic_policy {
        let tpp = "spec.outboundTrafficPolicy";
        if let Some(proxy) = &tp.egress_proxy {
            let xp = field(tpp, "egressProxy");
            if tp.mode != Some(OutboundTrafficMode::AllowAny) {
                r.error(
                    &xp,
                    "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode",
                    "set mode: ALLOW_ANY, or remove egressProxy",
                );
            } else {
                r.error_if(
                    &field(&xp, "host"),
                    names::validate_fqdn(proxy.host.as_deref().unwrap_or("")),
                    "use the proxy's DNS name",
                );
                match &proxy.port {
                    None => r.error(
                        &xp,
                        "sidecar: egress_proxy port must be non-nil",
                        "add port: {number: N}",
                    ),
                    Some(p) => r.port(&field(&field(&xp, "port"), "number"), p.number.unwrap_or(0)),
                }
            }
        }
    }
}

fn egress_hosts(r: &mut Report<'_, Sidecar>, ep: &str, hosts: &[String], namespace: &str) {
    let hp = field(ep, "hosts");
    if hosts.is_empty() {
        r.error(
            &hp,
            "sidecar: egress listener must contain at least one host",
            "add hosts such as \"./*\" or \"istio-system/*\"",
        );
        return;
    }
    let mut by_ns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, h) in hosts.iter().enumerate() {
        let at = index(&hp, i);
        if let Some((ns, svc)) = h.split_once('/') {
            let ns = if ns == "." { namespace } else { ns };
            let set = by_ns.entry(ns.to_string()).or_default();
            let duplicate = if svc == "*" {
                !set.is_empty()
            } else {
                set.contains(svc) || set.contains("*")
            };
            if duplicate {
                r.warning(
                    &at,
                    format!("duplicated egress host: {h}"),
                    "remove the host already covered",
                );
            }
            set.insert(svc.to_string());
        }
        namespace_slash_host(r, &at, h, false);
    }
    if by_ns.get("*").is_some_and(|s| s.contains("*")) && by_ns.len() != 1 {
        r.warning(
            &hp,
            "`*/*` host select all resources, no other hosts can be added",
            "keep */* alone, or list specific namespaces",
        );
    }
}
