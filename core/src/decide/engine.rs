//! The decision itself: host resolution, VirtualService selection, first
//! matching rule, and the decision's contents.

use super::compile::{CompiledHttpRoute, CompiledL4Route, CompiledVs, RewritePlan};
use super::decision::*;
use super::request::{Protocol, Request};
use super::{Mesh, OutboundPolicy};
use crate::hosts::{self, GatewayRef};
use crate::matching::{Connection, HttpRequestParts, HttpRouteMatch, StringMatcher};
use crate::model::common::Destination as DestinationSpec;
use crate::model::gateway::{Server, ServerTlsMode};
use crate::model::virtual_service::HttpRoute;
use crate::policy::{DEFAULT_RETRY_ATTEMPTS, DEFAULT_RETRY_ON};
use crate::registry::{PortProtocol, Service};
use std::borrow::Cow;
use std::sync::Arc;

/// Collects trace entries when explaining; does nothing otherwise.
pub(crate) struct Tracer {
    on: bool,
    entries: Vec<TraceEntry>,
}

impl Tracer {
    pub fn new(on: bool) -> Self {
        Tracer {
            on,
            entries: Vec::new(),
        }
    }

    /// Inlined so that, when not explaining, a call is one test of `on`.
    #[inline(always)]
    pub fn add(
        &mut self,
        stage: &'static str,
        subject: impl FnOnce() -> String,
        verdict: Verdict,
        detail: impl FnOnce() -> String,
    ) {
        if self.on {
            self.entries.push(TraceEntry {
                stage,
                subject: subject(),
                verdict,
                detail: detail(),
            });
        }
    }

    pub fn into_entries(self) -> Vec<TraceEntry> {
        self.entries
    }
}

/// The request, pre-digested once.
pub(crate) struct View<'r> {
    pub req: &'r Request,
    /// Host without port, lower-cased.
    pub host: std::borrow::Cow<'r, str>,
    pub port: u32,
    pub path: &'r str,
    pub query: &'r str,
    pub scheme: &'r str,
}

impl<'r> View<'r> {
    pub fn new(req: &'r Request) -> View<'r> {
        View::with_path_end(req, path_end(&req.path))
    }

    /// `path_end`: where the path ends in `req.path` ([`path_end`]).
    pub fn with_path_end(req: &'r Request, path_end: usize) -> View<'r> {
        let scheme = req.scheme_or_default();
        let default_port = || {
            if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            }
        };
        let (host, port) = if is_plain_host(&req.host) {
            let port = req.port.map_or_else(default_port, u32::from);
            (std::borrow::Cow::Borrowed(req.host.as_str()), port)
        } else {
            let authority = hosts::split_authority(&req.host);
            let port = req
                .port
                .or_else(|| authority.port_number())
                .map_or_else(default_port, u32::from);
            let h = authority.host.trim_end_matches('.');
            let host = if h.bytes().any(|b| b.is_ascii_uppercase()) {
                std::borrow::Cow::Owned(h.to_ascii_lowercase())
            } else {
                std::borrow::Cow::Borrowed(h)
            };
            (host, port)
        };
        let (path, rest) = req
            .path
            .split_at_checked(path_end)
            .unwrap_or((&req.path, ""));
        let query = rest
            .strip_prefix('?')
            .map(|q| q.split('#').next().unwrap_or(""))
            .unwrap_or("");
        View {
            req,
            host,
            port,
            path,
            query,
            scheme,
        }
    }

    /// What the per-request match conditions read.
    #[inline]
    pub fn parts(&self) -> HttpRequestParts<'r> {
        HttpRequestParts {
            request: self.req,
            path: self.path,
            query: self.query,
            scheme: self.scheme,
        }
    }
}

/// A destination's DestinationRule, policy and runtime problem.
pub(crate) struct DestinationFacts<'m> {
    pub rule: Option<&'m Arc<crate::policy::MergedRule>>,
    pub policy: Option<&'m Arc<crate::model::destination_rule::TrafficPolicy>>,
    pub problem: Option<String>,
}

/// Where a request is being decided: a sidecar in a namespace, or a gateway.
struct Proxy<'a, 'm> {
    gateway: GatewayRef,
    /// Config namespace of the proxy (caller namespace; for a gateway the Gateway's namespace).
    namespace: &'a str,
    labels: Option<&'a std::collections::BTreeMap<String, String>>,
    /// Listener port (service port at a sidecar, server port at a gateway).
    listener_port: u32,
    /// Route destinations resolved ahead of time for this proxy's
    /// namespace (empty when not cached); see `NamespaceCache::dests`.
    resolved: &'m [Option<super::ResolvedDest>],
    /// Route destination lists built ahead of time for this proxy's
    /// namespace (empty when not cached); see `NamespaceCache::routes`.
    resolved_routes: &'m [Option<Box<[Destination<'static>]>>],
}

impl Proxy<'_, '_> {
    /// Whether `m` exists in this proxy's route table (port, gateways,
    /// source); the reason when not.
    #[inline]
    fn match_exists(&self, m: &HttpRouteMatch, req: &Request) -> Result<(), String> {
        m.exists_on(
            &self.gateway,
            self.listener_port,
            self.labels,
            &req.source.namespace,
        )
    }
}

