//! Native Envoy configuration from a compiled [`Mesh`]: what istiod would
//! push to one sidecar or gateway, as a static bootstrap (no control plane).
//! Built on meshroute's public, read-only views of the table
//! ([`Mesh::sidecar_view`], [`Mesh::gateway_view`]).
//!
//! Layout: one HTTP listener per port the proxy routes HTTP on (Istio's
//! route configuration per port), on `127.0.0.1` from
//! [`Options::listen_port`] up, named `meshroute_<PORT>`. A sidecar's
//! table has one virtual host per service with the names a caller may use
//! (`reviews`, `reviews.default`, the FQDN ...) and ports ignored in host
//! matching (`ignore_port_in_host_matching`, as Istio sets it), then the
//! catch-all of the caller's Sidecar or the mesh outbound traffic policy
//! (`allow_any` to the PassthroughCluster or the Sidecar's egress proxy,
//! `block_all` answering 502); a gateway's (named `namespace/name` or as a
//! workload `namespace/k=v[@ip]`, its Gateways merged) has, per listener
//! port after `targetPort` translation, one virtual host per domain its
//! bound VirtualServices make. Routes come from the VirtualServices exactly in the order Istio
//! emits them (section 9.2 of envoy-semantics.md), clusters
//! `outbound|PORT|SUBSET|HOST` with circuit breakers and outlier detection
//! mapped as Istio maps them (sections 6.1 and 7.4). Endpoints come from an
//! [`Endpoints`] map (cluster name or host to `address:port`) or the
//! registry. Routes Envoy would refuse (an abort or direct-response status
//! outside 200-599, weights summing to zero, a redirect code Envoy has no
//! name for) are left out and named in [`Generated::left_out`]. Pure: no
//! I/O; the caller writes the JSON.
//!
//! Not exported (documented limits, spec/envoy-agreement.md): CORS,
//! consistent-hash policies, TLS/TCP routes and listeners, a gateway's
//! HTTPS filter chains (named in [`Generated::left_out`]), TLS origination.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use meshroute::decide::{Decision, HeaderOps, RouteEntry};
use meshroute::matching::{HttpRouteMatch, PathNormalization, StringMatcher};
use meshroute::model::destination_rule::{OutlierDetection, SimpleLb, TrafficPolicy};
use meshroute::model::virtual_service::{HttpRedirect, HttpRoute};
use meshroute::{Mesh, Outcome};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub mod retry_on;
use retry_on::{DefaultPolicy, RetryOn};

/// Istio's "unlimited" circuit-breaker threshold (2^32 - 1).
const UNLIMITED: u64 = 4_294_967_295;
/// The cluster for hosts the registry does not know (Istio's name).
pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";
/// The HTTP fault filter's name (per-route config is keyed by it).
const FAULT_FILTER: &str = "envoy.filters.http.fault";

/// Where the clusters' endpoints are: keys are cluster names
/// (`outbound|9080|v1|reviews.default.svc.cluster.local`) or hosts
/// (`reviews.default.svc.cluster.local`, for every cluster of the host that
/// has no entry of its own); values are `address:port`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    by_key: BTreeMap<String, Vec<(String, u16)>>,
}

impl Endpoints {
    /// No endpoints: clusters take the registry's.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `address:port` for a cluster name or host.
    pub fn add(&mut self, key: &str, address: &str, port: u16) {
        self.by_key
            .entry(key.to_string())
            .or_default()
            .push((address.to_string(), port));
    }

    /// Parses a JSON object `{"KEY": "ADDR:PORT" | ["ADDR:PORT", ...]}`.
    pub fn from_json(text: &str) -> Result<Endpoints, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("endpoints file: {e}"))?;
        let Value::Object(map) = value else {
            return Err("endpoints file: expected an object of cluster or host to \"address:port\" or a list of them".into());
        };
        let mut out = Endpoints::new();
        for (key, v) in map {
            let list: Vec<&Value> = match &v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for item in list {
                let s = item
                    .as_str()
                    .ok_or_else(|| format!("endpoints file: {key:?}: expected \"address:port\""))?;
                let (addr, port) = s
                    .rsplit_once(':')
                    .and_then(|(a, p)| Some((a, p.parse::<u16>().ok()?)))
                    .ok_or_else(|| {
                        format!("endpoints file: {key:?}: {s:?} is not \"address:port\"")
                    })?;
                out.add(
                    &key,
                    addr.trim_start_matches('[').trim_end_matches(']'),
                    port,
                );
            }
        }
        Ok(out)
    }

    fn for_cluster(&self, cluster: &str, host: &str) -> Option<&[(String, u16)]> {
        self.by_key
            .get(cluster)
            .or_else(|| self.by_key.get(host))
            .map(Vec::as_slice)
    }
}

/// The proxy-wasm filter in place of native routes: one catch-all route
/// that sends each request to the cluster named in `cluster_header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmFilter {
    /// Path of the filter's `.wasm` file.
    pub wasm_path: String,
    /// Plugin configuration (the filter's JSON options, as a string).
    pub configuration: String,
    /// The header the filter sets and the route's `cluster_header` reads.
    pub cluster_header: String,
}

/// Which proxy the configuration is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxyKind {
    /// A sidecar in [`Options::source_namespace`] with [`Options::source_labels`].
    #[default]
    Sidecar,
    /// A gateway proxy, named as a request names it: `namespace/name` (one
    /// Gateway resource) or `namespace/key=value[,key=value][@address]`
    /// (the gateway workload with those labels, every Gateway selecting it
    /// merged).
    Gateway(String),
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// First listener port on 127.0.0.1: the route table of the proxy's
    /// lowest port listens there, the next one on the port after, and so on
    /// (each listener is named `meshroute_<PORT>` after the port it stands for).
    pub listen_port: u16,
    /// Admin port on 127.0.0.1.
    pub admin_port: u16,
    /// Namespace of the sidecar the config is for.
    pub source_namespace: String,
    /// Labels of the sidecar's workload (`sourceLabels`, DR selectors).
    pub source_labels: BTreeMap<String, String>,
    /// A sidecar's or a gateway's configuration.
    pub proxy: ProxyKind,
    /// Endpoints by cluster or host; registry endpoints otherwise.
    pub endpoints: Endpoints,
    /// Route by the proxy-wasm filter instead of native routes.
    pub wasm: Option<WasmFilter>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen_port: 15001,
            admin_port: 15000,
            source_namespace: "default".into(),
            source_labels: BTreeMap::new(),
            proxy: ProxyKind::Sidecar,
            endpoints: Endpoints::new(),
            wasm: None,
        }
    }
}

