//! Which request headers the compiled table can read, per host, worked out
//! once when the filter is configured: the filter copies only those into
//! the request it decides on, not every header Envoy holds.
//!
//! Route conditions are the only readers of request headers in a decision
//! (`headers` and `withoutHeaders` matches; the pseudo-headers come from the
//! request line). The names are gathered from the proxy's own routes, as
//! `meshroute envoy-config` sees them ([`Mesh::sidecar_view`],
//! [`Mesh::gateway_view`]), by the virtual host's domain. A host no domain
//! names exactly gets the names of every route, so no lookup can miss a
//! header a route reads.

use crate::plan::FilterOptions;
use meshroute::decide::RouteEntry;
use meshroute::Mesh;
use std::collections::{BTreeSet, HashMap};

/// The headers to copy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected<'a> {
    /// Every header (the proxy's routes could not be listed).
    All,
    /// Only these (lower-case names, sorted).
    Only(&'a [String]),
}

impl Selected<'_> {
    /// Whether a header named `name` (lower-case) is copied.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Selected::All => true,
            Selected::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// The request headers the routes of one proxy read, by host.
#[derive(Debug, Clone, Default)]
pub struct HeaderSelection {
    /// Lower-case host (no port) to the names the routes of the virtual
    /// hosts with that domain read, with those of every wildcard domain.
    by_host: HashMap<String, Vec<String>>,
    /// For other hosts: the names every route reads; `None`: every header.
    otherwise: Option<Vec<String>>,
}

impl HeaderSelection {
    /// The selection for the proxy `options` name (`gateway`, the source
    /// namespace and labels).
    pub fn of(mesh: &Mesh, options: &FilterOptions) -> HeaderSelection {
        // (domain, names its routes read) per virtual host.
        let mut hosts: Vec<(String, BTreeSet<String>)> = Vec::new();
        if options.gateway == meshroute::Request::DEFAULT_GATEWAY {
            let view = mesh.sidecar_view(&options.source_namespace, &options.source_labels);
            for vh in view.virtual_hosts() {
                let names = names_read(&vh.routes());
                for domain in vh.domains() {
                    let bare = meshroute::hosts::split_authority(domain).host;
                    hosts.push((bare.to_ascii_lowercase(), names.clone()));
                }
            }
        } else {
            let Some(view) = mesh.gateway_view(&options.gateway) else {
                return HeaderSelection {
                    by_host: HashMap::new(),
                    otherwise: None,
                };
            };
            for port in view.ports() {
                for vh in port.virtual_hosts() {
                    hosts.push((vh.domain().to_ascii_lowercase(), names_read(&vh.routes())));
                }
            }
        }
        let every: BTreeSet<String> = hosts.iter().flat_map(|(_, n)| n.iter().cloned()).collect();
        let wildcard: BTreeSet<String> = hosts
            .iter()
            .filter(|(d, _)| d.contains('*'))
            .flat_map(|(_, n)| n.iter().cloned())
            .collect();
        let mut by_host: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (domain, names) in hosts.into_iter().filter(|(d, _)| !d.contains('*')) {
            by_host
                .entry(domain)
                .or_insert_with(|| wildcard.clone())
                .extend(names);
        }
        HeaderSelection {
            // A host whose routes read every name needs no entry of its own.
            by_host: by_host
                .into_iter()
                .filter(|(_, names)| *names != every)
                .map(|(host, names)| (host, names.into_iter().collect()))
                .collect(),
            otherwise: Some(every.into_iter().collect()),
        }
    }

    /// A selection that copies every header.
    pub fn all() -> HeaderSelection {
        HeaderSelection::default()
    }

    /// The headers to copy for a request to `authority` (`host[:port]`).
    pub fn for_authority(&self, authority: &str) -> Selected<'_> {
        let Some(otherwise) = &self.otherwise else {
            return Selected::All;
        };
        if self.by_host.is_empty() {
            return Selected::Only(otherwise);
        }
        let host = meshroute::hosts::split_authority(authority).host;
        let found = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_host.get(&host.to_ascii_lowercase())
        } else {
            self.by_host.get(host)
        };
        Selected::Only(found.unwrap_or(otherwise))
    }
}

/// The names of the request headers `routes` read (pseudo-headers aside).
fn names_read(routes: &[RouteEntry<'_>]) -> BTreeSet<String> {
    routes
        .iter()
        .filter_map(RouteEntry::condition)
        .flat_map(|m| m.headers.iter().chain(&m.without_headers))
        .filter(|h| h.name.pseudo.is_none())
        .map(|h| h.name.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::configure;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}, ":method": {exact: POST}}}]
    route: [{destination: {host: reviews}}]
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - match: [{withoutHeaders: {x-canary: {exact: "1"}}}]
    route: [{destination: {host: ratings}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge, namespace: default}
spec:
  hosts: ["*.example.com"]
  gateways: [edge]
  http:
  - match: [{headers: {x-tenant: {prefix: a}}}]
    route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http:
  - match: [{headers: {x-shop: {exact: "1"}}}]
    route: [{destination: {host: ratings}}]
"#;

    fn selection(gateway: &str) -> HeaderSelection {
        let opts = serde_json::json!({"config": CONFIG, "gateway": gateway}).to_string();
        match configure(opts.as_bytes()) {
            Ok(c) => HeaderSelection::of(&c.mesh, &c.options),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn only(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn each_host_reads_the_headers_of_its_own_routes() {
        let s = selection("mesh");
        let reviews = only(&["end-user"]);
        assert_eq!(s.for_authority("reviews:9080"), Selected::Only(&reviews));
        assert_eq!(
            s.for_authority("Reviews.Default.svc.cluster.local:9080"),
            Selected::Only(&reviews)
        );
        let ratings = only(&["x-canary"]);
        assert_eq!(s.for_authority("ratings:9080"), Selected::Only(&ratings));
        assert!(!s.for_authority("ratings").contains("end-user"));
    }

    #[test]
    fn a_host_no_domain_names_reads_every_routes_headers() {
        let s = selection("mesh");
        let every = only(&["end-user", "x-canary"]);
        assert_eq!(
            s.for_authority("unknown.example.com"),
            Selected::Only(&every)
        );
    }

    #[test]
    fn a_gateways_hosts_include_its_wildcard_domains_names() {
        let s = selection("default/edge");
        let shop = only(&["x-shop", "x-tenant"]);
        assert_eq!(s.for_authority("shop.example.com"), Selected::Only(&shop));
        assert_eq!(s.for_authority("a.example.com"), Selected::Only(&shop));
    }

    #[test]
    fn an_unknown_gateway_copies_every_header() {
        let s = selection("default/missing");
        assert_eq!(s.for_authority("reviews"), Selected::All);
        assert!(Selected::All.contains("anything"));
    }
}
