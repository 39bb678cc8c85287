//! HTTP fault injection decision (Envoy fault filter as Istio configures it).
//!
//! Order: the delay roll first (only if a delay is configured), then, after
//! the delay (or at once), an independent abort roll (only if an abort is
//! configured). A roll fires when `R() % denominator < numerator`.
//!
//! Randomness: one value for the delay roll when a delay is configured, then
//! one value for the abort roll when an abort is configured — drawn even
//! when the numerator is 0 (Envoy's runtime `featureEnabled` always draws).

use super::random::Random;
use std::time::Duration;

/// Envoy `FractionalPercent`: `numerator / denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FractionalPercent {
    /// Numerator.
    pub numerator: u32,
    /// Denominator: 100, 10 000 or 1 000 000.
    pub denominator: u32,
}

impl FractionalPercent {
    /// Never fires.
    pub const NEVER: FractionalPercent = FractionalPercent {
        numerator: 0,
        denominator: 1_000_000,
    };

    /// Istio's translation of `percentage.value` (percent, a double): a
    /// per-million fraction ([`per_million`]).
    pub fn from_istio_percentage(value: f64) -> FractionalPercent {
        FractionalPercent {
            numerator: per_million(value),
            denominator: 1_000_000,
        }
    }

    /// Istio's translation of the deprecated integer `percent` (delay only).
    pub fn from_istio_percent(percent: i32) -> FractionalPercent {
        FractionalPercent {
            numerator: u32::try_from(percent.clamp(0, 100)).unwrap_or(0),
            denominator: 100,
        }
    }

    /// Envoy's evaluation for one random value.
    pub fn fires(self, random_value: u64) -> bool {
        let denominator = u64::from(self.denominator.max(1));
        random_value % denominator < u64::from(self.numerator)
    }
}

/// Istio's `translatePercentToFractionalPercent`: a percent (0 to 100, a
/// double) as parts per million, `value × 10000` truncated (so floating-point
/// artefacts such as `x.9999…` lose one unit, as in Istio). Fault delays,
/// aborts and mirror fractions all go through it. Out-of-range values clamp
/// to 0..=1 000 000 and NaN counts as 0.
pub fn per_million(percent: f64) -> u32 {
    // `as` saturates and maps NaN to 0: exactly the clamp wanted below 0.
    ((percent * 10_000.0) as u32).min(1_000_000)
}

/// What an injected abort answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortKind {
    /// A local reply with this HTTP status.
    Http(u16),
    /// A trailers-only gRPC reply: HTTP 200 with `grpc-status: <code>`.
    Grpc(u32),
}

/// A configured delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayFault {
    /// Fixed delay (Istio `fixedDelay`).
    pub duration: Duration,
    /// How often it applies.
    pub percentage: FractionalPercent,
}

/// A configured abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortFault {
    /// What the abort answers.
    pub kind: AbortKind,
    /// How often it applies.
    pub percentage: FractionalPercent,
}

/// A route's fault configuration (Envoy `HTTPFault` after Istio translation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultConfig {
    /// The delay, if configured.
    pub delay: Option<DelayFault>,
    /// The abort, if configured.
    pub abort: Option<AbortFault>,
}

/// What the fault filter does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultDecision {
    /// Hold the request this long first (flag `DI`). Not counted against the
    /// route timeout.
    pub delay: Option<Duration>,
    /// Then answer locally (flag `FI`, body `fault filter abort`); the router,
    /// retries, circuit breakers and outlier detection never see the request.
    pub abort: Option<AbortKind>,
}

impl FaultDecision {
    /// Envoy response flags for this decision (`DI`, `FI`, or both as `DI,FI`).
    pub fn response_flags(&self) -> &'static str {
        match (self.delay.is_some(), self.abort.is_some()) {
            (true, true) => "DI,FI",
            (true, false) => "DI",
            (false, true) => "FI",
            (false, false) => "",
        }
    }

    /// The HTTP status of the local reply when aborted (`200` for gRPC aborts).
    pub fn abort_http_status(&self) -> Option<u16> {
        self.abort.map(|a| match a {
            AbortKind::Http(s) => s,
            AbortKind::Grpc(_) => 200,
        })
    }
}

