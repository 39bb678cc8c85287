//! The decision: where a request goes and what happens on the way
//! (spec: route-tests.md, "The decision"). Serialises to the spec's JSON.

use crate::model::destination_rule::TrafficPolicy;
use crate::model::virtual_service::CorsPolicy;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// A duration as Istio writes one (`5s`, `0.5s` read back as `500ms`).
fn duration_text<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::duration::format_duration(*d))
}

// serde's `serialize_with` hands over the field itself.
#[allow(clippy::ref_option)]
fn optional_duration_text<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration_text(d, s),
        None => s.serialize_none(),
    }
}

/// What happens to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Forwarded to the weighted destinations.
    Route,
    /// Answered with a redirect.
    Redirect,
    /// Answered with a fixed response.
    DirectResponse,
    /// No route: a VirtualService owns the host but no rule matched, or a
    /// gateway has no virtual host for the authority (Envoy 404 NR); for TCP
    /// and TLS the connection is closed.
    NotFound,
    /// No VirtualService owns the host: straight to the service, no subset.
    DefaultRoute,
    /// Host unknown to the registry, outbound policy ALLOW_ANY: sent to the
    /// original destination as is.
    Passthrough,
}

impl Outcome {
    /// The spec's name (`route`, `defaultRoute`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Route => "route",
            Outcome::Redirect => "redirect",
            Outcome::DirectResponse => "directResponse",
            Outcome::NotFound => "notFound",
            Outcome::DefaultRoute => "defaultRoute",
            Outcome::Passthrough => "passthrough",
        }
    }
}

/// The matched rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef<'m> {
    /// 0-based position in the `http` (`tls`, `tcp`) list of the VirtualService.
    pub(crate) index: usize,
    /// The rule's `name`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<Cow<'m, str>>,
}

impl RuleRef<'_> {
    /// 0-based position in the `http` (`tls`, `tcp`) list of the VirtualService.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The rule's `name`, when it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// A copy that owns its strings, independent of the [`crate::Mesh`].
    pub fn into_owned(self) -> RuleRef<'static> {
        RuleRef {
            index: self.index,
            name: self.name.map(own),
        }
    }
}

/// A value lent by the [`crate::Mesh`] for the decision's lifetime, or
/// owned (shared) once the decision is detached with `into_owned`. Reads
/// as the value itself (`Deref`); small, so decisions stay cheap to move.
#[derive(Debug)]
pub(crate) enum Shared<'m, T> {
    /// Lent by the routing table; `into_owned` clones the value.
    Borrowed(&'m T),
    /// Lent by the routing table, which shares it; `into_owned` shares it too.
    Lent(&'m std::sync::Arc<T>),
    /// Owned.
    Owned(std::sync::Arc<T>),
}

impl<T> std::ops::Deref for Shared<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Shared::Borrowed(r) => r,
            Shared::Lent(a) => a,
            Shared::Owned(a) => a,
        }
    }
}

impl<T> Clone for Shared<'_, T> {
    fn clone(&self) -> Self {
        match self {
            Shared::Borrowed(r) => Shared::Borrowed(r),
            Shared::Lent(a) => Shared::Lent(a),
            Shared::Owned(a) => Shared::Owned(a.clone()),
        }
    }
}

impl<T: PartialEq> PartialEq for Shared<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Shared<'_, T> {}

impl<T: Serialize> Serialize for Shared<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<T: Clone> Shared<'_, T> {
    /// The same value, owned.
    pub fn into_owned(self) -> Shared<'static, T> {
        match self {
            Shared::Borrowed(r) => Shared::Owned(std::sync::Arc::new(r.clone())),
            Shared::Lent(a) => Shared::Owned(a.clone()),
            Shared::Owned(a) => Shared::Owned(a),
        }
    }
}

impl<T> From<T> for Shared<'static, T> {
    fn from(value: T) -> Self {
        Shared::Owned(std::sync::Arc::new(value))
    }
}

// serde's `skip_serializing_if` hands over the field itself.
#[allow(clippy::ptr_arg)]
fn no_destinations(list: &Cow<'_, [Destination<'_>]>) -> bool {
    list.is_empty()
}

/// A string borrowed from the routing table made owned.
fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

/// One weighted destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination<'m> {
    /// FQDN of the destination service.
    pub(crate) host: Cow<'m, str>,
    /// DestinationRule subset, when routed to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) subset: Option<Cow<'m, str>>,
    /// Destination service port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) port: Option<u32>,
    /// Configured weight (100 for a lone destination); share = weight / sum.
    pub(crate) weight: u32,
    /// Envoy cluster name: `outbound|PORT|SUBSET|HOST`.
    pub(crate) cluster: Cow<'m, str>,
    /// The traffic policy for this destination after the DestinationRule's
    /// port-level and subset policies are applied over the top-level one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<Shared<'m, TrafficPolicy>>,
    /// Why traffic to this destination fails at runtime, when it will
    /// (unknown host: 503 NC; undefined subset: 503 NC; no endpoints: 503 UH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) problem: Option<Cow<'m, str>>,
}

