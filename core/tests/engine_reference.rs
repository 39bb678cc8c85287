//! Property test: the compiled table (route index) decides exactly as a
//! plain, obviously-correct reference evaluator - first match, linear scan
//! over the rules as written - on random configurations and requests; and
//! weighted picks over the full random range reproduce the weights exactly.

use meshroute::load::load_str;
use meshroute::{Mesh, Request};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Uri {
    None,
    Exact(String),
    Prefix(String),
    Regex(String),
}

#[derive(Debug, Clone)]
struct Match {
    uri: Uri,
    ignore_case: bool,
    header: Option<(String, String, bool)>, // name, value, is_prefix
    method: Option<String>,
}

#[derive(Debug, Clone)]
struct Rule {
    matches: Vec<Match>,
}

fn seg() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "ab", "api", "v1", "A"]).prop_map(String::from)
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(seg(), 0..4).prop_map(|v| format!("/{}", v.join("/")))
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        Just(Uri::None),
        path().prop_map(Uri::Exact),
        path().prop_map(Uri::Prefix),
        prop::sample::select(vec![
            "/a.*",
            "/a|/a/b",
            "/(v1|api)/.*",
            "/[ab]+",
            ".*",
            "/a.*?",
            "/A/b"
        ])
        .prop_map(|s| Uri::Regex(s.to_string())),
    ]
}

fn a_match() -> impl Strategy<Value = Match> {
    (
        uri(),
        any::<bool>(),
        prop::option::of((
            prop::sample::select(vec!["x-user", "x-env"]),
            prop::sample::select(vec!["jason", "ja", "prod"]),
            any::<bool>(),
        )),
        prop::option::of(prop::sample::select(vec!["GET", "POST"])),
    )
        .prop_map(|(uri, ignore_case, header, method)| Match {
            uri,
            ignore_case,
            header: header.map(|(n, v, p)| (n.to_string(), v.to_string(), p)),
            method: method.map(String::from),
        })
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        prop::collection::vec(a_match(), 0..3).prop_map(|matches| Rule { matches }),
        1..12,
    )
}

fn yaml(rules: &[Rule]) -> String {
    let mut s = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t, namespace: default}\nspec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: t, namespace: default}\nspec:\n  hosts: [t.example]\n  http:\n",
    );
    for r in rules {
        s.push_str("  - ");
        if !r.matches.is_empty() {
            s.push_str("match:\n");
            for m in &r.matches {
                s.push_str("    - ignoreUriCase: ");
                s.push_str(if m.ignore_case { "true\n" } else { "false\n" });
                match &m.uri {
                    Uri::None => {}
                    Uri::Exact(p) => s.push_str(&format!("      uri: {{exact: {p:?}}}\n")),
                    Uri::Prefix(p) => s.push_str(&format!("      uri: {{prefix: {p:?}}}\n")),
                    Uri::Regex(p) => s.push_str(&format!("      uri: {{regex: {p:?}}}\n")),
                }
                if let Some((n, v, prefix)) = &m.header {
                    let kind = if *prefix { "prefix" } else { "exact" };
                    s.push_str(&format!("      headers: {{{n}: {{{kind}: {v:?}}}}}\n"));
                }
                if let Some(meth) = &m.method {
                    s.push_str(&format!("      method: {{exact: {meth}}}\n"));
                }
            }
            s.push_str("    route:\n");
        } else {
            s.push_str("route:\n");
        }
        s.push_str("    - destination: {host: t.example}\n");
    }
    s
}

/// The reference: the rules as written, in order, each condition checked directly.
fn reference(
    rules: &[Rule],
    path: &str,
    method: &str,
    headers: &[(String, String)],
) -> Option<usize> {
    let holds = |m: &Match| {
        let uri_ok = match &m.uri {
            Uri::None => true,
            Uri::Exact(p) if m.ignore_case => path.eq_ignore_ascii_case(p),
            Uri::Exact(p) => path == p,
            Uri::Prefix(p) if m.ignore_case => path
                .to_ascii_lowercase()
                .starts_with(&p.to_ascii_lowercase()),
            Uri::Prefix(p) => path.starts_with(p.as_str()),
            Uri::Regex(r) => regex::Regex::new(&format!("^(?:{r})$"))
                .unwrap()
                .is_match(path),
        };
        let header_ok = match &m.header {
            None => true,
            Some((n, v, prefix)) => {
                headers
                    .iter()
                    .find(|(hn, _)| hn == n)
                    .is_some_and(|(_, hv)| {
                        if *prefix {
                            hv.starts_with(v.as_str())
                        } else {
                            hv == v
                        }
                    })
            }
        };
        let method_ok = m.method.as_deref().is_none_or(|x| x == method);
        uri_ok && header_ok && method_ok
    };
    rules
        .iter()
        .position(|r| r.matches.is_empty() || r.matches.iter().any(holds))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn compiled_table_agrees_with_linear_reference(
        rules in rules(),
        requests in prop::collection::vec(
            (path(), prop::sample::select(vec!["GET", "POST"]),
             prop::option::of((prop::sample::select(vec!["x-user", "x-env"]), prop::sample::select(vec!["jason", "jas", "prod", "ja"])))),
            1..8),
    ) {
        let config = load_str(&yaml(&rules), "prop");
        prop_assert!(!config.has_errors(), "{:?}", config.messages);
        let mesh = Mesh::compile(&config);
        for (p, method, header) in requests {
            let mut req = Request::new("t.example").path(p.clone()).method(method);
            let mut headers = Vec::new();
            if let Some((n, v)) = header {
                req = req.header(n, v);
                headers.push((n.to_string(), v.to_string()));
            }
            let fast = mesh.decide(&req).unwrap();
            let slow = mesh.explain(&req).unwrap();
            let expected = reference(&rules, &p, method, &headers);
            prop_assert_eq!(fast.rule().map(|r| r.index()), expected, "path {} method {}", p, method);
            let mut slow_json = slow.to_json();
            slow_json.as_object_mut().unwrap().remove("trace");
            prop_assert_eq!(fast.to_json(), slow_json);
        }
    }
}

