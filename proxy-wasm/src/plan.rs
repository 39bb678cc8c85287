//! What the filter does with one request, worked out without the host: the
//! options, the request built from the headers, and the [`Plan`] of header
//! edits and local replies the proxy-wasm glue carries out.

use crate::selection::HeaderSelection;
use meshroute::decide::{HeaderOps, Outcome, Protocol, RequestFields, Retries};
use meshroute::load::load_str;
use meshroute::resilience::fault::FractionalPercent;
use meshroute::{Mesh, Request};
use meshroute_envoy::retry_on::{DefaultPolicy, RetryOn};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Header the filter sets for the route's `cluster_header` by default.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-meshroute-cluster";
/// Cluster named for hosts unknown to the registry (ALLOW_ANY passthrough).
pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";

/// Router control headers the filter owns: a client's copies are removed so
/// that only the routing decision sets timeouts and retries.
pub const CONTROL_HEADERS: [&str; 6] = [
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-max-retries",
    "x-envoy-retry-on",
    "x-envoy-retry-grpc-on",
    "x-envoy-retriable-status-codes",
];

/// The plugin configuration: Istio YAML/JSON plus where the filter sits.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterOptions {
    /// Istio resources (YAML or JSON, several documents).
    pub config: String,
    /// `mesh` (a sidecar) or `namespace/name` of a Gateway.
    #[serde(default = "default_gateway")]
    pub gateway: String,
    /// Namespace of the calling workload.
    #[serde(default = "default_namespace")]
    pub source_namespace: String,
    /// Labels of the calling workload.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Header the route's `cluster_header` reads.
    #[serde(default = "default_cluster_header")]
    pub cluster_header: String,
    /// The mesh port of the listener the filter runs on: a request's port
    /// is its listener's (Istio builds one route table per port), whatever
    /// its Host says. Without it, the port in the Host, else the scheme's.
    #[serde(default)]
    pub listener_port: Option<u16>,
}

fn default_gateway() -> String {
    "mesh".into()
}
fn default_namespace() -> String {
    "default".into()
}
fn default_cluster_header() -> String {
    DEFAULT_CLUSTER_HEADER.into()
}

/// A configured filter: options and the compiled table.
#[derive(Debug)]
pub struct Configured {
    /// Options.
    pub options: FilterOptions,
    /// Routing table.
    pub mesh: Mesh,
}

/// A configured filter with what it works out once for every request.
#[derive(Debug)]
pub struct Filter {
    /// Options and routing table.
    pub configured: Configured,
    /// The request headers the table reads, per host.
    pub selection: HeaderSelection,
}

/// The buffers one worker reuses for every decision (the request, the
/// plan's lists and its text), so that deciding stops allocating once they
/// are large enough. Give each plan back with [`Scratch::recycle`].
#[derive(Debug)]
pub struct Scratch {
    request: Request,
    plan: Plan,
    spare: Vec<String>,
    router: RouterHeaderCache,
}