impl Destination<'_> {
    /// FQDN of the destination service.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The DestinationRule subset, when routed to one.
    pub fn subset(&self) -> Option<&str> {
        self.subset.as_deref()
    }

    /// The destination service port.
    pub fn port(&self) -> Option<u32> {
        self.port
    }

    /// The configured weight (100 for a lone destination); the share of
    /// traffic is weight / sum of weights.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// The Envoy cluster name: `outbound|PORT|SUBSET|HOST`.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The traffic policy after the DestinationRule's port-level and subset
    /// policies are applied over the top-level one.
    pub fn policy(&self) -> Option<&TrafficPolicy> {
        self.policy.as_deref()
    }

    /// Why traffic to this destination fails at run time, when it will.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// A copy that owns its contents, independent of the [`crate::Mesh`].
    pub fn into_owned(self) -> Destination<'static> {
        Destination {
            host: own(self.host),
            subset: self.subset.map(own),
            port: self.port,
            weight: self.weight,
            cluster: own(self.cluster),
            policy: self.policy.map(Shared::into_owned),
            problem: self.problem.map(own),
        }
    }
}

/// A redirect answered by the proxy.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
    /// The full Location header.
    pub location: String,
}

/// A fixed response answered by the proxy.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectResponse {
    /// Status code.
    pub status: u16,
    /// Body, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What is sent upstream after rewrites.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    /// Path (with query) sent upstream, when rewritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Authority sent upstream, when rewritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// The retry policy in force.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retries {
    /// Retries after the first attempt.
    pub attempts: u32,
    /// Per-attempt timeout, when set.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration_text"
    )]
    pub per_try_timeout: Option<Duration>,
    /// Retry conditions, comma-separated as Istio writes them.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub retry_on: String,
    /// Base back-off interval, when set.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration_text"
    )]
    pub backoff: Option<Duration>,
    /// Whether Istio's default policy applied (the route set no `retries`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

impl Retries {
    /// A policy as a route writes it: `attempts` retries on the `retry_on`
    /// conditions, no per-try timeout or back-off (the fields are public to
    /// set afterwards).
    pub fn new(attempts: u32, retry_on: impl Into<String>) -> Self {
        Retries {
            attempts,
            per_try_timeout: None,
            retry_on: retry_on.into(),
            backoff: None,
            default: false,
        }
    }
}

/// An injected delay.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultDelay {
    /// How long.
    #[serde(serialize_with = "duration_text")]
    pub fixed_delay: Duration,
    /// Percentage of requests delayed (0 to 100).
    pub percent: f64,
}

/// An injected abort.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultAbort {
    /// HTTP status answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    /// gRPC status answered, by name (`UNAVAILABLE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<String>,
    /// Percentage of requests aborted (0 to 100).
    pub percent: f64,
}

impl FaultAbort {
    /// The numeric gRPC status a gRPC abort answers with (`grpc-status`):
    /// Istio's `SupportedGRPCStatus` table (`names::grpc_status_code`), the
    /// name read case-insensitively; UNKNOWN (2) for a name outside it, which
    /// validation rejects. `None` for an HTTP abort.
    pub fn grpc_code(&self) -> Option<u32> {
        let name = self.grpc_status.as_deref()?;
        Some(crate::names::grpc_status_code(&name.to_ascii_uppercase()).unwrap_or(2))
    }
}

/// Fault injection on the route.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// Delay, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<FaultDelay>,
    /// Abort, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort: Option<FaultAbort>,
}

/// One mirror target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mirror<'m> {
    /// FQDN.
    pub(crate) host: Cow<'m, str>,
    /// Subset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) subset: Option<Cow<'m, str>>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) port: Option<u32>,
    /// Envoy cluster name.
    pub(crate) cluster: Cow<'m, str>,
    /// Percentage of requests mirrored.
    pub(crate) percent: f64,
}

impl Mirror<'_> {
    /// FQDN of the mirror service.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The DestinationRule subset, when mirrored to one.
    pub fn subset(&self) -> Option<&str> {
        self.subset.as_deref()
    }

    /// The mirror service port.
    pub fn port(&self) -> Option<u32> {
        self.port
    }

    /// The Envoy cluster name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Percentage of requests mirrored (0 to 100).
    pub fn percent(&self) -> f64 {
        self.percent
    }

    /// A copy that owns its strings, independent of the [`crate::Mesh`].
    pub fn into_owned(self) -> Mirror<'static> {
        Mirror {
            host: own(self.host),
            subset: self.subset.map(own),
            port: self.port,
            cluster: own(self.cluster),
            percent: self.percent,
        }
    }
}

