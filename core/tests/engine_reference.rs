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
            prop_assert_eq!(fast.rule.as_ref().map(|r| r.index), expected, "path {} method {}", p, method);
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
    let weights: Vec<u32> = d.destinations.iter().map(|x| x.weight).collect();
    assert_eq!(weights, [7, 13, 80], "zero-weight destinations are dropped");
    let mut counts = std::collections::BTreeMap::new();
    for r in 0..100u64 {
        let picked = d.pick(r).unwrap();
        *counts
            .entry(picked.subset.as_deref().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.get("a"), Some(&7));
    assert_eq!(counts.get("c"), Some(&13));
    assert_eq!(counts.get("d"), Some(&80));
    // Envoy walks the list in order: random % total lands in [0,7) -> a, [7,20) -> c.
    assert_eq!(d.pick(6).unwrap().subset.as_deref(), Some("a"));
    assert_eq!(d.pick(7).unwrap().subset.as_deref(), Some("c"));
    assert_eq!(d.pick(100 + 20).unwrap().subset.as_deref(), Some("d"));
}
