//! At a sidecar: the host a caller means (the pod's DNS search path), the
//! virtual host Envoy picks for it on the listener's port (a service the
//! proxy imports, a VirtualService host outside the registry, or none), the
//! VirtualService that routes it, and what happens without one (default
//! route, outbound traffic policy of the caller's Sidecar or the mesh).

use super::compile::{CompiledHttpRoute, CompiledVs};
use super::decision::*;
use super::evaluate::Proxy;
use super::request::Protocol;
use super::request_view::View;
use super::scope::Scope;
use super::trace::Tracer;
use super::{Mesh, OutboundPolicy};
use crate::hosts::{self, GatewayRef};
use crate::registry::Service;
use std::borrow::Cow;

/// The sidecar's outbound (15001) and inbound (15006) capture ports: a
/// request addressed to them directly is blackholed (istio
/// `pilot/pkg/networking/core/listener_builder.go`, `blackholeFilterChain`).
pub(super) const CAPTURE_PORTS: [u32; 2] = [15001, 15006];

/// The BlackHoleCluster as a decision: HTTP 502, TLS and TCP closed.
fn blackhole<'m>(view: &View<'_>) -> Decision<'m> {
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

/// What the address a TLS or TCP connection is sent to selects.
enum AddressMatch {
    /// No service of the proxy has that address on the port: the
    /// connection is routed by name.
    NoService,
    /// The filter chain of the service with the longest address prefix
    /// (for TLS, among those the SNI names).
    Service(Resolved),
    /// Services claim the address but none of the most specific ones
    /// takes the SNI: no filter chain, the outbound policy decides.
    NoChain,
}

/// What a sidecar's listener makes of a request's host.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The FQDN routed (for an ExternalName alias, the service it names).
    pub fqdn: String,
    /// The registry service, when the host is one the proxy imports.
    pub service: Option<usize>,
    /// The VirtualService that routes it.
    pub vs: Option<usize>,
}

impl Mesh {
    /// The names a pod in `namespace` may mean by `host` (its DNS search
    /// path), most specific first.
    fn search_path(&self, host: &str, namespace: &str) -> Vec<String> {
        let domain = &self.options.domain_suffix;
        let mut candidates = Vec::with_capacity(4);
        if let Some(absolute) = super::request_view::is_absolute(host) {
            candidates.push(absolute.to_string());
        } else if hosts::is_ip_literal(host) || host.ends_with(domain.as_str()) {
            candidates.push(host.to_string());
        } else {
            candidates.push(format!("{host}.{namespace}.svc.{domain}"));
            if host.contains('.') {
                candidates.push(format!("{host}.svc.{domain}"));
                candidates.push(format!("{host}.{domain}"));
                candidates.push(host.to_string());
            }
        }
        candidates
    }

    /// The registry service `name` stands for in `scope` (an ExternalName
    /// alias stands for the service it names), when the proxy imports it.
    fn scoped_service(&self, name: &str, scope: &Scope<'_>) -> Option<(usize, String)> {
        let target = self.registry.alias_target(name).unwrap_or(name);
        let i = self.registry.lookup_index(target, scope.namespace)?;
        scope
            .imports_service(&self.registry.services()[i])
            .then(|| (i, target.to_string()))
    }

    /// The FQDN a sidecar's caller means: the DNS search path of a pod in
    /// `namespace` (`reviews` -> `reviews.ns.svc.cluster.local`), the first
    /// candidate known to the registry or claimed by a VirtualService.
    pub(crate) fn resolve_host(&self, host: &str, namespace: &str) -> (String, bool) {
        match self.resolve_any_port(host, &Scope::whole_mesh(namespace)) {
            Some(r) => (r.fqdn, true),
            None => {
                let mut candidates = self.search_path(host, namespace);
                (candidates.pop().unwrap_or_else(|| host.to_string()), false)
            }
        }
    }

