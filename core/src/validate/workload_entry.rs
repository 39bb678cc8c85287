//! WorkloadEntry validation (standalone, and as a ServiceEntry endpoint), as
//! Istio's `validateWorkloadEntry` does it.

use super::common::{validate_unix_address, Report, UNIX_PREFIX};
use crate::message::Message;
use crate::model::workload_entry::WorkloadEntry;
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, key};
use std::collections::BTreeSet;

/// Validates one standalone WorkloadEntry (addresses may be IPs or FQDNs).
pub(crate) fn validate(res: &Resource<WorkloadEntry>, out: &mut Vec<Message>) {
    let mut r = Report::new("WorkloadEntry", res, out);
    entry(&mut r, "spec", &res.spec, None, true);
}

/// Checks one workload entry at `p`. `service_ports` are the port names of
/// the owning ServiceEntry (None when standalone).
pub(crate) fn entry<T>(
    r: &mut Report<'_, T>,
    p: &str,
    we: &WorkloadEntry,
    service_ports: Option<&BTreeSet<String>>,
    allow_fqdn: bool,
) {
    let addr = we.address.as_deref().unwrap_or("");
    let network = we.network.as_deref().unwrap_or("");
    let ap = field(p, "address");
    if addr.is_empty() {
        if network.is_empty() {
            r.error(&ap, "address is required", "add the workload's IP address");
            return;
        }
        r.warning(
            &ap,
            format!("address is unset with network {network:?}"),
            "add an address unless the network gateway provides it",
        );
    }
    let unix = addr.starts_with(UNIX_PREFIX);
    if let Some(socket) = addr.strip_prefix(UNIX_PREFIX) {
        r.error_if(
            &ap,
            validate_unix_address(socket),
            "use unix:///absolute/path",
        );
        if !we.ports.is_empty() {
            r.error(
                &field(p, "ports"),
                format!("unix endpoint {addr} must not include ports"),
                "remove ports from a unix endpoint",
            );
        }
    } else if !addr.is_empty() && !names::is_ip_address(addr) {
        if !allow_fqdn {
            r.error(
                &ap,
                format!("endpoint address {addr:?} is not a valid IP address"),
                "use an IP address with resolution STATIC, or resolution DNS for host names",
            );
        } else if names::validate_fqdn(addr).is_err() {
            r.error(
                &ap,
                format!("endpoint address {addr:?} is not a valid FQDN or an IP address"),
                "use an IP address or a DNS name",
            );
        }
    }
    let pp = field(p, "ports");
    for (name, port) in &we.ports {
        let at = key(&pp, name);
        if let Some(sp) = service_ports {
            if !sp.contains(name) {
                r.error(
                    &at,
                    format!("endpoint port {port} is not defined by the service entry"),
                    "use the name of one of the ServiceEntry's ports",
                );
            }
        }
        r.port_name(&at, name);
        r.port(&at, *port);
    }
    r.labels(&field(p, "labels"), &we.labels);
    if unix {
        if let Some(sp) = service_ports {
            if sp.len() != 1 {
                r.error(
                    &ap,
                    "exactly 1 service port required for unix endpoints",
                    "give the ServiceEntry exactly one port",
                );
            }
        }
    }
}
