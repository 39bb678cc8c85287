//! `decide FILES...`: reads meshroute requests (JSON, one a line) on stdin
//! and prints one JSON line per request: outcome, destination clusters and
//! weights, and the status of a local reply. Decides on the configuration
//! Istio's admission webhook admits, as the proxies see it.
use std::io::BufRead;

fn main() {
    let mut texts = Vec::new();
    for f in std::env::args().skip(1) {
        match std::fs::read_to_string(&f) {
            Ok(t) => texts.push((f, t)),
            Err(e) => {
                eprintln!("{f}: {e}");
                std::process::exit(1);
            }
        }
    }
    let inputs: Vec<meshroute::load::Input<'_>> = texts
        .iter()
        .map(|(name, text)| meshroute::load::Input { name, text })
        .collect();
    let config = meshroute::load::load(&inputs, &meshroute::load::LoadOptions::default());
    let mesh = meshroute::Mesh::compile(&meshroute::admission::admit(&config).config);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let out = match serde_json::from_str::<meshroute::Request>(&line) {
            Err(e) => serde_json::json!({"error": e.to_string()}),
            Ok(req) => match mesh.decide(&req) {
                Err(e) => serde_json::json!({"error": e.to_string()}),
                Ok(d) => serde_json::json!({
                    "outcome": d.outcome().as_str(),
                    "destinations": d.destinations().iter().map(|x| serde_json::json!({"cluster": x.cluster(), "weight": x.weight(), "problem": x.problem()})).collect::<Vec<_>>(),
                    "status": d.redirect().map(|r| r.status).or(d.direct_response().map(|r| r.status)),
                    "location": d.redirect().map(|r| r.location.clone()),
                    "fault": d.fault(),
                    "rewrite": d.rewrite().and_then(|r| r.path.clone()),
                    "requestHeaders": d.request_headers(),
                    "responseHeaders": d.response_headers(),
                }),
            },
        };
        println!("{out}");
    }
}
