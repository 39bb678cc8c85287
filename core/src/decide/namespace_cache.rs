//! What sidecars in one caller namespace resolve ahead of time (the names
//! a caller may use for each known host, every route destination, every
//! route's destination list), built on the first decision from that
//! namespace and kept.
//!
//! A namespace's cache costs time and memory in proportion to the mesh, so
//! building one for every namespace at compile would cost namespaces x
//! hosts; a process usually decides for a few namespaces (a sidecar's
//! filter for one, the CLI for one request). Each namespace the
//! configuration names gets an empty [`OnceLock`] at compile, filled by the
//! first decision from it: later decisions read it without a lock. A caller
//! from a namespace the configuration never names has no resources, Sidecar
//! or DestinationRule of its own; it takes the per-request path, which
//! gives the same answers (the cache only remembers them).

use super::decision::{self, Destination};
use super::scope::Scope;
use super::Mesh;
use crate::fasthash::FastMap as HashMap;
use crate::model::Config;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Most (alias, namespace) pairs resolved in all namespaces' caches
/// together; a namespace first used after that resolves names per request.
const MAX_HOST_CACHE_ENTRIES: usize = 2_000_000;

/// Most (destination, namespace) pairs resolved in all namespaces' caches
/// together; destinations first used after that resolve per request.
const MAX_DEST_CACHE_ENTRIES: usize = 1_000_000;

/// Most (route, namespace) destination lists built in all namespaces'
/// caches together (each about 250 bytes: this bounds them near 125 MB).
const MAX_ROUTE_CACHE_ENTRIES: usize = 500_000;

/// A route's destinations as decisions from one namespace carry them.
type RouteDestinations = Box<[Destination<'static>]>;

/// What sidecars in one namespace resolve once and keep: the names of
/// known hosts when the cache is built, each route destination and route
/// destination list on its first use (a large mesh's routes are mostly
/// never asked for from a given namespace).
#[derive(Debug, Default)]
pub(crate) struct NamespaceCache {
    namespace: Box<str>,
    /// The names a caller may use for a known host.
    pub hosts: HashMap<Box<str>, CachedHost>,
    /// By `PreparedDest::key`: the destination resolved for this
    /// namespace, when that does not depend on the caller's labels or
    /// listener port (`None` then, and the decision resolves it). Empty
    /// when a DestinationRule in the namespace selects workloads.
    dests: Box<[OnceLock<Option<ResolvedDest>>]>,
    /// By `CompiledHttpRoute::id`: the route's whole destination list as a
    /// decision carries it, when every destination is in `dests` (a
    /// decision then borrows it instead of building one).
    routes: Box<[OnceLock<Option<RouteDestinations>>]>,
}

/// A route destination resolved for callers in one namespace.
#[derive(Debug)]
pub(crate) struct ResolvedDest {
    pub port: Option<u32>,
    pub cluster: Arc<str>,
    pub policy: Option<Arc<crate::model::destination_rule::TrafficPolicy>>,
    pub problem: Option<Box<str>>,
}

/// A host name resolved for one caller namespace.
#[derive(Debug, Clone)]
pub(crate) struct CachedHost {
    pub fqdn: Arc<str>,
    pub vs: Option<usize>,
    /// The registry service for `fqdn` seen from the namespace.
    pub service: Option<usize>,
    /// The name is also an exact VirtualService host: on HTTP it belongs
    /// to that VirtualService's own virtual host unless it is `fqdn` itself
    /// on a port of the service (see `Mesh::resolve_http`).
    pub exact_vs_host: bool,
}

/// The caches of the namespaces a configuration names, each built on first
/// use, and what they hold so far against the `MAX_*_CACHE_ENTRIES` bounds.
#[derive(Debug, Default)]
pub(crate) struct NamespaceCaches {
    by_namespace: HashMap<Box<str>, OnceLock<NamespaceCache>>,
    hosts_built: AtomicUsize,
    dests_built: AtomicUsize,
    routes_built: AtomicUsize,
}

impl NamespaceCaches {
    /// An unfilled cache for every namespace `config` names (any resource
    /// in it, a Namespace object, the root namespace, `default`).
    pub fn for_config(config: &Config, root_namespace: &str) -> NamespaceCaches {
        let mut by_namespace: HashMap<Box<str>, OnceLock<NamespaceCache>> = HashMap::default();
        let mut add = |ns: &str| {
            if !by_namespace.contains_key(ns) {
                by_namespace.insert(ns.into(), OnceLock::new());
            }
        };
        add("default");
        add(root_namespace);
        macro_rules! each {
            ($($list:ident),*) => {
                $(for r in &config.$list { add(r.namespace()); })*
            };
        }
        each!(
            virtual_services,
            destination_rules,
            gateways,
            service_entries,
            workload_entries,
            sidecars,
            services,
            workloads,
            ingresses
        );
        for n in &config.namespaces {
            add(n.name());
        }
        NamespaceCaches {
            by_namespace,
            ..NamespaceCaches::default()
        }
    }

    /// How many namespaces have a cache, filled or not.
    #[cfg(test)]
    pub fn namespaces(&self) -> usize {
        self.by_namespace.len()
    }

    /// How many namespaces' caches are filled.
    #[cfg(test)]
    pub fn filled(&self) -> usize {
        self.by_namespace
            .values()
            .filter(|c| c.get().is_some())
            .count()
    }

    /// Forgets every namespace: each decision then resolves per request.
    #[cfg(test)]
    pub fn clear(&mut self) {
        self.by_namespace.clear();
    }

    /// Reserves `count` entries under `max` in `built`; false (and nothing
    /// reserved) when that would go over.
    fn reserve(built: &AtomicUsize, count: usize, max: usize) -> bool {
        built
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(count).filter(|total| *total <= max)
            })
            .is_ok()
    }
}

