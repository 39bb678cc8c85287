//! Sidecar egress scoping: which services and VirtualServices a workload's
//! proxy imports, per egress listener, and which outbound traffic policy
//! applies to it (Istio `pilot/pkg/model/sidecar.go`, `SidecarScope`;
//! `pilot/pkg/model/virtualservice.go`, `SelectVirtualServices`).
//!
//! Every Sidecar is compiled once; a caller's Sidecar is found through an
//! index by namespace (a workloadSelector Sidecar whose labels the caller
//! carries, oldest first; else the namespace's Sidecar without selector;
//! else the root namespace's Sidecar without selector).

use super::compile::CompiledVs;
use super::OutboundPolicy;
use crate::destination_rules::resource_order;
use crate::fasthash::FastMap as HashMap;
use crate::hosts;
use crate::model::sidecar::{OutboundTrafficMode, Sidecar};
use crate::model::{Config, Resource};
use crate::registry::{labels_match, Service};
use std::collections::BTreeMap;

/// The namespace part of an egress `hosts` entry (`ns/host`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ImportNamespace {
    /// `*/`: every namespace.
    Any,
    /// `./`: the namespace of the proxy the Sidecar applies to (for a
    /// root-namespace default, the caller's own namespace).
    Own,
    /// `~/`: no namespace (imports nothing).
    None,
    /// `name/`.
    Named(String),
}

impl ImportNamespace {
    fn covers(&self, namespace: &str, caller_namespace: &str) -> bool {
        match self {
            ImportNamespace::Any => true,
            ImportNamespace::Own => namespace == caller_namespace,
            ImportNamespace::None => false,
            ImportNamespace::Named(n) => n == namespace,
        }
    }
}

/// One `ns/host` entry of an egress listener.
#[derive(Debug, Clone)]
struct Import {
    namespace: ImportNamespace,
    /// Lower-cased; `*` for every host.
    host: String,
}

impl Import {
    fn parse(entry: &str) -> Option<Import> {
        let (ns, host) = entry.split_once('/')?;
        let namespace = match ns {
            "*" => ImportNamespace::Any,
            "." => ImportNamespace::Own,
            "~" => ImportNamespace::None,
            other => ImportNamespace::Named(other.to_string()),
        };
        Some(Import {
            namespace,
            host: host.to_ascii_lowercase(),
        })
    }
}

/// One egress listener of a Sidecar.
#[derive(Debug)]
pub(crate) struct EgressScope {
    /// Position in the Sidecar's `egress` list.
    pub index: usize,
    /// The listener's port; `None` for the catch-all listener.
    pub port: Option<u32>,
    imports: Vec<Import>,
}

impl EgressScope {
    /// Whether the listener imports `service` (Istio
    /// `hostClassification.Matches`: the service host is a subset of an
    /// imported host of the service's namespace).
    pub fn imports_service(&self, service: &Service, caller_namespace: &str) -> bool {
        self.imports.iter().any(|i| {
            i.namespace.covers(&service.namespace, caller_namespace)
                && (i.host == "*" || hosts::subset_of(&service.hostname, &i.host))
        })
    }

    /// Whether the listener imports `vs` (Istio `VSMatches`: a host of the
    /// VirtualService equals an imported host of its namespace, or one of
    /// the two is a wildcard and they overlap).
    pub fn imports_virtual_service(&self, vs: &CompiledVs, caller_namespace: &str) -> bool {
        self.imports.iter().any(|i| {
            i.namespace.covers(&vs.namespace, caller_namespace)
                && vs.hosts.iter().any(|h| {
                    h == &i.host
                        || ((hosts::is_wildcard(h) || hosts::is_wildcard(&i.host))
                            && hosts::matches(h, &i.host))
                })
        })
    }

    /// The listener as the trace names it.
    pub fn describe(&self) -> String {
        match self.port {
            Some(p) => format!("egress[{}] (port {p})", self.index),
            None => format!("egress[{}] (every port)", self.index),
        }
    }
}

/// One Sidecar, compiled.
#[derive(Debug)]
pub(crate) struct CompiledSidecar {
    /// `namespace/name`.
    pub key: String,
    selector: Option<BTreeMap<String, String>>,
    pub listeners: Vec<EgressScope>,
    /// `outboundTrafficPolicy.mode`, when the Sidecar sets one.
    pub outbound_policy: Option<OutboundPolicy>,
    /// `outboundTrafficPolicy.egressProxy` (host, subset, port), where
    /// ALLOW_ANY sends unknown traffic instead of PassthroughCluster.
    pub egress_proxy: Option<EgressProxy>,
}

/// A Sidecar's `outboundTrafficPolicy.egressProxy`, its host expanded in
/// the Sidecar's namespace.
#[derive(Debug, Clone)]
pub(crate) struct EgressProxy {
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u32>,
}

