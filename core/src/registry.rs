//! The service registry as a proxy sees it: Kubernetes Services with the
//! workloads they select, and ServiceEntry hosts with their endpoints.

use crate::model::kube::IntOrString;
use crate::model::service_entry::Resolution;
use crate::model::Config;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who may see a resource (exportTo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every namespace (`*`, or exportTo unset).
    Public,
    /// Only these namespaces (`.` resolved to the resource's own).
    Namespaces(Vec<String>),
}

impl Visibility {
    /// From an exportTo list of a resource in `own_namespace`.
    pub fn from_export_to(export_to: &[String], own_namespace: &str) -> Visibility {
        if export_to.is_empty() || export_to.iter().any(|e| e == "*") {
            return Visibility::Public;
        }
        Visibility::Namespaces(
            export_to
                .iter()
                .filter(|e| e.as_str() != "~")
                .map(|e| {
                    if e == "." {
                        own_namespace.to_string()
                    } else {
                        e.clone()
                    }
                })
                .collect(),
        )
    }

    /// From an exportTo list, `default` (the mesh config's default exportTo
    /// for the kind) when the list is empty (istio `push_context.go`).
    pub fn from_export_to_or(
        export_to: &[String],
        default: &[String],
        own_namespace: &str,
    ) -> Visibility {
        let list = if export_to.is_empty() {
            default
        } else {
            export_to
        };
        Visibility::from_export_to(list, own_namespace)
    }

    /// Whether proxies in `namespace` see it.
    pub fn visible_in(&self, namespace: &str) -> bool {
        match self {
            Visibility::Public => true,
            Visibility::Namespaces(list) => list.iter().any(|n| n == namespace),
        }
    }

    /// Whether it is exported only to its own namespace.
    pub fn is_private_to(&self, namespace: &str) -> bool {
        matches!(self, Visibility::Namespaces(list) if list.len() == 1 && list[0] == namespace)
    }
}

/// How a port's traffic is handled, from its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortProtocol {
    /// HTTP, HTTP2, gRPC, gRPC-Web.
    Http,
    /// HTTPS or TLS: SNI routing with `tls` routes.
    Tls,
    /// TCP and other opaque protocols.
    Tcp,
    /// Unknown: sniffed; sidecars apply HTTP routes to HTTP traffic.
    Unknown,
}

impl PortProtocol {
    /// From an Istio protocol name (case-insensitive).
    pub fn from_istio(name: &str) -> PortProtocol {
        match name.to_ascii_uppercase().as_str() {
            "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" | "HTTP_PROXY" => PortProtocol::Http,
            "HTTPS" | "TLS" => PortProtocol::Tls,
            "" => PortProtocol::Unknown,
            _ => PortProtocol::Tcp,
        }
    }

    /// From a Kubernetes port: appProtocol, else the name prefix
    /// (`http-web`), else unknown (Istio's protocol selection).
    pub fn from_kubernetes(
        name: Option<&str>,
        app_protocol: Option<&str>,
        l4: Option<&str>,
    ) -> PortProtocol {
        if l4.is_some_and(|p| p.eq_ignore_ascii_case("UDP")) {
            return PortProtocol::Tcp;
        }
        if let Some(app) = app_protocol {
            let p = PortProtocol::from_istio(app.split('/').next_back().unwrap_or(app));
            if p != PortProtocol::Unknown {
                return p;
            }
        }
        match name {
            Some(n) => {
                let prefix = n.split('-').next().unwrap_or(n);
                match PortProtocol::from_istio(prefix) {
                    PortProtocol::Tcp
                        if !["tcp", "mongo", "mysql", "redis", "udp"]
                            .contains(&prefix.to_ascii_lowercase().as_str()) =>
                    {
                        PortProtocol::Unknown
                    }
                    p => p,
                }
            }
            None => PortProtocol::Unknown,
        }
    }
}

/// One port of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Service port number.
    pub number: u32,
    /// Port name.
    pub name: String,
    /// Protocol class.
    pub protocol: PortProtocol,
    /// Port on the endpoints (Kubernetes targetPort number, SE targetPort).
    pub target_port: Option<u32>,
}

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Address (an IP, a DNS name, or for pods the pod name).
    pub address: String,
    /// Labels (subset selection).
    pub labels: BTreeMap<String, String>,
    /// Load-balancing weight (1 when unset).
    pub weight: u32,
    /// `region/zone/subzone`, when known.
    pub locality: Option<String>,
}

