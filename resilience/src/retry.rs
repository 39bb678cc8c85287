//! Per-request retry state machine (Envoy `RetryStateImpl` + router timeouts,
//! with the retry policy Istio generates).
//!
//! The caller owns time and randomness. For each attempt it asks
//! [`RetryState::attempt_deadline`] when that attempt times out, and reports
//! the attempt's [`AttemptOutcome`] to [`RetryState::on_outcome`], which answers
//! [`RetryDecision::Retry`] (wait `after`, then send another attempt) or
//! [`RetryDecision::Stop`] (with the reason and what the client receives).
//!
//! Randomness: one value per `Retry` decision (the back-off draw); none for
//! `Stop`, except a stop because the back-off wait would outlast the route
//! deadline, which has drawn its back-off first (as Envoy schedules it).

use super::backoff::{Backoff, DEFAULT_BASE_INTERVAL};
use super::random::Random;
use super::time::Instant;
use std::time::Duration;

/// A set of Envoy `retry_on` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RetryOn(u32);

macro_rules! retry_on_tokens {
    ($( $(#[$doc:meta])* $name:ident = $bit:expr, $token:literal; )*) => {
        impl RetryOn {
            $( $(#[$doc])* pub const $name: RetryOn = RetryOn(1 << $bit); )*
            /// Every token with its flag, in Envoy's documentation order.
            pub const TOKENS: &'static [(&'static str, RetryOn)] = &[ $( ($token, RetryOn::$name), )* ];
        }
    };
}

retry_on_tokens! {
    /// `5xx`: upstream 5xx, or any reset, connect failure or per-try timeout.
    FIVE_XX = 0, "5xx";
    /// `gateway-error`: 502/503/504, or any reset (Envoy treats a reset as a 5xx).
    GATEWAY_ERROR = 1, "gateway-error";
    /// `reset`: any reset, including a per-try timeout.
    RESET = 2, "reset";
    /// `reset-before-request`: a reset before any request byte went upstream.
    RESET_BEFORE_REQUEST = 3, "reset-before-request";
    /// `connect-failure`: connection establishment failed or timed out.
    CONNECT_FAILURE = 4, "connect-failure";
    /// `retriable-4xx`: status 409.
    RETRIABLE_4XX = 5, "retriable-4xx";
    /// `refused-stream`: HTTP/2 REFUSED_STREAM.
    REFUSED_STREAM = 6, "refused-stream";
    /// `retriable-status-codes`: one of the policy's status codes.
    RETRIABLE_STATUS_CODES = 7, "retriable-status-codes";
    /// `retriable-headers`: a configured response-header matcher (Istio configures none).
    RETRIABLE_HEADERS = 8, "retriable-headers";
    /// `envoy-ratelimited`: the response carries `x-envoy-ratelimited`.
    ENVOY_RATELIMITED = 9, "envoy-ratelimited";
    /// `http3-post-connect-failure` (HTTP/3 only; never matches in this model).
    HTTP3_POST_CONNECT_FAILURE = 10, "http3-post-connect-failure";
    /// gRPC `cancelled` (grpc-status 1 in response headers).
    GRPC_CANCELLED = 11, "cancelled";
    /// gRPC `deadline-exceeded` (4).
    GRPC_DEADLINE_EXCEEDED = 12, "deadline-exceeded";
    /// gRPC `resource-exhausted` (8).
    GRPC_RESOURCE_EXHAUSTED = 13, "resource-exhausted";
    /// gRPC `internal` (13).
    GRPC_INTERNAL = 14, "internal";
    /// gRPC `unavailable` (14).
    GRPC_UNAVAILABLE = 15, "unavailable";
}

impl RetryOn {
    /// No condition.
    pub const NONE: RetryOn = RetryOn(0);

    /// The flag for one token, `None` for an unknown token (Envoy ignores those).
    pub fn from_token(token: &str) -> Option<RetryOn> {
        Self::TOKENS
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, f)| *f)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: RetryOn) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: RetryOn) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both sets.
    pub const fn union(self, other: RetryOn) -> RetryOn {
        RetryOn(self.0 | other.0)
    }
}

