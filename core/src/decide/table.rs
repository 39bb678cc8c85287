//! A read-only view of the compiled table as one sidecar sees it, for
//! config exporters (the `meshroute-envoy` crate, other proxies' formats).
//!
//! [`Mesh::sidecar_view`] gives the [`VirtualHost`]s a sidecar in a
//! namespace (with its workload's labels) has for its outbound HTTP
//! traffic, each with the names callers may use and its [`RouteEntry`]s in
//! the order Istio emits them. A route entry carries the public matcher it
//! was built from ([`HttpRouteMatch`]) and the [`Decision`] it yields for
//! that sidecar. Nothing here changes the table.

use super::compile::{CompiledHttpRoute, CompiledVs};
use super::decision::Decision;
use super::evaluate::Proxy;
use super::gateway::CompiledGateway;
use super::request::Request;
use super::request_view::View;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::{self, GatewayRef};
use crate::matching::{HttpRouteMatch, StringMatcher};
use crate::model::gateway::{Server, ServerTlsMode};
use crate::model::virtual_service::HttpRoute;
use crate::registry::{PortProtocol, Service};
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

    /// One virtual host per visible service port that carries HTTP (or an
    /// undeclared protocol), in registry order; hosts left without a
    /// domain of their own are omitted. Domains are the names a caller
    /// may use with the port (`reviews:9080`, `reviews.default:9080`, the
    /// FQDN and the absolute FQDN `...cluster.local.` ...; without a port
    /// only for port 80). Short names resolve only for services in the
    /// sidecar's namespace, and each name goes to the first host that
    /// claims it. Then, on port 80, one virtual host per host of a
    /// VirtualService bound to the mesh that no registry entry backs
    /// (Istio's sidecar virtual hosts, pilot `networking/core/route/route.go`
    /// `BuildSidecarVirtualHostWrapper`; `GenerateAltVirtualHosts` for the
    /// absolute FQDN).
    pub fn virtual_hosts(&self) -> Vec<VirtualHost<'m>> {
        let ns = self.namespace;
        let suffix = format!(".svc.{}", self.mesh.options().domain_suffix);
        let mut used: BTreeSet<String> = BTreeSet::new();
        let mut out = Vec::new();
        let services = self.mesh.registry().services();
        for service in services {
            if !service.visibility.visible_in(ns) {
                continue;
            }
            for p in &service.ports {
                if !matches!(p.protocol, PortProtocol::Http | PortProtocol::Unknown) {
                    continue;
                }
                let port = p.number;
                let mut domains = Vec::new();
                for alias in aliases(&service.hostname, &suffix) {
                    if !alias.contains('.') && service.namespace != ns {
                        continue;
                    }
                    let mut names = vec![format!("{alias}:{port}")];
                    if port == 80 {
                        names.push(alias);
                    }
                    for n in names {
                        if used.insert(n.clone()) {
                            domains.push(n);
                        }
                    }
                }
                if domains.is_empty() {
                    continue;
                }
                out.push(VirtualHost {
                    view: *self,
                    service: Some(service),
                    hostname: &service.hostname,
                    port,
                    domains,
                });
            }
        }
        for vs in self.mesh.vs.iter() {
            if vs.http.is_empty()
                || !vs.bound_to(&GatewayRef::Mesh)
                || !vs.visibility.visible_in(ns)
            {
                continue;
            }
            for host in &vs.hosts {
                let backed = services.iter().any(|s| {
                    s.visibility.visible_in(ns)
                        && (*s.hostname == **host || hosts::matches(host, &s.hostname))
                });
                if backed || used.contains(host.as_str()) {
                    continue;
                }
                used.insert(host.clone());
                out.push(VirtualHost {
                    view: *self,
                    service: None,
                    hostname: host,
                    port: 80,
                    domains: vec![format!("{host}:80"), host.clone()],
                });
            }
        }
        out
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

