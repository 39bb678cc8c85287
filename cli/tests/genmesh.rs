//! The scale generator's meshes (`scripts/genmesh.py`, run with `python3`)
//! load and check with no errors, and the CLI routes requests in them to the
//! services, subsets and gateway routes the generator's layout promises.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshroute-genmesh-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the generator with `args`, writing `dir/mesh.yaml`; returns its path.
fn genmesh(dir: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/genmesh.py");
    let mesh = dir.join("mesh.yaml");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .arg("-o")
        .arg(&mesh)
        .output()
        .expect("python3 runs scripts/genmesh.py (Python 3.11 is a prerequisite, see README)");
    assert!(
        out.status.success(),
        "genmesh.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    mesh.to_string_lossy().into_owned()
}

fn meshroute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// `meshroute check` passes: exit 0 and no error, only the gateway-port
/// warning (the mesh has no ingress gateway Service, as the mesh).
fn assert_checks_clean(mesh: &str, gateways: usize) {
    let out = meshroute(&["check", mesh]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check {mesh}: {text}");
    assert!(!text.contains("Error ["), "check {mesh}: {text}");
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Warning ["))
        .collect();
    assert_eq!(warnings.len(), gateways, "{text}");
    assert!(
        warnings.iter().all(|w| w.starts_with("Warning [IST0162]")),
        "{text}"
    );
}

/// The decision for `route -f mesh ARGS...`, as JSON.
fn route(mesh: &str, args: &[&str]) -> Value {
    let mut all = vec!["route", "-f", mesh];
    all.extend_from_slice(args);
    let out = meshroute(&all);
    assert!(
        out.status.success(),
        "route {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("route prints JSON")
}

/// (host, subset, weight) of each destination of a decision.
fn destinations(decision: &Value) -> Vec<(String, String, u64)> {
    decision["destinations"]
        .as_array()
        .unwrap_or_else(|| panic!("no destinations in {decision}"))
        .iter()
        .map(|d| {
            (
                d["host"].as_str().unwrap_or_default().to_string(),
                d["subset"].as_str().unwrap_or_default().to_string(),
                d["weight"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn dest(host: &str, subset: &str, weight: u64) -> (String, String, u64) {
    (host.to_string(), subset.to_string(), weight)
}

#[test]
fn a_generated_mesh_checks_clean_and_routes_each_service_by_its_rules() {
    let dir = scratch("default");
    let mesh = genmesh(&dir, &["--services", "50", "--namespaces", "5"]);
    assert_checks_clean(&mesh, 1);

    // The default rule: svc-1 lives in ns-1 (round-robin), split 90/10.
    let split = route(&mesh, &["--from", "ns-1", "http://svc-1.ns-1:8080/"]);
    assert_eq!(split["outcome"], "route");
    assert_eq!(split["virtualService"], "ns-1/svc-1");
    assert_eq!(split["rule"]["index"], 1);
    let host = "svc-1.ns-1.svc.cluster.local";
    assert_eq!(
        destinations(&split),
        [dest(host, "v1", 90), dest(host, "v2", 10)]
    );
    assert_eq!(
        split["destinations"][0]["policy"]["outlierDetection"]["consecutive5xxErrors"],
        5
    );

    // The header match sends jason to v2, with the rule's timeout and retries.
    let jason = route(
        &mesh,
        &[
            "--from",
            "ns-3",
            "-H",
            "end-user:jason",
            "http://svc-1.ns-1:8080/",
        ],
    );
    assert_eq!(jason["rule"]["index"], 0);
    assert_eq!(destinations(&jason), [dest(host, "v2", 100)]);
    assert_eq!(jason["retries"]["attempts"], 3);

    // Every 4th service also matches its regex path to v2; the others do not.
    let path = "/api/v2/items/item-7/";
    let with_regex = route(
        &mesh,
        &["--from", "ns-2", &format!("http://svc-8.ns-3:8080{path}8")],
    );
    assert_eq!(with_regex["rule"]["index"], 0);
    assert_eq!(
        destinations(&with_regex),
        [dest("svc-8.ns-3.svc.cluster.local", "v2", 100)]
    );
    let without_regex = route(
        &mesh,
        &["--from", "ns-2", &format!("http://svc-9.ns-4:8080{path}9")],
    );
    assert_eq!(without_regex["rule"]["index"], 1);

    // Every 100th service has a route on the ingress Gateway ns-0/edge.
    let ingress = route(
        &mesh,
        &[
            "--gateway",
            "ns-0/edge",
            "http://app-0.example.com:8080/shop",
        ],
    );
    assert_eq!(ingress["virtualService"], "ns-0/edge-0");
    assert_eq!(
        destinations(&ingress),
        [dest("svc-0.ns-0.svc.cluster.local", "", 100)]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gateways_seeds_and_the_list_form_give_meshes_that_check_clean_and_route() {
    let dir = scratch("options");
    // Routes for services 0, 7, 15, 22 (spread evenly), alternating over
    // the Gateways ns-0/edge (*.example.com) and ns-1/edge-1 (*.gw-1.example.com).
    let mesh = genmesh(
        &dir,
        &[
            "--services",
            "30",
            "--namespaces",
            "3",
            "--gateways",
            "2",
            "--gateway-routes",
            "4",
            "--format",
            "list",
        ],
    );
    assert_checks_clean(&mesh, 2);
    let second = route(
        &mesh,
        &[
            "--gateway",
            "ns-1/edge-1",
            "http://app-7.gw-1.example.com:8080/",
        ],
    );
    assert_eq!(second["virtualService"], "ns-1/edge-7");
    assert_eq!(
        destinations(&second),
        [dest("svc-7.ns-1.svc.cluster.local", "", 100)]
    );
    let first = route(
        &mesh,
        &["--gateway", "ns-0/edge", "http://app-15.example.com:8080/"],
    );
    assert_eq!(first["virtualService"], "ns-0/edge-15");
    // app-7 is served by the other Gateway only.
    let elsewhere = route(
        &mesh,
        &["--gateway", "ns-0/edge", "http://app-7.example.com:8080/"],
    );
    assert_eq!(elsewhere["outcome"], "notFound");

    let seeded = genmesh(
        &dir,
        &[
            "--services",
            "40",
            "--namespaces",
            "4",
            "--seed",
            "3",
            "--regex-share",
            "1",
        ],
    );
    assert_checks_clean(&seeded, 1);
    // The seed placed svc-5 in a drawn namespace; the regex share 1 gave it a regex match.
    let text = std::fs::read_to_string(&seeded).expect("the mesh is written");
    let namespace = text
        .split("metadata: {name: svc-5, namespace: ")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("svc-5 is in the mesh");
    let regex = route(
        &seeded,
        &[
            "--from",
            "ns-0",
            &format!("http://svc-5.{namespace}:8080/api/v1/items/a-b/5"),
        ],
    );
    assert_eq!(regex["virtualService"], format!("{namespace}/svc-5"));
    assert_eq!(regex["rule"]["index"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}