impl std::ops::BitOr for RetryOn {
    type Output = RetryOn;
    fn bitor(self, rhs: RetryOn) -> RetryOn {
        self.union(rhs)
    }
}

/// Whether Go's `http.StatusText(code)` is non-empty: the test Istio applies
/// to numeric `retryOn` tokens.
pub fn is_standard_http_status(code: u16) -> bool {
    matches!(code,
        100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429
        | 431 | 451 | 500..=508 | 510 | 511)
}

/// Istio's default `retry_on` string.
pub const ISTIO_DEFAULT_RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// Istio's `host_selection_retry_max_attempts` (always 5).
pub const ISTIO_HOST_SELECTION_RETRY_MAX_ATTEMPTS: u32 = 5;

/// The Envoy route retry policy (what Istio emits), as the state machine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`num_retries`).
    pub num_retries: u32,
    /// Conditions.
    pub retry_on: RetryOn,
    /// Statuses matched by `retriable-status-codes`.
    pub retriable_status_codes: Vec<u16>,
    /// Per-attempt timeout.
    pub per_try_timeout: Option<Duration>,
    /// Back-off base interval (max is 10 × base unless `max_interval` is set).
    pub base_interval: Duration,
    /// Back-off max interval (Istio never sets it).
    pub max_interval: Option<Duration>,
    /// `previous_hosts` retry host predicate (avoid hosts already tried).
    pub retry_previous_hosts: bool,
    /// Extra load-balancer picks allowed when the predicate rejects a host.
    pub host_selection_retry_max_attempts: u32,
}

impl RetryPolicy {
    /// Istio's outbound default (VS `retries` absent, no mesh
    /// `defaultHttpRetryPolicy`): 2 retries on
    /// `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`
    /// with no status codes (Istio ≥ 1.24), previous-hosts predicate on.
    pub fn istio_default() -> RetryPolicy {
        RetryPolicy {
            num_retries: 2,
            retry_on: parse_retry_on(ISTIO_DEFAULT_RETRY_ON).0,
            retriable_status_codes: Vec::new(),
            per_try_timeout: None,
            base_interval: DEFAULT_BASE_INTERVAL,
            max_interval: None,
            retry_previous_hosts: true,
            host_selection_retry_max_attempts: ISTIO_HOST_SELECTION_RETRY_MAX_ATTEMPTS,
        }
    }

    /// Istio's translation of an explicit VS `retries` block. `None` when
    /// `attempts <= 0` (retries disabled: no policy at all). An empty or absent
    /// `retry_on` gives the default conditions; numeric tokens that are standard
    /// HTTP statuses become retriable status codes (adding
    /// `retriable-status-codes`); unknown tokens are ignored, as Envoy does.
    pub fn from_istio(
        attempts: i32,
        per_try_timeout: Option<Duration>,
        retry_on: Option<&str>,
        backoff: Option<Duration>,
    ) -> Option<RetryPolicy> {
        let num_retries = u32::try_from(attempts).ok().filter(|n| *n > 0)?;
        let mut policy = RetryPolicy::istio_default();
        policy.num_retries = num_retries;
        policy.per_try_timeout = per_try_timeout.filter(|d| !d.is_zero());
        if let Some(text) = retry_on.filter(|t| !t.trim().is_empty()) {
            let (flags, codes) = parse_retry_on(text);
            policy.retry_on = if codes.is_empty() {
                flags
            } else {
                flags | RetryOn::RETRIABLE_STATUS_CODES
            };
            policy.retriable_status_codes = codes;
        }
        if let Some(b) = backoff.filter(|d| !d.is_zero()) {
            policy.base_interval = b;
        }
        Some(policy)
    }

