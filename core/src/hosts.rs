//! Host names as Istio (`pkg/config/host`, `ResolveShortnameToFQDN`,
//! `resolveGatewayName`) and Envoy (virtual-host domain lookup) treat them.
//!
//! [`matches()`], [`subset_of`] and [`more_specific`] compare bytes exactly, as
//! Istio's `host.Name` methods do; hosts should be lower-cased first
//! ([`normalize_host`]) wherever the comparison stands for DNS or Envoy
//! semantics, which are case-insensitive.

use std::cmp::Ordering;

/// True when `host` is wildcarded: its first character is `*` (`*`,
/// `*.example.com`, and the partial form `*foo.com`).
pub fn is_wildcard(host: &str) -> bool {
    host.starts_with('*')
}

/// Istio's `Name.Matches`: do `a` and `b` overlap? Symmetric.
///
/// Plain hosts match only themselves; a wildcard `*S` matches any host ending
/// in `S` (`*.com` matches `a.b.com`, `*.foo.com` does not match `foo.com`,
/// `*` matches everything); two wildcards match when one suffix ends with the
/// other.
pub fn matches(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (Some(sa), Some(sb)) => {
            if sa.len() < sb.len() {
                sb.ends_with(sa)
            } else {
                sa.ends_with(sb)
            }
        }
        (Some(sa), None) => b.ends_with(sa),
        (None, Some(sb)) => a.ends_with(sb),
        (None, None) => a == b,
    }
}

/// Istio's `Name.SubsetOf`: is every host named by `a` also named by `b`?
///
/// A wildcard is never a subset of a plain host; `*.a.b.com` is a subset of
/// `*.b.com`; `x.b.com` is a subset of `*.b.com`; plain hosts only of
/// themselves.
pub fn subset_of(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (Some(sa), Some(sb)) => a.len() >= b.len() && sa.ends_with(sb),
        (Some(_), None) => false,
        (None, Some(sb)) => a.ends_with(sb),
        (None, None) => a == b,
    }
}

/// Istio's `host.MoreSpecific` as an ordering: `Less` means `a` is more
/// specific and sorts first. Non-wildcard before wildcard, then longer before
/// shorter, then lexicographically smaller first.
pub fn more_specific(a: &str, b: &str) -> Ordering {
    match (is_wildcard(a), is_wildcard(b)) {
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        _ => b.len().cmp(&a.len()).then_with(|| a.cmp(b)),
    }
}

/// Sorts hosts most specific first ([`more_specific`]); stable.
pub fn sort_most_specific_first<S: AsRef<str>>(hosts: &mut [S]) {
    hosts.sort_by(|a, b| more_specific(a.as_ref(), b.as_ref()));
}

/// Istio's `ResolveShortnameToFQDN`: a dotless host `name` written in a
/// resource of namespace `namespace` means `name.<namespace>.svc.<domain>`.
///
/// `*`, IP literals and anything containing a dot are returned verbatim
/// (`reviews.prod` is *not* expanded). An empty namespace or domain leaves that
/// part out, as Istio does; an empty host stays empty.
pub fn resolve_short_name(host: &str, namespace: &str, domain: &str) -> String {
    if host.is_empty() || host == "*" || is_ip_literal(host) || host.contains('.') {
        return host.to_string();
    }
    let mut out = String::with_capacity(host.len() + namespace.len() + domain.len() + 6);
    out.push_str(host);
    if !namespace.is_empty() {
        out.push('.');
        out.push_str(namespace);
    }
    if !domain.is_empty() {
        out.push_str(".svc.");
        out.push_str(domain);
    }
    out
}

/// True when `s` is an IPv4 or IPv6 address literal (no brackets, no port).
/// Like Go's `netip.ParseAddr`, an IPv6 zone (`fe80::1%eth0`) is accepted.
pub fn is_ip_literal(s: &str) -> bool {
    crate::names::is_ip_address(s)
}

