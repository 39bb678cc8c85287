//! Read-only views of the compiled table as one proxy sees it, for config
//! exporters (the `meshroute-envoy` crate, other proxies' formats).
//!
//! [`Mesh::sidecar_view`] gives the [`VirtualHost`]s a sidecar in a
//! namespace (with its workload's labels) has for its outbound HTTP
//! traffic per port, each with the names callers may use and its
//! [`RouteEntry`]s in the order Istio emits them, and the catch-all its
//! outbound traffic policy makes ([`SidecarView::outbound`]).
//! [`Mesh::gateway_view`] gives a gateway's HTTP route tables per listener
//! port. A route entry carries the public matcher it was built from
//! ([`HttpRouteMatch`]) and the [`Decision`] it yields. Nothing here
//! changes the table, and nothing here decides on its own: virtual hosts
//! are the ones the decision's own resolution (`sidecar.rs`, `scope.rs`,
//! `gateway.rs`) picks, so the views and [`Mesh::decide`] agree.

use super::compile::CompiledHttpRoute;
use super::decision::Decision;
use super::evaluate::Proxy;
use super::gateway::{Chain, GatewayEntry, GatewayVHost, MergedGateway};
use super::request::Request;
use super::request_view::View;
use super::scope::Scope;
use super::sidecar::CAPTURE_PORTS;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::GatewayRef;
use crate::matching::{HttpRouteMatch, StringMatcher};
use crate::model::virtual_service::HttpRoute;
use crate::registry::{PortProtocol, Service};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// The outbound HTTP routing of one sidecar, read from a compiled [`Mesh`].
///
/// Read-only and cheap to make (it borrows the table and the caller's
/// namespace and labels). [`SidecarView::virtual_hosts`] walks the
/// registry once; [`RouteEntry::decision`] evaluates the rule as
/// [`Mesh::decide`] would, so call it once per entry.
#[derive(Debug, Clone, Copy)]
pub struct SidecarView<'m> {
    mesh: &'m Mesh,
    namespace: &'m str,
    labels: &'m BTreeMap<String, String>,
}

impl Mesh {
    /// The outbound HTTP routing a sidecar in `namespace`, whose workload
    /// has `labels`, gets from this table (see [`SidecarView`]).
    pub fn sidecar_view<'m>(
        &'m self,
        namespace: &'m str,
        labels: &'m BTreeMap<String, String>,
    ) -> SidecarView<'m> {
        SidecarView {
            mesh: self,
            namespace,
            labels,
        }
    }
}