    /// A fresh back-off generator for one request.
    pub fn backoff(&self) -> Backoff {
        match self.max_interval {
            Some(max) => Backoff::with_max(self.base_interval, max),
            None => Backoff::new(self.base_interval),
        }
    }
}

/// Split a `retryOn` string the way Istio translates it: comma-separated,
/// trimmed; standard HTTP status numbers become codes, known tokens flags,
/// anything else is dropped.
pub fn parse_retry_on(text: &str) -> (RetryOn, Vec<u16>) {
    let mut flags = RetryOn::NONE;
    let mut codes = Vec::new();
    for token in text.split(',').map(str::trim) {
        match token.parse::<u16>() {
            Ok(code) if is_standard_http_status(code) => {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            _ => {
                if let Some(f) = RetryOn::from_token(token) {
                    flags = flags | f;
                }
            }
        }
    }
    (flags, codes)
}

/// Why an upstream attempt was reset before response headers (Envoy
/// `StreamResetReason` / pool failure reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetReason {
    /// Local connection failure (e.g. connection refused).
    LocalConnectionFailure,
    /// Remote connection failure.
    RemoteConnectionFailure,
    /// Connection establishment exceeded `connect_timeout`.
    ConnectionTimeout,
    /// The connection was closed under the stream.
    ConnectionTermination,
    /// Reset locally.
    LocalReset,
    /// Reset by the upstream.
    RemoteReset,
    /// HTTP/2 REFUSED_STREAM from the upstream.
    RemoteRefusedStream,
    /// Protocol error (local reply 502 instead of 503).
    ProtocolError,
    /// Circuit-breaker overflow (never retried, never reported to outlier detection).
    Overflow,
}

impl ResetReason {
    /// Whether this is a connection-establishment failure (`connect-failure`).
    pub const fn is_connect_failure(self) -> bool {
        matches!(
            self,
            ResetReason::LocalConnectionFailure
                | ResetReason::RemoteConnectionFailure
                | ResetReason::ConnectionTimeout
        )
    }

    /// Envoy response flag for a local reply caused by this reset.
    pub const fn response_flag(self) -> &'static str {
        match self {
            ResetReason::LocalConnectionFailure
            | ResetReason::RemoteConnectionFailure
            | ResetReason::ConnectionTimeout => "UF",
            ResetReason::ConnectionTermination => "UC",
            ResetReason::LocalReset => "LR",
            ResetReason::RemoteReset | ResetReason::RemoteRefusedStream => "UR",
            ResetReason::ProtocolError => "UPE",
            ResetReason::Overflow => "UO",
        }
    }
}

/// The parts of an upstream response the retry decision looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseInfo {
    /// HTTP status.
    pub status: u16,
    /// `grpc-status` from the response **headers** (trailers-only replies);
    /// a status that arrives in trailers never triggers a retry.
    pub grpc_status: Option<u32>,
    /// Whether the response carries `x-envoy-ratelimited`.
    pub envoy_ratelimited: bool,
}

impl ResponseInfo {
    /// A plain HTTP response.
    pub const fn status(status: u16) -> ResponseInfo {
        ResponseInfo {
            status,
            grpc_status: None,
            envoy_ratelimited: false,
        }
    }

    /// Read `grpc-status` and `x-envoy-ratelimited` from response headers
    /// (names compared case-insensitively; an unparsable grpc-status is ignored).
    pub fn from_headers<'a>(
        status: u16,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> ResponseInfo {
        let mut info = ResponseInfo::status(status);
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("grpc-status") {
                info.grpc_status = value.trim().parse().ok();
            } else if name.eq_ignore_ascii_case("x-envoy-ratelimited") {
                info.envoy_ratelimited = true;
            }
        }
        info
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Response headers arrived (nothing forwarded downstream yet).
    Response(ResponseInfo),
    /// Reset or pool failure before response headers.
    Reset {
        /// Why.
        reason: ResetReason,
        /// Whether any request byte had been sent upstream on this attempt.
        request_sent: bool,
    },
    /// The attempt's per-try timeout fired before response headers.
    PerTryTimeout {
        /// Whether any request byte had been sent upstream on this attempt.
        request_sent: bool,
    },
    /// The route's global timeout fired (never retried).
    GlobalTimeout,
}

