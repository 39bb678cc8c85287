//! At a sidecar: the host a caller means (the pod's DNS search path), the
//! VirtualService that claims it for the caller's namespace, and what
//! happens without one (default route, outbound traffic policy).

use super::compile::{CompiledHttpRoute, CompiledVs};
use super::decision::*;
use super::evaluate::Proxy;
use super::request::Protocol;
use super::request_view::View;
use super::trace::Tracer;
use super::{Mesh, OutboundPolicy};
use crate::hosts::{self, GatewayRef};
use crate::registry::Service;
use std::borrow::Cow;

impl Mesh {
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
    pub(super) fn mesh_vs_for(&self, host: &str, namespace: &str) -> Option<&CompiledVs> {
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

    pub(super) fn at_sidecar(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
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
        match self.options.outbound_policy {
            OutboundPolicy::AllowAny => {
                t.add(
                    "default",
                    || "outboundTrafficPolicy".into(),
                    Verdict::Note,
                    || {
                        format!(
                            "ALLOW_ANY (meshConfig.outboundTrafficPolicy, {}): unknown hosts pass through to the original destination",
                            self.options.origin_text()
                        )
                    },
                );
                Decision::new(Outcome::Passthrough)
            }
            OutboundPolicy::RegistryOnly => {
                t.add("default", || "outboundTrafficPolicy".into(), Verdict::Note, || {
                    format!(
                        "REGISTRY_ONLY (meshConfig.outboundTrafficPolicy, {}): unknown hosts go to the BlackHoleCluster (HTTP 502, TCP closed)",
                        self.options.origin_text()
                    )
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