/// One service port as a sidecar's route table has it.
#[derive(Debug, Clone)]
pub struct VirtualHost<'m> {
    view: SidecarView<'m>,
    service: Option<&'m Service>,
    hostname: &'m str,
    port: u32,
    domains: Vec<String>,
}

impl<'m> VirtualHost<'m> {
    /// The service (FQDN, ports, endpoints); `None` for a VirtualService
    /// host no registry entry backs.
    pub fn service(&self) -> Option<&'m Service> {
        self.service
    }

    /// The service's host name, or the VirtualService's host.
    pub fn hostname(&self) -> &'m str {
        self.hostname
    }

    /// The service port.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The names (`host:port`, and `host` for port 80) that reach it.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// The VirtualService bound to the mesh that routes this host for the
    /// sidecar's namespace, when it has HTTP rules.
    fn virtual_service(&self) -> Option<&'m CompiledVs> {
        let mesh = self.view.mesh;
        mesh.mesh_vs_index(self.hostname(), self.view.namespace)
            .map(|i| &mesh.vs[i])
            .filter(|vs| !vs.http.is_empty())
    }

    /// `namespace/name` of the VirtualService whose rules make the routes;
    /// `None` when the host gets the default route.
    pub fn virtual_service_key(&self) -> Option<&'m str> {
        self.virtual_service().map(|vs| &*vs.key)
    }

    /// The routes in Istio's order: one per rule match that exists on
    /// this sidecar (`port`, `sourceLabels`, `sourceNamespace`, `gateways`
    /// conditions hold) and can match (no invalid pattern), a rule without
    /// matches as one entry, ending at
    /// the first entry that matches every request (Istio stops
    /// generating routes after a catch-all). A host no VirtualService
    /// routes has the single default route.
    pub fn routes(&self) -> Vec<RouteEntry<'m>> {
        let entry = |rule, condition| RouteEntry {
            owner: Owner::Sidecar(self.view),
            hostname: self.hostname(),
            port: self.port,
            rule,
            condition,
        };
        let Some(vs) = self.virtual_service() else {
            return vec![entry(None, None)];
        };
        let (ns, labels) = (self.view.namespace, self.view.labels);
        let mut out = Vec::new();
        for rule in &vs.http {
            if rule.matches.is_empty() {
                out.push(entry(Some(rule), None));
                return out;
            }
            for m in &rule.matches {
                if !m.exists_on_sidecar(ns, labels, self.port) || has_invalid_pattern(m) {
                    continue;
                }
                out.push(entry(Some(rule), Some(m)));
                if m.is_catch_all() {
                    return out;
                }
            }
        }
        out
    }
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
    Sidecar(SidecarView<'m>),
    Gateway(&'m Mesh, &'m CompiledGateway),
}