/// A bootstrap and what was left out of it because Envoy would refuse it.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The Envoy bootstrap (v3 JSON).
    pub config: Value,
    /// One line per route or listener left out, naming it and why.
    pub left_out: Vec<String>,
}

/// The route table of one listener port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRoutes {
    /// The port the proxy listens on in the mesh (Istio's route name).
    pub port: u32,
    /// Envoy virtual hosts.
    pub virtual_hosts: Vec<Value>,
}

/// A complete Envoy bootstrap (v3 JSON): one listener per port the proxy
/// routes HTTP on, as Istio gives each port its own route configuration
/// (pilot `networking/core/httproute.go`).
pub fn bootstrap(mesh: &Mesh, options: &Options) -> Generated {
    let mut left_out = Vec::new();
    let tables = route_tables(mesh, options, &mut left_out);
    let mut listeners = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let local = u16::try_from(i)
            .ok()
            .and_then(|i| options.listen_port.checked_add(i));
        let Some(local) = local else {
            left_out.push(format!(
                "listener for port {}: no local port left above {}",
                table.port, options.listen_port
            ));
            continue;
        };
        let (route_config, http_filters) = match &options.wasm {
            None => (
                json!({
                    "name": table.port.to_string(),
                    "validate_clusters": false,
                    "ignore_port_in_host_matching": true,
                    "virtual_hosts": table.virtual_hosts,
                }),
                vec![
                    json!({"name": FAULT_FILTER, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"}}),
                    router_filter(),
                ],
            ),
            Some(w) => (
                json!({"name": table.port.to_string(), "virtual_hosts": [{
                    "name": "all", "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"},
                                "route": {"cluster_header": w.cluster_header, "timeout": "0s"}}]}]}),
                vec![wasm_filter(w, table.port), router_filter()],
            ),
        };
        let mut hcm = json!({
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": format!("meshroute_{}", table.port),
            "route_config": route_config,
            "http_filters": http_filters,
        });
        path_normalization(&mut hcm, mesh.options().path_normalization);
        listeners.push(json!({
            "name": format!("meshroute_{}", table.port),
            "address": socket(&loopback(), local),
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": hcm,
            }]}]
        }));
    }
    let mut clusters = clusters(mesh, options);
    clusters.push(json!({
        "name": PASSTHROUGH_CLUSTER,
        "type": "ORIGINAL_DST",
        "lb_policy": "CLUSTER_PROVIDED",
        "connect_timeout": "10s",
    }));
    let config = json!({
        "admin": {"address": socket(&loopback(), options.admin_port)},
        // Istio's bootstrap runtime (pkg/bootstrap/config.go): larger regex
        // programs are accepted, paths with a fragment are not refused.
        "layered_runtime": {"layers": [{"name": "istio", "static_layer": {
            "re2.max_program_size.error_level": 32768,
            "envoy.reloadable_features.http_reject_path_with_fragment": false,
        }}]},
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
        }
    });
    Generated { config, left_out }
}

/// Istio's path normalization settings of the HTTP connection manager
/// (pilot `networking/core/listener_builder.go`).
fn path_normalization(hcm: &mut Value, n: PathNormalization) {
    hcm["path_with_escaped_slashes_action"] = json!("KEEP_UNCHANGED");
    match n {
        PathNormalization::None => hcm["normalize_path"] = json!(false),
        PathNormalization::Base => hcm["normalize_path"] = json!(true),
        PathNormalization::MergeSlashes => {
            hcm["normalize_path"] = json!(true);
            hcm["merge_slashes"] = json!(true);
        }
        PathNormalization::DecodeAndMergeSlashes => {
            hcm["normalize_path"] = json!(true);
            hcm["merge_slashes"] = json!(true);
            hcm["path_with_escaped_slashes_action"] = json!("UNESCAPE_AND_FORWARD");
        }
    }
}

fn loopback() -> String {
    "127.0.0.1".into()
}

fn socket(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}

fn router_filter() -> Value {
    json!({"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
}

/// The filter on one listener: its configuration gains `listenerPort` (the
/// mesh port the listener stands for), as a request's port is the
/// listener's, not the one in its Host.
fn wasm_filter(w: &WasmFilter, port: u32) -> Value {
    let configuration = match serde_json::from_str::<Value>(&w.configuration) {
        Ok(Value::Object(mut o)) => {
            o.insert("listenerPort".into(), json!(port));
            Value::Object(o).to_string()
        }
        _ => w.configuration.clone(),
    };
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "meshroute",
                "root_id": "meshroute",
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration},
                "vm_config": {
                    "vm_id": "meshroute",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": w.wasm_path}}
                }
            }
        }
    })
}

/// The route tables of the proxy, one per port, in port order.
pub fn route_tables(mesh: &Mesh, options: &Options, left_out: &mut Vec<String>) -> Vec<PortRoutes> {
    match &options.proxy {
        ProxyKind::Sidecar => sidecar_tables(mesh, options, left_out),
        ProxyKind::Gateway(key) => gateway_tables(mesh, key, left_out),
    }
}