/// How many leading bits of `ip` an address entry covers: the prefix
/// length of a CIDR (`10.0.0.0/8`) that contains `ip`, or the full length
/// for an equal plain IP; `None` when it does not contain `ip` or either is
/// not an address. Envoy picks the filter chain with the longest such
/// prefix (`source/common/listener_manager/filter_chain_manager_impl.cc`).
pub fn address_covers(entry: &str, ip: &str) -> Option<u8> {
    use std::net::IpAddr;
    let ip: IpAddr = ip.parse().ok()?;
    let (addr, len) = match entry.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a: IpAddr = entry.parse().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let (a, b, bits) = match (addr, ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return None,
    };
    if len > bits {
        return None;
    }
    let shift = u32::from(bits - len);
    let same = shift >= 128 || (a >> shift) == (b >> shift);
    same.then_some(len)
}

/// Lower-cases the ASCII letters of a host, the form Envoy and DNS compare.
pub fn normalize_host(host: &str) -> String {
    host.to_ascii_lowercase()
}

/// Case-insensitive (ASCII) host equality.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// [`matches()`] ignoring ASCII case.
pub fn matches_ignore_case(a: &str, b: &str) -> bool {
    matches(&normalize_host(a), &normalize_host(b))
}

/// [`subset_of`] ignoring ASCII case.
pub fn subset_of_ignore_case(a: &str, b: &str) -> bool {
    subset_of(&normalize_host(a), &normalize_host(b))
}

/// An authority (`Host` / `:authority`) split into host and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The host without brackets (`::1` for `[::1]:80`).
    pub host: &'a str,
    /// The host as written, brackets kept (`[::1]`); what Envoy compares
    /// against virtual-host domains.
    pub host_as_written: &'a str,
    /// The text after the port colon, if there is one (not checked to be
    /// numeric, like Envoy).
    pub port: Option<&'a str>,
}

impl Authority<'_> {
    /// The port as a number, when present and a valid 16-bit decimal.
    pub fn port_number(&self) -> Option<u16> {
        let p = self.port?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    }
}

/// Splits an authority at its port colon the way Envoy's `getPortStart` does:
/// the last `:` is the port separator unless it is inside `[...]` (IPv6).
/// `example.com:80` -> (`example.com`, `80`); `[::1]:80` -> (`::1`, `80`);
/// `[::1]` -> (`::1`, none). A bare unbracketed IPv6 literal is returned whole
/// with no port (the only reading that keeps the address intact).
pub fn split_authority(authority: &str) -> Authority<'_> {
    // Byte loops, not `rfind`: authorities are short and memrchr's setup
    // costs more than the scan (this runs once per routing decision).
    let last = |needle: u8| authority.bytes().rposition(|b| b == needle);
    let (written, port) = match last(b':') {
        None => (authority, None),
        Some(colon) => {
            let close = last(b']');
            match close {
                Some(close) if close > colon => (authority, None),
                None if authority[..colon].contains(':') => (authority, None),
                _ => (&authority[..colon], Some(&authority[colon + 1..])),
            }
        }
    };
    let host = written
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(written);
    Authority {
        host,
        host_as_written: written,
        port,
    }
}

