//! Maglev (Envoy `MaglevLoadBalancer`).

use super::hash::xxhash64;
use crate::outlier::HostId;

/// Envoy's default table size (prime).
pub const DEFAULT_TABLE_SIZE: u64 = 65_537;

/// A built Maglev lookup table.
#[derive(Debug, Clone, Default)]
pub struct MaglevTable {
    table: Vec<HostId>,
}

/// Whether `n` is prime (Istio requires a prime table size).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u64;
    while d.saturating_mul(d) <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

impl MaglevTable {
    /// Build from `(host, key, weight)`; hosts are sorted by key first, so the
    /// table does not depend on list order. `size` must be ≥ 2 (a prime per
    /// Istio validation); smaller sizes are raised to 2. Weights of 0 count as 1.
    pub fn build(hosts: &[(HostId, &str, u32)], size: u64) -> MaglevTable {
        if hosts.is_empty() {
            return MaglevTable::default();
        }
        let m = size.max(2);
        let mut sorted: Vec<&(HostId, &str, u32)> = hosts.iter().collect();
        sorted.sort_by(|a, b| a.1.cmp(b.1));
        let total: f64 = sorted.iter().map(|h| f64::from(h.2.max(1))).sum();
        let max_nw = sorted
            .iter()
            .map(|h| f64::from(h.2.max(1)) / total)
            .fold(0.0, f64::max);
        struct Build {
            host: HostId,
            offset: u64,
            skip: u64,
            weight: f64,
            target: f64,
            next: u64,
        }
        let mut entries: Vec<Build> = sorted
            .iter()
            .map(|h| Build {
                host: h.0,
                offset: xxhash64(h.1.as_bytes(), 0) % m,
                skip: xxhash64(h.1.as_bytes(), 1) % (m - 1) + 1,
                weight: f64::from(h.2.max(1)) / total,
                target: 0.0,
                next: 0,
            })
            .collect();
        let len = usize::try_from(m).unwrap_or(usize::MAX);
        let mut table: Vec<Option<HostId>> = vec![None; len];
        let mut filled = 0usize;
        let mut iteration = 1u64;
        while filled < len {
            for e in entries.iter_mut() {
                if filled >= len {
                    break;
                }
                if (iteration as f64) * e.weight < e.target {
                    continue;
                }
                e.target += max_nw;
                let mut c = (e.offset + e.skip * (e.next % m)) % m;
                while table.get(c as usize).is_some_and(Option::is_some) {
                    e.next += 1;
                    c = (e.offset + e.skip * (e.next % m)) % m;
                }
                if let Some(slot) = table.get_mut(c as usize) {
                    *slot = Some(e.host);
                }
                e.next += 1;
                filled += 1;
            }
            iteration += 1;
        }
        MaglevTable {
            table: table.into_iter().map(|s| s.unwrap_or(0)).collect(),
        }
    }

    /// Table size.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty (no hosts).
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The host for `hash`; retry attempt `k > 0` uses `hash XOR (2^64 − k)`.
    pub fn pick(&self, hash: u64, attempt: u32) -> Option<HostId> {
        let n = self.table.len() as u64;
        if n == 0 {
            return None;
        }
        let h = if attempt > 0 {
            hash ^ u64::from(attempt).wrapping_neg()
        } else {
            hash
        };
        self.table.get((h % n) as usize).copied()
    }

    #[cfg(test)]
    fn count(&self, host: HostId) -> usize {
        self.table.iter().filter(|h| **h == host).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prime_check() {
        assert!(is_prime(65_537));
        assert!(!is_prime(65_536));
        assert!(!is_prime(1));
    }

    #[test]
    fn table_is_full_balanced_and_order_independent() {
        let a = MaglevTable::build(
            &[
                (0, "10.0.0.1:80", 1),
                (1, "10.0.0.2:80", 1),
                (2, "10.0.0.3:80", 1),
            ],
            65_537,
        );
        let b = MaglevTable::build(
            &[
                (2, "10.0.0.3:80", 1),
                (0, "10.0.0.1:80", 1),
                (1, "10.0.0.2:80", 1),
            ],
            65_537,
        );
        assert_eq!(a.table, b.table);
        for h in 0..3 {
            let c = a.count(h);
            assert!((21_845..=21_846).contains(&c), "{c}");
        }
    }

    #[test]
    fn weights_shape_the_table() {
        let t = MaglevTable::build(&[(0, "a:1", 1), (1, "b:1", 3)], 65_537);
        let share = t.count(1) as f64 / t.len() as f64;
        assert!((share - 0.75).abs() < 0.001, "{share}");
        assert_ne!(t.pick(12345, 0), None);
        assert_eq!(
            t.pick(12345, 1),
            t.table
                .get(((12345u64 ^ u64::MAX) % 65_537) as usize)
                .copied()
        );
    }
}
