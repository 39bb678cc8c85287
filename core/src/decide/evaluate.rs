//! Evaluating routes: the normalized path, which proxy decides (sidecar or
//! gateway), and the first HTTP rule or TLS/TCP rule whose match holds.

use super::compile::{CompiledHttpRoute, CompiledL4Route, CompiledVs};
use super::decision::*;
use super::request::{Protocol, Request};
use super::request_view::{path_end, plain_path_end, View};
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::GatewayRef;
use crate::matching::{Connection, HttpRouteMatch};
use std::borrow::Cow;

/// Where a request is being decided: a sidecar in a namespace, or a gateway.
pub(crate) struct Proxy<'a, 'm> {
    pub(super) gateway: GatewayRef,
    /// Config namespace of the proxy (caller namespace; for a gateway the Gateway's namespace).
    pub(super) namespace: &'a str,
    pub(super) labels: Option<&'a std::collections::BTreeMap<String, String>>,
    /// Listener port (service port at a sidecar, server port at a gateway).
    pub(super) listener_port: u32,
    /// What the proxy's namespace resolves once and keeps (a sidecar's
    /// default scope; `None` otherwise).
    pub(super) cache: Option<&'m super::NamespaceCache>,
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
    pub(super) fn run_normalized(&self, req: &Request, trace: bool) -> Decision<'_> {
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
    pub(super) fn run_view(&self, req: &Request, path_end: usize, trace: bool) -> Decision<'_> {
        let view = View::with_path_end(req, path_end);
        if trace {
            let mut t = Tracer::new(true);
            let mut d = self.at_proxy(&view, &mut t);
            d.trace = t.into_entries();
            return d;
        }
        self.at_proxy(&view, &mut Tracer::new(false))
    }

    pub(super) fn at_proxy(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        if view.req.gateway == "mesh" || view.req.gateway.is_empty() {
            self.at_sidecar(view, t)
        } else {
            self.at_gateway(view, t)
        }
    }

    pub(super) fn eval_http<'m>(
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
    pub(super) fn eval_http_indexed<'m>(
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

    pub(super) fn eval_l4<'m>(
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
            return Some(self.l4_route_decision(vs, route, proxy, t));
        }
        None
    }

    /// The decision of a TCP/TLS rule that holds: its weighted destinations
    /// (Envoy's tcp_proxy forwards by them, no further match). Sidecars and
    /// gateway filter chains both end here.
    pub(super) fn l4_route_decision<'m>(
        &'m self,
        vs: &'m CompiledVs,
        route: &'m CompiledL4Route,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
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
                    proxy,
                    t,
                ));
            }
        }
        d
    }
}
