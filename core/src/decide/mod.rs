//! Deciding: a compiled [`Mesh`] and a [`Request`] give a [`Decision`].

mod actions;
pub(crate) mod compile;
pub mod decision;
mod destinations;
mod evaluate;
pub(crate) mod gateway;
mod index;
mod namespace_cache;
pub mod request;
mod request_view;
pub mod retries;
mod scope;
mod sidecar;
mod table;
mod trace;

pub use decision::{
    Decision, Destination, DirectResponse, Fault, FaultAbort, FaultDelay, HeaderOps, Mirror,
    Outcome, Redirect, Retries, Rewrite, RuleRef, TraceEntry, Verdict,
};
pub use request::{Caller, Headers, Protocol, Request, RequestFields};
pub use table::{
    GatewayPort, GatewayView, GatewayVirtualHost, RouteEntry, SidecarView, VirtualHost,
};

use crate::destination_rules::RuleIndex;
use crate::fasthash::FastMap as HashMap;
use crate::model::Config;
use crate::registry::Registry;
use std::sync::Arc;

pub(crate) use namespace_cache::NamespaceCache;

/// Why a request could not be decided (the configuration is fine; the
/// request itself is malformed or over a limit). Each limit is a constant
/// in [`crate::limits`], which the message names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The path (with query) is longer than
    /// [`crate::limits::MAX_REQUEST_PATH_BYTES`].
    #[error("invalid request: path is {bytes} bytes, more than {limit} ({})", crate::limits::hint("max_request_path_bytes", *.limit as u64))]
    PathTooLong {
        /// The path's length in bytes.
        bytes: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// More headers than [`crate::limits::MAX_REQUEST_HEADERS`].
    #[error("invalid request: {count} headers, more than {limit} ({})", crate::limits::hint("max_request_headers", *.limit as u64))]
    TooManyHeaders {
        /// How many headers the request has.
        count: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// A header whose name and value together are longer than
    /// [`crate::limits::MAX_REQUEST_HEADER_BYTES`].
    #[error("invalid request: header {name:?} is {bytes} bytes, more than {limit} ({})", crate::limits::hint("max_request_header_bytes", *.limit as u64))]
    HeaderTooLong {
        /// The header's name (lower case).
        name: String,
        /// Name and value length together, in bytes.
        bytes: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// The request names no host (`:authority` / `Host` is empty).
    #[error("invalid request: host is empty")]
    EmptyHost,
}

/// How the mesh is set up (mesh-wide settings Istio takes from MeshConfig;
/// [`MeshOptions::from_config`] reads them from a configuration's mesh
/// config, see [`crate::mesh_config`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MeshOptions {
    /// Istio's root namespace (DestinationRule lookup falls back to it).
    pub root_namespace: String,
    /// Cluster domain suffix for short-name expansion.
    pub domain_suffix: String,
    /// Outbound traffic policy for hosts unknown to the registry.
    pub outbound_policy: OutboundPolicy,
    /// How Envoy normalizes the path before routing (meshConfig.pathNormalization).
    pub path_normalization: crate::matching::path::PathNormalization,
    /// `exportTo` of Services and ServiceEntries that set none
    /// (meshConfig.defaultServiceExportTo; Istio's default `["*"]`).
    pub default_service_export_to: Vec<String>,
    /// `exportTo` of VirtualServices that set none
    /// (meshConfig.defaultVirtualServiceExportTo).
    pub default_virtual_service_export_to: Vec<String>,
    /// `exportTo` of DestinationRules that set none
    /// (meshConfig.defaultDestinationRuleExportTo).
    pub default_destination_rule_export_to: Vec<String>,
    /// The retry policy of routes that set no `retries`
    /// (meshConfig.defaultHttpRetryPolicy); `None` is Istio's built-in one.
    pub default_retry_policy: Option<crate::model::virtual_service::HttpRetry>,
    /// Where the mesh settings came from (`ConfigMap istio-system/istio`,
    /// `mesh config file mesh.yaml`); `None` for Istio's defaults. Explain
    /// names it where a mesh setting decides.
    pub origin: Option<String>,
    /// The request limits decisions apply (the configuration's, by [`MeshOptions::from_config`]).
    pub limits: crate::limits::Limits,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            root_namespace: "istio-system".into(),
            domain_suffix: "cluster.local".into(),
            outbound_policy: OutboundPolicy::AllowAny,
            path_normalization: crate::matching::path::PathNormalization::Base,
            default_service_export_to: vec!["*".into()],
            default_virtual_service_export_to: vec!["*".into()],
            default_destination_rule_export_to: vec!["*".into()],
            default_retry_policy: None,
            origin: None,
            limits: crate::limits::Limits::default(),
        }
    }
}