#[test]
fn weighted_picks_over_the_full_range_reproduce_weights_exactly() {
    let text = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  http:\n  - route:\n    - {destination: {host: t.example, subset: a}, weight: 7}\n    - {destination: {host: t.example, subset: b}, weight: 0}\n    - {destination: {host: t.example, subset: c}, weight: 13}\n    - {destination: {host: t.example, subset: d}, weight: 80}\n";
    let mesh = Mesh::compile(&load_str(text, "w"));
    let d = mesh.decide(&Request::new("t.example")).unwrap();
    let weights: Vec<u32> = d.destinations().iter().map(|x| x.weight()).collect();
    assert_eq!(weights, [7, 13, 80], "zero-weight destinations are dropped");
    let mut counts = std::collections::BTreeMap::new();
    for r in 0..100u64 {
        let picked = d.pick(r).unwrap();
        *counts
            .entry(picked.subset().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.get("a"), Some(&7));
    assert_eq!(counts.get("c"), Some(&13));
    assert_eq!(counts.get("d"), Some(&80));
    // Envoy walks the list in order: random % total lands in [0,7) -> a, [7,20) -> c.
    assert_eq!(d.pick(6).unwrap().subset(), Some("a"));
    assert_eq!(d.pick(7).unwrap().subset(), Some("c"));
    assert_eq!(d.pick(100 + 20).unwrap().subset(), Some("d"));
}

/// Services in three namespaces (one with two ports), DestinationRules with
/// subsets, `exportTo` and workload selectors chosen by the test, and one
/// VirtualService per service routing to every subset.
fn destinations_yaml(rules: &[(usize, usize, bool, bool)]) -> String {
    let namespaces = ["default", "prod", "istio-system"];
    let mut s = String::new();
    for (i, ns) in namespaces.iter().enumerate() {
        let ports = if i == 1 {
            "[{port: 80, name: http}, {port: 8080, name: http-alt}]"
        } else {
            "[{port: 80, name: http}]"
        };
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: {ns}}}\nspec:\n  selector: {{app: svc}}\n  ports: {ports}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: svc-v1, namespace: {ns}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: svc}}}}\n  template:\n    metadata: {{labels: {{app: svc, version: v1}}}}\n    spec: {{containers: [{{name: c, image: i}}]}}\n\
             ---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: svc, namespace: {ns}}}\nspec:\n  hosts: [svc.{ns}.svc.cluster.local]\n  http:\n  - match: [{{uri: {{prefix: /a}}}}]\n    route:\n    - {{destination: {{host: svc.{ns}.svc.cluster.local, subset: v1}}, weight: 50}}\n    - {{destination: {{host: svc.{ns}.svc.cluster.local, subset: v2}}, weight: 50}}\n    - {{destination: {{host: svc.{ns}.svc.cluster.local, subset: v1}}, weight: 0}}\n  - route:\n    - destination: {{host: svc.{ns}.svc.cluster.local, subset: v1, port: {{number: 80}}}}\n"
        ));
    }
    for (k, &(rule_ns, host_ns, private, selector)) in rules.iter().enumerate() {
        let (rns, hns) = (namespaces[rule_ns], namespaces[host_ns]);
        let export = if private { "\n  exportTo: [\".\"]" } else { "" };
        let sel = if selector {
            "\n  workloadSelector: {matchLabels: {app: caller}}"
        } else {
            ""
        };
        let subset = if k % 2 == 0 { "v1" } else { "v2" };
        s.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr-{k}, namespace: {rns}}}\nspec:\n  host: svc.{hns}.svc.cluster.local{export}{sel}\n  trafficPolicy: {{loadBalancer: {{simple: RANDOM}}, portLevelSettings: [{{port: {{number: 8080}}, loadBalancer: {{simple: LEAST_REQUEST}}}}]}}\n  subsets:\n  - name: {subset}\n    labels: {{version: {subset}}}\n    trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: {k}}}}}}}\n"
        ));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// `decide` answers from destinations resolved per namespace ahead of
    /// time; `explain` resolves them per request. They must agree whatever
    /// the DestinationRules' namespaces, visibility and selectors.
    #[test]
    fn resolved_destinations_agree_with_per_request_resolution(
        rules in prop::collection::vec((0..3usize, 0..3usize, any::<bool>(), any::<bool>()), 0..6),
        requests in prop::collection::vec(
            (0..3usize, 0..3usize, prop::sample::select(vec!["/a", "/b"]),
             prop::sample::select(vec![80u16, 8080]), any::<bool>()),
            1..10),
    ) {
        let namespaces = ["default", "prod", "istio-system"];
        let config = load_str(&destinations_yaml(&rules), "prop");
        prop_assert!(!config.has_errors(), "{:?}", config.messages);
        let mesh = Mesh::compile(&config);
        for (from, to, path, port, caller_label) in requests {
            let mut req = Request::new(format!("svc.{}", namespaces[to]))
                .path(path)
                .port(port)
                .from_namespace(namespaces[from]);
            if caller_label {
                req = req.from_labels([("app".to_string(), "caller".to_string())].into());
            }
            let fast = mesh.decide(&req).unwrap();
            let mut slow = mesh.explain(&req).unwrap().to_json();
            slow.as_object_mut().unwrap().remove("trace");
            prop_assert_eq!(fast.to_json(), slow, "request {:?}", req);
        }
    }
}