    /// TLS and TCP (and callers that name no listener): the first name on
    /// the search path that is an imported service or that an imported
    /// VirtualService claims.
    pub(crate) fn resolve_any_port(&self, host: &str, scope: &Scope<'_>) -> Option<Resolved> {
        for c in self.search_path(host, scope.namespace) {
            if let Some((i, fqdn)) = self.scoped_service(&c, scope) {
                let vs = self.mesh_vs_index_in(&fqdn, scope);
                return Some(Resolved {
                    fqdn,
                    service: Some(i),
                    vs,
                });
            }
            if let Some(vs) = self.mesh_vs_index_in(&c, scope) {
                return Some(Resolved {
                    fqdn: c,
                    service: None,
                    vs: Some(vs),
                });
            }
        }
        None
    }

    /// HTTP: the virtual host Envoy picks on the route configuration of
    /// `port` (istio `pilot/pkg/networking/core/httproute.go`,
    /// `BuildSidecarOutboundVirtualHosts`; `route.go`,
    /// `separateVSHostsAndServices`): an exact VirtualService host outside
    /// the proxy's services on this port (matched by its exact name only),
    /// else an imported service by the DNS search path, else a wildcard
    /// VirtualService host that covers none of the proxy's services on this
    /// port (a wildcard that covers services gets no virtual host of its own).
    pub(crate) fn resolve_http(
        &self,
        host: &str,
        port: u32,
        scope: &Scope<'_>,
    ) -> Option<Resolved> {
        if let Some(vs) = self.exact_vs_index_in(host, scope) {
            let is_service_here = self
                .registry
                .lookup_index(host, scope.namespace)
                .is_some_and(|i| self.service_listens(i, port, scope));
            if !is_service_here && self.vs_has_virtual_host_on(vs, port, scope) {
                return Some(Resolved {
                    fqdn: host.to_string(),
                    service: None,
                    vs: Some(vs),
                });
            }
        }
        let candidates = self.search_path(host, scope.namespace);
        for c in &candidates {
            if let Some((i, fqdn)) = self.scoped_service(c, scope) {
                // A service's names are virtual hosts only on its own ports
                // (istio `BuildSidecarOutboundVirtualHosts` groups services
                // by port); elsewhere Envoy's catch-all takes the request.
                if !self.service_listens(i, port, scope) {
                    continue;
                }
                let vs = self.mesh_vs_index_in(&fqdn, scope);
                return Some(Resolved {
                    fqdn,
                    service: Some(i),
                    vs,
                });
            }
        }
        // A headless Service's virtual host also has `*.` of each of its
        // names: a pod's own name (`web-0.web`) reaches it (istio
        // `httproute.go`, `generateVirtualHostDomains`, Passthrough
        // resolution of a Kubernetes Service).
        for c in &candidates {
            let Some((_, parent)) = c.split_once('.') else {
                continue;
            };
            if !self.registry.is_headless(parent) {
                continue;
            }
            if let Some((i, fqdn)) = self.scoped_service(parent, scope) {
                let vs = self.mesh_vs_index_in(&fqdn, scope);
                return Some(Resolved {
                    fqdn,
                    service: Some(i),
                    vs,
                });
            }
        }
        self.mesh_wildcard
            .iter()
            .enumerate()
            .filter(|(_, (h, i))| hosts::matches(h, host) && self.vs_usable(*i, scope))
            .filter(|(w, (_, i))| {
                !self.wildcard_services[*w]
                    .iter()
                    .any(|&s| self.service_listens(s, port, scope))
                    && self.vs_has_virtual_host_on(*i, port, scope)
            })
            .min_by(|(_, (ha, a)), (_, (hb, b))| hosts::more_specific(ha, hb).then(a.cmp(b)))
            .map(|(_, (h, i))| Resolved {
                fqdn: h.clone(),
                service: None,
                vs: Some(*i),
            })
    }