/// A sidecar's route tables: per port, one virtual host per service with
/// the names a caller may use (ports are ignored in host matching, as
/// Istio sets `ignore_port_in_host_matching`), then the catch-all for
/// hosts the registry does not know (Istio's `allow_any` / `block_all`).
fn sidecar_tables(mesh: &Mesh, options: &Options, left_out: &mut Vec<String>) -> Vec<PortRoutes> {
    let view = mesh.sidecar_view(&options.source_namespace, &options.source_labels);
    let mut by_port: BTreeMap<u32, Vec<Value>> = BTreeMap::new();
    for vh in view.virtual_hosts() {
        let port = vh.port();
        let name = format!("{}:{}", vh.hostname(), port);
        let mut domains: Vec<String> = Vec::new();
        for d in vh.domains() {
            let bare = meshroute::hosts::split_authority(d)
                .host_as_written
                .to_string();
            if !domains.contains(&bare) {
                domains.push(bare);
            }
        }
        let routes = routes_of(&name, &vh.routes(), left_out);
        by_port
            .entry(port)
            .or_default()
            .push(json!({"name": name, "domains": domains, "routes": routes}));
    }
    by_port
        .into_iter()
        .map(|(port, mut virtual_hosts)| {
            dedupe_domains(&mut virtual_hosts);
            virtual_hosts.push(catch_all(&view.outbound(port)));
            PortRoutes {
                port,
                virtual_hosts,
            }
        })
        .collect()
}

/// The virtual host for names no other takes, from the sidecar's outbound
/// traffic policy as the decision gives it (istio `httproute.go`,
/// `allow_any` to the PassthroughCluster or the Sidecar's egress proxy,
/// `block_all` answering 502).
fn catch_all(outbound: &Decision<'_>) -> Value {
    match (outbound.outcome(), outbound.destinations().first()) {
        (Outcome::Passthrough, None) => json!({"name": "allow_any", "domains": ["*"],
            "routes": [{"name": "allow_any", "match": {"prefix": "/"},
                        "route": {"cluster": PASSTHROUGH_CLUSTER, "timeout": "0s"}}]}),
        (Outcome::Passthrough, Some(egress)) => json!({"name": "allow_any", "domains": ["*"],
            "routes": [{"name": "allow_any", "match": {"prefix": "/"},
                        "route": {"cluster": egress.cluster(), "timeout": "0s"}}]}),
        _ => {
            let status = outbound.direct_response().map_or(502, |r| r.status);
            json!({"name": "block_all", "domains": ["*"],
                "routes": [{"name": "block_all", "match": {"prefix": "/"},
                            "direct_response": {"status": status}}]})
        }
    }
}

/// Envoy refuses a route table where two virtual hosts list one domain;
/// without ports, `reviews` of two services on one port would collide:
/// the first keeps it, as the first host claims a name in Istio's order.
fn dedupe_domains(virtual_hosts: &mut [Value]) {
    let mut seen = std::collections::BTreeSet::new();
    for vh in virtual_hosts.iter_mut() {
        if let Some(list) = vh["domains"].as_array_mut() {
            list.retain(|d| seen.insert(d.as_str().unwrap_or("").to_ascii_lowercase()));
        }
    }
}

/// A gateway's route tables from [`Mesh::gateway_view`]: the plaintext
/// HTTP filter chain of each listener port. HTTPS chains need the
/// gateway's certificates, which a static bootstrap does not have: they
/// are left out and named.
fn gateway_tables(mesh: &Mesh, key: &str, left_out: &mut Vec<String>) -> Vec<PortRoutes> {
    let Some(view) = mesh.gateway_view(key) else {
        left_out.push(format!("gateway {key}: no such Gateway"));
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut refused_ports: Vec<u32> = Vec::new();
    for port in view.ports() {
        if port.terminates_tls() {
            left_out.push(format!(
                "the HTTPS filter chain on port {} ({}): TLS termination needs the gateway's certificates",
                port.port(),
                port.server_names().map_or("any SNI".to_string(), |n| n.join(", "))
            ));
            continue;
        }
        if refused_ports.contains(&port.port()) {
            continue;
        }
        if out.iter().any(|t: &PortRoutes| t.port == port.port()) {
            // Two filter chains with the same (empty) match: Envoy refuses
            // the listener, as the decision says (istio/istio#24638).
            out.retain(|t| t.port != port.port());
            refused_ports.push(port.port());
            left_out.push(format!(
                "the listener on port {}: two plaintext HTTP filter chains with the same match, which Envoy refuses",
                port.port()
            ));
            continue;
        }
        let virtual_hosts = port
            .virtual_hosts()
            .iter()
            .map(|vh| {
                let name = format!("{}:{}", vh.domain(), port.port());
                let mut v = json!({"name": name, "domains": [vh.domain()]});
                if vh.https_redirect() {
                    v["require_tls"] = json!("ALL");
                }
                v["routes"] = json!(routes_of(&name, &vh.routes(), left_out));
                v
            })
            .collect();
        out.push(PortRoutes {
            port: port.port(),
            virtual_hosts,
        });
    }
    out
}

fn routes_of(vhost: &str, entries: &[RouteEntry<'_>], left_out: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in entries {
        match route(entry) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(why) => left_out.push(format!(
                "route {:?} of virtual host {vhost}: {why}",
                entry.name().unwrap_or("")
            )),
        }
    }
    out
}

/// One Envoy route; `Ok(None)` when its match can never hold (an invalid
/// pattern), `Err` when Envoy would refuse it.
fn route(entry: &RouteEntry<'_>) -> Result<Option<Value>, String> {
    let envoy_match = match entry.condition() {
        None => json!({"prefix": "/"}),
        Some(m) => match route_match(m) {
            Some(v) => v,
            None => return Ok(None),
        },
    };
    let name = if entry.is_default() {
        "default"
    } else {
        entry.name().unwrap_or("")
    };
    let decision = entry.decision();
    refused_by_envoy(&decision, entry.rule())?;
    Ok(Some(route_entry(
        envoy_match,
        entry.redirect_port(),
        name,
        &decision,
        entry.condition(),
        entry.rule(),
    )))
}