/// Why retrying ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The outcome was a success, or no configured condition matches it.
    NotRetriable,
    /// The route has no retry policy (VS `attempts: 0`).
    NoPolicy,
    /// All `num_retries` used (flag `URX`).
    BudgetExhausted,
    /// The circuit breaker's `max_retries` is reached (flag `UO`).
    RetryOverflow,
    /// The route deadline passed, or would pass during the back-off wait
    /// (504, flag `UT`).
    Deadline,
}

/// What the downstream client receives when retrying stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalReply {
    /// The last upstream response, forwarded unchanged.
    Upstream(ResponseInfo),
    /// A local reply by the router.
    Local {
        /// HTTP status (503, 502 for protocol errors, 504 for timeouts).
        status: u16,
        /// Envoy response flag of the failure (`UF`, `UC`, `UR`, `LR`, `UPE`, `UO`, `UT`).
        flag: &'static str,
    },
}

/// The answer to one attempt outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send another attempt after this back-off.
    Retry {
        /// Back-off wait before the next attempt.
        after: Duration,
    },
    /// Deliver `reply` to the client.
    Stop {
        /// Why.
        reason: StopReason,
        /// What the client receives.
        reply: FinalReply,
    },
}

/// The circuit breaker's retry resource (`max_retries`, or a retry budget).
pub trait RetryCircuit {
    /// Take one outstanding-retry slot; `false` when at the limit.
    fn try_acquire_retry(&mut self) -> bool;
    /// Give one back.
    fn release_retry(&mut self);
}

/// A retry circuit with no limit (Istio's default threshold is 2^32−1).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnlimitedRetries;

impl RetryCircuit for UnlimitedRetries {
    fn try_acquire_retry(&mut self) -> bool {
        true
    }
    fn release_retry(&mut self) {}
}

/// Retry state of one downstream request.
#[derive(Debug, Clone)]
pub struct RetryState {
    policy: Option<RetryPolicy>,
    retries_remaining: u32,
    backoff: Backoff,
    deadline: Option<Instant>,
    per_try_timeout: Option<Duration>,
    holds_retry_slot: bool,
    attempts: u32,
}

impl RetryState {
    /// Start the state when the downstream request is complete (`now`, which
    /// also starts the route timer). `route_timeout` `None` or zero = no
    /// deadline (Istio's default). A per-try timeout not shorter than a
    /// non-zero route timeout is discarded, as Envoy does.
    pub fn new(
        policy: Option<RetryPolicy>,
        route_timeout: Option<Duration>,
        now: Instant,
    ) -> RetryState {
        let timeout = route_timeout.filter(|d| !d.is_zero());
        let per_try_timeout = policy
            .as_ref()
            .and_then(|p| p.per_try_timeout)
            .filter(|pt| timeout.is_none_or(|t| *pt < t));
        let backoff = policy
            .as_ref()
            .map(RetryPolicy::backoff)
            .unwrap_or_else(|| Backoff::new(DEFAULT_BASE_INTERVAL));
        RetryState {
            retries_remaining: policy.as_ref().map_or(0, |p| p.num_retries),
            policy,
            backoff,
            deadline: timeout.map(|t| now + t),
            per_try_timeout,
            holds_retry_slot: false,
            attempts: 1,
        }
    }

    /// The route deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Retries still allowed.
    pub fn retries_remaining(&self) -> u32 {
        self.retries_remaining
    }

