//! Resilience scenarios: replay what happens to one destination's upstream
//! hosts over time and say what outlier detection, the connection pool and
//! the load balancer did (format: `route-tests.md`, "Resilience scenarios").
//!
//! [`run`] takes the scenario text and a resolver for `config.files`, builds
//! the mesh, resolves `destination` as a request from `source` would (short
//! host name from `source.namespace`, port, subset) to get the merged
//! DestinationRule policy, and sets up the machines as Istio configures
//! Envoy: outlier detection only when the policy has an `outlierDetection`
//! block ([`OutlierConfig::from_istio`]), the circuit breakers from
//! `connectionPool` ([`PoolConfig::from_istio`]), and the load balancer
//! (`LEAST_REQUEST` when unset, `consistentHash` as ring hash or Maglev). It
//! then replays the events and returns a [`ScenarioReport`]: a timeline a
//! person can follow and one [`ExpectResult`] per `expect` entry.
//!
//! Time: interval ticks happen at every positive multiple of `interval`;
//! at a time that is both a tick and an event time the tick runs first, then
//! the events in file order; an `expect` entry sees the state after
//! everything at its time. Events must be in time order; `expect` entries may
//! come in any order.
//!
//! What the runner reports to outlier detection per `result`, as Envoy's
//! router does: an HTTP status or `grpc:NAME` (a trailers-only reply, its
//! status mapped to HTTP) is a connection success then that status; `reset`
//! and `timeout` are a connection success then a local-origin failure
//! (503 / 504 without the split); `connect-failure` is a local-origin failure
//! alone. With `splitExternalLocalOriginErrors` the connection success resets
//! the local-origin counter, so only connect failures can add up.
//!
//! Additions to the format, all optional:
//! * a `hosts` entry may be `{address: 10.0.0.1, weight: 2}`;
//! * `pick` and `start` events may carry `headers` (map), `query` (string) and
//!   `sourceIp` for consistent hashing, and `seed`;
//! * `start` without `host` sends each request where the load balancer picks.
//! * events and `expect` entries may carry a `name` (a label, not compared).
//!
//! Randomness: the scenario has one default stream, [`SplitMix64`] seeded with
//! 0 (it seeds the balancer and serves outlier detection and unseeded events);
//! an event with `seed: N` draws from its own stream seeded with `N`.
//!
//! `picks` and `unpicked` in an `expect` entry count the picks of the `pick`
//! events at exactly that time; hosts left out of `picks` must have none.
//! `admitted` counts requests that got a connection (queued ones when they
//! do), `overflowed` the 503 UO overflows, `ejectionsOverflow` the detections
//! `maxEjectionPercent` blocked, all since the start; `active` and `pending`
//! are current counts.

use crate::destination_rules::MergedRule;
use crate::duration::{format_duration, parse_duration};
use crate::limits;
use crate::load::node::{self, Node, Value as NodeValue};
use crate::load::{self as loader, did_you_mean, Input, LoadOptions};
use crate::model::destination_rule::{
    ConnectionPoolSettings, H2UpgradePolicy, LoadBalancerSettings, OutlierDetection, SimpleLb,
    TrafficPolicy,
};
use crate::resilience::balancer::hash::{request_hash, HashInput, HashPolicy};
use crate::resilience::balancer::{maglev, ring_hash};
use crate::resilience::outlier::{
    grpc_status_to_http, Detection, HostReport, IstioOutlierDetection, OutlierEventKind,
};
use crate::resilience::pool::{
    IstioConnectionPool, Overflow, Promotion, Protocol, RequestId, ISTIO_UNLIMITED,
};
use crate::resilience::time::duration_nanos;
use crate::resilience::{
    Admission, Balancer, ConnectionPool, Endpoint, HostId, Instant, LbPolicy, OutlierConfig,
    OutlierDetector, OutlierEvent, Pick, PickContext, PoolConfig, SplitMix64,
};
use crate::Mesh;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

/// What a scenario run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// How the machines were set up (destination, hosts, outlier detection,
    /// connection pool, load balancer), one line each.
    pub setup: Vec<String>,
    /// What happened, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// One result per `expect` entry, in file order.
    pub results: Vec<ExpectResult>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Time since the scenario's start.
    #[serde(serialize_with = "serialize_duration")]
    pub at: Duration,
    /// What happened and why.
    pub text: String,
}

/// The outcome of one `expect` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectResult {
    /// The entry's time.
    #[serde(serialize_with = "serialize_duration")]
    pub at: Duration,
    /// Line of the entry in the scenario file (0 when unknown).
    pub line: u32,
    /// The entry's keys other than `at`, as written.
    pub expected: Json,
    /// The same keys with the values the run produced.
    pub actual: Json,
    /// Whether every key matched.
    pub passed: bool,
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

impl ScenarioReport {
    /// The setup and the timeline as text, one event per line.
    pub fn render_timeline(&self) -> String {
        let mut out = String::new();
        for line in &self.setup {
            let _ = writeln!(out, "{line}");
        }
        if !self.setup.is_empty() {
            out.push('\n');
        }
        let width = self
            .timeline
            .iter()
            .map(|e| format_duration(e.at).len())
            .max()
            .unwrap_or(2);
        for e in &self.timeline {
            let at = format_duration(e.at);
            let _ = writeln!(out, "{at:>width$}  {}", e.text);
        }
        out
    }