    /// TLS and TCP by destination address (`destinationIp`, else a host
    /// that is an IP): the services of the proxy with an address covering
    /// it on the port, the longest prefix first (Envoy's filter chain
    /// match: destination IP, then server name); for TLS with an SNI, the
    /// one among them the SNI names, else none (istio
    /// `serviceentry_simulation_test.go`, overlapping CIDRs, issue 52235).
    fn resolve_by_address(
        &self,
        view: &View<'_>,
        scope: &Scope<'_>,
        t: &mut Tracer,
    ) -> AddressMatch {
        let req = view.req;
        let ip = match req.destination_ip.as_deref() {
            Some(ip) => ip,
            None if hosts::is_ip_literal(&view.host) => &view.host,
            None => return AddressMatch::NoService,
        };
        let Some(on_port) = self.port_services.get(&view.port) else {
            return AddressMatch::NoService;
        };
        let mut best: Option<u8> = None;
        let mut chains: Vec<usize> = Vec::new();
        for &i in on_port {
            let s = &self.registry.services()[i];
            let Some(len) = s
                .addresses
                .iter()
                .filter_map(|a| hosts::address_covers(a, ip))
                .max()
            else {
                continue;
            };
            if !s.visibility.visible_in(scope.namespace) || !scope.imports_service(s) {
                continue;
            }
            match best {
                Some(b) if b > len => {}
                Some(b) if b == len => chains.push(i),
                _ => {
                    best = Some(len);
                    chains.clear();
                    chains.push(i);
                }
            }
        }
        let Some(len) = best else {
            return AddressMatch::NoService;
        };
        let sni = match req.protocol {
            Protocol::Tls => req.sni.as_deref().map(str::to_ascii_lowercase),
            _ => None,
        };
        let chosen = match &sni {
            Some(sni) => chains
                .iter()
                .copied()
                .find(|&i| hosts::matches(&self.registry.services()[i].hostname, sni)),
            None => chains.first().copied(),
        };
        let names = || {
            chains
                .iter()
                .map(|&i| self.registry.services()[i].hostname.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match chosen {
            Some(i) => {
                let fqdn = self.registry.services()[i].hostname.to_string();
                t.add(
                    "listener",
                    || ip.to_string(),
                    Verdict::Matched,
                    || {
                        format!(
                            "address on port {} is captured for {fqdn} (/{len}: {})",
                            view.port,
                            names()
                        )
                    },
                );
                let vs = self.mesh_vs_index_in(&fqdn, scope);
                AddressMatch::Service(Resolved {
                    fqdn,
                    service: Some(i),
                    vs,
                })
            }
            None => {
                t.add("listener", || ip.to_string(), Verdict::Failed, || {
                    format!(
                        "address on port {} is captured for {} (/{len}), whose filter chains do not take SNI {}",
                        view.port,
                        names(),
                        sni.as_deref().unwrap_or("")
                    )
                });
                AddressMatch::NoChain
            }
        }
    }

    /// Whether registry service `i` has a listener on `port` at a proxy with `scope`.
    fn service_listens(&self, i: usize, port: u32, scope: &Scope<'_>) -> bool {
        let s = &self.registry.services()[i];
        s.port(port).is_some()
            && s.visibility.visible_in(scope.namespace)
            && scope.imports_service(s)
    }

    /// Whether VirtualService `vs` makes virtual hosts on `port`: on the
    /// ports of the proxy's services its hosts cover; with none, on port 80
    /// only (Istio's "port 80 hack" for hosts outside the registry), and
    /// only when the proxy has a route configuration there at all.
    fn vs_has_virtual_host_on(&self, vs: usize, port: u32, scope: &Scope<'_>) -> bool {
        let mut covers_any = false;
        for &s in &self.vs_services[vs] {
            let svc = &self.registry.services()[s];
            if !svc.visibility.visible_in(scope.namespace) || !scope.imports_service(svc) {
                continue;
            }
            if svc.port(port).is_some() {
                return true;
            }
            covers_any |= svc.ports.iter().any(|p| {
                matches!(
                    p.protocol,
                    crate::registry::PortProtocol::Http | crate::registry::PortProtocol::Unknown
                )
            });
        }
        !covers_any
            && port == 80
            && self
                .port_services
                .get(&port)
                .is_some_and(|list| list.iter().any(|&s| self.service_listens(s, port, scope)))
    }

    /// Whether a sidecar with `scope` uses VirtualService `i`: bound to the
    /// mesh (the caller's index holds only those), exported to the caller's
    /// namespace and imported by its Sidecar.
    fn vs_usable(&self, i: usize, scope: &Scope<'_>) -> bool {
        let vs = &self.vs[i];
        vs.visibility.visible_in(scope.namespace) && scope.imports_virtual_service(vs)
    }

    /// Orders VirtualServices claiming one host for a caller: private to
    /// the caller's namespace first, then exported to a list, then public.
    fn claim_group(&self, vs: &CompiledVs, namespace: &str) -> u8 {
        if vs.namespace.as_ref() == namespace && vs.visibility.is_private_to(namespace) {
            0
        } else if matches!(vs.visibility, crate::registry::Visibility::Namespaces(_)) {
            1
        } else {
            2
        }
    }

    /// The first exact claim on `host` the proxy uses.
    fn exact_vs_index_in(&self, host: &str, scope: &Scope<'_>) -> Option<usize> {
        let list = self.mesh_exact.get(host)?;
        list.iter()
            .copied()
            .filter(|&i| self.vs_usable(i, scope))
            .min_by_key(|&i| (self.claim_group(&self.vs[i], scope.namespace), i))
    }

    /// The VirtualService a proxy with `scope` uses for `host`: the first
    /// exact claim in Istio's order, else the most specific wildcard.
    pub(crate) fn mesh_vs_index_in(&self, host: &str, scope: &Scope<'_>) -> Option<usize> {
        if let Some(i) = self.exact_vs_index_in(host, scope) {
            return Some(i);
        }
        let ns = scope.namespace;
        self.mesh_wildcard
            .iter()
            .filter(|(h, i)| hosts::matches(h, host) && self.vs_usable(*i, scope))
            .min_by(|(ha, a), (hb, b)| {
                hosts::more_specific(ha, hb).then(
                    (self.claim_group(&self.vs[*a], ns), *a)
                        .cmp(&(self.claim_group(&self.vs[*b], ns), *b)),
                )
            })
            .map(|(_, i)| *i)
    }

    /// The scope of the caller's Sidecar for the request's port, and
    /// whether the namespace's cache (built for the namespace's default
    /// scope) may answer for it.
    fn caller_scope<'a>(&'a self, view: &'a View<'_>) -> (Scope<'a>, bool) {
        let req = view.req;
        let ns = req.source.namespace.as_str();
        if self.sidecars.is_empty() {
            return (Scope::whole_mesh(ns), true);
        }
        let sidecar = self.sidecars.for_caller(ns, &req.source.labels);
        let cacheable = match sidecar {
            None => true,
            Some(s) => {
                s.is_port_independent()
                    && self
                        .sidecars
                        .namespace_default(ns)
                        .is_some_and(|d| std::ptr::eq(d, s))
            }
        };
        (Scope::of(ns, sidecar, view.port), cacheable)
    }

    pub(super) fn at_sidecar(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        let req = view.req;
        let ns = req.source.namespace.as_str();
        if CAPTURE_PORTS.contains(&view.port) {
            t.add("listener", || view.port.to_string(), Verdict::Failed, || {
                "the sidecar's own capture port: blackholed so traffic cannot loop through the proxy".into()
            });
            return blackhole(view);
        }
        let lookup_host = match req.protocol {
            Protocol::Tls => req
                .sni
                .as_deref()
                .map(|s| std::borrow::Cow::Owned(s.to_ascii_lowercase()))
                .unwrap_or_else(|| view.host.clone()),
            _ => view.host.clone(),
        };
        let (scope, cacheable) = self.caller_scope(view);
        if let Some(sc) = scope.sidecar {
            t.add(
                "sidecar",
                || sc.key.clone(),
                Verdict::Note,
                || match scope.listener {
                    Some(l) => format!(
                        "scopes this caller; {} takes port {}",
                        l.describe(),
                        view.port
                    ),
                    None => format!(
                        "scopes this caller; no egress listener takes port {}",
                        view.port
                    ),
                },
            );
        }
        let ns_cache = if cacheable {
            self.namespace_cache(ns)
        } else {
            None
        };
        let by_address = match req.protocol {
            Protocol::Http => AddressMatch::NoService,
            _ => self.resolve_by_address(view, &scope, t),
        };
        let resolved: Option<(Cow<'_, str>, Option<usize>, Option<usize>)> = match by_address {
            AddressMatch::Service(r) => Some((Cow::Owned(r.fqdn), r.service, r.vs)),
            AddressMatch::NoChain => return self.unknown_host_in(view, &scope, t),
            AddressMatch::NoService => {
                let cached = ns_cache
                    .and_then(|c| c.hosts.get(lookup_host.as_ref()))
                    .filter(|c| {
                        // On HTTP a service name is a virtual host only on the
                        // service's ports, and an exact VirtualService host
                        // wins over it unless it is that service's own name;
                        // the cache holds service names only.
                        let on_port = || {
                            c.service.is_some_and(|i| {
                                self.registry.services()[i].port(view.port).is_some()
                            })
                        };
                        req.protocol != Protocol::Http
                            || (on_port() && (!c.exact_vs_host || *c.fqdn == *lookup_host))
                    });
                match cached {
                    Some(c) => Some((Cow::Borrowed(&*c.fqdn), c.service, c.vs)),
                    None => {
                        let r = if req.protocol == Protocol::Http {
                            self.resolve_http(&lookup_host, view.port, &scope)
                        } else {
                            self.resolve_any_port(&lookup_host, &scope)
                        };
                        r.map(|r| (Cow::Owned(r.fqdn), r.service, r.vs))
                    }
                }
            }
        };
        let Some((fqdn, service, vs)) = resolved else {
            if req.protocol == Protocol::Http {
                if let Some(r) = self.resolve_any_port(&lookup_host, &scope) {
                    let ports = r
                        .service
                        .map(|i| {
                            let s = &self.registry.services()[i];
                            s.ports
                                .iter()
                                .map(|p| p.number.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    t.add("host", || lookup_host.to_string(), Verdict::Failed, || {
                        format!(
                            "{} has no port {} (its ports: {ports}): Istio builds a service's virtual hosts on its own ports only, so this request takes the catch-all; give the port the client uses",
                            r.fqdn, view.port
                        )
                    });
                    return self.unknown_host_in(view, &scope, t);
                }
            }
            t.add("host", || lookup_host.to_string(), Verdict::Failed, || match scope.sidecar {
                Some(_) => format!(
                    "no virtual host on port {}: not a service this caller's Sidecar imports, and no VirtualService it imports claims it (searched from namespace {ns})",
                    view.port
                ),
                None => format!(
                    "no virtual host on port {}: not in the service registry and no VirtualService claims it (searched from namespace {ns})",
                    view.port
                ),
            });
            return self.unknown_host_in(view, &scope, t);
        };
        t.add(
            "host",
            || lookup_host.to_string(),
            Verdict::Matched,
            || match service {
                Some(_) => format!("resolved to {fqdn} from namespace {ns}"),
                None => format!(
                    "virtual host {fqdn}: a VirtualService host outside the services this caller sees on port {}",
                    view.port
                ),
            },
        );
        let service = service.map(|i| &self.registry.services()[i]);
        let proxy = Proxy {
            gateway: GatewayRef::Mesh,
            namespace: ns,
            labels: Some(&req.source.labels),
            listener_port: view.port,
            cache: ns_cache,
        };
        let vs = vs.map(|i| &self.vs[i]);
        // TLS and TCP: a VirtualService host outside the registry takes
        // effect only on port 80, or on ports of registry services the
        // VirtualService names. (HTTP chose its virtual host above.)
        let vs = vs.filter(|vs| {
            req.protocol == Protocol::Http
                || service.is_some()
                || view.port == 80
                || self.vs_names_service_port(vs, view.port, ns)
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
                            return self
                                .default_or_unknown(&fqdn, service, view, &proxy, &scope, t);
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
                            None => {
                                self.default_or_unknown(&fqdn, service, view, &proxy, &scope, t)
                            }
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
                self.default_or_unknown(&fqdn, service, view, &proxy, &scope, t)
            }
        }
    }

    /// The default route to `service`; without one, the outbound policy.
    fn default_or_unknown<'m>(
        &'m self,
        fqdn: &str,
        service: Option<&'m Service>,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        scope: &Scope<'_>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        match service {
            Some(_) => self.default_route(fqdn, service, view, proxy, t),
            None => {
                t.add(
                    "destination",
                    || fqdn.to_string(),
                    Verdict::Failed,
                    || "not a registry service: nothing to route to".into(),
                );
                self.unknown_host_in(view, scope, t)
            }
        }
    }

    pub(super) fn vs_names_service_port(&self, vs: &CompiledVs, port: u32, ns: &str) -> bool {
        vs.http.iter().flat_map(|r| r.route.route.iter()).any(|d| {
            d.destination
                .as_ref()
                .and_then(|d| d.host.as_deref())
                .map(|h| hosts::resolve_short_name(h, &vs.namespace, &self.options.domain_suffix))
                .and_then(|h| self.registry.lookup(&h, ns))
                .is_some_and(|s| s.port(port).is_some())
        })
    }

    pub(super) fn unknown_host(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        let ns = view.req.source.namespace.as_str();
        self.unknown_host_in(view, &Scope::whole_mesh(ns), t)
    }

    /// Where Envoy sends traffic no virtual host or listener takes: the
    /// outbound traffic policy of the caller's Sidecar when it sets one,
    /// else the mesh's (istio `pilot/pkg/networking/core/listener.go`,
    /// PassthroughCluster / BlackHoleCluster).
    pub(super) fn unknown_host_in(
        &self,
        view: &View<'_>,
        scope: &Scope<'_>,
        t: &mut Tracer,
    ) -> Decision<'_> {
        let (policy, decided_by) = match (scope.outbound_policy(), scope.sidecar) {
            (Some(p), Some(sc)) => (p, format!("Sidecar {}", sc.key)),
            _ => (
                self.options.outbound_policy,
                format!(
                    "meshConfig.outboundTrafficPolicy, {}",
                    self.options.origin_text()
                ),
            ),
        };
        match policy {
            OutboundPolicy::AllowAny => {
                let egress = scope
                    .sidecar
                    .filter(|_| scope.outbound_policy().is_some())
                    .and_then(|sc| sc.egress_proxy.as_ref());
                let mut d = Decision::new(Outcome::Passthrough);
                match egress {
                    // istio httproute.go / listener_builder.go: the egress
                    // proxy's cluster replaces PassthroughCluster.
                    Some(proxy) => {
                        let cluster =
                            self.cluster_name(&proxy.host, proxy.port, proxy.subset.as_deref());
                        t.add("default", || "outboundTrafficPolicy".into(), Verdict::Note, || {
                            format!("ALLOW_ANY ({decided_by}) with egressProxy: unknown hosts go to {cluster}")
                        });
                        d.destinations.to_mut().push(Destination {
                            host: Cow::Owned(proxy.host.clone()),
                            subset: proxy.subset.clone().map(Cow::Owned),
                            port: proxy.port,
                            weight: 100,
                            cluster,
                            policy: None,
                            problem: None,
                        });
                    }
                    None => t.add("default", || "outboundTrafficPolicy".into(), Verdict::Note, || {
                        format!("ALLOW_ANY ({decided_by}): unknown hosts pass through to the original destination")
                    }),
                }
                d
            }
            OutboundPolicy::RegistryOnly => {
                t.add("default", || "outboundTrafficPolicy".into(), Verdict::Note, || {
                    format!("REGISTRY_ONLY ({decided_by}): unknown hosts go to the BlackHoleCluster (HTTP 502, TCP closed)")
                });
                blackhole(view)
            }
        }
    }

    /// No VirtualService: straight to the service, no subset.
    pub(super) fn default_route<'m>(
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
            t.add(
                "default",
                || "retries".into(),
                Verdict::Note,
                || crate::decide::retries::describe_default(&self.default_retries, &self.options),
            );
        }
        t.add(
            "default",
            || "timeout".into(),
            Verdict::Note,
            || "no timeout (Istio disables Envoy's 15s default)".into(),
        );
        d
    }
}