/// One route of a [`VirtualHost`] or [`GatewayVirtualHost`]: a rule and
/// the match it was made from.
#[derive(Debug, Clone, Copy)]
pub struct RouteEntry<'m> {
    owner: Owner<'m>,
    hostname: &'m str,
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

    /// The port of the listener whose route table holds this entry.
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
            Owner::Gateway(_, gw) if terminates_tls_on(gw, self.port) => "https",
            _ => "http",
        };
        super::actions::redirect_port(redirect, self.port, listener_scheme)
    }

    /// The match condition; `None` when the entry matches every request
    /// (a rule without matches, or the default route).
    pub fn condition(&self) -> Option<&'m HttpRouteMatch> {
        self.condition
    }

    /// The request-independent decision this route gives the sidecar's
    /// callers: destinations with cluster names and policies, fault,
    /// timeout, retries, header operations, direct response. Redirects
    /// and rewrites depend on the request: read them from
    /// [`RouteEntry::rule`]. Evaluates the rule each call.
    pub fn decision(&self) -> Decision<'m> {
        let mut t = Tracer::new(false);
        match self.owner {
            Owner::Sidecar(view) => {
                let (mesh, ns, labels) = (view.mesh, view.namespace, view.labels);
                let mut req = Request::new(self.hostname).from_namespace(ns);
                req.port = u16::try_from(self.port).ok();
                req.source.labels = labels.clone();
                let request_view = View::new(&req);
                let proxy = Proxy {
                    gateway: GatewayRef::Mesh,
                    namespace: ns,
                    labels: Some(labels),
                    listener_port: self.port,
                    resolved: &[],
                    resolved_routes: &[],
                };
                match self.rule {
                    Some(rule) => mesh.http_decision(rule, None, &request_view, &proxy, &mut t),
                    None => {
                        let service = mesh.registry.lookup(self.hostname, ns);
                        mesh.default_route(self.hostname, service, &request_view, &proxy, &mut t)
                    }
                }
            }
            Owner::Gateway(mesh, gw) => {
                let mut req = Request::new(self.hostname).via_gateway(&gw.key);
                req.port = u16::try_from(self.port).ok();
                let request_view = View::new(&req);
                let proxy = Proxy {
                    gateway: gateway_ref(gw),
                    namespace: &gw.namespace,
                    labels: None,
                    listener_port: self.port,
                    resolved: &[],
                    resolved_routes: &[],
                };
                match self.rule {
                    Some(rule) => mesh.http_decision(rule, None, &request_view, &proxy, &mut t),
                    None => Decision::new(super::decision::Outcome::NotFound),
                }
            }
        }
    }
}

fn gateway_ref(gw: &CompiledGateway) -> GatewayRef {
    GatewayRef::Gateway {
        namespace: gw.namespace.clone(),
        name: gw.name.clone(),
    }
}

/// Whether a gateway server carries HTTP: HTTP, or TLS it terminates.
fn serves_http(s: &Server) -> bool {
    let protocol = PortProtocol::from_istio(
        s.port
            .as_ref()
            .and_then(|p| p.protocol.as_deref())
            .unwrap_or(""),
    );
    protocol == PortProtocol::Http || (protocol == PortProtocol::Tls && !is_passthrough(s))
}

/// Whether a gateway has a server on `port` that terminates TLS (Istio's
/// `IsTLS` for the routes of that port).
fn terminates_tls_on(gw: &CompiledGateway, port: u32) -> bool {
    gw.servers.iter().any(|s| {
        s.port.as_ref().and_then(|p| p.number) == Some(port)
            && serves_http(s)
            && PortProtocol::from_istio(
                s.port
                    .as_ref()
                    .and_then(|p| p.protocol.as_deref())
                    .unwrap_or(""),
            ) != PortProtocol::Http
    })
}

/// Whether a gateway server passes TLS through (no termination).
fn is_passthrough(s: &Server) -> bool {
    s.tls.as_ref().is_some_and(|tls| {
        matches!(
            tls.mode.unwrap_or_default(),
            ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
        )
    })
}

impl Mesh {
    /// VirtualServices bound to a gateway and visible to its namespace, in
    /// Istio's order.
    fn bound_virtual_services(&self, gw: &CompiledGateway, gref: &GatewayRef) -> Vec<&CompiledVs> {
        self.vs
            .iter()
            .filter(|vs| vs.bound_to(gref) && vs.visibility.visible_in(&gw.namespace))
            .collect()
    }
}

/// The virtual hosts of a gateway's HTTP servers on one port: each domain
/// (the narrower of a VirtualService host and a server host that overlap,
/// where the server's namespace filter admits the VirtualService) with the
/// index of its VirtualService in `bound` (pilot `networking/core/gateway.go`),
/// as the decision at a gateway builds them (`gateway.rs`, `at_gateway`;
/// the agreement harness holds the two together, spec/envoy-agreement.md).
fn gateway_domains(
    gw: &CompiledGateway,
    http_servers: &[&Server],
    bound: &[&CompiledVs],
) -> Vec<(String, usize)> {
    let mut domains: Vec<(String, usize)> = Vec::new();
    for (vi, vs) in bound.iter().enumerate() {
        for vh in &vs.hosts {
            for s in http_servers {
                for entry in &s.hosts {
                    let sh = hosts::parse_server_host(entry);
                    if !sh.namespace.admits(&vs.namespace, &gw.namespace) {
                        continue;
                    }
                    let server_host = sh.dns_name.to_ascii_lowercase();
                    let domain = if hosts::subset_of(vh, &server_host) {
                        Some(vh.clone())
                    } else if hosts::subset_of(&server_host, vh) {
                        Some(server_host)
                    } else {
                        None
                    };
                    if let Some(d) = domain {
                        if !domains.iter().any(|(x, i)| *x == d && *i == vi) {
                            domains.push((d, vi));
                        }
                    }
                }
            }
        }
    }
    domains
}

