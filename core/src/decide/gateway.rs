//! At a gateway: the Gateways merged onto the gateway workload, their
//! listener ports (translated through the gateway Service's `targetPort`),
//! the filter chain a connection takes (SNI), HTTPS redirects, the virtual
//! host the request's Host selects among the bound VirtualServices, and
//! TLS passthrough, TLS termination or TCP routes.
//!
//! The request names the gateway in one of two ways (spec/gateways.md):
//! `namespace/name` enters by that one Gateway resource; `namespace/k=v[,k=v]`
//! (optionally `@address`) enters the gateway pod with those labels in that
//! namespace, which receives every Gateway whose selector its labels satisfy,
//! merged as istiod merges them (istio `pilot/pkg/model/gateway.go`,
//! `mergeGateways`; listeners and routes in
//! `pilot/pkg/networking/core/gateway.go`).

use super::compile::{CompiledHttpRoute, CompiledL4Route, CompiledVs};
use super::decision::*;
use super::evaluate::Proxy;
use super::request::Protocol;
use super::request_view::View;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::{self, GatewayRef};
use crate::model::gateway::{Server, ServerTlsMode};
use crate::model::Config;
use crate::registry::labels_match;
use std::collections::BTreeMap;

/// Label on a Service that keeps legacy (selector) Gateways from
/// translating their ports through it (istio `pilot/pkg/model/gateway.go`,
/// `DisableGatewayPortTranslationLabel`).
pub const DISABLE_PORT_TRANSLATION_LABEL: &str =
    "experimental.istio.io/disable-gateway-port-translation";

/// Annotation by which a Gateway names the Services whose pods it applies
/// to instead of a selector (istio `InternalGatewayServiceAnnotation`).
pub const GATEWAY_SERVICE_ANNOTATION: &str = "internal.istio.io/gateway-service";

/// Annotation naming the Gateway API parents of a generated resource; a
/// VirtualService from a `TLSRoute` has its `tls` rules applied to
/// terminating TLS servers too (istio `constants.InternalParentNames`).
pub const PARENT_NAMES_ANNOTATION: &str = "internal.istio.io/parent-names";

/// A Gateway resource as a route table needs it.
#[derive(Debug)]
pub(crate) struct CompiledGateway {
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub servers: Vec<Server>,
    /// The workload selector; `None` selects every gateway workload.
    pub selector: Option<BTreeMap<String, String>>,
    /// Service hosts from [`GATEWAY_SERVICE_ANNOTATION`], when set.
    pub service_hosts: Option<Vec<String>>,
}

/// A Service or ServiceEntry that may front gateway pods: its ports and
/// how its endpoints are chosen.
#[derive(Debug)]
struct FrontService {
    hostname: String,
    namespace: String,
    translation_disabled: bool,
    /// (service port, target port).
    ports: Vec<(u32, u32)>,
    /// A Kubernetes Service's selector, or a ServiceEntry's workloadSelector.
    selector: Option<BTreeMap<String, String>>,
    /// ServiceEntry endpoints: address and labels.
    endpoints: Vec<(String, BTreeMap<String, String>)>,
}

/// The Gateways of a configuration in Istio's order (creation time, name,
/// namespace) and the Services that may front gateway pods.
#[derive(Debug, Default)]
pub(crate) struct GatewayTable {
    gateways: Vec<CompiledGateway>,
    services: Vec<FrontService>,
    /// By Gateway index: the merge a request naming that Gateway sees,
    /// built once.
    named: Vec<MergedGateway>,
    /// ServiceEntry hosts outside the mesh (`MESH_EXTERNAL`, the default):
    /// `AUTO_PASSTHROUGH` never forwards to them.
    external_hosts: Vec<String>,
}

impl GatewayTable {
    pub fn build(config: &Config, domain: &str) -> GatewayTable {
        let mut list: Vec<_> = config.gateways.iter().collect();
        list.sort_by(|a, b| crate::destination_rules::resource_order(a, b));
        let gateways = list
            .into_iter()
            .map(|g| CompiledGateway {
                key: g.key(),
                namespace: g.namespace().to_string(),
                name: g.name().to_string(),
                servers: g.spec.servers.clone(),
                selector: (!g.spec.selector.is_empty()).then(|| g.spec.selector.clone()),
                service_hosts: g
                    .metadata
                    .annotations
                    .get(GATEWAY_SERVICE_ANNOTATION)
                    .map(|v| v.split(',').map(|s| s.trim().to_string()).collect()),
            })
            .collect();
        let mut services = Vec::new();
        for svc in &config.services {
            let ns = svc.namespace();
            services.push(FrontService {
                hostname: format!("{}.{}.svc.{}", svc.name(), ns, domain).to_ascii_lowercase(),
                namespace: ns.to_string(),
                translation_disabled: svc
                    .metadata
                    .labels
                    .contains_key(DISABLE_PORT_TRANSLATION_LABEL),
                ports: svc
                    .spec
                    .ports
                    .iter()
                    .map(|p| {
                        let target = match &p.target_port {
                            Some(crate::model::kube::IntOrString::Int(n)) => {
                                u32::try_from(*n).unwrap_or(p.port)
                            }
                            _ => p.port,
                        };
                        (p.port, target)
                    })
                    .collect(),
                selector: (!svc.spec.selector.is_empty()).then(|| svc.spec.selector.clone()),
                endpoints: Vec::new(),
            });
        }
        for se in &config.service_entries {
            let ns = se.namespace();
            let ports: Vec<(u32, u32)> = se
                .spec
                .ports
                .iter()
                .filter_map(|p| p.number.map(|n| (n, p.target_port.unwrap_or(n))))
                .collect();
            let endpoints: Vec<(String, BTreeMap<String, String>)> = se
                .spec
                .endpoints
                .iter()
                .map(|e| (e.address.clone().unwrap_or_default(), e.labels.clone()))
                .collect();
            for host in &se.spec.hosts {
                services.push(FrontService {
                    hostname: host.to_ascii_lowercase(),
                    namespace: ns.to_string(),
                    translation_disabled: se
                        .metadata
                        .labels
                        .contains_key(DISABLE_PORT_TRANSLATION_LABEL),
                    ports: ports.clone(),
                    selector: se
                        .spec
                        .workload_selector
                        .as_ref()
                        .filter(|s| !s.labels.is_empty())
                        .map(|s| s.labels.clone()),
                    endpoints: endpoints.clone(),
                });
            }
        }
        let external_hosts = config
            .service_entries
            .iter()
            .filter(|se| {
                se.spec.location.unwrap_or_default()
                    != crate::model::service_entry::Location::MeshInternal
            })
            .flat_map(|se| se.spec.hosts.iter().map(|h| h.to_ascii_lowercase()))
            .collect();
        let mut table = GatewayTable {
            gateways,
            services,
            named: Vec::new(),
            external_hosts,
        };
        table.named = (0..table.gateways.len())
            .map(|i| table.merge_named(i))
            .collect();
        table
    }