impl CompiledSidecar {
    fn compile(sc: &Resource<Sidecar>, domain: &str) -> CompiledSidecar {
        let listeners = if sc.spec.egress.is_empty() {
            // No egress section: Istio imports everything (`*/*`) on every port.
            vec![EgressScope {
                index: 0,
                port: None,
                imports: vec![Import {
                    namespace: ImportNamespace::Any,
                    host: "*".into(),
                }],
            }]
        } else {
            sc.spec
                .egress
                .iter()
                .enumerate()
                .map(|(index, e)| EgressScope {
                    index,
                    port: e.port.as_ref().and_then(|p| p.number),
                    imports: e.hosts.iter().filter_map(|h| Import::parse(h)).collect(),
                })
                .collect()
        };
        CompiledSidecar {
            key: sc.key(),
            selector: sc
                .spec
                .workload_selector
                .as_ref()
                .map(|s| s.labels.clone())
                .filter(|l| !l.is_empty()),
            listeners,
            outbound_policy: sc.spec.outbound_traffic_policy.as_ref().map(|p| {
                match p.mode.unwrap_or_default() {
                    OutboundTrafficMode::RegistryOnly => OutboundPolicy::RegistryOnly,
                    OutboundTrafficMode::AllowAny => OutboundPolicy::AllowAny,
                }
            }),
            egress_proxy: sc
                .spec
                .outbound_traffic_policy
                .as_ref()
                .and_then(|p| p.egress_proxy.as_ref())
                .and_then(|d| {
                    Some(EgressProxy {
                        host: hosts::resolve_short_name(d.host.as_deref()?, sc.namespace(), domain)
                            .to_ascii_lowercase(),
                        subset: d.subset.clone(),
                        port: d.port.as_ref().and_then(|p| p.number),
                    })
                }),
        }
    }

    /// The egress listener that takes traffic to `port`: the one declaring
    /// that port, else the catch-all one. `None`: no listener, the traffic
    /// goes where the outbound traffic policy sends it.
    pub fn listener_for(&self, port: u32) -> Option<&EgressScope> {
        self.listeners
            .iter()
            .find(|l| l.port == Some(port))
            .or_else(|| self.listeners.iter().find(|l| l.port.is_none()))
    }

    /// Whether the Sidecar imports the same hosts on every port (one
    /// catch-all listener): what a per-namespace cache may assume.
    pub fn is_port_independent(&self) -> bool {
        matches!(self.listeners.as_slice(), [only] if only.port.is_none())
    }
}

/// The Sidecars of one namespace.
#[derive(Debug, Default)]
struct NamespaceSidecars {
    /// With a workloadSelector, oldest first.
    selected: Vec<usize>,
    /// Without one (the oldest, when several).
    default: Option<usize>,
}

/// Every Sidecar, indexed by namespace.
#[derive(Debug, Default)]
pub(crate) struct SidecarScopes {
    sidecars: Vec<CompiledSidecar>,
    by_namespace: HashMap<String, NamespaceSidecars>,
    root_default: Option<usize>,
}

impl SidecarScopes {
    /// Compiles the Sidecars of `config`; `root_namespace` holds the
    /// mesh-wide default.
    pub fn build(config: &Config, root_namespace: &str, domain: &str) -> SidecarScopes {
        let mut ordered: Vec<&Resource<Sidecar>> = config.sidecars.iter().collect();
        ordered.sort_by(|a, b| resource_order(a, b));
        let mut scopes = SidecarScopes::default();
        for sc in ordered {
            let i = scopes.sidecars.len();
            let compiled = CompiledSidecar::compile(sc, domain);
            let entry = scopes
                .by_namespace
                .entry(sc.namespace().to_string())
                .or_default();
            if compiled.selector.is_some() {
                entry.selected.push(i);
            } else if entry.default.is_none() {
                entry.default = Some(i);
                if sc.namespace() == root_namespace {
                    scopes.root_default = Some(i);
                }
            }
            scopes.sidecars.push(compiled);
        }
        scopes
    }

    /// Whether there is no Sidecar at all (every proxy sees the whole mesh).
    pub fn is_empty(&self) -> bool {
        self.sidecars.is_empty()
    }

    /// The Sidecar for a caller in `namespace` with `labels`.
    pub fn for_caller(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Option<&CompiledSidecar> {
        if self.sidecars.is_empty() {
            return None;
        }
        let ns = self.by_namespace.get(namespace);
        ns.and_then(|n| {
            n.selected.iter().map(|&i| &self.sidecars[i]).find(|s| {
                s.selector
                    .as_ref()
                    .is_some_and(|sel| labels_match(sel, labels))
            })
        })
        .or_else(|| self.namespace_default(namespace))
    }

    /// The Sidecar for callers in `namespace` that no workloadSelector
    /// Sidecar selects.
    pub fn namespace_default(&self, namespace: &str) -> Option<&CompiledSidecar> {
        self.by_namespace
            .get(namespace)
            .and_then(|n| n.default)
            .or(self.root_default)
            .map(|i| &self.sidecars[i])
    }
}

/// What a proxy sees for traffic to one port: its Sidecar and the egress
/// listener that takes the port (both absent without a Sidecar: the whole
/// mesh, as exportTo allows).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'m> {
    /// The caller's namespace.
    pub namespace: &'m str,
    pub sidecar: Option<&'m CompiledSidecar>,
    pub listener: Option<&'m EgressScope>,
}