impl Mesh {
    pub(crate) fn run_inner(&self, req: &Request, trace: bool) -> Decision<'_> {
        // Envoy normalizes the path before routing; the normalized path is
        // what routes see and what is forwarded. Most paths need nothing.
        // (Tail calls only: each branch writes the caller's decision in place.)
        let plain_end = match req.protocol {
            Protocol::Http => plain_path_end(&req.path, self.options.path_normalization),
            _ => Some(path_end(&req.path)),
        };
        match plain_end {
            Some(end) => self.run_view(req, end, trace),
            None => self.run_normalized(req, trace),
        }
    }

    #[inline(never)]
    fn run_normalized(&self, req: &Request, trace: bool) -> Decision<'_> {
        match crate::matching::path::normalize_path(&req.path, self.options.path_normalization) {
            Ok(p) if p != req.path => {
                let mut normalized = req.clone();
                normalized.path = p;
                let mut d = self.run_view(&normalized, path_end(&normalized.path), trace);
                if trace {
                    d.trace.insert(
                        0,
                        TraceEntry {
                            stage: "path",
                            subject: req.path.clone(),
                            verdict: Verdict::Note,
                            detail: format!("normalized to {:?} before routing", normalized.path),
                        },
                    );
                }
                d
            }
            Ok(_) => self.run_view(req, path_end(&req.path), trace),
            Err(e) => {
                let mut d = Decision::new(Outcome::DirectResponse);
                d.direct_response = Some(Box::new(DirectResponse {
                    status: crate::matching::path::PathRejected::STATUS,
                    body: None,
                }));
                if trace {
                    d.trace.push(TraceEntry {
                        stage: "path",
                        subject: req.path.clone(),
                        verdict: Verdict::Failed,
                        detail: e.to_string(),
                    });
                }
                d
            }
        }
    }

    /// `path_end`: where the path ends in `req.path` ([`path_end`]).
    fn run_view(&self, req: &Request, path_end: usize, trace: bool) -> Decision<'_> {
        let view = View::with_path_end(req, path_end);
        if trace {
            let mut t = Tracer::new(true);
            let mut d = self.at_proxy(&view, &mut t);
            d.trace = t.into_entries();
            return d;
        }
        self.at_proxy(&view, &mut Tracer::new(false))
    }

    fn at_proxy(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        if view.req.gateway == "mesh" || view.req.gateway.is_empty() {
            self.at_sidecar(view, t)
        } else {
            self.at_gateway(view, t)
        }
    }

    /// The FQDN a sidecar's caller means: the DNS search path of a pod in
    /// `namespace` (`reviews` -> `reviews.ns.svc.cluster.local`), the first
    /// candidate known to the registry or claimed by a VirtualService.
    pub(crate) fn resolve_host(&self, host: &str, namespace: &str) -> (String, bool) {
        let domain = &self.options.domain_suffix;
        let mut candidates = Vec::with_capacity(4);
        if hosts::is_ip_literal(host) || host.ends_with(domain.as_str()) {
            candidates.push(host.to_string());
        } else {
            candidates.push(format!("{host}.{namespace}.svc.{domain}"));
            if host.contains('.') {
                candidates.push(format!("{host}.svc.{domain}"));
                candidates.push(format!("{host}.{domain}"));
                candidates.push(host.to_string());
            }
        }
        for c in &candidates {
            if self.registry.lookup(c, namespace).is_some()
                || self.mesh_vs_for(c, namespace).is_some()
            {
                return (c.clone(), true);
            }
        }
        (candidates.pop().unwrap_or_else(|| host.to_string()), false)
    }

    /// The VirtualService a sidecar in `namespace` uses for `host`: the
    /// first exact claim in Istio's order, else the most specific wildcard.
    fn mesh_vs_for(&self, host: &str, namespace: &str) -> Option<&CompiledVs> {
        self.mesh_vs_index(host, namespace).map(|i| &self.vs[i])
    }

    pub(crate) fn mesh_vs_index(&self, host: &str, namespace: &str) -> Option<usize> {
        let group = |vs: &CompiledVs| -> u8 {
            if vs.namespace.as_ref() == namespace && vs.visibility.is_private_to(namespace) {
                0
            } else if matches!(vs.visibility, crate::registry::Visibility::Namespaces(_)) {
                1
            } else {
                2
            }
        };
        let visible = |&&i: &&usize| self.vs[i].visibility.visible_in(namespace);
        if let Some(list) = self.mesh_exact.get(host) {
            if let Some(&i) = list
                .iter()
                .filter(visible)
                .min_by_key(|&&i| (group(&self.vs[i]), i))
            {
                return Some(i);
            }
        }
        self.mesh_wildcard
            .iter()
            .filter(|(h, i)| {
                self.vs[*i].visibility.visible_in(namespace) && hosts::matches(h, host)
            })
            .min_by(|(ha, a), (hb, b)| {
                hosts::more_specific(ha, hb)
                    .then((group(&self.vs[*a]), *a).cmp(&(group(&self.vs[*b]), *b)))
            })
            .map(|(_, i)| *i)
    }

    fn at_sidecar(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        let req = view.req;
        let ns = req.source.namespace.as_str();
        let lookup_host = match req.protocol {
            Protocol::Tls => req
                .sni
                .as_deref()
                .map(|s| std::borrow::Cow::Owned(s.to_ascii_lowercase()))
                .unwrap_or_else(|| view.host.clone()),
            _ => view.host.clone(),
        };
        let ns_cache = self.host_cache.get(ns);
        let cached = ns_cache.and_then(|c| c.hosts.get(lookup_host.as_ref()));
        let (fqdn, known): (std::borrow::Cow<'_, str>, bool) = match cached {
            Some(c) => (std::borrow::Cow::Borrowed(&*c.fqdn), true),
            None => {
                let (f, k) = self.resolve_host(&lookup_host, ns);
                (std::borrow::Cow::Owned(f), k)
            }
        };
        t.add("host", || lookup_host.to_string(), if known { Verdict::Matched } else { Verdict::Failed }, || {
            if known {
                format!("resolved to {fqdn} from namespace {ns}")
            } else {
                format!("not in the service registry and no VirtualService claims it (searched from namespace {ns})")
            }
        });
        if !known {
            return self.unknown_host(view, t);
        }
        let service = match cached {
            Some(c) => c.service.map(|i| &self.registry.services()[i]),
            None => self.registry.lookup(&fqdn, ns),
        };
        let proxy = Proxy {
            gateway: GatewayRef::Mesh,
            namespace: ns,
            labels: Some(&req.source.labels),
            listener_port: view.port,
            resolved: ns_cache.map_or(&[], |c| c.dests.as_slice()),
            resolved_routes: ns_cache.map_or(&[], |c| c.routes.as_slice()),
        };
        let vs = match cached {
            Some(c) => c.vs.map(|i| &self.vs[i]),
            None => self.mesh_vs_for(&fqdn, ns),
        };
        // A VirtualService host outside the registry takes effect only on
        // port 80, or on ports of registry services the VirtualService names.
        let vs = vs.filter(|vs| {
            service.is_some() || view.port == 80 || self.vs_names_service_port(vs, view.port, ns)
        });
        match vs {
            Some(vs) => {
                t.add(
                    "virtualService",
                    || vs.key.to_string(),
                    Verdict::Matched,
                    || format!("claims host {fqdn} for sidecars in namespace {ns}"),
                );
                match req.protocol {
                    Protocol::Http => {
                        if vs.http.is_empty() {
                            t.add(
                                "virtualService",
                                || vs.key.to_string(),
                                Verdict::Note,
                                || "has no http routes".into(),
                            );
                            return self.default_route(&fqdn, service, view, &proxy, t);
                        }
                        if t.on {
                            let routes: Vec<&CompiledHttpRoute> = vs.http.iter().collect();
                            self.eval_http(&routes, view, &proxy, t)
                        } else {
                            self.eval_http_indexed(vs, view, &proxy, t)
                        }
                    }
                    Protocol::Tls | Protocol::Tcp => {
                        let routes = if req.protocol == Protocol::Tls {
                            &vs.tls
                        } else {
                            &vs.tcp
                        };
                        match self.eval_l4(vs, routes, view, &proxy, t) {
                            Some(d) => d,
                            None => self.default_route(&fqdn, service, view, &proxy, t),
                        }
                    }
                }
            }
            None => {
                t.add(
                    "virtualService",
                    || fqdn.to_string(),
                    Verdict::Note,
                    || "no VirtualService bound to the mesh claims this host".into(),
                );
                self.default_route(&fqdn, service, view, &proxy, t)
            }
        }
    }

    fn vs_names_service_port(&self, vs: &CompiledVs, port: u32, ns: &str) -> bool {
        vs.http.iter().flat_map(|r| r.route.route.iter()).any(|d| {
            d.destination
                .as_ref()
                .and_then(|d| d.host.as_deref())
                .map(|h| hosts::resolve_short_name(h, &vs.namespace, &self.options.domain_suffix))
                .and_then(|h| self.registry.lookup(&h, ns))
                .is_some_and(|s| s.port(port).is_some())
        })
    }

    fn unknown_host(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        match self.options.outbound_policy {
            OutboundPolicy::AllowAny => {
                t.add(
                    "default",
                    || "outboundTrafficPolicy".into(),
                    Verdict::Note,
                    || "ALLOW_ANY: unknown hosts pass through to the original destination".into(),
                );
                Decision::new(Outcome::Passthrough)
            }
            OutboundPolicy::RegistryOnly => {
                t.add("default", || "outboundTrafficPolicy".into(), Verdict::Note, || {
                    "REGISTRY_ONLY: unknown hosts go to the BlackHoleCluster (HTTP 502, TCP closed)".into()
                });
                let mut d = Decision::new(Outcome::DirectResponse);
                if view.req.protocol == Protocol::Http {
                    d.direct_response = Some(Box::new(DirectResponse {
                        status: 502,
                        body: None,
                    }));
                } else {
                    d.outcome = Outcome::NotFound;
                }
                d
            }
        }
    }

    /// No VirtualService: straight to the service, no subset.
    fn default_route<'m>(
        &'m self,
        fqdn: &str,
        service: Option<&'m Service>,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        let Some(service) = service else {
            t.add(
                "destination",
                || fqdn.to_string(),
                Verdict::Failed,
                || "not a registry service: nothing to route to".into(),
            );
            return self.unknown_host(view, t);
        };
        let mut d = Decision::new(Outcome::DefaultRoute);
        let dest = self.destination(
            Cow::Borrowed(&service.hostname),
            Some(service),
            None,
            Some(view.port),
            100,
            proxy,
            t,
        );
        d.destinations.to_mut().push(dest);
        if view.req.protocol == Protocol::Http {
            d.retries = Some(Shared::Lent(&self.default_retries));
            t.add("default", || "retries".into(), Verdict::Note, || {
                format!("Istio's default retry policy: {DEFAULT_RETRY_ATTEMPTS} retries on {DEFAULT_RETRY_ON}")
            });
        }
        t.add(
            "default",
            || "timeout".into(),
            Verdict::Note,
            || "no timeout (Istio disables Envoy's 15s default)".into(),
        );
        d
    }

    fn at_gateway(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        let req = view.req;
        let Some(gw_index) = self.gateways.iter().position(|g| g.key == req.gateway) else {
            t.add(
                "gateway",
                || req.gateway.clone(),
                Verdict::Failed,
                || "no such Gateway".into(),
            );
            return Decision::new(Outcome::NotFound);
        };
        let gw = &self.gateways[gw_index];
        let servers: Vec<&Server> = gw
            .servers
            .iter()
            .filter(|s| s.port.as_ref().and_then(|p| p.number) == Some(view.port))
            .collect();
        if servers.is_empty() {
            t.add(
                "gateway",
                || gw.key.clone(),
                Verdict::Failed,
                || format!("no server listens on port {}", view.port),
            );
            return Decision::new(Outcome::NotFound);
        }
        let gref = GatewayRef::Gateway {
            namespace: gw.namespace.clone(),
            name: gw.name.clone(),
        };
        let proxy = Proxy {
            gateway: gref.clone(),
            namespace: &gw.namespace,
            labels: None,
            listener_port: view.port,
            resolved: &[],
            resolved_routes: &[],
        };
        let protocol = |s: &Server| {
            PortProtocol::from_istio(
                s.port
                    .as_ref()
                    .and_then(|p| p.protocol.as_deref())
                    .unwrap_or(""),
            )
        };
        let passthrough = |s: &Server| {
            s.tls.as_ref().is_some_and(|tls| {
                matches!(
                    tls.mode.unwrap_or_default(),
                    ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
                )
            })
        };
        let http_servers: Vec<&Server> = servers
            .iter()
            .copied()
            .filter(|s| {
                protocol(s) == PortProtocol::Http
                    || (protocol(s) == PortProtocol::Tls && !passthrough(s))
            })
            .collect();
        // VirtualServices bound to this gateway, visible to its namespace, with their domains.
        let bound: Vec<&CompiledVs> = self
            .vs
            .iter()
            .filter(|vs| vs.bound_to(&gref) && vs.visibility.visible_in(&gw.namespace))
            .collect();
        if req.protocol == Protocol::Http && !http_servers.is_empty() {
            for s in &http_servers {
                if s.tls
                    .as_ref()
                    .and_then(|t| t.https_redirect)
                    .unwrap_or(false)
                    && s.hosts.iter().any(|h| {
                        let sh = hosts::parse_server_host(h);
                        sh.dns_name == "*" || hosts::matches(&sh.dns_name, &view.host)
                    })
                {
                    t.add(
                        "gateway",
                        || gw.key.clone(),
                        Verdict::Matched,
                        || {
                            "server has httpsRedirect: every request is answered with 301 to https"
                                .into()
                        },
                    );
                    let mut d = Decision::new(Outcome::Redirect);
                    d.redirect = Some(Box::new(Redirect {
                        status: 301,
                        location: format!("https://{}{}", strip_default_port(&req.host), req.path),
                    }));
                    return d;
                }
            }
            let mut domains: Vec<(String, usize)> = Vec::new();
            for (vi, vs) in bound.iter().enumerate() {
                for vh in &vs.hosts {
                    for s in &http_servers {
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
            let names: Vec<&str> = domains.iter().map(|(d, _)| d.as_str()).collect();
            let Some(chosen) = hosts::select_domain(&view.host, &names) else {
                t.add(
                    "gateway",
                    || gw.key.clone(),
                    Verdict::Failed,
                    || {
                        format!(
                            "no virtual host for {:?} on port {} (404)",
                            view.host, view.port
                        )
                    },
                );
                return Decision::new(Outcome::NotFound);
            };
            let domain = domains[chosen].0.clone();
            t.add(
                "gateway",
                || gw.key.clone(),
                Verdict::Matched,
                || format!("server on port {} serves virtual host {domain}", view.port),
            );
            // Routes of every bound VirtualService that yields this domain,
            // concatenated in order, catch-alls moved to the end (stable).
            let mut routes: Vec<&CompiledHttpRoute> = Vec::new();
            for (vi, vs) in bound.iter().enumerate() {
                if domains.iter().any(|(d, i)| *i == vi && *d == domain) {
                    routes.extend(vs.http.iter());
                }
            }
            let (mut specific, catch_alls): (Vec<_>, Vec<_>) =
                routes.into_iter().partition(|r| !r.is_catch_all());
            specific.extend(catch_alls);
            return self.eval_http(&specific, view, &proxy, t);
        }
        // TLS passthrough or TCP at the gateway.
        for vs in &bound {
            let routes = if servers.iter().any(|s| passthrough(s)) && req.protocol != Protocol::Tcp
            {
                &vs.tls
            } else {
                &vs.tcp
            };
            if let Some(d) = self.eval_l4(vs, routes, view, &proxy, t) {
                return d;
            }
        }
        t.add(
            "gateway",
            || gw.key.clone(),
            Verdict::Failed,
            || "no TLS or TCP route matches: the connection is closed".into(),
        );
        Decision::new(Outcome::NotFound)
    }

    /// For config exporters: the request-independent parts of the decision
    /// `route` gives a sidecar in `namespace` on `port` (destinations with
    /// cluster names and policies, fault, timeout, retries, header
    /// operations, direct response). Redirect and rewrite depend on the
    /// request and are taken from the rule itself by the exporter.
    pub(crate) fn export_route_decision<'m>(
        &'m self,
        route: &'m CompiledHttpRoute,
        host: &str,
        port: u32,
        namespace: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Decision<'m> {
        let mut req = Request::new(host).from_namespace(namespace);
        req.port = u16::try_from(port).ok();
        let view = View::new(&req);
        let proxy = Proxy {
            gateway: GatewayRef::Mesh,
            namespace,
            labels: Some(labels),
            listener_port: port,
            resolved: &[],
            resolved_routes: &[],
        };
        let mut t = Tracer::new(false);
        self.http_decision(route, None, &view, &proxy, &mut t)
    }

    /// For config exporters: the decision for a host no VirtualService
    /// routes (default route to the service on `port`).
    pub(crate) fn export_default_decision(
        &self,
        host: &str,
        port: u32,
        namespace: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Decision<'_> {
        let mut req = Request::new(host).from_namespace(namespace);
        req.port = u16::try_from(port).ok();
        req.source.labels = labels.clone();
        let view = View::new(&req);
        let proxy = Proxy {
            gateway: GatewayRef::Mesh,
            namespace,
            labels: Some(labels),
            listener_port: port,
            resolved: &[],
            resolved_routes: &[],
        };
        let mut t = Tracer::new(false);
        let service = self.registry.lookup(host, namespace);
        self.default_route(host, service, &view, &proxy, &mut t)
    }

    fn eval_http<'m>(
        &'m self,
        routes: &[&'m CompiledHttpRoute],
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        for route in routes {
            let subject = || {
                let mut s = format!("{} http[{}]", route.vs, route.index);
                if let Some(n) = &route.name {
                    s.push_str(&format!(" ({n})"));
                }
                s
            };
            if route.matches.is_empty() {
                t.add("rule", subject, Verdict::Matched, || {
                    "has no match conditions: matches every request".into()
                });
                return self.http_decision(route, None, view, proxy, t);
            }
            let mut reasons = Vec::new();
            let mut live = 0usize;
            for m in &route.matches {
                if let Err(why) = proxy.match_exists(m, view.req) {
                    if t.on {
                        reasons.push(format!("match[{}] not applicable: {why}", m.index));
                    }
                    continue;
                }
                live += 1;
                match m.matches_request(&view.parts(), t.on, false) {
                    Ok(()) => {
                        t.add("rule", subject, Verdict::Matched, || {
                            format!("match[{}] holds", m.index)
                        });
                        return self.http_decision(route, Some(m), view, proxy, t);
                    }
                    Err(why) => {
                        if t.on {
                            reasons.push(format!("match[{}]: {why}", m.index));
                        }
                    }
                }
            }
            let verdict = if live == 0 {
                Verdict::Skipped
            } else {
                Verdict::Failed
            };
            t.add("rule", subject, verdict, || reasons.join("; "));
        }
        t.add(
            "rule",
            || "(none)".into(),
            Verdict::Failed,
            || "no rule matched: Envoy answers 404 (NR)".into(),
        );
        Decision::new(Outcome::NotFound)
    }

    /// First match through the route index (no trace): the same answer as
    /// [`Mesh::eval_http`] without visiting rules that cannot match the path.
    fn eval_http_indexed<'m>(
        &'m self,
        vs: &'m CompiledVs,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        for ((ri, mi), uri_proven) in vs.http_index.candidates(view.path) {
            let Some(route) = vs.http.get(ri as usize) else {
                continue;
            };
            if mi == u32::MAX {
                return self.http_decision(route, None, view, proxy, t);
            }
            let Some(m) = route.matches.get(mi as usize) else {
                continue;
            };
            if proxy.match_exists(m, view.req).is_ok()
                && m.matches_request(&view.parts(), false, uri_proven).is_ok()
            {
                return self.http_decision(route, Some(m), view, proxy, t);
            }
        }
        Decision::new(Outcome::NotFound)
    }

    fn eval_l4<'m>(
        &'m self,
        vs: &'m CompiledVs,
        routes: &'m [CompiledL4Route],
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Option<Decision<'m>> {
        let req = view.req;
        let sni = req.sni.as_deref().map(|s| s.to_ascii_lowercase());
        let kind = if req.protocol == Protocol::Tls {
            "tls"
        } else {
            "tcp"
        };
        for route in routes {
            let connection = Connection {
                gateway: &proxy.gateway,
                listener_port: proxy.listener_port,
                labels: proxy.labels,
                caller_namespace: &req.source.namespace,
                sni: sni.as_deref(),
                destination_ip: req.destination_ip.as_deref(),
            };
            let holding = route.matches.iter().find(|m| m.holds(&connection));
            let ok = route.matches.is_empty() || holding.is_some();
            let subject = || format!("{} {kind}[{}]", vs.key, route.index);
            if !ok {
                t.add("rule", subject, Verdict::Failed, || {
                    "no match block holds (port, SNI, subnets, source)".into()
                });
                continue;
            }
            t.add("rule", subject, Verdict::Matched, || match holding {
                Some(m) => format!("match[{}] holds for the connection", m.index),
                None => "has no match conditions: matches every connection".into(),
            });
            let mut d = Decision::new(Outcome::Route);
            d.virtual_service = Some(Cow::Borrowed(&*vs.key));
            d.rule = Some(RuleRef {
                index: route.index,
                name: None,
            });
            let many = route.destinations.len() > 1;
            for rd in &route.destinations {
                let weight = rd.weight.unwrap_or(0).max(0) as u32;
                if many && weight == 0 {
                    continue;
                }
                if let Some(spec) = &rd.destination {
                    d.destinations.to_mut().push(self.route_destination(
                        spec,
                        &vs.namespace,
                        if many { weight } else { 100 },
                        view,
                        proxy,
                        t,
                    ));
                }
            }
            return Some(d);
        }
        None
    }

    /// Each outcome is returned as one struct expression, so the decision
    /// is written straight into the caller's slot (no 280-byte moves).
    fn http_decision<'m>(
        &'m self,
        route: &'m CompiledHttpRoute,
        m: Option<&HttpRouteMatch>,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        let spec: &HttpRoute = &route.route;
        let rule = Some(RuleRef {
            index: route.index,
            name: route.name.as_deref().map(Cow::Borrowed),
        });
        if let Some(root) = &route.delegated_from {
            t.add(
                "virtualService",
                || route.vs.to_string(),
                Verdict::Note,
                || format!("delegate of {root}"),
            );
        }
        // CORS applies to every action of the route, fault to forwarded requests.
        let cors = route.cors.as_ref().map(Shared::Lent);
        if let Some(r) = &spec.redirect {
            return Decision {
                outcome: Outcome::Redirect,
                virtual_service: Some(Cow::Borrowed(&*route.vs)),
                delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
                rule,
                redirect: Some(Box::new(self.redirect(r, m, view))),
                request_headers: Shared::Lent(&route.route_headers.0),
                response_headers: Shared::Lent(&route.route_headers.1),
                cors,
                ..Decision::new(Outcome::Redirect)
            };
        }
        if let Some(dr) = &spec.direct_response {
            return Decision {
                outcome: Outcome::DirectResponse,
                virtual_service: Some(Cow::Borrowed(&*route.vs)),
                delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
                rule,
                direct_response: Some(Box::new(DirectResponse {
                    status: dr.status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                    body: dr.body.as_ref().and_then(|b| {
                        b.string
                            .clone()
                            .or_else(|| b.bytes.as_deref().map(decode_base64_lossy))
                    }),
                })),
                request_headers: Shared::Lent(&route.route_headers.0),
                response_headers: Shared::Lent(&route.route_headers.1),
                cors,
                ..Decision::new(Outcome::DirectResponse)
            };
        }
        let fault = spec.fault.as_ref().and_then(|f| fault(f, t));
        // Forward.
        let built_ahead = match t.on {
            true => None,
            false => proxy
                .resolved_routes
                .get(route.id)
                .and_then(Option::as_deref),
        };
        let destinations = match built_ahead {
            Some(list) => Cow::Borrowed(list),
            None => {
                let mut list = Vec::with_capacity(route.dests.len());
                let many = route.dests.len() > 1;
                for pd in &route.dests {
                    if many && pd.weight == 0 {
                        continue;
                    }
                    let weight = if many { pd.weight } else { 100 };
                    list.push(self.prepared_destination(pd, weight, proxy, t));
                }
                Cow::Owned(list)
            }
        };
        match &route.timeout {
            Some(to) => t.add(
                "policy",
                || "timeout".into(),
                Verdict::Note,
                || {
                    format!(
                        "{to} for the whole request, retries included (504 UT when it runs out)"
                    )
                },
            ),
            None => t.add(
                "default",
                || "timeout".into(),
                Verdict::Note,
                || "no timeout: Istio disables Envoy's 15s route default".into(),
            ),
        }
        let r = &route.retries;
        t.add("policy", || "retries".into(), Verdict::Note, || {
            if r.default {
                format!("route sets no retries: Istio's default {DEFAULT_RETRY_ATTEMPTS} retries on {DEFAULT_RETRY_ON}")
            } else if r.attempts == 0 {
                "retries disabled (attempts: 0)".into()
            } else {
                let budget = match (&r.per_try_timeout, &route.timeout) {
                    (Some(p), Some(to)) => format!("; each try {p}, all tries within {to}"),
                    (Some(p), None) => format!("; each try {p}, up to {} tries", r.attempts + 1),
                    (None, Some(to)) => format!("; all tries within {to}"),
                    (None, None) => String::new(),
                };
                format!("{} retries on {}{budget}", r.attempts, r.retry_on)
            }
        });
        let mirrors = if spec.mirror.is_none() && spec.mirrors.is_empty() {
            Vec::new()
        } else {
            self.mirrors(route, view, proxy)
        };
        Decision {
            outcome: Outcome::Route,
            virtual_service: Some(Cow::Borrowed(&*route.vs)),
            delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
            rule,
            destinations,
            redirect: None,
            direct_response: None,
            rewrite: (route.rewrite.as_ref())
                .and_then(|plan| rewrite(plan, m, view))
                .map(Box::new),
            timeout: route.timeout.as_deref().map(Cow::Borrowed),
            retries: Some(Shared::Lent(&route.retries)),
            fault,
            mirrors,
            request_headers: Shared::Lent(&route.forward_headers.0),
            response_headers: Shared::Lent(&route.forward_headers.1),
            cors,
            trace: Vec::new(),
        }
    }

    /// The route's `mirror` and `mirrors`, resolved.
    fn mirrors<'m>(
        &'m self,
        route: &'m CompiledHttpRoute,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
    ) -> Vec<Mirror<'m>> {
        let spec: &HttpRoute = &route.route;
        let mut mirrors = Vec::new();
        if let Some(mirror) = &spec.mirror {
            let percent = spec
                .mirror_percentage
                .as_ref()
                .and_then(|p| p.value)
                .or(spec.mirror_percent.map(f64::from))
                .unwrap_or(100.0);
            mirrors.push(self.mirror(mirror, &route.vs_namespace, percent, view, proxy));
        }
        for mp in &spec.mirrors {
            if let Some(dest) = &mp.destination {
                let percent = mp
                    .percentage
                    .as_ref()
                    .and_then(|p| p.value)
                    .unwrap_or(100.0);
                mirrors.push(self.mirror(dest, &route.vs_namespace, percent, view, proxy));
            }
        }
        mirrors
    }

    fn mirror(
        &self,
        dest: &DestinationSpec,
        vs_namespace: &str,
        percent: f64,
        view: &View<'_>,
        proxy: &Proxy<'_, '_>,
    ) -> Mirror<'_> {
        let mut scratch = Tracer::new(false);
        let r = self.route_destination(dest, vs_namespace, 100, view, proxy, &mut scratch);
        Mirror {
            host: r.host,
            subset: r.subset,
            port: r.port,
            cluster: r.cluster,
            percent,
        }
    }

    /// A `route[].destination` resolved: host expanded from the rule's
    /// namespace, port (explicit, the service's only port, or the listener
    /// port), subset checked, policy merged.
    fn route_destination(
        &self,
        dest: &DestinationSpec,
        vs_namespace: &str,
        weight: u32,
        view: &View<'_>,
        proxy: &Proxy<'_, '_>,
        t: &mut Tracer,
    ) -> Destination<'_> {
        let _ = view;
        let host = hosts::resolve_short_name(
            dest.host.as_deref().unwrap_or(""),
            vs_namespace,
            &self.options.domain_suffix,
        )
        .to_ascii_lowercase();
        let service = self.registry.lookup(&host, proxy.namespace);
        let port = dest
            .port
            .as_ref()
            .and_then(|p| p.number)
            .filter(|p| *p != 0)
            .or_else(|| {
                service.and_then(|s| {
                    if s.ports.len() == 1 {
                        Some(s.ports[0].number)
                    } else {
                        None
                    }
                })
            });
        let port = port.or(Some(proxy.listener_port));
        // Istio looks destinations up by exact name: the host stays as written.
        let subset = dest.subset.clone().map(Cow::Owned);
        self.destination(Cow::Owned(host), service, subset, port, weight, proxy, t)
    }

    fn prepared_destination<'m>(
        &'m self,
        pd: &'m super::compile::PreparedDest,
        weight: u32,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Destination<'m> {
        if !t.on {
            if let Some(Some(r)) = proxy.resolved.get(pd.key) {
                return Destination {
                    host: Cow::Borrowed(&pd.host),
                    subset: pd.subset.as_deref().map(Cow::Borrowed),
                    port: r.port,
                    weight,
                    cluster: Cow::Borrowed(&r.cluster),
                    policy: r.policy.as_ref().map(Shared::Lent),
                    problem: r.problem.as_deref().map(Cow::Borrowed),
                };
            }
        }
        let service = self.registry.lookup(&pd.host, proxy.namespace);
        let port = pd
            .port
            .or_else(|| {
                service.and_then(|s| {
                    if s.ports.len() == 1 {
                        Some(s.ports[0].number)
                    } else {
                        None
                    }
                })
            })
            .or(Some(proxy.listener_port));
        // Istio looks destinations up by exact name: the host stays as written.
        let subset = pd.subset.as_deref().map(Cow::Borrowed);
        self.destination(
            Cow::Borrowed(&pd.host),
            service,
            subset,
            port,
            weight,
            proxy,
            t,
        )
    }

    /// `service` is the registry's answer for `host` from the proxy's namespace.
    #[allow(clippy::too_many_arguments)]
    fn destination<'m>(
        &'m self,
        host: Cow<'m, str>,
        service: Option<&'m Service>,
        subset_name: Option<Cow<'m, str>>,
        port: Option<u32>,
        weight: u32,
        proxy: &Proxy<'_, '_>,
        t: &mut Tracer,
    ) -> Destination<'m> {
        let subset = subset_name.as_deref();
        let facts =
            self.destination_facts(&host, service, subset, port, proxy.namespace, proxy.labels);
        let cluster = self.cluster_name(&host, port, subset);
        t.add(
            "destination",
            || cluster.to_string(),
            if facts.problem.is_some() {
                Verdict::Failed
            } else {
                Verdict::Matched
            },
            || {
                let mut s = format!("weight {weight}");
                if let Some(r) = facts.rule {
                    s.push_str(&format!("; DestinationRule {}", r.names.join(", ")));
                }
                if let Some(p) = &facts.problem {
                    s.push_str("; ");
                    s.push_str(p);
                }
                s
            },
        );
        Destination {
            host,
            subset: subset_name,
            port,
            weight,
            cluster,
            policy: facts.policy.map(Shared::Lent),
            problem: facts.problem.map(Cow::Owned),
        }
    }

    /// What a proxy in `namespace` (with `labels`; `None` at a gateway)
    /// gets for a destination: the DestinationRule, the merged policy, and
    /// why traffic will fail at runtime, when it will.
    pub(crate) fn destination_facts<'m>(
        &'m self,
        host: &str,
        service: Option<&'m Service>,
        subset: Option<&str>,
        port: Option<u32>,
        namespace: &str,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> DestinationFacts<'m> {
        let rule = self.rules.lookup(
            host,
            namespace,
            labels,
            service.map(|s| s.namespace.as_str()),
            &self.options.root_namespace,
        );
        let mut problem = None;
        if service.is_none() {
            problem = Some(format!(
                "{host} is not in the service registry: Envoy answers 503 (cluster not found, NC)"
            ));
        } else if let Some(s) = service {
            if let Some(p) = port {
                if s.port(p).is_none() && !s.ports.is_empty() {
                    problem = Some(format!(
                        "{host} has no port {p}: Envoy answers 503 (cluster not found, NC)"
                    ));
                }
            }
        }
        if let Some(sub) = subset {
            match rule.and_then(|r| r.subset(sub)) {
                None => {
                    problem = Some(format!(
                        "subset {sub:?} is not defined in a DestinationRule for {host}: no such cluster, Envoy answers 503 (no healthy upstream, NC)"
                    ))
                }
                Some(def) => {
                    if let Some(s) = service {
                        if !s.endpoints.is_empty() && s.endpoints_matching(&def.labels).next().is_none() {
                            problem = Some(format!("subset {sub:?} selects no endpoint of {host}: 503 (UH)"));
                        }
                    }
                }
            }
        }
        DestinationFacts {
            rule,
            policy: rule.and_then(|r| r.policy_ref(port, subset)),
            problem,
        }
    }

    fn redirect(
        &self,
        r: &crate::model::virtual_service::HttpRedirect,
        m: Option<&HttpRouteMatch>,
        view: &View<'_>,
    ) -> Redirect {
        let req = view.req;
        let scheme = r.scheme.clone().unwrap_or_else(|| view.scheme.to_string());
        // Envoy keeps the request's Host (port included) unless the redirect
        // names an authority or a port; a port override replaces the port.
        let base = r.authority.clone().unwrap_or_else(|| req.host.clone());
        let parts = hosts::split_authority(&base);
        let written_port = parts.port_number().map(u32::from);
        let bare = parts.host_as_written.to_string();
        let port = match (r.port, r.derive_port) {
            (Some(p), _) if p != 0 => Some(p),
            (_, Some(crate::model::virtual_service::RedirectPortSelection::FromRequestPort)) => {
                Some(view.port)
            }
            _ => written_port,
        };
        let port = match port {
            Some(80) if scheme == "http" => None,
            Some(443) if scheme == "https" => None,
            // A scheme change drops the old scheme's default port.
            Some(80) if view.scheme == "http" && written_port == Some(80) => None,
            p => p,
        };
        let host = if bare.contains(':') && !bare.starts_with('[') && hosts::is_ip_literal(&bare) {
            format!("[{bare}]")
        } else {
            bare
        };
        let (path, query) = if let Some(uri) = &r.uri {
            match uri.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (
                    uri.clone(),
                    (!view.query.is_empty()).then(|| view.query.to_string()),
                ),
            }
        } else if let Some(pr) = &r.prefix_rewrite {
            (
                replace_prefix(view.path, m, pr),
                (!view.query.is_empty()).then(|| view.query.to_string()),
            )
        } else {
            (
                view.path.to_string(),
                (!view.query.is_empty()).then(|| view.query.to_string()),
            )
        };
        let mut location = format!("{scheme}://{host}");
        if let Some(p) = port {
            location.push_str(&format!(":{p}"));
        }
        location.push_str(&path);
        if let Some(q) = query {
            location.push('?');
            location.push_str(&q);
        }
        Redirect {
            status: match r.redirect_code {
                None | Some(0) => 301,
                Some(c) => u16::try_from(c).unwrap_or(301),
            },
            location,
        }
    }
}