impl FaultConfig {
    /// Decide the faults for one request (see the module doc for randomness).
    pub fn decide(&self, rng: &mut impl Random) -> FaultDecision {
        let delay = self.delay.and_then(|d| {
            let fires = d.percentage.fires(rng.next_u64());
            // A zero delay that fires holds nothing and sets no flag.
            (fires && !d.duration.is_zero()).then_some(d.duration)
        });
        let abort = self
            .abort
            .and_then(|a| a.percentage.fires(rng.next_u64()).then_some(a.kind));
        FaultDecision { delay, abort }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Sequence, SplitMix64};

    fn config(delay_pct: f64, abort_pct: f64) -> FaultConfig {
        FaultConfig {
            delay: Some(DelayFault {
                duration: Duration::from_secs(7),
                percentage: FractionalPercent::from_istio_percentage(delay_pct),
            }),
            abort: Some(AbortFault {
                kind: AbortKind::Http(500),
                percentage: FractionalPercent::from_istio_percentage(abort_pct),
            }),
        }
    }

    #[test]
    fn percentage_conversion_truncates_per_million() {
        assert_eq!(
            FractionalPercent::from_istio_percentage(0.1).numerator,
            1000
        );
        assert_eq!(
            FractionalPercent::from_istio_percentage(100.0).numerator,
            1_000_000
        );
        assert_eq!(
            FractionalPercent::from_istio_percentage(0.00015).numerator,
            1
        );
        // 0.57 * 10000 = 5699.999999999999 in binary floating point.
        assert_eq!(
            FractionalPercent::from_istio_percentage(0.57).numerator,
            5699
        );
        assert_eq!(
            FractionalPercent::from_istio_percentage(0.58).numerator,
            5800
        );
        assert_eq!(
            FractionalPercent::from_istio_percentage(f64::NAN).numerator,
            0
        );
    }

    #[test]
    fn per_million_clamps_out_of_range_percentages() {
        assert_eq!(per_million(50.0), 500_000);
        assert_eq!(per_million(-3.0), 0);
        assert_eq!(per_million(250.0), 1_000_000);
        assert_eq!(per_million(f64::INFINITY), 1_000_000);
        assert_eq!(per_million(f64::NEG_INFINITY), 0);
    }

    #[test]
    fn delay_rolled_first_then_independent_abort_roll() {
        let c = config(50.0, 50.0);
        // 499_999 < 500_000 fires; 500_000 does not.
        let d = c.decide(&mut Sequence::new(vec![499_999, 500_000]));
        assert_eq!(d.delay, Some(Duration::from_secs(7)));
        assert_eq!(d.abort, None);
        assert_eq!(d.response_flags(), "DI");
        let d = c.decide(&mut Sequence::new(vec![500_000, 1_499_999]));
        assert_eq!(d.delay, None);
        assert_eq!(d.abort, Some(AbortKind::Http(500)));
        assert_eq!(d.abort_http_status(), Some(500));
    }

    #[test]
    fn absent_percentage_never_fires_but_still_draws() {
        let c = FaultConfig {
            delay: None,
            abort: Some(AbortFault {
                kind: AbortKind::Grpc(14),
                percentage: FractionalPercent::NEVER,
            }),
        };
        let mut rng = Sequence::new(vec![0]);
        assert_eq!(c.decide(&mut rng), FaultDecision::default());
        assert_eq!(rng.consumed(), 1);
        let always = FaultConfig {
            abort: Some(AbortFault {
                kind: AbortKind::Grpc(14),
                percentage: FractionalPercent::from_istio_percentage(100.0),
            }),
            ..c
        };
        assert_eq!(always.decide(&mut rng).abort_http_status(), Some(200));
    }

    #[test]
    fn deprecated_integer_percent_uses_hundred_denominator() {
        let p = FractionalPercent::from_istio_percent(30);
        assert!(p.fires(129)); // 29 < 30
        assert!(!p.fires(130)); // 30
    }

    #[test]
    fn both_fire_at_the_product_rate() {
        let c = config(50.0, 20.0);
        let mut rng = SplitMix64::new(42);
        let n = 100_000;
        let both = (0..n)
            .filter(|_| {
                let d = c.decide(&mut rng);
                d.delay.is_some() && d.abort.is_some()
            })
            .count();
        // Expected 10 %; 5 sigma ≈ 0.47 %.
        assert!((9_500..10_500).contains(&both), "{both}");
    }
}
