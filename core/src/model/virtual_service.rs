//! VirtualService: how requests to a set of hosts are matched and where they go.

use super::common::{null_as_default, Destination, Percent, StringMatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `spec` of a VirtualService: ordered HTTP, TLS and TCP rules for some hosts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VirtualService {
    /// Hosts whose traffic these rules handle.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hosts: Vec<String>,
    /// Gateways (`ns/name`) and `mesh` (sidecars) the rules apply to; empty means `mesh`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gateways: Vec<String>,
    /// HTTP rules, first match wins.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub http: Vec<std::sync::Arc<HttpRoute>>,
    /// Rules for non-terminated TLS, by SNI, first match wins.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tls: Vec<TlsRoute>,
    /// Rules for opaque TCP, first match wins.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tcp: Vec<TcpRoute>,
    /// Namespaces that can see this VirtualService (`.`, `*` or names).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub export_to: Vec<String>,
}

/// One HTTP rule: conditions, then forward, redirect, answer directly or delegate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRoute {
    /// Rule name, used in route names and logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Conditions, any of which selects the rule; empty matches every request.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub r#match: Vec<HttpMatchRequest>,
    /// Weighted destinations to forward to.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub route: Vec<HttpRouteDestination>,
    /// Answer with a redirect instead of forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<HttpRedirect>,
    /// Answer with a fixed status and body instead of forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_response: Option<HttpDirectResponse>,
    /// Hand the request to the rules of another VirtualService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<Delegate>,
    /// Path or authority rewrite applied before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<HttpRewrite>,
    /// Overall request deadline including retries, as written (e.g. `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retry policy; absent means the mesh default policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
    /// Delays or aborts injected on the client side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<HttpFaultInjection>,
    /// A single destination that receives a copy of the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Destination>,
    /// Several mirror destinations, each with its own share.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mirrors: Vec<HttpMirrorPolicy>,
    /// Deprecated integer share mirrored to `mirror`; also read as `mirror_percent`.
    #[serde(
        default,
        alias = "mirror_percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub mirror_percent: Option<u32>,
    /// Share of traffic mirrored to `mirror`; absent means 100%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_percentage: Option<Percent>,
    /// Cross-origin resource sharing policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_policy: Option<CorsPolicy>,
    /// Header changes for every request and response of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
}

/// Names the VirtualService whose rules a delegating rule uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delegate {
    /// Name of the delegate VirtualService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its namespace; absent means the delegating VirtualService's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Header changes on requests (forwarded upstream) and responses (sent back).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Headers {
    /// Changes to the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HeaderOperations>,
    /// Changes to the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HeaderOperations>,
}

/// Overwrite, append and remove operations on a header set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderOperations {
    /// Headers overwritten (or added when missing).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub set: BTreeMap<String, String>,
    /// Headers appended as another value.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub add: BTreeMap<String, String>,
    /// Header names removed.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remove: Vec<String>,
}

/// A TLS rule: SNI-based conditions and where the connection goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsRoute {
    /// Conditions, any of which selects the rule (at least one required).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub r#match: Vec<TlsMatchAttributes>,
    /// Weighted destinations for the connection.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub route: Vec<RouteDestination>,
}

/// A TCP rule: connection-level conditions and where the connection goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpRoute {
    /// Conditions, any of which selects the rule; empty matches every connection.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub r#match: Vec<L4MatchAttributes>,
    /// Weighted destinations for the connection.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub route: Vec<RouteDestination>,
}

/// Conditions on an HTTP request; all present conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpMatchRequest {
    /// Match name, appended to the rule name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Condition on the path without the query string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<StringMatch>,
    /// Condition on the scheme (`http`/`https`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<StringMatch>,
    /// Condition on the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StringMatch>,
    /// Condition on the authority (Host) as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<StringMatch>,
    /// Conditions on request headers, by lowercase name.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, StringMatch>,
    /// Port the request arrived on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Labels the calling workload must carry (decided when config is built).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways this condition applies to, overriding the VirtualService's list.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gateways: Vec<String>,
    /// Conditions on query parameters, by exact key.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub query_params: BTreeMap<String, StringMatch>,
    /// Makes `uri` exact and prefix conditions case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_uri_case: Option<bool>,
    /// Header conditions that must not hold.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub without_headers: BTreeMap<String, StringMatch>,
    /// Namespace of the calling workload (decided when config is built).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    /// Prefix for the route's statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_prefix: Option<String>,
}

/// A forwarding target of an HTTP rule with its relative weight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRouteDestination {
    /// Where to forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Relative weight; negative is a validation error, so it stays signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Header changes applied only when this destination is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
}

/// A forwarding target of a TLS or TCP rule with its relative weight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteDestination {
    /// Where to forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Relative weight; negative is a validation error, so it stays signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Conditions on a TCP connection; all present conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct L4MatchAttributes {
    /// Destination IPs or CIDRs.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub destination_subnets: Vec<String>,
    /// Port the connection arrived on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Source IP or CIDR (accepted but not implemented by Istio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_subnet: Option<String>,
    /// Labels the calling workload must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways this condition applies to.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gateways: Vec<String>,
    /// Namespace of the calling workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
}