impl MeshOptions {
    /// The settings of `config`'s mesh config in force
    /// ([`Config::mesh_config`]: an explicit file over the mesh ConfigMap),
    /// Istio's defaults for what it leaves out. [`Mesh::compile`] uses them.
    pub fn from_config(config: &Config) -> MeshOptions {
        let mut options = MeshOptions::default();
        options.limits.clone_from(&config.limits);
        if let Some(source) = config.mesh_config() {
            options.apply(&source.config);
            options.origin = Some(source.origin.to_string());
        }
        options
    }

    /// Sets the fields `mesh` writes; the others keep their values.
    pub fn apply(&mut self, mesh: &crate::mesh_config::MeshConfig) {
        use crate::mesh_config::OutboundMode;
        if let Some(policy) = &mesh.outbound_traffic_policy {
            // An outboundTrafficPolicy without a mode is the proto's zero value.
            self.outbound_policy = match policy.mode.unwrap_or(OutboundMode::RegistryOnly) {
                OutboundMode::RegistryOnly => OutboundPolicy::RegistryOnly,
                OutboundMode::AllowAny | OutboundMode::AllowAnyDynamicDns => {
                    OutboundPolicy::AllowAny
                }
            };
        }
        if let Some(ns) = mesh.root_namespace.as_ref().filter(|ns| !ns.is_empty()) {
            self.root_namespace.clone_from(ns);
        }
        // An empty list is unset: Istio keeps "*" (push_context.go initDefaultExportMaps).
        let export = |field: &Option<Vec<String>>, into: &mut Vec<String>| {
            if let Some(list) = field.as_ref().filter(|l| !l.is_empty()) {
                into.clone_from(list);
            }
        };
        export(
            &mesh.default_service_export_to,
            &mut self.default_service_export_to,
        );
        export(
            &mesh.default_virtual_service_export_to,
            &mut self.default_virtual_service_export_to,
        );
        export(
            &mesh.default_destination_rule_export_to,
            &mut self.default_destination_rule_export_to,
        );
        if let Some(retry) = &mesh.default_http_retry_policy {
            self.default_retry_policy = Some(retry.clone());
        }
        if let Some(mode) = mesh
            .path_normalization
            .as_ref()
            .and_then(|p| p.normalization)
        {
            self.path_normalization = mode.mode();
        }
    }

    /// Where a mesh setting came from, for explanations.
    pub(crate) fn origin_text(&self) -> &str {
        self.origin
            .as_deref()
            .unwrap_or("Istio's default mesh config")
    }
}

/// What happens to traffic for hosts the registry does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutboundPolicy {
    /// Passed through to the original destination (Istio's default).
    #[default]
    AllowAny,
    /// Refused: HTTP 502 from the BlackHoleCluster, TCP closed.
    RegistryOnly,
}

