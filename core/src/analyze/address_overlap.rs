//! ServiceEntries whose addresses overlap on a TLS port (meshroute's own
//! check, MR0008).
//!
//! A sidecar picks a TLS connection's filter chain by destination address
//! first (the longest prefix), then by SNI among the chains of that prefix.
//! When ServiceEntry B claims a CIDR that contains a longer address entry of
//! ServiceEntry A on the same TLS port, a connection to B's host sent to an
//! address in A's range matches A's chain only, whose SNI is A's host: it is
//! not routed to B and goes where the outbound traffic policy sends it.
//! Istio's own test marks this as broken (`serviceentry_simulation_test.go`,
//! "TODO(istio/istio#52235) this is broken");
//! meshroute routes as Istio does and warns here.

use super::defaults::AnalysisView;
use super::report;
use crate::hosts::address_covers;
use crate::message::{codes, Message, Severity};
use crate::model::Kind;
use crate::source::path;

/// Whether a ServiceEntry port protocol is routed by SNI at a sidecar.
fn is_tls(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| p.eq_ignore_ascii_case("TLS") || p.eq_ignore_ascii_case("HTTPS"))
}

/// The prefix length of an address entry (`10.0.0.0/8` is 8, a plain IP its full length).
fn prefix_len(entry: &str) -> Option<u8> {
    let network = entry.split('/').next().unwrap_or(entry);
    address_covers(entry, network)
}

/// One warning per (less specific entry, more specific entry) pair on a shared TLS port.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    let entries = &config.service_entries;
    for (bi, b) in entries.iter().enumerate() {
        for (ai, a) in entries.iter().enumerate() {
            if ai == bi || a.spec.hosts == b.spec.hosts {
                continue;
            }
            let Some(port) = b.spec.ports.iter().find_map(|bp| {
                let shared = a
                    .spec
                    .ports
                    .iter()
                    .any(|ap| ap.number == bp.number && is_tls(ap.protocol.as_deref()));
                (is_tls(bp.protocol.as_deref()) && shared).then_some(bp.number)
            }) else {
                continue;
            };
            for (k, wide) in b.spec.addresses.iter().enumerate() {
                let Some(wide_len) = prefix_len(wide) else {
                    continue;
                };
                let narrower = a.spec.addresses.iter().find(|narrow| {
                    let network = narrow.split('/').next().unwrap_or(narrow);
                    prefix_len(narrow).is_some_and(|n| n > wide_len)
                        && address_covers(wide, network).is_some()
                });
                let Some(narrow) = narrower else {
                    continue;
                };
                out.push(report(
                    b,
                    Kind::ServiceEntry,
                    codes::TLS_ADDRESS_SHADOWED,
                    Severity::Warning,
                    &path::index("spec.addresses", k),
                    format!(
                        "address {wide} contains the more specific {narrow} of ServiceEntry {} on TLS port {}: TLS to {} sent to an address in {narrow} is not routed here (the sidecar picks the longest address first, then the SNI; istio/istio#52235), it goes where the outbound traffic policy sends it",
                        a.key(),
                        port.unwrap_or(0),
                        b.spec.hosts.join(", "),
                    ),
                    "give the ServiceEntries disjoint addresses, or put the hosts that share addresses in one ServiceEntry",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::analyze;
    use crate::load::load_str;

    fn entry(name: &str, host: &str, address: &str, protocol: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  hosts: [{host}]\n  addresses: [\"{address}\"]\n  ports: [{{number: 9999, name: p, protocol: {protocol}}}]\n---\n"
        )
    }

    fn messages(yaml: &str) -> Vec<crate::message::Message> {
        let config = load_str(yaml, "se.yaml");
        let mut out = Vec::new();
        analyze(&super::AnalysisView::unfiltered(&config), &mut out);
        out
    }

    #[test]
    fn a_wider_tls_cidr_over_a_narrower_one_is_reported_on_the_wider_entry() {
        // serviceentry_simulation_test.go, "overlapping CIDR with SNI".
        let yaml = entry(
            "se1",
            "blah1.somedomain",
            "1234:1f1:123:123:f816:3eff:feb8:2287/16",
            "TLS",
        ) + &entry(
            "se2",
            "blah2.somedomain",
            "1234:1f1:123:123:f816:3eff:febf:57ce/32",
            "TLS",
        );
        let found = messages(&yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        let text = found[0].to_string();
        assert!(text.contains("MR0008"), "{text}");
        assert!(text.contains("ServiceEntry default/se1"), "{text}");
        assert!(text.contains("default/se2"), "{text}");
    }

    #[test]
    fn tcp_ports_and_disjoint_or_equal_addresses_are_fine() {
        let tcp = entry("se1", "a.example", "10.0.0.0/8", "TCP")
            + &entry("se2", "b.example", "10.1.0.0/16", "TCP");
        assert!(messages(&tcp).is_empty());
        let disjoint = entry("se1", "a.example", "10.0.0.0/16", "TLS")
            + &entry("se2", "b.example", "10.1.0.0/16", "TLS");
        assert!(messages(&disjoint).is_empty());
        let equal = entry("se1", "a.example", "10.0.0.0/16", "TLS")
            + &entry("se2", "b.example", "10.0.0.0/16", "TLS");
        assert!(messages(&equal).is_empty());
    }
}