/// Conditions on a TLS connection; all present conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsMatchAttributes {
    /// SNI names (exact or wildcard) the ClientHello must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sni_hosts: Vec<String>,
    /// Destination IPs or CIDRs.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub destination_subnets: Vec<String>,
    /// Port the connection arrived on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Labels the calling workload must carry.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways this condition applies to.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gateways: Vec<String>,
    /// Namespace of the calling workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
}

/// A redirect answer: which parts of the URL change and the status code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRedirect {
    /// New path, replacing the whole path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// New host part of the Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Explicit port for the Location (one of `port`, `derivePort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// How to choose the Location's port (one of `port`, `derivePort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derive_port: Option<RedirectPortSelection>,
    /// New scheme (`http` or `https`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Status code of the redirect; 301 when unset or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_code: Option<u32>,
    /// Replacement for the matched path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_rewrite: Option<String>,
}

/// How a redirect picks the port of its Location.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RedirectPortSelection {
    /// No explicit port: the scheme's default port (the proto default).
    #[default]
    #[serde(rename = "FROM_PROTOCOL_DEFAULT")]
    FromProtocolDefault,
    /// The port the request arrived on.
    #[serde(rename = "FROM_REQUEST_PORT")]
    FromRequestPort,
}

/// A fixed answer: status code and optional body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpDirectResponse {
    /// Status code of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Body of the answer; absent means empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<HttpBody>,
}

/// A response body given as text or as base64 bytes (one of the two).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpBody {
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// The body as base64, kept encoded as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
}

/// Path and authority rewrites applied to a forwarded request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRewrite {
    /// Replacement for the matched prefix (or the whole path for exact/regex matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// New authority (Host) sent upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Regex substitution on the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_regex_rewrite: Option<RegexRewrite>,
}

/// A regex substitution: every match of `match` is replaced by `rewrite`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegexRewrite {
    /// RE2 pattern to find.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#match: Option<String>,
    /// Replacement, which may reference groups as `\1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<String>,
}

/// When and how often a failed request is retried.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRetry {
    /// Number of retries after the first attempt; 0 disables retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// Deadline of each attempt, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Comma-separated retry conditions and status codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
    /// Whether retries may go to other localities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_remote_localities: Option<bool>,
    /// Whether retries avoid hosts already tried (effectively true when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_ignore_previous_hosts: Option<bool>,
    /// Base interval between retries, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
}

/// Cross-origin resource sharing policy of a rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsPolicy {
    /// Deprecated exact origins; used only when `allowOrigins` is absent.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allow_origin: Vec<String>,
    /// Allowed origins; any match allows.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allow_origins: Vec<StringMatch>,
    /// Allowed methods.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allow_methods: Vec<String>,
    /// Allowed request headers.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allow_headers: Vec<String>,
    /// Response headers the browser may read.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub expose_headers: Vec<String>,
    /// How long a preflight answer may be cached, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Whether credentials may be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// What to do with preflights from origins that are not allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched_preflights: Option<UnmatchedPreflights>,
}

/// Handling of preflight requests whose origin is not allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnmatchedPreflights {
    /// Not specified: behaves as `FORWARD` (the proto default).
    #[default]
    #[serde(rename = "UNSPECIFIED")]
    Unspecified,
    /// Forward them upstream.
    #[serde(rename = "FORWARD")]
    Forward,
    /// Do not forward them.
    #[serde(rename = "IGNORE")]
    Ignore,
}

/// Faults injected on the client side: a delay, an abort, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpFaultInjection {
    /// Delay before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Answer with an error instead of forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<Abort>,
}

/// An injected delay (one of `fixedDelay`, `exponentialDelay`) and its share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delay {
    /// Deprecated integer share; used only when `percentage` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i32>,
    /// Fixed delay, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_delay: Option<String>,
    /// Exponential delay, as written (rejected by Istio as unsupported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential_delay: Option<String>,
    /// Share of requests delayed; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Percent>,
}

/// An injected error (one of `httpStatus`, `grpcStatus`, `http2Error`) and its share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Abort {
    /// HTTP status to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    /// gRPC status name to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<String>,
    /// HTTP/2 error (accepted but not supported by Istio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_error: Option<String>,
    /// Share of requests aborted; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Percent>,
}

/// One mirror target with its own share of traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpMirrorPolicy {
    /// Where copies are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Share of traffic copied; absent means 100%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Percent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `spec` of istio/istio samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml.
    const REVIEWS_TEST_V2: &str = r#"
hosts:
  - reviews
http:
- match:
  - headers:
      end-user:
        exact: jason
  route:
  - destination:
      host: reviews
      subset: v2
- route:
  - destination:
      host: reviews
      subset: v1
