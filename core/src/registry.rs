//! The service registry as a proxy sees it: Kubernetes Services with the
//! workloads they select, and ServiceEntry hosts with their endpoints.

use crate::model::kube::IntOrString;
use crate::model::service_entry::Resolution;
use crate::model::{kube, Config, Resource, ServiceEntry, WorkloadEntry};
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
    /// Labels (subset selection), shared between the endpoints of one
    /// workload.
    pub labels: Arc<BTreeMap<String, String>>,
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
    /// Addresses a sidecar captures for it: a Kubernetes clusterIP, a
    /// ServiceEntry's `addresses` (IPs or CIDRs) as written.
    pub addresses: Vec<String>,
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

/// The resources a [`Registry`] is built from ([`Registry::build_from`]).
#[derive(Debug, Clone, Copy)]
pub struct RegistryInputs<'a> {
    /// Kubernetes Services.
    pub services: &'a [&'a Resource<kube::Service>],
    /// Workloads Services and ServiceEntries select.
    pub workloads: &'a [&'a Resource<kube::Workload>],
    /// ServiceEntries.
    pub service_entries: &'a [&'a Resource<ServiceEntry>],
    /// WorkloadEntries ServiceEntries select.
    pub workload_entries: &'a [&'a Resource<WorkloadEntry>],
    /// Whether services get their endpoints; without, every
    /// [`Service::endpoints`] is empty (for readers of hosts, ports and
    /// visibility only, such as the analyzers).
    pub with_endpoints: bool,
}

/// All services, indexed by host.
#[derive(Debug, Default)]
pub struct Registry {
    services: Vec<Service>,
    exact: crate::fasthash::FastMap<String, Vec<usize>>,
    wildcard: Vec<usize>,
    /// ExternalName Services: alias FQDN -> the FQDN it finally names
    /// (chains followed, loops dropped). Aliases are not looked up as
    /// services of their own.
    aliases: crate::fasthash::FastMap<String, String>,
    /// Headless Kubernetes Services (`clusterIP: None`) by FQDN.
    headless: crate::fasthash::FastSet<String>,
    /// Positions in `services` by the defining resource's namespace, in
    /// registry order.
    by_namespace: crate::fasthash::FastMap<String, Vec<usize>>,
}

/// Whether a Kubernetes Service is an `ExternalName` alias.
fn is_external_name(svc: &Resource<kube::Service>) -> bool {
    svc.spec
        .service_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("ExternalName"))
        && svc
            .spec
            .external_name
            .as_deref()
            .is_some_and(|n| !n.is_empty())
}