    /// Number of `expect` entries that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// Number of `expect` entries that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

/// Whether `text` is a resilience scenario: a YAML mapping with an `events` key.
pub fn is_scenario(text: &str) -> bool {
    match first_document(text) {
        Ok(Some(doc)) => doc.get("events").is_some(),
        Ok(None) => false,
        // Unparsable: decide from the text so the runner can report the error.
        Err(_) => text.lines().any(|l| l.starts_with("events:")),
    }
}

/// Replays the scenario `text`. `resolve` returns the text of a
/// `config.files` entry (a path relative to the scenario file) or why it
/// cannot. Errors name the line of the scenario they concern.
pub fn run<F>(text: &str, mut resolve: F) -> Result<ScenarioReport, String>
where
    F: FnMut(&str) -> Result<String, String>,
{
    let scenario = parse(text)?;
    let setup = Setup::build(&scenario, &mut resolve)?;
    let mut runner = Runner::new(setup, &scenario)?;
    runner.replay(&scenario)
}

// ---------------------------------------------------------------------------
// The scenario file.

#[derive(Debug, Clone)]
struct Scenario {
    files: Vec<String>,
    inline: Option<String>,
    host: String,
    subset: Option<String>,
    port: Option<u32>,
    namespace: String,
    labels: BTreeMap<String, String>,
    hosts: Option<Vec<HostSpec>>,
    events: Vec<Event>,
    expects: Vec<Expect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostSpec {
    address: String,
    weight: u32,
}

#[derive(Debug, Clone)]
struct Event {
    at: Duration,
    line: u32,
    kind: EventKind,
    host: Option<String>,
    seed: Option<u64>,
    request: RequestInput,
}

#[derive(Debug, Clone, Default)]
struct RequestInput {
    headers: Vec<(String, String)>,
    query: Option<String>,
    source_ip: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Result { result: Outcome, repeat: u64 },
    Start(u64),
    Finish(u64),
    Pick(u64),
}

/// What a request to a host ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Grpc(u32),
    Reset,
    ConnectFailure,
    Timeout,
}

#[derive(Debug, Clone)]
struct Expect {
    at: Duration,
    line: u32,
    expected: Json,
    ejected: Option<Vec<String>>,
    counters: Vec<(Counter, u64)>,
    picks: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    Admitted,
    Overflowed,
    EjectionsOverflow,
    Active,
    Pending,
    Unpicked,
}

impl Counter {
    const ALL: [(&'static str, Counter); 6] = [
        ("admitted", Counter::Admitted),
        ("overflowed", Counter::Overflowed),
        ("ejectionsOverflow", Counter::EjectionsOverflow),
        ("active", Counter::Active),
        ("pending", Counter::Pending),
        ("unpicked", Counter::Unpicked),
    ];
}

const TOP_KEYS: [&str; 7] = [
    "config",
    "destination",
    "source",
    "hosts",
    "events",
    "expect",
    "defaults",
];
const EVENT_KEYS: [&str; 12] = [
    "at", "host", "result", "repeat", "start", "finish", "pick", "seed", "headers", "query",
    "sourceIp", "name",
];
const EXPECT_KEYS: [&str; 10] = [
    "at",
    "ejected",
    "admitted",
    "overflowed",
    "ejectionsOverflow",
    "active",
    "pending",
    "picks",
    "unpicked",
    "name",
];

fn first_document(text: &str) -> Result<Option<Node<'_>>, String> {
    if text.len() > limits::MAX_INPUT_BYTES {
        return Err(format!(
            "the scenario is larger than {} bytes",
            limits::MAX_INPUT_BYTES
        ));
    }
    let mut found = None;
    for doc in node::split_documents(text) {
        match node::parse_document(&doc) {
            Ok(Some(n)) => {
                if found.is_some() {
                    return Err(format!(
                        "line {}: a scenario file holds one YAML document",
                        doc.first_line
                    ));
                }
                found = Some(n);
            }
            Ok(None) => {}
            Err(e) => return Err(format!("line {}: {}", e.loc.line, e.text)),
        }
    }
    Ok(found)
}

fn parse(text: &str) -> Result<Scenario, String> {
    let doc = first_document(text)?.ok_or("the scenario is empty")?;
    let top = entries(&doc, "the scenario")?;
    check_keys(&top, &TOP_KEYS, "the scenario")?;
    if let Some((_, n)) = top.iter().find(|(k, _)| *k == "defaults") {
        return Err(at_line(
            n,
            "`defaults` belongs to route-test files; a scenario gives `source` and `destination`",
        ));
    }
    let mut s = Scenario {
        files: Vec::new(),
        inline: None,
        host: String::new(),
        subset: None,
        port: None,
        namespace: "default".into(),
        labels: BTreeMap::new(),
        hosts: None,
        events: Vec::new(),
        expects: Vec::new(),
    };
    let config = field(&doc, "config").ok_or("the scenario needs `config`")?;
    let config_entries = entries(config, "config")?;
    check_keys(&config_entries, &["files", "inline"], "config")?;
    if let Some(files) = config.get("files") {
        for f in list(files, "config.files")? {
            s.files.push(string(f, "config.files entry")?);
        }
    }
    if let Some(inline) = config.get("inline") {
        s.inline = Some(string(inline, "config.inline")?);
    }
    let dest = field(&doc, "destination").ok_or("the scenario needs `destination`")?;
    let dest_entries = entries(dest, "destination")?;
    check_keys(&dest_entries, &["host", "subset", "port"], "destination")?;
    s.host = string(
        dest.get("host")
            .ok_or_else(|| at_line(dest, "destination needs `host`"))?,
        "destination.host",
    )?;
    if let Some(sub) = dest.get("subset") {
        s.subset = Some(string(sub, "destination.subset")?);
    }
    if let Some(p) = dest.get("port") {
        let port = uint(p, "destination.port")?;
        s.port = Some(
            u32::try_from(port)
                .ok()
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| at_line(p, "destination.port must be 1 to 65535"))?,
        );
    }
    if let Some(src) = field(&doc, "source") {
        let src_entries = entries(src, "source")?;
        check_keys(&src_entries, &["namespace", "labels"], "source")?;
        if let Some(ns) = src.get("namespace") {
            s.namespace = string(ns, "source.namespace")?;
        }
        if let Some(labels) = src.get("labels") {
            for (k, v) in entries(labels, "source.labels")? {
                s.labels
                    .insert(k.to_string(), scalar_string(v, "label value")?);
            }
        }
    }
    if let Some(hosts) = field(&doc, "hosts") {
        let mut out: Vec<HostSpec> = Vec::new();
        for h in list(hosts, "hosts")? {
            let spec = match &h.value {
                NodeValue::Map(_) => {
                    let e = entries(h, "hosts entry")?;
                    check_keys(&e, &["address", "weight"], "hosts entry")?;
                    let address = string(
                        h.get("address")
                            .ok_or_else(|| at_line(h, "a hosts entry needs `address`"))?,
                        "address",
                    )?;
                    let weight = match h.get("weight") {
                        Some(w) => u32::try_from(uint(w, "weight")?)
                            .ok()
                            .filter(|w| *w > 0)
                            .ok_or_else(|| at_line(w, "weight must be 1 to 4294967295"))?,
                        None => 1,
                    };
                    HostSpec { address, weight }
                }
                _ => HostSpec {
                    address: scalar_string(h, "hosts entry")?,
                    weight: 1,
                },
            };
            if out.iter().any(|o| o.address == spec.address) {
                return Err(at_line(
                    h,
                    &format!("host {} is listed twice", spec.address),
                ));
            }
            out.push(spec);
        }
        if out.len() > limits::MAX_SCENARIO_HOSTS {
            return Err(at_line(
                hosts,
                &format!("more than {} hosts", limits::MAX_SCENARIO_HOSTS),
            ));
        }
        s.hosts = Some(out);
    }
    let events = field(&doc, "events").ok_or("the scenario needs `events`")?;
    let mut operations: u64 = 0;
    for e in list(events, "events")? {
        let event = parse_event(e)?;
        if let Some(prev) = s.events.last() {
            if event.at < prev.at {
                return Err(at_line(
                    e,
                    &format!(
                        "events must be in time order: this one at {} comes after one at {}",
                        format_duration(event.at),
                        format_duration(prev.at)
                    ),
                ));
            }
        }
        operations = operations.saturating_add(match event.kind {
            EventKind::Result { repeat, .. } => repeat,
            EventKind::Start(n) | EventKind::Finish(n) | EventKind::Pick(n) => n,
        });
        if operations > limits::MAX_SCENARIO_OPERATIONS {
            return Err(at_line(
                e,
                &format!(
                    "the scenario replays more than {} operations",
                    limits::MAX_SCENARIO_OPERATIONS
                ),
            ));
        }
        s.events.push(event);
    }
    if let Some(expects) = field(&doc, "expect") {
        for x in list(expects, "expect")? {
            s.expects.push(parse_expect(x)?);
        }
    }
    Ok(s)
}

fn parse_event(e: &Node) -> Result<Event, String> {
    let keys = entries(e, "event")?;
    check_keys(&keys, &EVENT_KEYS, "event")?;
    let at = duration(
        e.get("at")
            .ok_or_else(|| at_line(e, "an event needs `at`"))?,
        "at",
    )?;
    let kinds: Vec<&str> = ["result", "start", "finish", "pick"]
        .into_iter()
        .filter(|k| e.get(k).is_some())
        .collect();
    let kind_name = match kinds.as_slice() {
        [one] => *one,
        [] => {
            return Err(at_line(
                e,
                "an event needs one of `result`, `start`, `finish`, `pick`",
            ))
        }
        _ => {
            return Err(at_line(
                e,
                &format!("an event has one action, not {}", kinds.join(" and ")),
            ))
        }
    };
    let count = |key: &str| -> Result<u64, String> {
        match e.get(key) {
            Some(n) => uint(n, key),
            None => Ok(1),
        }
    };
    let kind = match kind_name {
        "result" => {
            let n = e
                .get("result")
                .ok_or_else(|| at_line(e, "missing `result`"))?;
            EventKind::Result {
                result: parse_outcome(n)?,
                repeat: count("repeat")?,
            }
        }
        "start" => EventKind::Start(count("start")?),
        "finish" => EventKind::Finish(count("finish")?),
        _ => EventKind::Pick(count("pick")?),
    };
    let allowed: &[&str] = match kind {
        EventKind::Result { .. } => &["host", "repeat"],
        EventKind::Start(_) => &["host", "seed", "headers", "query", "sourceIp"],
        EventKind::Finish(_) => &["host"],
        EventKind::Pick(_) => &["seed", "headers", "query", "sourceIp"],
    };
    for (k, n) in &keys {
        let generic = ["at", "name", kind_name].contains(k);
        if !generic && !allowed.contains(k) {
            return Err(at_line(
                n,
                &format!("`{k}` does not apply to a {kind_name} event"),
            ));
        }
    }
    let host = match e.get("host") {
        Some(h) => Some(scalar_string(h, "host")?),
        None => None,
    };
    if matches!(kind, EventKind::Result { .. }) && host.is_none() {
        return Err(at_line(e, "a result event needs `host`"));
    }
    let seed = match e.get("seed") {
        Some(n) => Some(uint(n, "seed")?),
        None => None,
    };
    let mut request = RequestInput::default();
    if let Some(h) = e.get("headers") {
        for (k, v) in entries(h, "headers")? {
            match &v.value {
                NodeValue::Seq(items) => {
                    for item in items {
                        request
                            .headers
                            .push((k.to_ascii_lowercase(), scalar_string(item, "header value")?));
                    }
                }
                _ => request
                    .headers
                    .push((k.to_ascii_lowercase(), scalar_string(v, "header value")?)),
            }
        }
    }
    if let Some(q) = e.get("query") {
        let q = string(q, "query")?;
        request.query = Some(q.strip_prefix('?').unwrap_or(&q).to_string());
    }
    if let Some(ip) = e.get("sourceIp") {
        request.source_ip = Some(string(ip, "sourceIp")?);
    }
    Ok(Event {
        at,
        line: e.loc.line,
        kind,
        host,
        seed,
        request,
    })
}