impl Mesh {
    /// The cache of caller namespace `ns`, built by the first decision
    /// from it (concurrent first decisions wait for one build); `None` for
    /// a namespace the configuration does not name.
    #[inline]
    pub(super) fn namespace_cache(&self, ns: &str) -> Option<&NamespaceCache> {
        let cell = self.namespace_caches.by_namespace.get(ns)?;
        Some(cell.get_or_init(|| self.build_namespace_cache(ns)))
    }

    fn build_namespace_cache(&self, ns: &str) -> NamespaceCache {
        let mut hosts = self.resolve_host_names(ns);
        if !NamespaceCaches::reserve(
            &self.namespace_caches.hosts_built,
            hosts.len(),
            MAX_HOST_CACHE_ENTRIES,
        ) {
            hosts = HashMap::default();
        }
        let (dests, routes) = if self.rules.has_workload_selectors_in(ns) {
            (Box::default(), Box::default())
        } else {
            let route_count = self.vs.iter().map(|v| v.http.len()).sum::<usize>();
            (
                (0..self.dest_keys.len()).map(|_| OnceLock::new()).collect(),
                (0..route_count).map(|_| OnceLock::new()).collect(),
            )
        };
        NamespaceCache {
            namespace: ns.into(),
            hosts,
            dests,
            routes,
        }
    }

