//! Istio's `retryOn` as Envoy's router reads it: retry conditions (HTTP
//! and gRPC ones) and retriable HTTP status codes. One split for both of
//! Envoy's ways in: a route's `retry_policy` and the `x-envoy-retry-on`,
//! `x-envoy-retry-grpc-on` and `x-envoy-retriable-status-codes` request
//! headers the proxy-wasm filter sets.

use meshroute::decide::Retries;

/// Envoy's gRPC retry conditions: a route's `retry_on` takes them with the
/// HTTP ones, the router headers only in `x-envoy-retry-grpc-on`
/// (envoy `source/common/router/retry_state_impl.cc`).
pub const GRPC_RETRY_ON: [&str; 5] = [
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// The condition that makes Envoy retry the listed status codes.
pub const RETRIABLE_STATUS_CODES: &str = "retriable-status-codes";

/// What Istio's default policy (a rule without `retries`) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// `retriable-status-codes` appended, with no codes: istiod's route
    /// configuration (pilot `networking/core/route/retry/retry.go`,
    /// `DefaultPolicy`). Envoy then retries no status code.
    AsIstiod,
    /// The conditions as written: where the condition would retry
    /// nothing (the proxy-wasm filter's router headers), it is left out.
    AsWritten,
}

/// A retry policy's `retryOn`, split as Istio does (pilot
/// `route/retry/retry.go`, `parseRetryOn`): each comma-separated token that
/// is an HTTP status code (100-599) is a retriable status code, any other
/// is a condition; codes without `retriable-status-codes` get it appended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryOn<'r> {
    conditions: Vec<&'r str>,
    status_codes: Vec<u32>,
}

impl<'r> RetryOn<'r> {
    /// Splits `retries.retry_on`; `default` says what Istio's default
    /// policy gets (see [`DefaultPolicy`]).
    pub fn split(retries: &'r Retries, default: DefaultPolicy) -> RetryOn<'r> {
        let mut out = RetryOn::default();
        for token in retries
            .retry_on
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            match token.parse::<u32>() {
                Ok(code) if (100..600).contains(&code) => out.status_codes.push(code),
                _ => out.conditions.push(token),
            }
        }
        let wanted =
            !out.status_codes.is_empty() || (retries.default && default == DefaultPolicy::AsIstiod);
        if wanted && !out.conditions.contains(&RETRIABLE_STATUS_CODES) {
            out.conditions.push(RETRIABLE_STATUS_CODES);
        }
        out
    }

    /// Every condition in order, as a route's `retry_policy.retry_on` lists them.
    pub fn conditions(&self) -> &[&'r str] {
        &self.conditions
    }

    /// The HTTP conditions, for `x-envoy-retry-on`.
    pub fn http_conditions(&self) -> impl Iterator<Item = &'r str> + '_ {
        self.conditions
            .iter()
            .copied()
            .filter(|c| !GRPC_RETRY_ON.contains(c))
    }

    /// The gRPC conditions, for `x-envoy-retry-grpc-on`.
    pub fn grpc_conditions(&self) -> impl Iterator<Item = &'r str> + '_ {
        self.conditions
            .iter()
            .copied()
            .filter(|c| GRPC_RETRY_ON.contains(c))
    }

    /// The retriable status codes, in order.
    pub fn status_codes(&self) -> &[u32] {
        &self.status_codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshroute::decide::retries::{effective_retries, DEFAULT_RETRY_ON};

    fn written(retry_on: &str) -> Retries {
        Retries::new(3, retry_on)
    }

    #[test]
    fn codes_become_status_codes_and_add_their_condition() {
        let r = written("5xx, unavailable,503,,gateway-error,429,600");
        let split = RetryOn::split(&r, DefaultPolicy::AsIstiod);
        assert_eq!(
            split.conditions(),
            [
                "5xx",
                "unavailable",
                "gateway-error",
                "600",
                "retriable-status-codes"
            ],
            "600 is no HTTP status: a condition, as Istio passes it on"
        );
        assert_eq!(split.status_codes(), [503, 429]);
        let http: Vec<&str> = split.http_conditions().collect();
        assert_eq!(
            http,
            ["5xx", "gateway-error", "600", "retriable-status-codes"]
        );
        let grpc: Vec<&str> = split.grpc_conditions().collect();
        assert_eq!(grpc, ["unavailable"]);
    }

    #[test]
    fn the_status_codes_condition_is_not_repeated() {
        let r = written("retriable-status-codes,503");
        let split = RetryOn::split(&r, DefaultPolicy::AsWritten);
        assert_eq!(split.conditions(), ["retriable-status-codes"]);
        assert_eq!(split.status_codes(), [503]);
    }

    #[test]
    fn only_istiods_default_policy_gets_the_condition_without_codes() {
        let default = effective_retries(None);
        let istiod = RetryOn::split(&default, DefaultPolicy::AsIstiod);
        let filter = RetryOn::split(&default, DefaultPolicy::AsWritten);
        assert_eq!(
            istiod.conditions().join(","),
            format!("{DEFAULT_RETRY_ON},retriable-status-codes")
        );
        assert_eq!(filter.conditions().join(","), DEFAULT_RETRY_ON);
        assert!(istiod.status_codes().is_empty() && filter.status_codes().is_empty());
        // A written policy with the default's conditions is not the default.
        let same = written(DEFAULT_RETRY_ON);
        assert_eq!(
            RetryOn::split(&same, DefaultPolicy::AsIstiod).conditions(),
            filter.conditions()
        );
    }
}
