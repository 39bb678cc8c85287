//! Thread-safe variants of the detector, the pool and the balancer.
//!
//! Locking: each shared machine is one [`std::sync::Mutex`] around the
//! single-threaded machine (one lock per machine instance, held only for
//! the duration of one call, never across calls and never two at once), so
//! every decision sees a consistent state exactly as the sequential machine
//! would — the same guarantee Envoy gets by funnelling detections to its main
//! thread and circuit-breaker counts through shared atomics. A poisoned lock
//! (a panic in another thread) is recovered, since the machines keep their
//! invariants between statements that can panic.
//!
//! The pool hands out RAII guards: dropping a [`RequestGuard`] finishes (or
//! cancels) its request, dropping a [`RetryGuard`] releases its retry slot.
//! Explicit functions ([`SharedPool::finish`], [`SharedPool::release_retry`])
//! do the same for callers that cannot hold a guard (FFI).

use super::balancer::{Balancer, Pick, PickContext};
use super::outlier::{HostId, HostReport, OutlierDetector, OutlierEvent};
use super::pool::{Admission, ConnectionPool, PoolError, PoolStats, Promotion, RequestId};
use super::random::Random;
use super::retry::RetryCircuit;
use super::time::Instant;
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An [`OutlierDetector`] shared between threads.
#[derive(Debug)]
pub struct SharedDetector(Mutex<OutlierDetector>);

impl SharedDetector {
    /// Wrap a detector.
    pub fn new(detector: OutlierDetector) -> SharedDetector {
        SharedDetector(Mutex::new(detector))
    }

    /// [`OutlierDetector::report`] under the lock.
    pub fn report(
        &self,
        host: HostId,
        report: HostReport,
        now: Instant,
        rng: &mut impl Random,
        events: &mut Vec<OutlierEvent>,
    ) {
        lock(&self.0).report(host, report, now, rng, events);
    }

    /// [`OutlierDetector::advance_to`] under the lock.
    pub fn advance_to(&self, now: Instant, events: &mut Vec<OutlierEvent>) {
        lock(&self.0).advance_to(now, events);
    }

    /// Run `f` on the detector under the lock (reads, snapshots).
    pub fn with<R>(&self, f: impl FnOnce(&mut OutlierDetector) -> R) -> R {
        f(&mut lock(&self.0))
    }
}

/// A [`ConnectionPool`] shared between threads.
#[derive(Debug)]
pub struct SharedPool(Mutex<ConnectionPool>);

/// The admission of a new request on a shared pool.
#[derive(Debug)]
pub enum SharedAdmission {
    /// Running now; drop the guard when the request ends.
    Active(RequestGuard),
    /// Queued; the guard reports when it runs ([`RequestGuard::is_active`]);
    /// dropping it cancels or finishes the request.
    Pending(RequestGuard),
    /// Failed at once with overflow (503 `UO`).
    Overflow(super::pool::Overflow),
}

/// A request admitted to a [`SharedPool`]; dropping it ends the request.
#[derive(Debug)]
pub struct RequestGuard {
    pool: Arc<SharedPool>,
    id: RequestId,
}

impl RequestGuard {
    /// The request id.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Whether the request runs now (a pending one may have been promoted).
    pub fn is_active(&self) -> bool {
        lock(&self.pool.0).is_active(self.id)
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        // A pending request promoted to overflow is already gone: nothing to release.
        let _ = lock(&self.pool.0).finish(self.id);
    }
}

/// A circuit-breaker retry slot; dropping it releases the slot.
#[derive(Debug)]
pub struct RetryGuard {
    pool: Arc<SharedPool>,
}

impl Drop for RetryGuard {
    fn drop(&mut self) {
        lock(&self.pool.0).release_retry();
    }
}

impl SharedPool {
    /// Wrap a pool.
    pub fn new(pool: ConnectionPool) -> Arc<SharedPool> {
        Arc::new(SharedPool(Mutex::new(pool)))
    }