/// The compiled routing table. Cheap to share (`Arc<Mesh>`), `Send +
/// Sync`, rebuilt when the configuration changes.
///
/// [`Mesh::compile`] builds what every caller shares, in time and memory
/// linear in the configuration: the registry, the merged DestinationRules
/// (indexed by namespace and host), the VirtualServices in Istio's order
/// with their matchers and first-match indexes (textually equal regexes
/// compiled once), the Sidecar and Gateway tables, which services each
/// VirtualService host covers, and the Envoy cluster names.
///
/// What depends on the caller's namespace (the names a pod there may use
/// for each host, and each route destination and destination list as
/// that namespace sees it through exportTo, its Sidecar and the
/// DestinationRule lookup path) is built by the first decision from that
/// namespace and kept: a process pays for the namespaces it decides for,
/// not namespaces x hosts. Later decisions read it without a lock. The
/// answers never depend on which namespace decided first: the caches only
/// remember what deciding per request gives, which is also the path for a
/// caller from a namespace the configuration never names.
#[derive(Debug)]
pub struct Mesh {
    options: MeshOptions,
    registry: Registry,
    rules: RuleIndex,
    vs: Vec<compile::CompiledVs>,
    /// Exact hosts claimed by VirtualServices bound to the mesh: index into `vs`, in order.
    mesh_exact: HashMap<String, Vec<usize>>,
    /// Wildcard hosts claimed by VirtualServices bound to the mesh.
    mesh_wildcard: Vec<(String, usize)>,
    /// By position in `mesh_wildcard`: the registry services its host covers.
    wildcard_services: Vec<Vec<usize>>,
    /// By index in `vs`: the registry services its hosts cover.
    vs_services: Vec<Vec<usize>>,
    /// By port: the registry services (ExternalName aliases aside) with that port.
    port_services: HashMap<u32, Vec<usize>>,
    /// The Sidecars, indexed by namespace.
    sidecars: scope::SidecarScopes,
    gateways: gateway::GatewayTable,
    /// Per caller namespace the configuration names: what its sidecars
    /// resolve ahead of time, built by the first decision from it.
    namespace_caches: namespace_cache::NamespaceCaches,
    /// The distinct route destinations, indexed by `PreparedDest::key`.
    dest_keys: Vec<DestKey>,
    /// Envoy cluster names built once: host -> (port, subset, name).
    clusters: ClusterNames,
    /// Istio's retry policy for routes that set none, lent to decisions.
    pub(crate) default_retries: Arc<Retries>,
}

/// Envoy cluster names by host: (port, subset, name).
type ClusterNames = HashMap<Arc<str>, Vec<(u32, Option<Arc<str>>, Arc<str>)>>;

/// A route destination as written: host, subset, port.
type DestKey = (Arc<str>, Option<Arc<str>>, Option<u32>);

/// Which registry services the mesh's VirtualService hosts cover, and
/// which services listen on each port, computed once.
struct HostCoverage {
    wildcard_services: Vec<Vec<usize>>,
    vs_services: Vec<Vec<usize>>,
    port_services: HashMap<u32, Vec<usize>>,
}

impl HostCoverage {
    fn build(
        registry: &Registry,
        vs: &[compile::CompiledVs],
        mesh_wildcard: &[(String, usize)],
    ) -> HostCoverage {
        let services = registry.services();
        let routable = |s: &crate::registry::Service| registry.alias_target(&s.hostname).is_none();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::default();
        let mut port_services: HashMap<u32, Vec<usize>> = HashMap::default();
        for (i, s) in services.iter().enumerate() {
            if !routable(s) {
                continue;
            }
            by_name.entry(&*s.hostname).or_default().push(i);
            for p in &s.ports {
                port_services.entry(p.number).or_default().push(i);
            }
        }
        let covered = |host: &str| -> Vec<usize> {
            if crate::hosts::is_wildcard(host) {
                (0..services.len())
                    .filter(|&i| routable(&services[i]))
                    .filter(|&i| crate::hosts::matches(&services[i].hostname, host))
                    .collect()
            } else {
                by_name.get(host).cloned().unwrap_or_default()
            }
        };
        let wildcard_services = mesh_wildcard.iter().map(|(h, _)| covered(h)).collect();
        let vs_services = vs
            .iter()
            .map(|v| {
                let mut list: Vec<usize> = v.hosts.iter().flat_map(|h| covered(h)).collect();
                list.sort_unstable();
                list.dedup();
                list
            })
            .collect();
        HostCoverage {
            wildcard_services,
            vs_services,
            port_services,
        }
    }
}

impl Mesh {
    /// Compiles a configuration with the mesh settings of its mesh config
    /// ([`MeshOptions::from_config`]; Istio's defaults without one).
    /// Resources that failed to load are absent from `config` and so from
    /// the table.
    pub fn compile(config: &Config) -> Mesh {
        Mesh::compile_with(config, MeshOptions::from_config(config))
    }

