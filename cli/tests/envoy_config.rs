//! `meshroute envoy-config`: the proxy it is for, and what it leaves out.

use std::path::PathBuf;
use std::process::{Command, Output};

fn meshroute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn scratch(test: &str, text: &str) -> String {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "meshroute-envoy-config-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mesh.yaml");
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

const MESH: &str = "apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{port: 80, name: http}, {port: 8080, name: http-alt}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: refused, namespace: default}
spec:
  hosts: [web]
  http:
  - fault: {abort: {httpStatus: 700, percentage: {value: 100}}}
    route: [{destination: {host: web}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front, namespace: edge}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: web.default.svc.cluster.local}}]
";

fn config(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

// istio pkg/config/validation: the webhook refuses an abort status of 700,
// so no proxy ever gets that VirtualService.
#[test]
fn resources_the_webhook_refuses_are_left_out_and_named_on_stderr() {
    let file = scratch("refused", MESH);
    let o = meshroute(&["envoy-config", &file]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("left out VirtualService default/refused") && err.contains("700"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("\"abort\""), "no fault reaches the routes");
    let listeners = config(&o)["static_resources"]["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .map(|l| l["name"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>();
    assert_eq!(listeners, ["meshroute_80", "meshroute_8080"]);
}

#[test]
fn gateway_gives_the_gateways_listeners_and_virtual_hosts() {
    let file = scratch("gateway", MESH);
    let o = meshroute(&["envoy-config", &file, "--gateway", "edge/gw"]);
    assert_eq!(o.status.code(), Some(0));
    let c = config(&o);
    let l = &c["static_resources"]["listeners"][0];
    assert_eq!(l["name"], "meshroute_80");
    let vh =
        &l["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0];
    assert_eq!(vh["domains"], serde_json::json!(["shop.example.com"]));
    assert_eq!(
        vh["routes"][0]["route"]["cluster"],
        "outbound|80||web.default.svc.cluster.local"
    );
}

#[test]
fn labels_and_gateway_arguments_are_checked() {
    let file = scratch("args", MESH);
    let o = meshroute(&["envoy-config", &file, "--labels", "app"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not key=value"));
    let o = meshroute(&["envoy-config", &file, "--gateway", "gw"]);
    assert_eq!(o.status.code(), Some(2));
    let o = meshroute(&["envoy-config", &file, "--gateway", "edge/nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no Gateway edge/nope"));
    let o = meshroute(&[
        "envoy-config",
        &file,
        "--labels",
        "app=x,v=1",
        "--wasm",
        "/f.wasm",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(r#"\"sourceLabels\":{\"app\":\"x\",\"v\":\"1\"}"#),
        "the filter gets the caller's labels"
    );
}

// istio pilot/pkg/model/gateway.go mergeGateways: the workload form names
// the gateway pod, which gets every Gateway selecting it.
#[test]
fn gateway_takes_the_workload_form_the_decision_takes() {
    let file = scratch("workload", MESH);
    let o = meshroute(&[
        "envoy-config",
        &file,
        "--gateway",
        "edge/istio=ingressgateway",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let c = config(&o);
    let vh = &c["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"][0];
    assert_eq!(vh["domains"], serde_json::json!(["shop.example.com"]));
    let o = meshroute(&["envoy-config", &file, "--gateway", "edge/a=b,c"]);
    assert_eq!(o.status.code(), Some(1), "a malformed workload key");
}

// The filter reads resources only: the explicit mesh config reaches it as
// the mesh ConfigMap, so both routings see REGISTRY_ONLY.
#[test]
fn the_mesh_config_reaches_the_filter() {
    let file = scratch("meshconfig", MESH);
    let mc = scratch_file(
        "meshconfig",
        "mesh.cfg",
        "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
    );
    let o = meshroute(&["envoy-config", &file, "--mesh-config", &mc]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("block_all"));
    let o = meshroute(&[
        "envoy-config",
        &file,
        "--mesh-config",
        &mc,
        "--wasm",
        "/f.wasm",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("ConfigMap"), "{text}");
    assert!(text.contains("REGISTRY_ONLY"), "{text}");
}

fn scratch_file(test: &str, name: &str, text: &str) -> String {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "meshroute-envoy-config-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}