/// Why Envoy would refuse the route this decision makes (its protobuf
/// validation rules), if it would.
fn refused_by_envoy(d: &Decision, spec: Option<&HttpRoute>) -> Result<(), String> {
    let status_ok = |s: i64| (200..600).contains(&s);
    // envoy/extensions/filters/http/fault/v3/fault.proto: http_status in [200, 600).
    if let Some(s) = d
        .fault()
        .and_then(|f| f.abort.as_ref())
        .and_then(|a| a.http_status)
    {
        if !status_ok(i64::from(s)) {
            return Err(format!(
                "fault abort status {s} is outside 200-599 (Envoy refuses it)"
            ));
        }
    }
    match d.outcome() {
        Outcome::DirectResponse => {
            // envoy/config/route/v3/route_components.proto DirectResponseAction: status in [200, 600).
            if let Some(dr) = d.direct_response() {
                if !status_ok(i64::from(dr.status)) {
                    return Err(format!(
                        "direct response status {} is outside 200-599 (Envoy refuses it)",
                        dr.status
                    ));
                }
            }
        }
        Outcome::Redirect => {
            let code = spec
                .and_then(|s| s.redirect.as_ref())
                .and_then(|r| r.redirect_code);
            if !matches!(code, None | Some(0 | 301 | 302 | 303 | 307 | 308)) {
                return Err(format!(
                    "redirect code {} has no Envoy response code (Istio leaves the route without action)",
                    code.unwrap_or(0)
                ));
            }
        }
        Outcome::Route | Outcome::DefaultRoute => {
            let dests = d.destinations();
            if dests.is_empty() {
                return Err("no destination".into());
            }
            // WeightedCluster: the weights must sum to more than zero.
            if dests.len() > 1 && dests.iter().map(|x| u64::from(x.weight())).sum::<u64>() == 0 {
                return Err("destination weights sum to zero (Envoy refuses it)".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn string_matcher(c: &StringMatcher) -> Option<Value> {
    match c {
        StringMatcher::Exact { value, .. } => Some(json!({"exact": value})),
        StringMatcher::Prefix { value, .. } => Some(json!({"prefix": value})),
        StringMatcher::Regex(re) => Some(json!({"safe_regex": {"regex": re.as_str()}})),
        StringMatcher::Present => None,
        StringMatcher::Invalid(_) => None,
    }
}

fn header_matcher(name: &str, c: &StringMatcher, invert: bool) -> Option<Value> {
    if matches!(c, StringMatcher::Invalid(_)) {
        return None;
    }
    let mut h = Map::new();
    h.insert("name".into(), json!(name));
    match string_matcher(c) {
        Some(sm) => {
            h.insert("string_match".into(), sm);
            if invert {
                h.insert("invert_match".into(), json!(true));
                h.insert("treat_missing_header_as_empty".into(), json!(true));
            }
        }
        None => {
            h.insert("present_match".into(), json!(!invert));
        }
    }
    Some(Value::Object(h))
}

/// An Envoy RouteMatch for one HTTPMatchRequest; `None` if it can never match.
fn route_match(m: &HttpRouteMatch) -> Option<Value> {
    let mut out = Map::new();
    match &m.uri {
        None | Some(StringMatcher::Present) => {
            out.insert("prefix".into(), json!("/"));
        }
        Some(StringMatcher::Exact { value, .. }) => {
            out.insert("path".into(), json!(value));
        }
        Some(StringMatcher::Prefix { value, .. }) => {
            out.insert("prefix".into(), json!(value));
        }
        Some(StringMatcher::Regex(re)) => {
            out.insert("safe_regex".into(), json!({"regex": re.as_str()}));
        }
        Some(StringMatcher::Invalid(_)) => return None,
    }
    if m.ignore_uri_case {
        out.insert("case_sensitive".into(), json!(false));
    }
    let mut headers = Vec::new();
    for (name, c) in [
        (":method", &m.method),
        (":authority", &m.authority),
        (":scheme", &m.scheme),
    ] {
        if let Some(c) = c {
            headers.push(header_matcher(name, c, false)?);
        }
    }
    for h in &m.headers {
        headers.push(header_matcher(&h.name.name, &h.matcher, false)?);
    }
    for h in &m.without_headers {
        headers.push(header_matcher(&h.name.name, &h.matcher, true)?);
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Array(headers));
    }
    let mut params = Vec::new();
    for q in &m.query_params {
        let (name, c) = (&q.name, &q.matcher);
        if matches!(c, StringMatcher::Invalid(_)) {
            return None;
        }
        params.push(match string_matcher(c) {
            Some(sm) => json!({"name": name, "string_match": sm}),
            None => json!({"name": name, "present_match": true}),
        });
    }
    if !params.is_empty() {
        out.insert("query_parameters".into(), Value::Array(params));
    }
    Some(Value::Object(out))
}

/// An Istio duration as a protobuf JSON duration (`"1.500000000s"`).
fn pb_duration(istio: &str) -> Option<String> {
    meshroute::duration::parse_duration(istio)
        .ok()
        .map(protobuf_duration)
}

/// A duration as protobuf JSON writes it (`"1.500000000s"`).
fn protobuf_duration(d: Duration) -> String {
    format!("{}.{:09}s", d.as_secs(), d.subsec_nanos())
}

/// Percent (0-100, double) as Istio's FractionalPercent over a million.
fn per_million(percent: f64) -> Value {
    let n = meshroute::resilience::fault::per_million(percent);
    json!({"numerator": n, "denominator": "MILLION"})
}

fn header_ops(ops: &HeaderOps) -> (Vec<Value>, Vec<String>) {
    let keep = |k: &str| !k.starts_with(':') && !k.eq_ignore_ascii_case("host");
    let mut add = Vec::new();
    for (k, v) in ops.set.iter().filter(|(k, _)| keep(k)) {
        add.push(json!({"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}));
    }
    for (k, v) in ops.add.iter().filter(|(k, _)| keep(k)) {
        add.push(
            json!({"header": {"key": k, "value": v}, "append_action": "APPEND_IF_EXISTS_OR_ADD"}),
        );
    }
    (add, ops.remove.clone())
}

/// Istio's retry translation (envoy-semantics.md 3.6).
fn retry_policy(d: &Decision) -> Option<Value> {
    let r = d.retries()?;
    if r.attempts == 0 {
        return None;
    }
    let split = RetryOn::split(r, DefaultPolicy::AsIstiod);
    let mut p = json!({
        "retry_on": split.conditions().join(","),
        "num_retries": r.attempts,
        "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"}}],
        "host_selection_retry_max_attempts": 5,
    });
    if !split.status_codes().is_empty() {
        p["retriable_status_codes"] = json!(split.status_codes());
    }
    if let Some(t) = r.per_try_timeout.map(protobuf_duration) {
        p["per_try_timeout"] = json!(t);
    }
    if let Some(b) = r.backoff.map(protobuf_duration) {
        p["retry_back_off"] = json!({"base_interval": b});
    }
    Some(p)
}

fn fault_config(d: &Decision) -> Option<Value> {
    let f = d.fault()?;
    let mut v =
        json!({"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"});
    if let Some(delay) = &f.delay {
        v["delay"] = json!({"fixed_delay": protobuf_duration(delay.fixed_delay), "percentage": per_million(delay.percent)});
    }
    if let Some(abort) = &f.abort {
        let mut a = json!({"percentage": per_million(abort.percent)});
        match (abort.http_status, abort.grpc_code()) {
            (Some(s), _) => a["http_status"] = json!(s),
            (None, Some(code)) => a["grpc_status"] = json!(code),
            (None, None) => return None,
        }
        v["abort"] = a;
    }
    Some(v)
}

/// Istio's RedirectAction (route.go `ApplyRedirect`); `port_redirect` is
/// [`RouteEntry::redirect_port`].
fn redirect_action(spec: &HttpRedirect, port_redirect: Option<u32>) -> Value {
    let mut r = Map::new();
    if let Some(uri) = &spec.uri {
        r.insert("path_redirect".into(), json!(uri));
    } else if let Some(p) = &spec.prefix_rewrite {
        r.insert("prefix_rewrite".into(), json!(p));
    }
    if let Some(a) = &spec.authority {
        r.insert("host_redirect".into(), json!(a));
    }
    if let Some(p) = port_redirect {
        r.insert("port_redirect".into(), json!(p));
    }
    if let Some(s) = &spec.scheme {
        r.insert("scheme_redirect".into(), json!(s));
    }
    let code = match spec.redirect_code {
        Some(302) => "FOUND",
        Some(303) => "SEE_OTHER",
        Some(307) => "TEMPORARY_REDIRECT",
        Some(308) => "PERMANENT_REDIRECT",
        _ => "MOVED_PERMANENTLY",
    };
    r.insert("response_code".into(), json!(code));
    Value::Object(r)
}

fn route_entry(
    envoy_match: Value,
    port_redirect: Option<u32>,
    name: &str,
    d: &Decision,
    m: Option<&HttpRouteMatch>,
    spec: Option<&HttpRoute>,
) -> Value {
    let mut e = Map::new();
    if !name.is_empty() {
        e.insert("name".into(), json!(name));
    }
    e.insert("match".into(), envoy_match);
    match d.outcome() {
        Outcome::Redirect => {
            if let Some(r) = spec.and_then(|s| s.redirect.as_ref()) {
                e.insert("redirect".into(), redirect_action(r, port_redirect));
            }
        }
        Outcome::DirectResponse => {
            if let Some(dr) = d.direct_response() {
                let mut v = json!({"status": dr.status});
                if let Some(b) = &dr.body {
                    v["body"] = json!({"inline_string": b});
                }
                e.insert("direct_response".into(), v);
            }
        }
        _ => {
            let mut action = Map::new();
            if let [only] = d.destinations() {
                action.insert("cluster".into(), json!(only.cluster()));
            } else {
                let list: Vec<Value> = d
                    .destinations()
                    .iter()
                    .map(|x| json!({"name": x.cluster(), "weight": x.weight()}))
                    .collect();
                action.insert("weighted_clusters".into(), json!({"clusters": list}));
            }
            let timeout = d.timeout().map(protobuf_duration);
            action.insert(
                "timeout".into(),
                json!(timeout.unwrap_or_else(|| "0s".into())),
            );
            if let Some(rp) = retry_policy(d) {
                action.insert("retry_policy".into(), rp);
            }
            if let Some(rw) = spec.and_then(|s| s.rewrite.as_ref()) {
                if let Some(uri) = &rw.uri {
                    match m.and_then(|m| m.uri.as_ref()) {
                        Some(StringMatcher::Regex(_)) => {
                            action.insert(
                                "regex_rewrite".into(),
                                json!({"pattern": {"regex": ".*"}, "substitution": uri}),
                            );
                        }
                        _ => {
                            action.insert("prefix_rewrite".into(), json!(uri));
                        }
                    }
                } else if let Some(rr) = &rw.uri_regex_rewrite {
                    if let Some(pat) = &rr.r#match {
                        action.insert("regex_rewrite".into(), json!({"pattern": {"regex": pat}, "substitution": rr.rewrite.clone().unwrap_or_default()}));
                    }
                }
            }
            if let Some(a) = d.rewrite().and_then(|r| r.authority.as_ref()) {
                action.insert("host_rewrite_literal".into(), json!(a));
            }
            if !d.mirrors().is_empty() {
                let list: Vec<Value> = d
                    .mirrors()
                    .iter()
                    .map(|mi| json!({"cluster": mi.cluster(), "runtime_fraction": {"default_value": per_million(mi.percent())}}))
                    .collect();
                action.insert("request_mirror_policies".into(), Value::Array(list));
            }
            e.insert("route".into(), Value::Object(action));
            if let Some(f) = fault_config(d) {
                e.insert("typed_per_filter_config".into(), json!({ FAULT_FILTER: f }));
            }
        }
    }
    let (add, remove) = header_ops(d.request_headers());
    if !add.is_empty() {
        e.insert("request_headers_to_add".into(), Value::Array(add));
    }
    if !remove.is_empty() {
        e.insert("request_headers_to_remove".into(), json!(remove));
    }
    let (add, remove) = header_ops(d.response_headers());
    if !add.is_empty() {
        e.insert("response_headers_to_add".into(), Value::Array(add));
    }
    if !remove.is_empty() {
        e.insert("response_headers_to_remove".into(), json!(remove));
    }
    Value::Object(e)
}

/// Every outbound cluster: each service port, without subset and with each
/// subset of the DestinationRule that applies.
pub fn clusters(mesh: &Mesh, options: &Options) -> Vec<Value> {
    let ns = options.source_namespace.as_str();
    let mut out = Vec::new();
    for s in mesh.registry().services() {
        if !s.visibility.visible_in(ns) {
            continue;
        }
        let rule = mesh.destination_rules().lookup(
            &s.hostname,
            ns,
            Some(&options.source_labels),
            Some(s.namespace.as_str()),
            &mesh.options().root_namespace,
        );
        let mut subsets: Vec<Option<&str>> = vec![None];
        if let Some(r) = rule {
            subsets.extend(r.subsets.iter().filter_map(|x| x.name.as_deref()).map(Some));
        }
        for p in &s.ports {
            for sub in &subsets {
                let name = mesh.cluster_name(&s.hostname, Some(p.number), *sub);
                let policy = rule.and_then(|r| r.policy(Some(p.number), *sub));
                let labels = sub
                    .and_then(|n| rule.and_then(|r| r.subset(n)))
                    .map(|x| &x.labels);
                let mut addrs: Vec<(String, u16)> = options
                    .endpoints
                    .for_cluster(&name, &s.hostname)
                    .map(<[_]>::to_vec)
                    .unwrap_or_default();
                if addrs.is_empty() && options.endpoints.by_key.is_empty() {
                    let target = p.target_port.unwrap_or(p.number);
                    let selected: Vec<_> = match labels {
                        Some(l) => s.endpoints_matching(l).collect(),
                        None => s.endpoints.iter().collect(),
                    };
                    addrs = selected
                        .into_iter()
                        .filter(|e| e.address.contains('.') || e.address.contains(':'))
                        .filter_map(|e| Some((e.address.clone(), u16::try_from(target).ok()?)))
                        .collect();
                }
                out.push(cluster(&name, &addrs, policy.as_deref()));
            }
        }
    }
    out
}

fn cluster(name: &str, addrs: &[(String, u16)], policy: Option<&TrafficPolicy>) -> Value {
    let dns = addrs
        .iter()
        .any(|(a, _)| !meshroute::hosts::is_ip_literal(a));
    let lb_endpoints: Vec<Value> = addrs
        .iter()
        .map(|(a, p)| json!({"endpoint": {"address": socket(a, *p)}}))
        .collect();
    let pool = policy.and_then(|p| p.connection_pool.as_ref());
    let tcp = pool.and_then(|c| c.tcp.as_ref());
    let http = pool.and_then(|c| c.http.as_ref());
    let positive = |v: Option<i32>| v.filter(|n| *n > 0).map(|n| n as u64);
    let thresholds = json!({
        "max_connections": positive(tcp.and_then(|t| t.max_connections)).unwrap_or(UNLIMITED),
        "max_pending_requests": positive(http.and_then(|h| h.http1_max_pending_requests)).unwrap_or(UNLIMITED),
        "max_requests": positive(http.and_then(|h| h.http2_max_requests)).unwrap_or(UNLIMITED),
        "max_retries": positive(http.and_then(|h| h.max_retries)).unwrap_or(UNLIMITED),
        "track_remaining": true,
    });
    let connect_timeout = tcp
        .and_then(|t| t.connect_timeout.as_deref())
        .and_then(pb_duration)
        .unwrap_or_else(|| "10s".into());
    let lb = match policy
        .and_then(|p| p.load_balancer.as_ref())
        .and_then(|l| l.simple)
    {
        Some(SimpleLb::RoundRobin) => "ROUND_ROBIN",
        Some(SimpleLb::Random) => "RANDOM",
        _ => "LEAST_REQUEST",
    };
    let mut c = json!({
        "name": name,
        "type": if dns { "STRICT_DNS" } else { "STATIC" },
        "connect_timeout": connect_timeout,
        "lb_policy": lb,
        "circuit_breakers": {"thresholds": [thresholds]},
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": lb_endpoints}]},
    });
    let mut common = Map::new();
    if let Some(t) = http
        .and_then(|h| h.idle_timeout.as_deref())
        .or_else(|| tcp.and_then(|t| t.idle_timeout.as_deref()))
        .and_then(pb_duration)
    {
        common.insert("idle_timeout".into(), json!(t));
    }
    if let Some(t) = tcp
        .and_then(|t| t.max_connection_duration.as_deref())
        .and_then(pb_duration)
    {
        common.insert("max_connection_duration".into(), json!(t));
    }
    if let Some(n) = positive(http.and_then(|h| h.max_requests_per_connection)) {
        common.insert("max_requests_per_connection".into(), json!(n));
    }
    if !common.is_empty() {
        c["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": common,
                "explicit_http_config": {"http_protocol_options": {}},
            }
        });
    }
    if let Some(od) = policy.and_then(|p| p.outlier_detection.as_ref()) {
        c["outlier_detection"] = outlier_detection(od);
    }
    c
}

/// Istio's `applyOutlierDetection` (envoy-semantics.md 6.1).
fn outlier_detection(od: &OutlierDetection) -> Value {
    let mut o = Map::new();
    let c5xx = od
        .consecutive_5xx_errors
        .or(od.consecutive_errors.and_then(|n| u32::try_from(n).ok()));
    if let Some(n) = c5xx {
        o.insert("consecutive_5xx".into(), json!(n));
        o.insert(
            "enforcing_consecutive_5xx".into(),
            json!(if n > 0 { 100 } else { 0 }),
        );
    }
    if let Some(n) = od.consecutive_gateway_errors {
        o.insert("consecutive_gateway_failure".into(), json!(n));
        o.insert(
            "enforcing_consecutive_gateway_failure".into(),
            json!(if n > 0 { 100 } else { 0 }),
        );
    }
    if od.split_external_local_origin_errors == Some(true) {
        o.insert("split_external_local_origin_errors".into(), json!(true));
        o.insert("enforcing_local_origin_success_rate".into(), json!(0));
        if let Some(n) = od.consecutive_local_origin_failures.filter(|n| *n > 0) {
            o.insert("consecutive_local_origin_failure".into(), json!(n));
            o.insert(
                "enforcing_consecutive_local_origin_failure".into(),
                json!(100),
            );
        }
    }
    if let Some(t) = od.interval.as_deref().and_then(pb_duration) {
        o.insert("interval".into(), json!(t));
    }
    if let Some(t) = od.base_ejection_time.as_deref().and_then(pb_duration) {
        o.insert("base_ejection_time".into(), json!(t));
    }
    if let Some(p) = od.max_ejection_percent.filter(|p| *p > 0) {
        o.insert("max_ejection_percent".into(), json!(p));
    }
    o.insert("enforcing_success_rate".into(), json!(0));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshroute::load::load_str;

    const SVC: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}], selector: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 7}, http: {http1MaxPendingRequests: 3}}
    outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 30s}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"#;

    fn mesh(extra: &str) -> Mesh {
        let text = format!("{SVC}---\n{extra}");
        let config = load_str(&text, "t.yaml");
        Mesh::compile(&config)
    }

    fn vhost(b: &Value) -> &Value {
        &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
            ["route_config"]["virtual_hosts"][0]
    }

    #[test]
    fn header_rule_then_catch_all_become_two_routes_in_order() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v2}}]
