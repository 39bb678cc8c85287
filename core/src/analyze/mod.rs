//! Analysis as `istioctl analyze` does it (istio/istio
//! `pkg/config/analysis/analyzers`): cross-resource checks that admission
//! validation cannot make, with Istio's codes, severities and wording.
//!
//! [`analyze`] runs every analyzer group over one [`Config`]:
//!
//! | module | codes |
//! |---|---|
//! | [`destinations`] | IST0101 (`host`, `host:port`, `mirror host`, `host+subset in destinationrule`, `mirror+subset in destinationrule`), IST0112, IST0140 |
//! | [`gateways`] | IST0101 (`gateway`, `selector`), IST0132, IST0145, IST0162, IST0165 |
//! | [`gateway_merge`] | MR0009 (warnings: servers istiod's merge leaves out, one TLS name on two servers), MR0007 (Ingress parts Istio ignores) |
//! | [`mesh_hosts`] | IST0109 |
//! | [`destination_rules`] | IST0173, IST0174, IST0128, IST0129 (and several DestinationRules for one host: no message) |
//! | [`service_entries`] | IST0134, IST0177 |
//! | [`sidecars`] | IST0110, IST0111, IST0101 (`selector`) |
//! | [`deprecations`] | IST0002 |
//! | [`ports`] | IST0118, IST0150 |
//! | [`address_overlap`] | MR0008 |
//! | [`tls_credentials`] | IST0138, IST0101 (`credentialName`), IST0161 |
//! | [`jwt_claim_routes`] | IST0149 |
//!
//! Service lookups follow the analyzers' own model (`util.InitServiceEntryHostMap`
//! and `util.GetDestinationHost`), not the proxy's: every registry service
//! (built by [`Registry::build`]) is keyed by *scope* (`*` or one namespace,
//! from exportTo) and FQDN, and a host is looked up with the scope of the
//! referencing resource's exportTo. See [`ServiceIndex`].
//!
//! The analyzers read the configuration as `istioctl analyze` reads files
//! ([`defaults::analysis_view`]): resources in `kube-system`, `kube-public`,
//! `kube-node-lease` and `local-path-storage` are left out, and Istio's
//! default ingress gateway (a Pod labelled `istio: ingressgateway` and the
//! Service `istio-system/istio-ingressgateway`) is added, and Pods carry
//! their Node's topology labels (region, zone, subzone, hostname).
//!
//! Checks that ask whether a selector matches *no* pod (Gateway `selector`
//! IST0101, DestinationRule subsets IST0173, Sidecar `workloadSelector`
//! IST0101) run as in Istio: every workload of that view is a candidate, a
//! Pod by its labels and a Deployment (or other controller) by its pod
//! template's labels, standing for the pods it would run.
//!
//! Secrets, RequestAuthentications, Namespaces, Nodes and Gateway API
//! Gateways are read for analysis only (see `spec/analyzers.md`).

pub mod address_overlap;
pub mod defaults;
pub mod deprecations;
pub mod destination_rules;
pub mod destinations;
pub mod gateway_merge;
pub mod gateways;
pub mod jwt_claim_routes;
pub mod mesh_hosts;
pub mod ports;
pub mod service_entries;
pub mod sidecars;
pub mod tls_credentials;

use crate::fasthash::FastMap;
use crate::message::{Message, Severity};
use crate::model::{Config, Kind, Resource};
use crate::registry::{Registry, RegistryInputs, Service, ServiceOrigin, Visibility};
use std::collections::BTreeMap;

/// The cluster domain the analyzers assume (`svc.cluster.local` suffix).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Runs every analyzer over `config` and returns their messages, grouped by
/// analyzer in the order of the module table above, each group in resource
/// order.
pub fn analyze(config: &Config) -> Vec<Message> {
    let mut out = Vec::new();
    analyze_into(config, &mut out);
    out
}