    /// The Gateways, in Istio's order.
    pub fn gateways(&self) -> &[CompiledGateway] {
        &self.gateways
    }
}

/// The gateway a request enters by, parsed from `Request::gateway`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GatewayEntry {
    /// `namespace/name`: one Gateway resource.
    Named(String),
    /// `namespace/k=v,...[@address]`: the gateway pod with these labels.
    Workload {
        namespace: String,
        labels: BTreeMap<String, String>,
        address: Option<String>,
    },
}

impl GatewayEntry {
    /// Parses `namespace/name` or `namespace/k=v[,k=v][@address]`.
    pub fn parse(written: &str) -> Result<GatewayEntry, String> {
        let Some((namespace, rest)) = written.split_once('/') else {
            return Ok(GatewayEntry::Named(written.to_string()));
        };
        if !rest.contains('=') {
            return Ok(GatewayEntry::Named(written.to_string()));
        }
        let (selector, address) = match rest.split_once('@') {
            Some((s, a)) => (s, Some(a.to_string())),
            None => (rest, None),
        };
        let mut labels = BTreeMap::new();
        for pair in selector.split(',') {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(format!(
                    "gateway {written:?}: label {pair:?} is not key=value (write namespace/key=value[,key=value][@address])"
                ));
            };
            labels.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(GatewayEntry::Workload {
            namespace: namespace.to_string(),
            labels,
            address,
        })
    }
}

/// The gateway pod a request reaches: its config namespace, labels, address.
struct Pod<'a> {
    namespace: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    address: Option<&'a str>,
}

/// A server of the merged gateway: which Gateway and server, its hosts with `./` and `*/` resolved.
#[derive(Debug, Clone)]
pub(crate) struct MergedServer {
    pub gateway: usize,
    pub server: usize,
    pub hosts: Vec<String>,
}

/// Servers sharing a listener port and protocol class.
#[derive(Debug, Clone)]
pub(crate) struct MergedPort {
    pub port: u32,
    /// Protocol of the first server, upper-cased.
    pub protocol: String,
    pub servers: Vec<MergedServer>,
}

/// The merged gateway of one pod, with what merging left out and why.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergedGateway {
    /// Indexes of the Gateways applied, in order.
    pub applied: Vec<usize>,
    pub ports: Vec<MergedPort>,
    /// (Gateway index, server index, why the server was left out).
    pub rejected: Vec<(usize, usize, String)>,
    /// Servers whose port translates: (Gateway index, server index,
    /// server port, listener port).
    pub translated: Vec<(usize, usize, u32, u32)>,
}

/// The protocol classes istiod distinguishes on a gateway port.
pub(crate) fn is_http_protocol(p: &str) -> bool {
    matches!(p, "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" | "HTTP_PROXY")
}