/// Which virtual host a request host selects, given each virtual host's
/// domain list (`domains[i]` belongs to virtual host `i`).
///
/// Envoy's precedence with `ignore_port_in_host_matching` (which Istio sets):
/// the port is removed from the request host, comparison ignores ASCII case,
/// and the order is: an exact domain; then the longest suffix wildcard
/// (`*.foo.com`, `*-bar.foo.com`: the host must be longer than the suffix);
/// then the longest prefix wildcard (`foo.*`); then `*`. Among equally good
/// candidates the first listed wins. Returns the index of the chosen virtual
/// host.
pub fn select_virtual_host<D, S>(request_host: &str, virtual_hosts: &[D]) -> Option<usize>
where
    D: AsRef<[S]>,
    S: AsRef<str>,
{
    let host = split_authority(request_host).host_as_written;
    let mut suffix_best: Option<(usize, usize)> = None; // (suffix len, vhost)
    let mut prefix_best: Option<(usize, usize)> = None;
    let mut catch_all: Option<usize> = None;
    for (index, domains) in virtual_hosts.iter().enumerate() {
        for domain in domains.as_ref() {
            let domain = domain.as_ref();
            if domain == "*" {
                catch_all.get_or_insert(index);
            } else if let Some(suffix) = domain.strip_prefix('*') {
                if host.len() > suffix.len() && ends_with_ignore_case(host, suffix) {
                    let better = suffix_best.is_none_or(|(len, _)| suffix.len() > len);
                    if better {
                        suffix_best = Some((suffix.len(), index));
                    }
                }
            } else if let Some(prefix) = domain.strip_suffix('*') {
                if host.len() > prefix.len() && starts_with_ignore_case(host, prefix) {
                    let better = prefix_best.is_none_or(|(len, _)| prefix.len() > len);
                    if better {
                        prefix_best = Some((prefix.len(), index));
                    }
                }
            } else if domain.eq_ignore_ascii_case(host) {
                return Some(index);
            }
        }
    }
    suffix_best
        .or(prefix_best)
        .map(|(_, index)| index)
        .or(catch_all)
}

/// [`select_virtual_host`] over one flat list of domains: the index of the
/// domain that wins.
pub fn select_domain<S: AsRef<str>>(request_host: &str, domains: &[S]) -> Option<usize> {
    let singles: Vec<[&str; 1]> = domains.iter().map(|d| [d.as_ref()]).collect();
    select_virtual_host(request_host, &singles)
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The reserved gateway name meaning "all sidecars".
pub const MESH_GATEWAY: &str = "mesh";

/// A resolved entry of a VirtualService `gateways` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GatewayRef {
    /// `mesh`: every sidecar.
    Mesh,
    /// A Gateway resource `namespace/name`.
    Gateway {
        /// Namespace of the Gateway resource.
        namespace: String,
        /// Name of the Gateway resource.
        name: String,
    },
}

impl GatewayRef {
    /// The key Istio indexes by: `mesh` or `namespace/name`.
    pub fn key(&self) -> String {
        match self {
            GatewayRef::Mesh => MESH_GATEWAY.to_string(),
            GatewayRef::Gateway { namespace, name } => format!("{namespace}/{name}"),
        }
    }
}

/// A gateway reference after resolution, with how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedGatewayRef {
    /// What it refers to.
    pub gateway: GatewayRef,
    /// True for the legacy dotted forms (`name.ns.svc.cluster.local`,
    /// `name.ns`) that Istio accepts with a deprecation warning.
    pub legacy: bool,
}

/// Resolves one entry of `VirtualService.gateways` (or `match[].gateways`)
/// written in a VirtualService of namespace `vs_namespace`, as Istio's
/// `resolveGatewayName` does:
///
/// `mesh` -> [`GatewayRef::Mesh`]; `name` -> `vs_namespace/name`; `ns/name` ->
/// `ns/name`; `./name` -> `vs_namespace/name`; `name.ns.svc.cluster.local` or
/// `name.ns` -> `ns/name` flagged legacy. No syntax is checked here (see
/// [`crate::names::validate_gateway_reference`]).
pub fn resolve_gateway_ref(written: &str, vs_namespace: &str) -> ResolvedGatewayRef {
    let named = |namespace: &str, name: &str| GatewayRef::Gateway {
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    if written == MESH_GATEWAY {
        return ResolvedGatewayRef {
            gateway: GatewayRef::Mesh,
            legacy: false,
        };
    }
    if let Some((ns, name)) = written.split_once('/') {
        let ns = if ns == "." { vs_namespace } else { ns };
        return ResolvedGatewayRef {
            gateway: named(ns, name),
            legacy: false,
        };
    }
    match written.split_once('.') {
        None => ResolvedGatewayRef {
            gateway: named(vs_namespace, written),
            legacy: false,
        },
        Some((name, rest)) => {
            // name.ns.svc.cluster.local -> ns/name; name.ns -> ns/name.
            let ns = rest.split_once('.').map_or(rest, |(ns, _)| ns);
            ResolvedGatewayRef {
                gateway: named(ns, name),
                legacy: true,
            }
        }
    }
}

/// Which namespaces' VirtualServices a Gateway server host admits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerHostNamespace {
    /// `*/` or no namespace part: any namespace.
    Any,
    /// `./`: the Gateway resource's own namespace.
    GatewayNamespace,
    /// `ns/`: that namespace only.
    Named(String),
}

