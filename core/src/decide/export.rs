//! Decisions for config exporters.

use super::compile::CompiledHttpRoute;
use super::decision::*;
use super::evaluate::Proxy;
use super::request::Request;
use super::request_view::View;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::GatewayRef;

impl Mesh {
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
}