/// Istio's `resolveServiceAliases` (`pilot/pkg/model/push_context.go`):
/// each alias flattened to the name at the end of its chain; an alias in a
/// loop is dropped (Kubernetes DNS answers NXDOMAIN for it).
fn resolve_aliases(
    raw: &crate::fasthash::FastMap<String, String>,
) -> crate::fasthash::FastMap<String, String> {
    let mut out = crate::fasthash::FastMap::default();
    for (alias, first) in raw {
        let mut target = first;
        let mut seen = vec![alias.as_str(), first.as_str()];
        let resolved = loop {
            match raw.get(target) {
                None => break Some(target),
                Some(next) if seen.contains(&next.as_str()) => break None,
                Some(next) => {
                    seen.push(next);
                    target = next;
                }
            }
        };
        if let Some(t) = resolved {
            out.insert(alias.clone(), t.clone());
        }
    }
    out
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
    ///
    /// Cost is linear in the configuration: workloads are found for a
    /// selector through a [`LabelIndex`] per namespace, not by scanning.
    pub fn build_with(config: &Config, domain: &str, default_export_to: &[String]) -> Registry {
        let services: Vec<_> = config.services.iter().collect();
        let workloads: Vec<_> = config.workloads.iter().collect();
        let service_entries: Vec<_> = config.service_entries.iter().collect();
        let workload_entries: Vec<_> = config.workload_entries.iter().collect();
        Registry::build_from(
            RegistryInputs {
                services: &services,
                workloads: &workloads,
                service_entries: &service_entries,
                workload_entries: &workload_entries,
                with_endpoints: true,
            },
            domain,
            default_export_to,
        )
    }

    /// [`Registry::build_with`] over resources chosen by the caller (the
    /// analyzers' view of a configuration), in the order given.
    pub fn build_from(
        config: RegistryInputs<'_>,
        domain: &str,
        default_export_to: &[String],
    ) -> Registry {
        let mut services = Vec::with_capacity(config.services.len() + config.service_entries.len());
        let mut raw_aliases = crate::fasthash::FastMap::default();
        let mut headless = crate::fasthash::FastSet::default();
        let workloads = LabelIndex::new(
            config
                .workloads
                .iter()
                .filter(|_| config.with_endpoints)
                .map(|w| (w.namespace(), &w.spec.labels)),
        );
        // One shared label map per workload, made when a service first
        // selects it, whatever its replicas and the services selecting it.
        let mut workload_labels: Vec<Option<Arc<BTreeMap<String, String>>>> =
            vec![None; workloads.len()];
        for svc in config.services {
            let ns = svc.namespace();
            let hostname = format!("{}.{}.svc.{}", svc.name(), ns, domain).to_ascii_lowercase();
            if svc.spec.cluster_ip.as_deref() == Some("None") && !is_external_name(svc) {
                headless.insert(hostname.clone());
            }
            if is_external_name(svc) {
                let target = svc.spec.external_name.as_deref().unwrap_or_default();
                raw_aliases.insert(
                    hostname.clone(),
                    target.trim_end_matches('.').to_ascii_lowercase(),
                );
            }
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
            if config.with_endpoints && !svc.spec.selector.is_empty() {
                for i in workloads.matching_in(ns, &svc.spec.selector) {
                    let w = &config.workloads[i];
                    let labels = shared(&mut workload_labels, i, &w.spec.labels);
                    let single = w.kind_name == "Pod";
                    for i in 0..w.spec.replicas {
                        endpoints.push(Endpoint {
                            address: if single {
                                w.name().to_string()
                            } else {
                                format!("{}-{i}", w.name())
                            },
                            labels: labels.clone(),
                            weight: 1,
                            locality: None,
                        });
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
                addresses: svc
                    .spec
                    .cluster_ip
                    .iter()
                    .filter(|ip| crate::hosts::is_ip_literal(ip))
                    .cloned()
                    .collect(),
            });
        }
        let entries = LabelIndex::new(
            config
                .workload_entries
                .iter()
                .filter(|_| config.with_endpoints)
                .map(|w| (w.namespace(), &w.spec.labels)),
        );
        for se in config.service_entries {
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
                .filter(|_| config.with_endpoints)
                .map(|e| Endpoint {
                    address: e.address.clone().unwrap_or_default(),
                    labels: Arc::new(e.labels.clone()),
                    weight: e.weight.filter(|w| *w > 0).unwrap_or(1),
                    locality: e.locality.clone(),
                })
                .collect();
            if let Some(sel) = se
                .spec
                .workload_selector
                .as_ref()
                .filter(|_| config.with_endpoints)
            {
                for i in workloads.matching_in(ns, &sel.labels) {
                    let w = &config.workloads[i];
                    let labels = shared(&mut workload_labels, i, &w.spec.labels);
                    for i in 0..w.spec.replicas {
                        endpoints.push(Endpoint {
                            address: format!("{}-{i}", w.name()),
                            labels: labels.clone(),
                            weight: 1,
                            locality: None,
                        });
                    }
                }
                for i in entries.matching_in(ns, &sel.labels) {
                    let we = &config.workload_entries[i];
                    endpoints.push(Endpoint {
                        address: we.spec.address.clone().unwrap_or_default(),
                        labels: Arc::new(we.spec.labels.clone()),
                        weight: we.spec.weight.filter(|w| *w > 0).unwrap_or(1),
                        locality: we.spec.locality.clone(),
                    });
                }
            }
            let resolution = se.spec.resolution.unwrap_or_default();
            for host in &se.spec.hosts {
                let hostname = host.to_ascii_lowercase();
                let host_endpoints = if config.with_endpoints
                    && endpoints.is_empty()
                    && matches!(resolution, Resolution::Dns | Resolution::DnsRoundRobin)
                    && !hostname.starts_with('*')
                {
                    vec![Endpoint {
                        address: hostname.clone(),
                        labels: Arc::default(),
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
                    addresses: se.spec.addresses.clone(),
                });
            }
        }
        let mut registry = Registry {
            services,
            exact: Default::default(),
            wildcard: Vec::new(),
            aliases: resolve_aliases(&raw_aliases),
            headless,
            by_namespace: Default::default(),
        };
        for (i, s) in registry.services.iter().enumerate() {
            registry
                .by_namespace
                .entry(s.namespace.clone())
                .or_default()
                .push(i);
            let is_alias = matches!(s.origin, ServiceOrigin::Kubernetes(_))
                && raw_aliases.contains_key(s.hostname.as_ref());
            if is_alias {
                continue;
            }
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

    /// The FQDN an ExternalName Service `host` stands for (Istio
    /// `model.Alias`): requests to the alias go to that service.
    pub fn alias_target(&self, host: &str) -> Option<&str> {
        self.aliases.get(host).map(String::as_str)
    }

    /// Whether `host` is a headless Kubernetes Service (`clusterIP: None`):
    /// its pods' own names (`web-0.web.ns.svc.cluster.local`) reach it too.
    pub fn is_headless(&self, host: &str) -> bool {
        self.headless.contains(host)
    }

    /// Every service (ExternalName aliases included, as written).
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Positions in [`Registry::services`] of the services defined in
    /// `namespace` (Kubernetes Services and ServiceEntry hosts, aliases
    /// included), in registry order; empty for a namespace without any.
    /// Costs one hash lookup, whatever the mesh size.
    pub fn service_indexes_in(&self, namespace: &str) -> &[usize] {
        self.by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The services defined in `namespace`, in registry order (see
    /// [`Registry::service_indexes_in`]).
    pub fn services_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Service> + 'a {
        self.service_indexes_in(namespace)
            .iter()
            .map(|&i| &self.services[i])
    }

    /// Positions in [`Registry::services`] of the services whose hostname
    /// is exactly `host` (lower-case, not a wildcard pattern), in registry
    /// order, whatever their visibility; ExternalName aliases are not
    /// among them (see [`Registry::alias_target`]). Wildcard ServiceEntry
    /// hosts are found by their own written name (`*.example.com`).
    /// Costs one hash lookup.
    pub fn service_indexes_for_host(&self, host: &str) -> &[usize] {
        if host.starts_with('*') {
            return &[];
        }
        self.exact.get(host).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The services whose hostname is exactly `host`, in registry order
    /// (see [`Registry::service_indexes_for_host`]).
    pub fn services_for_host<'a>(&'a self, host: &str) -> impl Iterator<Item = &'a Service> + 'a {
        self.service_indexes_for_host(host)
            .iter()
            .map(|&i| &self.services[i])
    }

    /// The service with hostname `host` defined in `namespace`, whatever its
    /// visibility: the Kubernetes Service when there is one, else the first
    /// ServiceEntry host of that name in registry order.
    pub fn service_in(&self, namespace: &str, host: &str) -> Option<&Service> {
        let mut found: Option<&Service> = None;
        for s in self.services_for_host(host) {
            if s.namespace != namespace {
                continue;
            }
            if matches!(s.origin, ServiceOrigin::Kubernetes(_)) {
                return Some(s);
            }
            found = found.or(Some(s));
        }
        found
    }
}

/// Labelled items (workloads, workload entries) indexed by namespace and by
/// `(key, value)` label pair, so that the items a label selector picks are
/// found without scanning every item.
///
/// A selector is answered from the shortest posting list among its pairs
/// (the rarest label), each candidate then checked against the whole
/// selector; results are positions in the order the items were given, as a
/// plain scan would yield them.
#[derive(Debug, Default)]
pub struct LabelIndex<'a> {
    labels: Vec<&'a BTreeMap<String, String>>,
    /// Each namespace's number (its position in `by_namespace`).
    namespace_ids: crate::fasthash::FastMap<&'a str, usize>,
    /// Positions by namespace number, ascending.
    by_namespace: Vec<Vec<usize>>,
    /// Positions by `(namespace number, key, value)`, ascending.
    by_pair_in: crate::fasthash::FastMap<(usize, &'a str, &'a str), Vec<usize>>,
    /// Positions by `(key, value)` over every namespace, ascending.
    by_pair: crate::fasthash::FastMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> LabelIndex<'a> {
    /// Indexes `(namespace, labels)` items; positions count from 0 in
    /// iteration order.
    pub fn new(
        items: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
    ) -> LabelIndex<'a> {
        let mut index = LabelIndex::default();
        for (i, (namespace, labels)) in items.into_iter().enumerate() {
            index.labels.push(labels);
            let next_id = index.namespace_ids.len();
            let ns = *index.namespace_ids.entry(namespace).or_insert(next_id);
            if ns == index.by_namespace.len() {
                index.by_namespace.push(Vec::new());
            }
            index.by_namespace[ns].push(i);
            for (k, v) in labels {
                index
                    .by_pair_in
                    .entry((ns, k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
                index
                    .by_pair
                    .entry((k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        index
    }

    /// Number of items indexed.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no item is indexed.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Positions of the items in `namespace` whose labels include all of
    /// `selector` (every item of the namespace for an empty selector), in
    /// ascending order.
    pub fn matching_in<'s>(
        &'s self,
        namespace: &str,
        selector: &'s BTreeMap<String, String>,
    ) -> impl Iterator<Item = usize> + 's {
        let ns = self.namespace_ids.get(namespace).copied();
        let candidates: &[usize] = match ns {
            None => &[],
            Some(ns) if selector.is_empty() => &self.by_namespace[ns],
            Some(ns) => rarest(selector.iter().map(|(k, v)| {
                self.by_pair_in
                    .get(&(ns, k.as_str(), v.as_str()))
                    .map(Vec::as_slice)
            })),
        };
        self.filter(candidates, selector)
    }

    /// Positions of the items of any namespace whose labels include all of
    /// `selector` (every item for an empty selector), in ascending order.
    pub fn matching<'s>(
        &'s self,
        selector: &'s BTreeMap<String, String>,
    ) -> impl Iterator<Item = usize> + 's {
        let all: Option<std::ops::Range<usize>> = selector.is_empty().then(|| 0..self.len());
        let candidates: &[usize] = if selector.is_empty() {
            &[]
        } else {
            rarest(selector.iter().map(|(k, v)| {
                self.by_pair
                    .get(&(k.as_str(), v.as_str()))
                    .map(Vec::as_slice)
            }))
        };
        all.into_iter()
            .flatten()
            .chain(self.filter(candidates, selector))
    }

    /// Whether some item of any namespace has all the labels of `selector`.
    pub fn any_matching(&self, selector: &BTreeMap<String, String>) -> bool {
        self.matching(selector).next().is_some()
    }

    fn filter<'s>(
        &'s self,
        candidates: &'s [usize],
        selector: &'s BTreeMap<String, String>,
    ) -> impl Iterator<Item = usize> + 's {
        candidates
            .iter()
            .copied()
            .filter(move |&i| labels_match(selector, self.labels[i]))
    }
}

/// The shared copy of workload `i`'s labels, made on first use.
fn shared(
    made: &mut [Option<Arc<BTreeMap<String, String>>>],
    i: usize,
    labels: &BTreeMap<String, String>,
) -> Arc<BTreeMap<String, String>> {
    made[i]
        .get_or_insert_with(|| Arc::new(labels.clone()))
        .clone()
}

/// The shortest of the posting lists; empty when some pair has none (no
/// item can carry the whole selector).
fn rarest<'s>(lists: impl Iterator<Item = Option<&'s [usize]>>) -> &'s [usize] {
    let mut best: Option<&[usize]> = None;
    for list in lists {
        let Some(list) = list else {
            return &[];
        };
        if best.is_none_or(|b| list.len() < b.len()) {
            best = Some(list);
        }
    }
    best.unwrap_or(&[])
}

#[cfg(test)]
mod alias_tests {
    use super::Registry;

    fn registry(yaml: &str) -> Registry {
        let config = crate::load::load_str(yaml, "aliases.yaml");
        assert!(config.messages.is_empty(), "{:?}", config.messages);
        Registry::build(&config, "cluster.local")
    }

    fn external_name(name: &str, target: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: ExternalName\n  externalName: {target}\n---\n"
        )
    }

    #[test]
    fn an_external_name_service_is_an_alias_not_a_service_of_its_own() {
        let yaml = external_name("alias", "concrete.default.svc.cluster.local")
            + "apiVersion: v1\nkind: Service\nmetadata: {name: concrete, namespace: default}\nspec:\n  ports: [{name: http, port: 80}]\n";
        let r = registry(&yaml);
        let alias = "alias.default.svc.cluster.local";
        assert_eq!(
            r.alias_target(alias),
            Some("concrete.default.svc.cluster.local")
        );
        assert!(r.lookup(alias, "default").is_none());
        assert!(r
            .lookup("concrete.default.svc.cluster.local", "default")
            .is_some());
    }

    #[test]
    fn alias_chains_are_followed_and_loops_dropped() {
        // push_context.go resolveServiceAliases: a -> b -> c flattens to a -> c;
        // x <-> y is a loop Kubernetes DNS answers NXDOMAIN for.
        let yaml = external_name("a", "b.default.svc.cluster.local.")
            + &external_name("b", "C.default.svc.cluster.local")
            + &external_name("x", "y.default.svc.cluster.local")
            + &external_name("y", "x.default.svc.cluster.local");
        let r = registry(&yaml);
        assert_eq!(
            r.alias_target("a.default.svc.cluster.local"),
            Some("c.default.svc.cluster.local")
        );
        assert_eq!(r.alias_target("x.default.svc.cluster.local"), None);
        assert_eq!(r.alias_target("y.default.svc.cluster.local"), None);
    }
}