"#,
        );
        let b = bootstrap(&m, &Options::default()).config;
        let vh = vhost(&b);
        assert!(vh["domains"]
            .as_array()
            .unwrap()
            .contains(&json!("reviews")));
        let routes = vh["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 2, "generation stops at the catch-all");
        assert_eq!(
            routes[0]["match"]["headers"][0]["string_match"]["exact"],
            "jason"
        );
        assert_eq!(
            routes[0]["route"]["cluster"],
            "outbound|9080|v2|reviews.default.svc.cluster.local"
        );
        assert_eq!(
            routes[1]["route"]["cluster"],
            "outbound|9080|v1|reviews.default.svc.cluster.local"
        );
        assert_eq!(routes[1]["route"]["timeout"], "0s");
        assert_eq!(routes[1]["route"]["retry_policy"]["num_retries"], 2);
    }

    #[test]
    fn weights_faults_and_timeouts_are_carried() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /slow}}]
    timeout: 0.5s
    fault: {delay: {fixedDelay: 2s, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
"#,
        );
        let b = bootstrap(&m, &Options::default()).config;
        let routes = vhost(&b)["routes"].as_array().unwrap().clone();
        assert_eq!(routes[0]["route"]["timeout"], "0.500000000s");
        assert_eq!(
            routes[0]["typed_per_filter_config"][FAULT_FILTER]["delay"]["percentage"]["numerator"],
            1_000_000
        );
        let w = routes[1]["route"]["weighted_clusters"]["clusters"]
            .as_array()
            .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0]["weight"], 90);
        assert!(routes[1].get("typed_per_filter_config").is_none());
    }

    #[test]
    fn clusters_carry_circuit_breakers_and_outlier_detection() {
        let m = mesh("");
        let mut o = Options::default();
        o.endpoints.add(
            "outbound|9080|v1|reviews.default.svc.cluster.local",
            "127.0.0.1",
            9001,
        );
        let cs = clusters(&m, &o);
        let names: Vec<&str> = cs.iter().filter_map(|c| c["name"].as_str()).collect();
        assert!(names.contains(&"outbound|9080||reviews.default.svc.cluster.local"));
        assert!(names.contains(&"outbound|9080|v2|reviews.default.svc.cluster.local"));
        let v1 = cs
            .iter()
            .find(|c| c["name"] == "outbound|9080|v1|reviews.default.svc.cluster.local")
            .unwrap();
        let t = &v1["circuit_breakers"]["thresholds"][0];
        assert_eq!(t["max_connections"], 7);
        assert_eq!(t["max_pending_requests"], 3);
        assert_eq!(t["max_requests"], UNLIMITED);
        assert_eq!(v1["outlier_detection"]["consecutive_5xx"], 2);
        assert_eq!(v1["outlier_detection"]["enforcing_success_rate"], 0);
        assert_eq!(
            v1["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
                ["socket_address"]["port_value"],
            9001
        );
        let v2 = cs
            .iter()
            .find(|c| c["name"] == "outbound|9080|v2|reviews.default.svc.cluster.local")
            .unwrap();
        assert!(v2["load_assignment"]["endpoints"][0]["lb_endpoints"]
            .as_array()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn no_virtual_service_gives_the_default_route() {
        let m = mesh("");
        let b = bootstrap(&m, &Options::default()).config;
        let r = &vhost(&b)["routes"][0];
        assert_eq!(r["match"]["prefix"], "/");
        assert_eq!(
            r["route"]["cluster"],
            "outbound|9080||reviews.default.svc.cluster.local"
        );
        assert!(r["route"]["retry_policy"]["retry_on"]
            .as_str()
            .unwrap()
            .ends_with("retriable-status-codes"));
    }

    #[test]
    fn endpoints_file_parses_and_rejects_bad_entries() {
        let e = Endpoints::from_json(r#"{"a": "127.0.0.1:1", "b": ["127.0.0.1:2", "[::1]:3"]}"#)
            .unwrap();
        assert_eq!(e.for_cluster("x", "b").unwrap().len(), 2);
        assert_eq!(
            e.for_cluster("a", "zzz").unwrap()[0],
            ("127.0.0.1".to_string(), 1)
        );
        assert!(Endpoints::from_json(r#"{"a": "nope"}"#).is_err());
        assert!(Endpoints::from_json("[1]").is_err());
    }

    #[test]
    fn wasm_mode_routes_by_the_cluster_header() {
        let m = mesh("");
        let o = Options {
            wasm: Some(WasmFilter {
                wasm_path: "/f.wasm".into(),
                configuration: "{}".into(),
                cluster_header: "x-meshroute-cluster".into(),
            }),
            ..Options::default()
        };
        let b = bootstrap(&m, &o).config;
        assert_eq!(
            vhost(&b)["routes"][0]["route"]["cluster_header"],
            "x-meshroute-cluster"
        );
        let hcm = &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"];
        assert_eq!(hcm["http_filters"][0]["name"], "envoy.filters.http.wasm");
    }

    fn listeners(b: &Value) -> &Vec<Value> {
        b["static_resources"]["listeners"].as_array().unwrap()
    }

    // istio pilot/pkg/networking/core/httproute.go: one route table per port,
    // domains without ports, IgnorePortInHostMatching.
    #[test]
    fn each_port_has_its_own_listener_and_hosts_match_without_port() {
        let m = Mesh::compile(&load_str(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 80, name: http}, {port: 8080, name: http-alt}]}\n",
            "t.yaml",
        ));
        let o = Options {
            listen_port: 20000,
            ..Options::default()
        };
        let b = bootstrap(&m, &o).config;
        let ls = listeners(&b);
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[0]["name"], "meshroute_80");
        assert_eq!(ls[1]["name"], "meshroute_8080");
        assert_eq!(ls[1]["address"]["socket_address"]["port_value"], 20001);
        let rc = &ls[1]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"];
        assert_eq!(rc["ignore_port_in_host_matching"], true);
        let domains = rc["virtual_hosts"][0]["domains"].as_array().unwrap();
        assert!(
            domains.contains(&json!("web"))
                && !domains.iter().any(|d| d.as_str().unwrap().contains(':'))
        );
        assert_eq!(
            rc["virtual_hosts"][1]["routes"][0]["route"]["cluster"], PASSTHROUGH_CLUSTER,
            "hosts the registry does not know pass through (ALLOW_ANY)"
        );
    }

    // envoy fault.proto: abort http_status in [200, 600); a route carrying
    // another is left out and named, so Envoy still loads the rest.
    #[test]
    fn routes_envoy_would_refuse_are_left_out_and_named() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: broken
    match: [{uri: {prefix: /x}}]
    fault: {abort: {httpStatus: 700, percentage: {value: 100}}}
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v2}}]
"#,
        );
        let g = bootstrap(&m, &Options::default());
        assert_eq!(g.left_out.len(), 1);
        assert!(g.left_out[0].contains("broken") && g.left_out[0].contains("700"));
        let routes = vhost(&g.config)["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes[0]["route"]["cluster"],
            "outbound|9080|v2|reviews.default.svc.cluster.local"
        );
    }

    #[test]
    fn a_gateway_gets_its_server_ports_and_virtual_hosts() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
  - port: {number: 8081, name: http-r, protocol: HTTP}
    hosts: [secure.example.com]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