/// Header operations, route and destination level combined.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HeaderOps {
    /// Set (overwrite or add).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
    /// Append.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub add: BTreeMap<String, String>,
    /// Remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

impl HeaderOps {
    /// Whether there is no operation.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// No header operations, to borrow from when a decision has none.
pub(crate) static NO_HEADER_OPS: HeaderOps = HeaderOps {
    set: BTreeMap::new(),
    add: BTreeMap::new(),
    remove: Vec::new(),
};

fn no_ops(ops: &Shared<'_, HeaderOps>) -> bool {
    ops.is_empty()
}

/// How one considered item fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Chosen / condition held.
    Matched,
    /// Not chosen / condition failed.
    Failed,
    /// Not considered for this proxy or port (filtered when config is built).
    Skipped,
    /// A default or a fact the decision relies on.
    Note,
}

/// One step of the explanation.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    /// What was considered (`host`, `virtualService`, `rule`, `match`,
    /// `destination`, `policy`, `default`).
    pub stage: &'static str,
    /// Which one (`default/reviews`, `http[1]`, `http[0].match[2]`).
    pub subject: String,
    /// How it fared.
    pub verdict: Verdict,
    /// Why, in words a person can follow.
    pub detail: String,
}

/// Where a request goes and why.
///
/// A decision borrows names, policies and header operations from the
/// [`crate::Mesh`] that made it (`'m`), so deciding copies nothing it does
/// not compute; [`Decision::into_owned`] detaches it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision<'m> {
    /// What happens.
    pub(crate) outcome: Outcome,
    /// `namespace/name` of the VirtualService whose rule matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) virtual_service: Option<Cow<'m, str>>,
    /// For a delegated rule, the root VirtualService.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delegated_from: Option<Cow<'m, str>>,
    /// The matched rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<RuleRef<'m>>,
    /// Weighted destinations: often lent by the routing table, which
    /// resolves a route's destinations for each caller namespace ahead of
    /// time (no allocation); reads as a slice.
    #[serde(skip_serializing_if = "no_destinations")]
    pub(crate) destinations: Cow<'m, [Destination<'m>]>,
    /// Redirect answered by the proxy. Boxed, like the other rarely set
    /// parts, so that a decision stays small to move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) redirect: Option<Box<Redirect>>,
    /// Fixed response answered by the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) direct_response: Option<Box<DirectResponse>>,
    /// Path and authority sent upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rewrite: Option<Box<Rewrite>>,
    /// Overall timeout; absent = none.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_duration_text"
    )]
    pub(crate) timeout: Option<Duration>,
    /// Retry policy in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) retries: Option<Shared<'m, Retries>>,
    /// Fault injection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fault: Option<Shared<'m, Fault>>,
    /// Mirror targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mirrors: Vec<Mirror<'m>>,
    /// Request header operations.
    #[serde(skip_serializing_if = "no_ops")]
    pub(crate) request_headers: Shared<'m, HeaderOps>,
    /// Response header operations.
    #[serde(skip_serializing_if = "no_ops")]
    pub(crate) response_headers: Shared<'m, HeaderOps>,
    /// CORS policy of the route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cors: Option<Shared<'m, CorsPolicy>>,
    /// Why (filled by `explain`; empty for `decide`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) trace: Vec<TraceEntry>,
}

impl<'m> Decision<'m> {
    /// What happens to the request.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// `namespace/name` of the VirtualService whose rule matched.
    pub fn virtual_service(&self) -> Option<&str> {
        self.virtual_service.as_deref()
    }

    /// For a delegated rule, `namespace/name` of the root VirtualService.
    pub fn delegated_from(&self) -> Option<&str> {
        self.delegated_from.as_deref()
    }

