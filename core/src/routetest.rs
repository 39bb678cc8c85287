//! Route-test files: configuration, requests and the decisions expected for
//! them (spec: route-tests.md, "Route-test files").
//!
//! Pure: the caller reads files. [`run`] takes the test file's text and a
//! resolver that returns the text of each `config.files` entry, and returns a
//! [`TestReport`]. The pieces ([`parse`], [`TestFile::load_config`],
//! [`decide_case`], [`judge`]) are public so `meshroute explain` can show the
//! trace of every case with the same verdicts `meshroute test` gives.
//!
//! Scenario files (a file with `events:`) are read here too, once: the
//! `config` block as for route tests, the rest by [`crate::scenario`]; [`run`]
//! replays them and reports each `expect` entry as a case
//! ([`scenario_cases`]).

use crate::decide::{Decision, Mesh, Request};
use crate::duration::parse_duration;
use crate::limits::{self, Limits};
use crate::load::fields::{block_scalar_origin, Fields};
use crate::load::node::{self, Node, Value as NodeValue};
use crate::load::{self, Input, LoadOptions};
use crate::mesh_config::{MeshConfigOrigin, MeshConfigSource};
use crate::message::Message;
use crate::model::Config;
use crate::progress::{NoProgress, Progress};
use crate::scenario::{self, Scenario, ScenarioReport};
use crate::source::Location;
use serde::Serialize;
use serde_json::{Map, Value};

/// Keys of a route-test file.
const FILE_KEYS: [&str; 3] = ["config", "defaults", "cases"];
/// Keys of `config`.
const CONFIG_KEYS: [&str; 3] = ["files", "inline", "meshConfig"];
/// Keys of one case.
const CASE_KEYS: [&str; 4] = ["name", "request", "expect", "expectError"];

/// What kind of file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FileKind {
    /// Requests and expected decisions (`cases:`).
    RouteTest,
    /// A resilience scenario (`events:`).
    Scenario,
}

/// The `config:` block: files relative to the test file, inline YAML, and
/// the mesh config (`meshConfig`, a MeshConfig mapping in istiod's shape,
/// see [`crate::mesh_config`]; it overrides a mesh ConfigMap in the files).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSpec {
    /// `meshConfig` as read (`None` when it cannot apply) and the messages
    /// about it, with their positions in the test file.
    pub mesh_config: Option<(Option<MeshConfigSource>, Vec<Message>)>,
    /// Files as written (relative to the test file).
    pub files: Vec<String>,
    /// Inline multi-document YAML.
    pub inline: Option<String>,
    /// Where the inline text's first line is in the test file, and its
    /// indentation, so messages about it point into the test file.
    inline_origin: Option<(u32, u32)>,
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// A deep partial match against the decision's JSON.
    Decision(Value),
    /// A case-insensitive substring of a configuration or request error.
    Error(String),
}

/// One case of a route-test file.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSpec {
    /// The case's name (`case N` when it has none).
    pub name: String,
    /// Where the case starts in the test file.
    pub location: Location,
    /// The request as written (before `defaults` are merged under it).
    pub request: Value,
    /// What is expected.
    pub expect: Expectation,
}

/// A parsed route-test or scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFile {
    /// The name the file was given (used in messages).
    pub name: String,
    /// Route test or scenario.
    pub kind: FileKind,
    /// The configuration to load.
    pub config: ConfigSpec,
    /// Merged under every case's request.
    pub defaults: Value,
    /// The cases (route tests only).
    pub cases: Vec<CaseSpec>,
    /// What a scenario file replays (scenarios only).
    pub scenario: Option<Scenario>,
    /// The limits the file was read within; its configuration is loaded,
    /// checked and decided within them too.
    pub limits: Limits,
}

/// How [`run_with_options`] runs a file.
#[derive(Clone, Copy)]
pub struct RunOptions<'a> {
    /// A mesh config file given from outside (`(name, text)`), as
    /// [`run_with`] takes it.
    pub mesh_config_file: Option<(&'a str, &'a str)>,
    /// The limits the file, its configuration and its requests are read within.
    pub limits: &'a Limits,
    /// Where loading and checking report their progress.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field(
                "mesh_config_file",
                &self.mesh_config_file.map(|(name, _)| name),
            )
            .field("limits", self.limits)
            .finish_non_exhaustive()
    }
}

/// How one case came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CaseStatus {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed,
}