/// The router headers of the retry policies seen last: a policy is the
/// rule's, so the same few come back request after request.
#[derive(Debug, Default)]
struct RouterHeaderCache {
    entries: Vec<(Retries, Vec<(&'static str, String)>)>,
}

/// Retry policies whose router headers are kept at most.
const CACHED_RETRY_POLICIES: usize = 16;

impl RouterHeaderCache {
    /// The router headers for `r` (attempts > 0), worked out on first use.
    fn headers(&mut self, r: &Retries) -> &[(&'static str, String)] {
        let at = match self.entries.iter().position(|(seen, _)| seen == r) {
            Some(at) => at,
            None => {
                if self.entries.len() == CACHED_RETRY_POLICIES {
                    self.entries.remove(0);
                }
                self.entries.push((r.clone(), router_headers(r)));
                self.entries.len() - 1
            }
        };
        &self.entries[at].1
    }
}

/// The router request headers that carry retry policy `r` (attempts > 0).
fn router_headers(r: &Retries) -> Vec<(&'static str, String)> {
    // An empty status-code list retries nothing, so Istio's default policy
    // is sent as written.
    let split = RetryOn::split(r, DefaultPolicy::AsWritten);
    let mut out = vec![("x-envoy-max-retries", r.attempts.to_string())];
    let mut spare = Vec::new();
    if let Some(http) = joined(&mut spare, split.http_conditions()) {
        out.push(("x-envoy-retry-on", http));
    }
    if let Some(grpc) = joined(&mut spare, split.grpc_conditions()) {
        out.push(("x-envoy-retry-grpc-on", grpc));
    }
    if let Some(codes) = joined(&mut spare, split.status_codes()) {
        out.push(("x-envoy-retriable-status-codes", codes));
    }
    if let Some(t) = r.per_try_timeout.map(as_millis) {
        out.push(("x-envoy-upstream-rq-per-try-timeout-ms", t.to_string()));
    }
    out
}

/// Text buffers kept between plans at most (a plan uses a dozen).
const SPARE_STRINGS: usize = 64;

impl Scratch {
    /// Takes back `plan`'s lists and text for the next plan.
    pub fn recycle(&mut self, mut plan: Plan) {
        let spare = &mut self.spare;
        let room = SPARE_STRINGS.saturating_sub(spare.len());
        spare.extend(
            plan.remove
                .drain(..)
                .chain(
                    plan.set
                        .drain(..)
                        .chain(plan.add.drain(..))
                        .flat_map(|(k, v)| [k, v]),
                )
                .take(room),
        );
        plan.reply = None;
        plan.abort = None;
        plan.delay_ms = None;
        plan.response = HeaderOps::default();
        self.plan = plan;
    }
}

/// A string holding `text`, from a spare buffer when there is one.
fn text(spare: &mut Vec<String>, text: &str) -> String {
    let mut s = spare.pop().unwrap_or_default();
    s.clear();
    s.push_str(text);
    s
}

/// [`text`] for a number, in decimal.
fn number(spare: &mut Vec<String>, n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut s = spare.pop().unwrap_or_default();
    s.clear();
    s.extend(digits[at..].iter().map(|&d| char::from(d)));
    s
}

/// [`text`] for `items` joined with `,`; `None` when there are none.
fn joined<T: std::fmt::Display>(
    spare: &mut Vec<String>,
    items: impl IntoIterator<Item = T>,
) -> Option<String> {
    use std::fmt::Write;
    let mut s: Option<String> = None;
    for item in items {
        let out = match &mut s {
            Some(out) => {
                out.push(',');
                out
            }
            None => s.insert({
                let mut fresh = spare.pop().unwrap_or_default();
                fresh.clear();
                fresh
            }),
        };
        let _ = write!(out, "{item}");
    }
    s
}

impl Filter {
    /// The filter for a configuration; lists the headers its routes read.
    pub fn new(configured: Configured) -> Filter {
        Filter {
            selection: HeaderSelection::of(&configured.mesh, &configured.options),
            configured,
        }
    }

    /// Buffers for [`Filter::plan`], the caller's constant fields filled.
    pub fn scratch(&self) -> Scratch {
        let mut request = Request::new("");
        request.source.labels = self.configured.options.source_labels.clone();
        Scratch {
            request,
            plan: Plan::default(),
            spare: Vec::new(),
            router: RouterHeaderCache::default(),
        }
    }

    /// Decides for a request with `headers` (HTTP/2-style, as Envoy lists
    /// them) and turns the decision into header edits and replies. Only
    /// the headers the routes of the request's host read are copied into
    /// the request decided on; client copies of the headers the filter
    /// owns are removed when present.
    pub fn plan(&self, scratch: &mut Scratch, headers: &[(String, String)]) -> Plan {
        let options = &self.configured.options;
        let mut p = std::mem::take(&mut scratch.plan);
        let spare = &mut scratch.spare;
        let mut line = RequestLine::default();
        for (k, v) in headers {
            line.note(k, v);
            // The control headers all start with `x-envoy-`.
            let owned = (starts_with_ignore_case(k, "x-envoy-")
                && CONTROL_HEADERS.iter().any(|c| k.eq_ignore_ascii_case(c)))
                || k.eq_ignore_ascii_case(&options.cluster_header);
            if owned && !p.remove.iter().any(|r| r.eq_ignore_ascii_case(k)) {
                let mut name = text(spare, k);
                name.make_ascii_lowercase();
                p.remove.push(name);
            }
        }
        let request = &mut scratch.request;
        let host = line.authority.or(line.host).unwrap_or("");
        request.refill(&RequestFields {
            host,
            port: options.listener_port,
            method: line.method,
            path: line.path,
            scheme: line.scheme,
            gateway: Some(&options.gateway),
            namespace: Some(&options.source_namespace),
            protocol: Protocol::Http,
            sni: None,
            destination_ip: None,
        });
        let selected = self.selection.for_authority(host);
        request.headers.refill(
            headers
                .iter()
                .filter(|(k, _)| !k.starts_with(':') && selected.contains(k))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let seed = line.request_id.unwrap_or_default();
        decide_plan(
            &self.configured,
            request,
            &seed,
            &mut p,
            spare,
            &mut scratch.router,
        );
        p
    }
}

/// What the filter reads from the headers besides the routes' own: the
/// request line and the seed of its randomness.
#[derive(Debug, Default)]
struct RequestLine<'a> {
    authority: Option<&'a str>,
    host: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    scheme: Option<&'a str>,
    /// Several `x-request-id` lines joined with `,`, as a matcher sees them.
    request_id: Option<Cow<'a, str>>,
}

/// Whether `text` starts with `prefix` (lower-case), ASCII case ignored.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

impl<'a> RequestLine<'a> {
    fn note(&mut self, name: &str, value: &'a str) {
        let first = |slot: &mut Option<&'a str>| {
            slot.get_or_insert(value);
        };
        // Most headers are none of these: one byte tells.
        if !matches!(
            name.as_bytes().first(),
            Some(b':' | b'h' | b'H' | b'x' | b'X')
        ) {
            return;
        }
        if name.eq_ignore_ascii_case(":authority") {
            first(&mut self.authority);
        } else if name.eq_ignore_ascii_case(":path") {
            first(&mut self.path);
        } else if name.eq_ignore_ascii_case(":method") {
            first(&mut self.method);
        } else if name.eq_ignore_ascii_case(":scheme") {
            first(&mut self.scheme);
        } else if name.eq_ignore_ascii_case("host") {
            first(&mut self.host);
        } else if name.eq_ignore_ascii_case("x-request-id") {
            self.request_id = Some(match self.request_id.take() {
                None => Cow::Borrowed(value),
                Some(seen) => Cow::Owned(format!("{seen},{value}")),
            });
        }
    }
}

/// Parses the plugin configuration: a JSON object with the options above, or
/// bare Istio YAML (then every option takes its default). Errors are the
/// loader's messages, one per line.
pub fn configure(bytes: &[u8]) -> Result<Configured, Vec<String>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| vec![format!("plugin configuration is not UTF-8: {e}")])?;
    let options = if text.trim_start().starts_with('{') {
        match serde_json::from_str::<FilterOptions>(text) {
            Ok(o) => o,
            Err(e) => return Err(vec![format!("plugin configuration: {e}")]),
        }
    } else {
        FilterOptions {
            config: text.to_string(),
            gateway: default_gateway(),
            source_namespace: default_namespace(),
            source_labels: BTreeMap::new(),
            cluster_header: default_cluster_header(),
            listener_port: None,
        }
    };
    let config = load_str(&options.config, "plugin configuration");
    let errors: Vec<String> = config.load_errors().map(|m| m.to_string()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    // What Istio's admission webhook refuses never reaches a proxy.
    let admitted = meshroute::admission::admit(&config).config;
    Ok(Configured {
        mesh: Mesh::compile(&admitted),
        options,
    })
}

/// A reply the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// Status.
    pub status: u32,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<String>,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Answer now instead of forwarding.
    pub reply: Option<LocalReply>,
    /// Request headers to remove (before the sets and adds).
    pub remove: Vec<String>,
    /// Request headers to set (overwrite), pseudo-headers included.
    pub set: Vec<(String, String)>,
    /// Request headers to append.
    pub add: Vec<(String, String)>,
    /// Response header operations.
    pub response: HeaderOps,
    /// Hold the request this long first (fault delay).
    pub delay_ms: Option<u64>,
    /// After the delay, answer with this (fault abort).
    pub abort: Option<LocalReply>,
}