    /// The matched rule.
    pub fn rule(&self) -> Option<&RuleRef<'m>> {
        self.rule.as_ref()
    }

    /// The weighted destinations (empty unless the request is forwarded).
    pub fn destinations(&self) -> &[Destination<'m>] {
        &self.destinations
    }

    /// The destination list when the routing table lends it (resolved
    /// ahead of time for the route and the caller's namespace): it then
    /// lives as long as the [`crate::Mesh`], so its strings keep their
    /// addresses for the mesh's lifetime (a cache may key on them).
    /// `None` when the list was built for this decision.
    pub fn lent_destinations(&self) -> Option<&'m [Destination<'m>]> {
        match self.destinations {
            Cow::Borrowed(list) => Some(list),
            Cow::Owned(_) => None,
        }
    }

    /// The redirect the proxy answers with.
    pub fn redirect(&self) -> Option<&Redirect> {
        self.redirect.as_deref()
    }

    /// The fixed response the proxy answers with.
    pub fn direct_response(&self) -> Option<&DirectResponse> {
        self.direct_response.as_deref()
    }

    /// The path and authority sent upstream, when rewritten.
    pub fn rewrite(&self) -> Option<&Rewrite> {
        self.rewrite.as_deref()
    }

    /// The route's overall timeout; `None` when there is none.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The retry policy in force.
    pub fn retries(&self) -> Option<&Retries> {
        self.retries.as_deref()
    }

    /// The injected fault.
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_deref()
    }

    /// The mirror targets.
    pub fn mirrors(&self) -> &[Mirror<'m>] {
        &self.mirrors
    }

    /// Operations on the request headers sent upstream.
    pub fn request_headers(&self) -> &HeaderOps {
        &self.request_headers
    }

    /// Operations on the response headers sent back.
    pub fn response_headers(&self) -> &HeaderOps {
        &self.response_headers
    }

    /// The route's CORS policy.
    pub fn cors(&self) -> Option<&CorsPolicy> {
        self.cors.as_deref()
    }

    /// Why: every item considered, in order (empty unless made by
    /// [`crate::Mesh::explain`]).
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// A decision with only an outcome.
    pub fn new(outcome: Outcome) -> Self {
        Decision {
            outcome,
            virtual_service: None,
            delegated_from: None,
            rule: None,
            destinations: Cow::Borrowed(&[]),
            redirect: None,
            direct_response: None,
            rewrite: None,
            timeout: None,
            retries: None,
            fault: None,
            mirrors: Vec::new(),
            request_headers: Shared::Borrowed(&NO_HEADER_OPS),
            response_headers: Shared::Borrowed(&NO_HEADER_OPS),
            cors: None,
            trace: Vec::new(),
        }
    }

    /// A copy that owns everything, independent of the [`crate::Mesh`]
    /// (for keeping a decision longer than the table, or across an FFI).
    pub fn into_owned(self) -> Decision<'static> {
        Decision {
            outcome: self.outcome,
            virtual_service: self.virtual_service.map(own),
            delegated_from: self.delegated_from.map(own),
            rule: self.rule.map(RuleRef::into_owned),
            destinations: Cow::Owned(match self.destinations {
                Cow::Borrowed(list) => list.iter().cloned().map(Destination::into_owned).collect(),
                Cow::Owned(list) => list.into_iter().map(Destination::into_owned).collect(),
            }),
            redirect: self.redirect,
            direct_response: self.direct_response,
            rewrite: self.rewrite,
            timeout: self.timeout,
            retries: self.retries.map(Shared::into_owned),
            fault: self.fault.map(Shared::into_owned),
            mirrors: self.mirrors.into_iter().map(Mirror::into_owned).collect(),
            request_headers: self.request_headers.into_owned(),
            response_headers: self.response_headers.into_owned(),
            cors: self.cors.map(Shared::into_owned),
            trace: self.trace,
        }
    }

    /// The decision as the spec's JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // Through the text, not `serde_json::to_value`: one serializer for
        // every type a decision holds (the WASM package's size limit).
        serde_json::from_str(&self.to_json_text()).unwrap_or(serde_json::Value::Null)
    }

    /// The decision as the spec's JSON text (compact).
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".to_string())
    }

    /// Picks one destination the way Envoy's weighted clusters do: `random %
    /// total weight`, walking the list in order. `None` when there are no
    /// destinations. `random` is the per-request random value (Envoy uses the
    /// stream id).
    pub fn pick(&self, random: u64) -> Option<&Destination<'m>> {
        let total: u64 = self.destinations.iter().map(|d| u64::from(d.weight)).sum();
        if total == 0 {
            return self.destinations.first();
        }
        let mut s = random % total;
        for d in self.destinations.iter() {
            let w = u64::from(d.weight);
            if s < w {
                return Some(d);
            }
            s -= w;
        }
        self.destinations.last()
    }
}

#[cfg(test)]
mod tests {
    use super::FaultAbort;

    fn grpc(name: Option<&str>) -> FaultAbort {
        FaultAbort {
            http_status: None,
            grpc_status: name.map(str::to_string),
            percent: 100.0,
        }
    }

    #[test]
    fn grpc_abort_names_become_istio_status_codes() {
        assert_eq!(grpc(Some("UNAVAILABLE")).grpc_code(), Some(14));
        assert_eq!(grpc(Some("not_found")).grpc_code(), Some(5));
        assert_eq!(grpc(Some("NO_SUCH_STATUS")).grpc_code(), Some(2));
        assert_eq!(grpc(None).grpc_code(), None);
    }
}
