//! Istio's analyzer tests (istio/istio `pkg/config/analysis/analyzers/analyzers_test.go`,
//! `TestAnalyzers`) as `meshroute::check` expectations: the case list is
//! `tests/istio/analyzers/cases.yaml`, its input files are beside it in `testdata/`.
//!
//! Each Istio case runs one analyzer; `check` runs all of them. A case passes
//! when every expected `[code, resource]` is reported (as a multiset, like
//! gomega's `ConsistOf`) and no other message falls in the scope of the
//! case's analyzer (the codes it reports, narrowed by resource kind and text
//! where analyzers share a code). Messages of other analyzers and meshroute's
//! own `MR` messages are allowed and counted.
//!
//! A case marked `skip:` must still fail (so a fix that makes it pass is
//! noticed and the mark removed) and be listed in `SKIPPED.md`.

use meshroute::load::{load, read_document, Input, LoadOptions};
use meshroute::Message;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/istio/analyzers")
}

/// One reportable message of an analyzer: a code, and where analyzers share
/// a code, the resource kind and the start of the text.
struct Report {
    code: String,
    kind: Option<String>,
    text: Option<String>,
}

impl Report {
    fn covers(&self, m: &Message) -> bool {
        m.code == self.code
            && self
                .kind
                .as_ref()
                .is_none_or(|k| m.resource.split(' ').next() == Some(k.as_str()))
            && self.text.as_ref().is_none_or(|t| m.text.starts_with(t))
    }
}

struct Case {
    name: String,
    go: String,
    analyzer: String,
    files: Vec<String>,
    mesh_config: Option<String>,
    expected: Vec<(String, String)>,
    skip: Option<String>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn read_cases() -> (BTreeMap<String, Vec<Report>>, Vec<Case>) {
    let path = corpus_dir().join("cases.yaml");
    let text = std::fs::read_to_string(&path).expect("read cases.yaml");
    let doc = read_document(&text, "cases.yaml").expect("cases.yaml parses");
    let mut analyzers = BTreeMap::new();
    for (name, a) in doc["analyzers"].as_object().expect("analyzers map") {
        let reports = a["reports"]
            .as_array()
            .expect("reports list")
            .iter()
            .map(|r| Report {
                code: str_field(r, "code").expect("report code").to_string(),
                kind: str_field(r, "kind").map(str::to_string),
                text: str_field(r, "text").map(str::to_string),
            })
            .collect();
        analyzers.insert(name.clone(), reports);
    }
    let cases = doc["cases"]
        .as_array()
        .expect("cases list")
        .iter()
        .map(|c| Case {
            name: str_field(c, "name").expect("case name").to_string(),
            go: str_field(c, "go").expect("case go name").to_string(),
            analyzer: str_field(c, "analyzer").expect("case analyzer").to_string(),
            files: c["files"]
                .as_array()
                .expect("case files")
                .iter()
                .map(|f| f.as_str().expect("file name").to_string())
                .collect(),
            expected: c["expected"]
                .as_array()
                .expect("case expected")
                .iter()
                .map(|e| {
                    let pair = e.as_array().expect("[code, resource]");
                    let code = pair[0].as_str().expect("code").to_string();
                    let resource = pair[1].as_str().expect("resource");
                    (code, written_resource(resource))
                })
                .collect(),
            mesh_config: str_field(c, "meshConfig").map(str::to_string),
            skip: str_field(c, "skip").map(str::to_string),
        })
        .collect();
    (analyzers, cases)
}

/// Istio writes `Kind name` for a resource given without a namespace;
/// meshroute's loader puts it in `default`.
fn written_resource(istio: &str) -> String {
    match istio.split_once(' ') {
        Some((kind, name)) if !name.contains('/') => format!("{kind} default/{name}"),
        _ => istio.to_string(),
    }
}

/// What one case produced, compared with what Istio expects.
struct Outcome {
    missing: Vec<(String, String)>,
    unexpected: Vec<Message>,
    other_ist: usize,
    meshroute_only: usize,
}

fn run_case(case: &Case, reports: &[Report]) -> Outcome {
    let dir = corpus_dir().join("testdata");
    let texts: Vec<(String, String)> = case
        .files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(f))
                .unwrap_or_else(|e| panic!("{}: read {f}: {e}", case.name));
            (format!("testdata/{f}"), text)
        })
        .collect();
    let inputs: Vec<Input<'_>> = texts
        .iter()
        .map(|(name, text)| Input { name, text })
        .collect();
    let mut config = load(&inputs, &LoadOptions::default());
    if let Some(file) = &case.mesh_config {
        // istioctl analyze --meshConfigFile (the test's AddFileKubeMeshConfig).
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{}: read {file}: {e}", case.name));
        config.add_mesh_config_file(&text, &format!("testdata/{file}"));
    }
    let messages = meshroute::check(&config);
    let (in_scope, others): (Vec<&Message>, Vec<&Message>) = messages
        .iter()
        .partition(|m| reports.iter().any(|r| r.covers(m)));
    let mut missing = Vec::new();
    let mut unmatched: Vec<&Message> = in_scope;
    for (code, resource) in &case.expected {
        match unmatched
            .iter()
            .position(|m| &m.code == code && &m.resource == resource)
        {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push((code.clone(), resource.clone())),
        }
    }
    Outcome {
        missing,
        unexpected: unmatched.into_iter().cloned().collect(),
        other_ist: others.iter().filter(|m| m.code.starts_with("IST")).count(),
        meshroute_only: others.iter().filter(|m| m.code.starts_with("MR")).count(),
    }
}

fn describe(case: &Case, o: &Outcome) -> String {
    let mut s = format!("{} ({}, {}):", case.name, case.go, case.analyzer);
    for (code, resource) in &o.missing {
        s.push_str(&format!("\n  missing {code} {resource}"));
    }
    for m in &o.unexpected {
        s.push_str(&format!("\n  unexpected {m}"));
    }
    s
}

#[test]
fn istio_analyzer_cases_hold() {
    let (analyzers, cases) = read_cases();
    let skipped_md =
        std::fs::read_to_string(corpus_dir().join("SKIPPED.md")).expect("read SKIPPED.md");
    let mut failures = Vec::new();
    let (mut passing, mut skipped, mut other_ist, mut meshroute_only) = (0, 0, 0, 0);
    for case in &cases {
        let reports = analyzers
            .get(&case.analyzer)
            .unwrap_or_else(|| panic!("{}: unknown analyzer {}", case.name, case.analyzer));
        let outcome = run_case(case, reports);
        let passed = outcome.missing.is_empty() && outcome.unexpected.is_empty();
        match &case.skip {
            Some(reason) => {
                skipped += 1;
                assert!(
                    skipped_md.contains(&case.go),
                    "{}: skipped ({reason}) but {} is not in SKIPPED.md",
                    case.name,
                    case.go
                );
                if passed {
                    failures.push(format!(
                        "{} ({}) passes now: remove its `skip:` and its SKIPPED.md line",
                        case.name, case.go
                    ));
                }
            }
            None if passed => {
                passing += 1;
                other_ist += outcome.other_ist;
                meshroute_only += outcome.meshroute_only;
            }
            None => failures.push(describe(case, &outcome)),
        }
    }
    println!(
        "istio analyzer cases: {} listed, {passing} passing, {skipped} skipped; \
         beside the expected messages the passing cases drew {other_ist} messages of \
         other Istio analyzers and {meshroute_only} MR messages",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
