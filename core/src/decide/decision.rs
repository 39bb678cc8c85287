//! The decision: where a request goes and what happens on the way
//! (spec: route-tests.md, "The decision"). Serialises to the spec's JSON.

use crate::model::destination_rule::TrafficPolicy;
use crate::model::virtual_service::CorsPolicy;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

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
pub struct RuleRef {
    /// 0-based position in the `http` (`tls`, `tcp`) list of the VirtualService.
    pub index: usize,
    /// The rule's `name`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
}

/// One weighted destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    /// FQDN of the destination service.
    pub host: Arc<str>,
    /// DestinationRule subset, when routed to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<Arc<str>>,
    /// Destination service port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Configured weight (100 for a lone destination); share = weight / sum.
    pub weight: u32,
    /// Envoy cluster name: `outbound|PORT|SUBSET|HOST`.
    pub cluster: Arc<str>,
    /// The traffic policy for this destination after the DestinationRule's
    /// port-level and subset policies are applied over the top-level one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Arc<TrafficPolicy>>,
    /// Why traffic to this destination fails at runtime, when it will
    /// (unknown host: 503 NC; undefined subset: 503 NC; no endpoints: 503 UH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A redirect answered by the proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
    /// The full Location header.
    pub location: String,
}

/// A fixed response answered by the proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectResponse {
    /// Status code.
    pub status: u16,
    /// Body, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What is sent upstream after rewrites.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retries {
    /// Retries after the first attempt.
    pub attempts: u32,
    /// Per-attempt timeout, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<Arc<str>>,
    /// Retry conditions, comma-separated as Istio writes them.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub retry_on: Arc<str>,
    /// Base back-off interval, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Arc<str>>,
    /// Whether Istio's default policy applied (the route set no `retries`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// An injected delay.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultDelay {
    /// How long.
    pub fixed_delay: String,
    /// Percentage of requests delayed (0 to 100).
    pub percent: f64,
}

/// An injected abort.
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

/// Fault injection on the route.
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
pub struct Mirror {
    /// FQDN.
    pub host: Arc<str>,
    /// Subset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<Arc<str>>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Envoy cluster name.
    pub cluster: Arc<str>,
    /// Percentage of requests mirrored.
    pub percent: f64,
}

/// Header operations, route and destination level combined.
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// What happens.
    pub outcome: Outcome,
    /// `namespace/name` of the VirtualService whose rule matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_service: Option<Arc<str>>,
    /// For a delegated rule, the root VirtualService.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_from: Option<Arc<str>>,
    /// The matched rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// Weighted destinations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Destination>,
    /// Redirect answered by the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<Redirect>,
    /// Fixed response answered by the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_response: Option<DirectResponse>,
    /// Path and authority sent upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Rewrite>,
    /// Overall timeout; absent = none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Arc<str>>,
    /// Retry policy in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    /// Fault injection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Mirror targets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    /// Request header operations.
    #[serde(skip_serializing_if = "HeaderOps::is_empty")]
    pub request_headers: HeaderOps,
    /// Response header operations.
    #[serde(skip_serializing_if = "HeaderOps::is_empty")]
    pub response_headers: HeaderOps,
    /// CORS policy of the route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors: Option<Arc<CorsPolicy>>,
    /// Why (filled by `explain`; empty for `decide`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceEntry>,
}

impl Decision {
    /// A decision with only an outcome.
    pub fn new(outcome: Outcome) -> Self {
        Decision {
            outcome,
            virtual_service: None,
            delegated_from: None,
            rule: None,
            destinations: Vec::new(),
            redirect: None,
            direct_response: None,
            rewrite: None,
            timeout: None,
            retries: None,
            fault: None,
            mirrors: Vec::new(),
            request_headers: HeaderOps::default(),
            response_headers: HeaderOps::default(),
            cors: None,
            trace: Vec::new(),
        }
    }

    /// The decision as the spec's JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Picks one destination the way Envoy's weighted clusters do: `random %
    /// total weight`, walking the list in order. `None` when there are no
    /// destinations. `random` is the per-request random value (Envoy uses the
    /// stream id).
    pub fn pick(&self, random: u64) -> Option<&Destination> {
        let total: u64 = self.destinations.iter().map(|d| u64::from(d.weight)).sum();
        if total == 0 {
            return self.destinations.first();
        }
        let mut s = random % total;
        for d in &self.destinations {
            let w = u64::from(d.weight);
            if s < w {
                return Some(d);
            }
            s -= w;
        }
        self.destinations.last()
    }
}