/// Bytes that make a host need splitting or lower-casing: `:` (port),
/// `[` (IPv6 literal), upper-case letters.
static HOST_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b':' as usize] = true;
    table[b'[' as usize] = true;
    let mut c = b'A';
    while c <= b'Z' {
        table[c as usize] = true;
        c += 1;
    }
    table
};

/// A host with no port, brackets, upper case or trailing dot: what most
/// requests carry, used as it is.
fn is_plain_host(host: &str) -> bool {
    !host.bytes().any(|b| HOST_SPECIAL[usize::from(b)]) && !host.ends_with('.')
}

/// Byte classes for the per-request path scans: one table load per byte
/// instead of a chain of comparisons.
const PATH_PLAIN: u8 = 0;
/// `?` and `#`: the path as routes see it ends here.
const PATH_END: u8 = 1;
/// `.`, `%`, `\`, NUL, `#`: normalization may rewrite the path.
const PATH_SUSPECT: u8 = 2;
const PATH_SLASH: u8 = 4;
static PATH_BYTE: [u8; 256] = {
    let mut table = [PATH_PLAIN; 256];
    table[b'/' as usize] = PATH_SLASH;
    table[b'?' as usize] = PATH_END;
    table[b'#' as usize] = PATH_END | PATH_SUSPECT;
    table[b'.' as usize] = PATH_SUSPECT;
    table[b'%' as usize] = PATH_SUSPECT;
    table[b'\\' as usize] = PATH_SUSPECT;
    table[0] = PATH_SUSPECT;
    table
};

