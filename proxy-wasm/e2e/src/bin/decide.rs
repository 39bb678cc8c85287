//! meshroute's decisions for the Envoy agreement harness, on the
//! configuration Istio's admission webhook admits (as the proxies see it).
//!
//! - `decide --routetest FILE`: every case of a route-test file, its
//!   configuration loaded and its requests built (defaults merged) exactly
//!   as `meshroute test` does; one JSON line per case with its `name` and
//!   merged `request`.
//! - `decide FILES...`: reads meshroute requests (JSON, one a line) on stdin.
//!
//! Each line: outcome, destination clusters and weights, the status and
//! Location of a local reply, fault, rewritten path, header operations, or
//! `error` when the request is refused.
use meshroute::{Decision, Mesh};
use serde_json::{json, Value};
use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, file] = args.as_slice() {
        if flag == "--routetest" {
            routetest(file);
            return;
        }
    }
    let mut texts = Vec::new();
    for f in &args {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push((f.clone(), t)),
            Err(e) => fail(&format!("{f}: {e}")),
        }
    }
    let inputs: Vec<meshroute::load::Input<'_>> = texts
        .iter()
        .map(|(name, text)| meshroute::load::Input { name, text })
        .collect();
    let config = meshroute::load::load(&inputs, &meshroute::load::LoadOptions::default());
    let mesh = Mesh::compile(&meshroute::admission::admit(&config).config);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let out = match serde_json::from_str::<meshroute::Request>(&line) {
            Err(e) => json!({"error": e.to_string()}),
            Ok(req) => as_json(mesh.decide(&req).map_err(|e| e.to_string())),
        };
        println!("{out}");
    }
}

fn fail(why: &str) -> ! {
    eprintln!("decide: {why}");
    std::process::exit(1);
}

fn routetest(file: &str) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
    let parsed = meshroute::routetest::parse(&text, file).unwrap_or_else(|e| fail(&e));
    let dir = std::path::Path::new(file)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let config = parsed
        .load_config(|f| std::fs::read_to_string(dir.join(f)).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| fail(&e));
    let mesh = Mesh::compile(&meshroute::admission::admit(&config).config);
    for case in &parsed.cases {
        let (request, outcome) =
            meshroute::routetest::decide_case(case, &parsed.defaults, &mesh, false);
        let mut out = as_json(outcome);
        out["name"] = json!(case.name);
        out["request"] = request;
        println!("{out}");
    }
}

fn as_json(outcome: Result<Decision<'_>, String>) -> Value {
    match outcome {
        Err(e) => json!({"error": e}),
        Ok(d) => json!({
            "outcome": d.outcome().as_str(),
            "destinations": d.destinations().iter().map(|x| json!({"cluster": x.cluster(), "weight": x.weight(), "problem": x.problem()})).collect::<Vec<_>>(),
            "status": d.redirect().map(|r| r.status).or(d.direct_response().map(|r| r.status)),
            "location": d.redirect().map(|r| r.location.clone()),
            "fault": d.fault(),
            "rewrite": d.rewrite().and_then(|r| r.path.clone()),
            "requestHeaders": d.request_headers(),
            "responseHeaders": d.response_headers(),
        }),
    }
}