impl<'m> SidecarView<'m> {
    /// The sidecar's namespace.
    pub fn namespace(&self) -> &'m str {
        self.namespace
    }

    /// The labels of the sidecar's workload.
    pub fn labels(&self) -> &'m BTreeMap<String, String> {
        self.labels
    }

    /// The caller's Sidecar scope for traffic to `port`.
    fn scope(&self, port: u32) -> Scope<'m> {
        let sidecar = self.mesh.sidecars.for_caller(self.namespace, self.labels);
        Scope::of(self.namespace, sidecar, port)
    }

    /// The names a caller may write (without port) that could reach a
    /// virtual host: every registry name with its Kubernetes short forms
    /// and absolute form (ExternalName aliases included), then every host
    /// of a VirtualService bound to the mesh.
    fn candidate_names(&self) -> Vec<String> {
        let mesh = self.mesh;
        let suffix = format!(".svc.{}", mesh.options().domain_suffix);
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for service in mesh.registry().services() {
            for name in aliases(&service.hostname, &suffix) {
                if seen.insert(name.clone()) {
                    out.push(name);
                }
            }
        }
        let mut exact: Vec<&String> = mesh.mesh_exact.keys().collect();
        exact.sort();
        let wildcards = mesh.mesh_wildcard.iter().map(|(h, _)| h);
        for host in exact.into_iter().chain(wildcards) {
            if seen.insert(host.clone()) {
                out.push(host.clone());
            }
        }
        out
    }

    /// Per port the sidecar has an HTTP route table for (the ports of the
    /// services carrying HTTP or an undeclared protocol), ascending, one
    /// virtual host per host the decision resolves a caller's name to on
    /// that port (`Mesh::resolve_http`, with the caller's Sidecar scope for
    /// the port: imported services, ExternalName aliases under their
    /// target, exact VirtualService hosts outside the registry, wildcard
    /// VirtualService hosts covering none of the port's services). Its
    /// domains are the names that resolve to it: `name:port`, and `name`
    /// alone for port 80 (Istio's `generateVirtualHostDomains`,
    /// `GenerateAltVirtualHosts` for the absolute FQDN, pilot
    /// `networking/core/httproute.go`), and `*.name` for a headless
    /// Service's names, which its pods' names reach. Names no virtual host
    /// takes go to [`SidecarView::outbound`].
    pub fn virtual_hosts(&self) -> Vec<VirtualHost<'m>> {
        let mesh = self.mesh;
        let mut ports: BTreeSet<u32> = BTreeSet::new();
        for service in mesh.registry().services() {
            for p in &service.ports {
                // The capture ports have no route table: the decision blackholes them.
                if matches!(p.protocol, PortProtocol::Http | PortProtocol::Unknown)
                    && !CAPTURE_PORTS.contains(&p.number)
                {
                    ports.insert(p.number);
                }
            }
        }
        let names = self.candidate_names();
        let mut out = Vec::new();
        for port in ports {
            let scope = self.scope(port);
            let mut on_port: Vec<VirtualHost<'m>> = Vec::new();
            for name in &names {
                let Some(r) = mesh.resolve_http(name, port, &scope) else {
                    continue;
                };
                let routed = r.vs.is_some_and(|i| !mesh.vs[i].http.is_empty());
                if r.service.is_none() && !routed {
                    // The decision falls to the outbound policy: the catch-all.
                    continue;
                }
                let vh = match on_port
                    .iter_mut()
                    .find(|v| v.hostname == r.fqdn && v.service_index == r.service && v.vs == r.vs)
                {
                    Some(v) => v,
                    None => {
                        on_port.push(VirtualHost {
                            view: *self,
                            service_index: r.service,
                            service: r.service.map(|i| &mesh.registry().services()[i]),
                            hostname: r.fqdn,
                            port,
                            vs: r.vs.filter(|_| routed),
                            domains: Vec::new(),
                        });
                        on_port.last_mut().expect("just pushed")
                    }
                };
                vh.domains.push(format!("{name}:{port}"));
                if port == 80 {
                    vh.domains.push(name.clone());
                }
                // A headless Service's names also take its pods' names
                // (`web-0.web`) when the decision resolves them to it: Istio's
                // `*.` domains (`generateVirtualHostDomains`, Passthrough
                // resolution of a Kubernetes Service).
                let pod_name = format!("pod.{name}");
                let headless = vh
                    .service
                    .is_some_and(|s| mesh.registry().is_headless(&s.hostname));
                if headless
                    && mesh.resolve_http(&pod_name, port, &scope).is_some_and(|p| {
                        p.fqdn == vh.hostname && p.service == vh.service_index && p.vs == vh.vs
                    })
                {
                    vh.domains.push(format!("*.{name}:{port}"));
                    if port == 80 {
                        vh.domains.push(format!("*.{name}"));
                    }
                }
            }
            out.extend(on_port);
        }
        out
    }

    /// What the sidecar does with a request on `port` no virtual host
    /// takes: the outbound traffic policy of the caller's Sidecar, else the
    /// mesh's (`passthrough`, to the Sidecar's egress proxy when it names
    /// one, or REGISTRY_ONLY's 502), as the decision gives it.
    pub fn outbound(&self, port: u32) -> Decision<'m> {
        let mut req = Request::new("").from_namespace(self.namespace);
        req.port = u16::try_from(port).ok();
        req.source.labels = self.labels.clone();
        let view = View::new(&req);
        let mut t = Tracer::new(false);
        self.mesh.unknown_host_in(&view, &self.scope(port), &mut t)
    }
}

/// The names a caller may use for `host` (Kubernetes short forms when it
/// ends in `ns_suffix`, `.svc.<domain>`; the absolute FQDN with its
/// trailing dot).
fn aliases(host: &str, ns_suffix: &str) -> Vec<String> {
    let mut v = vec![host.to_string()];
    if !host.starts_with('*') && !crate::hosts::is_ip_literal(host) {
        v.push(format!("{host}."));
    }
    if let Some(short) = host.strip_suffix(ns_suffix) {
        if let Some((name, _)) = short.split_once('.') {
            v.push(name.to_string());
            v.push(short.to_string());
            v.push(format!("{short}.svc"));
        }
    }
    v
}

