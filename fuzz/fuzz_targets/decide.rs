//! Structured configs and requests: a VirtualService with arbitrary rules
//! over a fixed registry; deciding never panics, `decide` and `explain` give
//! the same decision, and the same request gives the same decision twice.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Rule {
    uri_kind: u8,
    uri: String,
    header: Option<(String, String)>,
    subset: bool,
    weight: u8,
}

#[derive(Arbitrary, Debug)]
struct Input {
    rules: Vec<Rule>,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
    gateway: bool,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fuzz_target!(|input: Input| {
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec:\n  selector: {app: reviews}\n  ports: [{name: http, port: 9080}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews, \"*.example.com\"]\n  http:\n",
    );
    for r in input.rules.iter().take(32) {
        let uri = match r.uri_kind % 4 {
            0 => format!("{{exact: {}}}", q(&r.uri)),
            1 => format!("{{prefix: {}}}", q(&r.uri)),
            2 => format!("{{regex: {}}}", q(&r.uri)),
            _ => "{}".to_string(),
        };
        yaml.push_str(&format!("  - match:\n    - uri: {uri}\n"));
        if let Some((n, v)) = &r.header {
            yaml.push_str(&format!("      headers: {{{}: {{exact: {}}}}}\n", q(n), q(v)));
        }
        yaml.push_str(&format!(
            "    route:\n    - destination: {{host: reviews{}}}\n      weight: {}\n",
            if r.subset { ", subset: v1" } else { "" },
            r.weight
        ));
    }
    let config = meshroute::load::load_str(&yaml, "fuzz.yaml");
    let mesh = meshroute::Mesh::compile(&config);
    let mut req = meshroute::Request::new(if input.host.is_empty() { "reviews".to_string() } else { input.host.clone() });
    req.path = input.path.clone();
    for (n, v) in input.headers.iter().take(16) {
        req.headers.append(n, v);
    }
    if input.gateway {
        req.gateway = "default/gw".into();
    }
    if let (Ok(a), Ok(b)) = (mesh.decide(&req), mesh.explain(&req)) {
        let mut bj = b.to_json();
        if let Some(o) = bj.as_object_mut() {
            o.remove("trace");
        }
        assert_eq!(a.to_json(), bj);
        assert_eq!(mesh.decide(&req).map(|d| d.to_json()).ok(), Some(a.to_json()));
    }
});