impl ServerHostNamespace {
    /// Whether a VirtualService in `vs_namespace` may bind through a Gateway
    /// resource in `gateway_namespace`.
    pub fn admits(&self, vs_namespace: &str, gateway_namespace: &str) -> bool {
        match self {
            ServerHostNamespace::Any => true,
            ServerHostNamespace::GatewayNamespace => vs_namespace == gateway_namespace,
            ServerHostNamespace::Named(ns) => ns == vs_namespace,
        }
    }
}

/// One parsed `Gateway.servers[].hosts` entry: `[namespace/]dnsName`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerHost {
    /// The namespace part.
    pub namespace: ServerHostNamespace,
    /// The DNS name part (`*`, `*.example.com`, `example.com`, an IP).
    pub dns_name: String,
}

/// Parses a Gateway server host `[namespace/]dnsName` (split at the first
/// `/`). No syntax is checked here; validation is separate.
pub fn parse_server_host(entry: &str) -> ServerHost {
    match entry.split_once('/') {
        None => ServerHost {
            namespace: ServerHostNamespace::Any,
            dns_name: entry.to_string(),
        },
        Some((ns, dns)) => ServerHost {
            namespace: match ns {
                "*" => ServerHostNamespace::Any,
                "." => ServerHostNamespace::GatewayNamespace,
                other => ServerHostNamespace::Named(other.to_string()),
            },
            dns_name: dns.to_string(),
        },
    }
}

#[cfg(test)]
mod address_tests {
    use super::address_covers;