/// One host of a sidecar's route table on one port.
#[derive(Debug, Clone)]
pub struct VirtualHost<'m> {
    view: SidecarView<'m>,
    service_index: Option<usize>,
    service: Option<&'m Service>,
    hostname: String,
    port: u32,
    /// The VirtualService whose HTTP rules route it.
    vs: Option<usize>,
    domains: Vec<String>,
}

impl<'m> VirtualHost<'m> {
    /// The service (FQDN, ports, endpoints); `None` for a VirtualService
    /// host no registry entry the caller imports on this port backs.
    pub fn service(&self) -> Option<&'m Service> {
        self.service
    }

    /// The service's host name (the target of an ExternalName alias), or
    /// the VirtualService's host.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The port of the route table.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The names (`host:port`, and `host` for port 80) that reach it.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// `namespace/name` of the VirtualService whose rules make the routes;
    /// `None` when the host gets the default route.
    pub fn virtual_service_key(&self) -> Option<&'m str> {
        let mesh = self.view.mesh;
        self.vs.map(|i| &*mesh.vs[i].key)
    }

    /// The routes in Istio's order: one per rule match that exists on
    /// this sidecar (`port`, `sourceLabels`, `sourceNamespace`, `gateways`
    /// conditions hold) and can match (no invalid pattern), a rule without
    /// matches as one entry, ending at the first entry that matches every
    /// request (Istio stops generating routes after a catch-all). A host no
    /// VirtualService routes has the single default route.
    pub fn routes(&self) -> Vec<RouteEntry<'m>> {
        let mesh = self.view.mesh;
        // The host the decision routes, borrowed from the table.
        let host: &'m str = match (self.service, self.vs) {
            (Some(s), _) => &s.hostname,
            (None, Some(i)) => mesh.vs[i]
                .hosts
                .iter()
                .find(|h| **h == self.hostname)
                .map_or("", |h| h.as_str()),
            (None, None) => "",
        };
        let owner = Owner::Sidecar {
            view: self.view,
            service: self.service_index,
            host,
        };
        let Some(vs) = self.vs.map(|i| &mesh.vs[i]) else {
            return vec![RouteEntry {
                owner,
                port: self.port,
                rule: None,
                condition: None,
            }];
        };
        let (ns, labels) = (self.view.namespace, self.view.labels);
        let rules: Vec<&'m CompiledHttpRoute> = vs.http.iter().collect();
        ordered_entries(owner, self.port, &rules, |m| {
            m.exists_on_sidecar(ns, labels, self.port)
        })
    }
}

/// The entries of `rules` in evaluation order: one per match that exists
/// on the proxy and can match, a rule without matches as one entry, up to
/// the first entry that matches every request.
fn ordered_entries<'m>(
    owner: Owner<'m>,
    port: u32,
    rules: &[&'m CompiledHttpRoute],
    exists: impl Fn(&HttpRouteMatch) -> bool,
) -> Vec<RouteEntry<'m>> {
    let mut out = Vec::new();
    for rule in rules {
        let entry = |condition| RouteEntry {
            owner,
            port,
            rule: Some(*rule),
            condition,
        };
        if rule.matches.is_empty() {
            out.push(entry(None));
            return out;
        }
        for m in &rule.matches {
            if !exists(m) || has_invalid_pattern(m) {
                continue;
            }
            out.push(entry(Some(m)));
            if m.is_catch_all() {
                return out;
            }
        }
    }
    out
}

/// Whether a condition holds a pattern that failed to compile: it never
/// matches (validation reports it), so it makes no route.
fn has_invalid_pattern(m: &HttpRouteMatch) -> bool {
    let invalid = |c: &StringMatcher| matches!(c, StringMatcher::Invalid(_));
    [&m.uri, &m.scheme, &m.method, &m.authority]
        .into_iter()
        .flatten()
        .any(invalid)
        || m.headers
            .iter()
            .chain(&m.without_headers)
            .any(|h| invalid(&h.matcher))
        || m.query_params.iter().any(|q| invalid(&q.matcher))
}

