//! Round robin: a plain rotating index for equal weights, Envoy's EDF
//! scheduler for unequal weights (also used by weighted least request).

use crate::outlier::HostId;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Envoy bounds the start offset of a fresh EDF scheduler to `seed % (u32::MAX / 10)`.
const MAX_PREPICKS: u64 = 429_496_729;

#[derive(Debug, Clone, Copy)]
struct Entry {
    deadline: f64,
    order: u64,
    host: HostId,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: reverse so the earliest deadline (then lowest order) pops first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .deadline
            .total_cmp(&self.deadline)
            .then(other.order.cmp(&self.order))
    }
}

/// Earliest-deadline-first scheduler over weighted hosts.
#[derive(Debug, Clone, Default)]
pub struct Edf {
    heap: BinaryHeap<Entry>,
    current_time: f64,
    order: u64,
}

impl Edf {
    /// A scheduler over `(host, weight)` that starts as if `seed % 429496729`
    /// picks had been made (Envoy `createWithPicks`, O(n) + < n picks).
    /// Weights must be positive; non-positive ones are treated as 1.
    pub fn with_prepicks(hosts: &[(HostId, f64)], seed: u64) -> Edf {
        let picks = seed % MAX_PREPICKS;
        let weight = |w: f64| if w > 0.0 && w.is_finite() { w } else { 1.0 };
        let total: f64 = hosts.iter().map(|(_, w)| weight(*w) + 1e-13).sum();
        let mut edf = Edf::default();
        if hosts.is_empty() {
            return edf;
        }
        let mut done = 0u64;
        let mut max_pick_time = 0.0f64;
        for &(host, w) in hosts {
            let w = weight(w) + 1e-13;
            let p = (picks as f64 * w / total).floor() as u64;
            done += p;
            max_pick_time = max_pick_time.max(p as f64 / w);
            edf.heap.push(Entry {
                deadline: (p as f64 + 1.0) / w,
                order: edf.order,
                host,
            });
            edf.order += 1;
        }
        edf.current_time = max_pick_time;
        let by_host: Vec<(HostId, f64)> = hosts.to_vec();
        while done < picks {
            edf.pick_and_add(|h| {
                by_host
                    .iter()
                    .find(|(id, _)| *id == h)
                    .map_or(1.0, |(_, w)| weight(*w))
            });
            done += 1;
        }
        edf
    }

    /// Pick the earliest entry and re-add it with its current `weight`.
    pub fn pick_and_add(&mut self, weight: impl Fn(HostId) -> f64) -> Option<HostId> {
        let e = self.heap.pop()?;
        self.current_time = e.deadline;
        let w = weight(e.host);
        let w = if w > 0.0 && w.is_finite() { w } else { 1.0 };
        self.heap.push(Entry {
            deadline: self.current_time + 1.0 / w,
            order: self.order,
            host: e.host,
        });
        self.order += 1;
        Some(e.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edf_follows_weights_exactly_over_a_cycle() {
        let mut edf = Edf::with_prepicks(&[(0, 1.0), (1, 3.0)], 0);
        let w = |h: HostId| if h == 0 { 1.0 } else { 3.0 };
        let picks: Vec<HostId> = (0..8).filter_map(|_| edf.pick_and_add(w)).collect();
        assert_eq!(picks.iter().filter(|h| **h == 1).count(), 6);
        assert_eq!(picks.iter().filter(|h| **h == 0).count(), 2);
    }

    #[test]
    fn prepicks_shift_the_start() {
        let hosts = [(0, 1.0), (1, 2.0), (2, 3.0)];
        let w = |h: HostId| (h + 1) as f64;
        let a: Vec<HostId> = {
            let mut e = Edf::with_prepicks(&hosts, 0);
            (0..6).filter_map(|_| e.pick_and_add(w)).collect()
        };
        let b: Vec<HostId> = {
            let mut e = Edf::with_prepicks(&hosts, 1);
            (0..6).filter_map(|_| e.pick_and_add(w)).collect()
        };
        assert_ne!(a, b);
        assert_eq!(Edf::with_prepicks(&[], 5).pick_and_add(w), None);
    }
}