/// One difference between the expected and the actual value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// Where (`destinations[0].subset`; empty for the whole value).
    pub path: String,
    /// What the case expects (`null` = the key must be absent).
    pub expected: Value,
    /// What the decision has; `None` when the key is absent.
    pub actual: Option<Value>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Where the case starts in the test file.
    pub location: Location,
    /// Passed or failed.
    pub status: CaseStatus,
    /// The request after `defaults` were merged under it.
    pub request: Value,
    /// The expectation (`expect`, or `{"expectError": "..."}`).
    pub expected: Value,
    /// The decision's JSON, or `{"error": "..."}` when there was none.
    pub actual: Value,
    /// The differences (empty when passed).
    pub mismatches: Vec<Mismatch>,
    /// Why the case failed, when it is not a value mismatch.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The result of one test file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    /// The test file's name.
    pub file: String,
    /// Route test or scenario (`None` when the file could not be read as either).
    pub kind: Option<FileKind>,
    /// Why the file could not be run at all (then `cases` is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Load and validation messages about the configuration.
    pub messages: Vec<Message>,
    /// One report per case.
    pub cases: Vec<CaseReport>,
}

impl TestReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(CaseStatus::Passed)
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(CaseStatus::Failed)
    }

    fn count(&self, status: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }
}

/// Runs every case of a route-test file, or replays a scenario with one case
/// per `expect` entry. `resolve` returns the text of a `config.files` entry,
/// given as written (relative to the test file).
pub fn run(
    text: &str,
    name: &str,
    resolve: impl FnMut(&str) -> Result<String, String>,
) -> TestReport {
    run_with(text, name, resolve, None)
}

/// [`run`] with a mesh config file given from outside (`(name, text)`, as
/// `meshroute test --mesh-config` gives it): it applies to files that give
/// no `config.meshConfig` of their own (see [`TestFile::load_config_with`]).
pub fn run_with(
    text: &str,
    name: &str,
    resolve: impl FnMut(&str) -> Result<String, String>,
    mesh_config_file: Option<(&str, &str)>,
) -> TestReport {
    run_with_options(
        text,
        name,
        resolve,
        &RunOptions {
            mesh_config_file,
            limits: &Limits::default(),
            progress: &NoProgress,
        },
    )
}