/// Where a service comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceOrigin {
    /// A Kubernetes Service `namespace/name`.
    Kubernetes(String),
    /// A ServiceEntry `namespace/name`.
    ServiceEntry(String),
}

/// One service host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// FQDN (or the ServiceEntry host as written, lower-cased).
    pub hostname: Arc<str>,
    /// Namespace of the defining resource.
    pub namespace: String,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// Visibility.
    pub visibility: Visibility,
    /// Endpoints (pods or ServiceEntry endpoints).
    pub endpoints: Vec<Endpoint>,
    /// Defining resource.
    pub origin: ServiceOrigin,
    /// ServiceEntry resolution (`None` for Kubernetes services).
    pub resolution: Option<Resolution>,
}

impl Service {
    /// The service's port when it has exactly one: Istio routes a
    /// destination that names no port there.
    pub fn only_port(&self) -> Option<u32> {
        match self.ports.as_slice() {
            [only] => Some(only.number),
            _ => None,
        }
    }

    /// The port with this number.
    pub fn port(&self, number: u32) -> Option<&ServicePort> {
        self.ports.iter().find(|p| p.number == number)
    }

    /// Endpoints whose labels include all of `selector`.
    pub fn endpoints_matching<'a>(
        &'a self,
        selector: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = &'a Endpoint> + 'a {
        self.endpoints
            .iter()
            .filter(move |e| labels_match(selector, &e.labels))
    }
}

/// Whether `selector` ⊆ `labels`.
pub fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// All services, indexed by host.
#[derive(Debug, Default)]
pub struct Registry {
    services: Vec<Service>,
    exact: crate::fasthash::FastMap<String, Vec<usize>>,
    wildcard: Vec<usize>,
}

impl Registry {
    /// Builds the registry from a configuration, with the default
    /// exportTo of its mesh config.
    pub fn build(config: &Config, domain: &str) -> Registry {
        let options = crate::MeshOptions::from_config(config);
        Registry::build_with(config, domain, &options.default_service_export_to)
    }