/// The proxy a route table belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner<'m> {
    Sidecar {
        view: SidecarView<'m>,
        /// The registry service of the virtual host (the default route's).
        service: Option<usize>,
        /// The host the virtual host routes.
        host: &'m str,
    },
    Gateway {
        mesh: &'m Mesh,
        /// The gateway as the request names it.
        key: &'m str,
        /// The gateway proxy's config namespace.
        proxy_ns: &'m str,
        /// The Gateway the virtual host's first VirtualService is bound through.
        gateway: Option<usize>,
        /// Whether the filter chain terminates TLS.
        tls: bool,
    },
}

/// One route of a [`VirtualHost`] or [`GatewayVirtualHost`]: a rule and
/// the match it was made from.
#[derive(Debug, Clone, Copy)]
pub struct RouteEntry<'m> {
    owner: Owner<'m>,
    port: u32,
    /// `None`: the default route of a host no VirtualService routes.
    rule: Option<&'m CompiledHttpRoute>,
    condition: Option<&'m HttpRouteMatch>,
}

impl<'m> RouteEntry<'m> {
    /// Whether this is the default route of a host no VirtualService
    /// routes (to the service on the host's port).
    pub fn is_default(&self) -> bool {
        self.rule.is_none()
    }

    /// The rule's `name`.
    pub fn name(&self) -> Option<&'m str> {
        self.rule.and_then(|r| r.name.as_deref())
    }

    /// The rule as written (redirect and rewrite details that depend on
    /// the request are read from it); `None` for the default route.
    pub fn rule(&self) -> Option<&'m HttpRoute> {
        self.rule.map(|r| &*r.route)
    }

    /// The port route conditions see: the service port at a sidecar, the
    /// server port at a gateway.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The port Istio writes into this route's redirect (Envoy's
    /// `port_redirect`; istio `route.go` `ApplyRedirect`): the rule's
    /// `port`, or the listener's for `derivePort: FROM_REQUEST_PORT`, none
    /// when that is the default port of the redirect's scheme. `None` too
    /// when the route does not redirect.
    pub fn redirect_port(&self) -> Option<u32> {
        let redirect = self.rule()?.redirect.as_ref()?;
        let listener_scheme = match self.owner {
            Owner::Gateway { tls: true, .. } => "https",
            _ => "http",
        };
        super::actions::redirect_port(redirect, self.port, listener_scheme)
    }

    /// The match condition; `None` when the entry matches every request
    /// (a rule without matches, or the default route).
    pub fn condition(&self) -> Option<&'m HttpRouteMatch> {
        self.condition
    }

    /// The request-independent decision this route gives the proxy's
    /// callers: destinations with cluster names and policies, fault,
    /// timeout, retries, header operations, direct response. Redirects
    /// and rewrites depend on the request: read them from
    /// [`RouteEntry::rule`]. Evaluates the rule each call.
    pub fn decision(&self) -> Decision<'m> {
        let mut t = Tracer::new(false);
        match self.owner {
            Owner::Sidecar {
                view,
                service,
                host,
            } => {
                let (mesh, ns, labels) = (view.mesh, view.namespace, view.labels);
                let service = service.map(|i| &mesh.registry().services()[i]);
                let mut req = Request::new(host).from_namespace(ns);
                req.port = u16::try_from(self.port).ok();
                req.source.labels = labels.clone();
                let request_view = View::new(&req);
                let proxy = Proxy {
                    gateway: GatewayRef::Mesh,
                    namespace: ns,
                    labels: Some(labels),
                    listener_port: self.port,
                    cache: None,
                };
                match self.rule {
                    Some(rule) => mesh.http_decision(rule, None, &request_view, &proxy, &mut t),
                    None => mesh.default_route(host, service, &request_view, &proxy, &mut t),
                }
            }
            Owner::Gateway {
                mesh,
                key,
                proxy_ns,
                gateway,
                ..
            } => {
                let mut req = Request::new("").via_gateway(key);
                req.port = u16::try_from(self.port).ok();
                let request_view = View::new(&req);
                let proxy = Proxy {
                    gateway: gateway.map_or(GatewayRef::Mesh, |g| mesh.gateway_ref(g)),
                    namespace: proxy_ns,
                    labels: None,
                    listener_port: self.port,
                    cache: None,
                };
                match self.rule {
                    Some(rule) => mesh.http_decision(rule, None, &request_view, &proxy, &mut t),
                    None => Decision::new(super::decision::Outcome::NotFound),
                }
            }
        }
    }
}