"#;

    fn reviews() -> VirtualService {
        serde_saphyr::from_str(REVIEWS_TEST_V2).unwrap()
    }

    #[test]
    fn bookinfo_reviews_reads_rules_in_order() {
        let vs = reviews();
        assert_eq!(vs.hosts, ["reviews"]);
        assert_eq!(vs.http.len(), 2);
        let jason = &vs.http[0];
        let end_user = jason.r#match[0].headers.get("end-user").unwrap();
        assert_eq!(end_user.exact.as_deref(), Some("jason"));
        assert_eq!(end_user.prefix, None);
        let dest = jason.route[0].destination.as_ref().unwrap();
        assert_eq!(dest.host.as_deref(), Some("reviews"));
        assert_eq!(dest.subset.as_deref(), Some("v2"));
        assert_eq!(jason.route[0].weight, None);
        let fallback = &vs.http[1];
        assert!(fallback.r#match.is_empty());
        let dest = fallback.route[0].destination.as_ref().unwrap();
        assert_eq!(dest.subset.as_deref(), Some("v1"));
    }

    #[test]
    fn bookinfo_reviews_round_trips_through_json() {
        let vs = reviews();
        let value = serde_json::to_value(&vs).unwrap();
        // Unset fields are not written back.
        assert_eq!(
            value["http"][1],
            json!({"route": [{"destination": {"host": "reviews", "subset": "v1"}}]})
        );
        let again: VirtualService = serde_json::from_value(value).unwrap();
        assert_eq!(again, vs);
    }

    #[test]
    fn misspelt_field_in_yaml_is_rejected() {
        let misspelt = REVIEWS_TEST_V2.replace("subset: v2", "subst: v2");
        let err = serde_saphyr::from_str::<VirtualService>(&misspelt).unwrap_err();
        assert!(err.to_string().contains("subst"), "{err}");
    }

    #[test]
    fn negative_weight_parses_for_validation_to_report() {
        let vs: VirtualService = serde_json::from_value(json!({
            "http": [{"route": [{"destination": {"host": "a"}, "weight": -5}]}]
        }))
        .unwrap();
        assert_eq!(vs.http[0].route[0].weight, Some(-5));
        let too_big = json!({"http": [{"route": [{"weight": 3_000_000_000u64}]}]});
        assert!(serde_json::from_value::<VirtualService>(too_big).is_err());
    }

    #[test]
    fn legacy_mirror_percent_reads_as_mirror_percent() {
        let legacy: HttpRoute = serde_json::from_value(json!({"mirror_percent": 30})).unwrap();
        let current: HttpRoute = serde_json::from_value(json!({"mirrorPercent": 30})).unwrap();
        assert_eq!(legacy.mirror_percent, Some(30));
        assert_eq!(legacy, current);
        assert_eq!(
            serde_json::to_value(&legacy).unwrap(),
            json!({"mirrorPercent": 30})
        );
        let both = json!({"mirror_percent": 30, "mirrorPercent": 40});
        assert!(serde_json::from_value::<HttpRoute>(both).is_err());
    }

    #[test]
    fn oneof_members_are_kept_side_by_side_for_validation() {
        let r: HttpRedirect =
            serde_json::from_value(json!({"port": 8443, "derivePort": "FROM_REQUEST_PORT"}))
                .unwrap();
        assert_eq!(r.port, Some(8443));
        assert_eq!(r.derive_port, Some(RedirectPortSelection::FromRequestPort));
        let a: Abort =
            serde_json::from_value(json!({"httpStatus": 503, "grpcStatus": "UNAVAILABLE"}))
                .unwrap();
        assert_eq!(a.http_status, Some(503));
        assert_eq!(a.grpc_status.as_deref(), Some("UNAVAILABLE"));
    }

    #[test]
    fn enum_values_are_the_schema_strings_only() {
        let ok: HttpRedirect =
            serde_json::from_value(json!({"derivePort": "FROM_PROTOCOL_DEFAULT"})).unwrap();
        assert_eq!(
            ok.derive_port,
            Some(RedirectPortSelection::FromProtocolDefault)
        );
        for bad in [json!("from_request_port"), json!(1)] {
            assert!(serde_json::from_value::<HttpRedirect>(json!({"derivePort": bad})).is_err());
        }
    }

    #[test]
    fn null_lists_are_empty_and_percentages_accept_integers_in_yaml() {
        let vs: VirtualService = serde_saphyr::from_str(
            "hosts:\ngateways:\nhttp:\n- mirror: {host: shadow}\n  mirrorPercentage: {value: 100}\n",
        )
        .unwrap();
        assert!(vs.hosts.is_empty());
        assert!(vs.gateways.is_empty());
        let route = &vs.http[0];
        assert_eq!(route.mirror_percentage.as_ref().unwrap().value, Some(100.0));
        assert_eq!(route.mirror_percent, None);
    }

    #[test]
    fn durations_are_kept_as_written() {
        let r: HttpRoute = serde_json::from_value(
            json!({"timeout": "1.5s", "retries": {"perTryTimeout": "250ms"}}),
        )
        .unwrap();
        assert_eq!(r.timeout.as_deref(), Some("1.5s"));
        assert_eq!(r.retries.unwrap().per_try_timeout.as_deref(), Some("250ms"));
    }
}