/// [`run`] with a mesh config file, limits and a progress report (see
/// [`RunOptions`]).
pub fn run_with_options(
    text: &str,
    name: &str,
    mut resolve: impl FnMut(&str) -> Result<String, String>,
    options: &RunOptions<'_>,
) -> TestReport {
    let mut report = TestReport {
        file: name.to_string(),
        kind: None,
        error: None,
        messages: Vec::new(),
        cases: Vec::new(),
    };
    let file = match parse_within(text, name, options.limits) {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.kind = Some(file.kind);
    let config = match file.load_config_with_progress(
        &mut resolve,
        options.mesh_config_file,
        options.progress,
    ) {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.messages = crate::check_with_progress(&config, options.progress);
    if let Some(s) = &file.scenario {
        match scenario::replay(s, &config) {
            Ok(run) => report.cases = scenario_cases(s, &run),
            Err(e) => report.error = Some(e),
        }
        return report;
    }
    options
        .progress
        .phase("compile", 0, crate::progress::ProgressUnit::Steps);
    let mesh = Mesh::compile(&config);
    options.progress.finish();
    for case in &file.cases {
        let (request, outcome) = decide_case(case, &file.defaults, &mesh, false);
        report
            .cases
            .push(judge(case, request, &outcome, &report.messages));
    }
    report
}

/// One case per `expect` entry of a replayed scenario, in file order: its
/// verdict, the values expected and the values the replay produced.
pub fn scenario_cases(scenario: &Scenario, run: &ScenarioReport) -> Vec<CaseReport> {
    run.results
        .iter()
        .zip(scenario.expect_locations())
        .enumerate()
        .map(|(i, (r, location))| {
            let at = crate::duration::format_duration(r.at);
            CaseReport {
                name: format!("expect[{i}] at {at}"),
                location,
                status: if r.passed {
                    CaseStatus::Passed
                } else {
                    CaseStatus::Failed
                },
                request: Value::Null,
                expected: r.expected.clone(),
                actual: r.actual.clone(),
                // `picks` fails on a host the entry leaves out, which a
                // partial match cannot show: the note gives both values whole.
                mismatches: Vec::new(),
                note: if r.passed {
                    String::new()
                } else {
                    format!("expected {} at {at}, got {}", r.expected, r.actual)
                },
            }
        })
        .collect()
}

/// Builds the request of `case` (with `defaults` merged under it) and
/// decides it. Returns the merged request JSON and the decision, or the
/// request error as text (a malformed request, or one `decide` refused).
pub fn decide_case<'m>(
    case: &CaseSpec,
    defaults: &Value,
    mesh: &'m Mesh,
    trace: bool,
) -> (Value, Result<Decision<'m>, String>) {
    let merged = merge_under(&case.request, defaults);
    let outcome = serde_json::from_value::<Request>(merged.clone())
        .map_err(|e| format!("invalid request: {e}"))
        .and_then(|r| {
            let result = if trace {
                mesh.explain(&r)
            } else {
                mesh.decide(&r)
            };
            result.map_err(|e| e.to_string())
        });
    (merged, outcome)
}

/// Judges one case: `outcome` is the decision (or request error) for the
/// merged `request`; `messages` are the configuration's load and
/// validation messages.
///
/// A case with `expect` fails when the configuration has load errors (a
/// resource it relies on may have been left out), when the request is
/// refused, or when the decision does not match. A case with `expectError`
/// passes when an error message (configuration error or request error)
/// contains the substring, compared case-insensitively.
pub fn judge(
    case: &CaseSpec,
    request: Value,
    outcome: &Result<Decision, String>,
    messages: &[Message],
) -> CaseReport {
    let actual = match outcome {
        Ok(d) => d.to_json(),
        Err(e) => serde_json::json!({ "error": e }),
    };
    let mut report = CaseReport {
        name: case.name.clone(),
        location: case.location,
        status: CaseStatus::Failed,
        request,
        expected: Value::Null,
        actual,
        mismatches: Vec::new(),
        note: String::new(),
    };
    let errors: Vec<&Message> = messages.iter().filter(|m| m.is_error()).collect();
    match &case.expect {
        Expectation::Error(wanted) => {
            report.expected = serde_json::json!({ "expectError": wanted });
            let needle = wanted.to_lowercase();
            let in_config = errors
                .iter()
                .any(|m| m.to_string().to_lowercase().contains(&needle));
            let in_request = outcome
                .as_ref()
                .err()
                .is_some_and(|e| e.to_lowercase().contains(&needle));
            if in_config || in_request {
                report.status = CaseStatus::Passed;
            } else if errors.is_empty() && outcome.is_ok() {
                report.note =
                    format!("expected an error containing {wanted:?}, but there was none");
            } else {
                let mut seen: Vec<String> = errors.iter().map(|m| m.text.clone()).collect();
                if let Err(e) = outcome {
                    seen.push(e.clone());
                }
                report.note = format!(
                    "expected an error containing {wanted:?}, got: {}",
                    seen.join(" | ")
                );
            }
        }
        Expectation::Decision(expected) => {
            report.expected = expected.clone();
            // Only what Istio would reject (load errors, admission
            // validation) stops a decision; analysis findings such as an
            // unknown destination host (IST0101) are accepted by Istio and
            // the decision shows their effect (a 503 problem on the destination).
            let rejecting: Vec<&&Message> = errors
                .iter()
                .filter(|m| {
                    m.code.starts_with("MR")
                        || m.code == crate::message::codes::SCHEMA_VALIDATION_ERROR
                })
                .collect();
            if let Some(first) = rejecting.first() {
                report.note = format!(
                    "the configuration has {} error(s) Istio would reject, first: {first}",
                    rejecting.len()
                );
                let mut note = report.note.replace('\n', " ");
                note.truncate(note.trim_end().len());
                report.note = note;
            } else if let Err(e) = outcome {
                report.note = e.clone();
            } else {
                report.mismatches = partial_match(expected, &report.actual);
                if report.mismatches.is_empty() {
                    report.status = CaseStatus::Passed;
                }
            }
        }
    }
    report
}

/// Deep partial match of `actual` against `expected` (spec: route-tests.md):
/// objects match when every key named matches (`null` = the key is absent);
/// lists when they have the same length and match elementwise in order;
/// scalars when equal, numbers numerically (`100` = `100.0`), durations by
/// value (`0.5s` = `500ms`, to the nanosecond as protobuf and Envoy hold
/// them; see [`parse_duration`]). Returns every difference; empty when it
/// matches.
pub fn partial_match(expected: &Value, actual: &Value) -> Vec<Mismatch> {
    let mut out = Vec::new();
    match_at(String::new(), expected, Some(actual), &mut out);
    out
}

fn match_at(path: String, expected: &Value, actual: Option<&Value>, out: &mut Vec<Mismatch>) {
    let mismatch = |out: &mut Vec<Mismatch>, path: String| {
        out.push(Mismatch {
            path,
            expected: expected.clone(),
            actual: actual.cloned(),
        })
    };
    let Some(actual) = actual else {
        if !expected.is_null() {
            mismatch(out, path);
        }
        return;
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (k, w) in want {
                match_at(join_key(&path, k), w, have.get(k), out);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                mismatch(out, path);
                return;
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                match_at(format!("{path}[{i}]"), w, Some(h), out);
            }
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
            mismatch(out, path)
        }
        (w, h) => {
            if !scalars_equal(w, h) {
                mismatch(out, path);
            }
        }
    }
}

