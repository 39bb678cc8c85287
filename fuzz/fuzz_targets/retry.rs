//! Retries, back-off and fault injection under arbitrary policies and attempt
//! outcomes: retries never exceed the policy or the circuit breaker, every
//! retry slot taken is given back, a back-off stays below its range and cap
//! and never runs past the deadline, and faults fire as their percentages say.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute::resilience::fault::{AbortFault, AbortKind, DelayFault, FaultConfig, FractionalPercent};
use meshroute::resilience::retry::{
    parse_retry_on, AttemptOutcome, ResetReason, ResponseInfo, RetryCircuit, StopReason,
};
use meshroute::resilience::{Instant, RetryDecision, RetryPolicy, RetryState, SplitMix64};
use std::time::Duration;

#[derive(Arbitrary, Debug)]
enum Outcome {
    Response { status: u16, grpc: Option<u8>, ratelimited: bool },
    Reset { reason: u8, sent: bool },
    PerTry { sent: bool },
    Global,
}

#[derive(Arbitrary, Debug)]
struct Input {
    attempts: i8,
    retry_on: String,
    per_try_ms: Option<u16>,
    backoff_ms: Option<u16>,
    max_interval_ms: Option<u16>,
    route_timeout_ms: Option<u16>,
    circuit_limit: u8,
    seed: u64,
    outcomes: Vec<(Outcome, u16)>,
    fault_delay: Option<(u16, u32)>,
    fault_abort: Option<(u16, u32)>,
}

struct Counting {
    limit: u32,
    held: u32,
}

impl RetryCircuit for Counting {
    fn try_acquire_retry(&mut self) -> bool {
        if self.held < self.limit {
            self.held += 1;
            true
        } else {
            false
        }
    }
    fn release_retry(&mut self) {
        assert!(self.held > 0, "released a slot never taken");
        self.held -= 1;
    }
}

const REASONS: [ResetReason; 9] = [
    ResetReason::LocalConnectionFailure,
    ResetReason::RemoteConnectionFailure,
    ResetReason::ConnectionTimeout,
    ResetReason::ConnectionTermination,
    ResetReason::LocalReset,
    ResetReason::RemoteReset,
    ResetReason::RemoteRefusedStream,
    ResetReason::ProtocolError,
    ResetReason::Overflow,
];

fn outcome(o: &Outcome) -> AttemptOutcome {
    match *o {
        Outcome::Response { status, grpc, ratelimited } => AttemptOutcome::Response(ResponseInfo {
            status: status % 600,
            grpc_status: grpc.map(|g| u32::from(g % 20)),
            envoy_ratelimited: ratelimited,
        }),
        Outcome::Reset { reason, sent } => AttemptOutcome::Reset {
            reason: REASONS[usize::from(reason) % REASONS.len()],
            request_sent: sent,
        },
        Outcome::PerTry { sent } => AttemptOutcome::PerTryTimeout { request_sent: sent },
        Outcome::Global => AttemptOutcome::GlobalTimeout,
    }
}

fn ms(v: Option<u16>) -> Option<Duration> {
    v.map(|m| Duration::from_millis(u64::from(m)))
}

fuzz_target!(|input: Input| {
    let text: String = input.retry_on.chars().take(200).collect();
    let _ = parse_retry_on(&text);
    let policy = RetryPolicy::from_istio(
        i32::from(input.attempts),
        ms(input.per_try_ms),
        Some(text.as_str()),
        ms(input.backoff_ms),
    )
    .map(|mut p| {
        p.max_interval = ms(input.max_interval_ms);
        p
    });
    assert_eq!(policy.is_none(), input.attempts <= 0, "attempts <= 0 disables retries");
    let num_retries = policy.as_ref().map_or(0, |p| p.num_retries);
    let cap = policy.as_ref().map(|p| p.backoff().cap());
    let mut now = Instant(1_000);
    let mut state = RetryState::new(policy, ms(input.route_timeout_ms), now);
    let mut circuit = Counting { limit: u32::from(input.circuit_limit % 4), held: 0 };
    let mut rng = SplitMix64::new(input.seed);
    let mut retries = 0;
    for (o, dt) in input.outcomes.iter().take(32) {
        now = now + Duration::from_millis(u64::from(*dt));
        let o = outcome(o);
        let would = state.would_retry(&o);
        match state.on_outcome(&o, now, &mut rng, &mut circuit) {
            RetryDecision::Retry { after } => {
                retries += 1;
                assert!(would, "retried an outcome the policy does not cover");
                assert!(retries <= num_retries, "more retries than the policy allows");
                assert!(circuit.held <= circuit.limit);
                assert!(after <= cap.unwrap_or(Duration::MAX), "back-off {after:?} above the cap");
                if let Some(d) = state.deadline() {
                    assert!(now + after < d, "a retry that would wake after the deadline");
                }
                assert_eq!(state.attempts(), retries + 1);
                now = now + after;
            }
            RetryDecision::Stop { reason, .. } => {
                if matches!(o, AttemptOutcome::GlobalTimeout) {
                    assert_eq!(reason, StopReason::Deadline);
                }
                if reason == StopReason::NotRetriable {
                    assert!(!would);
                }
                break;
            }
        }
    }
    state.finish(&mut circuit);
    assert_eq!(circuit.held, 0, "every retry slot is given back");

    // Back-off: each delay is below its range and the cap; the range only grows to the cap.
    if let (Some(base), Some(max)) = (input.backoff_ms, input.max_interval_ms) {
        let mut b = meshroute::resilience::backoff::Backoff::with_max(
            Duration::from_millis(u64::from(base)),
            Duration::from_millis(u64::from(max)),
        );
        let mut prev = b.next_range();
        for _ in 0..12 {
            let range = b.next_range();
            assert!(range >= prev && range <= b.cap().max(Duration::from_millis(1)));
            let d = b.next_delay(&mut rng);
            assert!(d < range.max(Duration::from_millis(1)) && d <= b.cap(), "{d:?} {range:?}");
            prev = range;
        }
    }

    // Faults: 0 % never fires, 100 % always does; the flags say what happened.
    let percent = |n: u32| FractionalPercent { numerator: n % 1_000_001, denominator: 1_000_000 };
    let config = FaultConfig {
        delay: input.fault_delay.map(|(d, p)| DelayFault {
            duration: Duration::from_millis(u64::from(d)),
            percentage: percent(p),
        }),
        abort: input.fault_abort.map(|(s, p)| AbortFault { kind: AbortKind::Http(s), percentage: percent(p) }),
    };
    let f = config.decide(&mut rng);
    assert_eq!(f.abort.is_some(), !f.response_flags().ends_with("DI") && !f.response_flags().is_empty());
    if let Some(a) = config.abort {
        if a.percentage.numerator == 0 {
            assert!(f.abort.is_none());
        }
        if a.percentage.numerator == 1_000_000 {
            assert!(f.abort.is_some());
        }
    } else {
        assert!(f.abort.is_none());
    }
    if let Some(d) = config.delay {
        if d.percentage.numerator == 0 || d.duration.is_zero() {
            assert!(f.delay.is_none());
        }
        if d.percentage.numerator == 1_000_000 && !d.duration.is_zero() {
            assert_eq!(f.delay, Some(d.duration));
        }
    }
});