    /// Attempts started so far (1 for the first attempt).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When an attempt started at `attempt_start` times out: the earlier of
    /// its per-try timeout and the route deadline (`None` = never).
    pub fn attempt_deadline(&self, attempt_start: Instant) -> Option<Instant> {
        let per_try = self.per_try_timeout.map(|d| attempt_start + d);
        match (per_try, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the policy's conditions cover this outcome (Envoy
    /// `wouldRetryFromHeaders` / `wouldRetryFromReset`), ignoring counts.
    pub fn would_retry(&self, outcome: &AttemptOutcome) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|p| would_retry(p, outcome))
    }

    /// Decide after an attempt's outcome at `now`. A retry holds one
    /// circuit-breaker retry slot until the next call or [`RetryState::finish`].
    pub fn on_outcome(
        &mut self,
        outcome: &AttemptOutcome,
        now: Instant,
        rng: &mut impl Random,
        circuit: &mut impl RetryCircuit,
    ) -> RetryDecision {
        if self.holds_retry_slot {
            circuit.release_retry();
            self.holds_retry_slot = false;
        }
        let stop = |reason| RetryDecision::Stop {
            reason,
            reply: final_reply(outcome),
        };
        if matches!(outcome, AttemptOutcome::GlobalTimeout)
            || self.deadline.is_some_and(|d| now >= d)
        {
            return RetryDecision::Stop {
                reason: StopReason::Deadline,
                reply: TIMEOUT_REPLY,
            };
        }
        let Some(policy) = &self.policy else {
            return stop(StopReason::NoPolicy);
        };
        if !would_retry(policy, outcome) {
            return stop(StopReason::NotRetriable);
        }
        if self.retries_remaining == 0 {
            return stop(StopReason::BudgetExhausted);
        }
        self.retries_remaining -= 1;
        if !circuit.try_acquire_retry() {
            return stop(StopReason::RetryOverflow);
        }
        let after = self.backoff.next_delay(rng);
        if self.deadline.is_some_and(|d| now + after >= d) {
            // Envoy schedules the retry; the route timer fires during the wait.
            circuit.release_retry();
            return RetryDecision::Stop {
                reason: StopReason::Deadline,
                reply: TIMEOUT_REPLY,
            };
        }
        self.holds_retry_slot = true;
        self.attempts += 1;
        RetryDecision::Retry { after }
    }

    /// The request ended: release a retry slot still held.
    pub fn finish(&mut self, circuit: &mut impl RetryCircuit) {
        if self.holds_retry_slot {
            circuit.release_retry();
            self.holds_retry_slot = false;
        }
    }
}

const TIMEOUT_REPLY: FinalReply = FinalReply::Local {
    status: 504,
    flag: "UT",
};

fn final_reply(outcome: &AttemptOutcome) -> FinalReply {
    match *outcome {
        AttemptOutcome::Response(r) => FinalReply::Upstream(r),
        AttemptOutcome::Reset { reason, .. } => FinalReply::Local {
            status: if reason == ResetReason::ProtocolError {
                502
            } else {
                503
            },
            flag: reason.response_flag(),
        },
        AttemptOutcome::PerTryTimeout { .. } | AttemptOutcome::GlobalTimeout => TIMEOUT_REPLY,
    }
}