/// [`analyze`], appending to `out`.
pub(crate) fn analyze_into(config: &Config, out: &mut Vec<Message>) {
    let extras = defaults::AnalysisExtras::new(config);
    let view = defaults::analysis_view(config, &extras);
    let config = &view;
    let registry = Registry::build_from(
        RegistryInputs {
            services: &config.services,
            workloads: &config.workloads,
            service_entries: &config.service_entries,
            workload_entries: &config.workload_entries,
            // The analyzers read hosts, ports and visibility only.
            with_endpoints: false,
        },
        CLUSTER_DOMAIN,
        &crate::MeshOptions::from_config(config.config).default_service_export_to,
    );
    let index = ServiceIndex::new(&registry);
    destinations::analyze(config, &index, out);
    gateways::analyze(config, out);
    gateway_merge::analyze(config, out);
    mesh_hosts::analyze(config, out);
    destination_rules::analyze(config, &index, out);
    service_entries::analyze(config, out);
    sidecars::analyze(config, out);
    deprecations::analyze(config, out);
    ports::analyze(config, out);
    address_overlap::analyze(config, out);
    tls_credentials::analyze(config, out);
    jwt_claim_routes::analyze(config, out);
}

/// The annotation that suppresses message codes on the resource carrying
/// it (comma-separated codes, or `*` for all), istio `annotation.GalleyAnalyzeSuppress`.
pub const SUPPRESS_ANNOTATION: &str = "galley.istio.io/analyze-suppress";

/// Leaves out the messages whose resource suppresses their code with
/// [`SUPPRESS_ANNOTATION`], as istioctl's `filterMessages` does (istio
/// `pkg/config/analysis/local/istiod_analyze.go`).
pub fn suppress_annotated(config: &Config, messages: &mut Vec<Message>) {
    fn collect<'a, T>(list: &'a [Resource<T>], out: &mut FastMap<String, &'a str>) {
        for r in list {
            if let Some(codes) = r.metadata.annotations.get(SUPPRESS_ANNOTATION) {
                out.insert(
                    resource_label(&r.kind_name, r.namespace(), r.name()),
                    codes.as_str(),
                );
            }
        }
    }
    let mut suppressed: FastMap<String, &str> = FastMap::default();
    collect(&config.virtual_services, &mut suppressed);
    collect(&config.destination_rules, &mut suppressed);
    collect(&config.gateways, &mut suppressed);
    collect(&config.service_entries, &mut suppressed);
    collect(&config.workload_entries, &mut suppressed);
    collect(&config.sidecars, &mut suppressed);
    collect(&config.services, &mut suppressed);
    collect(&config.workloads, &mut suppressed);
    if suppressed.is_empty() {
        return;
    }
    messages.retain(|m| {
        suppressed.get(&m.resource).is_none_or(|codes| {
            !codes
                .split(',')
                .any(|c| c.trim() == "*" || c.trim() == m.code)
        })
    });
}

/// A message about resource `r` of `kind`, pointing at `path` (or at its
/// nearest written parent).
pub(crate) fn report<T>(
    r: &Resource<T>,
    kind: Kind,
    code: &str,
    severity: Severity,
    path: &str,
    text: String,
    fix: &str,
) -> Message {
    Message::new(
        code,
        severity,
        resource_label(kind.as_str(), &r.metadata.namespace, &r.metadata.name),
        path,
        r.source_of(path),
        text,
        fix,
    )
}

