//! The connection pool's circuit breakers under arbitrary starts, finishes,
//! warm-ups and retries: its counts agree with the requests it reports, no
//! limit is exceeded, an admission says what the request's state is, and a
//! shared pool whose guards are all dropped is empty again.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute::resilience::pool::{Overflow, Promotion, Protocol, RequestId};
use meshroute::resilience::shared::{SharedAdmission, SharedPool};
use meshroute::resilience::{Admission, ConnectionPool, PoolConfig};
use std::collections::BTreeSet;

#[derive(Arbitrary, Debug)]
enum Op {
    Start { host: u8 },
    Finish { pick: u16 },
    FinishUnknown { id: u64 },
    Warm { host: u8, n: u8 },
    AddHost,
    AcquireRetry,
    ReleaseRetry,
}

#[derive(Arbitrary, Debug)]
struct Input {
    hosts: u8,
    max_connections: u8,
    max_pending: u8,
    max_requests: u8,
    max_retries: u8,
    per_connection: Option<u8>,
    protocol: u8,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let config = PoolConfig {
        max_connections: u64::from(input.max_connections % 8),
        max_pending_requests: u64::from(input.max_pending % 8),
        max_requests: u64::from(input.max_requests % 8),
        max_retries: u64::from(input.max_retries % 4),
        max_requests_per_connection: input.per_connection.map(|n| u32::from(n % 4)),
        protocol: if input.protocol % 2 == 0 { Protocol::Http1 } else { Protocol::Http2 { max_concurrent_streams: u32::from(input.protocol % 4) } },
    };
    let mut hosts = usize::from(input.hosts % 4) + 1;
    let mut pool = ConnectionPool::new(config, hosts);
    let shared = SharedPool::new(ConnectionPool::new(config, hosts));
    let mut guards = Vec::new();
    let mut live: BTreeSet<u64> = BTreeSet::new();
    let mut retries: u64 = 0;
    let mut mirrored = true;
    for op in input.ops.iter().take(512) {
        match *op {
            Op::Start { host } => {
                let h = usize::from(host) % (hosts + 1);
                let stats = pool.stats();
                let a = pool.start(h);
                // Older pending requests the new connection served.
                let mut older_overflowed = 0;
                for p in pool.take_promotions() {
                    match p {
                        Promotion::Active(pid) => assert!(pool.is_active(pid) && live.contains(&pid.to_u64())),
                        Promotion::Overflow(pid) => {
                            older_overflowed += 1;
                            assert!(!pool.is_active(pid) && !pool.is_pending(pid));
                            assert!(live.remove(&pid.to_u64()), "only a live request overflows");
                        }
                    }
                }
                if !mirrored {
                    if let Ok(Admission::Active(id) | Admission::Pending(id)) = a {
                        assert!(pool.is_active(id) || pool.is_pending(id));
                        assert!(live.insert(id.to_u64()), "ids are unique");
                    }
                    continue;
                }
                let b = shared.start_guarded(h);
                match (&a, &b) {
                    (Ok(Admission::Active(id)), Ok(SharedAdmission::Active(g))) => {
                        assert!(pool.is_active(*id), "admitted as active: {id:?}");
                        assert_eq!(id.to_u64(), g.id().to_u64());
                        assert!(live.insert(id.to_u64()), "ids are unique");
                    }
                    (Ok(Admission::Pending(id)), Ok(SharedAdmission::Pending(g))) => {
                        assert!(pool.is_pending(*id), "admitted as pending: {id:?}");
                        assert_eq!(id.to_u64(), g.id().to_u64());
                        assert!(live.insert(id.to_u64()), "ids are unique");
                    }
                    (Ok(Admission::Overflow(o)), Ok(SharedAdmission::Overflow(p))) => {
                        assert_eq!(o, p);
                        let s = pool.stats();
                        match o {
                            Overflow::Pending => assert_eq!(s.pending_overflow, stats.pending_overflow + 1),
                            Overflow::Active => assert_eq!(s.active_overflow, stats.active_overflow + 1 + older_overflowed),
                        }
                    }
                    (Err(_), Err(_)) => assert!(h >= hosts),
                    _ => panic!("a shared pool admits as the pool does: {a:?} vs {b:?}"),
                }
                if let Ok(SharedAdmission::Active(g) | SharedAdmission::Pending(g)) = b {
                    guards.push(g);
                }
            }
            Op::Finish { pick } => {
                if live.is_empty() {
                    continue;
                }
                let n = usize::from(pick) % live.len();
                let Some(&id) = live.iter().nth(n) else { continue };
                live.remove(&id);
                let before = pool.stats();
                let promoted = pool.finish(RequestId::from_u64(id)).expect("a live request finishes");
                if let Some(pos) = guards.iter().position(|g| g.id().to_u64() == id) {
                    drop(guards.swap_remove(pos));
                }
                assert!(pool.stats().active <= before.active + promoted.len() as u64);
                for p in promoted {
                    match p {
                        Promotion::Active(pid) => assert!(pool.is_active(pid) && live.contains(&pid.to_u64())),
                        Promotion::Overflow(pid) => {
                            assert!(!pool.is_active(pid) && !pool.is_pending(pid));
                            assert!(live.remove(&pid.to_u64()), "only a live request overflows");
                        }
                    }
                }
            }
            Op::FinishUnknown { id } => {
                if live.contains(&id) {
                    continue;
                }
                let before = pool.stats();
                assert!(pool.finish(RequestId::from_u64(id)).is_err());
                assert_eq!(before, pool.stats(), "a failed finish changes nothing");
            }
            Op::Warm { host, n } => {
                let h = usize::from(host) % (hosts + 1);
                // The shared pool cannot be warmed: from here on the pool runs alone.
                let a = pool.warm(h, usize::from(n % 8));
                mirrored = false;
                assert_eq!(a.is_err(), h >= hosts);
            }
            Op::AddHost => {
                // The shared pool has no add_host: from here on the pool runs alone.
                assert_eq!(pool.add_host(), hosts);
                hosts += 1;
                mirrored = false;
            }
            Op::AcquireRetry => {
                if pool.try_acquire_retry() {
                    retries += 1;
                }
                assert!(retries <= config.max_retries);
            }
            Op::ReleaseRetry => {
                if retries > 0 {
                    pool.release_retry();
                    retries -= 1;
                }
            }
        }
        let s = pool.stats();
        let active = live.iter().filter(|id| pool.is_active(RequestId::from_u64(**id))).count() as u64;
        let pending = live.iter().filter(|id| pool.is_pending(RequestId::from_u64(**id))).count() as u64;
        assert_eq!(active + pending, live.len() as u64, "every live request is active or pending");
        assert_eq!(s.active, active);
        assert_eq!(s.pending, pending);
        assert!(s.active <= config.max_requests, "{s:?}");
        assert!(s.pending <= config.max_pending_requests, "{s:?}");
        assert_eq!(s.overflowed, s.pending_overflow + s.active_overflow);
        assert_eq!(s.retries, retries);
        if mirrored {
            let t = shared.stats();
            assert_eq!((t.active, t.pending), (s.active, s.pending), "the shared pool agrees");
        }
    }
    drop(guards);
    let t = shared.stats();
    assert_eq!((t.active, t.pending), (0, 0), "dropping every guard empties the pool");
});
