//! Per-event cost of the resilience machines and per-pick cost of the
//! balancers on 1,000 hosts.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use meshroute_resilience::balancer::{Balancer, Endpoint, LbPolicy, PickContext};
use meshroute_resilience::fault::{
    AbortFault, AbortKind, DelayFault, FaultConfig, FractionalPercent,
};
use meshroute_resilience::outlier::{
    HostReport, IstioOutlierDetection, OutlierConfig, OutlierDetector,
};
use meshroute_resilience::pool::{Admission, ConnectionPool, IstioConnectionPool, PoolConfig};
use meshroute_resilience::random::SplitMix64;
use meshroute_resilience::retry::{
    AttemptOutcome, ResponseInfo, RetryPolicy, RetryState, UnlimitedRetries,
};
use meshroute_resilience::time::Instant;
use std::time::Duration;

const HOSTS: usize = 1_000;

fn endpoints() -> Vec<Endpoint> {
    (0..HOSTS)
        .map(|i| {
            Endpoint::new(format!(
                "10.{}.{}.{}:9080",
                i / 65_536,
                (i / 256) % 256,
                i % 256
            ))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = SplitMix64::new(1);

    c.bench_function("retry: state + 3 outcomes", |b| {
        let policy = RetryPolicy::from_istio(3, None, Some("5xx"), None);
        let outcome = AttemptOutcome::Response(ResponseInfo::status(503));
        b.iter(|| {
            let mut s =
                RetryState::new(policy.clone(), Some(Duration::from_secs(10)), Instant::ZERO);
            for _ in 0..3 {
                black_box(s.on_outcome(&outcome, Instant::ZERO, &mut rng, &mut UnlimitedRetries));
            }
        })
    });

    c.bench_function("fault: decide", |b| {
        let f = FaultConfig {
            delay: Some(DelayFault {
                duration: Duration::from_secs(1),
                percentage: FractionalPercent::from_istio_percentage(10.0),
            }),
            abort: Some(AbortFault {
                kind: AbortKind::Http(503),
                percentage: FractionalPercent::from_istio_percentage(5.0),
            }),
        };
        b.iter(|| black_box(f.decide(&mut rng)))
    });

    c.bench_function("outlier: report (1000 hosts)", |b| {
        let cfg = OutlierConfig::from_istio(&IstioOutlierDetection {
            max_ejection_percent: 50,
            ..Default::default()
        });
        let mut d = OutlierDetector::new(cfg, HOSTS, Instant::ZERO);
        let mut events = Vec::new();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let host = (i % HOSTS as u64) as usize;
            let code = if i.is_multiple_of(7) { 200 } else { 503 };
            events.clear();
            d.report(
                host,
                HostReport::HttpStatus(code),
                Instant::from_millis(i / 1000),
                &mut rng,
                &mut events,
            );
            black_box(events.len())
        })
    });

    c.bench_function("pool: start + finish", |b| {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                http2_max_requests: 100,
                ..Default::default()
            },
            false,
        );
        let mut p = ConnectionPool::new(cfg, HOSTS);
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            if let Ok(Admission::Active(id)) = p.start(i % HOSTS) {
                black_box(p.finish(id).is_ok());
            }
        })
    });

    for (name, policy) in [
        ("pick: ring hash", LbPolicy::RING_HASH),
        ("pick: maglev", LbPolicy::MAGLEV),
        ("pick: least request P2C", LbPolicy::LEAST_REQUEST),
        ("pick: round robin", LbPolicy::RoundRobin),
        ("pick: random", LbPolicy::Random),
    ] {
        let mut lb = Balancer::new(endpoints(), policy, 0, &mut rng);
        let mut h = 0u64;
        c.bench_function(&format!("{name} (1000 hosts)"), |b| {
            b.iter(|| {
                h = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
                black_box(lb.pick(
                    PickContext {
                        hash: Some(h),
                        attempt: 0,
                    },
                    &mut rng,
                ))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
