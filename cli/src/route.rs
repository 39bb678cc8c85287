//! `meshroute route` (the decision as JSON) and `meshroute explain` (the
//! decision and its trace, for a person; or every case of a route-test file).

use crate::args::{scan, unknown, Arg};
use crate::inputs;
use crate::progress::Reporter;
use crate::style::Style;
use crate::Failure;
use meshroute::decide::Protocol;
use meshroute::explain;
use meshroute::limits::Limits;
use meshroute::load::{load_with_progress, Input, LoadOptions};
use meshroute::routetest::{self, CaseReport, CaseStatus};
use meshroute::{Decision, Mesh, Request};
use serde_json::Value;
use std::collections::BTreeMap;

const ROUTE_HELP: &str = "\
Usage: meshroute route -f FILES... [request options] [METHOD] URL

Prints where the mesh sends the request, as JSON (spec: route-tests.md).
";

const EXPLAIN_HELP: &str = "\
Usage: meshroute explain -f FILES... [request options] [METHOD] URL
       meshroute explain FILE.routetest.yaml|FILE.scenario.yaml...

Shows why the mesh sends the request where it does: every VirtualService
and rule considered and which condition matched or failed. Given route-test
files, explains every case and says whether it came out as expected; given
scenario files, replays each and shows its timeline and every expectation.

Example:
  meshroute explain -f examples/bookinfo -H end-user:jason GET http://reviews:9080/
";

const REQUEST_OPTIONS: &str = "
Configuration:
  -f, --filename FILES         files or directories, repeatable or comma-separated
  -n, --namespace NS           namespace of resources that name none (default: default)
      --mesh-config FILE       Istio MeshConfig YAML (what istiod reads from its
                               --meshConfig file); replaces a ConfigMap istio-system/istio
                               among the files (spec/mesh-config.md)
{LIMITS}
Request options:
  METHOD                       HTTP method (default GET)
  URL                          [http|https://]host[:port][/path?query]
  -H, --header NAME:VALUE      request header, repeatable
      --from NS                namespace of the calling workload (default: default)
      --labels K=V,...         labels of the calling workload
      --gateway NS/NAME        the request enters by this Gateway (default: the mesh)
      --port N                 destination port (default: from the URL)
      --protocol P             http (default), tls or tcp
      --sni NAME               TLS server name (for --protocol tls)
      --destination-ip IP      original destination address (TCP/TLS)
  -r, --request JSON           the whole request as JSON (spec: route-tests.md)
  -h, --help                   this text
";

/// Runs `route` (`explain` false) or `explain`; returns the exit status.
pub fn main(argv: &[String], explain: bool) -> Result<u8, Failure> {
    let command = if explain { "explain" } else { "route" };
    let flags = [
        "--limit",
        "--mesh-config",
        "-f",
        "--filename",
        "-n",
        "--namespace",
        "-H",
        "--header",
        "--from",
        "--labels",
        "--gateway",
        "--port",
        "--protocol",
        "--sni",
        "--destination-ip",
        "-r",
        "--request",
    ];
    let mut files: Vec<String> = Vec::new();
    let mut options = LoadOptions::default();
    let mut positionals = Vec::new();
    let mut headers = Vec::new();
    let mut json_request: Option<String> = None;
    let mut edits: Vec<(String, String)> = Vec::new();
    let mut mesh_config_path: Option<String> = None;
    let mut show_progress = true;
    for arg in scan(argv, &flags)? {
        match arg {
            Arg::Positional(p) => positionals.push(p),
            Arg::Flag(f, v) => match (f.as_str(), v.unwrap_or_default()) {
                ("-h" | "--help", _) => {
                    print!(
                        "{}{}",
                        if explain { EXPLAIN_HELP } else { ROUTE_HELP },
                        REQUEST_OPTIONS.replace("{LIMITS}", crate::limits::HELP)
                    );
                    return Ok(0);
                }
                ("--limit", v) => crate::limits::apply(&mut options.limits, &v)?,
                ("--no-progress", _) => show_progress = false,
                ("-f" | "--filename", v) => {
                    files.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string))
                }
                ("-n" | "--namespace", v) => options.default_namespace = v,
                ("-H" | "--header", v) => headers.push(v),
                ("-r" | "--request", v) => json_request = Some(v),
                ("--mesh-config", v) => mesh_config_path = Some(v),
                (
                    name @ ("--from" | "--labels" | "--gateway" | "--port" | "--protocol" | "--sni"
                    | "--destination-ip"),
                    v,
                ) => edits.push((name.to_string(), v)),
                (other, _) => return Err(unknown(other, command)),
            },
        }
    }
    let limits = &options.limits;
    let mesh_config = inputs::read_mesh_config(mesh_config_path.as_deref(), limits)?;
    let reporter = Reporter::for_stderr(show_progress);
    if files.is_empty() {
        let all_tests = !positionals.is_empty()
            && positionals
                .iter()
                .all(|p| inputs::is_test_file(p) || std::path::Path::new(p).is_dir());
        if explain && all_tests && headers.is_empty() && edits.is_empty() {
            return explain_tests(&positionals, mesh_config.as_ref(), limits, &reporter);
        }
        return Err(Failure(format!(
            "no configuration given: use -f FILES (run `meshroute {command} --help`)"
        )));
    }
    let mut request = match json_request {
        Some(j) => {
            serde_json::from_str::<Request>(&j).map_err(|e| Failure(format!("--request: {e}")))?
        }
        None => request_from_url(&positionals)?,
    };
    for h in &headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Failure(format!("header {h:?}: write it as NAME:VALUE")))?;
        request.headers.append(name.trim(), value.trim_start());
    }
    for (name, value) in edits {
        apply(&mut request, &name, &value)?;
    }

    let names = inputs::expand(&files, |p| {
        inputs::is_config_file(p) && !inputs::is_test_file(p)
    })?;
    let texts = inputs::read_all(&names, limits)?;
    let input_list: Vec<Input<'_>> = texts
        .iter()
        .map(|t| Input {
            name: &t.name,
            text: &t.text,
        })
        .collect();
    let mut config = load_with_progress(&input_list, &options, reporter.progress());
    // The loaded resources own their text: the files need not stay in
    // memory while the table compiles (150 MB at 100,000 services).
    drop(input_list);
    drop(texts);
    if let Some(m) = &mesh_config {
        config.add_mesh_config_file(&m.text, &m.name);
    }
    let errors: Vec<_> = config.load_errors().collect();
    if !errors.is_empty() {
        eprintln!(
            "meshroute {command}: the configuration has {} error(s); resources with errors are left out (run `meshroute check`):",
            errors.len()
        );
        for e in errors {
            eprintln!("{e}");
        }
    }
    let mesh = reporter.timed("compile", || Mesh::compile(&config));
    drop(reporter);
    let outcome = print_decision(&mesh, &request, explain);
    // The process exits next: freeing a big mesh piece by piece would cost
    // a fifth of the run (measured at 100,000 services) for nothing.
    std::mem::forget(mesh);
    std::mem::forget(config);
    outcome
}