/// The HTTP routing of one gateway proxy, read from a compiled [`Mesh`]
/// (see [`Mesh::gateway_view`]): the Gateways merged onto it as the
/// decision merges them (`gateway.rs`: listener ports after `targetPort`
/// translation, servers the merge leaves out absent), and per listener
/// port the route tables of its HTTP and HTTPS filter chains.
#[derive(Debug, Clone)]
pub struct GatewayView<'m> {
    mesh: &'m Mesh,
    key: &'m str,
    proxy_ns: &'m str,
    merged: Cow<'m, MergedGateway>,
}

impl Mesh {
    /// The HTTP routing of a gateway named as a request names it
    /// (`Request::gateway`): `namespace/name`, one Gateway resource, or
    /// `namespace/key=value[,key=value][@address]`, the gateway workload
    /// with those labels, which gets every Gateway selecting it, merged.
    /// `None` when no Gateway has that name or the key is malformed.
    pub fn gateway_view<'m>(&'m self, key: &'m str) -> Option<GatewayView<'m>> {
        let entry = GatewayEntry::parse(key).ok()?;
        let (merged, _) = self.gateways.merge(&entry).ok()?;
        let proxy_ns: &'m str = match &entry {
            GatewayEntry::Named(name) => self
                .gateways
                .gateways()
                .iter()
                .find(|g| &g.key == name)
                .map(|g| g.namespace.as_str())?,
            GatewayEntry::Workload { .. } => key.split_once('/')?.0,
        };
        Some(GatewayView {
            mesh: self,
            key,
            proxy_ns,
            merged,
        })
    }
}

impl<'m> GatewayView<'m> {
    /// The gateway as given to [`Mesh::gateway_view`].
    pub fn key(&self) -> &'m str {
        self.key
    }

    /// `namespace/name` of the Gateways merged onto the proxy, in Istio's order.
    pub fn gateways(&self) -> Vec<&'m str> {
        let all = self.mesh.gateways.gateways();
        self.merged
            .applied
            .iter()
            .map(|&i| all[i].key.as_str())
            .collect()
    }

    /// The HTTP route tables, by listener port ascending: per port the
    /// plaintext HTTP filter chain's (servers merged), then one per HTTPS
    /// server terminated here (with its SNI names).
    pub fn ports(&self) -> Vec<GatewayPort<'m>> {
        let mut numbers: Vec<u32> = self.merged.ports.iter().map(|p| p.port).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut out = Vec::new();
        for port in numbers {
            for fc in self.mesh.chains(&self.merged, port, self.proxy_ns, None) {
                let (servers, tls) = match &fc.chain {
                    Chain::Http(servers) => (servers.clone(), false),
                    Chain::Https(server) => (vec![*server], true),
                    _ => continue,
                };
                let vhosts = self.mesh.gateway_vhosts(&servers, port, self.proxy_ns);
                out.push(GatewayPort {
                    mesh: self.mesh,
                    key: self.key,
                    proxy_ns: self.proxy_ns,
                    port,
                    tls,
                    server_names: fc.sni.clone(),
                    vhosts,
                });
            }
        }
        out
    }
}

/// One HTTP route table of a [`GatewayView`]: a filter chain of a listener port.
#[derive(Debug, Clone)]
pub struct GatewayPort<'m> {
    mesh: &'m Mesh,
    key: &'m str,
    proxy_ns: &'m str,
    port: u32,
    tls: bool,
    server_names: Option<Vec<String>>,
    vhosts: Vec<GatewayVHost>,
}

impl<'m> GatewayPort<'m> {
    /// The listener port (a server port translated through the gateway
    /// Service's `targetPort`).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Whether the filter chain terminates TLS (an HTTPS server); plaintext
    /// requests never reach its routes.
    pub fn terminates_tls(&self) -> bool {
        self.tls
    }

    /// The SNI names the filter chain takes; `None`: any.
    pub fn server_names(&self) -> Option<&[String]> {
        self.server_names.as_deref()
    }