#[cfg(test)]
mod tests {
    use crate::decide::{Mesh, Protocol, Request};
    use crate::load::load_str;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: known, namespace: default}
spec:
  ports: [{name: http, port: 80}, {name: http-alt, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: default}
spec: {type: ExternalName, externalName: known.default.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: shop}
spec:
  clusterIP: 10.0.0.7
  ports: [{name: tcp, port: 5432}, {name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: alias, namespace: default}
spec:
  hosts: [alias.default.svc.cluster.local]
  http:
  - route:
    - destination: {host: other.shop.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: known, namespace: default}
spec:
  hosts: [known.default.svc.cluster.local]
  http:
  - route:
    - destination: {host: known.default.svc.cluster.local}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: shop}
spec:
  hosts: ["*.example.com", "*.cluster.local"]
  http:
  - route:
    - destination: {host: other.shop.svc.cluster.local, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: shop, namespace: shop}
spec:
  egress:
  - hosts: ["./*", "default/known.default.svc.cluster.local"]
"#;

    /// The per-namespace cache answers exactly as resolving each request
    /// does: every name, port, caller and protocol of a mixed configuration
    /// (aliases, exact and wildcard VirtualService hosts, a Sidecar).
    #[test]
    fn the_host_cache_agrees_with_per_request_resolution() {
        let config = load_str(CONFIG, "cache.yaml");
        assert!(
            config.messages.iter().all(|m| !m.is_error()),
            "{:?}",
            config.messages
        );
        let cached = Mesh::compile(&config);
        let mut uncached = Mesh::compile(&config);
        uncached.namespace_caches.clear();
        let hosts = [
            "known",
            "known.default",
            "known.default.svc",
            "known.default.svc.cluster.local",
            "alias",
            "alias.default",
            "alias.default.svc.cluster.local",
            "other.shop",
            "other.shop.svc.cluster.local",
            "api.example.com",
            "x.example.com",
            "unknown.default.svc.cluster.local",
            "10.0.0.7",
        ];
        for host in hosts {
            for port in [80u16, 443, 5432, 8080] {
                for ns in ["default", "shop", "web"] {
                    for protocol in [Protocol::Http, Protocol::Tls, Protocol::Tcp] {
                        let mut r = Request::new(host);
                        r.port = Some(port);
                        r.source.namespace = ns.into();
                        r.protocol = protocol;
                        if protocol == Protocol::Tls {
                            r.sni = Some(host.into());
                        }
                        let a = cached.decide(&r).unwrap().to_json();
                        let b = uncached.decide(&r).unwrap().to_json();
                        assert_eq!(a, b, "{host}:{port} from {ns} over {protocol:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_pod_name_under_a_headless_service_reaches_the_service_over_http() {
        // istio httproute.go generateVirtualHostDomains: a Kubernetes Service
        // with Passthrough resolution (clusterIP None) adds `*.` domains.
        let config = load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  clusterIP: None\n  ports: [{name: http, port: 80}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\nspec:\n  ports: [{name: http, port: 80}]\n",
            "headless.yaml",
        );
        let mesh = Mesh::compile(&config);
        for host in [
            "web-0.web",
            "web-0.web.default",
            "web-0.web.default.svc.cluster.local",
        ] {
            let d = mesh.decide(&Request::new(host)).unwrap();
            assert_eq!(
                d.destinations().first().map(|x| x.cluster()),
                Some("outbound|80||web.default.svc.cluster.local"),
                "{host}"
            );
        }
        // A Service with a clusterIP has no such domains.
        let d = mesh.decide(&Request::new("api-0.api")).unwrap();
        assert_eq!(d.outcome(), crate::decide::Outcome::Passthrough);
    }
}