fn would_retry(policy: &RetryPolicy, outcome: &AttemptOutcome) -> bool {
    let on = policy.retry_on;
    match *outcome {
        AttemptOutcome::Response(r) => {
            if r.envoy_ratelimited {
                // Short-circuits every other condition.
                return on.contains(RetryOn::ENVOY_RATELIMITED);
            }
            let s = r.status;
            if on.contains(RetryOn::FIVE_XX) && (500..=599).contains(&s) {
                return true;
            }
            if on.contains(RetryOn::GATEWAY_ERROR) && matches!(s, 502..=504) {
                return true;
            }
            if on.contains(RetryOn::RETRIABLE_4XX) && s == 409 {
                return true;
            }
            if on.contains(RetryOn::RETRIABLE_STATUS_CODES)
                && policy.retriable_status_codes.contains(&s)
            {
                return true;
            }
            // RETRIABLE_HEADERS: Istio cannot configure header matchers, so it matches nothing.
            let grpc = match r.grpc_status {
                Some(1) => RetryOn::GRPC_CANCELLED,
                Some(4) => RetryOn::GRPC_DEADLINE_EXCEEDED,
                Some(8) => RetryOn::GRPC_RESOURCE_EXHAUSTED,
                Some(13) => RetryOn::GRPC_INTERNAL,
                Some(14) => RetryOn::GRPC_UNAVAILABLE,
                _ => RetryOn::NONE,
            };
            on.intersects(grpc)
        }
        AttemptOutcome::Reset {
            reason,
            request_sent,
        } => {
            if reason == ResetReason::Overflow {
                return false;
            }
            if on.contains(RetryOn::CONNECT_FAILURE) && reason.is_connect_failure() {
                return true;
            }
            any_reset_retriable(on, request_sent)
                || (on.contains(RetryOn::REFUSED_STREAM)
                    && reason == ResetReason::RemoteRefusedStream)
        }
        // Treated as a local reset: only the generic reset conditions apply.
        AttemptOutcome::PerTryTimeout { request_sent } => any_reset_retriable(on, request_sent),
        AttemptOutcome::GlobalTimeout => false,
    }
}

