//! The configuration as `istioctl analyze` sees files (istio/istio
//! `pkg/config/analysis/local/istiod_analyze.go`, `local/defaults.go`):
//!
//! * Resources in the namespaces Istio never analyses are left out
//!   (`inject.IgnoredNamespaces`: `kube-system`, `kube-public`,
//!   `kube-node-lease`, `local-path-storage`; istioctl's namespace filter).
//! * The default ingress gateway is added (`AddDefaultResources`): a Pod
//!   `istio-ingressgateway-dummypod` labelled `istio: ingressgateway` and the
//!   Service `istio-ingressgateway` (ports 80 `http2`, 443 `https`, 31400
//!   `tcp`, 15443 `tls`) in `istio-system`, so that files written for the
//!   usual installation do not draw messages about a gateway they do not
//!   contain. Istio adds them unless mesh config sets
//!   `ingressControllerMode: OFF`; meshroute adds each unless the files hold
//!   a resource of that kind, namespace and name already.
//!
//! * Pods are labelled with their Node's topology (region, zone, subzone,
//!   hostname), as Istio's registry labels endpoints and
//!   `analyzers/destinationrule/subset.go` matches subsets against them.
//!
//! This view exists for analysis only: routing ([`crate::Mesh::compile`])
//! never sees the default gateway.

use crate::fasthash::FastMap;
use crate::load::load_str;
use crate::model::{
    gateway_api, kube, security, service_entry_status, Config, DestinationRule, Gateway, Resource,
    ServiceEntry, Sidecar, VirtualService, WorkloadEntry,
};
use crate::registry::LabelIndex;

/// The file name the default gateway resources carry, as Istio names their
/// reader.
pub const DEFAULT_RESOURCES_SOURCE: &str = "internal-ingress";

/// Namespaces `istioctl analyze` leaves out (istio `pkg/kube/inject`
/// `IgnoredNamespaces`).
pub const IGNORED_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// istio `local/defaults.go` `defaultIstioIngressGateway`, with the
/// `istio-system` namespace and the `istio-ingressgateway` service name of a
/// default mesh config.
const DEFAULT_INGRESS_GATEWAY: &str = "apiVersion: v1
kind: Pod
metadata:
  labels: {istio: ingressgateway}
  name: istio-ingressgateway-dummypod
  namespace: istio-system
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
spec:
  ports:
  - {name: http2, nodePort: 31380, port: 80, protocol: TCP, targetPort: 80}
  - {name: https, nodePort: 31390, port: 443, protocol: TCP, targetPort: 443}
  - {name: tcp, nodePort: 31400, port: 31400, protocol: TCP, targetPort: 31400}
  - {name: tls, nodePort: 31447, port: 15443, protocol: TCP, targetPort: 15443}
  selector: {istio: ingressgateway}
";

/// Whether a resource is one of the default gateway resources (not the
/// user's).
pub fn is_default_resource<T>(r: &Resource<T>) -> bool {
    &*r.source.file == DEFAULT_RESOURCES_SOURCE
}

/// The resources of one kind in an [`AnalysisView`]: references into the
/// loaded configuration (or into [`AnalysisExtras`]), in load order.
pub type Kept<'a, T> = Vec<&'a Resource<T>>;

/// The configuration as the analyzers read it, borrowed: the loaded
/// resources minus the ignored namespaces, plus the default ingress gateway,
/// with Pods carrying their Node's topology labels. Nothing of the loaded
/// configuration is copied but the Pods whose labels change.
#[derive(Debug)]
pub struct AnalysisView<'a> {
    /// The loaded configuration (mesh config, Ingresses, IngressClasses).
    pub config: &'a Config,
    /// VirtualServices.
    pub virtual_services: Kept<'a, VirtualService>,
    /// DestinationRules.
    pub destination_rules: Kept<'a, DestinationRule>,
    /// Gateways.
    pub gateways: Kept<'a, Gateway>,
    /// ServiceEntries.
    pub service_entries: Kept<'a, ServiceEntry>,
    /// WorkloadEntries.
    pub workload_entries: Kept<'a, WorkloadEntry>,
    /// Sidecars.
    pub sidecars: Kept<'a, Sidecar>,
    /// Kubernetes Services, the default ingress Service last.
    pub services: Kept<'a, kube::Service>,
    /// Workloads, the default ingress Pod last.
    pub workloads: Kept<'a, kube::Workload>,
    /// Gateway API Gateways.
    pub kubernetes_gateways: Kept<'a, gateway_api::KubernetesGateway>,
    /// RequestAuthentications.
    pub request_authentications: Kept<'a, security::RequestAuthentication>,
    /// Secrets.
    pub secrets: Kept<'a, kube::Secret>,
    /// ServiceEntry statuses.
    pub service_entry_statuses: Kept<'a, service_entry_status::ServiceEntryStatus>,
    /// Nodes (cluster-scoped: none is left out).
    pub nodes: Kept<'a, kube::Node>,
    /// Namespaces.
    pub namespaces: Kept<'a, kube::Namespace>,
    /// `workloads` by namespace and labels: positions in `workloads`.
    pub workload_labels: LabelIndex<'a>,
}