fn parse_outcome(n: &Node) -> Result<Outcome, String> {
    let text = scalar_string(n, "result")?;
    let lower = text.to_ascii_lowercase();
    if let Ok(code) = lower.parse::<u16>() {
        if (100..=599).contains(&code) {
            return Ok(Outcome::Status(code));
        }
        return Err(at_line(n, &format!("HTTP status {code} is not 100 to 599")));
    }
    match lower.as_str() {
        "reset" => return Ok(Outcome::Reset),
        "connect-failure" => return Ok(Outcome::ConnectFailure),
        "timeout" => return Ok(Outcome::Timeout),
        _ => {}
    }
    if let Some(name) = text
        .strip_prefix("grpc:")
        .or_else(|| text.strip_prefix("GRPC:"))
    {
        let name = name.trim();
        if let Some(code) = crate::names::grpc_status_code(&name.to_ascii_uppercase()) {
            return Ok(Outcome::Grpc(code));
        }
        if let Ok(code) = name.parse::<u32>() {
            if code <= 16 {
                return Ok(Outcome::Grpc(code));
            }
        }
        return Err(at_line(
            n,
            &format!("unknown gRPC status {name:?} (a name such as UNAVAILABLE)"),
        ));
    }
    let hint = did_you_mean(&lower, ["reset", "connect-failure", "timeout"])
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Err(at_line(
        n,
        &format!(
            "unknown result {text:?}: an HTTP status, `reset`, `connect-failure`, `timeout` or `grpc:NAME`{hint}"
        ),
    ))
}

fn parse_expect(x: &Node) -> Result<Expect, String> {
    let keys = entries(x, "expect entry")?;
    check_keys(&keys, &EXPECT_KEYS, "expect entry")?;
    let at = duration(
        x.get("at")
            .ok_or_else(|| at_line(x, "an expect entry needs `at`"))?,
        "at",
    )?;
    let mut expected = Map::new();
    let mut ejected = None;
    let mut counters = Vec::new();
    let mut picks = None;
    for (k, n) in &keys {
        match *k {
            "at" | "name" => continue,
            "ejected" => {
                let mut hosts = Vec::new();
                for h in list(n, "ejected")? {
                    hosts.push(scalar_string(h, "ejected host")?);
                }
                ejected = Some(hosts);
            }
            "picks" => {
                let mut map = BTreeMap::new();
                for (host, count) in entries(n, "picks")? {
                    map.insert(host.to_string(), uint(count, "pick count")?);
                }
                picks = Some(map);
            }
            other => {
                if let Some((_, c)) = Counter::ALL.iter().find(|(name, _)| *name == other) {
                    counters.push((*c, uint(n, other)?));
                }
            }
        }
        expected.insert((*k).to_string(), to_json(n));
    }
    if expected.is_empty() {
        return Err(at_line(
            x,
            "an expect entry needs something to check besides `at`",
        ));
    }
    Ok(Expect {
        at,
        line: x.loc.line,
        expected: Json::Object(expected),
        ejected,
        counters,
        picks,
    })
}

// Node helpers: every error names the line.

fn at_line(n: &Node, text: &str) -> String {
    if n.loc.line > 0 {
        format!("line {}: {text}", n.loc.line)
    } else {
        text.to_string()
    }
}

fn field<'a>(doc: &'a Node<'a>, key: &str) -> Option<&'a Node<'a>> {
    doc.get(key).filter(|n| n.value != NodeValue::Null)
}

fn entries<'a>(n: &'a Node<'a>, what: &str) -> Result<Vec<(&'a str, &'a Node<'a>)>, String> {
    match &n.value {
        NodeValue::Map(items) => items
            .iter()
            .map(|(k, v)| match &k.value {
                NodeValue::Str(s) => Ok((&**s, v)),
                other => Err(at_line(
                    k,
                    &format!("{what}: keys are strings, not {}", other.describe()),
                )),
            })
            .collect(),
        NodeValue::Null => Ok(Vec::new()),
        other => Err(at_line(
            n,
            &format!("{what} must be a mapping, not {}", other.describe()),
        )),
    }
}

