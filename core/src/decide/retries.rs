//! A rule's retry policy as decided: the rule's `retries`, or Istio's
//! default when it sets none (pilot `route/retry`, `DefaultPolicy`).

use super::decision::Retries;
use crate::model::virtual_service::HttpRetry;
use std::time::Duration;

/// A duration field of the rule, typed. An unparsable one is a validation
/// error (`check` reports it and Istio refuses the resource); the table
/// leaves it out, as if the field were unset.
fn typed(text: Option<&str>) -> Option<Duration> {
    crate::duration::parse_duration(text?).ok()
}

/// Istio's default `retryOn` when a route sets no retry policy.
pub const DEFAULT_RETRY_ON: &str = "connect-failure,refused-stream,unavailable,cancelled";
/// Istio's default number of retries.
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 2;

/// The retry policy in force for a rule's `retries` (Istio's default when absent).
pub fn effective_retries(r: Option<&HttpRetry>) -> Retries {
    match r {
        None => Retries {
            attempts: DEFAULT_RETRY_ATTEMPTS,
            per_try_timeout: None,
            retry_on: DEFAULT_RETRY_ON.to_string(),
            backoff: None,
            default: true,
        },
        Some(r) => {
            let attempts = r.attempts.unwrap_or(0).max(0) as u32;
            Retries {
                attempts,
                per_try_timeout: if attempts == 0 {
                    None
                } else {
                    typed(r.per_try_timeout.as_deref())
                },
                retry_on: if attempts == 0 {
                    String::new()
                } else {
                    r.retry_on
                        .as_deref()
                        .unwrap_or(DEFAULT_RETRY_ON)
                        .to_string()
                },
                backoff: typed(r.backoff.as_deref()),
                default: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_retries_is_istios_default_and_zero_attempts_disable() {
        let d = effective_retries(None);
        assert!(d.default);
        assert_eq!((d.attempts, d.retry_on.as_str()), (2, DEFAULT_RETRY_ON));
        let off: HttpRetry =
            serde_json::from_str(r#"{"attempts": 0, "perTryTimeout": "1s"}"#).unwrap();
        let off = effective_retries(Some(&off));
        assert_eq!((off.attempts, off.retry_on.as_str()), (0, ""));
        assert_eq!(off.per_try_timeout, None);
        let some: HttpRetry = serde_json::from_str(r#"{"attempts": 3}"#).unwrap();
        assert_eq!(effective_retries(Some(&some)).retry_on, DEFAULT_RETRY_ON);
    }
}
