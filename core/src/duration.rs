//! Durations as Istio reads and checks them.
//!
//! Istio's YAML carries `google.protobuf.Duration` fields as strings in Go
//! `time.ParseDuration` syntax (`1h`, `30m`, `5s`, `1.5s`, `250ms`, `1h30m`,
//! `300us`, `0s`). [`parse_duration`] accepts exactly that syntax,
//! [`validate_istio_duration`] applies Istio's admission rule (>= 1ms, whole
//! milliseconds) and [`format_duration`] writes a duration back in one canonical
//! form. Durations compare by value (`1m == 60s`): they are plain
//! [`std::time::Duration`]s.

use std::time::Duration;

/// Why a duration string was refused. The message quotes the input as Go does
/// (`invalid duration "5 s"`), followed by the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: DurationErrorReason,
}

/// The specific problem with a duration string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationErrorReason {
    /// Not Go duration syntax (empty, stray characters, spaces, lone `.`).
    #[error(
        "expected a number followed by a unit (h, m, s, ms, us, ns), e.g. \"5s\" or \"1h30m\""
    )]
    Syntax,
    /// A number without a unit (only a bare `0` may omit it).
    #[error("missing unit (use h, m, s, ms, us or ns), e.g. \"5s\"")]
    MissingUnit,
    /// A unit Go does not know (`5sec`, `1d`).
    #[error("unknown unit (use h, m, s, ms, us or ns)")]
    UnknownUnit,
    /// Larger than Go's `time.Duration` can hold (about 292 years).
    #[error("out of range (more than 2562047h47m16.854775807s)")]
    Overflow,
    /// A leading `-` with a non-zero value; no Istio duration field accepts it
    /// (Istio's own check would say "duration must be greater than 1ms").
    #[error("negative durations are not allowed")]
    Negative,
}

/// Largest duration Go can represent: `1<<63 - 1` nanoseconds.
const MAX_NANOS: u64 = i64::MAX as u64;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 micro sign and U+03BC Greek small mu, as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration string (`time.ParseDuration`) into a [`Duration`].
///
/// Accepted: an optional sign, then one or more `<number><unit>` parts where
/// the number may have a fraction (`1.5h`, `.5s`, `1.s`) and the unit is one of
/// `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`; or a bare `0`. Fractions are
/// converted as Go converts them (digits beyond nanosecond precision are
/// dropped). A negative non-zero value is an error because `Duration` cannot
/// hold it and no Istio field allows it.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let mut s = input;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(fail(DurationErrorReason::Syntax));
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let bytes = s.as_bytes();
        let first = bytes.first().copied().unwrap_or(b' ');
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(fail(DurationErrorReason::Syntax));
        }
        // Integer part.
        let int_len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut whole: u64 = 0;
        for &b in &bytes[..int_len] {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(|| fail(DurationErrorReason::Overflow))?;
        }
        let mut rest = &s[int_len..];
        let had_int = int_len > 0;
        // Fraction part, accumulated as Go's leadingFraction does: digits that
        // would overflow are consumed but ignored.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut had_frac = false;
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            had_frac = frac_len > 0;
            let mut overflowed = false;
            for b in after_dot[..frac_len].bytes() {
                if overflowed {
                    continue;
                }
                if frac > (MAX_NANOS) / 10 {
                    overflowed = true;
                    continue;
                }
                let next = frac * 10 + u64::from(b - b'0');
                if next > MAX_NANOS {
                    overflowed = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            rest = &after_dot[frac_len..];
        }
        if !had_int && !had_frac {
            return Err(fail(DurationErrorReason::Syntax));
        }
        // Unit: everything up to the next digit or '.'.
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(fail(DurationErrorReason::MissingUnit));
        }
        let Some(per_unit) = unit_nanos(unit) else {
            return Err(fail(if unit.chars().all(char::is_alphabetic) {
                DurationErrorReason::UnknownUnit
            } else {
                DurationErrorReason::Syntax
            }));
        };
        let mut part = whole
            .checked_mul(per_unit)
            .filter(|v| *v <= MAX_NANOS)
            .ok_or_else(|| fail(DurationErrorReason::Overflow))?;
        if frac > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)).
            // Truncation toward zero is the intent, as in Go's conversion.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let frac_nanos = (frac as f64 * (per_unit as f64 / scale)) as u64;
            part = part
                .checked_add(frac_nanos)
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(|| fail(DurationErrorReason::Overflow))?;
        }
        total = total
            .checked_add(part)
            .filter(|v| *v <= MAX_NANOS)
            .ok_or_else(|| fail(DurationErrorReason::Overflow))?;
        s = &rest[unit_len..];
    }
    if negative && total > 0 {
        return Err(fail(DurationErrorReason::Negative));
    }
    Ok(Duration::from_nanos(total))
}

/// Istio's admission check for duration fields (`agent.ValidateDuration`):
/// at least 1ms and a whole number of milliseconds.
///
/// Fields that Istio does not check (cookie `ttl`, TCP `idleTimeout`,
/// retry-budget `budgetInterval`) must not call this.
pub fn validate_istio_duration(d: Duration) -> Result<(), String> {
    if d < Duration::from_millis(1) {
        return Err("duration must be greater than 1ms".to_string());
    }
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return Err("only durations to ms precision are supported".to_string());
    }
    Ok(())
}