impl<'m> Scope<'m> {
    /// The whole mesh, as seen from `namespace` without a Sidecar.
    pub fn whole_mesh(namespace: &'m str) -> Scope<'m> {
        Scope {
            namespace,
            sidecar: None,
            listener: None,
        }
    }

    /// The scope of `sidecar` (if any) for traffic to `port`.
    pub fn of(namespace: &'m str, sidecar: Option<&'m CompiledSidecar>, port: u32) -> Scope<'m> {
        Scope {
            namespace,
            sidecar,
            listener: sidecar.and_then(|s| s.listener_for(port)),
        }
    }

    /// Whether the proxy imports `service` (visibility is checked by the registry).
    pub fn imports_service(&self, service: &Service) -> bool {
        match (self.sidecar, self.listener) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(l)) => l.imports_service(service, self.namespace),
        }
    }

    /// Whether the proxy imports `vs` (visibility is checked by the caller).
    pub fn imports_virtual_service(&self, vs: &CompiledVs) -> bool {
        match (self.sidecar, self.listener) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(l)) => l.imports_virtual_service(vs, self.namespace),
        }
    }

    /// The Sidecar's outbound traffic policy, when it sets one.
    pub fn outbound_policy(&self) -> Option<OutboundPolicy> {
        self.sidecar.and_then(|s| s.outbound_policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_str;

    fn scopes(yaml: &str) -> SidecarScopes {
        let config = load_str(yaml, "test.yaml");
        assert!(config.messages.is_empty(), "{:?}", config.messages);
        SidecarScopes::build(&config, "istio-system", "cluster.local")
    }

    fn service(host: &str, namespace: &str) -> Service {
        Service {
            hostname: host.into(),
            namespace: namespace.into(),
            ports: Vec::new(),
            visibility: crate::registry::Visibility::Public,
            endpoints: Vec::new(),
            origin: crate::registry::ServiceOrigin::Kubernetes(format!("{namespace}/x")),
            resolution: None,
            addresses: Vec::new(),
        }
    }

    const SIDECARS: &str = r#"
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ns-wide, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  egress:
  - port: {number: 9080, protocol: HTTP, name: http}
    hosts: ["bookinfo/reviews.bookinfo.svc.cluster.local"]
  - hosts: ["*/*.example.com", "~/*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: for-cart, namespace: shop}
spec:
  workloadSelector: {labels: {app: cart}}
  egress:
  - hosts: ["*/*"]
"#;

    #[test]
    fn a_workload_selector_wins_over_the_namespace_sidecar_which_wins_over_the_root_one() {
        let s = scopes(SIDECARS);
        let cart = BTreeMap::from([("app".to_string(), "cart".to_string())]);
        let other = BTreeMap::new();
        assert_eq!(s.for_caller("shop", &cart).unwrap().key, "shop/for-cart");
        assert_eq!(s.for_caller("shop", &other).unwrap().key, "shop/ns-wide");
        assert_eq!(
            s.for_caller("web", &cart).unwrap().key,
            "istio-system/default"
        );
    }

    #[test]
    fn egress_listeners_import_per_port_and_namespace() {
        let s = scopes(SIDECARS);
        let sc = s.for_caller("shop", &BTreeMap::new()).unwrap();
        assert_eq!(sc.outbound_policy, Some(OutboundPolicy::RegistryOnly));
        let reviews = service("reviews.bookinfo.svc.cluster.local", "bookinfo");
        let api = service("api.example.com", "partners");
        let on_9080 = Scope::of("shop", Some(sc), 9080);
        let on_80 = Scope::of("shop", Some(sc), 80);
        assert!(on_9080.imports_service(&reviews));
        assert!(!on_9080.imports_service(&api));
        assert!(!on_80.imports_service(&reviews));
        assert!(on_80.imports_service(&api));
    }

    #[test]
    fn the_root_default_reads_dot_as_the_callers_namespace() {
        let s = scopes(SIDECARS);
        let sc = s.for_caller("web", &BTreeMap::new()).unwrap();
        let scope = Scope::of("web", Some(sc), 80);
        assert!(scope.imports_service(&service("front.web.svc.cluster.local", "web")));
        assert!(!scope.imports_service(&service("cart.shop.svc.cluster.local", "shop")));
        assert!(scope.imports_service(&service(
            "istiod.istio-system.svc.cluster.local",
            "istio-system"
        )));
    }

    #[test]
    fn without_a_sidecar_everything_is_imported() {
        let s = scopes("");
        assert!(s.for_caller("web", &BTreeMap::new()).is_none());
        let scope = Scope::whole_mesh("web");
        assert!(scope.imports_service(&service("cart.shop.svc.cluster.local", "shop")));
        assert_eq!(scope.outbound_policy(), None);
    }
}