/// Prints the decision (or its explanation) for `request`; the exit status.
fn print_decision(mesh: &Mesh, request: &Request, explain: bool) -> Result<u8, Failure> {
    let style = Style::for_stdout();
    if explain {
        println!("{}", request_line(&serde_json::to_value(request)?, style));
        match mesh.explain(request) {
            Ok(d) => {
                print_explanation(&d, style);
                Ok(0)
            }
            Err(e) => {
                println!("{} {e}", style.red("\u{2718} error:"));
                Ok(2)
            }
        }
    } else {
        match mesh.decide(request) {
            Ok(d) => {
                println!("{}", serde_json::to_string_pretty(&d)?);
                Ok(0)
            }
            Err(e) => Err(Failure(e.to_string())),
        }
    }
}

/// `[METHOD] URL` to a request.
fn request_from_url(positionals: &[String]) -> Result<Request, Failure> {
    let (method, url) = match positionals {
        [url] => ("GET", url.as_str()),
        [method, url] => (method.as_str(), url.as_str()),
        [] => return Err(Failure("no URL given".into())),
        _ => {
            return Err(Failure(format!(
                "expected [METHOD] URL, got {} arguments",
                positionals.len()
            )))
        }
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((s, rest)) => (Some(s.to_ascii_lowercase()), rest),
        None => (None, url),
    };
    if let Some(s) = &scheme {
        if s != "http" && s != "https" {
            return Err(Failure(format!("URL scheme {s:?}: use http or https")));
        }
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(Failure(format!("URL {url:?} has no host")));
    }
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let mut request = Request::new(authority)
        .method(method.to_ascii_uppercase())
        .path(path);
    request.scheme = scheme;
    Ok(request)
}

fn apply(request: &mut Request, name: &str, value: &str) -> Result<(), Failure> {
    match name {
        "--from" => request.source.namespace = value.to_string(),
        "--labels" => {
            let mut labels = BTreeMap::new();
            for pair in value.split(',').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| Failure(format!("label {pair:?}: write it as KEY=VALUE")))?;
                labels.insert(k.to_string(), v.to_string());
            }
            request.source.labels = labels;
        }
        "--gateway" => request.gateway = value.to_string(),
        "--port" => {
            request.port = Some(
                value
                    .parse()
                    .map_err(|_| Failure(format!("--port {value:?}: not a port number")))?,
            )
        }
        "--protocol" => {
            request.protocol = match value.to_ascii_lowercase().as_str() {
                "http" => Protocol::Http,
                "tls" => Protocol::Tls,
                "tcp" => Protocol::Tcp,
                other => {
                    return Err(Failure(format!(
                        "--protocol {other:?}: use http, tls or tcp"
                    )))
                }
            }
        }
        "--sni" => request.sni = Some(value.to_string()),
        "--destination-ip" => request.destination_ip = Some(value.to_string()),
        other => return Err(Failure(format!("unknown option {other}"))),
    }
    Ok(())
}