#[cfg(test)]
mod index_tests {
    use super::{labels_match, LabelIndex, Registry, ServiceOrigin};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn registry(yaml: &str) -> Registry {
        let config = crate::load::load_str(yaml, "index.yaml");
        assert!(config.messages.is_empty(), "{:?}", config.messages);
        Registry::build(&config, "cluster.local")
    }

    const MESH: &str = "apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
spec: {ports: [{name: http, port: 80}], selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: b}
spec: {ports: [{name: tcp, port: 5432}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: a}
spec:
  hosts: [web.a.svc.cluster.local, api.example.com, '*.wild.com']
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: a, labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: b, labels: {app: web}}
";

    fn hosts<'a>(services: impl Iterator<Item = &'a super::Service>) -> Vec<String> {
        services.map(|s| s.hostname.to_string()).collect()
    }

    #[test]
    fn services_are_found_by_namespace() {
        let r = registry(MESH);
        assert_eq!(
            hosts(r.services_in("a")),
            [
                "web.a.svc.cluster.local",
                "web.a.svc.cluster.local",
                "api.example.com",
                "*.wild.com"
            ]
        );
        assert_eq!(hosts(r.services_in("b")), ["db.b.svc.cluster.local"]);
        assert_eq!(r.services_in("c").count(), 0);
        for ns in ["a", "b"] {
            let scanned: Vec<usize> = (0..r.services().len())
                .filter(|&i| r.services()[i].namespace == ns)
                .collect();
            assert_eq!(r.service_indexes_in(ns), scanned);
        }
    }

    #[test]
    fn services_are_found_by_host_kubernetes_first() {
        let r = registry(MESH);
        let web: Vec<_> = r.services_for_host("web.a.svc.cluster.local").collect();
        assert_eq!(web.len(), 2);
        let kube = r.service_in("a", "web.a.svc.cluster.local").unwrap();
        assert!(matches!(kube.origin, ServiceOrigin::Kubernetes(_)));
        // The Service selects the Pod of its own namespace only.
        assert_eq!(kube.endpoints.len(), 1);
        assert_eq!(kube.endpoints[0].address, "web-1");
        let ext = r.service_in("a", "api.example.com").unwrap();
        assert!(matches!(ext.origin, ServiceOrigin::ServiceEntry(_)));
        assert!(r.service_in("b", "api.example.com").is_none());
        assert_eq!(r.services_for_host("x.wild.com").count(), 0);
        assert_eq!(r.services_for_host("*.wild.com").count(), 0);
        assert_eq!(r.services_for_host("nowhere.example.com").count(), 0);
    }

    /// Label sets drawn from a few keys and values, so that selectors
    /// both hit and miss.
    fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(
            prop_oneof![Just("app"), Just("version"), Just("tier")].prop_map(String::from),
            prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from),
            0..3,
        )
    }

    proptest! {
        #[test]
        fn label_index_finds_what_a_scan_finds(
            items in proptest::collection::vec(
                (prop_oneof![Just("n1"), Just("n2"), Just("n3")], labels()),
                0..40,
            ),
            selectors in proptest::collection::vec(labels(), 1..8),
            namespace in prop_oneof![Just("n1"), Just("n2"), Just("n4")],
        ) {
            let index = LabelIndex::new(items.iter().map(|(ns, l)| (*ns, l)));
            prop_assert_eq!(index.len(), items.len());
            for selector in &selectors {
                let scan_in: Vec<usize> = (0..items.len())
                    .filter(|&i| items[i].0 == namespace && labels_match(selector, &items[i].1))
                    .collect();
                let scan: Vec<usize> = (0..items.len())
                    .filter(|&i| labels_match(selector, &items[i].1))
                    .collect();
                prop_assert_eq!(index.matching_in(namespace, selector).collect::<Vec<_>>(), scan_in);
                prop_assert_eq!(index.any_matching(selector), !scan.is_empty());
                prop_assert_eq!(index.matching(selector).collect::<Vec<_>>(), scan);
            }
        }
    }
}