/// Whether normalization could change `path`.
#[cfg(test)]
fn path_may_change(path: &str, mode: crate::matching::path::PathNormalization) -> bool {
    plain_path_end(path, mode).is_none()
}

/// Where the path as routes see it ends (the first `?` or `#`).
fn path_end(path: &str) -> usize {
    path.bytes()
        .position(|b| PATH_BYTE[usize::from(b)] & PATH_END != 0)
        .unwrap_or(path.len())
}

/// `None` when normalization could change `path` (one pass up to the
/// query, no allocation: an escape, a backslash, NUL or `#`, a `.` or `..`
/// segment, no leading `/`, or, when slashes are merged, an empty
/// segment); otherwise where the path ends ([`path_end`]), found on the way.
fn plain_path_end(path: &str, mode: crate::matching::path::PathNormalization) -> Option<usize> {
    use crate::matching::path::PathNormalization;
    if mode == PathNormalization::None {
        return Some(path_end(path));
    }
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return None;
    }
    let merge_slashes = mode != PathNormalization::Base;
    // Most paths have no dot, escape, backslash, NUL, fragment or `//`
    // before the query: one cheap scan says so. Without slash merging the
    // bytes that matter are found eight at a time.
    let mut start = 0;
    if !merge_slashes {
        for (k, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let found = special_bytes(u64::from_le_bytes(word));
            if found != 0 {
                // The lowest flagged byte is exact (the carries of the zero
                // test only flag bytes above a true match).
                let at = k * 8 + (found.trailing_zeros() / 8) as usize;
                return match bytes.get(at) {
                    Some(b'?') => Some(at),
                    _ => plain_segments_end(bytes, false),
                };
            }
            start = k * 8 + 8;
        }
    }
    let mut previous_slash = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        let class = PATH_BYTE[usize::from(b)];
        if class == PATH_PLAIN {
            previous_slash = false;
        } else if class & PATH_SUSPECT != 0
            || (merge_slashes && previous_slash && class == PATH_SLASH)
        {
            return plain_segments_end(bytes, merge_slashes);
        } else if class == PATH_END {
            return Some(i);
        } else {
            previous_slash = true;
        }
    }
    Some(bytes.len())
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is NUL (exact for the lowest one).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
}

