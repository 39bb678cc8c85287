//! The scenario format (spec: route-tests.md, "Resilience scenarios"): the
//! destination, its hosts, the events and the expectations, read from the
//! file's YAML nodes. The `config` block is read with the route-test format
//! ([`crate::routetest::parse`]), which reads the whole file once.

use crate::duration::format_duration;
use crate::limits;
use crate::load::did_you_mean;
use crate::load::fields::Fields;
use crate::load::node::{Node, Value as NodeValue};
use crate::source::Location;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::time::Duration;

/// A parsed scenario: what to replay against the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file's name, for positions in messages.
    pub(super) file: String,
    pub(super) host: String,
    pub(super) subset: Option<String>,
    pub(super) port: Option<u32>,
    pub(super) namespace: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) hosts: Option<Vec<HostSpec>>,
    pub(super) events: Vec<Event>,
    pub(super) expects: Vec<Expect>,
    /// The limits it was read within; the replay applies them too.
    pub(super) limits: limits::Limits,
}

impl Scenario {
    /// Where each `expect` entry starts, in file order.
    pub fn expect_locations(&self) -> impl Iterator<Item = Location> + '_ {
        self.expects.iter().map(|x| x.location)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HostSpec {
    pub address: String,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Event {
    pub at: Duration,
    pub location: Location,
    pub kind: EventKind,
    pub host: Option<String>,
    pub seed: Option<u64>,
    pub request: RequestInput,
}

/// What a `pick` or `start` event gives the request hash.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct RequestInput {
    pub headers: Vec<(String, String)>,
    pub query: Option<String>,
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventKind {
    Result { result: Outcome, repeat: u64 },
    Start(u64),
    Finish(u64),
    Pick(u64),
}

/// What a request to a host ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Status(u16),
    Grpc(u32),
    Reset,
    ConnectFailure,
    Timeout,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Expect {
    pub at: Duration,
    pub location: Location,
    pub expected: Json,
    pub ejected: Option<Vec<String>>,
    pub counters: Vec<(Counter, u64)>,
    pub picks: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counter {
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

/// Keys of a scenario file.
pub(crate) const TOP_KEYS: [&str; 6] = [
    "config",
    "destination",
    "source",
    "hosts",
    "events",
    "expect",
];
const DESTINATION_KEYS: [&str; 3] = ["host", "subset", "port"];
const SOURCE_KEYS: [&str; 2] = ["namespace", "labels"];
const HOST_KEYS: [&str; 2] = ["address", "weight"];
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

/// A value that is present and not null.
fn field<'a>(doc: &'a Node<'a>, key: &str) -> Option<&'a Node<'a>> {
    doc.get(key).filter(|n| n.value != NodeValue::Null)
}

/// Reads a scenario from the file's root mapping (its `config` is read by
/// the caller).
pub(crate) fn parse(f: &Fields, doc: &Node, limits: &limits::Limits) -> Result<Scenario, String> {
    if let Some(d) = doc.get("defaults") {
        return Err(f.error(
            d,
            "`defaults` belongs to route-test files; a scenario gives `source` and `destination`",
        ));
    }
    f.entries(doc, &TOP_KEYS, "a scenario")?;
    let mut s = Scenario {
        file: f.file().to_string(),
        host: String::new(),
        subset: None,
        port: None,
        namespace: "default".into(),
        labels: BTreeMap::new(),
        hosts: None,
        events: Vec::new(),
        expects: Vec::new(),
        limits: limits.clone(),
    };
    let dest = field(doc, "destination")
        .ok_or_else(|| f.error(doc, "the scenario needs `destination`"))?;
    f.entries(dest, &DESTINATION_KEYS, "destination")?;
    s.host = f.string(
        dest.get("host")
            .ok_or_else(|| f.error(dest, "destination needs `host`"))?,
        "destination.host",
    )?;
    if let Some(sub) = dest.get("subset") {
        s.subset = Some(f.string(sub, "destination.subset")?);
    }
    if let Some(p) = dest.get("port") {
        let port = f.uint(p, "destination.port")?;
        s.port = Some(
            u32::try_from(port)
                .ok()
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| f.error(p, "destination.port must be 1 to 65535"))?,
        );
    }
    if let Some(src) = field(doc, "source") {
        f.entries(src, &SOURCE_KEYS, "source")?;
        if let Some(ns) = src.get("namespace") {
            s.namespace = f.string(ns, "source.namespace")?;
        }
        if let Some(labels) = src.get("labels") {
            for (k, v) in f.any_entries(labels, "source.labels")? {
                s.labels
                    .insert(k.to_string(), f.scalar_string(v, "label value")?);
            }
        }
    }
    if let Some(hosts) = field(doc, "hosts") {
        s.hosts = Some(parse_hosts(f, hosts, limits)?);
    }
    let events = field(doc, "events").ok_or_else(|| f.error(doc, "the scenario needs `events`"))?;
    let mut operations: u64 = 0;
    for e in f.list(events, "events")? {
        let event = parse_event(f, e)?;
        if let Some(prev) = s.events.last() {
            if event.at < prev.at {
                return Err(f.error(
                    e,
                    format!(
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
        if operations > limits.max_scenario_operations {
            return Err(f.error(
                e,
                format!(
                    "the scenario replays more than {} operations ({})",
                    limits.max_scenario_operations,
                    limits::hint("max_scenario_operations", limits.max_scenario_operations)
                ),
            ));
        }
        s.events.push(event);
    }
    if let Some(expects) = field(doc, "expect") {
        for x in f.list(expects, "expect")? {
            s.expects.push(parse_expect(f, x)?);
        }
    }
    Ok(s)
}

fn parse_hosts(f: &Fields, hosts: &Node, limits: &limits::Limits) -> Result<Vec<HostSpec>, String> {
    let mut out: Vec<HostSpec> = Vec::new();
    for h in f.list(hosts, "hosts")? {
        let spec = match &h.value {
            NodeValue::Map(_) => {
                f.entries(h, &HOST_KEYS, "a hosts entry")?;
                let address = f.string(
                    h.get("address")
                        .ok_or_else(|| f.error(h, "a hosts entry needs `address`"))?,
                    "address",
                )?;
                let weight = match h.get("weight") {
                    Some(w) => u32::try_from(f.uint(w, "weight")?)
                        .ok()
                        .filter(|w| *w > 0)
                        .ok_or_else(|| f.error(w, "weight must be 1 to 4294967295"))?,
                    None => 1,
                };
                HostSpec { address, weight }
            }
            _ => HostSpec {
                address: f.scalar_string(h, "hosts entry")?,
                weight: 1,
            },
        };
        if out.iter().any(|o| o.address == spec.address) {
            return Err(f.error(h, format!("host {} is listed twice", spec.address)));
        }
        out.push(spec);
    }
    if out.len() > limits.max_scenario_hosts {
        return Err(f.error(
            hosts,
            format!(
                "more than {} hosts ({})",
                limits.max_scenario_hosts,
                limits::hint("max_scenario_hosts", limits.max_scenario_hosts as u64)
            ),
        ));
    }
    Ok(out)
}

fn parse_event(f: &Fields, e: &Node) -> Result<Event, String> {
    let keys = f.entries(e, &EVENT_KEYS, "an event")?;
    let at = f.duration(
        e.get("at")
            .ok_or_else(|| f.error(e, "an event needs `at`"))?,
        "at",
    )?;
    let kinds: Vec<&str> = ["result", "start", "finish", "pick"]
        .into_iter()
        .filter(|k| e.get(k).is_some())
        .collect();
    let kind_name = match kinds.as_slice() {
        [one] => *one,
        [] => {
            return Err(f.error(
                e,
                "an event needs one of `result`, `start`, `finish`, `pick`",
            ))
        }
        _ => {
            return Err(f.error(
                e,
                format!("an event has one action, not {}", kinds.join(" and ")),
            ))
        }
    };
    let count = |key: &str| -> Result<u64, String> {
        match e.get(key) {
            Some(n) => f.uint(n, key),
            None => Ok(1),
        }
    };
    let kind = match kind_name {
        "result" => {
            let n = e
                .get("result")
                .ok_or_else(|| f.error(e, "missing `result`"))?;
            EventKind::Result {
                result: parse_outcome(f, n)?,
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
            return Err(f.error(n, format!("`{k}` does not apply to a {kind_name} event")));
        }
    }
    let host = match e.get("host") {
        Some(h) => Some(f.scalar_string(h, "host")?),
        None => None,
    };
    if matches!(kind, EventKind::Result { .. }) && host.is_none() {
        return Err(f.error(e, "a result event needs `host`"));
    }
    let seed = match e.get("seed") {
        Some(n) => Some(f.uint(n, "seed")?),
        None => None,
    };
    let mut request = RequestInput::default();
    if let Some(h) = e.get("headers") {
        for (k, v) in f.any_entries(h, "headers")? {
            match &v.value {
                NodeValue::Seq(items) => {
                    for item in items {
                        request.headers.push((
                            k.to_ascii_lowercase(),
                            f.scalar_string(item, "header value")?,
                        ));
                    }
                }
                _ => request
                    .headers
                    .push((k.to_ascii_lowercase(), f.scalar_string(v, "header value")?)),
            }
        }
    }
    if let Some(q) = e.get("query") {
        let q = f.string(q, "query")?;
        request.query = Some(q.strip_prefix('?').unwrap_or(&q).to_string());
    }
    if let Some(ip) = e.get("sourceIp") {
        request.source_ip = Some(f.string(ip, "sourceIp")?);
    }
    Ok(Event {
        at,
        location: e.loc,
        kind,
        host,
        seed,
        request,
    })
}

fn parse_outcome(f: &Fields, n: &Node) -> Result<Outcome, String> {
    let text = f.scalar_string(n, "result")?;
    let lower = text.to_ascii_lowercase();
    if let Ok(code) = lower.parse::<u16>() {
        if (100..=599).contains(&code) {
            return Ok(Outcome::Status(code));
        }
        return Err(f.error(n, format!("HTTP status {code} is not 100 to 599")));
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
        return Err(f.error(
            n,
            format!("unknown gRPC status {name:?} (a name such as UNAVAILABLE)"),
        ));
    }
    let hint = did_you_mean(&lower, ["reset", "connect-failure", "timeout"])
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Err(f.error(n, format!(
            "unknown result {text:?}: an HTTP status, `reset`, `connect-failure`, `timeout` or `grpc:NAME`{hint}"
        ),
    ))
}

fn parse_expect(f: &Fields, x: &Node) -> Result<Expect, String> {
    let keys = f.entries(x, &EXPECT_KEYS, "an expect entry")?;
    let at = f.duration(
        x.get("at")
            .ok_or_else(|| f.error(x, "an expect entry needs `at`"))?,
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
                for h in f.list(n, "ejected")? {
                    hosts.push(f.scalar_string(h, "ejected host")?);
                }
                ejected = Some(hosts);
            }
            "picks" => {
                let mut map = BTreeMap::new();
                for (host, count) in f.any_entries(n, "picks")? {
                    map.insert(host.to_string(), f.uint(count, "pick count")?);
                }
                picks = Some(map);
            }
            other => {
                if let Some((_, c)) = Counter::ALL.iter().find(|(name, _)| *name == other) {
                    counters.push((*c, f.uint(n, other)?));
                }
            }
        }
        expected.insert((*k).to_string(), n.to_json());
    }
    if expected.is_empty() {
        return Err(f.error(x, "an expect entry needs something to check besides `at`"));
    }
    Ok(Expect {
        at,
        location: x.loc,
        expected: Json::Object(expected),
        ejected,
        counters,
        picks,
    })
}