    /// Builds the registry; services that set no exportTo get
    /// `default_export_to` (meshConfig.defaultServiceExportTo).
    pub fn build_with(config: &Config, domain: &str, default_export_to: &[String]) -> Registry {
        let mut services = Vec::new();
        for svc in &config.services {
            let ns = svc.namespace();
            let hostname = format!("{}.{}.svc.{}", svc.name(), ns, domain).to_ascii_lowercase();
            let export = svc
                .metadata
                .annotations
                .get("networking.istio.io/exportTo")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let mut endpoints = Vec::new();
            if !svc.spec.selector.is_empty() {
                for w in config.workloads.iter().filter(|w| w.namespace() == ns) {
                    if labels_match(&svc.spec.selector, &w.spec.labels) {
                        let single = w.kind_name == "Pod";
                        for i in 0..w.spec.replicas {
                            endpoints.push(Endpoint {
                                address: if single {
                                    w.name().to_string()
                                } else {
                                    format!("{}-{i}", w.name())
                                },
                                labels: w.spec.labels.clone(),
                                weight: 1,
                                locality: None,
                            });
                        }
                    }
                }
            }
            services.push(Service {
                hostname: Arc::from(hostname),
                namespace: ns.to_string(),
                ports: svc
                    .spec
                    .ports
                    .iter()
                    .map(|p| ServicePort {
                        number: p.port,
                        name: p.name.clone().unwrap_or_default(),
                        protocol: PortProtocol::from_kubernetes(
                            p.name.as_deref(),
                            p.app_protocol.as_deref(),
                            p.protocol.as_deref(),
                        ),
                        target_port: match &p.target_port {
                            Some(IntOrString::Int(n)) => u32::try_from(*n).ok(),
                            _ => None,
                        },
                    })
                    .collect(),
                visibility: Visibility::from_export_to_or(&export, default_export_to, ns),
                endpoints,
                origin: ServiceOrigin::Kubernetes(svc.key()),
                resolution: None,
            });
        }
        for se in &config.service_entries {
            let ns = se.namespace();
            let ports: Vec<ServicePort> = se
                .spec
                .ports
                .iter()
                .map(|p| ServicePort {
                    number: p.number.unwrap_or(0),
                    name: p.name.clone().unwrap_or_default(),
                    protocol: PortProtocol::from_istio(p.protocol.as_deref().unwrap_or("")),
                    target_port: p.target_port,
                })
                .collect();
            let mut endpoints: Vec<Endpoint> = se
                .spec
                .endpoints
                .iter()
                .map(|e| Endpoint {
                    address: e.address.clone().unwrap_or_default(),
                    labels: e.labels.clone(),
                    weight: e.weight.filter(|w| *w > 0).unwrap_or(1),
                    locality: e.locality.clone(),
                })
                .collect();
            if let Some(sel) = &se.spec.workload_selector {
                for w in config.workloads.iter().filter(|w| w.namespace() == ns) {
                    if labels_match(&sel.labels, &w.spec.labels) {
                        for i in 0..w.spec.replicas {
                            endpoints.push(Endpoint {
                                address: format!("{}-{i}", w.name()),
                                labels: w.spec.labels.clone(),
                                weight: 1,
                                locality: None,
                            });
                        }
                    }
                }
                for we in config
                    .workload_entries
                    .iter()
                    .filter(|w| w.namespace() == ns)
                {
                    if labels_match(&sel.labels, &we.spec.labels) {
                        endpoints.push(Endpoint {
                            address: we.spec.address.clone().unwrap_or_default(),
                            labels: we.spec.labels.clone(),
                            weight: we.spec.weight.filter(|w| *w > 0).unwrap_or(1),
                            locality: we.spec.locality.clone(),
                        });
                    }
                }
            }
            let resolution = se.spec.resolution.unwrap_or_default();
            for host in &se.spec.hosts {
                let hostname = host.to_ascii_lowercase();
                let host_endpoints = if endpoints.is_empty()
                    && matches!(resolution, Resolution::Dns | Resolution::DnsRoundRobin)
                    && !hostname.starts_with('*')
                {
                    vec![Endpoint {
                        address: hostname.clone(),
                        labels: BTreeMap::new(),
                        weight: 1,
                        locality: None,
                    }]
                } else {
                    endpoints.clone()
                };
                services.push(Service {
                    hostname: Arc::from(hostname),
                    namespace: ns.to_string(),
                    ports: ports.clone(),
                    visibility: Visibility::from_export_to_or(
                        &se.spec.export_to,
                        default_export_to,
                        ns,
                    ),
                    endpoints: host_endpoints,
                    origin: ServiceOrigin::ServiceEntry(se.key()),
                    resolution: Some(resolution),
                });
            }
        }
        let mut registry = Registry {
            services,
            exact: Default::default(),
            wildcard: Vec::new(),
        };
        for (i, s) in registry.services.iter().enumerate() {
            if s.hostname.starts_with('*') {
                registry.wildcard.push(i);
            } else {
                registry
                    .exact
                    .entry(s.hostname.to_string())
                    .or_default()
                    .push(i);
            }
        }
        registry
    }

    /// The service for `host` (lower-case FQDN) visible in `namespace`:
    /// an exact host first (a Kubernetes Service before a ServiceEntry of the
    /// same name), else the most specific visible wildcard ServiceEntry host.
    pub fn lookup(&self, host: &str, namespace: &str) -> Option<&Service> {
        self.lookup_index(host, namespace)
            .map(|i| &self.services[i])
    }

    /// [`Registry::lookup`], as an index into [`Registry::services`].
    pub fn lookup_index(&self, host: &str, namespace: &str) -> Option<usize> {
        if let Some(list) = self.exact.get(host) {
            let mut best: Option<usize> = None;
            for &i in list {
                let s = &self.services[i];
                if !s.visibility.visible_in(namespace) {
                    continue;
                }
                let is_kube = matches!(s.origin, ServiceOrigin::Kubernetes(_));
                match best {
                    Some(b)
                        if matches!(self.services[b].origin, ServiceOrigin::Kubernetes(_))
                            || !is_kube => {}
                    _ => best = Some(i),
                }
            }
            if best.is_some() {
                return best;
            }
        }
        self.wildcard
            .iter()
            .copied()
            .filter(|&i| self.services[i].visibility.visible_in(namespace))
            .filter(|&i| crate::hosts::matches(&self.services[i].hostname, host))
            .min_by(|&a, &b| {
                crate::hosts::more_specific(&self.services[a].hostname, &self.services[b].hostname)
            })
    }

    /// Every service.
    pub fn services(&self) -> &[Service] {
        &self.services
    }
}