    /// One virtual host per domain, in the order the decision considers
    /// them; hosts of servers with `httpsRedirect` are marked
    /// ([`GatewayVirtualHost::https_redirect`]), and such a server's hosts
    /// that no VirtualService covers have a virtual host of their own.
    pub fn virtual_hosts(&self) -> Vec<GatewayVirtualHost<'m>> {
        self.vhosts
            .iter()
            .map(|vh| GatewayVirtualHost {
                mesh: self.mesh,
                key: self.key,
                proxy_ns: self.proxy_ns,
                tls: self.tls,
                vhost: vh.clone(),
            })
            .collect()
    }
}

/// One virtual host of a gateway route table.
#[derive(Debug, Clone)]
pub struct GatewayVirtualHost<'m> {
    mesh: &'m Mesh,
    key: &'m str,
    proxy_ns: &'m str,
    tls: bool,
    vhost: GatewayVHost,
}

impl<'m> GatewayVirtualHost<'m> {
    /// The domain (a host, possibly a wildcard such as `*.example.com`).
    pub fn domain(&self) -> &str {
        &self.vhost.domain
    }

    /// The server port (what route `port` conditions see).
    pub fn port(&self) -> u32 {
        self.vhost.port
    }

    /// Whether plaintext requests are answered with a redirect to `https`
    /// (the server's `tls.httpsRedirect`; Envoy's `require_tls: ALL`).
    pub fn https_redirect(&self) -> bool {
        self.vhost.require_tls
    }

    /// `namespace/name` of the VirtualServices whose routes it holds, in order.
    pub fn virtual_services(&self) -> Vec<&'m str> {
        let mesh = self.mesh;
        self.vhost
            .vss
            .iter()
            .map(|(v, _)| &*mesh.vs[*v].key)
            .collect()
    }

    /// The routes in the order the decision evaluates them (the bound
    /// VirtualServices' rules, catch-alls last), one per rule match that
    /// exists at this gateway and port, ending at the first entry that
    /// matches every request.
    pub fn routes(&self) -> Vec<RouteEntry<'m>> {
        let mesh = self.mesh;
        let gateway = self.vhost.vss.first().map(|(_, g)| *g);
        let gref = mesh.gateway_vhost_ref(&self.vhost);
        let owner = Owner::Gateway {
            mesh,
            key: self.key,
            proxy_ns: self.proxy_ns,
            gateway,
            tls: self.tls,
        };
        let caller_ns = Request::new("").source.namespace;
        let port = self.vhost.port;
        let rules = mesh.gateway_vhost_routes(&self.vhost);
        ordered_entries(owner, port, &rules, |m| {
            m.exists_on(&gref, port, None, &caller_ns).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::load::load_str;
    use crate::{Mesh, Outcome};
    use std::collections::BTreeMap;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}, {port: 9090, name: grpc-x}, {port: 5432, name: tcp-db}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}, headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{port: 9090, uri: {prefix: /grpc}}, {uri: {prefix: /}}, {uri: {prefix: /never}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v3}}]
