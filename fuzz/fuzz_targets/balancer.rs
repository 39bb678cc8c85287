//! Load balancers (round robin, least request, random, ring hash, Maglev,
//! passthrough) under arbitrary picks, health changes and request counts: a
//! pick names a known host, a healthy one unless the set is in panic, "no
//! host" only when no host may be picked, a hash policy is consistent for
//! the same hash, and the same randomness gives the same pick.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute::resilience::{Balancer, Endpoint, LbPolicy, Pick, PickContext, SplitMix64};

#[derive(Arbitrary, Debug)]
enum Op {
    Pick { hash: Option<u64>, attempt: u8, seed: u64 },
    SetUnhealthy { host: u8, unhealthy: bool },
    Started { host: u8 },
    Finished { host: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    weights: Vec<u8>,
    policy: u8,
    choice_count: u8,
    bias: u8,
    ring_min: u16,
    ring_max: u16,
    maglev_size: u8,
    panic_threshold: u8,
    seed: u64,
    ops: Vec<Op>,
}

const PRIMES: [u64; 6] = [2, 7, 13, 101, 257, 1009];

fuzz_target!(|input: Input| {
    let endpoints: Vec<Endpoint> = input
        .weights
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, w)| Endpoint {
            weight: u32::from(*w % 5),
            ..Endpoint::new(format!("10.0.0.{i}:8080"))
        })
        .collect();
    let n = endpoints.len();
    let policy = match input.policy % 6 {
        0 => LbPolicy::RoundRobin,
        1 => LbPolicy::LeastRequest {
            choice_count: u32::from(input.choice_count % 4),
            active_request_bias: f64::from(input.bias % 4) / 2.0,
        },
        2 => LbPolicy::Random,
        3 => LbPolicy::Passthrough,
        4 => {
            // Envoy requires minimum_ring_size >= 1 (Istio's 0 means the default).
            let min = u64::from(input.ring_min % 2048) + 1;
            LbPolicy::RingHash { minimum_ring_size: min, maximum_ring_size: min.max(u64::from(input.ring_max % 4096)) }
        }
        _ => LbPolicy::Maglev { table_size: PRIMES[usize::from(input.maglev_size) % PRIMES.len()] },
    };
    let hashed = matches!(policy, LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. });
    let threshold = u32::from(input.panic_threshold % 110);
    let mut b = Balancer::new(endpoints, policy, threshold, &mut SplitMix64::new(input.seed));
    let mut unhealthy = vec![false; n];
    for op in input.ops.iter().take(256) {
        match *op {
            Op::Pick { hash, attempt, seed } => {
                let ctx = PickContext { hash, attempt: u32::from(attempt % 8) };
                let mut twin = b.clone();
                let pick = b.pick(ctx, &mut SplitMix64::new(seed));
                assert_eq!(pick, twin.pick(ctx, &mut SplitMix64::new(seed)), "same state, same randomness, same pick");
                if hashed && hash.is_some() {
                    // Nothing changed since: the same hash picks the same host again.
                    let mut again = b.clone();
                    assert_eq!(again.pick(ctx, &mut SplitMix64::new(seed ^ 1)), pick, "hash picks are consistent");
                }
                let healthy = unhealthy.iter().filter(|u| !**u).count();
                match pick {
                    Pick::OriginalDestination => assert_eq!(policy, LbPolicy::Passthrough),
                    Pick::Host(h) => {
                        assert!(h < n, "picked {h} of {n}");
                        assert!(b.in_panic() || !unhealthy[h], "picked unhealthy {h} outside panic");
                    }
                    Pick::NoHost => {
                        assert_ne!(policy, LbPolicy::Passthrough);
                        assert!(n == 0 || (healthy == 0 && !b.in_panic()), "no host with {healthy} of {n} healthy");
                    }
                }
            }
            Op::SetUnhealthy { host, unhealthy: u } => {
                let h = usize::from(host) % (n + 1);
                b.set_unhealthy(h, u);
                if let Some(x) = unhealthy.get_mut(h) {
                    *x = u;
                }
                let healthy = unhealthy.iter().filter(|u| !**u).count();
                // Envoy's panic rule for one priority.
                let health = if n == 0 { 0 } else { (140 * healthy / n).min(100) };
                let panic = n > 0 && threshold > 0 && health < 100 && 100 * healthy < threshold as usize * n;
                assert_eq!(b.in_panic(), panic, "{healthy} of {n} healthy, threshold {threshold}");
            }
            Op::Started { host } => b.request_started(usize::from(host) % (n + 1)),
            Op::Finished { host } => b.request_finished(usize::from(host) % (n + 1)),
        }
    }
});