fn any_reset_retriable(on: RetryOn, request_sent: bool) -> bool {
    (on.contains(RetryOn::RESET_BEFORE_REQUEST) && !request_sent)
        || on.intersects(RetryOn::RESET | RetryOn::FIVE_XX | RetryOn::GATEWAY_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Sequence;

    fn ok(status: u16) -> AttemptOutcome {
        AttemptOutcome::Response(ResponseInfo::status(status))
    }

    fn reset(reason: ResetReason) -> AttemptOutcome {
        AttemptOutcome::Reset {
            reason,
            request_sent: true,
        }
    }

    fn decide(state: &mut RetryState, outcome: AttemptOutcome, at_ms: u64) -> RetryDecision {
        state.on_outcome(
            &outcome,
            Instant::from_millis(at_ms),
            &mut Sequence::new(vec![7]),
            &mut UnlimitedRetries,
        )
    }

    struct Limited {
        max: u32,
        current: u32,
    }
    impl RetryCircuit for Limited {
        fn try_acquire_retry(&mut self) -> bool {
            let ok = self.current < self.max;
            self.current += u32::from(ok);
            ok
        }
        fn release_retry(&mut self) {
            self.current = self.current.saturating_sub(1);
        }
    }

    #[test]
    fn istio_default_retries_connect_failure_twice_but_not_503() {
        let mut s = RetryState::new(Some(RetryPolicy::istio_default()), None, Instant::ZERO);
        assert!(!s.would_retry(&ok(503)));
        assert!(matches!(
            decide(&mut s, ok(503), 0),
            RetryDecision::Stop {
                reason: StopReason::NotRetriable,
                ..
            }
        ));
        let cf = reset(ResetReason::LocalConnectionFailure);
        assert_eq!(
            decide(&mut s, cf, 0),
            RetryDecision::Retry {
                after: Duration::from_millis(7)
            }
        );
        assert!(matches!(
            decide(&mut s, cf, 10),
            RetryDecision::Retry { .. }
        ));
        assert_eq!(
            decide(&mut s, cf, 20),
            RetryDecision::Stop {
                reason: StopReason::BudgetExhausted,
                reply: FinalReply::Local {
                    status: 503,
                    flag: "UF"
                }
            }
        );
        assert_eq!(s.attempts(), 3);
    }

    #[test]
    fn istio_default_retries_grpc_unavailable_in_headers_only() {
        let s = RetryState::new(Some(RetryPolicy::istio_default()), None, Instant::ZERO);
        let unavailable = ResponseInfo::from_headers(200, [("Grpc-Status", "14")]);
        assert!(s.would_retry(&AttemptOutcome::Response(unavailable)));
        let internal = ResponseInfo::from_headers(200, [("grpc-status", "13")]);
        assert!(!s.would_retry(&AttemptOutcome::Response(internal)));
        assert!(s.would_retry(&reset(ResetReason::RemoteRefusedStream)));
        assert!(!s.would_retry(&reset(ResetReason::RemoteReset)));
        assert!(!s.would_retry(&AttemptOutcome::PerTryTimeout { request_sent: true }));
    }

    #[test]
    fn numeric_tokens_become_status_codes_and_unknown_tokens_are_ignored() {
        let p = RetryPolicy::from_istio(3, None, Some("503, gateway-error,599,bogus"), None);
        let p = p.unwrap_or_else(RetryPolicy::istio_default);
        assert_eq!(p.num_retries, 3);
        assert_eq!(p.retriable_status_codes, vec![503]);
        assert!(p
            .retry_on
            .contains(RetryOn::RETRIABLE_STATUS_CODES | RetryOn::GATEWAY_ERROR));
        assert!(!p.retry_on.contains(RetryOn::CONNECT_FAILURE));
        let s = RetryState::new(Some(p), None, Instant::ZERO);
        assert!(s.would_retry(&ok(503)));
        assert!(s.would_retry(&ok(504)));
        assert!(!s.would_retry(&ok(500)));
        assert!(!s.would_retry(&ok(599)));
    }

    #[test]
    fn zero_attempts_means_no_policy() {
        assert_eq!(RetryPolicy::from_istio(0, None, Some("5xx"), None), None);
        let mut s = RetryState::new(None, None, Instant::ZERO);
        assert!(matches!(
            decide(&mut s, ok(503), 0),
            RetryDecision::Stop {
                reason: StopReason::NoPolicy,
                ..
            }
        ));
    }

    #[test]
    fn per_try_timeout_retried_by_reset_family_only() {
        let t = AttemptOutcome::PerTryTimeout { request_sent: true };
        for (tokens, expected) in [
            ("5xx", true),
            ("gateway-error", true),
            ("reset", true),
            ("connect-failure", false),
        ] {
            let p = RetryPolicy::from_istio(1, None, Some(tokens), None);
            let s = RetryState::new(p, None, Instant::ZERO);
            assert_eq!(s.would_retry(&t), expected, "{tokens}");
        }
        let p = RetryPolicy::from_istio(1, None, Some("reset-before-request"), None);
        let s = RetryState::new(p, None, Instant::ZERO);
        assert!(s.would_retry(&AttemptOutcome::PerTryTimeout {
            request_sent: false
        }));
        assert!(!s.would_retry(&t));
    }

    #[test]
    fn ratelimited_header_short_circuits_every_other_condition() {
        let limited = AttemptOutcome::Response(ResponseInfo::from_headers(
            503,
            [("x-envoy-ratelimited", "true")],
        ));
        let s = RetryState::new(
            RetryPolicy::from_istio(1, None, Some("5xx"), None),
            None,
            Instant::ZERO,
        );
        assert!(!s.would_retry(&limited));
        let s = RetryState::new(
            RetryPolicy::from_istio(1, None, Some("envoy-ratelimited"), None),
            None,
            Instant::ZERO,
        );
        assert!(s.would_retry(&limited));
    }

    #[test]
    fn overflow_reset_is_never_retried_and_409_only_for_retriable_4xx() {
        let s = RetryState::new(
            RetryPolicy::from_istio(1, None, Some("5xx,reset,retriable-4xx"), None),
            None,
            Instant::ZERO,
        );
        assert!(!s.would_retry(&reset(ResetReason::Overflow)));
        assert!(s.would_retry(&ok(409)));
        assert!(!s.would_retry(&ok(408)));
    }

    #[test]
    fn retry_overflow_passes_response_through_and_releases_slots() {
        let p = RetryPolicy::from_istio(5, None, Some("5xx"), None);
        let mut circuit = Limited { max: 1, current: 0 };
        let mut a = RetryState::new(p.clone(), None, Instant::ZERO);
        let mut b = RetryState::new(p, None, Instant::ZERO);
        let mut rng = Sequence::new(vec![0]);
        assert!(matches!(
            a.on_outcome(&ok(500), Instant::ZERO, &mut rng, &mut circuit),
            RetryDecision::Retry { .. }
        ));
        assert_eq!(
            b.on_outcome(&ok(502), Instant::ZERO, &mut rng, &mut circuit),
            RetryDecision::Stop {
                reason: StopReason::RetryOverflow,
                reply: FinalReply::Upstream(ResponseInfo::status(502))
            }
        );
        // The overflowed retry still used one of b's retries (decrement before the check).
        assert_eq!(b.retries_remaining(), 4);
        a.finish(&mut circuit);
        assert_eq!(circuit.current, 0);
    }

    #[test]
    fn deadline_stops_with_504_and_per_try_discarded_when_not_shorter() {
        let p = RetryPolicy::from_istio(3, Some(Duration::from_secs(2)), Some("5xx"), None);
        let s = RetryState::new(p.clone(), Some(Duration::from_secs(2)), Instant::ZERO);
        assert_eq!(
            s.attempt_deadline(Instant::ZERO),
            Some(Instant::from_secs(2))
        );
        let mut s = RetryState::new(p, Some(Duration::from_secs(3)), Instant::ZERO);
        assert_eq!(
            s.attempt_deadline(Instant::from_secs(2)),
            Some(Instant::from_secs(3))
        );
        assert_eq!(
            s.attempt_deadline(Instant::ZERO),
            Some(Instant::from_secs(2))
        );
        assert!(matches!(
            decide(&mut s, ok(500), 2_000),
            RetryDecision::Retry { .. }
        ));
        // Back-off draw 7 ms would end at 3.000 s: the route timer fires first.
        assert_eq!(
            decide(&mut s, ok(500), 2_993),
            RetryDecision::Stop {
                reason: StopReason::Deadline,
                reply: FinalReply::Local {
                    status: 504,
                    flag: "UT"
                }
            }
        );
    }

    #[test]
    fn backoff_grows_per_request_and_starts_over_for_the_next_request() {
        let p = RetryPolicy::from_istio(4, None, Some("5xx"), Some(Duration::from_millis(10)));
        let mut rng = Sequence::new(vec![u64::MAX]);
        let mut s = RetryState::new(p.clone(), None, Instant::ZERO);
        let mut afters = Vec::new();
        for _ in 0..3 {
            if let RetryDecision::Retry { after } =
                s.on_outcome(&ok(500), Instant::ZERO, &mut rng, &mut UnlimitedRetries)
            {
                afters.push(after.as_millis());
            }
        }
        // u64::MAX % 10 = 5, % 20 = 15, % 40 = 15.
        assert_eq!(afters, [5, 15, 15]);
        let mut fresh = RetryState::new(p, None, Instant::ZERO);
        assert_eq!(
            fresh.on_outcome(&ok(500), Instant::ZERO, &mut rng, &mut UnlimitedRetries),
            RetryDecision::Retry {
                after: Duration::from_millis(5)
            }
        );
    }

    #[test]
    fn protocol_error_replies_502() {
        let mut s = RetryState::new(
            RetryPolicy::from_istio(1, None, Some("connect-failure"), None),
            None,
            Instant::ZERO,
        );
        assert_eq!(
            decide(&mut s, reset(ResetReason::ProtocolError), 0),
            RetryDecision::Stop {
                reason: StopReason::NotRetriable,
                reply: FinalReply::Local {
                    status: 502,
                    flag: "UPE"
                }
            }
        );
    }
}