/// Writes a duration in meshroute's canonical form, which
/// [`parse_duration`] reads back to the same value.
///
/// The form: zero is `0s`; below one second the largest unit of `ms`, `us`,
/// `ns` that keeps the number >= 1, with a decimal fraction when needed
/// (`500ms`, `1.5ms`, `250us`, `3ns`); from one second up, `h`, `m` and `s`
/// parts, omitting parts that are zero, seconds with a decimal fraction when
/// needed (`5s`, `1.5s`, `2m`, `1m30s`, `1h`, `1h0.5s` is written `1h0.5s`).
/// Unlike Go's `Duration.String` (`1h0m0s`), zero parts are left out.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        let (unit, per) = if nanos >= 1_000_000 {
            ("ms", 1_000_000u128)
        } else if nanos >= 1_000 {
            ("us", 1_000u128)
        } else {
            ("ns", 1u128)
        };
        return format!("{}{unit}", decimal(nanos, per));
    }
    let secs_total = d.as_secs();
    let hours = secs_total / 3600;
    let minutes = (secs_total % 3600) / 60;
    let secs = u128::from(secs_total % 60) * 1_000_000_000 + u128::from(d.subsec_nanos());
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if secs > 0 {
        out.push_str(&decimal(secs, 1_000_000_000));
        out.push('s');
    }
    out
}

/// `value / per` written as a decimal with trailing zeros removed.
fn decimal(value: u128, per: u128) -> String {
    let whole = value / per;
    let frac = value % per;
    if frac == 0 {
        return whole.to_string();
    }
    let width = per.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn parses_the_forms_istio_users_write() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("300us"), Ok(Duration::from_micros(300)));
        assert_eq!(parse_duration("1µs"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_duration("1μs"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("-0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("1.s"), Ok(ms(1000)));
        assert_eq!(parse_duration("+2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h1m1s1ms"), Ok(ms(3_661_001)));
        // Sub-nanosecond digits are dropped, as in Go.
        assert_eq!(parse_duration("1.0000000001s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn long_fractions_are_cut_at_the_nanosecond_as_go_cuts_them() {
        // Route-test expectations compare durations through this parser, so
        // these decide which written durations are equal.
        assert_eq!(
            parse_duration("1.9999999999s"),
            Ok(Duration::from_nanos(1_999_999_999))
        );
        assert_eq!(
            parse_duration("0.123456789123456789123s"),
            Ok(Duration::from_nanos(123_456_789))
        );
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("-0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.5s"), parse_duration("500ms"));
        assert_eq!(parse_duration("1m30s"), parse_duration("90s"));
    }

    #[test]
    fn rejects_malformed_text_with_a_clear_reason() {
        let e = parse_duration("5 s").unwrap_err();
        assert!(e.to_string().starts_with("invalid duration \"5 s\""), "{e}");
        assert_eq!(
            parse_duration("5").unwrap_err().reason,
            DurationErrorReason::MissingUnit
        );
        assert_eq!(
            parse_duration("5sec").unwrap_err().reason,
            DurationErrorReason::UnknownUnit
        );
        assert_eq!(
            parse_duration("1d").unwrap_err().reason,
            DurationErrorReason::UnknownUnit
        );
        assert_eq!(
            parse_duration("").unwrap_err().reason,
            DurationErrorReason::Syntax
        );
        assert_eq!(
            parse_duration(".s").unwrap_err().reason,
            DurationErrorReason::Syntax
        );
        assert_eq!(
            parse_duration("s").unwrap_err().reason,
            DurationErrorReason::Syntax
        );
        assert_eq!(
            parse_duration("-5s").unwrap_err().reason,
            DurationErrorReason::Negative
        );
        assert_eq!(
            parse_duration("3000000h").unwrap_err().reason,
            DurationErrorReason::Overflow
        );
        assert_eq!(
            parse_duration("99999999999999999999s").unwrap_err().reason,
            DurationErrorReason::Overflow
        );
        // Largest representable value parses; one more nanosecond does not.
        assert!(parse_duration("9223372036854775807ns").is_ok());
        assert!(parse_duration("9223372036854775808ns").is_err());
    }

    #[test]
    fn istio_validation_requires_whole_milliseconds_from_one() {
        assert_eq!(validate_istio_duration(ms(1)), Ok(()));
        assert_eq!(validate_istio_duration(ms(1500)), Ok(()));
        assert_eq!(
            validate_istio_duration(Duration::from_micros(999)),
            Err("duration must be greater than 1ms".to_string())
        );
        assert_eq!(
            validate_istio_duration(Duration::ZERO),
            Err("duration must be greater than 1ms".to_string())
        );
        assert_eq!(
            validate_istio_duration(Duration::from_micros(1500)),
            Err("only durations to ms precision are supported".to_string())
        );
    }

    #[test]
    fn formats_in_the_documented_canonical_form() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(100)), "100ms");
        assert_eq!(format_duration(ms(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(3605)), "1h5s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_micros(250)), "250us");
        assert_eq!(format_duration(Duration::from_nanos(3)), "3ns");
    }

    #[test]
    fn durations_compare_by_value() {
        assert_eq!(parse_duration("1m"), parse_duration("60s"));
        assert_eq!(parse_duration("1.5s"), parse_duration("1500ms"));
        assert_ne!(parse_duration("1m"), parse_duration("61s"));
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(nanos in 0u64..=i64::MAX as u64) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn format_then_parse_round_trips_for_millisecond_values(millis in 0u64..10_000_000_000) {
            let d = Duration::from_millis(millis);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
