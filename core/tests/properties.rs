//! Properties of the core not covered elsewhere, on random configurations
//! and requests: a configuration survives load → serialize → load; the
//! explanation's trace agrees with the decision it explains; decisions are
//! deterministic (the same config compiled twice, the same random value for a
//! weighted pick); and a `Mesh` shared by threads decides exactly as it does
//! on one thread.

mod corpus;
use corpus::conformance_dirs;

use meshroute::decide::decision::Verdict;
use meshroute::load::load_str;
use meshroute::model::{Config, Resource};
use meshroute::{Mesh, Request};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde::Serialize;
use std::sync::Arc;

// ---- random configurations ---------------------------------------------

fn seg() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "api", "v1", "A", "x-y"])
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(seg(), 0..3).prop_map(|v| format!("/{}", v.join("/")))
}

fn string_match() -> impl Strategy<Value = String> {
    prop_oneof![
        path().prop_map(|p| format!("{{exact: \"{p}\"}}")),
        path().prop_map(|p| format!("{{prefix: \"{p}\"}}")),
        prop::sample::select(vec!["/a.*", "/(v1|api)/.*", "[a-z/]+"])
            .prop_map(|r| format!("{{regex: \"{r}\"}}")),
    ]
}

fn a_match() -> impl Strategy<Value = String> {
    (
        prop::option::of(string_match()),
        prop::option::of((
            prop::sample::select(vec!["end-user", "x-v"]),
            string_match(),
        )),
        prop::option::of(prop::sample::select(vec!["GET", "POST"])),
        any::<bool>(),
    )
        .prop_map(|(uri, header, method, ignore_case)| {
            let mut parts = Vec::new();
            if let Some(u) = uri {
                parts.push(format!("uri: {u}"));
            }
            if let Some((n, v)) = header {
                parts.push(format!("headers: {{{n}: {v}}}"));
            }
            if let Some(m) = method {
                parts.push(format!("method: {{exact: {m}}}"));
            }
            if ignore_case {
                parts.push("ignoreUriCase: true".into());
            }
            format!("{{{}}}", parts.join(", "))
        })
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec((prop::sample::select(vec!["reviews", "ratings"]), prop::option::of(prop::sample::select(vec!["v1", "v2", "v3"])), 0u32..100), 1..4)
            .prop_map(|dests| {
                let mut s = String::from("    route:\n");
                for (host, subset, weight) in dests {
                    s.push_str(&format!("    - destination: {{host: {host}"));
                    if let Some(sub) = subset {
                        s.push_str(&format!(", subset: {sub}"));
                    }
                    s.push_str(&format!("}}\n      weight: {weight}\n"));
                }
                s
            }),
        1 => path().prop_map(|p| format!("    redirect: {{uri: \"{p}\"}}\n")),
        1 => (200u32..600).prop_map(|s| format!("    directResponse: {{status: {s}, body: {{string: hi}}}}\n")),
    ]
}

fn rule() -> impl Strategy<Value = String> {
    (
        prop::option::of(prop::sample::select(vec!["one", "two"])),
        prop::collection::vec(a_match(), 0..3),
        action(),
        prop::option::of(prop::sample::select(vec!["1s", "250ms"])),
    )
        .prop_map(|(name, matches, action, timeout)| {
            let mut s = String::from("  - ");
            if let Some(n) = name {
                s.push_str(&format!("name: {n}\n    "));
            }
            s.push_str(&format!("match: [{}]\n", matches.join(", ")));
            if let Some(t) = timeout {
                s.push_str(&format!("    timeout: {t}\n"));
            }
            s.push_str(&action);
            s
        })
}

const REGISTRY: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: ratings}\nspec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\nspec:\n  host: reviews\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]\n";

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(vec!["reviews", "ratings", "reviews.default.svc.cluster.local"]), prop::collection::vec(rule(), 1..5)),
        1..3,
    )
    .prop_map(|vss| {
        let mut text = REGISTRY.to_string();
        for (i, (host, rules)) in vss.into_iter().enumerate() {
            text.push_str(&format!(
                "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs{i}}}\nspec:\n  hosts: [{host}]\n  http:\n{}",
                rules.concat()
            ));
        }
        text
    })
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec!["reviews", "ratings", "reviews.default", "unknown"]),
        path(),
        prop::option::of(prop::sample::select(vec!["jason", "x"])),
        prop::sample::select(vec!["GET", "POST"]),
    )
        .prop_map(|(host, path, user, method)| {
            let mut r = Request::new(host).path(path).method(method);
            if let Some(u) = user {
                r = r.header("end-user", u).header("x-v", "/a");
            }
            r
        })
}