    /// Route destination `key` resolved for `cache`'s namespace, on its
    /// first use there; `None` when that depends on more than the
    /// namespace, or the cache bound is reached.
    #[inline]
    pub(super) fn cached_destination<'c>(
        &self,
        cache: &'c NamespaceCache,
        key: usize,
    ) -> Option<&'c ResolvedDest> {
        cache
            .dests
            .get(key)?
            .get_or_init(|| {
                NamespaceCaches::reserve(
                    &self.namespace_caches.dests_built,
                    1,
                    MAX_DEST_CACHE_ENTRIES,
                )
                .then(|| self.resolve_dest(key, &cache.namespace))
                .flatten()
            })
            .as_ref()
    }

    /// The destination list of route `route` (a `CompiledHttpRoute::id`)
    /// for `cache`'s namespace, built on its first use there; `None` when
    /// a destination is not cached or the cache bound is reached.
    #[inline]
    pub(super) fn cached_route_destinations<'c>(
        &self,
        cache: &'c NamespaceCache,
        route: &super::compile::CompiledHttpRoute,
    ) -> Option<&'c [Destination<'static>]> {
        cache
            .routes
            .get(route.id)?
            .get_or_init(|| {
                NamespaceCaches::reserve(
                    &self.namespace_caches.routes_built,
                    1,
                    MAX_ROUTE_CACHE_ENTRIES,
                )
                .then(|| self.route_destinations(cache, route))
                .flatten()
            })
            .as_deref()
    }

    /// Every name a caller in `ns` may use for a registry service (its
    /// FQDN, `name`, `name.ns`, `name.ns.svc`, and the same for exact
    /// VirtualService hosts), resolved for the namespace's default Sidecar;
    /// empty when that Sidecar imports per port (the per-request path
    /// decides then).
    fn resolve_host_names(&self, ns: &str) -> HashMap<Box<str>, CachedHost> {
        let mut map: HashMap<Box<str>, CachedHost> = HashMap::default();
        let sidecar = self.sidecars.namespace_default(ns);
        if !sidecar.is_none_or(|s| s.is_port_independent()) {
            return map;
        }
        let scope = Scope::of(ns, sidecar, 0);
        let suffix = format!(".svc.{}", self.options.domain_suffix);
        let services = self.registry.services();
        map.reserve(services.len() * 4);
        let mut add = |alias: &str| {
            if map.contains_key(alias) {
                return;
            }
            let Some(r) = self.resolve_any_port(alias, &scope) else {
                return;
            };
            let Some(service) = r.service else {
                return;
            };
            let hostname = &services[service].hostname;
            let fqdn = if **hostname == *r.fqdn {
                hostname.clone()
            } else {
                Arc::from(r.fqdn.as_str())
            };
            map.insert(
                alias.into(),
                CachedHost {
                    exact_vs_host: self.mesh_exact.contains_key(alias),
                    fqdn,
                    vs: r.vs,
                    service: Some(service),
                },
            );
        };
        let names = services
            .iter()
            .map(|s| &*s.hostname)
            .chain(self.mesh_exact.keys().map(String::as_str));
        for host in names {
            if host.starts_with('*') {
                continue;
            }
            add(host);
            if let Some(short) = host.strip_suffix(&suffix) {
                if let Some((name, _ns)) = short.split_once('.') {
                    add(name);
                    add(short);
                    add(&format!("{short}.svc"));
                }
            }
        }
        map
    }

    /// Route destination `key` resolved for sidecars in `ns`, where the
    /// answer depends only on the namespace: the port is written or the
    /// service has one (and no DestinationRule in `ns` selects workloads:
    /// the namespace's cache holds no destinations then).
    fn resolve_dest(&self, key: usize, ns: &str) -> Option<ResolvedDest> {
        let (host, subset, port) = self.dest_keys.get(key)?;
        let no_labels = std::collections::BTreeMap::new();
        let service = self.registry.lookup(host, ns);
        let port = port.or_else(|| service.and_then(|s| s.only_port()))?;
        let subset = subset.as_deref();
        let facts = self.destination_facts(host, service, subset, Some(port), ns, Some(&no_labels));
        let policy = facts.rule.and_then(|r| r.policy(Some(port), subset));
        Some(ResolvedDest {
            port: Some(port),
            cluster: self.shared_cluster_name(host, Some(port), subset),
            policy,
            problem: facts.problem.map(String::into_boxed_str),
        })
    }

    /// A route's destination list built from `cache`'s resolved
    /// destinations, exactly as `http_decision` builds it per request
    /// (zero-weight entries dropped when there are several, a lone one
    /// weighted 100); `None` for a route with a destination not resolved
    /// ahead of time, or none at all.
    fn route_destinations(
        &self,
        cache: &NamespaceCache,
        route: &super::compile::CompiledHttpRoute,
    ) -> Option<RouteDestinations> {
        let owned = |s: &str| std::borrow::Cow::Owned(s.to_string());
        let many = route.dests.len() > 1;
        let mut list = Vec::with_capacity(route.dests.len());
        for pd in &route.dests {
            if many && pd.weight == 0 {
                continue;
            }
            let r = self.cached_destination(cache, pd.key)?;
            list.push(Destination {
                host: owned(&pd.host),
                subset: pd.subset.as_deref().map(owned),
                port: r.port,
                weight: if many { pd.weight } else { 100 },
                cluster: owned(&r.cluster),
                policy: r.policy.clone().map(decision::Shared::Owned),
                problem: r.problem.as_deref().map(owned),
            });
        }
        (!list.is_empty()).then(|| list.into_boxed_slice())
    }
}
#[cfg(test)]
mod tests {
    use crate::decide::{Mesh, Request};
    use crate::load::load_str;