fn join_key(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

fn scalars_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::String(a), Value::String(b)) => {
            a == b || matches!((parse_duration(a), parse_duration(b)), (Ok(x), Ok(y)) if x == y)
        }
        (a, b) => a == b,
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// `defaults` merged under `request`: maps are merged key by key (deeply);
/// anything else the request gives wins.
pub fn merge_under(request: &Value, defaults: &Value) -> Value {
    match (request, defaults) {
        (Value::Object(r), Value::Object(d)) => {
            let mut merged: Map<String, Value> = d.clone();
            for (k, v) in r {
                let value = match d.get(k) {
                    Some(dv) => merge_under(v, dv),
                    None => v.clone(),
                };
                merged.insert(k.clone(), value);
            }
            Value::Object(merged)
        }
        (r, Value::Null) => r.clone(),
        (Value::Null, d) => d.clone(),
        (r, _) => r.clone(),
    }
}

impl TestFile {
    /// Whether this is a resilience scenario.
    pub fn is_scenario(&self) -> bool {
        self.kind == FileKind::Scenario
    }

    /// Loads the configuration: each `config.files` entry through `resolve`
    /// (named, in messages, relative to the test file's directory), then
    /// the inline text (messages point at the test file's lines). `Err`
    /// when a file cannot be read.
    pub fn load_config(
        &self,
        resolve: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<Config, String> {
        self.load_config_with(resolve, None)
    }

    /// [`TestFile::load_config`], with a mesh config file given from
    /// outside (`(name, text)`): it applies unless the file gives its own
    /// `config.meshConfig`, which is the more specific of the two.
    pub fn load_config_with(
        &self,
        resolve: impl FnMut(&str) -> Result<String, String>,
        mesh_config_file: Option<(&str, &str)>,
    ) -> Result<Config, String> {
        self.load_config_with_progress(resolve, mesh_config_file, &NoProgress)
    }

    /// [`TestFile::load_config_with`], reporting the load to `progress`.
    pub fn load_config_with_progress(
        &self,
        mut resolve: impl FnMut(&str) -> Result<String, String>,
        mesh_config_file: Option<(&str, &str)>,
        progress: &dyn Progress,
    ) -> Result<Config, String> {
        let dir = match self.name.rfind('/') {
            Some(i) => self.name.get(..=i).unwrap_or(""),
            None => "",
        };
        let mut texts = Vec::new();
        for f in &self.config.files {
            let text = resolve(f).map_err(|e| format!("cannot read config file {f:?}: {e}"))?;
            let shown = if f.starts_with('/') {
                f.clone()
            } else {
                format!("{dir}{f}")
            };
            texts.push((shown, text));
        }
        let inline_name = format!("{} (config.inline)", self.name);
        if let Some(inline) = &self.config.inline {
            texts.push((inline_name.clone(), inline.clone()));
        }
        let inputs: Vec<Input<'_>> = texts
            .iter()
            .map(|(name, text)| Input { name, text })
            .collect();
        let options = LoadOptions {
            limits: self.limits.clone(),
            ..LoadOptions::default()
        };
        let mut config = load::load_with_progress(&inputs, &options, progress);
        if let Some((first_line, indent)) = self.config.inline_origin {
            let sources = config.messages.iter_mut().map(|m| &mut m.source).chain(
                config
                    .mesh_configs
                    .iter_mut()
                    .map(|mesh_config| &mut mesh_config.source),
            );
            for source in sources {
                if *source.file == *inline_name && source.location.is_known() {
                    source.file = self.name.as_str().into();
                    source.location.line += first_line - 1;
                    source.location.column += indent;
                }
            }
        }
        match (&self.config.mesh_config, mesh_config_file) {
            (Some((source, messages)), _) => {
                config.messages.extend(messages.iter().cloned());
                config.mesh_configs.extend(source.iter().cloned());
            }
            (None, Some((name, text))) => config.add_mesh_config_file(text, name),
            (None, None) => {}
        }
        Ok(config)
    }
}

/// Replays the scenario `text`, named `name` in messages. `resolve` returns
/// the text of a `config.files` entry (a path relative to the scenario file)
/// or why it cannot. Errors name the file, line and column they concern.
pub fn run_scenario<F>(text: &str, name: &str, resolve: F) -> Result<ScenarioReport, String>
where
    F: FnMut(&str) -> Result<String, String>,
{
    run_scenario_with(text, name, resolve, None)
}

/// [`run_scenario`] with a mesh config file given from outside, as
/// [`run_with`] takes it.
pub fn run_scenario_with<F>(
    text: &str,
    name: &str,
    resolve: F,
    mesh_config_file: Option<(&str, &str)>,
) -> Result<ScenarioReport, String>
where
    F: FnMut(&str) -> Result<String, String>,
{
    run_scenario_within(text, name, resolve, mesh_config_file, &Limits::default())
}

/// [`run_scenario_with`] within `limits`.
pub fn run_scenario_within<F>(
    text: &str,
    name: &str,
    resolve: F,
    mesh_config_file: Option<(&str, &str)>,
    limits: &Limits,
) -> Result<ScenarioReport, String>
where
    F: FnMut(&str) -> Result<String, String>,
{
    let file = parse_within(text, name, limits)?;
    let scenario = file.scenario.as_ref().ok_or_else(|| {
        format!("{name}: not a scenario: a scenario file has `events` (this one has `cases`)")
    })?;
    let config = file.load_config_with(resolve, mesh_config_file)?;
    crate::scenario::replay(scenario, &config)
}

/// Parses a route-test or scenario file. `Err` says what is wrong, with the
/// file, line and column where it can.
pub fn parse(text: &str, name: &str) -> Result<TestFile, String> {
    parse_within(text, name, &Limits::default())
}

/// [`parse`] within `limits` (the file's size and YAML, a scenario's hosts
/// and operations); the file keeps them for its configuration.
pub fn parse_within(text: &str, name: &str, limits: &Limits) -> Result<TestFile, String> {
    if text.len() > limits.max_input_bytes {
        return Err(format!(
            "{name}: the file is larger than {} bytes ({})",
            limits.max_input_bytes,
            limits::hint("max_input_bytes", limits.max_input_bytes as u64)
        ));
    }
    let fields = Fields::new(name);
    let mut docs = Vec::new();
    let mut scratch = load::events::Scratch::default();
    for doc in node::split_documents(text) {
        match load::events::parse_document_with(&doc, &mut scratch, limits) {
            Ok(Some(n)) => docs.push(n),
            Ok(None) => {}
            Err(e) => return Err(format!("{}: invalid YAML: {}", fields.at(e.loc), e.text)),
        }
    }
    let root = match docs.as_slice() {
        [root] => root,
        [] => return Err(format!("{name}: the file is empty")),
        [_, second, ..] => {
            return Err(fields.error(second, "a route-test or scenario file is one YAML document"))
        }
    };
    if !matches!(root.value, NodeValue::Map(_)) {
        return Err(fields.error(
            root,
            "a route-test file is a mapping with config and cases (a scenario: with events)",
        ));
    }
    let kind = if root.get("events").is_some() {
        FileKind::Scenario
    } else {
        FileKind::RouteTest
    };
    let config = match root.get("config") {
        Some(c) => parse_config(c, text, &fields)?,
        None => ConfigSpec::default(),
    };
    let mut file = TestFile {
        name: name.to_string(),
        kind,
        config,
        defaults: Value::Null,
        cases: Vec::new(),
        scenario: None,
        limits: limits.clone(),
    };
    if kind == FileKind::Scenario {
        file.scenario = Some(scenario::format::parse(&fields, root, limits)?);
        return Ok(file);
    }
    fields.entries(root, &FILE_KEYS, "a route-test file")?;
    if let Some(d) = root.get("defaults") {
        if !matches!(d.value, NodeValue::Map(_) | NodeValue::Null) {
            return Err(fields.error(d, "`defaults` must be a mapping"));
        }
        file.defaults = d.to_json();
    }
    let cases = match root.get("cases") {
        Some(Node {
            value: NodeValue::Seq(items),
            ..
        }) => items,
        Some(other) => return Err(fields.error(other, "`cases` must be a list")),
        None => return Err(fields.error(root, "the file has no `cases`")),
    };
    for (i, c) in cases.iter().enumerate() {
        file.cases.push(parse_case(i, c, &fields)?);
    }
    Ok(file)
}

fn parse_config(node: &Node, text: &str, fields: &Fields) -> Result<ConfigSpec, String> {
    if !matches!(node.value, NodeValue::Map(_)) {
        return Err(fields.error(
            node,
            "`config` must be a mapping with `files`, `inline` and/or `meshConfig`",
        ));
    }
    fields.entries(node, &CONFIG_KEYS, "config")?;
    let mut spec = ConfigSpec::default();
    match node.get("files") {
        None => {}
        Some(n) => match &n.value {
            NodeValue::Null => {}
            NodeValue::Str(s) => spec.files.push(s.to_string()),
            NodeValue::Seq(items) => {
                for item in items {
                    spec.files
                        .push(fields.string(item, "a config.files entry (a path)")?);
                }
            }
            _ => return Err(fields.error(n, "`config.files` must be a list")),
        },
    }
    match node.get("inline") {
        None => {}
        Some(n) => match &n.value {
            NodeValue::Str(s) => {
                spec.inline = Some(s.to_string());
                spec.inline_origin = block_scalar_origin(text, n.loc);
            }
            NodeValue::Null => {}
            _ => return Err(fields.error(n, "`config.inline` must be a string")),
        },
    }
    if let Some(n) = node.get("meshConfig") {
        let origin = MeshConfigOrigin::RouteTest(fields.file().to_string());
        let file: std::sync::Arc<str> = std::sync::Arc::from(fields.file());
        spec.mesh_config = Some(crate::mesh_config::read_inline(n, origin, &file));
    }
    Ok(spec)
}

fn parse_case(index: usize, node: &Node, fields: &Fields) -> Result<CaseSpec, String> {
    if !matches!(node.value, NodeValue::Map(_)) {
        return Err(fields.error(node, "a case is a mapping with name, request and expect"));
    }
    fields.entries(node, &CASE_KEYS, "a case")?;
    let name = match node.get("name") {
        Some(n) => match &n.value {
            NodeValue::Str(s) => s.to_string(),
            _ => n.to_json().to_string(),
        },
        None => format!("case {}", index + 1),
    };
    let request = match node.get("request") {
        Some(r) if matches!(r.value, NodeValue::Map(_)) => r.to_json(),
        Some(r) => return Err(fields.error(r, "`request` must be a mapping")),
        None => Value::Object(Map::new()),
    };
    let expect = match (node.get("expect"), node.get("expectError")) {
        (Some(_), Some(e)) => {
            return Err(fields.error(
                e,
                format!("case {name:?} gives both `expect` and `expectError`"),
            ))
        }
        (Some(e), None) => Expectation::Decision(e.to_json()),
        (None, Some(e)) => match e.as_str() {
            Some(s) => Expectation::Error(s.to_string()),
            None => {
                return Err(fields.error(
                    e,
                    "`expectError` must be a string (a part of the error message)",
                ))
            }
        },
        (None, None) => {
            return Err(fields.error(
                node,
                format!("case {name:?} needs `expect` or `expectError`"),
            ))
        }
    };
    Ok(CaseSpec {
        name,
        location: node.loc,
        request,
        expect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{Destination, Outcome};
    use serde_json::json;

    fn matches(expected: Value, actual: Value) -> bool {
        partial_match(&expected, &actual).is_empty()
    }

    #[test]
    fn durations_compare_by_value() {
        assert!(matches(
            json!({"timeout": "0.5s"}),
            json!({"timeout": "500ms"})
        ));
        assert!(matches(json!("1m"), json!("60s")));
        assert!(matches(json!("1m30s"), json!("90s")));
        assert!(!matches(
            json!({"timeout": "5s"}),
            json!({"timeout": "500ms"})
        ));
        // Nanoseconds, as protobuf and Envoy hold durations: digits below
        // are dropped, as Go's time.ParseDuration drops them.
        assert!(matches(json!("1.0000000001s"), json!("1s")));
        assert!(!matches(json!("1.000000001s"), json!("1s")));
        // Not durations: compared as text.
        assert!(!matches(json!("5"), json!("5s")));
        assert!(!matches(json!("v1"), json!("v2")));
        assert!(matches(json!(""), json!("")));
    }

    #[test]
    fn null_matches_only_an_absent_key() {
        assert!(matches(
            json!({"timeout": null}),
            json!({"outcome": "route"})
        ));
        let m = partial_match(
            &json!({"timeout": null}),
            &json!({"outcome": "route", "timeout": "5s"}),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "timeout");
        assert_eq!(m[0].actual, Some(json!("5s")));
    }

    #[test]
    fn an_absent_key_fails_a_non_null_expectation() {
        let m = partial_match(&json!({"timeout": "5s"}), &json!({"outcome": "route"}));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].actual, None);
    }

    #[test]
    fn lists_need_the_same_length_and_match_in_order() {
        let actual = json!({"destinations": [{"subset": "v1", "weight": 90}, {"subset": "v2", "weight": 10}]});
        assert!(matches(
            json!({"destinations": [{"subset": "v1"}, {"subset": "v2"}]}),
            actual.clone()
        ));
        assert!(!matches(
            json!({"destinations": [{"subset": "v1"}]}),
            actual.clone()
        ));
        let swapped = partial_match(
            &json!({"destinations": [{"subset": "v2"}, {"subset": "v1"}]}),
            &actual,
        );
        assert_eq!(swapped.len(), 2);
        assert_eq!(swapped[0].path, "destinations[0].subset");
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(matches(json!({"weight": 100}), json!({"weight": 100.0})));
        assert!(matches(json!(50.0), json!(50)));
        assert!(!matches(json!({"weight": 100}), json!({"weight": 101})));
        assert!(!matches(json!({"weight": 100}), json!({"weight": "100"})));
    }

    #[test]
    fn objects_match_on_the_keys_named() {
        assert!(matches(
            json!({"rule": {"index": 0}}),
            json!({"rule": {"index": 0, "name": "r"}, "outcome": "route"})
        ));
        assert!(!matches(json!({"rule": {"index": 0}}), json!({"rule": 0})));
        let m = partial_match(
            &json!({"h": {"end-user": "x", "a.b": 1}}),
            &json!({"h": {}}),
        );
        let paths: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
        // serde_json maps are ordered by key.
        assert_eq!(paths, ["h[\"a.b\"]", "h.end-user"]);
    }

    #[test]
    fn defaults_merge_deeply_under_the_request() {
        let merged = merge_under(
            &json!({"host": "reviews", "source": {"labels": {"app": "a"}}}),
            &json!({"port": 9080, "host": "x", "source": {"namespace": "bookinfo"}}),
        );
        assert_eq!(
            merged,
            json!({"host": "reviews", "port": 9080, "source": {"namespace": "bookinfo", "labels": {"app": "a"}}})
        );
        assert_eq!(merge_under(&json!({"a": 1}), &Value::Null), json!({"a": 1}));
    }

    const VS: &str = "    apiVersion: networking.istio.io/v1\n    kind: VirtualService\n    metadata: {name: reviews}\n    spec:\n      hosts: [reviews]\n";

    #[test]
    fn parses_cases_and_defaults() {
        let text = format!(
            "config:\n  inline: |\n{VS}defaults:\n  port: 9080\ncases:\n  - name: a\n    request: {{host: reviews}}\n    expect: {{outcome: route}}\n  - request: {{host: x}}\n    expectError: bad\n"
        );
        let f = parse(&text, "t.routetest.yaml").unwrap();
        assert_eq!(f.kind, FileKind::RouteTest);
        assert_eq!(f.cases.len(), 2);
        assert_eq!(f.cases[0].name, "a");
        assert_eq!(f.cases[1].name, "case 2");
        assert_eq!(f.cases[1].expect, Expectation::Error("bad".into()));
        assert_eq!(f.defaults, json!({"port": 9080}));
        assert_eq!(f.cases[0].location.line, 11);
    }

    #[test]
    fn a_misspelt_key_is_an_error_with_a_suggestion() {
        let e = parse(
            "config: {}\ncases:\n  - name: a\n    expcet: {}\n",
            "t.yaml",
        )
        .unwrap_err();
        assert!(e.contains("t.yaml:4:5"), "{e}");
        assert!(e.contains("did you mean `expect`"), "{e}");
        let e = parse(
            "cases:\n  - name: a\n    expect: {}\n    expectError: x\n",
            "t",
        )
        .unwrap_err();
        assert!(e.contains("both"), "{e}");
        assert!(parse("cases:\n  - name: a\n", "t")
            .unwrap_err()
            .contains("needs `expect`"));
    }

    #[test]
    fn config_files_come_from_the_resolver_relative_names_in_messages() {
        let text = "config: {files: [vs.yaml]}\ncases:\n  - {name: a, request: {host: r}, expectError: unknown field}\n";
        let mut asked = Vec::new();
        let report = run(text, "dir/t.routetest.yaml", |f| {
            asked.push(f.to_string());
            Ok("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspce: {hosts: [r]}\n".into())
        });
        assert_eq!(asked, ["vs.yaml"]);
        assert_eq!(report.error, None);
        assert_eq!(report.passed(), 1, "{report:?}");
        assert_eq!(&*report.messages[0].source.file, "dir/vs.yaml");

        let unreadable = run(text, "t", |_| Err("no such file".into()));
        assert!(unreadable.error.unwrap().contains("no such file"));
    }

    #[test]
    fn expect_error_is_case_insensitive_and_must_match() {
        let text = format!(
            "config:\n  inline: |\n{VS}    stauts: {{}}\ncases:\n  - {{name: yes, request: {{host: r}}, expectError: UNKNOWN FIELD `STAUTS`}}\n  - {{name: no, request: {{host: r}}, expectError: weight}}\n  - {{name: dec, request: {{host: r}}, expect: {{outcome: route}}}}\n"
        );
        let report = run(&text, "t.yaml", |_| Err("unused".into()));
        let status: Vec<CaseStatus> = report.cases.iter().map(|c| c.status).collect();
        assert_eq!(
            status,
            [CaseStatus::Passed, CaseStatus::Failed, CaseStatus::Failed]
        );
        assert!(report.cases[2].note.contains("configuration has 1 error"));
        // The inline message points at the test file's own line and column.
        let m = &report.messages[0];
        assert_eq!(&*m.source.file, "t.yaml");
        assert_eq!((m.source.location.line, m.source.location.column), (8, 5));
    }

    #[test]
    fn judge_passes_a_matching_decision_and_fails_another() {
        let case = CaseSpec {
            name: "c".into(),
            location: Location::UNKNOWN,
            request: json!({"host": "reviews"}),
            expect: Expectation::Decision(
                json!({"outcome": "route", "timeout": null, "destinations": [{"subset": "v2", "weight": 100}]}),
            ),
        };
        let mut d = Decision::new(Outcome::Route);
        d.destinations.to_mut().push(Destination {
            host: "reviews.default.svc.cluster.local".into(),
            subset: Some("v2".into()),
            port: Some(9080),
            weight: 100,
            cluster: "outbound|9080|v2|reviews.default.svc.cluster.local".into(),
            policy: None,
            problem: None,
        });
        let ok = judge(&case, json!({}), &Ok(d.clone()), &[]);
        assert_eq!(ok.status, CaseStatus::Passed, "{ok:?}");
        d.timeout = Some(std::time::Duration::from_secs(1));
        let bad = judge(&case, json!({}), &Ok(d), &[]);
        assert_eq!(bad.status, CaseStatus::Failed);
        assert_eq!(bad.mismatches[0].path, "timeout");
        let refused = judge(&case, json!({}), &Err("invalid request: x".into()), &[]);
        assert_eq!(refused.status, CaseStatus::Failed);
        assert_eq!(refused.note, "invalid request: x");
    }

    #[test]
    fn scenario_files_are_replayed_and_each_expect_is_a_case() {
        let text = "config:\n  inline: |\n    apiVersion: v1\n    kind: Service\n    metadata: {name: reviews}\n    spec:\n      ports: [{name: http, port: 9080}]\n    ---\n    apiVersion: networking.istio.io/v1\n    kind: DestinationRule\n    metadata: {name: reviews}\n    spec:\n      host: reviews\n      trafficPolicy:\n        outlierDetection: {consecutive5xxErrors: 1, maxEjectionPercent: 100}\ndestination: {host: reviews, port: 9080}\nhosts: [10.0.0.1, 10.0.0.2]\nevents:\n  - {at: 0s, host: 10.0.0.1, result: 503}\nexpect:\n  - {at: 0s, ejected: [10.0.0.1]}\n  - {at: 0s, ejected: []}\n";
        let report = run(text, "s.scenario.yaml", |_| Err("unused".into()));
        assert_eq!(report.kind, Some(FileKind::Scenario), "{:?}", report.error);
        assert_eq!(report.cases.len(), 2);
        assert_eq!(report.passed(), 1, "{:?}", report.cases);
        assert_eq!(report.cases[1].status, CaseStatus::Failed);
        assert_eq!(report.cases[1].location.line, 22);
    }

    #[test]
    fn a_malformed_request_is_a_request_error() {
        let text = "cases:\n  - {name: a, request: {host: r, hedaers: {}}, expectError: hedaers}\n";
        let report = run(text, "t", |_| Err("unused".into()));
        assert_eq!(report.passed(), 1, "{report:?}");
    }
}