fn protocol_of(s: &Server) -> String {
    s.port
        .as_ref()
        .and_then(|p| p.protocol.as_deref())
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn port_of(s: &Server) -> Option<u32> {
    s.port.as_ref().and_then(|p| p.number)
}

fn is_passthrough(s: &Server) -> bool {
    s.tls.as_ref().is_some_and(|t| {
        matches!(
            t.mode.unwrap_or_default(),
            ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
        )
    })
}

/// istio `pkg/config/gateway`: `IsTLSServer`.
fn is_tls_server(s: &Server) -> bool {
    s.tls.is_some() && !is_http_protocol(&protocol_of(s))
}

/// istio `IsHTTPServer`: HTTP, or HTTPS terminated here.
fn is_http_server(s: &Server) -> bool {
    let p = protocol_of(s);
    is_http_protocol(&p) || (p == "HTTPS" && !is_passthrough(s))
}

fn redirects(s: &Server) -> bool {
    s.tls
        .as_ref()
        .and_then(|t| t.https_redirect)
        .unwrap_or(false)
}

/// `./h` to `ns/h`, `*/h` to `h`, `*/*` to `*` (istio
/// `sanitizeServerHostNamespace`).
fn sanitize_hosts(hosts: &[String], namespace: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(hosts.len());
    for h in hosts {
        match h.split_once('/') {
            Some((".", rest)) => out.push(format!("{namespace}/{rest}")),
            Some(("*", "*")) => return vec!["*".to_string()],
            Some(("*", rest)) => out.push(rest.to_string()),
            _ => out.push(h.clone()),
        }
    }
    out
}

/// A server's SNI names: its hosts without namespace parts.
fn sni_names(hosts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = hosts
        .iter()
        .map(|h| {
            h.split_once('/')
                .map_or(h.as_str(), |(_, d)| d)
                .to_ascii_lowercase()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl GatewayTable {
    /// The services whose endpoints include `pod` (istio `proxy.ServiceTargets`).
    fn pod_services(&self, pod: &Pod<'_>) -> Vec<&FrontService> {
        self.services
            .iter()
            .filter(|s| {
                let same_ns = pod.namespace.is_none_or(|ns| ns == s.namespace);
                let by_selector = s
                    .selector
                    .as_ref()
                    .is_some_and(|sel| same_ns && labels_match(sel, pod.labels));
                let by_endpoint = s.endpoints.iter().any(|(addr, labels)| {
                    pod.address == Some(addr.as_str())
                        || (pod.address.is_none()
                            && same_ns
                            && !labels.is_empty()
                            && labels_match(labels, pod.labels))
                });
                by_selector || by_endpoint
            })
            .collect()
    }

    /// Merges the Gateways that apply to `entry` (istio `mergeGateways`).
    /// The merge a request sees: for a named Gateway the one built at
    /// compile time, for a gateway pod the Gateways its labels select,
    /// merged now. With the proxy's config namespace.
    pub fn merge(
        &self,
        entry: &GatewayEntry,
    ) -> Result<(std::borrow::Cow<'_, MergedGateway>, String), String> {
        match entry {
            GatewayEntry::Named(key) => {
                let Some(i) = self.gateways.iter().position(|g| &g.key == key) else {
                    return Err("no such Gateway".into());
                };
                Ok((
                    std::borrow::Cow::Borrowed(&self.named[i]),
                    self.gateways[i].namespace.clone(),
                ))
            }
            GatewayEntry::Workload {
                namespace,
                labels,
                address,
            } => {
                let pod = Pod {
                    namespace: Some(namespace),
                    labels,
                    address: address.as_deref(),
                };
                let applied = self
                    .gateways
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| {
                        g.service_hosts.is_some()
                            || g.selector.as_ref().is_none_or(|s| labels_match(s, labels))
                    })
                    .map(|(i, _)| i)
                    .collect();
                Ok((
                    std::borrow::Cow::Owned(self.merge_pod(&pod, applied, false)),
                    namespace.clone(),
                ))
            }
        }
    }

    /// Gateway `i` alone, on pods carrying exactly its selector's labels.
    fn merge_named(&self, i: usize) -> MergedGateway {
        let empty = BTreeMap::new();
        let pod = Pod {
            namespace: None,
            labels: self.gateways[i].selector.as_ref().unwrap_or(&empty),
            address: None,
        };
        self.merge_pod(&pod, vec![i], true)
    }

    /// The merge on gateway pods with `labels` in any namespace, for the
    /// analyzers: every Gateway whose selector the labels satisfy.
    pub fn merge_selected(&self, labels: &BTreeMap<String, String>) -> MergedGateway {
        let pod = Pod {
            namespace: None,
            labels,
            address: None,
        };
        let applied = self
            .gateways
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                g.service_hosts.is_none()
                    && g.selector.as_ref().is_none_or(|s| labels_match(s, labels))
            })
            .map(|(i, _)| i)
            .collect();
        self.merge_pod(&pod, applied, false)
    }

    /// istio `mergeGateways` over the Gateways `applied` to `pod`; `named`:
    /// the request named one Gateway, whose Services are taken to front it.
    fn merge_pod(&self, pod: &Pod<'_>, applied: Vec<usize>, named: bool) -> MergedGateway {
        let services = self.pod_services(pod);
        let mut merged = MergedGateway::default();
        // port -> (host, bind) already served with TLS (istio `CheckDuplicates`).
        let mut tls_hosts: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
        for gi in applied {
            let g = &self.gateways[gi];
            // (services fronting the pod for this Gateway, legacy selector mode)
            let (targets, legacy): (Vec<&FrontService>, bool) = match &g.service_hosts {
                Some(list) => {
                    let candidates: Vec<&FrontService> = if named {
                        self.services.iter().collect()
                    } else {
                        services.clone()
                    };
                    let t: Vec<&FrontService> = candidates
                        .into_iter()
                        .filter(|s| s.namespace == g.namespace && list.contains(&s.hostname))
                        .collect();
                    if t.is_empty() {
                        continue;
                    }
                    (t, false)
                }
                None => (services.clone(), true),
            };
            merged.applied.push(gi);
            for (si, s) in g.servers.iter().enumerate() {
                let Some(number) = port_of(s) else {
                    continue;
                };
                let hosts = sanitize_hosts(&s.hosts, &g.namespace);
                let bind = s.bind.clone().unwrap_or_default();
                for listen_port in resolve_ports(number, &targets, legacy) {
                    if listen_port != number {
                        merged.translated.push((gi, si, number, listen_port));
                    }
                    if s.tls.is_some() {
                        let known = tls_hosts.entry(listen_port).or_default();
                        let duplicates: Vec<&String> = hosts
                            .iter()
                            .filter(|h| known.iter().any(|(k, b)| k == *h && *b == bind))
                            .collect();
                        if !duplicates.is_empty() {
                            merged.rejected.push((
                                gi,
                                si,
                                format!(
                                    "left out: host {} is already served with TLS on port {listen_port} by an earlier server",
                                    duplicates[0]
                                ),
                            ));
                            continue;
                        }
                        known.extend(hosts.iter().map(|h| (h.clone(), bind.clone())));
                    }
                    let protocol = protocol_of(s);
                    let ms = MergedServer {
                        gateway: gi,
                        server: si,
                        hosts: hosts.clone(),
                    };
                    if !merged.ports.iter().any(|p| p.port == listen_port) {
                        merged.ports.push(MergedPort {
                            port: listen_port,
                            protocol,
                            servers: vec![ms],
                        });
                        continue;
                    }
                    let plaintext = merged.ports.iter().position(|p| {
                        p.port == listen_port && !p.servers.iter().all(|x| self.server_tls(x))
                    });
                    if let Some(pi) = plaintext {
                        let current = merged.ports[pi].protocol.clone();
                        // istio `canMergeProtocols`.
                        let mergeable = (is_http_protocol(&current) || current == protocol)
                            && is_http_protocol(&protocol);
                        if !mergeable {
                            merged.rejected.push((
                                gi,
                                si,
                                format!(
                                    "left out: port {listen_port} already serves {current} from an earlier server; {protocol} cannot share it"
                                ),
                            ));
                            continue;
                        }
                        merged.ports[pi].servers.push(ms);
                        continue;
                    }
                    if !is_tls_server(s) {
                        merged.ports.push(MergedPort {
                            port: listen_port,
                            protocol,
                            servers: vec![ms],
                        });
                        continue;
                    }
                    match merged
                        .ports
                        .iter_mut()
                        .find(|p| p.port == listen_port && p.protocol == protocol)
                    {
                        Some(p) => p.servers.push(ms),
                        None => merged.ports.push(MergedPort {
                            port: listen_port,
                            protocol,
                            servers: vec![ms],
                        }),
                    }
                }
            }
        }
        merged
    }

    /// Whether a merged server is a TLS server (not plaintext).
    fn server_tls(&self, m: &MergedServer) -> bool {
        is_tls_server(self.server(m))
    }

    pub fn server(&self, m: &MergedServer) -> &Server {
        &self.gateways[m.gateway].servers[m.server]
    }
}

/// istio `resolvePorts`: the ports a Gateway server port listens on.
fn resolve_ports(number: u32, targets: &[&FrontService], legacy: bool) -> Vec<u32> {
    let mut out = Vec::new();
    for s in targets {
        if s.translation_disabled && legacy {
            continue;
        }
        for (port, target) in &s.ports {
            if *port == number {
                if legacy {
                    return vec![*target];
                }
                if !out.contains(target) {
                    out.push(*target);
                }
            }
        }
    }
    if out.is_empty() && legacy {
        out.push(number);
    }
    out
}

/// A filter chain of the gateway listener.
pub(super) enum Chain<'m> {
    /// Plaintext HTTP: one route table over these servers.
    Http(Vec<&'m MergedServer>),
    /// HTTPS terminated here: one route table for the server.
    Https(&'m MergedServer),
    /// A TCP proxy (opaque TCP, TLS terminated, or TLS passed through).
    L4 {
        server: &'m MergedServer,
        vs: usize,
        route: usize,
        tls_list: bool,
    },
    /// `AUTO_PASSTHROUGH`: the SNI names the cluster itself.
    Auto {
        server: &'m MergedServer,
        cluster: AutoCluster,
    },
}

/// The cluster an `AUTO_PASSTHROUGH` SNI names:
/// `outbound_.PORT_.SUBSET_.HOST` (istio `BuildDNSSrvSubsetKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AutoCluster {
    port: u32,
    subset: Option<String>,
    host: String,
}

impl AutoCluster {
    fn parse(sni: &str) -> Option<AutoCluster> {
        let rest = sni.strip_prefix("outbound_.")?;
        let (port, rest) = rest.split_once("_.")?;
        let (subset, host) = rest.split_once("_.")?;
        Some(AutoCluster {
            port: port.parse().ok()?,
            subset: (!subset.is_empty()).then(|| subset.to_string()),
            host: host.to_string(),
        })
    }
}

pub(super) struct FilterChain<'m> {
    /// SNI names (`None`: any).
    pub sni: Option<Vec<String>>,
    pub chain: Chain<'m>,
}