    /// Two namespaces with a service each, a VirtualService in one that
    /// routes by short name (which resolves per caller namespace), and a
    /// DestinationRule private to one namespace.
    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: api, namespace: red}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: blue}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: red}
spec:
  hosts: [api]
  http:
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: api, subset: v2}}]
  - route: [{destination: {host: api}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: red}
spec:
  host: api
  exportTo: ["."]
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
  subsets: [{name: v2, labels: {version: v2}}]
"#;

    fn requests() -> Vec<Request> {
        let mut out = Vec::new();
        for ns in ["red", "blue", "green", "default"] {
            for host in [
                "api",
                "api.red",
                "api.blue",
                "api.red.svc.cluster.local",
                "api.blue.svc.cluster.local",
            ] {
                for path in ["/", "/v2/x"] {
                    let mut r = Request::new(host);
                    r.path = path.into();
                    r.source.namespace = ns.into();
                    out.push(r);
                }
            }
        }
        out
    }

    fn decide_all(mesh: &Mesh, order: &[Request]) -> Vec<(String, serde_json::Value)> {
        order
            .iter()
            .map(|r| {
                (
                    format!("{}{} from {}", r.host, r.path, r.source.namespace),
                    mesh.explain(r).unwrap().to_json(),
                )
            })
            .collect()
    }

    #[test]
    fn decisions_do_not_depend_on_which_namespace_decides_first() {
        let config = load_str(CONFIG, "ns.yaml");
        let forward = requests();
        let mut backward = requests();
        backward.reverse();
        let a = decide_all(&Mesh::compile(&config), &forward);
        let mut b = decide_all(&Mesh::compile(&config), &backward);
        b.reverse();
        let mut uncached = Mesh::compile(&config);
        uncached.namespace_caches.clear();
        let c = decide_all(&uncached, &forward);
        assert_eq!(a, b);
        assert_eq!(a, c);
        // The short name `api` means each caller's own service.
        let from = |ns: &str| {
            let mut r = Request::new("api");
            r.source.namespace = ns.into();
            let mesh = Mesh::compile(&config);
            let d = mesh.decide(&r).unwrap();
            d.destinations()[0].cluster().to_string()
        };
        assert_eq!(from("red"), "outbound|80||api.red.svc.cluster.local");
        assert_eq!(from("blue"), "outbound|80||api.blue.svc.cluster.local");
    }

    #[test]
    fn a_caller_namespace_the_configuration_never_names_decides_as_without_caches() {
        let config = load_str(CONFIG, "ns.yaml");
        let mesh = Mesh::compile(&config);
        let mut uncached = Mesh::compile(&config);
        uncached.namespace_caches.clear();
        for host in ["api", "api.red", "api.blue.svc.cluster.local", "other"] {
            let mut r = Request::new(host);
            r.source.namespace = "elsewhere".into();
            assert_eq!(
                mesh.explain(&r).unwrap().to_json(),
                uncached.explain(&r).unwrap().to_json(),
                "{host}"
            );
            // The DestinationRule exported to `red` only does not apply.
            let d = mesh.decide(&r).unwrap();
            assert!(
                d.destinations().iter().all(|x| x.policy().is_none()),
                "{host}"
            );
        }
        // `api` from a namespace without a service of that name is unknown.
        let mut r = Request::new("api");
        r.source.namespace = "elsewhere".into();
        assert_eq!(
            mesh.decide(&r).unwrap().outcome(),
            crate::decide::Outcome::Passthrough
        );
        assert_eq!(mesh.namespace_caches.filled(), 0);
    }

    #[test]
    fn only_the_namespaces_that_decide_build_a_cache() {
        let config = load_str(CONFIG, "ns.yaml");
        let mesh = Mesh::compile(&config);
        // red, blue, default and the root namespace istio-system.
        assert_eq!(mesh.namespace_caches.namespaces(), 4);
        assert_eq!(mesh.namespace_caches.filled(), 0);
        let mut r = Request::new("api");
        r.source.namespace = "red".into();
        mesh.decide(&r).unwrap();
        mesh.decide(&r).unwrap();
        assert_eq!(mesh.namespace_caches.filled(), 1);
        r.source.namespace = "blue".into();
        mesh.decide(&r).unwrap();
        assert_eq!(mesh.namespace_caches.filled(), 2);
    }
}