/// `GET http://reviews:9080/ from default via mesh` and the headers, from a
/// request's JSON (so it works for route-test requests too).
fn request_line(request: &Value, style: Style) -> String {
    explain::request_line(request, &style)
}

/// The trace, then the outcome and what the decision carries.
fn print_explanation(d: &Decision, style: Style) {
    print!("{}", explain::decision_text(d, &style));
}

/// `explain FILE.routetest.yaml...`: every case, its trace and its verdict.
fn explain_tests(
    paths: &[String],
    mesh_config: Option<&inputs::Text>,
    limits: &Limits,
    reporter: &Reporter,
) -> Result<u8, Failure> {
    let style = Style::for_stdout();
    let names = inputs::expand(paths, inputs::is_test_file)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for name in &names {
        let text = inputs::read(name, limits).map_err(|e| Failure(format!("{name}: {e}")))?;
        let file = routetest::parse_within(&text, name, limits)?;
        let config = file.load_config_with_progress(
            inputs::resolver(name, limits),
            mesh_config.map(inputs::Text::pair),
            reporter.progress(),
        )?;
        let messages = meshroute::check_with_progress(&config, reporter.progress());
        for m in messages.iter().filter(|m| m.is_error()) {
            println!("{}", style.red(&m.to_string()));
        }
        if let Some(scenario) = &file.scenario {
            let (p, f) = explain_scenario(name, scenario, &config, style);
            passed += p;
            failed += f;
            continue;
        }
        let mesh = reporter.timed("compile", || Mesh::compile(&config));
        for case in &file.cases {
            println!(
                "\n{} {}",
                style.bold(&format!("\u{2500}\u{2500} {}", case.name)),
                style.dim(&format!("({name}:{})", case.location.line))
            );
            let (request, outcome) = routetest::decide_case(case, &file.defaults, &mesh, true);
            println!("{}", request_line(&request, style));
            match &outcome {
                Ok(d) => print_explanation(d, style),
                Err(e) => println!("{} {e}", style.red("\u{2718} error:")),
            }
            let report = routetest::judge(case, request, &outcome, &messages);
            if report.status == CaseStatus::Passed {
                passed += 1;
                println!("{}", style.green("\u{2714} as expected"));
            } else {
                failed += 1;
                println!(
                    "{} {}",
                    style.red("\u{2718} not as expected:"),
                    differences(&report)
                );
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

/// A scenario replayed: its setup and timeline, then each `expect` entry
/// with its verdict. Returns the passed and failed counts as `meshroute
/// test` counts them (a scenario that cannot be replayed is one failure).
fn explain_scenario(
    name: &str,
    scenario: &meshroute::scenario::Scenario,
    config: &meshroute::model::Config,
    style: Style,
) -> (usize, usize) {
    println!("\n{}", style.bold(&format!("\u{2500}\u{2500} {name}")));
    let report = match meshroute::scenario::replay(scenario, config) {
        Ok(r) => r,
        Err(e) => {
            println!("{} {e}", style.red("\u{2718} error:"));
            return (0, 1);
        }
    };
    print!("{}", report.render_timeline());
    let (mut passed, mut failed) = (0, 0);
    for case in routetest::scenario_cases(scenario, &report) {
        let place = style.dim(&format!("({name}:{})", case.location.line));
        if case.status == CaseStatus::Passed {
            passed += 1;
            println!(
                "{} {} {place}: {}",
                style.green("\u{2714}"),
                case.name,
                case.expected
            );
        } else {
            failed += 1;
            println!(
                "{} {} {place} {} {}",
                style.red("\u{2718}"),
                case.name,
                style.red("not as expected:"),
                differences(&case)
            );
        }
    }
    (passed, failed)
}

/// A case's differences on one line: `path: expected X, actual Y; ...`.
pub fn differences(report: &CaseReport) -> String {
    if !report.note.is_empty() {
        return report.note.clone();
    }
    report
        .mismatches
        .iter()
        .map(|m| {
            let actual = match &m.actual {
                Some(v) => v.to_string(),
                None => "absent".to_string(),
            };
            let expected = if m.expected.is_null() {
                "absent".to_string()
            } else {
                m.expected.to_string()
            };
            let path = if m.path.is_empty() {
                "decision"
            } else {
                &m.path
            };
            format!("{path}: expected {expected}, actual {actual}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn urls_become_requests() {
        let r = request_from_url(&args(&["post", "https://reviews:9080/a?b=1"])).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.host, "reviews:9080");
        assert_eq!(r.path, "/a?b=1");
        assert_eq!(r.scheme.as_deref(), Some("https"));
        let r = request_from_url(&args(&["reviews"])).unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.scheme),
            ("reviews", "/", None)
        );
        assert!(request_from_url(&args(&["ftp://x/"])).is_err());
        assert!(request_from_url(&args(&["http:///x"])).is_err());
    }
}