"#,
        );
        let o = Options {
            proxy: ProxyKind::Gateway("default/gw".into()),
            ..Options::default()
        };
        let b = bootstrap(&m, &o).config;
        let ls = listeners(&b);
        assert_eq!(ls.len(), 2);
        let vh = |i: usize| {
            ls[i]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"]
                [0]
            .clone()
        };
        assert_eq!(vh(0)["domains"], json!(["shop.example.com"]));
        assert_eq!(
            vh(0)["routes"][0]["route"]["cluster"],
            "outbound|9080|v1|reviews.default.svc.cluster.local"
        );
        assert_eq!(vh(1)["domains"], json!(["secure.example.com"]));
        assert_eq!(vh(1)["require_tls"], "ALL");
        let missing = Options {
            proxy: ProxyKind::Gateway("default/none".into()),
            ..Options::default()
        };
        assert!(bootstrap(&m, &missing).left_out[0].contains("no such Gateway"));
    }

    // istio gateway.go: a workload merges every Gateway selecting it; an
    // HTTPS server's filter chain needs certificates a static bootstrap lacks.
    #[test]
    fn a_gateway_workload_merges_its_gateways_and_https_chains_are_named() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: a, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: a}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: b, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [b.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: default}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [a, b]
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
"#,
        );
        let o = Options {
            proxy: ProxyKind::Gateway("istio-system/istio=ingressgateway".into()),
            ..Options::default()
        };
        let g = bootstrap(&m, &o);
        let ls = listeners(&g.config);
        assert_eq!(ls.len(), 1, "the HTTPS chain is left out");
        let hosts = &ls[0]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
            ["virtual_hosts"];
        assert_eq!(hosts[0]["domains"], json!(["a.example.com"]));
        assert_eq!(hosts[1]["domains"], json!(["b.example.com"]));
        assert!(
            g.left_out
                .iter()
                .any(|l| l.contains("HTTPS filter chain on port 443")),
            "{:?}",
            g.left_out
        );
    }

    // istio route.go ApplyRedirect: FROM_REQUEST_PORT is the listener's
    // port; port 80 on http is cleared (Envoy then keeps the Host's port).
    #[test]
    fn redirects_carry_istios_port_redirect() {
        let m = mesh(
            r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /derive}}]
    redirect: {derivePort: FROM_REQUEST_PORT, uri: /d}
  - match: [{uri: {prefix: /eighty}}]
    redirect: {port: 80, uri: /e, redirectCode: 302}
"#,
        );
        let b = bootstrap(&m, &Options::default()).config;
        let routes = vhost(&b)["routes"].as_array().unwrap().clone();
        assert_eq!(routes[0]["redirect"]["port_redirect"], 9080);
        assert!(routes[1]["redirect"].get("port_redirect").is_none());
        assert_eq!(routes[1]["redirect"]["response_code"], "FOUND");
    }
}
