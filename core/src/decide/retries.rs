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

/// The retry policy of a route that sets no `retries`: the mesh config's
/// `defaultHttpRetryPolicy` when it has one, else Istio's built-in default
/// (istio `pilot/pkg/networking/core/route/route.go` takes the mesh's
/// policy for such routes and `route/retry/retry.go` `ConvertPolicy`
/// reads it as it reads a route's). Marked `default` either way.
pub fn mesh_default_retries(mesh_policy: Option<&HttpRetry>) -> Retries {
    Retries {
        default: true,
        ..effective_retries(mesh_policy)
    }
}

/// What explain says about a default retry policy: where it came from.
pub(crate) fn describe_default(r: &Retries, options: &super::MeshOptions) -> String {
    if options.default_retry_policy.is_none() {
        return format!("Istio's default {DEFAULT_RETRY_ATTEMPTS} retries on {DEFAULT_RETRY_ON}");
    }
    let what = if r.attempts == 0 {
        "retries disabled (attempts: 0)".to_string()
    } else {
        format!("{} retries on {}", r.attempts, r.retry_on)
    };
    format!(
        "meshConfig.defaultHttpRetryPolicy from {}: {what}",
        options.origin_text()
    )
}

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

    #[test]
    fn the_mesh_default_policy_replaces_istios_and_zero_attempts_disable_it() {
        // retry_test.go TestRetry "mesh default" cases: ConvertPolicy of the mesh policy.
        let mesh: HttpRetry =
            serde_json::from_str(r#"{"attempts": 7, "retryOn": "5xx", "perTryTimeout": "2s"}"#)
                .unwrap();
        let r = mesh_default_retries(Some(&mesh));
        assert!(r.default);
        assert_eq!((r.attempts, r.retry_on.as_str()), (7, "5xx"));
        assert_eq!(r.per_try_timeout, Some(Duration::from_secs(2)));
        let no_conditions: HttpRetry = serde_json::from_str(r#"{"attempts": 4}"#).unwrap();
        assert_eq!(
            mesh_default_retries(Some(&no_conditions)).retry_on,
            DEFAULT_RETRY_ON
        );
        let off: HttpRetry = serde_json::from_str(r#"{"attempts": 0}"#).unwrap();
        assert_eq!(mesh_default_retries(Some(&off)).attempts, 0);
        assert_eq!(mesh_default_retries(None), effective_retries(None));
    }
}