/// The bytes of `word` that end the path (`?`, `#`) or that normalization
/// may rewrite (`.`, `%`, `\`, NUL): the `PATH_END`/`PATH_SUSPECT` classes.
fn special_bytes(word: u64) -> u64 {
    let equal = |byte: u8| zero_bytes(word ^ (LOW_BITS * u64::from(byte)));
    zero_bytes(word) | equal(b'.') | equal(b'%') | equal(b'\\') | equal(b'#') | equal(b'?')
}

/// The careful scan of [`plain_path_end`], segment by segment.
fn plain_segments_end(bytes: &[u8], merge_slashes: bool) -> Option<usize> {
    let mut segment_start = 1;
    for i in 1..=bytes.len() {
        let c = bytes.get(i).copied();
        match c {
            // A fragment is left to the normalizer, which decides what it becomes.
            Some(b'%' | b'\\' | 0 | b'#') => return None,
            Some(b'/') | Some(b'?') | None => {
                let segment = bytes.get(segment_start..i).unwrap_or_default();
                if segment == b"." || segment == b".." {
                    return None;
                }
                if merge_slashes && segment.is_empty() && c == Some(b'/') {
                    return None;
                }
                if c != Some(b'/') {
                    return Some(i);
                }
                segment_start = i + 1;
            }
            Some(_) => {}
        }
    }
    Some(bytes.len())
}