/// What an [`AnalysisView`] adds to the loaded configuration: the default
/// ingress gateway resources and the Pods relabelled with their Node's
/// topology. Built first, then borrowed by [`analysis_view`].
#[derive(Debug)]
pub struct AnalysisExtras {
    /// Default gateway Pods not already written, ordered after every loaded
    /// resource.
    workloads: Vec<Resource<kube::Workload>>,
    /// Default gateway Services not already written.
    services: Vec<Resource<kube::Service>>,
    /// Pods with topology labels, by their position in `Config::workloads`.
    relabelled: FastMap<usize, Resource<kube::Workload>>,
}

impl AnalysisExtras {
    /// The additions for `config`.
    pub fn new(config: &Config) -> AnalysisExtras {
        let ignored = |ns: &str| IGNORED_NAMESPACES.contains(&ns);
        let defaults = load_str(DEFAULT_INGRESS_GATEWAY, DEFAULT_RESOURCES_SOURCE);
        let next_order = config.resource_count();
        let mut workloads = Vec::new();
        for (i, mut pod) in defaults.workloads.into_iter().enumerate() {
            pod.order = next_order + i;
            let taken = config.workloads.iter().any(|w| {
                !ignored(w.namespace())
                    && w.kind_name == pod.kind_name
                    && w.namespace() == pod.namespace()
                    && w.name() == pod.name()
            });
            if !taken {
                workloads.push(pod);
            }
        }
        let mut services = Vec::new();
        for (i, mut svc) in defaults.services.into_iter().enumerate() {
            svc.order = next_order + 1 + i;
            let taken = config.services.iter().any(|s| {
                !ignored(s.namespace())
                    && s.namespace() == svc.namespace()
                    && s.name() == svc.name()
            });
            if !taken {
                services.push(svc);
            }
        }
        AnalysisExtras {
            workloads,
            services,
            relabelled: topology_labelled(config),
        }
    }
}

/// `config` as the analyzers see it: ignored namespaces left out, the
/// default ingress gateway added (from `extras`, built by
/// [`AnalysisExtras::new`] for the same `config`). The loader's messages are
/// not part of it.
pub fn analysis_view<'a>(config: &'a Config, extras: &'a AnalysisExtras) -> AnalysisView<'a> {
    fn keep<T>(list: &[Resource<T>]) -> Kept<'_, T> {
        list.iter()
            .filter(|r| !IGNORED_NAMESPACES.contains(&r.namespace()))
            .collect()
    }
    let mut workloads: Kept<'a, kube::Workload> = config
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| !IGNORED_NAMESPACES.contains(&w.namespace()))
        .map(|(i, w)| extras.relabelled.get(&i).unwrap_or(w))
        .collect();
    workloads.extend(extras.workloads.iter());
    let mut services = keep(&config.services);
    services.extend(extras.services.iter());
    let workload_labels = workload_labels(&workloads);
    AnalysisView {
        config,
        virtual_services: keep(&config.virtual_services),
        destination_rules: keep(&config.destination_rules),
        gateways: keep(&config.gateways),
        service_entries: keep(&config.service_entries),
        workload_entries: keep(&config.workload_entries),
        sidecars: keep(&config.sidecars),
        services,
        workloads,
        kubernetes_gateways: keep(&config.kubernetes_gateways),
        request_authentications: keep(&config.request_authentications),
        secrets: keep(&config.secrets),
        service_entry_statuses: keep(&config.service_entry_statuses),
        nodes: config.nodes.iter().collect(),
        namespaces: config
            .namespaces
            .iter()
            .filter(|n| !IGNORED_NAMESPACES.contains(&n.name()))
            .collect(),
        workload_labels,
    }
}

fn workload_labels<'a>(workloads: &[&'a Resource<kube::Workload>]) -> LabelIndex<'a> {
    LabelIndex::new(workloads.iter().map(|w| (w.namespace(), &w.spec.labels)))
}

impl<'a> AnalysisView<'a> {
    /// Every resource of `config` as loaded: no namespace left out, nothing
    /// added (for running one analyzer over a configuration in tests).
    pub fn unfiltered(config: &'a Config) -> AnalysisView<'a> {
        fn all<T>(list: &[Resource<T>]) -> Kept<'_, T> {
            list.iter().collect()
        }
        let workloads = all(&config.workloads);
        AnalysisView {
            workload_labels: workload_labels(&workloads),
            workloads,
            config,
            virtual_services: all(&config.virtual_services),
            destination_rules: all(&config.destination_rules),
            gateways: all(&config.gateways),
            service_entries: all(&config.service_entries),
            workload_entries: all(&config.workload_entries),
            sidecars: all(&config.sidecars),
            services: all(&config.services),
            kubernetes_gateways: all(&config.kubernetes_gateways),
            request_authentications: all(&config.request_authentications),
            secrets: all(&config.secrets),
            service_entry_statuses: all(&config.service_entry_statuses),
            nodes: all(&config.nodes),
            namespaces: all(&config.namespaces),
        }
    }

