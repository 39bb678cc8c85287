use super::*;
use crate::outlier::{HostReport, IstioOutlierDetection, OutlierConfig};
use crate::random::{Sequence, SplitMix64};
use crate::time::Instant;
use proptest::prelude::*;
use std::time::Duration;

fn endpoints(n: usize) -> Vec<Endpoint> {
    (0..n)
        .map(|i| Endpoint::new(format!("10.0.{}.{}:9080", i / 250, i % 250 + 1)))
        .collect()
}

fn weighted(weights: &[u32]) -> Vec<Endpoint> {
    endpoints(weights.len())
        .into_iter()
        .zip(weights)
        .map(|(mut e, w)| {
            e.weight = *w;
            e
        })
        .collect()
}

fn counts(b: &mut Balancer, n: usize, picks: usize, rng: &mut impl Random) -> (Vec<usize>, usize) {
    let mut c = vec![0; n];
    let mut unpicked = 0;
    for _ in 0..picks {
        match b.pick(PickContext::default(), rng) {
            Pick::Host(h) => c[h] += 1,
            _ => unpicked += 1,
        }
    }
    (c, unpicked)
}

#[test]
fn scenario_ejected_host_gets_no_picks() {
    // resilience-ejected-host-no-picks.scenario.yaml
    let cfg = OutlierConfig::from_istio(&IstioOutlierDetection {
        consecutive_5xx_errors: Some(5),
        interval: Some(Duration::from_secs(10)),
        base_ejection_time: Some(Duration::from_secs(30)),
        max_ejection_percent: 50,
        ..Default::default()
    });
    let mut d = OutlierDetector::new(cfg.clone(), 2, Instant::ZERO);
    let mut events = Vec::new();
    for _ in 0..5 {
        d.report(
            0,
            HostReport::HttpStatus(503),
            Instant::from_secs(1),
            &mut Sequence::new(vec![0]),
            &mut events,
        );
    }
    let mut rng = SplitMix64::new(7);
    let mut b = Balancer::new(
        endpoints(2),
        LbPolicy::LEAST_REQUEST,
        cfg.healthy_panic_threshold,
        &mut rng,
    );
    b.sync_health(&d);
    assert_eq!(counts(&mut b, 2, 1000, &mut rng), (vec![0, 1000], 0));
    // The nearest case: both healthy, both picked.
    let mut b = Balancer::new(endpoints(2), LbPolicy::LEAST_REQUEST, 0, &mut rng);
    let (c, _) = counts(&mut b, 2, 1000, &mut rng);
    assert!(c[0] > 400 && c[1] > 400, "{c:?}");
}

#[test]
fn panic_uses_all_hosts_only_below_threshold() {
    let mut rng = SplitMix64::new(1);
    let mut b = Balancer::new(endpoints(4), LbPolicy::RoundRobin, 50, &mut rng);
    b.set_unhealthy(0, true);
    b.set_unhealthy(1, true);
    // 2 of 4 healthy: 50 % is not below 50.
    assert!(!b.in_panic());
    assert_eq!(counts(&mut b, 4, 100, &mut rng).0[..2], [0, 0]);
    b.set_unhealthy(2, true);
    assert!(b.in_panic());
    assert!(counts(&mut b, 4, 100, &mut rng).0.iter().all(|c| *c == 25));
    // Panic disabled (Istio's default with outlier detection): nothing to pick.
    let mut none = Balancer::new(endpoints(1), LbPolicy::RoundRobin, 0, &mut rng);
    none.set_unhealthy(0, true);
    assert_eq!(none.pick(PickContext::default(), &mut rng), Pick::NoHost);
}

#[test]
fn overprovisioning_factor_prevents_panic_with_most_hosts_healthy() {
    let mut rng = SplitMix64::new(1);
    // 100 % threshold, 3 of 4 healthy: health = min(100, 140*3/4 = 105) = 100 -> no panic.
    let mut b = Balancer::new(endpoints(4), LbPolicy::Random, 100, &mut rng);
    b.set_unhealthy(0, true);
    assert!(!b.in_panic());
    b.set_unhealthy(1, true);
    assert!(b.in_panic());
}