    /// Admit a request with an RAII guard.
    pub fn start_guarded(self: &Arc<Self>, host: HostId) -> Result<SharedAdmission, PoolError> {
        let admission = lock(&self.0).start(host)?;
        let guard = |id| RequestGuard {
            pool: Arc::clone(self),
            id,
        };
        Ok(match admission {
            Admission::Active(id) => SharedAdmission::Active(guard(id)),
            Admission::Pending(id) => SharedAdmission::Pending(guard(id)),
            Admission::Overflow(o) => SharedAdmission::Overflow(o),
        })
    }

    /// Admit a request without a guard; end it with [`SharedPool::finish`].
    pub fn start(&self, host: HostId) -> Result<Admission, PoolError> {
        lock(&self.0).start(host)
    }

    /// End a request admitted by [`SharedPool::start`].
    pub fn finish(&self, id: RequestId) -> Result<Vec<Promotion>, PoolError> {
        lock(&self.0).finish(id)
    }

    /// Take a retry slot as a guard; `None` = retry overflow.
    pub fn acquire_retry_guarded(self: &Arc<Self>) -> Option<RetryGuard> {
        lock(&self.0).try_acquire_retry().then(|| RetryGuard {
            pool: Arc::clone(self),
        })
    }

    /// Take a retry slot; give it back with [`SharedPool::release_retry`].
    pub fn try_acquire_retry(&self) -> bool {
        lock(&self.0).try_acquire_retry()
    }

    /// Give a retry slot back.
    pub fn release_retry(&self) {
        lock(&self.0).release_retry();
    }

    /// Totals and current counts.
    pub fn stats(&self) -> PoolStats {
        lock(&self.0).stats()
    }
}

impl RetryCircuit for &SharedPool {
    fn try_acquire_retry(&mut self) -> bool {
        SharedPool::try_acquire_retry(self)
    }
    fn release_retry(&mut self) {
        SharedPool::release_retry(self)
    }
}

/// A [`Balancer`] shared between threads.
#[derive(Debug)]
pub struct SharedBalancer(Mutex<Balancer>);

impl SharedBalancer {
    /// Wrap a balancer.
    pub fn new(balancer: Balancer) -> SharedBalancer {
        SharedBalancer(Mutex::new(balancer))
    }

    /// [`Balancer::pick`] under the lock.
    pub fn pick(&self, ctx: PickContext, rng: &mut impl Random) -> Pick {
        lock(&self.0).pick(ctx, rng)
    }

    /// Take host health from a shared detector (locks the detector, then the
    /// balancer, never both at once).
    pub fn sync_health(&self, detector: &SharedDetector) {
        let n = lock(&self.0).endpoints().len();
        let ejected: Vec<bool> = detector.with(|d| (0..n).map(|h| d.is_ejected(h)).collect());
        let mut b = lock(&self.0);
        for (h, e) in ejected.into_iter().enumerate() {
            b.set_unhealthy(h, e);
        }
    }