    #[test]
    fn cidrs_cover_by_prefix_and_plain_ips_by_equality() {
        assert_eq!(address_covers("10.0.0.0/8", "10.1.2.3"), Some(8));
        assert_eq!(address_covers("10.0.0.0/8", "11.0.0.1"), None);
        assert_eq!(address_covers("1.1.1.1", "1.1.1.1"), Some(32));
        assert_eq!(address_covers("1.1.1.1", "1.1.1.2"), None);
        assert_eq!(address_covers("0.0.0.0/0", "8.8.8.8"), Some(0));
        // Insignificant bits of the CIDR are ignored (serviceentry_simulation_test.go).
        assert_eq!(
            address_covers("1234:1f1:123:123:f816:3eff:feb8:2287/16", "1234::1"),
            Some(16)
        );
        assert_eq!(
            address_covers("1234:1f1:123:123:f816:3eff:febf:57ce/32", "1234::1"),
            None
        );
        assert_eq!(address_covers("::/0", "1.1.1.1"), None);
        assert_eq!(address_covers("10.0.0.0/33", "10.0.0.1"), None);
        assert_eq!(address_covers("not-an-ip", "10.0.0.1"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcard_is_a_leading_star() {
        assert!(is_wildcard("*"));
        assert!(is_wildcard("*.example.com"));
        assert!(is_wildcard("*foo.com"));
        assert!(!is_wildcard("foo.*"));
        assert!(!is_wildcard("example.com"));
    }

    #[test]
    fn matches_follows_istio() {
        assert!(matches("*.com", "foo.com"));
        assert!(matches("*.com", "a.b.com"));
        assert!(!matches("*.foo.com", "foo.com"));
        assert!(matches("*", "anything.at.all"));
        assert!(matches("*.b.com", "*.a.b.com"));
        assert!(matches("*.a.b.com", "*.b.com"));
        assert!(!matches("*.a.com", "*.b.com"));
        assert!(matches("a.com", "a.com"));
        assert!(!matches("a.com", "b.com"));
        // Byte comparison, as Istio.
        assert!(!matches("A.com", "a.com"));
        assert!(matches_ignore_case("A.com", "a.COM"));
    }

    #[test]
    fn subset_of_follows_istio() {
        assert!(subset_of("x.b.com", "*.b.com"));
        assert!(!subset_of("*.b.com", "x.b.com"));
        assert!(subset_of("*.a.b.com", "*.b.com"));
        assert!(!subset_of("*.b.com", "*.a.b.com"));
        assert!(subset_of("*.b.com", "*"));
        assert!(!subset_of("*", "*.b.com"));
        assert!(subset_of("a.com", "a.com"));
        assert!(!subset_of("a.com", "b.com"));
        assert!(subset_of_ignore_case("X.B.com", "*.b.COM"));
    }

    #[test]
    fn more_specific_orders_like_istio() {
        let mut hosts = vec!["*", "*.com", "a.b.com", "*.b.com", "b.com", "a.com"];
        sort_most_specific_first(&mut hosts);
        assert_eq!(
            hosts,
            vec!["a.b.com", "a.com", "b.com", "*.b.com", "*.com", "*"]
        );
        assert_eq!(more_specific("a.com", "*.a.com"), Ordering::Less);
        assert_eq!(more_specific("*.a.com", "a.com"), Ordering::Greater);
    }

    #[test]
    fn short_names_expand_only_without_dots() {
        assert_eq!(
            resolve_short_name("reviews", "prod", "cluster.local"),
            "reviews.prod.svc.cluster.local"
        );
        assert_eq!(
            resolve_short_name("reviews.prod", "x", "cluster.local"),
            "reviews.prod"
        );
        assert_eq!(resolve_short_name("*", "x", "cluster.local"), "*");
        assert_eq!(
            resolve_short_name("*.foo.com", "x", "cluster.local"),
            "*.foo.com"
        );
        assert_eq!(
            resolve_short_name("10.0.0.1", "x", "cluster.local"),
            "10.0.0.1"
        );
        assert_eq!(resolve_short_name("::1", "x", "cluster.local"), "::1");
        assert_eq!(resolve_short_name("fe80::1%eth0", "x", "c"), "fe80::1%eth0");
        assert_eq!(resolve_short_name("", "x", "cluster.local"), "");
        assert_eq!(resolve_short_name("a", "", ""), "a");
    }

    #[test]
    fn authority_splits_host_and_port() {
        let a = split_authority("example.com:8080");
        assert_eq!(
            (a.host, a.port, a.port_number()),
            ("example.com", Some("8080"), Some(8080))
        );
        let a = split_authority("example.com");
        assert_eq!((a.host, a.port), ("example.com", None));
        let a = split_authority("[::1]:80");
        assert_eq!(
            (a.host, a.host_as_written, a.port),
            ("::1", "[::1]", Some("80"))
        );
        let a = split_authority("[::1]");
        assert_eq!((a.host, a.port), ("::1", None));
        let a = split_authority("::1");
        assert_eq!((a.host, a.port), ("::1", None));
        let a = split_authority("h:abc");
        assert_eq!((a.port, a.port_number()), (Some("abc"), None));
        assert_eq!(split_authority("h:99999").port_number(), None);
    }

    #[test]
    fn virtual_host_precedence_is_exact_then_suffix_then_prefix_then_star() {
        let domains = ["*", "foo.*", "*.foo.com", "*.a.foo.com", "x.a.foo.com"];
        assert_eq!(select_domain("x.a.foo.com", &domains), Some(4));
        assert_eq!(select_domain("X.A.FOO.COM:8080", &domains), Some(4));
        assert_eq!(select_domain("y.a.foo.com", &domains), Some(3));
        assert_eq!(select_domain("b.foo.com", &domains), Some(2));
        // A suffix wildcard does not match the bare suffix.
        assert_eq!(select_domain("foo.com", &domains), Some(1));
        assert_eq!(select_domain("bar.com", &domains), Some(0));
        assert_eq!(select_domain("bar.com", &["a.com"]), None);
        // Per virtual host lists.
        let vhosts = vec![vec!["a.com", "a.com:80"], vec!["*.com"]];
        assert_eq!(select_virtual_host("a.com:80", &vhosts), Some(0));
        assert_eq!(select_virtual_host("b.com", &vhosts), Some(1));
        assert_eq!(select_domain("[::1]:80", &["[::1]"]), Some(0));
    }

    #[test]
    fn gateway_references_resolve_like_istio() {
        let r = |s| resolve_gateway_ref(s, "vsns");
        assert_eq!(r("mesh").gateway, GatewayRef::Mesh);
        assert_eq!(r("gw").gateway.key(), "vsns/gw");
        assert_eq!(r("other/gw").gateway.key(), "other/gw");
        assert_eq!(r("./gw").gateway.key(), "vsns/gw");
        let legacy = r("gw.ns1.svc.cluster.local");
        assert_eq!(
            (legacy.gateway.key(), legacy.legacy),
            ("ns1/gw".to_string(), true)
        );
        let legacy = r("gw.ns1");
        assert_eq!(
            (legacy.gateway.key(), legacy.legacy),
            ("ns1/gw".to_string(), true)
        );
        assert!(!r("other/gw").legacy);
    }

    #[test]
    fn server_hosts_parse_namespace_and_name() {
        let h = parse_server_host("*.example.com");
        assert_eq!(h.namespace, ServerHostNamespace::Any);
        assert_eq!(h.dns_name, "*.example.com");
        let h = parse_server_host("./foo.com");
        assert_eq!(h.namespace, ServerHostNamespace::GatewayNamespace);
        assert!(h.namespace.admits("gwns", "gwns"));
        assert!(!h.namespace.admits("other", "gwns"));
        let h = parse_server_host("prod/*");
        assert_eq!(h.namespace, ServerHostNamespace::Named("prod".into()));
        assert!(h.namespace.admits("prod", "gwns"));
        assert!(!h.namespace.admits("dev", "gwns"));
        assert_eq!(parse_server_host("*/*").namespace, ServerHostNamespace::Any);
    }

    fn host_strategy() -> impl Strategy<Value = String> {
        let label = prop::sample::select(vec!["a", "b", "ab", "c"]);
        (prop::bool::ANY, prop::collection::vec(label, 0..4)).prop_map(|(wild, labels)| {
            let body = labels.join(".");
            match (wild, body.is_empty()) {
                (true, true) => "*".to_string(),
                (true, false) => format!("*.{body}"),
                (false, true) => "a".to_string(),
                (false, false) => body,
            }
        })
    }

    proptest! {
        #[test]
        fn matches_is_symmetric(a in host_strategy(), b in host_strategy()) {
            prop_assert_eq!(matches(&a, &b), matches(&b, &a));
        }

        #[test]
        fn subset_of_is_transitive(a in host_strategy(), b in host_strategy(), c in host_strategy()) {
            if subset_of(&a, &b) && subset_of(&b, &c) {
                prop_assert!(subset_of(&a, &c));
            }
        }

        #[test]
        fn subset_implies_match(a in host_strategy(), b in host_strategy()) {
            if subset_of(&a, &b) {
                prop_assert!(matches(&a, &b));
            }
        }
    }
}