    /// The mesh config in force ([`Config::mesh_config`]).
    pub fn mesh_config(&self) -> Option<&'a crate::mesh_config::MeshConfigSource> {
        self.config.mesh_config()
    }
}

/// Istio's registry labels a Pod with its Node's topology (istio
/// `pilot/pkg/serviceregistry/util/label/label.go`, `AugmentLabels`, as
/// `analyzers/destinationrule/subset.go` applies it): the Node's non-empty
/// `topology.kubernetes.io/region`, `topology.kubernetes.io/zone` and
/// `topology.istio.io/subzone`, and `kubernetes.io/hostname` set to the
/// Pod's `spec.nodeName`. Returns the relabelled copies of the Pods (outside
/// the ignored namespaces) that name a Node, by position.
fn topology_labelled(config: &Config) -> FastMap<usize, Resource<kube::Workload>> {
    const TOPOLOGY: [&str; 3] = [
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
    ];
    let mut out = FastMap::default();
    let mut nodes: FastMap<&str, &Resource<kube::Node>> = FastMap::default();
    for node in config.nodes.iter().rev() {
        nodes.insert(node.name(), node);
    }
    for (i, pod) in config.workloads.iter().enumerate() {
        if IGNORED_NAMESPACES.contains(&pod.namespace()) {
            continue;
        }
        let Some(node_name) = pod.spec.node_name.clone().filter(|n| !n.is_empty()) else {
            continue;
        };
        let mut pod = pod.clone();
        if let Some(node) = nodes.get(node_name.as_str()) {
            for key in TOPOLOGY {
                if let Some(value) = node.metadata.labels.get(key).filter(|v| !v.is_empty()) {
                    pod.spec.labels.insert(key.to_string(), value.clone());
                }
            }
        }
        pod.spec
            .labels
            .insert("kubernetes.io/hostname".to_string(), node_name);
        out.insert(i, pod);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn default_gateway_is_added_once_and_ignored_namespaces_dropped() {
        let c = load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: kube-system}\nspec:\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  ports: [{port: 80}]\n",
            "t.yaml",
        );
        let extras = AnalysisExtras::new(&c);
        let view = analysis_view(&c, &extras);
        let names: Vec<String> = view.services.iter().map(|s| s.key()).collect();
        assert_eq!(names, ["default/s", "istio-system/istio-ingressgateway"]);
        assert_eq!(view.workloads.len(), 1);
        assert!(is_default_resource(view.workloads[0]));
        assert_eq!(view.workloads[0].spec.labels["istio"], "ingressgateway");
        // The default resources load without messages.
        assert!(load_str(DEFAULT_INGRESS_GATEWAY, "d").messages.is_empty());
    }

    #[test]
    fn pods_carry_their_nodes_topology_labels() {
        let c = load_str(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: a}}\nspec: {nodeName: n1}\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: ''}\n",
            "t.yaml",
        );
        let extras = AnalysisExtras::new(&c);
        let view = analysis_view(&c, &extras);
        let labels = &view.workloads[0].spec.labels;
        assert_eq!(labels["topology.kubernetes.io/region"], "r1");
        assert!(!labels.contains_key("topology.kubernetes.io/zone"));
        assert_eq!(labels["kubernetes.io/hostname"], "n1");
        assert_eq!(labels["app"], "a");
        // The loaded configuration itself is unchanged.
        assert_eq!(c.workloads[0].spec.labels.len(), 1);
    }

    #[test]
    fn the_view_borrows_the_loaded_resources_and_copies_only_relabelled_pods() {
        let c = load_str(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: a}}\nspec: {nodeName: n1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, labels: {app: a}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: [a]}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: kube-system}\nspec: {hosts: [a]}\n",
            "t.yaml",
        );
        let extras = AnalysisExtras::new(&c);
        let view = analysis_view(&c, &extras);
        assert_eq!(view.virtual_services.len(), 1);
        assert!(std::ptr::eq(
            view.virtual_services[0],
            &c.virtual_services[0]
        ));
        // p names a Node: a relabelled copy; q is the loaded Pod itself.
        assert!(!std::ptr::eq(view.workloads[0], &c.workloads[0]));
        assert!(std::ptr::eq(view.workloads[1], &c.workloads[1]));
        // The label index covers the view's workloads, default Pod included.
        let gateway = BTreeMap::from([("istio".to_string(), "ingressgateway".to_string())]);
        let found: Vec<usize> = view.workload_labels.matching(&gateway).collect();
        assert_eq!(found, [2]);
        assert!(is_default_resource(view.workloads[2]));
    }

    #[test]
    fn a_written_ingress_service_is_kept_instead_of_the_default() {
        let c = load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\nspec:\n  ports: [{name: http, port: 8080}]\n  selector: {istio: ingressgateway}\n",
            "t.yaml",
        );
        let extras = AnalysisExtras::new(&c);
        let view = analysis_view(&c, &extras);
        assert_eq!(view.services.len(), 1);
        assert_eq!(view.services[0].spec.ports[0].port, 8080);
    }
}