impl Mesh {
    pub(super) fn gateway_ref(&self, gi: usize) -> GatewayRef {
        let g = &self.gateways.gateways()[gi];
        GatewayRef::Gateway {
            namespace: g.namespace.clone(),
            name: g.name.clone(),
        }
    }

    /// VirtualServices bound to Gateway `gi`, visible in the proxy's namespace.
    fn bound_vs(&self, gi: usize, proxy_ns: &str) -> Vec<usize> {
        let gref = self.gateway_ref(gi);
        self.vs
            .iter()
            .enumerate()
            .filter(|(_, vs)| vs.bound_to(&gref) && vs.visibility.visible_in(proxy_ns))
            .map(|(i, _)| i)
            .collect()
    }

    /// istio `pickMatchingGatewayHosts`: whether a VirtualService host
    /// matches a server host admitted for its namespace.
    fn vs_matches_server(vs: &CompiledVs, hosts: &[String]) -> bool {
        vs.hosts.iter().any(|vh| {
            hosts.iter().any(|h| {
                let name = match h.split_once('/') {
                    Some((ns, name)) if ns == &*vs.namespace => name,
                    Some(_) => return false,
                    None => h.as_str(),
                };
                hosts::matches(&name.to_ascii_lowercase(), vh)
            })
        })
    }