    /// Compiles a configuration with the given mesh settings.
    pub fn compile_with(config: &Config, options: MeshOptions) -> Mesh {
        let domain = options.domain_suffix.clone();
        // Ingresses route as the Gateways and VirtualServices Istio makes of them.
        let with_ingresses = crate::ingress::with_converted(config, &domain);
        let config: &Config = &with_ingresses;
        let mut vs = compile::compile_virtual_services(
            config,
            &domain,
            &options.default_virtual_service_export_to,
        );
        let default_retries = Arc::new(crate::decide::retries::mesh_default_retries(
            options.default_retry_policy.as_ref(),
        ));
        // Routes that set no retries take the mesh's default policy
        // (route.go: `policy = opts.Mesh.GetDefaultHttpRetryPolicy()`).
        for route in vs.iter_mut().flat_map(|v| v.http.iter_mut()) {
            if route.route.retries.is_none() {
                route.retries = default_retries.clone();
            }
        }
        let mut dest_keys: Vec<DestKey> = Vec::new();
        let mut key_of: HashMap<DestKey, usize> = HashMap::default();
        for (id, route) in vs.iter_mut().flat_map(|v| v.http.iter_mut()).enumerate() {
            route.id = id;
        }
        for pd in vs
            .iter_mut()
            .flat_map(|v| v.http.iter_mut())
            .flat_map(|r| r.dests.iter_mut())
        {
            let key = (pd.host.clone(), pd.subset.clone(), pd.port);
            pd.key = *key_of.entry(key.clone()).or_insert_with(|| {
                dest_keys.push(key);
                dest_keys.len() - 1
            });
        }
        let mut mesh_exact: HashMap<String, Vec<usize>> = HashMap::default();
        let mut mesh_wildcard = Vec::new();
        for (i, v) in vs.iter().enumerate() {
            if !v.bound_to(&crate::hosts::GatewayRef::Mesh) {
                continue;
            }
            for h in &v.hosts {
                if h.starts_with('*') {
                    mesh_wildcard.push((h.clone(), i));
                } else {
                    let list = mesh_exact.entry(h.clone()).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        let gateways = gateway::GatewayTable::build(config, &domain);
        let registry = Registry::build_with(config, &domain, &options.default_service_export_to);
        let coverage = HostCoverage::build(&registry, &vs, &mesh_wildcard);
        let namespace_caches =
            namespace_cache::NamespaceCaches::for_config(config, &options.root_namespace);
        let mut mesh = Mesh {
            rules: RuleIndex::build_with(
                config,
                &domain,
                &options.default_destination_rule_export_to,
            ),
            sidecars: scope::SidecarScopes::build(config, &options.root_namespace, &domain),
            registry,
            vs,
            mesh_exact,
            mesh_wildcard,
            wildcard_services: coverage.wildcard_services,
            vs_services: coverage.vs_services,
            port_services: coverage.port_services,
            gateways,
            options,
            namespace_caches,
            dest_keys,
            clusters: HashMap::default(),
            default_retries,
        };
        mesh.clusters = mesh.build_cluster_names();
        mesh
    }

    /// Every registry service's cluster names: each port, without a
    /// subset and with each subset of the DestinationRules whose host
    /// covers the service. Rules are found by exact host, then in the
    /// (short) list of wildcard hosts, so this costs services + rules.
    fn build_cluster_names(&self) -> ClusterNames {
        let rules = self.rules.rules();
        let mut exact: HashMap<&str, Vec<usize>> = HashMap::default();
        let mut wildcard: Vec<usize> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if crate::hosts::is_wildcard(&r.host) {
                wildcard.push(i);
            } else {
                exact.entry(&r.host).or_default().push(i);
            }
        }
        let mut out = ClusterNames::default();
        let mut covering: Vec<usize> = Vec::new();
        for s in self.registry.services() {
            covering.clear();
            if let Some(list) = exact.get(&*s.hostname) {
                covering.extend_from_slice(list);
            }
            covering.extend(
                wildcard
                    .iter()
                    .copied()
                    .filter(|&i| crate::hosts::subset_of(&s.hostname, &rules[i].host)),
            );
            // Subsets in the order of the rules, as Istio lists them.
            covering.sort_unstable();
            let mut subsets: Vec<Arc<str>> = Vec::new();
            for &i in &covering {
                for sub in rules[i].subsets.iter().filter_map(|x| x.name.as_deref()) {
                    if !subsets.iter().any(|x| &**x == sub) {
                        subsets.push(Arc::from(sub));
                    }
                }
            }
            let entry = out.entry(s.hostname.clone()).or_default();
            for p in &s.ports {
                for sub in std::iter::once(None).chain(subsets.iter().cloned().map(Some)) {
                    let name = format!(
                        "outbound|{}|{}|{}",
                        p.number,
                        sub.as_deref().unwrap_or(""),
                        s.hostname
                    );
                    entry.push((p.number, sub, Arc::from(name)));
                }
            }
        }
        out
    }

    /// [`Mesh::cluster_name`] as a shared string (the table's own for the
    /// registry's clusters).
    pub(crate) fn shared_cluster_name(
        &self,
        host: &str,
        port: Option<u32>,
        subset: Option<&str>,
    ) -> Arc<str> {
        if let Some(p) = port {
            if let Some((_, _, name)) = self.clusters.get(host).and_then(|list| {
                list.iter()
                    .find(|(lp, ls, _)| *lp == p && ls.as_deref() == subset)
            }) {
                return name.clone();
            }
        }
        Arc::from(self.cluster_name(host, port, subset).as_ref())
    }

    /// The Envoy cluster name Istio gives `host` on `port` with `subset`:
    /// `outbound|PORT|SUBSET|HOST` (empty fields for what is absent).
    /// Borrowed from the table for the registry's services and their
    /// DestinationRule subsets, built otherwise.
    pub fn cluster_name(
        &self,
        host: &str,
        port: Option<u32>,
        subset: Option<&str>,
    ) -> std::borrow::Cow<'_, str> {
        if let Some(p) = port {
            if let Some(list) = self.clusters.get(host) {
                if let Some((_, _, name)) = list
                    .iter()
                    .find(|(lp, ls, _)| *lp == p && ls.as_deref() == subset)
                {
                    return std::borrow::Cow::Borrowed(name);
                }
            }
        }
        std::borrow::Cow::Owned(format!(
            "outbound|{}|{}|{}",
            port.map(|p| p.to_string()).unwrap_or_default(),
            subset.unwrap_or(""),
            host
        ))
    }

    /// The mesh settings.
    pub fn options(&self) -> &MeshOptions {
        &self.options
    }

    /// The service registry the table was built with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The merged DestinationRules the table was built with.
    pub fn destination_rules(&self) -> &RuleIndex {
        &self.rules
    }

    /// Decides where `request` goes (no trace).
    #[inline]
    pub fn decide(&self, request: &Request) -> Result<Decision<'_>, RequestError> {
        request.check_limits_within(&self.options.limits)?;
        Ok(self.run_inner(request, false))
    }

    /// [`Mesh::decide`] into a decision the caller keeps: `out` is replaced
    /// (its old contents dropped) when the request is accepted, and left as
    /// it was when it is refused. For callers that decide again and again
    /// into one place, as the C binding's `meshroute_mesh_decide_into` does.
    #[inline]
    pub fn decide_into<'m>(
        &'m self,
        request: &Request,
        out: &mut Decision<'m>,
    ) -> Result<(), RequestError> {
        request.check_limits_within(&self.options.limits)?;
        *out = self.run_inner(request, false);
        Ok(())
    }

    /// Decides where `request` goes, with the trace that says why.
    pub fn explain(&self, request: &Request) -> Result<Decision<'_>, RequestError> {
        request.check_limits_within(&self.options.limits)?;
        Ok(self.run_inner(request, true))
    }
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn mesh_is_send_and_sync() {
        assert_send_sync::<super::Mesh>();
    }
}