/// A 64-bit value from `seed` and `salt` (FNV-1a then a SplitMix64 finaliser):
/// the filter's randomness, seeded by the request's `x-request-id` (a random
/// UUID Envoy generates per request), so weighted picks and fault rolls are
/// uniform over requests and repeatable for one request id.
pub fn random(seed: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Whether a roll with `random` fires at `percent`, as Envoy rolls Istio's
/// per-million fraction.
fn fires(percent: f64, random: u64) -> bool {
    FractionalPercent::from_istio_percentage(percent).fires(random)
}

fn as_millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The meshroute request for a set of HTTP/2-style headers, every header
/// copied (what [`Filter::plan`] decides on when the routes read them all).
pub fn request(options: &FilterOptions, headers: &[(String, String)]) -> Request {
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut r = Request::new(
        get(":authority")
            .or_else(|| get("host"))
            .unwrap_or_default(),
    );
    r.method = get(":method").unwrap_or_else(|| "GET".into());
    r.path = get(":path").unwrap_or_else(|| "/".into());
    r.scheme = get(":scheme");
    r.port = options.listener_port;
    r.gateway = options.gateway.clone();
    r.source.namespace = options.source_namespace.clone();
    r.source.labels = options.source_labels.clone();
    for (k, v) in headers {
        if !k.starts_with(':') {
            r.headers.append(k, v);
        }
    }
    r
}

fn ops_as_headers(ops: &HeaderOps) -> Vec<(String, String)> {
    ops.set
        .iter()
        .chain(ops.add.iter())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Decides `req` and adds to `p` the header edits and replies the decision
/// makes; `seed` seeds the randomness, `spare` lends text buffers.
fn decide_plan(
    c: &Configured,
    req: &Request,
    seed: &str,
    p: &mut Plan,
    spare: &mut Vec<String>,
    router: &mut RouterHeaderCache,
) {
    let d = match c.mesh.decide(req) {
        Ok(d) => d,
        Err(e) => {
            p.reply = Some(LocalReply {
                status: 400,
                headers: Vec::new(),
                body: Some(e.to_string()),
            });
            return;
        }
    };
    if !d.response_headers().is_empty() {
        p.response = d.response_headers().clone();
    }
    match d.outcome() {
        Outcome::Redirect => {
            if let Some(r) = d.redirect() {
                let mut headers = vec![("location".to_string(), r.location.clone())];
                headers.extend(ops_as_headers(d.response_headers()));
                p.reply = Some(LocalReply {
                    status: u32::from(r.status),
                    headers,
                    body: None,
                });
            }
            return;
        }
        Outcome::DirectResponse => {
            if let Some(r) = d.direct_response() {
                p.reply = Some(LocalReply {
                    status: u32::from(r.status),
                    headers: ops_as_headers(d.response_headers()),
                    body: r.body.clone(),
                });
            }
            return;
        }
        Outcome::NotFound => {
            p.reply = Some(LocalReply {
                status: 404,
                headers: Vec::new(),
                body: None,
            });
            return;
        }
        Outcome::Passthrough => {
            p.set.push((
                text(spare, &c.options.cluster_header),
                text(spare, PASSTHROUGH_CLUSTER),
            ));
            return;
        }
        Outcome::Route | Outcome::DefaultRoute => {}
    }
    if let Some(dest) = d.pick(random(seed, 0)) {
        p.set.push((
            text(spare, &c.options.cluster_header),
            text(spare, dest.cluster()),
        ));
    }
    if let Some(rw) = d.rewrite() {
        if let Some(path) = &rw.path {
            p.set.push((":path".into(), path.clone()));
        }
        if let Some(a) = &rw.authority {
            p.set.push((":authority".into(), a.clone()));
        }
    }
    let plain = |k: &str| !k.starts_with(':') && !k.eq_ignore_ascii_case("host");
    let request_headers = d.request_headers();
    for k in &request_headers.remove {
        p.remove.push(text(spare, k));
    }
    for (k, v) in request_headers.set.iter().filter(|(k, _)| plain(k)) {
        p.set.push((text(spare, k), text(spare, v)));
    }
    for (k, v) in request_headers.add.iter().filter(|(k, _)| plain(k)) {
        p.add.push((text(spare, k), text(spare, v)));
    }
    // Istio disables the route timeout unless the VirtualService sets one.
    let timeout = d.timeout().map(as_millis).unwrap_or(0);
    p.set.push((
        text(spare, "x-envoy-upstream-rq-timeout-ms"),
        number(spare, timeout),
    ));
    if let Some(r) = d.retries().filter(|r| r.attempts > 0) {
        for (name, value) in router.headers(r) {
            p.set.push((text(spare, name), text(spare, value)));
        }
    }
    if let Some(f) = d.fault() {
        if let Some(delay) = &f.delay {
            if fires(delay.percent, random(seed, 1)) {
                p.delay_ms = Some(as_millis(delay.fixed_delay)).filter(|ms| *ms > 0);
            }
        }
        if let Some(a) = &f.abort {
            if fires(a.percent, random(seed, 2)) {
                p.abort = Some(match (a.http_status, a.grpc_code()) {
                    (Some(s), _) => LocalReply {
                        status: u32::try_from(s).unwrap_or(500),
                        headers: Vec::new(),
                        body: Some("fault filter abort".into()),
                    },
                    (None, code) => LocalReply {
                        status: 200,
                        headers: vec![
                            ("content-type".into(), "application/grpc".into()),
                            ("grpc-status".into(), code.unwrap_or(2).to_string()),
                        ],
                        body: None,
                    },
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /moved}}]
    redirect: {uri: /new, redirectCode: 302}
  - match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418, body: {string: tea}}
  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /v2/}
    timeout: 1.5s
    retries: {attempts: 3, retryOn: "5xx,unavailable,503", perTryTimeout: 200ms}
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
"#;

    fn configured() -> Filter {
        let opts = serde_json::json!({"config": CONFIG}).to_string();
        match configure(opts.as_bytes()) {
            Ok(c) => Filter::new(c),
            Err(e) => panic!("{e:?}"),
        }
    }

    /// One request's plan, with fresh buffers.
    fn plan(f: &Filter, headers: &[(String, String)]) -> Plan {
        f.plan(&mut f.scratch(), headers)
    }

    fn hdrs(path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = vec![
            (":authority".to_string(), "reviews:9080".to_string()),
            (":path".to_string(), path.to_string()),
            (":method".to_string(), "GET".to_string()),
            ("x-request-id".to_string(), "abc".to_string()),
        ];
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        h
    }

    fn set<'a>(p: &'a Plan, name: &str) -> Option<&'a str> {
        p.set
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn header_match_sets_the_cluster_header() {
        let c = configured();
        let p = plan(
            &c,
            &hdrs("/", &[("end-user", "jason"), ("x-envoy-retry-on", "5xx")]),
        );
        assert_eq!(
            set(&p, "x-meshroute-cluster"),
            Some("outbound|9080|v2|reviews.default.svc.cluster.local")
        );
        assert_eq!(set(&p, "x-envoy-upstream-rq-timeout-ms"), Some("0"));
        assert!(
            p.remove.iter().any(|h| h == "x-envoy-retry-on"),
            "client retry headers are dropped"
        );
    }

    #[test]
    fn weighted_split_follows_the_request_id() {
        let c = configured();
        let mut v2 = 0;
        for i in 0..2000 {
            let id = format!("req-{i}");
            let mut h = hdrs("/", &[]);
            h[3].1 = id;
            if set(&plan(&c, &h), "x-meshroute-cluster").is_some_and(|v| v.contains("|v2|")) {
                v2 += 1;
            }
        }
        assert!(
            (140..=260).contains(&v2),
            "10% of 2000 within bounds, got {v2}"
        );
    }

    #[test]
    fn redirect_and_direct_response_are_local_replies() {
        let c = configured();
        let r = plan(&c, &hdrs("/moved/x", &[])).reply.unwrap();
        assert_eq!(r.status, 302);
        assert_eq!(
            r.headers[0],
            // Envoy keeps the request's Host, port included, when the
            // redirect names no authority or port.
            (
                "location".to_string(),
                "http://reviews:9080/new".to_string()
            )
        );
        let d = plan(&c, &hdrs("/teapot", &[])).reply.unwrap();
        assert_eq!((d.status, d.body.as_deref()), (418, Some("tea")));
        assert!(plan(&c, &hdrs("/", &[])).reply.is_none());
    }

    #[test]
    fn rewrite_timeout_and_retries_become_router_headers() {
        let c = configured();
        let p = plan(&c, &hdrs("/api/users?q=1", &[]));
        assert_eq!(set(&p, ":path"), Some("/v2/users?q=1"));
        assert_eq!(set(&p, "x-envoy-upstream-rq-timeout-ms"), Some("1500"));
        assert_eq!(set(&p, "x-envoy-max-retries"), Some("3"));
        assert_eq!(
            set(&p, "x-envoy-retry-on"),
            Some("5xx,retriable-status-codes")
        );
        assert_eq!(set(&p, "x-envoy-retry-grpc-on"), Some("unavailable"));
        assert_eq!(set(&p, "x-envoy-retriable-status-codes"), Some("503"));
        assert_eq!(
            set(&p, "x-envoy-upstream-rq-per-try-timeout-ms"),
            Some("200")
        );
    }

    #[test]
    fn istios_default_retry_policy_is_sent_without_the_status_codes_condition() {
        let c = configured();
        // The `end-user: jason` rule sets no retries: Istio's default.
        let p = plan(&c, &hdrs("/", &[("end-user", "jason")]));
        assert_eq!(set(&p, "x-envoy-max-retries"), Some("2"));
        assert_eq!(
            set(&p, "x-envoy-retry-on"),
            Some("connect-failure,refused-stream")
        );
        assert_eq!(
            set(&p, "x-envoy-retry-grpc-on"),
            Some("unavailable,cancelled")
        );
        assert_eq!(set(&p, "x-envoy-retriable-status-codes"), None);
    }

    #[test]
    fn full_abort_always_fires_and_nothing_else_aborts() {
        let c = configured();
        let p = plan(&c, &hdrs("/abort", &[]));
        assert_eq!(p.abort.map(|a| a.status), Some(503));
        assert!(plan(&c, &hdrs("/", &[])).abort.is_none());
    }

    #[test]
    fn configuration_errors_are_reported_not_panicked() {
        let e = configure(br#"{"config": "kind: VirtualService\napiVersion: networking.istio.io/v1\nmetadata: {name: x}\nspec: {hosts: [a], htp: []}"}"#).unwrap_err();
        assert!(e.iter().any(|m| m.contains("htp")), "{e:?}");
        let e = configure(br#"{"config": "", "gatewy": "mesh"}"#).unwrap_err();
        assert!(e[0].contains("gatewy"));
        assert!(configure(b"\xff").is_err());
    }

    #[test]
    fn a_reused_scratch_plans_as_fresh_buffers_do() {
        let c = configured();
        let requests = [
            hdrs("/api/users?q=1", &[]),
            hdrs("/", &[("end-user", "jason"), ("x-envoy-max-retries", "9")]),
            hdrs("/moved/x", &[]),
            hdrs("/abort", &[]),
            hdrs("/teapot", &[]),
            hdrs("/", &[("x-meshroute-cluster", "client-pick")]),
            hdrs("/api/again", &[]),
        ];
        let mut scratch = c.scratch();
        for _ in 0..2 {
            for h in &requests {
                let reused = c.plan(&mut scratch, h);
                assert_eq!(reused, plan(&c, h), "{h:?}");
                scratch.recycle(reused);
            }
        }
    }

    #[test]
    fn only_the_control_headers_a_client_sent_are_removed() {
        let c = configured();
        assert!(plan(&c, &hdrs("/", &[])).remove.is_empty());
        let p = plan(
            &c,
            &hdrs(
                "/",
                &[
                    ("X-Envoy-Max-Retries", "9"),
                    ("x-envoy-max-retries", "8"),
                    ("x-meshroute-cluster", "client-pick"),
                    ("x-envoy-upstream-rq-per-try-timeout-ms", "1"),
                ],
            ),
        );
        assert_eq!(
            p.remove,
            [
                "x-envoy-max-retries",
                "x-meshroute-cluster",
                "x-envoy-upstream-rq-per-try-timeout-ms"
            ]
        );
    }

    #[test]
    fn the_decision_is_the_one_on_every_header() {
        // The filter copies only the headers the routes read; deciding on
        // every header gives the same decision.
        let c = configured();
        for h in [
            hdrs("/", &[("end-user", "jason"), ("cookie", "a=b")]),
            hdrs("/", &[("end-user", "mary"), ("x-other", "1")]),
            hdrs("/api/x", &[("end-user", "jason")]),
        ] {
            let mut scratch = c.scratch();
            let _ = c.plan(&mut scratch, &h);
            let every = request(&c.configured.options, &h);
            let chosen = c
                .configured
                .mesh
                .decide(&scratch.request)
                .map(|d| format!("{d:?}"));
            let full = c.configured.mesh.decide(&every).map(|d| format!("{d:?}"));
            assert_eq!(chosen, full, "{h:?}");
            assert!(scratch.request.headers.len() < every.headers.len());
        }
    }

    #[test]
    fn random_is_spread_and_salted() {
        assert_ne!(random("a", 0), random("a", 1));
        assert_ne!(random("a", 0), random("b", 0));
        assert!(fires(100.0, 999_999) && !fires(0.0, 0) && !fires(10.0, 100_000));
    }
}