    /// Run `f` on the balancer under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut Balancer) -> R) -> R {
        f(&mut lock(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Endpoint, LbPolicy};
    use crate::outlier::{IstioOutlierDetection, OutlierConfig};
    use crate::pool::{IstioConnectionPool, PoolConfig};
    use crate::random::SplitMix64;
    use std::thread;

    #[test]
    fn eight_threads_hammering_one_pool_and_one_detector_balance() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                max_connections: 4,
                http1_max_pending_requests: 8,
                http2_max_requests: 6,
                max_retries: 3,
                ..Default::default()
            },
            false,
        );
        let pool = SharedPool::new(ConnectionPool::new(cfg, 4));
        let od = OutlierConfig::from_istio(&IstioOutlierDetection {
            max_ejection_percent: 50,
            ..Default::default()
        });
        let detector = Arc::new(SharedDetector::new(OutlierDetector::new(
            od,
            4,
            Instant::ZERO,
        )));
        let balancer = Arc::new(SharedBalancer::new(Balancer::new(
            (0..4)
                .map(|i| Endpoint::new(format!("10.0.0.{i}:80")))
                .collect(),
            LbPolicy::LEAST_REQUEST,
            0,
            &mut SplitMix64::new(0),
        )));
        const PER_THREAD: usize = 2_000;
        let handles: Vec<_> = (0..8u64)
            .map(|t| {
                let (pool, detector, balancer) = (
                    Arc::clone(&pool),
                    Arc::clone(&detector),
                    Arc::clone(&balancer),
                );
                thread::spawn(move || {
                    let mut rng = SplitMix64::new(t);
                    let mut events = Vec::new();
                    let mut held = Vec::new();
                    let mut outcomes = (0u64, 0u64);
                    for i in 0..PER_THREAD {
                        let host = match balancer.pick(PickContext::default(), &mut rng) {
                            Pick::Host(h) => h,
                            _ => i % 4,
                        };
                        match pool.start_guarded(host) {
                            Ok(SharedAdmission::Overflow(_)) => outcomes.1 += 1,
                            Ok(SharedAdmission::Active(g) | SharedAdmission::Pending(g)) => {
                                outcomes.0 += 1;
                                held.push(g);
                            }
                            Err(_) => {}
                        }
                        if held.len() > 20 {
                            held.remove(0);
                        }
                        let _retry = pool.acquire_retry_guarded();
                        let code = if rng.next_u64().is_multiple_of(3) {
                            503
                        } else {
                            200
                        };
                        let now = Instant::from_millis((i as u64) * 10);
                        detector.report(
                            host,
                            HostReport::HttpStatus(code),
                            now,
                            &mut rng,
                            &mut events,
                        );
                        if i % 50 == 0 {
                            balancer.sync_health(&detector);
                        }
                    }
                    drop(held);
                    outcomes
                })
            })
            .collect();
        let mut totals = (0u64, 0u64);
        for h in handles {
            let (a, o) = h.join().unwrap_or((0, 0));
            totals.0 += a;
            totals.1 += o;
        }
        let s = pool.stats();
        assert_eq!(
            totals.0 + totals.1,
            8 * PER_THREAD as u64,
            "every start answered once"
        );
        assert_eq!(s.overflowed, totals.1);
        // Every admitted or pending request ended: admitted ones ran, pending ones
        // were promoted (counted in admitted) or cancelled, or overflowed on promotion.
        assert_eq!((s.active, s.pending, s.retries), (0, 0, 0));
        assert!(s.admitted <= totals.0 && s.admitted > 0);
        assert!(s.overflowed > 0, "the limits were hit");
        detector.with(|d| {
            assert_eq!(d.ejections_active(), d.ejected_hosts().count());
            assert!(d.ejections_active() <= 2);
            let st = d.stats();
            assert_eq!(
                st.ejections_enforced - st.unejections,
                d.ejections_active() as u64
            );
        });
    }

    #[test]
    fn dropping_guards_releases_slots() {
        let cfg = PoolConfig::from_istio(
            &IstioConnectionPool {
                http2_max_requests: 1,
                max_retries: 1,
                ..Default::default()
            },
            false,
        );
        let pool = SharedPool::new(ConnectionPool::new(cfg, 1));
        let first = pool.start_guarded(0);
        assert!(matches!(first, Ok(SharedAdmission::Active(_))));
        assert!(matches!(
            pool.start_guarded(0),
            Ok(SharedAdmission::Overflow(_))
        ));
        drop(first);
        assert!(matches!(
            pool.start_guarded(0),
            Ok(SharedAdmission::Active(_))
        ));
        let r = pool.acquire_retry_guarded();
        assert!(r.is_some());
        assert!(pool.acquire_retry_guarded().is_none());
        drop(r);
        assert!(pool.acquire_retry_guarded().is_some());
    }
}