"#;

    fn mesh() -> Mesh {
        Mesh::compile(&load_str(CONFIG, "t.yaml"))
    }

    #[test]
    fn virtual_hosts_are_http_ports_with_the_names_callers_use() {
        let m = mesh();
        let labels = BTreeMap::new();
        let hosts = m.sidecar_view("default", &labels).virtual_hosts();
        let names: Vec<(&str, u32)> = hosts.iter().map(|h| (h.hostname(), h.port())).collect();
        // A service's names are virtual hosts on its own ports only (istio
        // `BuildSidecarOutboundVirtualHosts`); elsewhere the catch-all.
        assert_eq!(
            names,
            [
                ("web.other.svc.cluster.local", 80),
                ("reviews.default.svc.cluster.local", 9080),
                ("reviews.default.svc.cluster.local", 9090),
            ],
            "by port; the TCP port has no route table"
        );
        assert!(hosts[1].domains().contains(&"reviews:9080".to_string()));
        assert!(
            !hosts[0].domains().contains(&"web".to_string()),
            "short names only for the caller's namespace"
        );
        assert!(hosts[0].domains().contains(&"web.other".to_string()));
    }

    #[test]
    fn routes_follow_the_sidecar_and_stop_at_the_catch_all() {
        let m = mesh();
        let product = BTreeMap::from([("app".to_string(), "productpage".to_string())]);
        let view = m.sidecar_view("default", &product);
        let hosts = view.virtual_hosts();
        let hosts = &hosts[1..];
        assert_eq!(
            hosts[0].virtual_service_key(),
            Some("default/reviews"),
            "the VirtualService routing the host"
        );
        let routes = hosts[0].routes();
        // jason rule, then the `/` catch-all (the 9090 match is not on 9080).
        assert_eq!(routes.len(), 2);
        let first = routes[0].decision();
        assert_eq!(first.destinations()[0].subset(), Some("v2"));
        assert!(routes[1].condition().is_some_and(|c| c.is_catch_all()));
        assert_eq!(routes[1].decision().destinations()[0].subset(), Some("v1"));

        let none = BTreeMap::new();
        let other = m.sidecar_view("default", &none).virtual_hosts()[1].routes();
        assert_eq!(other.len(), 1, "sourceLabels leave the jason rule out");
        let grpc = m.sidecar_view("default", &none).virtual_hosts()[2].routes();
        assert_eq!(grpc.len(), 2, "the port-9090 match exists on 9090");
    }

    #[test]
    fn a_host_without_virtual_service_has_the_default_route() {
        let m = mesh();
        let labels = BTreeMap::new();
        let web = m.sidecar_view("other", &labels).virtual_hosts();
        let web = web
            .iter()
            .find(|h| h.hostname() == "web.other.svc.cluster.local")
            .unwrap();
        assert_eq!(web.virtual_service_key(), None);
        let routes = web.routes();
        assert_eq!(routes.len(), 1);
        assert!(routes[0].is_default() && routes[0].condition().is_none());
        let d = routes[0].decision();
        assert_eq!(d.outcome(), Outcome::DefaultRoute);
        assert_eq!(
            d.destinations()[0].cluster(),
            "outbound|80||web.other.svc.cluster.local"
        );
    }

    // istio route.go BuildSidecarVirtualHostWrapper: a VirtualService host
    // no registry entry backs gets a virtual host on port 80;
    // GenerateAltVirtualHosts adds the absolute FQDN.
    #[test]
    fn virtual_service_hosts_without_service_and_absolute_names_have_virtual_hosts() {
        let text = format!(
            "{CONFIG}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: ext, namespace: default}}\nspec:\n  hosts: [nowhere.example.com]\n  http:\n  - route: [{{destination: {{host: reviews, port: {{number: 9080}}}}}}]\n"
        );
        let m = Mesh::compile(&load_str(&text, "t.yaml"));
        let labels = BTreeMap::new();
        let hosts = m.sidecar_view("default", &labels).virtual_hosts();
        let ext = hosts
            .iter()
            .find(|h| h.hostname() == "nowhere.example.com")
            .expect("a virtual host for the VirtualService's host");
        assert!(ext.service().is_none());
        assert_eq!(ext.port(), 80);
        assert_eq!(ext.virtual_service_key(), Some("default/ext"));
        assert_eq!(
            ext.routes()[0].decision().destinations()[0].cluster(),
            "outbound|9080||reviews.default.svc.cluster.local"
        );
        let reviews = hosts.iter().find(|h| h.port() == 9080).unwrap();
        assert!(reviews
            .domains()
            .contains(&"reviews.default.svc.cluster.local.:9080".to_string()));
    }

    // istio sidecar_simulation_test.go TestExternalNameServices and
    // TestSidecarRoutes: the caller's Sidecar imports per port, an alias
    // reaches its target's virtual host, unknown names get the Sidecar's
    // outboundTrafficPolicy (httproute.go `allow_any` / `block_all`).
    #[test]
    fn the_sidecar_view_is_scoped_aliased_and_ends_in_the_outbound_policy() {
        let text = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: default}