/// The routes of every bound VirtualService that yields `domain`,
/// concatenated in order, catch-alls moved to the end (stable).
fn routes_for_domain<'m>(
    domains: &[(String, usize)],
    bound: &[&'m CompiledVs],
    domain: &str,
) -> Vec<&'m CompiledHttpRoute> {
    let mut routes: Vec<&CompiledHttpRoute> = Vec::new();
    for (vi, vs) in bound.iter().enumerate() {
        if domains.iter().any(|(d, i)| *i == vi && d == domain) {
            routes.extend(vs.http.iter());
        }
    }
    let (mut specific, catch_alls): (Vec<_>, Vec<_>) =
        routes.into_iter().partition(|r| !r.is_catch_all());
    specific.extend(catch_alls);
    specific
}

/// The HTTP routing of one gateway workload, read from a compiled [`Mesh`]
/// (see [`Mesh::gateway_view`]): per server port, the virtual hosts the
/// bound VirtualServices make, as the decision at that gateway sees them.
#[derive(Debug, Clone, Copy)]
pub struct GatewayView<'m> {
    mesh: &'m Mesh,
    gateway: &'m CompiledGateway,
}

impl Mesh {
    /// The HTTP routing of the Gateway `namespace/name`; `None` when there
    /// is no such Gateway.
    pub fn gateway_view(&self, key: &str) -> Option<GatewayView<'_>> {
        self.gateways
            .gateways()
            .iter()
            .find(|g| g.key == key)
            .map(|gateway| GatewayView {
                mesh: self,
                gateway,
            })
    }
}

impl<'m> GatewayView<'m> {
    /// `namespace/name` of the Gateway.
    pub fn key(&self) -> &'m str {
        &self.gateway.key
    }

    /// The ports with servers that carry HTTP, ascending.
    pub fn ports(&self) -> Vec<GatewayPort<'m>> {
        let mut ports: Vec<u32> = self
            .gateway
            .servers
            .iter()
            .filter(|s| serves_http(s))
            .filter_map(|s| s.port.as_ref().and_then(|p| p.number))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
            .into_iter()
            .map(|port| GatewayPort { view: *self, port })
            .collect()
    }
}

/// One port of a [`GatewayView`].
#[derive(Debug, Clone, Copy)]
pub struct GatewayPort<'m> {
    view: GatewayView<'m>,
    port: u32,
}

