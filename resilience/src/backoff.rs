//! Envoy's fully-jittered exponential retry back-off
//! (`JitteredExponentialBackOffStrategy`, current source).
//!
//! State: `next = base`. Each wait: `cur = next`; `next = 2·next` while
//! `next < max/2` (integer division), else `max`; the delay is
//! `R() % cur` milliseconds, clamped to `max`. With the default base 25 ms and
//! max 250 ms the successive ranges are `[0,25)`, `[0,50)`, `[0,100)`,
//! `[0,200)`, then `[0,250)` forever.
//!
//! Randomness: exactly one value per [`Backoff::next_delay`] call.

use super::random::Random;
use super::time::duration_millis;
use std::time::Duration;

/// Envoy's default retry base interval (runtime `upstream.base_retry_backoff_ms`).
pub const DEFAULT_BASE_INTERVAL: Duration = Duration::from_millis(25);

/// Per-request back-off generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    next_ms: u64,
}

impl Backoff {
    /// A generator with `base` and `max = 10 × base` (what Istio produces: it sets
    /// only the base interval). A base under 1 ms rounds up to 1 ms, as Envoy does.
    pub fn new(base: Duration) -> Self {
        let base_ms = Self::round_base(base);
        Self::with_max_ms(base_ms, base_ms.saturating_mul(10))
    }

    /// A generator with an explicit maximum (Envoy `retry_back_off.max_interval`).
    /// A maximum below the base is raised to the base (Envoy rejects it).
    pub fn with_max(base: Duration, max: Duration) -> Self {
        let base_ms = Self::round_base(base);
        Self::with_max_ms(base_ms, duration_millis(max).max(base_ms))
    }

    fn round_base(base: Duration) -> u64 {
        // Envoy reads the interval in whole milliseconds; below 1 ms it uses 1 ms.
        duration_millis(base).max(1)
    }

    fn with_max_ms(base_ms: u64, max_ms: u64) -> Self {
        Backoff {
            base_ms,
            max_ms,
            next_ms: base_ms,
        }
    }

    /// The upper bound (exclusive) of the next delay, without drawing.
    pub fn next_range(&self) -> Duration {
        Duration::from_millis(self.next_ms)
    }

    /// The largest delay this generator can ever return (its max interval).
    pub fn cap(&self) -> Duration {
        Duration::from_millis(self.max_ms)
    }

    /// Draw the next delay (consumes one random value) and advance the interval.
    pub fn next_delay(&mut self, rng: &mut impl Random) -> Duration {
        let cur = self.next_ms.max(1);
        self.next_ms = if self.next_ms < self.max_ms / 2 {
            self.next_ms.saturating_mul(2)
        } else {
            self.max_ms
        };
        Duration::from_millis((rng.next_u64() % cur).min(self.max_ms))
    }

    /// Start again from the base interval.
    pub fn reset(&mut self) {
        self.next_ms = self.base_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{Sequence, SplitMix64};
    use proptest::prelude::*;

    #[test]
    fn default_ranges_double_then_cap_at_ten_times_base() {
        let mut b = Backoff::new(DEFAULT_BASE_INTERVAL);
        let mut ranges = Vec::new();
        let mut rng = Sequence::new(vec![0]);
        for _ in 0..7 {
            ranges.push(b.next_range().as_millis());
            b.next_delay(&mut rng);
        }
        assert_eq!(ranges, [25, 50, 100, 200, 250, 250, 250]);
    }

    #[test]
    fn delay_is_draw_modulo_current_interval() {
        let mut b = Backoff::new(DEFAULT_BASE_INTERVAL);
        let mut rng = Sequence::new(vec![24, 25, 149]);
        assert_eq!(b.next_delay(&mut rng), Duration::from_millis(24));
        assert_eq!(b.next_delay(&mut rng), Duration::from_millis(25)); // 25 % 50
        assert_eq!(b.next_delay(&mut rng), Duration::from_millis(49)); // 149 % 100
        assert_eq!(rng.consumed(), 3);
    }

    #[test]
    fn odd_max_jumps_to_max_instead_of_doubling() {
        // max 7: L = 3; 1 -> 2 -> 4 (2 < 3) -> then 7, never 8.
        let mut b = Backoff::with_max(Duration::from_millis(1), Duration::from_millis(7));
        let mut rng = Sequence::new(vec![0]);
        let mut ranges = Vec::new();
        for _ in 0..4 {
            ranges.push(b.next_range().as_millis());
            b.next_delay(&mut rng);
        }
        assert_eq!(ranges, [1, 2, 4, 7]);
    }

    #[test]
    fn sub_millisecond_base_rounds_up_and_reset_restarts() {
        let mut b = Backoff::new(Duration::from_micros(300));
        assert_eq!(b.next_range(), Duration::from_millis(1));
        assert_eq!(b.cap(), Duration::from_millis(10));
        b.next_delay(&mut SplitMix64::new(1));
        assert_eq!(b.next_range(), Duration::from_millis(2));
        b.reset();
        assert_eq!(b.next_range(), Duration::from_millis(1));
    }

    proptest! {
        #[test]
        fn delay_always_within_zero_and_cap(base_ms in 1u64..5_000, seed: u64, n in 1usize..40) {
            let mut b = Backoff::new(Duration::from_millis(base_ms));
            let mut rng = SplitMix64::new(seed);
            for _ in 0..n {
                let range = b.next_range();
                let d = b.next_delay(&mut rng);
                prop_assert!(d < range);
                prop_assert!(d <= b.cap());
            }
        }
    }
}