fn strip_default_port(host: &str) -> &str {
    host.strip_suffix(":80").unwrap_or(host)
}

/// The path with the matched prefix replaced (exact/regex matches replace
/// the whole path; no uri condition means the implicit prefix `/`).
fn replace_prefix(path: &str, m: Option<&HttpRouteMatch>, replacement: &str) -> String {
    match m.and_then(|m| m.uri.as_ref().map(|u| (u, m.ignore_uri_case))) {
        Some((StringMatcher::Prefix { value: p, .. }, _)) => {
            let n = p.len().min(path.len());
            format!("{replacement}{}", &path[n..])
        }
        Some((StringMatcher::Exact { .. }, _)) | Some((StringMatcher::Regex(_), _)) => {
            replacement.to_string()
        }
        _ => format!("{replacement}{}", path.strip_prefix('/').unwrap_or(path)),
    }
}

fn rewrite(plan: &RewritePlan, m: Option<&HttpRouteMatch>, view: &View<'_>) -> Option<Rewrite> {
    let with_query = |p: String| {
        if view.query.is_empty() {
            p
        } else {
            format!("{p}?{}", view.query)
        }
    };
    let path = match (&plan.uri, &plan.uri_regex) {
        (Some(uri), _) => Some(with_query(replace_prefix(view.path, m, uri))),
        (None, Some((re, replacement))) => Some(with_query(
            re.replace_all(view.path, replacement).into_owned(),
        )),
        (None, None) => None,
    };
    if path.is_none() && plan.authority.is_none() {
        return None;
    }
    Some(Rewrite {
        path,
        authority: plan.authority.clone(),
    })
}