#[test]
fn round_robin_equal_weights_rotates_from_seed() {
    let mut rng = Sequence::new(vec![5]);
    let mut b = Balancer::new(endpoints(3), LbPolicy::RoundRobin, 50, &mut rng);
    let picks: Vec<Pick> = (0..4)
        .map(|_| b.pick(PickContext::default(), &mut rng))
        .collect();
    assert_eq!(
        picks,
        [Pick::Host(2), Pick::Host(0), Pick::Host(1), Pick::Host(2)]
    );
}

#[test]
fn least_request_keeps_first_sample_unless_strictly_fewer() {
    let mut rng = Sequence::new(vec![0, 0, 0, 1]);
    let mut b = Balancer::new(endpoints(2), LbPolicy::LEAST_REQUEST, 50, &mut rng);
    b.request_started(0);
    // Draws: seed 0; then priority 0, samples 0 and 1 -> host 1 has fewer.
    assert_eq!(b.pick(PickContext::default(), &mut rng), Pick::Host(1));
    b.request_started(1);
    // Equal counts: the first sample (1 % 2 = host 1) stays.
    assert_eq!(
        b.pick(PickContext::default(), &mut Sequence::new(vec![9, 1, 0])),
        Pick::Host(1)
    );
}

#[test]
fn weighted_least_request_prefers_idle_heavy_hosts() {
    let mut rng = SplitMix64::new(3);
    let mut b = Balancer::new(weighted(&[1, 2]), LbPolicy::LEAST_REQUEST, 50, &mut rng);
    let (c, _) = counts(&mut b, 2, 3000, &mut rng);
    assert!((c[1] as f64 / 3000.0 - 2.0 / 3.0).abs() < 0.02, "{c:?}");
}

#[test]
fn passthrough_and_hash_policies() {
    let mut rng = Sequence::new(vec![0]);
    let mut b = Balancer::new(endpoints(3), LbPolicy::Passthrough, 50, &mut rng);
    assert_eq!(
        b.pick(PickContext::default(), &mut rng),
        Pick::OriginalDestination
    );
    assert_eq!(rng.consumed(), 0);
    for policy in [LbPolicy::RING_HASH, LbPolicy::MAGLEV] {
        let mut b = Balancer::new(endpoints(5), policy, 50, &mut rng);
        let ctx = PickContext {
            hash: Some(42),
            attempt: 0,
        };
        let first = b.pick(ctx, &mut rng);
        assert_eq!(b.pick(ctx, &mut rng), first, "same hash, same host");
        assert_eq!(rng.consumed(), 0, "a request hash draws nothing");
        b.pick(PickContext::default(), &mut rng);
        assert_eq!(rng.consumed(), 1, "no hash: one draw");
        rng = Sequence::new(vec![0]);
    }
}

