//! A TLS or TCP rule's match block (`L4MatchAttributes`,
//! `TLSMatchAttributes`): SNI, destination subnets, port, source and
//! gateways, all known when the connection opens.

use super::gateway::GatewayMatcher;
use super::port::PortMatcher;
use super::source::SourceMatcher;
use crate::hosts::{self, GatewayRef};
use crate::model::virtual_service::{L4MatchAttributes, TlsMatchAttributes};
use std::collections::BTreeMap;

/// One compiled TLS or TCP match block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L4RouteMatch {
    /// Position in the rule's `match` list.
    pub index: usize,
    /// `sniHosts`, lower-cased (TLS only; wildcards allowed).
    pub sni_hosts: Vec<String>,
    /// `destinationSubnets` (addresses or CIDRs).
    pub destination_subnets: Vec<String>,
    /// `port`.
    pub port: PortMatcher,
    /// `sourceLabels` and `sourceNamespace`.
    pub source: SourceMatcher,
    /// `gateways`.
    pub gateways: GatewayMatcher,
}

/// What a proxy knows of a connection when it picks a TLS or TCP route.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The proxy deciding.
    pub gateway: &'a GatewayRef,
    /// The port the connection arrived on.
    pub listener_port: u32,
    /// The caller's labels (`None` at a gateway).
    pub labels: Option<&'a BTreeMap<String, String>>,
    /// The caller's namespace.
    pub caller_namespace: &'a str,
    /// The TLS SNI, lower-cased.
    pub sni: Option<&'a str>,
    /// The original destination address.
    pub destination_ip: Option<&'a str>,
}

impl L4RouteMatch {
    /// A `tcp[].match[index]` block of a VirtualService in `namespace`.
    pub fn from_tcp(index: usize, m: &L4MatchAttributes, namespace: &str) -> Self {
        L4RouteMatch {
            index,
            sni_hosts: Vec::new(),
            destination_subnets: m.destination_subnets.clone(),
            port: PortMatcher::new(m.port),
            source: SourceMatcher::new(&m.source_labels, m.source_namespace.as_deref()),
            gateways: GatewayMatcher::new(&m.gateways, namespace),
        }
    }

    /// A `tls[].match[index]` block of a VirtualService in `namespace`.
    pub fn from_tls(index: usize, m: &TlsMatchAttributes, namespace: &str) -> Self {
        L4RouteMatch {
            index,
            sni_hosts: m.sni_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            destination_subnets: m.destination_subnets.clone(),
            port: PortMatcher::new(m.port),
            source: SourceMatcher::new(&m.source_labels, m.source_namespace.as_deref()),
            gateways: GatewayMatcher::new(&m.gateways, namespace),
        }
    }

    /// Whether every condition holds for the connection.
    pub fn holds(&self, c: &Connection<'_>) -> bool {
        self.port.holds(c.listener_port)
            && self.gateways.holds(c.gateway)
            && self.source.holds(c.labels, c.caller_namespace)
            && (self.sni_hosts.is_empty()
                || c.sni
                    .is_some_and(|s| self.sni_hosts.iter().any(|h| hosts::matches(h, s))))
            && (self.destination_subnets.is_empty()
                || c.destination_ip
                    .is_some_and(|ip| self.destination_subnets.iter().any(|n| ip_in_subnet(ip, n))))
    }
}

/// Whether `ip` lies in `subnet` (an address or CIDR; IPv4 and IPv6).
pub fn ip_in_subnet(ip: &str, subnet: &str) -> bool {
    use std::net::IpAddr;
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return false;
    };
    let (net, bits) = match subnet.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (subnet, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_hold_for_v4_and_v6_addresses_inside_them() {
        assert!(ip_in_subnet("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_in_subnet("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in_subnet("10.1.2.3", "10.1.2.3"));
        assert!(ip_in_subnet("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in_subnet("2001:db8::1", "10.0.0.0/8"));
        assert!(ip_in_subnet("1.2.3.4", "0.0.0.0/0"));
        assert!(!ip_in_subnet("not-an-ip", "0.0.0.0/0"));
    }

    #[test]
    fn sni_and_port_must_both_hold() {
        let m: TlsMatchAttributes =
            serde_json::from_str(r#"{"sniHosts": ["*.Example.com"], "port": 443}"#).unwrap();
        let m = L4RouteMatch::from_tls(0, &m, "default");
        let c = Connection {
            gateway: &GatewayRef::Mesh,
            listener_port: 443,
            labels: None,
            caller_namespace: "default",
            sni: Some("a.example.com"),
            destination_ip: None,
        };
        assert!(m.holds(&c));
        assert!(!m.holds(&Connection {
            listener_port: 80,
            ..c
        }));
        assert!(!m.holds(&Connection { sni: None, ..c }));
    }
}