fn check_keys(entries: &[(&str, &Node)], allowed: &[&str], what: &str) -> Result<(), String> {
    for (k, n) in entries {
        if !allowed.contains(k) {
            let hint = did_you_mean(k, allowed.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(at_line(n, &format!("unknown key `{k}` in {what}{hint}")));
        }
    }
    Ok(())
}

fn list<'a>(n: &'a Node<'a>, what: &str) -> Result<&'a [Node<'a>], String> {
    match &n.value {
        NodeValue::Seq(items) => Ok(items),
        NodeValue::Null => Ok(&[]),
        other => Err(at_line(
            n,
            &format!("{what} must be a list, not {}", other.describe()),
        )),
    }
}

fn string(n: &Node, what: &str) -> Result<String, String> {
    match &n.value {
        NodeValue::Str(s) => Ok(s.to_string()),
        other => Err(at_line(
            n,
            &format!("{what} must be a string, not {}", other.describe()),
        )),
    }
}

/// A scalar written as a string or a number (`10.0.0.1`, `503`).
fn scalar_string(n: &Node, what: &str) -> Result<String, String> {
    match &n.value {
        NodeValue::Str(s) => Ok(s.to_string()),
        NodeValue::Int(i) => Ok(i.to_string()),
        NodeValue::UInt(u) => Ok(u.to_string()),
        NodeValue::Float(f) => Ok(f.to_string()),
        NodeValue::Bool(b) => Ok(b.to_string()),
        other => Err(at_line(
            n,
            &format!("{what} must be a string, not {}", other.describe()),
        )),
    }
}

fn uint(n: &Node, what: &str) -> Result<u64, String> {
    match &n.value {
        NodeValue::Int(i) if *i >= 0 => Ok(i.unsigned_abs()),
        NodeValue::UInt(u) => Ok(*u),
        other => Err(at_line(
            n,
            &format!(
                "{what} must be a whole number >= 0, not {}",
                other.describe()
            ),
        )),
    }
}

fn duration(n: &Node, what: &str) -> Result<Duration, String> {
    match &n.value {
        NodeValue::Str(s) => parse_duration(s).map_err(|e| at_line(n, &format!("{what}: {e}"))),
        NodeValue::Int(0) | NodeValue::UInt(0) => Ok(Duration::ZERO),
        other => Err(at_line(
            n,
            &format!(
                "{what} must be a duration such as `5s` or `100ms`, not {}",
                other.describe()
            ),
        )),
    }
}

fn to_json(n: &Node) -> Json {
    match &n.value {
        NodeValue::Null => Json::Null,
        NodeValue::Bool(b) => Json::Bool(*b),
        NodeValue::Int(i) => json!(i),
        NodeValue::UInt(u) => json!(u),
        NodeValue::Float(f) => json!(f),
        NodeValue::Str(s) => Json::String(s.to_string()),
        NodeValue::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        NodeValue::Map(items) => Json::Object(
            items
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        NodeValue::Str(s) => s.to_string(),
                        _ => to_json(k).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------
// Setting the machines up from the mesh.

/// The load balancer as Istio configures it, with the route hash policy.
#[derive(Debug, Clone)]
struct LbSetup {
    policy: LbPolicy,
    hash: Vec<HashPolicy>,
    describe: String,
}

#[derive(Debug)]
struct Setup {
    lines: Vec<String>,
    hosts: Vec<HostSpec>,
    endpoint_port: Option<u32>,
    outlier: Option<OutlierConfig>,
    pool: PoolConfig,
    lb: LbSetup,
}

impl Setup {
    fn build(
        s: &Scenario,
        resolve: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Setup, String> {
        let mut texts: Vec<(String, String)> = Vec::new();
        for f in &s.files {
            let text = resolve(f).map_err(|e| format!("config file {f}: {e}"))?;
            texts.push((f.clone(), text));
        }
        if let Some(inline) = &s.inline {
            texts.push(("config.inline".into(), inline.clone()));
        }
        let inputs: Vec<Input<'_>> = texts
            .iter()
            .map(|(name, text)| Input { name, text })
            .collect();
        let config = loader::load(&inputs, &LoadOptions::default());
        let errors: Vec<String> = config
            .messages
            .iter()
            .filter(|m| m.is_error())
            .map(|m| m.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(format!(
                "the configuration has errors:\n{}",
                errors.join("\n")
            ));
        }
        let mesh = Mesh::compile(&config);
        let (fqdn, _) = mesh.resolve_host(&s.host.to_ascii_lowercase(), &s.namespace);
        let service = mesh.registry().lookup(&fqdn, &s.namespace);
        let fqdn = service.map_or(fqdn, |svc| svc.hostname.to_string());
        let port = s
            .port
            .or_else(|| match service.map(|svc| svc.ports.as_slice()) {
                Some([only]) => Some(only.number),
                _ => None,
            });
        let service_port = port.and_then(|p| service.and_then(|svc| svc.port(p)));
        if let (Some(svc), Some(p)) = (service, port) {
            if service_port.is_none() && !svc.ports.is_empty() {
                return Err(format!(
                    "{fqdn} has no port {p}: Envoy has no such cluster (503 NC)"
                ));
            }
        }
        let rule: Option<&std::sync::Arc<MergedRule>> = mesh.destination_rules().lookup(
            &fqdn,
            &s.namespace,
            Some(&s.labels),
            service.map(|svc| svc.namespace.as_str()),
            &mesh.options().root_namespace,
        );
        let subset_def = match &s.subset {
            Some(name) => Some(rule.and_then(|r| r.subset(name)).ok_or_else(|| {
                format!(
                    "subset {name:?} is not defined in a DestinationRule for {fqdn}: Envoy has no such cluster (503 NC)"
                )
            })?),
            None => None,
        };
        let policy: Option<TrafficPolicy> = rule
            .and_then(|r| r.policy(port, s.subset.as_deref()))
            .map(|p| (*p).clone());
        let cluster = format!(
            "outbound|{}|{}|{}",
            port.map(|p| p.to_string()).unwrap_or_default(),
            s.subset.as_deref().unwrap_or(""),
            fqdn
        );
        let mut lines = vec![format!(
            "destination {cluster}: {}",
            match rule {
                Some(r) => format!("DestinationRule {}", r.names.join(", ")),
                None => "no DestinationRule (Istio's defaults)".to_string(),
            }
        )];
        let hosts: Vec<HostSpec> = match &s.hosts {
            Some(h) => {
                lines.push(format!("hosts (from the scenario): {}", describe_hosts(h)));
                h.clone()
            }
            None => {
                let svc = service.ok_or_else(|| {
                    format!(
                        "{fqdn} is not in the service registry and the scenario gives no `hosts`"
                    )
                })?;
                let selected: Vec<HostSpec> = match subset_def {
                    Some(def) => svc
                        .endpoints_matching(&def.labels)
                        .map(|e| HostSpec {
                            address: e.address.clone(),
                            weight: e.weight.max(1),
                        })
                        .collect(),
                    None => svc
                        .endpoints
                        .iter()
                        .map(|e| HostSpec {
                            address: e.address.clone(),
                            weight: e.weight.max(1),
                        })
                        .collect(),
                };
                if selected.is_empty() {
                    return Err(format!(
                        "{cluster} has no endpoints in the registry (503 UH); give `hosts:` in the scenario"
                    ));
                }
                if selected.len() > limits::MAX_SCENARIO_HOSTS {
                    return Err(format!(
                        "{cluster} has more than {} endpoints",
                        limits::MAX_SCENARIO_HOSTS
                    ));
                }
                lines.push(format!(
                    "hosts (the registry's endpoints{}): {}",
                    s.subset
                        .as_deref()
                        .map(|n| format!(" of subset {n}"))
                        .unwrap_or_default(),
                    describe_hosts(&selected)
                ));
                selected
            }
        };
        let policy = policy.unwrap_or_default();
        let outlier = match &policy.outlier_detection {
            Some(od) => {
                let c = outlier_config(od)?;
                lines.push(describe_outlier(&c, od));
                Some(c)
            }
            None => {
                lines.push(
                    "outlier detection: off (the policy has no outlierDetection): no host is ever ejected"
                        .to_string(),
                );
                None
            }
        };
        let port_name = service_port.map(|p| p.name.as_str()).unwrap_or("");
        let pool = pool_config(policy.connection_pool.as_ref(), port_name);
        lines.push(describe_pool(&pool));
        let lb = lb_setup(policy.load_balancer.as_ref());
        let panic = outlier.as_ref().map_or(50, |c| c.healthy_panic_threshold);
        lines.push(format!(
            "load balancer: {}; panic threshold {}",
            lb.describe,
            if outlier.is_some() {
                if panic == 0 {
                    "0 (minHealthPercent unset: panic disabled, ejected hosts never take traffic)"
                        .to_string()
                } else {
                    format!("{panic}% (minHealthPercent): below it every host takes traffic again")
                }
            } else {
                "50% (Envoy's default; no host is ever unhealthy without outlier detection)"
                    .to_string()
            }
        ));
        Ok(Setup {
            lines,
            hosts,
            endpoint_port: service_port.and_then(|p| p.target_port).or(port),
            outlier,
            pool,
            lb,
        })
    }
}

fn describe_hosts(hosts: &[HostSpec]) -> String {
    const SHOWN: usize = 20;
    let mut parts: Vec<String> = hosts
        .iter()
        .take(SHOWN)
        .map(|h| {
            if h.weight == 1 {
                h.address.clone()
            } else {
                format!("{} (weight {})", h.address, h.weight)
            }
        })
        .collect();
    if hosts.len() > SHOWN {
        parts.push(format!("... {} in all", hosts.len()));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

fn istio_duration(v: &Option<String>, what: &str) -> Result<Option<Duration>, String> {
    match v {
        Some(text) => parse_duration(text)
            .map(Some)
            .map_err(|e| format!("outlierDetection.{what}: {e}")),
        None => Ok(None),
    }
}

fn outlier_config(od: &OutlierDetection) -> Result<OutlierConfig, String> {
    Ok(OutlierConfig::from_istio(&IstioOutlierDetection {
        consecutive_5xx_errors: od.consecutive_5xx_errors,
        consecutive_gateway_errors: od.consecutive_gateway_errors,
        split_external_local_origin_errors: od.split_external_local_origin_errors.unwrap_or(false),
        consecutive_local_origin_failures: od.consecutive_local_origin_failures,
        interval: istio_duration(&od.interval, "interval")?,
        base_ejection_time: istio_duration(&od.base_ejection_time, "baseEjectionTime")?,
        max_ejection_percent: od.max_ejection_percent.unwrap_or(0),
        min_health_percent: od.min_health_percent.unwrap_or(0),
    }))
}

fn describe_outlier(c: &OutlierConfig, od: &OutlierDetection) -> String {
    let mut parts = Vec::new();
    if c.enforcing_consecutive_5xx > 0 && c.consecutive_5xx > 0 {
        parts.push(format!("eject after {} consecutive 5xx", c.consecutive_5xx));
    } else {
        parts.push("consecutive 5xx off".to_string());
    }
    if c.enforcing_consecutive_gateway_failure > 0 && c.consecutive_gateway_failure > 0 {
        parts.push(format!(
            "after {} consecutive gateway errors (502/503/504)",
            c.consecutive_gateway_failure
        ));
    }
    if c.split_external_local_origin_errors {
        parts.push(format!(
            "after {} consecutive local-origin failures (split from responses)",
            c.consecutive_local_origin_failure
        ));
    }
    parts.push(format!("interval {}", format_duration(c.interval)));
    parts.push(format!(
        "ejection {} x times ejected (at most {})",
        format_duration(c.base_ejection_time),
        format_duration(c.max_ejection_time)
    ));
    parts.push(format!(
        "maxEjectionPercent {}{}",
        c.max_ejection_percent,
        if od.max_ejection_percent.unwrap_or(0) > 0 {
            ""
        } else {
            " (Istio's default: with fewer than 10 hosts none can be ejected)"
        }
    ));
    format!("outlier detection: {}", parts.join(", "))
}

/// Whether Istio's cluster for this port speaks HTTP/2 upstream: `UPGRADE`,
/// or a port whose protocol is HTTP/2 or gRPC (`http2-*`, `grpc-*`).
fn upstream_http2(pool: Option<&ConnectionPoolSettings>, port_name: &str) -> bool {
    if pool
        .and_then(|p| p.http.as_ref())
        .and_then(|h| h.h2_upgrade_policy)
        == Some(H2UpgradePolicy::Upgrade)
    {
        return true;
    }
    let prefix = port_name
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(prefix.as_str(), "http2" | "grpc" | "grpc-web")
}

fn pool_config(p: Option<&ConnectionPoolSettings>, port_name: &str) -> PoolConfig {
    let tcp = p.and_then(|p| p.tcp.as_ref());
    let http = p.and_then(|p| p.http.as_ref());
    let istio = IstioConnectionPool {
        max_connections: tcp.and_then(|t| t.max_connections).unwrap_or(0),
        http1_max_pending_requests: http.and_then(|h| h.http1_max_pending_requests).unwrap_or(0),
        http2_max_requests: http.and_then(|h| h.http2_max_requests).unwrap_or(0),
        max_requests_per_connection: http
            .and_then(|h| h.max_requests_per_connection)
            .unwrap_or(0),
        max_retries: http.and_then(|h| h.max_retries).unwrap_or(0),
        max_concurrent_streams: http.and_then(|h| h.max_concurrent_streams).unwrap_or(0),
    };
    PoolConfig::from_istio(&istio, upstream_http2(p, port_name))
}

fn limit(v: u64) -> String {
    if v >= ISTIO_UNLIMITED {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

fn describe_pool(c: &PoolConfig) -> String {
    format!(
        "connection pool ({}): maxConnections {}, http1MaxPendingRequests {}, http2MaxRequests {}, maxRequestsPerConnection {}",
        match c.protocol {
            Protocol::Http1 => "HTTP/1.1, one request per connection at a time".to_string(),
            Protocol::Http2 {
                max_concurrent_streams,
            } => format!("HTTP/2, {max_concurrent_streams} streams per connection"),
        },
        limit(c.max_connections),
        limit(c.max_pending_requests),
        limit(c.max_requests),
        c.max_requests_per_connection
            .map_or("unlimited".to_string(), |v| v.to_string()),
    )
}

fn lb_setup(lb: Option<&LoadBalancerSettings>) -> LbSetup {
    let simple = lb.and_then(|l| l.simple);
    if let Some(ch) = lb.and_then(|l| l.consistent_hash.as_ref()) {
        let mut hash = Vec::new();
        let mut keys = Vec::new();
        if let Some(h) = &ch.http_header_name {
            hash.push(HashPolicy::Header(h.to_ascii_lowercase()));
            keys.push(format!("header {h}"));
        }
        if let Some(c) = &ch.http_cookie {
            let name = c.name.clone().unwrap_or_default();
            keys.push(format!("cookie {name}"));
            hash.push(HashPolicy::Cookie {
                name,
                generate_when_absent: c.ttl.is_some(),
            });
        }
        if ch.use_source_ip == Some(true) {
            hash.push(HashPolicy::SourceIp);
            keys.push("source IP".to_string());
        }
        if let Some(q) = &ch.http_query_parameter_name {
            hash.push(HashPolicy::QueryParameter(q.clone()));
            keys.push(format!("query parameter {q}"));
        }
        let (policy, algo) = if let Some(m) = &ch.maglev {
            let size = m
                .table_size
                .filter(|s| *s > 0)
                .unwrap_or(maglev::DEFAULT_TABLE_SIZE);
            (
                LbPolicy::Maglev { table_size: size },
                format!("Maglev (table {size})"),
            )
        } else {
            let min = ch
                .ring_hash
                .as_ref()
                .and_then(|r| r.minimum_ring_size)
                .or(if ch.ring_hash.is_none() {
                    ch.minimum_ring_size
                } else {
                    None
                })
                .filter(|s| *s > 0)
                .unwrap_or(ring_hash::DEFAULT_MINIMUM_RING_SIZE);
            (
                LbPolicy::RingHash {
                    minimum_ring_size: min,
                    maximum_ring_size: ring_hash::DEFAULT_MAXIMUM_RING_SIZE,
                },
                format!("ring hash (minimum ring size {min})"),
            )
        };
        let describe = format!(
            "consistent hash, {algo}, on {}",
            if keys.is_empty() {
                "nothing (every pick hashes a random value)".to_string()
            } else {
                keys.join(" then ")
            }
        );
        return LbSetup {
            policy,
            hash,
            describe,
        };
    }
    let (policy, describe) = match simple {
        Some(SimpleLb::RoundRobin) => (LbPolicy::RoundRobin, "ROUND_ROBIN".to_string()),
        Some(SimpleLb::Random) => (LbPolicy::Random, "RANDOM".to_string()),
        Some(SimpleLb::Passthrough) => (
            LbPolicy::Passthrough,
            "PASSTHROUGH (to the original destination; no host is picked)".to_string(),
        ),
        Some(SimpleLb::LeastRequest) => (LbPolicy::LEAST_REQUEST, "LEAST_REQUEST".to_string()),
        Some(SimpleLb::LeastConn) => (
            LbPolicy::LEAST_REQUEST,
            "LEAST_REQUEST (LEAST_CONN is its deprecated name)".to_string(),
        ),
        Some(SimpleLb::Unspecified) | None => (
            LbPolicy::LEAST_REQUEST,
            "LEAST_REQUEST (Istio's default)".to_string(),
        ),
    };
    LbSetup {
        policy,
        hash: Vec::new(),
        describe,
    }
}

// ---------------------------------------------------------------------------
// Replaying.

struct Runner {
    names: Vec<String>,
    lines: Vec<String>,
    detector: Option<OutlierDetector>,
    pool: ConnectionPool,
    balancer: Balancer,
    lb: LbSetup,
    rng: SplitMix64,
    /// Running requests, oldest first.
    running: VecDeque<(RequestId, HostId)>,
    /// Queued requests, oldest first.
    pending: VecDeque<(RequestId, HostId)>,
    /// When each ejected host was ejected and for how long.
    ejections: Vec<Option<(Instant, Duration)>>,
    picks_time: Option<Duration>,
    picks: Vec<u64>,
    unpicked: u64,
    timeline: Vec<TimelineEntry>,
    now: Duration,
}

fn instant(d: Duration) -> Instant {
    Instant::from_nanos(duration_nanos(d))
}

fn since_start(i: Instant) -> Duration {
    Duration::from_nanos(i.as_nanos())
}

impl Runner {
    fn new(setup: Setup, s: &Scenario) -> Result<Runner, String> {
        let n = setup.hosts.len();
        let mut rng = SplitMix64::new(0);
        let endpoints: Vec<Endpoint> = setup
            .hosts
            .iter()
            .map(|h| Endpoint {
                address: match setup.endpoint_port {
                    Some(p) if !h.address.contains(':') => format!("{}:{p}", h.address),
                    _ => h.address.clone(),
                },
                weight: h.weight,
                ..Endpoint::default()
            })
            .collect();
        let panic = setup
            .outlier
            .as_ref()
            .map_or(50, |c| c.healthy_panic_threshold);
        let balancer = Balancer::new(endpoints, setup.lb.policy, panic, &mut rng);
        if let Some(c) = &setup.outlier {
            let horizon = s
                .events
                .iter()
                .map(|e| e.at)
                .chain(s.expects.iter().map(|x| x.at))
                .max()
                .unwrap_or_default();
            let ticks = duration_nanos(horizon) / duration_nanos(c.interval).max(1);
            let work = ticks.saturating_mul(u64::try_from(n.max(1)).unwrap_or(u64::MAX));
            if work > limits::MAX_SCENARIO_HOST_TICKS {
                return Err(format!(
                    "the scenario spans {ticks} outlier-detection intervals over {n} hosts; at most {} interval-hosts are replayed",
                    limits::MAX_SCENARIO_HOST_TICKS
                ));
            }
        }
        let names: Vec<String> = setup.hosts.iter().map(|h| h.address.clone()).collect();
        let known = |name: &str, line: u32| -> Result<(), String> {
            if names.iter().any(|n| n == name) {
                Ok(())
            } else {
                let hint = did_you_mean(name, names.iter().map(String::as_str))
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                Err(format!(
                    "line {line}: {name} is not one of the destination's hosts ({}){hint}",
                    describe_hosts(&setup.hosts)
                ))
            }
        };
        for e in &s.events {
            if let Some(h) = &e.host {
                known(h, e.line)?;
            }
        }
        for x in &s.expects {
            for h in x.ejected.iter().flatten() {
                known(h, x.line)?;
            }
            for h in x.picks.iter().flat_map(|p| p.keys()) {
                known(h, x.line)?;
            }
        }
        Ok(Runner {
            detector: setup
                .outlier
                .clone()
                .map(|c| OutlierDetector::new(c, n, Instant::ZERO)),
            pool: ConnectionPool::new(setup.pool, n),
            balancer,
            lb: setup.lb,
            lines: setup.lines,
            rng,
            running: VecDeque::new(),
            pending: VecDeque::new(),
            ejections: vec![None; n],
            picks_time: None,
            picks: vec![0; n],
            unpicked: 0,
            timeline: Vec::new(),
            now: Duration::ZERO,
            names,
        })
    }

    fn replay(&mut self, s: &Scenario) -> Result<ScenarioReport, String> {
        let mut times: Vec<Duration> = s
            .events
            .iter()
            .map(|e| e.at)
            .chain(s.expects.iter().map(|x| x.at))
            .collect();
        times.sort_unstable();
        times.dedup();
        let mut results: Vec<Option<ExpectResult>> = vec![None; s.expects.len()];
        let mut events = s.events.iter().peekable();
        for t in times {
            self.advance(t);
            while let Some(e) = events.next_if(|e| e.at == t) {
                self.event(e)?;
            }
            for (slot, x) in results.iter_mut().zip(&s.expects) {
                if x.at == t {
                    *slot = Some(self.check(x));
                }
            }
        }
        Ok(ScenarioReport {
            setup: std::mem::take(&mut self.lines),
            timeline: std::mem::take(&mut self.timeline),
            results: results.into_iter().flatten().collect(),
        })
    }

    fn name(&self, h: HostId) -> &str {
        self.names.get(h).map_or("?", String::as_str)
    }

    fn host_id(&self, name: &str) -> Option<HostId> {
        self.names.iter().position(|n| n == name)
    }

    fn note(&mut self, at: Duration, text: String) {
        self.timeline.push(TimelineEntry { at, text });
    }

    /// Runs the interval ticks up to `t`, one at a time while they can
    /// change something, so each unejection and decay shows at its tick.
    fn advance(&mut self, t: Duration) {
        if self.picks_time != Some(t) {
            self.picks_time = Some(t);
            self.picks.iter_mut().for_each(|p| *p = 0);
            self.unpicked = 0;
        }
        self.now = t;
        let to = instant(t);
        let n = self.names.len();
        loop {
            let Some(d) = self.detector.as_mut() else {
                return;
            };
            let tick = d.next_tick();
            if tick > to {
                return;
            }
            let busy = d.ejections_active() > 0 || (0..n).any(|h| d.multiplier(h) > 0);
            let mut events = Vec::new();
            if !busy {
                d.advance_to(to, &mut events);
                return;
            }
            let before: Vec<u32> = (0..n).map(|h| d.multiplier(h)).collect();
            d.advance_to(tick, &mut events);
            let after: Vec<u32> = (0..n).map(|h| d.multiplier(h)).collect();
            let base = d.config().base_ejection_time;
            let max = d.config().max_ejection_time;
            self.outlier_events(&events);
            for (h, (b, a)) in before.iter().zip(&after).enumerate() {
                if a < b {
                    let next = base.saturating_mul(a.saturating_add(1)).min(max);
                    let text = format!(
                        "tick: {} ejection multiplier {b} -> {a} (healthy for a whole interval since it came back); a new ejection would last {}",
                        self.name(h),
                        format_duration(next)
                    );
                    self.note(since_start(tick), text);
                }
            }
        }
    }

    fn event(&mut self, e: &Event) -> Result<(), String> {
        match e.kind {
            EventKind::Result { result, repeat } => {
                let host = e.host.as_deref().and_then(|h| self.host_id(h));
                if let Some(h) = host {
                    self.result(h, result, repeat);
                }
            }
            EventKind::Start(n) => self.start(e, n),
            EventKind::Finish(n) => self.finish(e, n),
            EventKind::Pick(n) => self.pick(e, n),
        }
        Ok(())
    }

    fn result(&mut self, h: HostId, result: Outcome, repeat: u64) {
        let at = self.now;
        let now = instant(at);
        let shown = match result {
            Outcome::Status(c) => c.to_string(),
            Outcome::Grpc(c) => format!("gRPC status {c} (as HTTP {})", grpc_status_to_http(c)),
            Outcome::Reset => "reset".to_string(),
            Outcome::ConnectFailure => "connect failure".to_string(),
            Outcome::Timeout => "timeout".to_string(),
        };
        let times = if repeat == 1 {
            String::new()
        } else {
            format!(" x{repeat}")
        };
        let Some(d) = self.detector.as_mut() else {
            let text = format!(
                "{}: {shown}{times} (outlier detection off: results change nothing)",
                self.name(h)
            );
            self.note(at, text);
            return;
        };
        let reports: &[HostReport] = match result {
            Outcome::Status(_) | Outcome::Grpc(_) => &[HostReport::LocalOriginConnectSuccess],
            Outcome::Reset => &[
                HostReport::LocalOriginConnectSuccess,
                HostReport::LocalOriginConnectFailed,
            ],
            Outcome::ConnectFailure => &[HostReport::LocalOriginConnectFailed],
            Outcome::Timeout => &[
                HostReport::LocalOriginConnectSuccess,
                HostReport::LocalOriginTimeout,
            ],
        };
        let status = match result {
            Outcome::Status(c) => Some(HostReport::HttpStatus(c)),
            Outcome::Grpc(c) => Some(HostReport::HttpStatus(grpc_status_to_http(c))),
            _ => None,
        };
        let mut events = Vec::new();
        for _ in 0..repeat {
            for r in reports.iter().copied().chain(status) {
                d.report(h, r, now, &mut self.rng, &mut events);
            }
        }
        let c = d.config().clone();
        let counts = d.consecutive_counts(h).unwrap_or_default();
        let mut streaks = Vec::new();
        if c.enforcing_consecutive_5xx > 0 && c.consecutive_5xx > 0 {
            streaks.push(format!("5xx {}/{}", counts.0, c.consecutive_5xx));
        }
        if c.enforcing_consecutive_gateway_failure > 0 && c.consecutive_gateway_failure > 0 {
            streaks.push(format!(
                "gateway errors {}/{}",
                counts.1, c.consecutive_gateway_failure
            ));
        }
        if c.split_external_local_origin_errors {
            streaks.push(format!(
                "local-origin failures {}/{}",
                counts.2, c.consecutive_local_origin_failure
            ));
        }
        let mut text = format!("{}: {shown}{times}", self.name(h));
        if !streaks.is_empty() && events.is_empty() {
            let _ = write!(text, "; consecutive {} now", streaks.join(", "));
        }
        if c.split_external_local_origin_errors
            && matches!(result, Outcome::Reset | Outcome::Timeout)
        {
            text.push_str(
                " (split mode: the connection succeeded first, which resets the local-origin count)",
            );
        }
        if self.ejections.get(h).is_some_and(Option::is_some) && events.is_empty() {
            text.push_str(" (ejected: counted, cannot eject it again)");
        }
        self.note(at, text);
        self.outlier_events(&events);
    }

    fn outlier_events(&mut self, events: &[OutlierEvent]) {
        if events.is_empty() {
            return;
        }
        let Some((config, total)) = self
            .detector
            .as_ref()
            .map(|d| (d.config().clone(), d.total_hosts()))
        else {
            return;
        };
        for ev in events {
            let at = since_start(ev.at);
            let host = self.name(ev.host).to_string();
            let text = match ev.kind {
                OutlierEventKind::Ejected {
                    cause,
                    duration,
                    multiplier,
                } => {
                    if let Some(slot) = self.ejections.get_mut(ev.host) {
                        *slot = Some((ev.at, duration));
                    }
                    let ejected_now = self
                        .detector
                        .as_ref()
                        .map_or(0, OutlierDetector::ejections_active);
                    format!(
                        "EJECTED {host} ({}): out for {} (base {} x {multiplier}), back at the first interval tick at or after {}; {ejected_now} of {total} hosts ejected",
                        cause_text(cause, &config),
                        format_duration(duration),
                        format_duration(config.base_ejection_time),
                        format_duration(at.saturating_add(duration)),
                    )
                }
                OutlierEventKind::EjectionOverflow { cause } => {
                    let ejected = self
                        .detector
                        .as_ref()
                        .map_or(0, OutlierDetector::ejections_active);
                    format!(
                        "NOT EJECTED {host}: {}{} detected, but maxEjectionPercent {} forbids it: {} of {total} hosts would be out ({:.1}% > {}%), counted in ejectionsOverflow",
                        cause_text(cause, &config),
                        if enforcing(cause, &config) == 0 {
                            " (an unenforced detector)"
                        } else {
                            ""
                        },
                        config.max_ejection_percent,
                        ejected + 1,
                        100.0 * (ejected as f64 + 1.0) / (total.max(1) as f64),
                        config.max_ejection_percent
                    )
                }
                OutlierEventKind::NotEnforced { cause } => format!(
                    "{host}: {} counted too, but that detector is not enforced: Istio enforces it only when {} is set above 0",
                    cause_text(cause, &config),
                    istio_field(cause)
                ),
                OutlierEventKind::Unejected { ejected_for } => {
                    let since = self.ejections.get_mut(ev.host).and_then(Option::take);
                    match since {
                        Some((when, dur)) => format!(
                            "BACK {host}: interval tick after {} out (ejected at {} for {}, which ran out at {}; only a tick brings a host back)",
                            format_duration(ejected_for),
                            format_duration(since_start(when)),
                            format_duration(dur),
                            format_duration(since_start(when).saturating_add(dur)),
                        ),
                        None => format!(
                            "BACK {host}: interval tick after {} out",
                            format_duration(ejected_for)
                        ),
                    }
                }
            };
            self.note(at, text);
        }
        let changed = events.iter().any(|e| {
            matches!(
                e.kind,
                OutlierEventKind::Ejected { .. } | OutlierEventKind::Unejected { .. }
            )
        });
        if changed {
            self.sync_health(events.last().map_or(self.now, |e| since_start(e.at)));
        }
    }

    fn sync_health(&mut self, at: Duration) {
        let Some(d) = self.detector.as_ref() else {
            return;
        };
        let was_panic = self.balancer.in_panic();
        self.balancer.sync_health(d);
        let total = self.names.len();
        let healthy = total.saturating_sub(d.ejections_active());
        let threshold = d.config().healthy_panic_threshold;
        let text = if self.balancer.in_panic() {
            Some(format!(
                "PANIC: {healthy} of {total} hosts healthy, below minHealthPercent {threshold}%: the load balancer uses every host, ejected ones too"
            ))
        } else if was_panic {
            Some(format!(
                "panic over: {healthy} of {total} hosts healthy (minHealthPercent {threshold}%): ejected hosts get no traffic again"
            ))
        } else if healthy == 0 && total > 0 {
            Some(format!(
                "every host is ejected and panic is {}: requests fail with 503 UH (no healthy upstream) until a host comes back",
                if threshold == 0 {
                    "disabled (minHealthPercent 0)".to_string()
                } else {
                    format!("at {threshold}%")
                }
            ))
        } else {
            None
        };
        if let Some(text) = text {
            self.note(at, text);
        }
    }

    fn stream(&self, seed: Option<u64>) -> Option<SplitMix64> {
        seed.map(SplitMix64::new)
    }

    fn pick_one(&mut self, ctx: PickContext, own: &mut Option<SplitMix64>) -> Pick {
        match own.as_mut() {
            Some(r) => self.balancer.pick(ctx, r),
            None => self.balancer.pick(ctx, &mut self.rng),
        }
    }

    fn hash_of(&self, input: &RequestInput) -> Option<u64> {
        if self.lb.hash.is_empty() {
            return None;
        }
        let headers: Vec<(&str, &str)> = input
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request_hash(
            &self.lb.hash,
            &HashInput {
                headers: &headers,
                query: input.query.as_deref(),
                source_ip: input.source_ip.as_deref(),
                ..HashInput::default()
            },
        )
        .hash
    }

    fn pick(&mut self, e: &Event, n: u64) {
        let mut own = self.stream(e.seed);
        let hash = self.hash_of(&e.request);
        let mut counts = vec![0u64; self.names.len()];
        let (mut unpicked, mut passthrough) = (0u64, 0u64);
        for _ in 0..n {
            match self.pick_one(PickContext { hash, attempt: 0 }, &mut own) {
                Pick::Host(h) => {
                    if let Some(c) = counts.get_mut(h) {
                        *c += 1;
                    }
                }
                Pick::NoHost => unpicked += 1,
                Pick::OriginalDestination => passthrough += 1,
            }
        }
        for (total, c) in self.picks.iter_mut().zip(&counts) {
            *total += c;
        }
        self.unpicked += unpicked;
        let mut text = format!("pick x{n}");
        if let Some(seed) = e.seed {
            let _ = write!(text, " (seed {seed})");
        }
        if !self.lb.hash.is_empty() {
            text.push_str(match hash {
                Some(_) => " (one request hash for all)",
                None => " (no hash key in the request: a random hash per pick)",
            });
        }
        let landed: Vec<String> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(h, c)| format!("{}: {c}", self.name(h)))
            .collect();
        let _ = write!(
            text,
            ": {}",
            if landed.is_empty() {
                "no host".to_string()
            } else {
                landed.join(", ")
            }
        );
        if unpicked > 0 {
            let _ = write!(
                text,
                "; {unpicked} found no host (503 UH, no healthy upstream)"
            );
        }
        if passthrough > 0 {
            let _ = write!(
                text,
                "; {passthrough} go to their original destination (PASSTHROUGH)"
            );
        }
        let ejected: Vec<&str> = self
            .detector
            .iter()
            .flat_map(|d| d.ejected_hosts())
            .map(|h| self.name(h))
            .collect();
        if !ejected.is_empty() {
            let _ = write!(
                text,
                "; ejected{}: {}",
                if self.balancer.in_panic() {
                    " (in panic, so picked too)"
                } else {
                    " (not picked)"
                },
                ejected.join(", ")
            );
        }
        let at = self.now;
        self.note(at, text);
    }

    fn start(&mut self, e: &Event, n: u64) {
        let at = self.now;
        let fixed = e.host.as_deref().and_then(|h| self.host_id(h));
        let mut own = self.stream(e.seed);
        let hash = self.hash_of(&e.request);
        let mut running = vec![0u64; self.names.len()];
        let mut queued = vec![0u64; self.names.len()];
        let (mut no_host, mut passthrough) = (0u64, 0u64);
        let mut overflow_notes: Vec<String> = Vec::new();
        let (mut active_overflow, mut pending_overflow) = (0u64, 0u64);
        for _ in 0..n {
            let h = match fixed {
                Some(h) => h,
                None => match self.pick_one(PickContext { hash, attempt: 0 }, &mut own) {
                    Pick::Host(h) => h,
                    Pick::NoHost => {
                        no_host += 1;
                        continue;
                    }
                    Pick::OriginalDestination => {
                        passthrough += 1;
                        continue;
                    }
                },
            };
            let stats = self.pool.stats();
            match self.pool.start(h) {
                Ok(Admission::Active(id)) => {
                    self.running.push_back((id, h));
                    self.balancer.request_started(h);
                    if let Some(c) = running.get_mut(h) {
                        *c += 1;
                    }
                }
                Ok(Admission::Pending(id)) => {
                    self.pending.push_back((id, h));
                    if let Some(c) = queued.get_mut(h) {
                        *c += 1;
                    }
                }
                Ok(Admission::Overflow(kind)) => {
                    let first = match kind {
                        Overflow::Active => {
                            active_overflow += 1;
                            active_overflow == 1
                        }
                        Overflow::Pending => {
                            pending_overflow += 1;
                            pending_overflow == 1
                        }
                    };
                    if first {
                        overflow_notes.push(self.overflow_reason(kind, &stats));
                    }
                }
                Err(_) => no_host += 1,
            }
        }
        let mut text = format!("start x{n}");
        let mut parts = Vec::new();
        let per_host = |counts: &[u64], names: &[String]| -> String {
            counts
                .iter()
                .zip(names)
                .filter(|(c, _)| **c > 0)
                .map(|(c, name)| format!("{name}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let run_total: u64 = running.iter().sum();
        if run_total > 0 {
            parts.push(format!(
                "{run_total} running ({})",
                per_host(&running, &self.names)
            ));
        }
        let queue_total: u64 = queued.iter().sum();
        if queue_total > 0 {
            parts.push(format!(
                "{queue_total} waiting for a connection ({})",
                per_host(&queued, &self.names)
            ));
        }
        let overflowed = active_overflow + pending_overflow;
        if overflowed > 0 {
            parts.push(format!(
                "{overflowed} OVERFLOWED with 503 UO at once: {}",
                overflow_notes.join("; ")
            ));
        }
        if no_host > 0 {
            parts.push(format!("{no_host} found no healthy host (503 UH)"));
        }
        if passthrough > 0 {
            parts.push(format!(
                "{passthrough} went to their original destination (PASSTHROUGH, not modelled)"
            ));
        }
        let _ = write!(text, ": {}", parts.join("; "));
        self.note(at, text);
    }

    /// Why a request overflowed, with the counts that made it.
    fn overflow_reason(
        &self,
        kind: Overflow,
        before: &crate::resilience::pool::PoolStats,
    ) -> String {
        let c = self.pool.config();
        match kind {
            Overflow::Active => format!(
                "http2MaxRequests {} reached, {} requests already active across the cluster's hosts{}",
                limit(c.max_requests),
                before.active,
                if c.protocol == Protocol::Http1 {
                    "; the limit counts HTTP/1.1 requests too"
                } else {
                    ""
                }
            ),
            Overflow::Pending => {
                let mut s = format!(
                    "http1MaxPendingRequests {} reached, {} requests already waiting for a connection",
                    limit(c.max_pending_requests),
                    before.pending
                );
                if before.connections >= c.max_connections {
                    let _ = write!(
                        s,
                        ", and maxConnections {} allows no new connection{}",
                        limit(c.max_connections),
                        if c.protocol == Protocol::Http1 {
                            " (HTTP/1.1 runs one request per connection)"
                        } else {
                            ""
                        }
                    );
                }
                if c.max_requests < ISTIO_UNLIMITED {
                    let _ = write!(
                        s,
                        "; this is before http2MaxRequests {} is reached",
                        c.max_requests
                    );
                }
                s
            }
        }
    }

    fn finish(&mut self, e: &Event, n: u64) {
        let at = self.now;
        let only = e.host.as_deref().and_then(|h| self.host_id(h));
        let mut ended = vec![0u64; self.names.len()];
        let mut ended_total = 0u64;
        let (mut promoted, mut promoted_overflow) = (0u64, 0u64);
        for _ in 0..n {
            let position = self
                .running
                .iter()
                .position(|(_, h)| only.is_none_or(|o| o == *h));
            let Some((id, h)) = position.and_then(|p| self.running.remove(p)) else {
                break;
            };
            let Ok(promotions) = self.pool.finish(id) else {
                continue;
            };
            self.balancer.request_finished(h);
            ended_total += 1;
            if let Some(c) = ended.get_mut(h) {
                *c += 1;
            }
            for p in promotions {
                match p {
                    Promotion::Active(pid) => {
                        if let Some(pos) = self.pending.iter().position(|(q, _)| *q == pid) {
                            if let Some((q, qh)) = self.pending.remove(pos) {
                                self.running.push_back((q, qh));
                                self.balancer.request_started(qh);
                            }
                        }
                        promoted += 1;
                    }
                    Promotion::Overflow(pid) => {
                        self.pending.retain(|(q, _)| *q != pid);
                        promoted_overflow += 1;
                    }
                }
            }
        }
        let mut text = format!("finish x{n}: {ended_total} ended");
        let names: Vec<String> = ended
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(h, c)| format!("{}: {c}", self.name(h)))
            .collect();
        if !names.is_empty() {
            let _ = write!(text, " ({})", names.join(", "));
        }
        if ended_total < n {
            let _ = write!(
                text,
                "; only {ended_total} {}running",
                match e.host.as_deref() {
                    Some(h) => format!("request(s) to {h} were "),
                    None => "request(s) were ".to_string(),
                }
            );
        }
        if promoted > 0 {
            let _ = write!(
                text,
                "; {promoted} waiting request(s) got the freed connection and run now"
            );
        }
        if promoted_overflow > 0 {
            let _ = write!(
                text,
                "; {promoted_overflow} waiting request(s) overflowed (503 UO): http2MaxRequests reached"
            );
        }
        self.note(at, text);
    }

    fn check(&self, x: &Expect) -> ExpectResult {
        let mut actual = Map::new();
        let mut passed = true;
        if let Some(want) = &x.ejected {
            let got: Vec<String> = self
                .detector
                .iter()
                .flat_map(|d| d.ejected_hosts())
                .map(|h| self.name(h).to_string())
                .collect();
            let mut a = got.clone();
            let mut b = want.clone();
            a.sort();
            b.sort();
            b.dedup();
            passed &= a == b;
            actual.insert("ejected".into(), json!(got));
        }
        for (counter, want) in &x.counters {
            let (key, got) = self.counter(*counter);
            passed &= got == *want;
            actual.insert(key.into(), json!(got));
        }
        if let Some(want) = &x.picks {
            let mut got = Map::new();
            let mut ok = true;
            for (h, name) in self.names.iter().enumerate() {
                let count = if self.picks_time == Some(x.at) {
                    self.picks.get(h).copied().unwrap_or(0)
                } else {
                    0
                };
                let expected = want.get(name).copied().unwrap_or(0);
                ok &= count == expected;
                if count > 0 || want.contains_key(name) {
                    got.insert(name.clone(), json!(count));
                }
            }
            passed &= ok;
            actual.insert("picks".into(), Json::Object(got));
        }
        // Keep the expected key order in `actual`.
        let ordered: Map<String, Json> = match &x.expected {
            Json::Object(m) => m
                .keys()
                .filter_map(|k| actual.get(k).map(|v| (k.clone(), v.clone())))
                .collect(),
            _ => actual,
        };
        ExpectResult {
            at: x.at,
            line: x.line,
            expected: x.expected.clone(),
            actual: Json::Object(ordered),
            passed,
        }
    }

    fn counter(&self, c: Counter) -> (&'static str, u64) {
        let stats = self.pool.stats();
        match c {
            Counter::Admitted => ("admitted", stats.admitted),
            Counter::Overflowed => ("overflowed", stats.overflowed),
            Counter::EjectionsOverflow => (
                "ejectionsOverflow",
                self.detector
                    .as_ref()
                    .map_or(0, |d| d.stats().ejections_overflow),
            ),
            Counter::Active => ("active", stats.active),
            Counter::Pending => ("pending", stats.pending),
            Counter::Unpicked => (
                "unpicked",
                if self.picks_time == Some(self.now) {
                    self.unpicked
                } else {
                    0
                },
            ),
        }
    }
}

fn enforcing(cause: Detection, c: &OutlierConfig) -> u32 {
    match cause {
        Detection::Consecutive5xx => c.enforcing_consecutive_5xx,
        Detection::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
        Detection::ConsecutiveLocalOriginFailure => c.enforcing_consecutive_local_origin_failure,
    }
}

fn istio_field(cause: Detection) -> &'static str {
    match cause {
        Detection::Consecutive5xx => "consecutive5xxErrors",
        Detection::ConsecutiveGatewayFailure => "consecutiveGatewayErrors",
        Detection::ConsecutiveLocalOriginFailure => "consecutiveLocalOriginFailures",
    }
}

fn cause_text(cause: Detection, c: &OutlierConfig) -> String {
    match cause {
        Detection::Consecutive5xx => format!("{} consecutive 5xx", c.consecutive_5xx),
        Detection::ConsecutiveGatewayFailure => format!(
            "{} consecutive gateway errors",
            c.consecutive_gateway_failure
        ),
        Detection::ConsecutiveLocalOriginFailure => format!(
            "{} consecutive local-origin failures",
            c.consecutive_local_origin_failure
        ),
    }
}

#[cfg(test)]
mod tests;
