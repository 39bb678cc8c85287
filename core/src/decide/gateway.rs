//! At a Gateway: the servers on the listener port, HTTPS redirects, the
//! virtual host the request's Host selects among the bound
//! VirtualServices, and TLS passthrough or TCP routes.

use super::compile::{CompiledHttpRoute, CompiledVs};
use super::decision::*;
use super::evaluate::Proxy;
use super::request::Protocol;
use super::request_view::View;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::{self, GatewayRef};
use crate::model::gateway::{Server, ServerTlsMode};
use crate::registry::PortProtocol;

impl Mesh {
    pub(super) fn at_gateway(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
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
}

fn strip_default_port(host: &str) -> &str {
    host.strip_suffix(":80").unwrap_or(host)
}