impl<'m> GatewayPort<'m> {
    /// The server port.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// One virtual host per domain, in the order the decision considers
    /// them; hosts of servers with `httpsRedirect` are marked
    /// ([`GatewayVirtualHost::https_redirect`]), and such a server's hosts
    /// that no VirtualService covers get a virtual host of their own.
    pub fn virtual_hosts(&self) -> Vec<GatewayVirtualHost<'m>> {
        let (mesh, gw) = (self.view.mesh, self.view.gateway);
        let servers: Vec<&'m Server> = gw
            .servers
            .iter()
            .filter(|s| s.port.as_ref().and_then(|p| p.number) == Some(self.port))
            .filter(|s| serves_http(s))
            .collect();
        let bound = mesh.bound_virtual_services(gw, &gateway_ref(gw));
        let domains = gateway_domains(gw, &servers, &bound);
        let redirect_hosts: Vec<String> = servers
            .iter()
            .filter(|s| {
                s.tls
                    .as_ref()
                    .and_then(|t| t.https_redirect)
                    .unwrap_or(false)
            })
            .flat_map(|s| s.hosts.iter())
            .map(|h| hosts::parse_server_host(h).dns_name.to_ascii_lowercase())
            .collect();
        let redirected = |domain: &str| {
            redirect_hosts
                .iter()
                .any(|h| h == "*" || hosts::subset_of(domain, h))
        };
        let mut out: Vec<GatewayVirtualHost<'m>> = Vec::new();
        for (domain, _) in &domains {
            if out.iter().any(|v| v.domain == *domain) {
                continue;
            }
            out.push(GatewayVirtualHost {
                port: *self,
                https_redirect: redirected(domain),
                routes: routes_for_domain(&domains, &bound, domain),
                domain: domain.clone(),
            });
        }
        for h in &redirect_hosts {
            if !out.iter().any(|v| v.domain == *h) {
                out.push(GatewayVirtualHost {
                    port: *self,
                    https_redirect: true,
                    routes: Vec::new(),
                    domain: h.clone(),
                });
            }
        }
        out
    }
}

/// One virtual host of a gateway port.
#[derive(Debug, Clone)]
pub struct GatewayVirtualHost<'m> {
    port: GatewayPort<'m>,
    domain: String,
    https_redirect: bool,
    routes: Vec<&'m CompiledHttpRoute>,
}

impl<'m> GatewayVirtualHost<'m> {
    /// The domain (a host, possibly a wildcard such as `*.example.com`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether every request is answered with a redirect to `https`
    /// (the server's `tls.httpsRedirect`; Envoy's `require_tls: ALL`).
    pub fn https_redirect(&self) -> bool {
        self.https_redirect
    }

    /// The routes in the order the decision evaluates them, one per rule
    /// match that exists at this gateway and port, ending at the first
    /// entry that matches every request.
    pub fn routes(&self) -> Vec<RouteEntry<'m>> {
        let (mesh, gw) = (self.port.view.mesh, self.port.view.gateway);
        let gref = gateway_ref(gw);
        let port = self.port.port;
        let owner = Owner::Gateway(mesh, gw);
        let mut out = Vec::new();
        for rule in &self.routes {
            let entry = |condition| RouteEntry {
                owner,
                hostname: "",
                port,
                rule: Some(*rule),
                condition,
            };
            if rule.matches.is_empty() {
                out.push(entry(None));
                return out;
            }
            for m in &rule.matches {
                if m.exists_on(&gref, port, None, &gw.namespace).is_err() || has_invalid_pattern(m)
                {
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
        assert_eq!(
            names,
            [
                ("reviews.default.svc.cluster.local", 9080),
                ("reviews.default.svc.cluster.local", 9090),
                ("web.other.svc.cluster.local", 80),
            ],
            "the TCP port has no virtual host"
        );
        assert!(hosts[0].domains().contains(&"reviews:9080".to_string()));
        assert!(
            !hosts[2].domains().contains(&"web".to_string()),
            "short names only for the caller's namespace"
        );
        assert!(hosts[2].domains().contains(&"web.other".to_string()));
    }

    #[test]
    fn routes_follow_the_sidecar_and_stop_at_the_catch_all() {
        let m = mesh();
        let product = BTreeMap::from([("app".to_string(), "productpage".to_string())]);
        let view = m.sidecar_view("default", &product);
        let hosts = view.virtual_hosts();
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
        let other = m.sidecar_view("default", &none).virtual_hosts()[0].routes();
        assert_eq!(other.len(), 1, "sourceLabels leave the jason rule out");
        let grpc = m.sidecar_view("default", &none).virtual_hosts()[1].routes();
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
        assert!(hosts[0]
            .domains()
            .contains(&"reviews.default.svc.cluster.local.:9080".to_string()));
    }
}