spec: {type: ExternalName, externalName: reviews.default.svc.cluster.local, ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: other}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: egress, namespace: edge}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: proxied}
spec:
  egress: [{hosts: ["*/*"]}]
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: egress.edge.svc.cluster.local, port: {number: 80}}
"#;
        let m = Mesh::compile(&load_str(text, "t.yaml"));
        let labels = BTreeMap::new();
        let view = m.sidecar_view("default", &labels);
        let hosts: Vec<_> = view
            .virtual_hosts()
            .into_iter()
            .filter(|h| h.port() == 9080)
            .collect();
        let names: Vec<&str> = hosts.iter().map(|h| h.hostname()).collect();
        assert_eq!(
            names,
            ["reviews.default.svc.cluster.local"],
            "the Sidecar imports its own namespace only"
        );
        for alias in ["alias:9080", "alias.default.svc.cluster.local:9080"] {
            assert!(
                hosts[0].domains().contains(&alias.to_string()),
                "{alias} in {:?}",
                hosts[0].domains()
            );
        }
        let blocked = view.outbound(9080);
        assert_eq!(blocked.outcome(), Outcome::DirectResponse);
        assert_eq!(blocked.direct_response().map(|r| r.status), Some(502));

        let proxied = m.sidecar_view("proxied", &labels);
        let out = proxied.outbound(9080);
        assert_eq!(out.outcome(), Outcome::Passthrough);
        assert_eq!(
            out.destinations()[0].cluster(),
            "outbound|80||egress.edge.svc.cluster.local"
        );
        assert!(proxied
            .virtual_hosts()
            .iter()
            .any(|h| h.hostname() == "ratings.other.svc.cluster.local"));
        assert_eq!(
            m.sidecar_view("other", &labels).outbound(9080).outcome(),
            Outcome::Passthrough,
            "no Sidecar: the mesh's ALLOW_ANY"
        );
    }

    const GATEWAYS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8443}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: a, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: a}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: b, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [b.example.com]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: default}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [a, b]
  http:
  - match: [{uri: {prefix: /x}}]
    route: [{destination: {host: x, port: {number: 80}}}]
  - route: [{destination: {host: y, port: {number: 80}}}]
"#;

    // istio gateway.go mergeGateways / resolvePorts: a workload gets every
    // Gateway selecting it, on the Service's target ports.
    #[test]
    fn a_gateway_view_merges_the_workloads_gateways_on_target_ports() {
        let m = Mesh::compile(&load_str(GATEWAYS, "t.yaml"));
        let view = m
            .gateway_view("istio-system/istio=ingressgateway")
            .expect("a workload key");
        assert_eq!(view.gateways(), ["default/a", "default/b"]);
        let ports = view.ports();
        let summary: Vec<(u32, bool)> = ports
            .iter()
            .map(|p| (p.port(), p.terminates_tls()))
            .collect();
        assert_eq!(summary, [(8080, false), (8443, true)]);
        let plain = ports[0].virtual_hosts();
        let domains: Vec<(&str, bool)> = plain
            .iter()
            .map(|v| (v.domain(), v.https_redirect()))
            .collect();
        assert_eq!(domains, [("a.example.com", false), ("b.example.com", true)]);
        assert_eq!(plain[0].port(), 80, "route conditions see the server port");
        let routes = plain[0].routes();
        assert_eq!(routes.len(), 2);
        assert_eq!(
            routes[1].decision().destinations()[0].cluster(),
            "outbound|80||y.default.svc.cluster.local"
        );
        assert_eq!(
            ports[1].server_names(),
            Some(&["a.example.com".to_string()][..])
        );

        let named = m.gateway_view("default/a").expect("a Gateway");
        assert_eq!(named.gateways(), ["default/a"]);
        let hosts = named.ports()[0].virtual_hosts();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].domain(), "a.example.com");
        assert!(m.gateway_view("default/none").is_none());
        assert!(m.gateway_view("ns/a=b,c").is_none());
    }

    // istio httproute.go generateVirtualHostDomains: a headless Kubernetes
    // Service (Passthrough resolution) also gets `*.` of each domain.
    #[test]
    fn a_headless_service_takes_its_pods_names() {
        let text = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: None, ports: [{port: 80, name: http}]}
"#;
        let m = Mesh::compile(&load_str(text, "t.yaml"));
        let labels = BTreeMap::new();
        let hosts = m.sidecar_view("default", &labels).virtual_hosts();
        assert_eq!(hosts.len(), 1);
        for d in ["*.web", "*.web.default.svc.cluster.local", "web"] {
            assert!(
                hosts[0].domains().contains(&d.to_string()),
                "{d} in {:?}",
                hosts[0].domains()
            );
        }
    }
}
