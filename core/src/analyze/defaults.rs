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

use crate::load::load_str;
use crate::model::{Config, Resource};

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

/// `config` as the analyzers see it: ignored namespaces left out, the
/// default ingress gateway added. The loader's messages are not carried over.
pub fn analysis_view(config: &Config) -> Config {
    fn keep<T>(list: &mut Vec<Resource<T>>) {
        list.retain(|r| !IGNORED_NAMESPACES.contains(&r.namespace()));
    }
    let mut view = config.clone();
    view.messages.clear();
    keep(&mut view.virtual_services);
    keep(&mut view.destination_rules);
    keep(&mut view.gateways);
    keep(&mut view.service_entries);
    keep(&mut view.workload_entries);
    keep(&mut view.sidecars);
    keep(&mut view.services);
    keep(&mut view.workloads);
    keep(&mut view.kubernetes_gateways);
    keep(&mut view.request_authentications);
    keep(&mut view.secrets);
    keep(&mut view.service_entry_statuses);
    view.namespaces
        .retain(|n| !IGNORED_NAMESPACES.contains(&n.name()));
    augment_topology_labels(&mut view);
    let defaults = load_str(DEFAULT_INGRESS_GATEWAY, DEFAULT_RESOURCES_SOURCE);
    let next_order = config.resource_count();
    for (i, mut pod) in defaults.workloads.into_iter().enumerate() {
        pod.order = next_order + i;
        let taken = view.workloads.iter().any(|w| {
            w.kind_name == pod.kind_name
                && w.namespace() == pod.namespace()
                && w.name() == pod.name()
        });
        if !taken {
            view.workloads.push(pod);
        }
    }
    for (i, mut svc) in defaults.services.into_iter().enumerate() {
        svc.order = next_order + 1 + i;
        let taken = view
            .services
            .iter()
            .any(|s| s.namespace() == svc.namespace() && s.name() == svc.name());
        if !taken {
            view.services.push(svc);
        }
    }
    view
}

/// Istio's registry labels a Pod with its Node's topology (istio
/// `pilot/pkg/serviceregistry/util/label/label.go`, `AugmentLabels`, as
/// `analyzers/destinationrule/subset.go` applies it): the Node's non-empty
/// `topology.kubernetes.io/region`, `topology.kubernetes.io/zone` and
/// `topology.istio.io/subzone`, and `kubernetes.io/hostname` set to the
/// Pod's `spec.nodeName`.
fn augment_topology_labels(view: &mut Config) {
    const TOPOLOGY: [&str; 3] = [
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
    ];
    if !view.workloads.iter().any(|w| w.spec.node_name.is_some()) {
        return;
    }
    let nodes = std::mem::take(&mut view.nodes);
    for pod in &mut view.workloads {
        let Some(node_name) = pod.spec.node_name.clone().filter(|n| !n.is_empty()) else {
            continue;
        };
        if let Some(node) = nodes.iter().find(|n| n.name() == node_name) {
            for key in TOPOLOGY {
                if let Some(value) = node.metadata.labels.get(key).filter(|v| !v.is_empty()) {
                    pod.spec.labels.insert(key.to_string(), value.clone());
                }
            }
        }
        pod.spec
            .labels
            .insert("kubernetes.io/hostname".to_string(), node_name);
    }
    view.nodes = nodes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_gateway_is_added_once_and_ignored_namespaces_dropped() {
        let c = load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: kube-system}\nspec:\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  ports: [{port: 80}]\n",
            "t.yaml",
        );
        let view = analysis_view(&c);
        let names: Vec<String> = view.services.iter().map(|s| s.key()).collect();
        assert_eq!(names, ["default/s", "istio-system/istio-ingressgateway"]);
        assert_eq!(view.workloads.len(), 1);
        assert!(is_default_resource(&view.workloads[0]));
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
        let view = analysis_view(&c);
        let labels = &view.workloads[0].spec.labels;
        assert_eq!(labels["topology.kubernetes.io/region"], "r1");
        assert!(!labels.contains_key("topology.kubernetes.io/zone"));
        assert_eq!(labels["kubernetes.io/hostname"], "n1");
        assert_eq!(labels["app"], "a");
        // The loaded configuration itself is unchanged.
        assert_eq!(c.workloads[0].spec.labels.len(), 1);
    }

    #[test]
    fn a_written_ingress_service_is_kept_instead_of_the_default() {
        let c = load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\nspec:\n  ports: [{name: http, port: 8080}]\n  selector: {istio: ingressgateway}\n",
            "t.yaml",
        );
        let view = analysis_view(&c);
        assert_eq!(view.services.len(), 1);
        assert_eq!(view.services[0].spec.ports[0].port, 8080);
    }
}