// ---- round trip ----------------------------------------------------------

/// A resource written back as a Kubernetes document (JSON, which is YAML).
fn document<T: Serialize>(r: &Resource<T>) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": r.api_version,
        "kind": r.kind_name,
        "metadata": r.metadata,
        "spec": r.spec,
    })
}

/// Every resource of the kinds whose spec serializes, as documents.
fn serialize(config: &Config) -> String {
    let mut docs: Vec<serde_json::Value> = Vec::new();
    docs.extend(config.virtual_services.iter().map(document));
    docs.extend(config.destination_rules.iter().map(document));
    docs.extend(config.gateways.iter().map(document));
    docs.extend(config.service_entries.iter().map(document));
    docs.extend(config.workload_entries.iter().map(document));
    docs.extend(config.sidecars.iter().map(document));
    docs.extend(config.services.iter().map(document));
    docs.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// What must survive a round trip: each kind's (metadata, spec), in order.
fn contents(config: &Config) -> Vec<String> {
    fn each<T: Serialize>(list: &[Resource<T>]) -> Vec<String> {
        list.iter()
            .map(|r| {
                format!(
                    "{} {:?} {}",
                    r.kind_name,
                    r.metadata,
                    serde_json::to_string(&r.spec).unwrap_or_default()
                )
            })
            .collect()
    }
    let mut all = each(&config.virtual_services);
    all.extend(each(&config.destination_rules));
    all.extend(each(&config.gateways));
    all.extend(each(&config.service_entries));
    all.extend(each(&config.workload_entries));
    all.extend(each(&config.sidecars));
    all.extend(each(&config.services));
    all
}

fn assert_round_trip(text: &str, name: &str) {
    let first = load_str(text, name);
    let written = serialize(&first);
    let second = load_str(&written, "written.yaml");
    let errors: Vec<String> = second
        .messages
        .iter()
        .filter(|m| m.is_error())
        .map(|m| m.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: the written config does not load:\n{}",
        errors.join("\n")
    );
    assert_eq!(
        contents(&first),
        contents(&second),
        "{name}: load -> serialize -> load changed it"
    );
    // Serializing again gives the same text: serialization is a fixed point.
    assert_eq!(written, serialize(&second), "{name}");
}

#[test]
fn every_example_and_conformance_config_round_trips() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut files = Vec::new();
    let dirs = [
        format!("{root}/examples/bookinfo"),
        format!("{root}/tests/scenarios/config"),
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .chain(conformance_dirs());
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.to_string_lossy().to_string();
            if name.ends_with(".yaml")
                && !name.ends_with(".routetest.yaml")
                && !name.ends_with(".scenario.yaml")
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 4, "examples are found: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert_round_trip(&text, &f.to_string_lossy());
    }
}

// ---- trace and decision ------------------------------------------------