/// Go's `%q` for the ASCII strings hosts and names are made of.
pub(crate) fn quote(s: &str) -> String {
    // Printable ASCII other than `"` and `\` is written as is: build that
    // common case directly instead of through the formatter.
    if s.bytes()
        .all(|b| (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\')
    {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        q.push_str(s);
        q.push('"');
        return q;
    }
    format!("{s:?}")
}

/// `Kind namespace/name`, the resource of a message.
pub(crate) fn resource_label(kind: &str, namespace: &str, name: &str) -> String {
    let mut label = String::with_capacity(kind.len() + namespace.len() + name.len() + 2);
    label.push_str(kind);
    label.push(' ');
    label.push_str(namespace);
    label.push('/');
    label.push_str(name);
    label
}

/// A label set as Kubernetes `labels.SelectorFromSet(..).String()` writes
/// it: `k1=v1,k2=v2`, keys sorted.
pub(crate) fn selector_string(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Istio's `util.ConvertHostToFQDN`: a dotless, non-wildcard host written
/// in `namespace` becomes `host.namespace.svc.cluster.local`.
pub(crate) fn to_fqdn(host: &str, namespace: &str) -> String {
    crate::hosts::resolve_short_name(host, namespace, CLUSTER_DOMAIN)
}

/// Istio's `util.GetResourceNameFromHost`: `(namespace, name)` read from
/// `name.namespace.svc.cluster.local`, or `(default_namespace, host)` for any
/// other host (short names and external hosts alike).
pub(crate) fn resource_name_from_host<'a>(
    default_namespace: &'a str,
    host: &'a str,
) -> (&'a str, &'a str) {
    if let Some(stem) = host.strip_suffix(".svc.cluster.local") {
        if let Some((name, ns)) = stem.rsplit_once('.') {
            if !name.is_empty() && !ns.is_empty() {
                return (ns, name);
            }
        }
    }
    (default_namespace, host)
}

/// The scopes Istio keys a resource under: `*` when exported everywhere,
/// else each exportTo entry with `.` read as the own namespace.
pub(crate) fn export_scopes(export_to: &[String], namespace: &str) -> Vec<String> {
    if export_to.is_empty() || export_to.iter().any(|e| e == "*") {
        return vec!["*".to_string()];
    }
    let mut scopes: Vec<String> = export_to
        .iter()
        .map(|e| {
            if e == "." {
                namespace.to_string()
            } else {
                e.clone()
            }
        })
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// One registry service as the analyzers key it.
#[derive(Debug)]
pub struct IndexedService<'a> {
    /// Host after `ConvertHostToFQDN` in the defining resource's namespace.
    pub fqdn: String,
    /// The registry service (ports, visibility, endpoints, origin).
    pub service: &'a Service,
}

/// The analyzers' service lookup (`util.InitServiceEntryHostMap` +
/// `util.GetDestinationHost`) over the registry's services.
#[derive(Debug)]
pub struct ServiceIndex<'a> {
    services: Vec<IndexedService<'a>>,
    /// Positions in `services` by FQDN, in registry order, so a lookup
    /// costs the same with 10 services as with 10,000.
    by_fqdn: FastMap<String, Vec<usize>>,
    /// Positions of the wildcard hosts (`*.example.com`).
    wildcards: Vec<usize>,
}

impl<'a> ServiceIndex<'a> {
    /// Indexes every service of `registry`.
    pub fn new(registry: &'a Registry) -> Self {
        let services: Vec<IndexedService<'a>> = registry
            .services()
            .iter()
            .map(|s| IndexedService {
                fqdn: to_fqdn(&s.hostname, &s.namespace),
                service: s,
            })
            .collect();
        let mut by_fqdn: FastMap<String, Vec<usize>> = FastMap::default();
        let mut wildcards = Vec::new();
        for (i, s) in services.iter().enumerate() {
            by_fqdn.entry(s.fqdn.clone()).or_default().push(i);
            if s.fqdn.starts_with('*') {
                wildcards.push(i);
            }
        }
        ServiceIndex {
            services,
            by_fqdn,
            wildcards,
        }
    }

    /// The service `host` refers to, for a resource in `source_namespace`
    /// with `export_to`: first an exact FQDN exported to `*`; then one
    /// exported to the resource's own namespace (exportTo unset) or to one
    /// of its exportTo namespaces; then a wildcard host exported to `*` or
    /// to `source_namespace` whose suffix ends `host` (the most specific one;
    /// Istio takes whichever its map yields first). A Kubernetes Service wins
    /// over a ServiceEntry with the same key, as in Istio's map, where
    /// Services are written last.
    pub fn lookup(
        &self,
        source_namespace: &str,
        export_to: &[String],
        host: &str,
    ) -> Option<&IndexedService<'a>> {
        let mut fqdn = to_fqdn(host, source_namespace);
        fqdn.make_ascii_lowercase();
        let exact = |scope_ok: &dyn Fn(&Visibility) -> bool| {
            let mut found: Option<&IndexedService<'a>> = None;
            let same = self.by_fqdn.get(&fqdn).map(Vec::as_slice).unwrap_or(&[]);
            for s in same.iter().filter_map(|&i| self.services.get(i)) {
                if !scope_ok(&s.service.visibility) {
                    continue;
                }
                let kube = matches!(s.service.origin, ServiceOrigin::Kubernetes(_));
                match found {
                    Some(f) if matches!(f.service.origin, ServiceOrigin::Kubernetes(_)) => {}
                    Some(_) if !kube => {}
                    _ => found = Some(s),
                }
            }
            found
        };
        if let Some(s) = exact(&|v| matches!(v, Visibility::Public)) {
            return Some(s);
        }
        let in_scope = |scope: &str| {
            exact(
                &|v: &Visibility| matches!(v, Visibility::Namespaces(list) if list.iter().any(|n| n == scope)),
            )
        };
        if export_to.is_empty() {
            if let Some(s) = in_scope(source_namespace) {
                return Some(s);
            }
        }
        for e in export_to {
            let scope = if e == "." {
                source_namespace
            } else {
                e.as_str()
            };
            if let Some(s) = in_scope(scope) {
                return Some(s);
            }
        }
        if self.wildcards.is_empty() {
            return None;
        }
        let bare = host.strip_prefix('*').unwrap_or(host).to_ascii_lowercase();
        self.wildcards
            .iter()
            .filter_map(|&i| self.services.get(i))
            .filter(|s| s.service.visibility.visible_in(source_namespace))
            .filter(|s| bare.ends_with(&s.fqdn[1..]))
            .min_by(|a, b| crate::hosts::more_specific(&a.fqdn, &b.fqdn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_name_reads_cluster_local_fqdns_only() {
        assert_eq!(
            resource_name_from_host("x", "reviews.prod.svc.cluster.local"),
            ("prod", "reviews")
        );
        assert_eq!(resource_name_from_host("x", "reviews"), ("x", "reviews"));
        assert_eq!(
            resource_name_from_host("x", "httpbin.org"),
            ("x", "httpbin.org")
        );
    }

    #[test]
    fn quote_matches_go_and_debug_quoting() {
        assert_eq!(quote("svc-1.ns"), "\"svc-1.ns\"");
        assert_eq!(quote("a b"), "\"a b\"");
        // Characters that need escapes go through the formatter.
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("tab\t"), "\"tab\\t\"");
        assert_eq!(quote("ü"), format!("{:?}", "ü"));
    }

    #[test]
    fn resource_label_is_kind_namespace_and_name() {
        assert_eq!(
            resource_label("VirtualService", "ns", "a"),
            "VirtualService ns/a"
        );
    }

    #[test]
    fn export_scopes_collapse_to_star() {
        assert_eq!(export_scopes(&[], "a"), ["*"]);
        assert_eq!(export_scopes(&[".".into(), "b".into()], "a"), ["a", "b"]);
        assert_eq!(export_scopes(&["b".into(), "*".into()], "a"), ["*"]);
    }

    fn config(yaml: &str) -> Config {
        let c = crate::load::load_str(yaml, "t.yaml");
        assert!(c.messages.is_empty(), "{:?}", c.messages);
        c
    }

    const PRIVATE_SE: &str = "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: a}
spec:
  hosts: [ext.example.com, '*.wild.com']
  exportTo: [.]
  ports: [{number: 80, name: http, protocol: HTTP}]
";

    #[test]
    fn lookup_uses_the_referencing_namespace_and_export_to() {
        let c = config(PRIVATE_SE);
        let registry = Registry::build(&c, CLUSTER_DOMAIN);
        let index = ServiceIndex::new(&registry);
        assert!(index.lookup("a", &[], "ext.example.com").is_some());
        assert!(index.lookup("b", &[], "ext.example.com").is_none());
        // A resource in b exported to a looks the host up in scope a.
        assert!(index
            .lookup("b", &["a".into()], "ext.example.com")
            .is_some());
        // Wildcard hosts are scoped by the referencing namespace only.
        assert!(index.lookup("a", &[], "x.wild.com").is_some());
        assert!(index.lookup("b", &["a".into()], "x.wild.com").is_none());
    }

    #[test]
    fn lookup_expands_short_names_in_the_referencing_namespace() {
        let c = config("apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: a}\nspec:\n  ports: [{name: http, port: 9080}]\n");
        let registry = Registry::build(&c, CLUSTER_DOMAIN);
        let index = ServiceIndex::new(&registry);
        assert!(index.lookup("a", &[], "reviews").is_some());
        assert!(index.lookup("b", &[], "reviews").is_none());
        assert!(index
            .lookup("b", &[], "reviews.a.svc.cluster.local")
            .is_some());
        assert!(index.lookup("b", &[], "reviews.a").is_none());
    }

    #[test]
    fn selector_string_is_sorted_pairs() {
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), "2".to_string());
        m.insert("a".to_string(), "1".to_string());
        assert_eq!(selector_string(&m), "a=1,b=2");
        assert_eq!(selector_string(&BTreeMap::new()), "");
    }
}
