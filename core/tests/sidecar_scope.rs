//! A workload's Sidecar applied to routing (spec/sidecar-routing.md): which
//! Sidecar scopes a caller, what its egress listeners import per port, its
//! outbound traffic policy over the mesh's, and what `explain` says about it.
//! Istio `pilot/pkg/model/sidecar.go` (SidecarScope) is the source.

use meshroute::decide::{Outcome, Protocol};
use meshroute::load::load_str;
use meshroute::{Mesh, Request};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 80}, {name: tcp-db, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: istio-system}
spec:
  ports: [{name: http-monitoring, port: 15014}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: shop, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  egress:
  - port: {number: 9080, protocol: HTTP, name: http}
    hosts: ["bookinfo/reviews.bookinfo.svc.cluster.local"]
  - hosts: ["./*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: checkout, namespace: shop}
spec:
  workloadSelector: {labels: {app: checkout}}
  egress:
  - hosts: ["*/*"]
"#;

fn mesh() -> Mesh {
    let config = load_str(CONFIG, "sidecars.yaml");
    let errors: Vec<_> = config.messages.iter().filter(|m| m.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    Mesh::compile(&config)
}

fn request(host: &str, port: u16, namespace: &str, app: Option<&str>) -> Request {
    let mut r = Request::new(host);
    r.port = Some(port);
    r.source.namespace = namespace.into();
    if let Some(app) = app {
        r.source.labels = BTreeMap::from([("app".to_string(), app.to_string())]);
    }
    r
}

/// The decision, checked to agree with the explained one, and the trace text.
fn decide(m: &Mesh, req: &Request) -> (Outcome, Option<String>, String) {
    let d = m.decide(req).unwrap();
    let e = m.explain(req).unwrap();
    assert_eq!(d.outcome(), e.outcome(), "decide and explain agree");
    let trace = e
        .trace()
        .iter()
        .map(|t| format!("{} {}: {}", t.stage, t.subject, t.detail))
        .collect::<Vec<_>>()
        .join("\n");
    let cluster = d.destinations().first().map(|x| x.cluster().to_string());
    (d.outcome(), cluster, trace)
}

#[test]
fn an_egress_listener_for_a_port_imports_only_its_hosts() {
    let m = mesh();
    let (outcome, cluster, _) = decide(&m, &request("reviews.bookinfo", 9080, "shop", None));
    assert_eq!(outcome, Outcome::DefaultRoute);
    assert_eq!(
        cluster.as_deref(),
        Some("outbound|9080||reviews.bookinfo.svc.cluster.local")
    );
    // ratings is not imported on 9080: the Sidecar's REGISTRY_ONLY blackholes it.
    let (outcome, _, trace) = decide(&m, &request("ratings.bookinfo", 9080, "shop", None));
    assert_eq!(outcome, Outcome::DirectResponse);
    assert!(trace.contains("sidecar shop/shop"), "{trace}");
    assert!(trace.contains("egress[0] (port 9080)"), "{trace}");
    assert!(
        trace.contains("REGISTRY_ONLY (Sidecar shop/shop)"),
        "{trace}"
    );
}

#[test]
fn the_catch_all_listener_takes_the_other_ports() {
    let m = mesh();
    let (outcome, _, _) = decide(&m, &request("cart", 80, "shop", None));
    assert_eq!(outcome, Outcome::DefaultRoute);
    let (outcome, _, trace) = decide(&m, &request("reviews.bookinfo", 80, "shop", None));
    assert_eq!(outcome, Outcome::DirectResponse, "{trace}");
    assert!(trace.contains("egress[1] (every port)"), "{trace}");
}

#[test]
fn the_sidecars_policy_overrides_the_mesh_for_tcp_too() {
    let m = mesh();
    let mut r = request("db.example.com", 5432, "shop", None);
    r.protocol = Protocol::Tcp;
    let (outcome, _, _) = decide(&m, &r);
    assert_eq!(
        outcome,
        Outcome::NotFound,
        "BlackHoleCluster closes the connection"
    );
}

#[test]
fn a_workload_selector_sidecar_wins_for_the_workloads_it_selects() {
    let m = mesh();
    let (outcome, _, trace) = decide(
        &m,
        &request("ratings.bookinfo", 9080, "shop", Some("checkout")),
    );
    assert_eq!(outcome, Outcome::DefaultRoute, "{trace}");
    assert!(trace.contains("sidecar shop/checkout"), "{trace}");
    // It sets no outbound policy: the mesh's ALLOW_ANY applies.
    let (outcome, _, trace) = decide(
        &m,
        &request("api.example.com", 80, "shop", Some("checkout")),
    );
    assert_eq!(outcome, Outcome::Passthrough);
    assert!(
        trace.contains("ALLOW_ANY (meshConfig.outboundTrafficPolicy"),
        "{trace}"
    );
}

#[test]
fn the_root_namespace_sidecar_is_the_default_and_dot_is_the_callers_namespace() {
    let m = mesh();
    let (outcome, _, _) = decide(&m, &request("reviews", 9080, "bookinfo", None));
    assert_eq!(outcome, Outcome::DefaultRoute);
    let (outcome, _, _) = decide(&m, &request("istiod.istio-system", 15014, "bookinfo", None));
    assert_eq!(outcome, Outcome::DefaultRoute);
    let (outcome, _, trace) = decide(&m, &request("cart.shop", 80, "bookinfo", None));
    assert_eq!(outcome, Outcome::Passthrough, "not imported: {trace}");
    assert!(trace.contains("sidecar istio-system/default"), "{trace}");
}

#[test]
fn without_sidecars_every_exported_service_is_seen() {
    let config = load_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec:\n  ports: [{name: http, port: 80}]\n",
        "one.yaml",
    );
    let m = Mesh::compile(&config);
    let (outcome, _, trace) = decide(&m, &request("cart.shop", 80, "web", None));
    assert_eq!(outcome, Outcome::DefaultRoute);
    assert!(!trace.contains("sidecar "), "{trace}");
}

#[test]
fn allow_any_with_an_egress_proxy_sends_unknown_hosts_to_the_proxy() {
    // istio httproute.go: the egress proxy's cluster replaces PassthroughCluster.
    let yaml = r#"
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: legacy}
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: egress.istio-system.svc.cluster.local, port: {number: 3128}}
"#;
    let config = load_str(yaml, "egress-proxy.yaml");
    let errors: Vec<_> = config.messages.iter().filter(|m| m.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let m = Mesh::compile(&config);
    let (outcome, cluster, trace) = decide(&m, &request("api.example.com", 443, "legacy", None));
    assert_eq!(outcome, Outcome::Passthrough);
    assert_eq!(
        cluster.as_deref(),
        Some("outbound|3128||egress.istio-system.svc.cluster.local")
    );
    assert!(trace.contains("with egressProxy"), "{trace}");
    // Callers the Sidecar does not scope pass through as usual.
    let (outcome, cluster, _) = decide(&m, &request("api.example.com", 443, "web", None));
    assert_eq!(outcome, Outcome::Passthrough);
    assert_eq!(cluster, None);
}