    /// The filter chains of listener `port` (istio `buildGatewayTCPBasedFilterChains`).
    pub(super) fn chains<'c>(
        &self,
        merged: &'c MergedGateway,
        port: u32,
        proxy_ns: &str,
        sni: Option<&str>,
    ) -> Vec<FilterChain<'c>> {
        let table = &self.gateways;
        let mut out = Vec::new();
        let mut sni_known: Vec<String> = Vec::new();
        for mp in merged.ports.iter().filter(|p| p.port == port) {
            if is_http_protocol(&mp.protocol) {
                out.push(FilterChain {
                    sni: None,
                    chain: Chain::Http(mp.servers.iter().collect()),
                });
                continue;
            }
            for ms in &mp.servers {
                let s = table.server(ms);
                let names = sni_names(&ms.hosts);
                let server_sni = if names.iter().any(|n| n == "*") {
                    None
                } else {
                    Some(names)
                };
                let server_port = port_of(s).unwrap_or(0);
                if is_http_server(s) {
                    out.push(FilterChain {
                        sni: server_sni,
                        chain: Chain::Https(ms),
                    });
                    continue;
                }
                let l4_holds = |m: &crate::matching::L4RouteMatch| {
                    m.port.port.is_none_or(|p| p == server_port)
                        && m.gateways.holds(&self.gateway_ref(ms.gateway))
                };
                let vss = self.bound_vs(ms.gateway, proxy_ns);
                if s.tls.is_none() || !is_passthrough(s) {
                    // TCP, or TLS terminated here: the first tcp rule that applies
                    // (then, for TLSRoute-made VirtualServices, a tls rule).
                    let mut found = None;
                    'vs: for &vi in &vss {
                        let vs = &self.vs[vi];
                        if !Self::vs_matches_server(vs, &ms.hosts) {
                            continue;
                        }
                        for (ri, r) in vs.tcp.iter().enumerate() {
                            if (r.matches.is_empty() || r.matches.iter().any(l4_holds))
                                && !r.destinations.is_empty()
                            {
                                found = Some((vi, ri, false));
                                break 'vs;
                            }
                        }
                        if vs.from_tls_route && s.tls.is_some() {
                            for (ri, r) in vs.tls.iter().enumerate() {
                                if r.matches.iter().any(l4_holds) {
                                    found = Some((vi, ri, true));
                                    break 'vs;
                                }
                            }
                        }
                    }
                    if let Some((vs, route, tls_list)) = found {
                        out.push(FilterChain {
                            sni: if s.tls.is_some() { server_sni } else { None },
                            chain: Chain::L4 {
                                server: ms,
                                vs,
                                route,
                                tls_list,
                            },
                        });
                    }
                    continue;
                }
                if s.tls.as_ref().and_then(|t| t.mode) == Some(ServerTlsMode::AutoPassthrough) {
                    // One chain per cluster of a mesh service under the server's
                    // hosts (istio `builtAutoPassthroughFilterChains`); only the one
                    // the request's SNI names can match, so only it is built.
                    if let Some(c) = sni.and_then(|n| self.auto_cluster(n, &ms.hosts)) {
                        out.push(FilterChain {
                            sni: sni.map(|n| vec![n.to_string()]),
                            chain: Chain::Auto {
                                server: ms,
                                cluster: c,
                            },
                        });
                    }
                    continue;
                }
                // Passthrough: one chain per tls match, SNI from the match.
                for &vi in &vss {
                    let vs = &self.vs[vi];
                    if !Self::vs_matches_server(vs, &ms.hosts) {
                        continue;
                    }
                    for (ri, r) in vs.tls.iter().enumerate() {
                        if r.destinations.is_empty() {
                            continue;
                        }
                        for m in r.matches.iter().filter(|m| l4_holds(m)) {
                            if m.sni_hosts.iter().any(|h| sni_known.contains(h)) {
                                continue;
                            }
                            sni_known.extend(m.sni_hosts.iter().cloned());
                            out.push(FilterChain {
                                sni: (!m.sni_hosts.is_empty()).then(|| m.sni_hosts.clone()),
                                chain: Chain::L4 {
                                    server: ms,
                                    vs: vi,
                                    route: ri,
                                    tls_list: true,
                                },
                            });
                        }
                    }
                }
            }
        }
        out
    }

    pub(super) fn at_gateway(&self, view: &View<'_>, t: &mut Tracer) -> Decision<'_> {
        let req = view.req;
        let entry = match GatewayEntry::parse(&req.gateway) {
            Ok(e) => e,
            Err(why) => {
                t.add("gateway", || req.gateway.clone(), Verdict::Failed, || why);
                return Decision::new(Outcome::NotFound);
            }
        };
        let (merged, proxy_ns) = match self.gateways.merge(&entry) {
            Ok(m) => m,
            Err(why) => {
                t.add("gateway", || req.gateway.clone(), Verdict::Failed, || why);
                return Decision::new(Outcome::NotFound);
            }
        };
        if t.on {
            let gws = self.gateways.gateways();
            let names: Vec<&str> = merged
                .applied
                .iter()
                .map(|&i| gws[i].key.as_str())
                .collect();
            t.add(
                "gateway",
                || req.gateway.clone(),
                Verdict::Note,
                || {
                    if names.is_empty() {
                        "no Gateway applies to this gateway workload".into()
                    } else {
                        format!("Gateways merged, in order: {}", names.join(", "))
                    }
                },
            );
            for (gi, si, why) in &merged.rejected {
                t.add(
                    "gateway",
                    || format!("{} servers[{si}]", gws[*gi].key),
                    Verdict::Note,
                    || why.clone(),
                );
            }
            for (gi, si, from, to) in &merged.translated {
                t.add(
                    "gateway",
                    || format!("{} servers[{si}]", gws[*gi].key),
                    Verdict::Note,
                    || {
                        format!(
                            "server port {from} listens on {to} (the gateway Service's targetPort)"
                        )
                    },
                );
            }
        }
        let tls = view.scheme.eq_ignore_ascii_case("https") || req.protocol == Protocol::Tls;
        let sni: Option<String> = req
            .sni
            .as_deref()
            .map(|s| s.to_ascii_lowercase())
            .or_else(|| tls.then(|| view.host.to_string()));
        if !merged.ports.iter().any(|p| p.port == view.port) {
            t.add(
                "gateway",
                || req.gateway.clone(),
                Verdict::Failed,
                || {
                    let moved: Vec<String> = merged
                        .translated
                        .iter()
                        .filter(|(_, _, from, _)| *from == view.port)
                        .map(|(_, _, _, to)| to.to_string())
                        .collect();
                    if moved.is_empty() {
                        format!("no listener on port {}", view.port)
                    } else {
                        format!(
                            "no listener on port {}: servers on that port listen on {} (the gateway Service's targetPort); the request's port is the listener's",
                            view.port,
                            moved.join(", ")
                        )
                    }
                },
            );
            return Decision::new(Outcome::NotFound);
        }
        let chains = self.chains(&merged, view.port, &proxy_ns, sni.as_deref());
        if chains.is_empty() {
            t.add(
                "gateway",
                || req.gateway.clone(),
                Verdict::Failed,
                || {
                    format!(
                        "no listener on port {}: its servers have no TCP or TLS route to forward to",
                        view.port
                    )
                },
            );
            return Decision::new(Outcome::NotFound);
        }
        let chosen = match select_chain(&chains, sni.as_deref()) {
            Ok(i) => &chains[i],
            Err(n) => {
                t.add(
                    "gateway",
                    || format!("listener {}", view.port),
                    Verdict::Failed,
                    || {
                        if n == 0 {
                            format!(
                                "no filter chain matches SNI {:?}: the connection is closed",
                                sni.as_deref().unwrap_or("")
                            )
                        } else {
                            format!(
                                "{n} filter chains match SNI {:?}: Envoy rejects such a listener (istio/istio#24638)",
                                sni.as_deref().unwrap_or("")
                            )
                        }
                    },
                );
                return Decision::new(Outcome::NotFound);
            }
        };
        let tls_server = match &chosen.chain {
            Chain::Http(_) => None,
            Chain::Https(server) | Chain::L4 { server, .. } | Chain::Auto { server, .. } => {
                Some(*server)
            }
        }
        .filter(|m| self.gateways.server(m).tls.is_some());
        if let (Some(server), false) = (tls_server, tls) {
            t.add(
                "gateway",
                || self.gateways.gateways()[server.gateway].key.clone(),
                Verdict::Failed,
                || {
                    format!(
                        "the filter chain on port {} expects TLS and the request is plaintext: the handshake fails",
                        view.port
                    )
                },
            );
            return Decision::new(Outcome::NotFound);
        }
        match &chosen.chain {
            Chain::Http(servers) => self.gateway_http(servers, false, tls, view, &proxy_ns, t),
            Chain::Https(server) => {
                self.gateway_http(std::slice::from_ref(server), true, tls, view, &proxy_ns, t)
            }
            Chain::L4 {
                server,
                vs,
                route,
                tls_list,
            } => {
                let vs = &self.vs[*vs];
                let routes: &[CompiledL4Route] = if *tls_list { &vs.tls } else { &vs.tcp };
                let s = self.gateways.server(server);
                let gref = self.gateway_ref(server.gateway);
                t.add(
                    "gateway",
                    || self.gateways.gateways()[server.gateway].key.clone(),
                    Verdict::Matched,
                    || {
                        let how = if s.tls.is_none() {
                            "opaque TCP"
                        } else if is_passthrough(s) {
                            "TLS passthrough by SNI"
                        } else {
                            "TLS terminated here, then TCP"
                        };
                        format!(
                            "filter chain on port {} ({how}) forwards by {} {}[{route}]",
                            view.port,
                            vs.key,
                            if *tls_list { "tls" } else { "tcp" }
                        )
                    },
                );
                let proxy = Proxy {
                    gateway: gref,
                    namespace: &proxy_ns,
                    labels: None,
                    listener_port: port_of(s).unwrap_or(view.port),
                    cache: None,
                };
                self.l4_route_decision(vs, &routes[*route], &proxy, t)
            }
            Chain::Auto { server, cluster } => {
                let s = self.gateways.server(server);
                t.add(
                    "gateway",
                    || self.gateways.gateways()[server.gateway].key.clone(),
                    Verdict::Matched,
                    || {
                        format!(
                            "AUTO_PASSTHROUGH on port {}: the SNI names cluster outbound|{}|{}|{}; no VirtualService applies",
                            view.port,
                            cluster.port,
                            cluster.subset.as_deref().unwrap_or(""),
                            cluster.host
                        )
                    },
                );
                let proxy = Proxy {
                    gateway: self.gateway_ref(server.gateway),
                    namespace: &proxy_ns,
                    labels: None,
                    listener_port: port_of(s).unwrap_or(view.port),
                    cache: None,
                };
                let spec = crate::model::common::Destination {
                    host: Some(cluster.host.clone()),
                    subset: cluster.subset.clone(),
                    port: Some(crate::model::common::PortSelector {
                        number: Some(cluster.port),
                    }),
                };
                let mut d = Decision::new(Outcome::Route);
                let dest = self.route_destination(&spec, &proxy_ns, 100, &proxy, t);
                d.destinations.to_mut().push(dest);
                d
            }
        }
    }

    /// The cluster an `AUTO_PASSTHROUGH` SNI names, when Istio builds a
    /// chain for it: a mesh service (not `MESH_EXTERNAL`) under one of the
    /// server's hosts, with that port (and DestinationRule subset).
    fn auto_cluster(&self, sni: &str, server_hosts: &[String]) -> Option<AutoCluster> {
        let c = AutoCluster::parse(sni)?;
        let known = self.clusters.get(c.host.as_str()).is_some_and(|list| {
            list.iter().any(|(port, subset, _)| {
                *port == c.port && subset.as_deref() == c.subset.as_deref()
            })
        });
        let external = self.gateways.external_hosts.contains(&c.host);
        let covered = sni_names(server_hosts)
            .iter()
            .any(|h| h == "*" || hosts::subset_of(&c.host, h));
        (known && !external && covered).then_some(c)
    }

    /// The route table of an HTTP or HTTPS filter chain (istio
    /// `buildGatewayHTTPRouteConfig`): virtual hosts from the servers'
    /// hosts and their bound VirtualServices, Envoy's `require_tls` from
    /// `httpsRedirect`.
    fn gateway_http<'m>(
        &'m self,
        servers: &[&MergedServer],
        https_chain: bool,
        tls: bool,
        view: &View<'_>,
        proxy_ns: &str,
        t: &mut Tracer,
    ) -> Decision<'m> {
        let req = view.req;
        if matches!(req.protocol, Protocol::Tcp | Protocol::Tls) {
            t.add(
                "gateway",
                || format!("listener {}", view.port),
                Verdict::Failed,
                || "the filter chain speaks HTTP; a TCP or TLS route never applies here".into(),
            );
            return Decision::new(Outcome::NotFound);
        }
        let vhosts = self.gateway_vhosts(servers, view.port, proxy_ns);
        let chain_name = if https_chain { "HTTPS" } else { "HTTP" };
        if vhosts.is_empty() {
            t.add(
                "gateway",
                || format!("listener {}", view.port),
                Verdict::Failed,
                || {
                    format!(
                        "{chain_name} route table has no VirtualService: only the blackhole virtual host, 404 (NR)"
                    )
                },
            );
            return Decision::new(Outcome::NotFound);
        }
        let names: Vec<&str> = vhosts.iter().map(|v| v.domain.as_str()).collect();
        let Some(chosen) = hosts::select_domain(&view.host, &names) else {
            t.add(
                "gateway",
                || format!("listener {}", view.port),
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
        let vh = &vhosts[chosen];
        let gws = self.gateways.gateways();
        t.add(
            "gateway",
            || format!("{} route table on port {}", chain_name, view.port),
            Verdict::Matched,
            || {
                let mut through: Vec<&str> = Vec::new();
                for (_, g) in &vh.vss {
                    if !through.contains(&gws[*g].key.as_str()) {
                        through.push(&gws[*g].key);
                    }
                }
                let vss: Vec<&str> = vh.vss.iter().map(|(v, _)| &*self.vs[*v].key).collect();
                if vss.is_empty() {
                    format!(
                        "virtual host {}:{} (no VirtualService: only the HTTPS redirect)",
                        vh.domain, vh.port
                    )
                } else {
                    format!(
                        "virtual host {}:{}: VirtualServices {} (bound through {})",
                        vh.domain,
                        vh.port,
                        vss.join(", "),
                        through.join(", ")
                    )
                }
            },
        );
        if vh.require_tls {
            let by = vh
                .redirect_from
                .map(|g| gws[g].key.clone())
                .unwrap_or_default();
            if !tls {
                t.add(
                    "gateway",
                    || by.clone(),
                    Verdict::Matched,
                    || {
                        "server has httpsRedirect and the request is plaintext: 301 to https (Envoy require_tls)"
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
            t.add(
                "gateway",
                || by.clone(),
                Verdict::Note,
                || {
                    "server has httpsRedirect but the request is over TLS: routed, not redirected"
                        .into()
                },
            );
        }
        let specific = self.gateway_vhost_routes(vh);
        let gateway = self.gateway_vhost_ref(vh);
        let proxy = Proxy {
            gateway,
            namespace: proxy_ns,
            labels: None,
            listener_port: vh.port,
            cache: None,
        };
        self.eval_http(&specific, view, &proxy, t)
    }
}

/// A virtual host of a gateway's HTTP or HTTPS route table.
#[derive(Debug, Clone)]
pub(crate) struct GatewayVHost {
    pub domain: String,
    /// The server port (what route `port` conditions see).
    pub port: u32,
    /// (VirtualService, Gateway it is bound through), in order.
    pub vss: Vec<(usize, usize)>,
    /// Envoy's `require_tls: ALL` (a server's `httpsRedirect`).
    pub require_tls: bool,
    pub redirect_from: Option<usize>,
}

impl Mesh {
    /// The virtual hosts of the route table over `servers` (istio
    /// `buildGatewayHTTPRouteConfig`): each domain is the narrower of a
    /// VirtualService host and a server host that overlap where the
    /// server's namespace filter admits the VirtualService; an
    /// `httpsRedirect` server's hosts get one even without VirtualService.
    pub(crate) fn gateway_vhosts(
        &self,
        servers: &[&MergedServer],
        listener_port: u32,
        proxy_ns: &str,
    ) -> Vec<GatewayVHost> {
        let mut vhosts: Vec<GatewayVHost> = Vec::new();
        for ms in servers {
            let s = self.gateways.server(ms);
            let g = &self.gateways.gateways()[ms.gateway];
            let server_port = port_of(s).unwrap_or(listener_port);
            let redirect = redirects(s);
            for vi in self.bound_vs(ms.gateway, proxy_ns) {
                let vs = &self.vs[vi];
                for vh in &vs.hosts {
                    for entry in &s.hosts {
                        let sh = hosts::parse_server_host(entry);
                        if !sh.namespace.admits(&vs.namespace, &g.namespace) {
                            continue;
                        }
                        let server_host = sh.dns_name.to_ascii_lowercase();
                        let domain = if hosts::subset_of(vh, &server_host) {
                            vh.clone()
                        } else if hosts::subset_of(&server_host, vh) {
                            server_host
                        } else {
                            continue;
                        };
                        match vhosts.iter_mut().find(|v| v.domain == domain) {
                            Some(v) => {
                                if !v.vss.iter().any(|(x, _)| *x == vi) {
                                    v.vss.push((vi, ms.gateway));
                                }
                                if redirect {
                                    v.require_tls = true;
                                    v.redirect_from.get_or_insert(ms.gateway);
                                }
                            }
                            None => vhosts.push(GatewayVHost {
                                domain,
                                port: server_port,
                                vss: vec![(vi, ms.gateway)],
                                require_tls: redirect,
                                redirect_from: redirect.then_some(ms.gateway),
                            }),
                        }
                    }
                }
            }
            if redirect {
                for h in &ms.hosts {
                    let h = h.to_ascii_lowercase();
                    match vhosts.iter_mut().find(|v| v.domain == h) {
                        Some(v) => {
                            v.require_tls = true;
                            v.redirect_from.get_or_insert(ms.gateway);
                        }
                        None => vhosts.push(GatewayVHost {
                            domain: h,
                            port: server_port,
                            vss: Vec::new(),
                            require_tls: true,
                            redirect_from: Some(ms.gateway),
                        }),
                    }
                }
            }
        }
        vhosts
    }

    /// The routes of every VirtualService of a virtual host, in order,
    /// catch-alls moved to the end (stable; istio `SortVHostRoutes`).
    pub(crate) fn gateway_vhost_routes(&self, vh: &GatewayVHost) -> Vec<&CompiledHttpRoute> {
        let mut routes: Vec<&CompiledHttpRoute> = Vec::new();
        for (vi, _) in &vh.vss {
            routes.extend(self.vs[*vi].http.iter());
        }
        let (mut specific, catch_alls): (Vec<_>, Vec<_>) =
            routes.into_iter().partition(|r| !r.is_catch_all());
        specific.extend(catch_alls);
        specific
    }

    /// The gateway a virtual host's route conditions see: the one its
    /// first VirtualService is bound through.
    pub(crate) fn gateway_vhost_ref(&self, vh: &GatewayVHost) -> GatewayRef {
        vh.vss
            .first()
            .map(|(_, g)| self.gateway_ref(*g))
            .unwrap_or(GatewayRef::Mesh)
    }
}

/// Envoy's filter chain match by SNI, as istio's simulation ranks it
/// (`pilot/pkg/simulation/traffic.go`, `matchFilterChain`): an exact name
/// beats the longest wildcard; chains without names apply only when no
/// named chain matches. `Err(n)`: `n` chains tie (0: none matches).
fn select_chain(chains: &[FilterChain<'_>], sni: Option<&str>) -> Result<usize, usize> {
    let any_named = chains.iter().any(|c| c.sni.is_some());
    let mut best = 0usize;
    let mut winners: Vec<usize> = Vec::new();
    if any_named {
        if let Some(sni) = sni {
            for (i, c) in chains.iter().enumerate() {
                let Some(names) = &c.sni else { continue };
                let mut rank = 0usize;
                for n in names {
                    if n == sni {
                        rank = usize::MAX;
                    } else if hosts::subset_of(sni, n) {
                        rank = rank.max(n.len());
                    }
                }
                if rank == 0 {
                    continue;
                }
                if rank > best {
                    best = rank;
                    winners.clear();
                }
                if rank == best {
                    winners.push(i);
                }
            }
        }
    }
    if winners.is_empty() {
        winners = (0..chains.len())
            .filter(|&i| chains[i].sni.is_none())
            .collect();
    }
    match winners.as_slice() {
        [one] => Ok(*one),
        many => Err(many.len()),
    }
}

fn strip_default_port(host: &str) -> &str {
    host.strip_suffix(":80").unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::decide::request::Request;
    use crate::decide::Mesh;

    const REDIRECTING_HTTPS: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [example.com]
    tls: {httpsRedirect: true, mode: SIMPLE, credentialName: c}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [example.com]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {host: b, port: {number: 80}}
"#;

    fn explain(yaml: &str, req: Request) -> (Outcome, Vec<String>) {
        let mesh = Mesh::compile(&crate::load::load_str(yaml, "t.yaml"));
        let d = mesh.explain(&req).unwrap();
        let details = d.trace().iter().map(|e| e.detail.clone()).collect();
        (d.outcome(), details)
    }

    #[test]
    fn https_redirect_answers_plaintext_and_routes_tls_saying_why() {
        // istio TestHTTPGateway "httpsRedirect on https": require_tls is met by TLS.
        let req = |scheme: &str, port: u16| {
            let mut r = Request::new("example.com")
                .port(port)
                .via_gateway("istio-system/istio=ingressgateway");
            r.scheme = Some(scheme.into());
            r
        };
        let (outcome, _) = explain(REDIRECTING_HTTPS, req("http", 80));
        assert_eq!(outcome, Outcome::Redirect);
        let (outcome, trace) = explain(REDIRECTING_HTTPS, req("https", 443));
        assert_eq!(outcome, Outcome::Route);
        assert!(
            trace.iter().any(|d| d.contains("the request is over TLS")),
            "{trace:?}"
        );
    }

    #[test]
    fn the_merge_order_and_a_left_out_server_are_explained() {
        // istio TestGatewayConflicts "multiple protocols on a port - http first".
        let yaml = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: beta, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: tcp, protocol: TCP}
    hosts: [foo.bar]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: alpha, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [foo.bar]
"#;
        let (outcome, trace) = explain(
            yaml,
            Request::new("foo.bar").via_gateway("istio-system/istio=ingressgateway"),
        );
        assert_eq!(outcome, Outcome::NotFound);
        assert!(
            trace[0].contains("in order: default/alpha, default/beta"),
            "{trace:?}"
        );
        assert!(
            trace[1].contains("left out") && trace[1].contains("TCP"),
            "{trace:?}"
        );
        assert!(trace.iter().any(|d| d.contains("blackhole")), "{trace:?}");
    }

    #[test]
    fn a_gateway_service_target_port_is_the_listener_port() {
        // istio `resolvePorts`: the ingress Service maps 80 to 8080.
        let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [example.com]
  gateways: [web]
  http:
  - route:
    - destination: {host: b, port: {number: 80}}
"#;
        for gateway in ["istio-system/istio=ingressgateway", "default/web"] {
            let req = |port: u16| Request::new("example.com").port(port).via_gateway(gateway);
            let (outcome, _) = explain(yaml, req(8080));
            assert_eq!(outcome, Outcome::Route, "{gateway}");
            let (outcome, trace) = explain(yaml, req(80));
            assert_eq!(outcome, Outcome::NotFound, "{gateway}");
            assert!(
                trace.iter().any(|d| d.contains("listen on 8080")),
                "{gateway}: {trace:?}"
            );
        }
    }

    #[test]
    fn a_plaintext_request_to_a_tls_listener_fails_the_handshake() {
        let yaml = REDIRECTING_HTTPS.replace(
            "hosts: [example.com]\n    tls: {httpsRedirect: true, mode",
            "hosts: [\"*\"]\n    tls: {httpsRedirect: true, mode",
        );
        let (outcome, trace) = explain(
            &yaml,
            Request::new("example.com")
                .port(443)
                .via_gateway("istio-system/istio=ingressgateway"),
        );
        assert_eq!(outcome, Outcome::NotFound);
        assert!(trace.iter().any(|d| d.contains("expects TLS")), "{trace:?}");
    }

    #[test]
    fn auto_passthrough_forwards_to_the_cluster_the_sni_names() {
        let yaml = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}]
"#;
        let req = |sni: &str| {
            Request::new("x")
                .port(15443)
                .protocol(Protocol::Tls)
                .sni(sni)
                .via_gateway("istio-system/istio=eastwestgateway")
        };
        let mesh = Mesh::compile(&crate::load::load_str(yaml, "t.yaml"));
        let d = mesh
            .decide(&req(
                "outbound_.9080_.v1_.reviews.default.svc.cluster.local",
            ))
            .unwrap();
        assert_eq!(d.outcome(), Outcome::Route);
        assert_eq!(
            d.destinations()[0].cluster(),
            "outbound|9080|v1|reviews.default.svc.cluster.local"
        );
        for unknown in [
            "outbound_.9080_.v9_.reviews.default.svc.cluster.local",
            "outbound_.80_._.reviews.default.svc.cluster.local",
            "reviews.default.svc.cluster.local",
        ] {
            assert_eq!(
                mesh.decide(&req(unknown)).unwrap().outcome(),
                Outcome::NotFound
            );
        }
    }

    #[test]
    fn a_gateway_is_named_or_a_labelled_workload() {
        assert_eq!(
            GatewayEntry::parse("default/web"),
            Ok(GatewayEntry::Named("default/web".into()))
        );
        let GatewayEntry::Workload {
            namespace,
            labels,
            address,
        } = GatewayEntry::parse("istio-system/istio=ingressgateway,app=x@1.1.1.1").unwrap()
        else {
            panic!("a workload")
        };
        assert_eq!(namespace, "istio-system");
        assert_eq!(
            labels.get("istio").map(String::as_str),
            Some("ingressgateway")
        );
        assert_eq!(labels.len(), 2);
        assert_eq!(address.as_deref(), Some("1.1.1.1"));
        assert!(GatewayEntry::parse("ns/a=b,c").is_err());
    }

    #[test]
    fn server_hosts_resolve_their_namespace_part_as_istio_sanitizes_them() {
        let hosts = vec!["./a.com".to_string(), "*/b.com".into(), "ns/c.com".into()];
        assert_eq!(
            sanitize_hosts(&hosts, "gw"),
            vec!["gw/a.com", "b.com", "ns/c.com"]
        );
        assert_eq!(sanitize_hosts(&["*/*".to_string()], "gw"), vec!["*"]);
    }

    #[test]
    fn legacy_selector_ports_translate_through_the_first_service_else_stay() {
        let svc = FrontService {
            hostname: "gw".into(),
            namespace: "istio-system".into(),
            translation_disabled: false,
            ports: vec![(80, 8080)],
            selector: None,
            endpoints: Vec::new(),
        };
        assert_eq!(resolve_ports(80, &[&svc], true), vec![8080]);
        assert_eq!(resolve_ports(81, &[&svc], true), vec![81]);
        assert!(resolve_ports(81, &[&svc], false).is_empty());
        let disabled = FrontService {
            translation_disabled: true,
            ..svc
        };
        assert_eq!(resolve_ports(80, &[&disabled], true), vec![80]);
    }
}