fn check_trace_agrees(mesh: &Mesh, req: &Request) {
    let (Ok(d), Ok(e)) = (mesh.decide(req), mesh.explain(req)) else {
        return;
    };
    let mut ej = e.to_json();
    if let Some(o) = ej.as_object_mut() {
        o.remove("trace");
    }
    assert_eq!(d.to_json(), ej, "explain decides as decide does");
    let trace = e.trace();
    assert!(!trace.is_empty(), "an explanation has a trace");
    let matched = |stage: &'static str| {
        trace
            .iter()
            .filter(move |t| t.stage == stage && t.verdict == Verdict::Matched)
    };
    match d.virtual_service() {
        Some(vs) => assert!(
            matched("virtualService").any(|t| t.subject == vs),
            "the trace names the deciding VirtualService {vs}: {trace:#?}"
        ),
        // A VirtualService may claim the host with no rule matching (404):
        // the trace shows it, the decision names none.
        None => assert!(d.rule().is_none()),
    }
    let rules: Vec<_> = matched("rule").collect();
    match d.rule() {
        Some(r) => {
            assert_eq!(rules.len(), 1, "exactly one matched rule: {trace:#?}");
            assert!(
                rules[0].subject.contains(&format!("[{}]", r.index())),
                "{} vs {r:?}",
                rules[0].subject
            );
            // First match wins: nothing is considered after the matched rule.
            let last_rule = trace.iter().rposition(|t| t.stage == "rule");
            let matched_at = trace
                .iter()
                .position(|t| t.stage == "rule" && t.verdict == Verdict::Matched);
            assert_eq!(
                last_rule, matched_at,
                "a rule after the first match: {trace:#?}"
            );
        }
        None => assert!(rules.is_empty(), "{trace:#?}"),
    }
    for dest in d.destinations().iter() {
        assert!(
            // Any verdict: a destination whose subset is undefined is listed as failed (503 NC).
            trace
                .iter()
                .any(|t| t.stage == "destination" && t.subject.contains(dest.cluster())),
            "the trace lists destination {}: {trace:#?}",
            dest.cluster()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_configs_round_trip(text in config_text()) {
        assert_round_trip(&text, "generated.yaml");
    }

    #[test]
    fn the_trace_agrees_with_the_decision(text in config_text(), reqs in prop::collection::vec(request(), 1..8)) {
        let mesh = Mesh::compile(&load_str(&text, "t.yaml"));
        for r in &reqs {
            check_trace_agrees(&mesh, r);
        }
    }

    #[test]
    fn decisions_are_deterministic(text in config_text(), reqs in prop::collection::vec(request(), 1..8), random in any::<u64>()) {
        let config = load_str(&text, "t.yaml");
        let (a, b) = (Mesh::compile(&config), Mesh::compile(&config));
        for r in &reqs {
            let (da, db) = (a.decide(r), b.decide(r));
            prop_assert_eq!(da.as_ref().map(|d| d.to_json()).ok(), db.as_ref().map(|d| d.to_json()).ok());
            if let (Ok(da), Ok(db)) = (da, db) {
                // The same random value picks the same destination, every time.
                let pa = da.pick(random).map(|d| d.cluster().to_string());
                prop_assert_eq!(&pa, &db.pick(random).map(|d| d.cluster().to_string()));
                prop_assert_eq!(&pa, &da.pick(random).map(|d| d.cluster().to_string()));
                prop_assert_eq!(pa.is_some(), !da.destinations().is_empty());
            }
        }
    }
}

// ---- concurrency ---------------------------------------------------------

#[test]
fn a_mesh_shared_by_threads_decides_as_on_one_thread() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let configs = prop::collection::vec((config_text(), prop::collection::vec(request(), 32)), 8);
    let cases: Vec<(String, Vec<Request>)> = configs
        .new_tree(&mut runner)
        .map(|t| t.current())
        .unwrap_or_default();
    assert_eq!(cases.len(), 8);
    for (text, reqs) in cases {
        let mesh = Arc::new(Mesh::compile(&load_str(&text, "t.yaml")));
        let reqs = Arc::new(reqs);
        let single: Vec<String> = reqs
            .iter()
            .map(|r| format!("{:?}", mesh.explain(r).map(|d| d.to_json())))
            .collect();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (mesh, reqs) = (Arc::clone(&mesh), Arc::clone(&reqs));
                std::thread::spawn(move || {
                    // Each thread walks the requests from a different start, many times.
                    let mut out = vec![String::new(); reqs.len()];
                    for round in 0..20 {
                        for k in 0..reqs.len() {
                            let i = (k + t * 7 + round) % reqs.len();
                            let d = if round % 2 == 0 {
                                mesh.explain(&reqs[i])
                            } else {
                                mesh.decide(&reqs[i]).and_then(|_| mesh.explain(&reqs[i]))
                            };
                            out[i] = format!("{:?}", d.map(|d| d.to_json()));
                        }
                    }
                    out
                })
            })
            .collect();
        for t in threads {
            let out = t.join().expect("a deciding thread never panics");
            assert_eq!(out, single, "threads decide as one thread does");
        }
    }
}