#[test]
fn ejection_moves_only_the_ejected_hosts_keys() {
    let mut rng = SplitMix64::new(1);
    for policy in [LbPolicy::RING_HASH, LbPolicy::MAGLEV] {
        let mut b = Balancer::new(endpoints(10), policy, 0, &mut rng);
        let before: Vec<Pick> = (0..2000u64)
            .map(|k| {
                b.pick(
                    PickContext {
                        hash: Some(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                        attempt: 0,
                    },
                    &mut rng,
                )
            })
            .collect();
        b.set_unhealthy(3, true);
        let after: Vec<Pick> = (0..2000u64)
            .map(|k| {
                b.pick(
                    PickContext {
                        hash: Some(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                        attempt: 0,
                    },
                    &mut rng,
                )
            })
            .collect();
        assert!(after.iter().all(|p| *p != Pick::Host(3)));
        let moved = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a != b && **a != Pick::Host(3))
            .count();
        // Ring hash moves none of the others; Maglev moves a few (its table is not minimal-disruption).
        assert!(moved < 2000 / 10, "{policy:?}: {moved}");
    }
}

fn moved_fraction(policy: LbPolicy, n: usize) -> f64 {
    let mut rng = Sequence::new(vec![0]);
    let a = Balancer::new(endpoints(n), policy, 0, &mut rng);
    let b = Balancer::new(endpoints(n + 1), policy, 0, &mut rng);
    let (mut a, mut b) = (a, b);
    let keys = 4000u64;
    let moved = (0..keys)
        .filter(|k| {
            let ctx = PickContext {
                hash: Some(k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555),
                attempt: 0,
            };
            a.pick(ctx, &mut rng) != b.pick(ctx, &mut rng)
        })
        .count();
    moved as f64 / keys as f64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn weighted_round_robin_matches_weights(weights in proptest::collection::vec(1u32..10, 2..6), seed: u64) {
        let mut rng = SplitMix64::new(seed);
        let n = weights.len();
        let total: u32 = weights.iter().sum();
        let picks = total as usize * 200;
        let mut b = Balancer::new(weighted(&weights), LbPolicy::RoundRobin, 50, &mut rng);
        let (c, _) = counts(&mut b, n, picks, &mut rng);
        for (i, w) in weights.iter().enumerate() {
            // EDF is deterministic: within a couple of picks of the exact share.
            let expected = *w as usize * 200;
            prop_assert!(c[i].abs_diff(expected) <= 2, "{:?} {:?}", c, weights);
        }
    }

    #[test]
    fn random_and_p2c_spread_evenly(n in 2usize..8, seed: u64) {
        for policy in [LbPolicy::Random, LbPolicy::LEAST_REQUEST] {
            let mut rng = SplitMix64::new(seed);
            let mut b = Balancer::new(endpoints(n), policy, 50, &mut rng);
            let picks = 8000;
            let (c, _) = counts(&mut b, n, picks, &mut rng);
            let p = 1.0 / n as f64;
            let sigma = (picks as f64 * p * (1.0 - p)).sqrt();
            for x in c {
                prop_assert!((x as f64 - picks as f64 * p).abs() < 6.0 * sigma);
            }
        }
    }

    #[test]
    fn ring_hash_distribution_matches_weights(weights in proptest::collection::vec(1u32..5, 2..5), seed: u64) {
        let mut rng = SplitMix64::new(seed);
        let n = weights.len();
        let total: u32 = weights.iter().sum();
        let mut b = Balancer::new(weighted(&weights), LbPolicy::RING_HASH, 50, &mut rng);
        let picks = 20_000;
        let (c, _) = counts(&mut b, n, picks, &mut rng);
        for (i, w) in weights.iter().enumerate() {
            let share = c[i] as f64 / picks as f64;
            let expected = *w as f64 / total as f64;
            // A 1024-entry ring has a few percent of placement noise.
            prop_assert!((share - expected).abs() < 0.08, "{:?} {:?}", c, weights);
        }
    }

    #[test]
    fn adding_a_host_moves_about_one_nth_of_keys(n in 3usize..20) {
        let bound = 1.0 / (n as f64 + 1.0);
        let ring = moved_fraction(LbPolicy::RING_HASH, n);
        let maglev = moved_fraction(LbPolicy::MAGLEV, n);
        // Envoy's ring re-scales every host's entry count when N changes
        // (scale = ceil(min_nw·min_ring)/min_nw), so about another 1/(N+1) of
        // keys moves between existing hosts: ~2/(N+1) in total.
        prop_assert!(ring < 2.0 * bound * 1.3 + 0.02, "ring {ring} vs {bound}");
        prop_assert!(maglev < bound * 1.6 + 0.02, "maglev {maglev} vs {bound}");
        prop_assert!(ring > 0.0 && maglev > 0.0);
    }
}
