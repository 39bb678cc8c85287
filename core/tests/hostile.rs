//! Hostile inputs: each gives a clear error or a bounded result within a few
//! seconds, never a panic, an abort or unbounded memory.

use meshroute::load::load_str;
use meshroute::{Mesh, Request};
use std::time::{Duration, Instant};

fn within<T>(limit: Duration, what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < limit, "{what} took {took:?}, more than {limit:?}");
    out
}

fn error_text(config: &meshroute::model::Config) -> String {
    config
        .messages
        .iter()
        .filter(|m| m.is_error())
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        text.push_str(&format!("  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let config = within(Duration::from_secs(5), "alias bomb", || {
        load_str(&text, "bomb.yaml")
    });
    let errors = error_text(&config);
    assert!(
        errors.contains("MR0005") && errors.contains("bomb.yaml:"),
        "{errors}"
    );
}

#[test]
fn ten_thousand_deep_nesting_is_refused() {
    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let config = within(Duration::from_secs(5), "deep flow nesting", || {
        load_str(&flow, "deep.yaml")
    });
    assert!(
        error_text(&config).contains("MR0005"),
        "{}",
        error_text(&config)
    );
    let block: String = (0..10_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let config = within(Duration::from_secs(5), "deep block nesting", || {
        load_str(&block, "deep.yaml")
    });
    assert!(config.has_errors());
}

#[test]
fn a_100_mb_document_is_refused_without_parsing() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  x: \"{}\"\n",
        "a".repeat(100 * 1024 * 1024)
    );
    let config = within(Duration::from_secs(5), "100 MB document", || {
        load_str(&text, "big.yaml")
    });
    let errors = error_text(&config);
    assert!(errors.contains("MAX_INPUT_BYTES"), "{errors}");
}

#[test]
fn catastrophic_looking_regexes_stay_linear() {
    let text = r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: t}
spec:
  hosts: [t.example]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: t}
spec:
  hosts: [t.example]
  http:
  - match: [{uri: {regex: "(a+)+$"}}, {uri: {regex: "(a|aa)*b"}}, {uri: {regex: "(.*a){20}"}}]
    route: [{destination: {host: t.example}}]
"#;
    let mesh = Mesh::compile(&load_str(text, "re.yaml"));
    let path = format!("/{}!", "a".repeat(60_000));
    let d = within(Duration::from_secs(3), "regex on a long path", || {
        mesh.decide(&Request::new("t.example").path(path)).unwrap()
    });
    assert_eq!(d.outcome().as_str(), "notFound");
}

#[test]
fn huge_regex_programs_are_refused() {
    // Small text, enormous program: counted repetition of a Unicode class.
    let re = meshroute::matching::regex::Re2Regex::new(r"\pL{1000}\pL{1000}\pL{1000}");
    assert!(re.is_err());
    let long = "a".repeat(2000);
    assert!(
        meshroute::matching::regex::Re2Regex::new(&long).is_err(),
        "over Istio's 1024 limit"
    );
}

#[test]
fn one_hundred_thousand_rules_compile_and_decide_in_bounded_time() {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  http:\n",
    );
    for i in 0..100_000 {
        text.push_str(&format!("  - match: [{{uri: {{exact: /r/{i}}}}}]\n    route: [{{destination: {{host: t.example}}}}]\n"));
    }
    let config = within(Duration::from_secs(30), "load 100,000 rules", || {
        load_str(&text, "rules.yaml")
    });
    assert!(!config.has_errors(), "{}", error_text(&config));
    let mesh = within(Duration::from_secs(30), "compile 100,000 rules", || {
        Mesh::compile(&config)
    });
    let d = within(
        Duration::from_millis(50),
        "decide among 100,000 rules",
        || {
            mesh.decide(&Request::new("t.example").path("/r/99999"))
                .unwrap()
        },
    );
    assert_eq!(d.rule().map(|r| r.index()), Some(99_999));
}

#[test]
fn oversized_requests_are_request_errors() {
    let mesh = Mesh::compile(&load_str("", "empty.yaml"));
    let mut req = Request::new("a");
    for i in 0..2000 {
        req.headers.append(&format!("h{i}"), "v");
    }
    let e = mesh.decide(&req).unwrap_err();
    assert!(e.to_string().contains("MAX_REQUEST_HEADERS"), "{e}");
    let req = Request::new("a").path("/".repeat(100_000));
    assert!(mesh
        .decide(&req)
        .unwrap_err()
        .to_string()
        .contains("MAX_REQUEST_PATH_BYTES"));
}
