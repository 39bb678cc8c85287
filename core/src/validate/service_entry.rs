//! ServiceEntry validation, as Istio's `ValidateServiceEntry` does it.

use super::common::{selector_label_errors, Protocol, Report};
use super::workload_entry;
use crate::message::Message;
use crate::model::service_entry::{Resolution, ServiceEntry};
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, index, key};
use std::collections::BTreeSet;

/// Validates one ServiceEntry, appending messages to `out`.
pub(crate) fn validate(res: &Resource<ServiceEntry>, out: &mut Vec<Message>) {
    let mut r = Report::new("ServiceEntry", res, out);
    let se = &res.spec;
    if let Some(sel) = &se.workload_selector {
        let errors = selector_label_errors(&sel.labels);
        let has_errors = !errors.is_empty();
        for (k, e) in errors {
            r.error(
                &key("spec.workloadSelector.labels", &k),
                e,
                "use exact, non-empty label keys and values without *",
            );
        }
        // Istio stops validating a ServiceEntry whose selector is invalid.
        if has_errors {
            return;
        }
        if sel.labels.is_empty() {
            r.warning(
                "spec.workloadSelector",
                "service entry: workload selector specified without labels, will be applied to all services in namespace",
                "add labels, or remove workloadSelector",
            );
        }
        if !se.endpoints.is_empty() {
            r.error(
                "spec.endpoints",
                "only one of WorkloadSelector or Endpoints is allowed in Service Entry",
                "keep workloadSelector or endpoints",
            );
        }
    }
    if se.hosts.is_empty() {
        r.error(
            "spec.hosts",
            "service entry must have at least one host",
            "add the host names clients call",
        );
    }
    for (i, h) in se.hosts.iter().enumerate() {
        let at = index("spec.hosts", i);
        if h == "*" {
            r.error(
                &at,
                format!("invalid host {h}"),
                "name the external hosts; * is not allowed",
            );
        } else {
            r.error_if(
                &at,
                names::validate_wildcard_domain(h),
                "use a DNS name or *.domain wildcard",
            );
            if let Err(e) = names::validate_partial_wildcard(h) {
                r.warning(&at, e, "write wildcards as *.domain");
            }
        }
    }
    let resolution = se.resolution.unwrap_or_default();
    let mut cidr = false;
    for (i, a) in se.addresses.iter().enumerate() {
        cidr |= a.contains('/');
        r.error_if(
            &index("spec.addresses", i),
            names::validate_ip_subnet(a),
            "use an IP address or CIDR block",
        );
    }
    if cidr && !matches!(resolution, Resolution::None | Resolution::Static) {
        r.error(
            "spec.addresses",
            "CIDR addresses are allowed only for NONE/STATIC resolution types",
            "use single IP addresses, or resolution NONE/STATIC",
        );
    }
    let mut port_names = BTreeSet::new();
    let mut port_numbers = BTreeSet::new();
    for (i, port) in se.ports.iter().enumerate() {
        let pp = index("spec.ports", i);
        let name = port.name.clone().unwrap_or_default();
        let number = port.number.unwrap_or(0);
        if !port_names.insert(name.clone()) {
            r.error(
                &field(&pp, "name"),
                format!("service entry port name {name:?} already defined"),
                "give every port a different name",
            );
        }
        if !port_numbers.insert(number) {
            r.error(
                &field(&pp, "number"),
                format!("service entry port {number} already defined"),
                "list every port number once",
            );
        }
        if let Some(tp) = port.target_port {
            if tp != 0 {
                r.port(&field(&pp, "targetPort"), tp);
            }
        }
        let proto = port.protocol.as_deref().unwrap_or("");
        // Meshroute models IP auto-allocation as disabled (Istio's default).
        if se.addresses.is_empty() && (proto.is_empty() || proto == "TCP") {
            r.warning(
                &pp,
                "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled",
                "add addresses, or set the port protocol (HTTP, TLS ...)",
            );
        }
        r.port_name(&field(&pp, "name"), &name);
        r.protocol(&field(&pp, "protocol"), port.protocol.as_deref());
        r.port(&field(&pp, "number"), number);
    }
    match resolution {
        Resolution::None => {
            if !se.endpoints.is_empty() {
                r.error(
                    "spec.endpoints",
                    "no endpoints should be provided for resolution type none",
                    "remove endpoints, or use resolution STATIC or DNS",
                );
            }
            if se.workload_selector.is_some() {
                r.warning(
                    "spec.workloadSelector",
                    "workloadSelector should not be set when resolution mode is NONE",
                    "remove workloadSelector, or use resolution STATIC",
                );
            }
        }
        Resolution::Static => {
            for (i, e) in se.endpoints.iter().enumerate() {
                workload_entry::entry(
                    &mut r,
                    &index("spec.endpoints", i),
                    e,
                    Some(&port_names),
                    false,
                );
            }
        }
        Resolution::Dns | Resolution::DnsRoundRobin => {
            let mode = if resolution == Resolution::Dns {
                "DNS"
            } else {
                "DNS_ROUND_ROBIN"
            };
            if se.endpoints.is_empty() {
                for (i, h) in se.hosts.iter().enumerate() {
                    if names::validate_fqdn(h).is_err() {
                        r.error(
                            &index("spec.hosts", i),
                            format!("hosts must be FQDN if no endpoints are provided for resolution mode {mode}"),
                            "use a fully qualified host name, or add endpoints",
                        );
                    }
                }
            }
            if resolution == Resolution::DnsRoundRobin && se.endpoints.len() > 1 {
                r.error(
                    "spec.endpoints",
                    format!("there must only be 0 or 1 endpoint for resolution mode {mode}"),
                    "keep one endpoint, or use resolution DNS",
                );
            }
            for (i, e) in se.endpoints.iter().enumerate() {
                let ep = index("spec.endpoints", i);
                let addr = e.address.as_deref().unwrap_or("");
                if !names::is_ip_address(addr) && names::validate_fqdn(addr).is_err() {
                    r.error(
                        &field(&ep, "address"),
                        format!("endpoint address {addr:?} is not a valid FQDN or an IP address"),
                        "use an IP address or a DNS name",
                    );
                }
                r.labels(&field(&ep, "labels"), &e.labels);
                for (name, port) in &e.ports {
                    let at = key(&field(&ep, "ports"), name);
                    if !port_names.contains(name) {
                        r.error(
                            &at,
                            format!("endpoint port {port} is not defined by the service entry"),
                            "use the name of one of the ServiceEntry's ports",
                        );
                    }
                    r.port_name(&at, name);
                    r.port(&at, *port);
                }
            }
            if !se.addresses.is_empty()
                && se.hosts.len() > 1
                && se
                    .ports
                    .iter()
                    .any(|p| Protocol::parse(p.protocol.as_deref().unwrap_or("")).is_tcp())
            {
                r.warning(
                    "spec.hosts",
                    "service entry can not have more than one host specified simultaneously with address and tcp port",
                    "split the hosts into separate ServiceEntries",
                );
            }
        }
        Resolution::DynamicDns => {
            // Rules as listed in the spec (istio-api.md 7.5); wording is meshroute's.
            for (i, h) in se.hosts.iter().enumerate() {
                if !h.starts_with("*.") {
                    r.error(
                        &index("spec.hosts", i),
                        format!("hosts must be wildcarded for resolution mode DYNAMIC_DNS: {h}"),
                        "use *.domain hosts with DYNAMIC_DNS",
                    );
                }
            }
            if !se.addresses.is_empty() {
                r.error(
                    "spec.addresses",
                    "addresses are not allowed for resolution mode DYNAMIC_DNS",
                    "remove addresses",
                );
            }
            if !se.endpoints.is_empty() {
                r.error(
                    "spec.endpoints",
                    "endpoints are not allowed for resolution mode DYNAMIC_DNS",
                    "remove endpoints",
                );
            }
            for (i, port) in se.ports.iter().enumerate() {
                let proto = Protocol::parse(port.protocol.as_deref().unwrap_or(""));
                if !matches!(
                    proto,
                    Protocol::Http | Protocol::Http2 | Protocol::Grpc | Protocol::Tls
                ) {
                    r.error(
                        &field(&index("spec.ports", i), "protocol"),
                        "only HTTP, HTTP2, GRPC and TLS ports are supported for resolution mode DYNAMIC_DNS",
                        "use an HTTP or TLS port",
                    );
                }
            }
        }
    }
    if resolution != Resolution::None && se.hosts.len() > 1 {
        let non_http = se.ports.iter().any(|p| {
            let proto = Protocol::parse(p.protocol.as_deref().unwrap_or(""));
            !proto.is_http() && !proto.is_tls()
        });
        if non_http {
            r.error(
                "spec.ports",
                "multiple hosts provided with non-HTTP, non-TLS ports",
                "use one host per ServiceEntry for TCP ports, or resolution NONE",
            );
        }
    }
    r.export_to("spec.exportTo", &se.export_to, true, false);
}
