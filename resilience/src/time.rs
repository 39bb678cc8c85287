//! Caller-owned monotonic time.
//!
//! Nothing in meshroute reads a clock: every state machine is told the time by
//! its caller as an [`Instant`], a point on the caller's monotonic timeline in
//! nanoseconds. Durations are [`std::time::Duration`].

use std::time::Duration;

/// A point in time on the caller's monotonic timeline, in nanoseconds from an
/// origin the caller chooses (a scenario uses its start as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The origin of the timeline.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// The instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// The instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Instant {
        Instant(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the end of the timeline.
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = Duration::from_nanos(self.0);
        write!(f, "{}.{:03}s", d.as_secs(), d.subsec_millis())
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
pub fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
pub fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let end = Instant(u64::MAX - 1);
        assert_eq!(end + Duration::from_secs(1), Instant(u64::MAX));
        assert_eq!(
            Instant::from_secs(1).saturating_since(Instant::from_secs(2)),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_secs(3).saturating_since(Instant::from_millis(500)),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn display_shows_seconds_and_millis() {
        assert_eq!(Instant::from_millis(32_005).to_string(), "32.005s");
    }
}