/// The route's fault injection as decided (`None` when it injects nothing).
fn fault(
    f: &crate::model::virtual_service::HttpFaultInjection,
    t: &mut Tracer,
) -> Option<Box<Fault>> {
    let delay = f.delay.as_ref().and_then(|dl| {
        dl.fixed_delay.clone().map(|fixed| FaultDelay {
            fixed_delay: fixed,
            percent: dl
                .percentage
                .as_ref()
                .and_then(|p| p.value)
                .or(dl.percent.map(f64::from))
                .unwrap_or(0.0),
        })
    });
    let abort = f.abort.as_ref().and_then(|a| {
        if a.http_status.is_none() && a.grpc_status.is_none() {
            return None;
        }
        Some(FaultAbort {
            http_status: a.http_status,
            grpc_status: a.grpc_status.clone(),
            percent: a.percentage.as_ref().and_then(|p| p.value).unwrap_or(0.0),
        })
    });
    if delay.is_none() && abort.is_none() {
        return None;
    }
    t.add("policy", || "fault".into(), Verdict::Note, || {
        "fault filter runs before the router: an injected abort is not retried and an injected delay does not count against the timeout".into()
    });
    Some(Box::new(Fault { delay, abort }))
}

fn decode_base64_lossy(s: &str) -> String {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{
        path_may_change, plain_path_end, plain_segments_end, PATH_BYTE, PATH_END, PATH_SUSPECT,
    };
    use crate::matching::path::{normalize_path, PathNormalization};

    #[test]
    fn word_scan_agrees_with_the_byte_scan() {
        // The byte-at-a-time scan, as it was before the word scan.
        fn byte_scan(path: &str) -> Option<usize> {
            let bytes = path.as_bytes();
            if bytes.first() != Some(&b'/') {
                return None;
            }
            for (i, &b) in bytes.iter().enumerate() {
                let class = PATH_BYTE[usize::from(b)];
                if class & PATH_SUSPECT != 0 {
                    return plain_segments_end(bytes, false);
                }
                if class == PATH_END {
                    return Some(i);
                }
            }
            Some(bytes.len())
        }
        let alphabet = ['/', 'a', '.', '?', '#', '%', '\\', '\0', 'Z', 'é'];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 26) as usize;
            let mut path = String::from("/");
            let mut bits = seed;
            for _ in 0..len {
                bits = bits.rotate_left(7) ^ 0x2545_f491_4f6c_dd1d;
                let c = alphabet[(bits % alphabet.len() as u64) as usize];
                // Mostly plain letters, so that long plain runs are common.
                path.push(if bits.is_multiple_of(3) { c } else { 'a' });
            }
            assert_eq!(
                plain_path_end(&path, PathNormalization::Base),
                byte_scan(&path),
                "{path:?}"
            );
        }
    }

    #[test]
    fn path_may_change_whenever_normalization_changes_the_path() {
        let paths = [
            "/",
            "/a",
            "/a/",
            "/a/b?x=/../",
            "/a#/./",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/.",
            "/..",
            "/.a/..b/",
            "/a//b",
            "//",
            "/a%2Fb",
            "/a\\b",
            "a",
            "",
            "/a/b/c.d",
            "/..?",
            "/.#",
            "/a//?",
            "/a/b//",
            "/a#b",
            "/a?x#/../",
        ];
        for mode in [
            PathNormalization::Base,
            PathNormalization::MergeSlashes,
            PathNormalization::DecodeAndMergeSlashes,
        ] {
            for p in paths {
                let changed = normalize_path(p, mode).map_or(true, |n| n != p);
                if changed {
                    assert!(path_may_change(p, mode), "{p:?} changes under {mode:?}");
                }
            }
        }
        assert!(!path_may_change("/reviews/0", PathNormalization::Base));
        assert!(!path_may_change("/a//b", PathNormalization::Base));
        assert!(path_may_change("/a//b", PathNormalization::MergeSlashes));
        assert!(!path_may_change("/a/./b", PathNormalization::None));
    }
}
