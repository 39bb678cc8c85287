//! Ring hash (Envoy `RingHashLoadBalancer`, ketama-style lookup).

use super::hash::xxhash64;
use crate::outlier::HostId;

/// Envoy's default `minimum_ring_size`.
pub const DEFAULT_MINIMUM_RING_SIZE: u64 = 1024;
/// Envoy's default `maximum_ring_size` (8 Mi).
pub const DEFAULT_MAXIMUM_RING_SIZE: u64 = 8 * 1024 * 1024;

/// A built ring.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    entries: Vec<(u64, HostId)>,
}

impl Ring {
    /// Build from `(host, key, weight)` in host-list order; the key is the
    /// host's `ip:port` address. Weights of 0 are treated as 1.
    pub fn build(hosts: &[(HostId, &str, u32)], min_ring: u64, max_ring: u64) -> Ring {
        if hosts.is_empty() {
            return Ring::default();
        }
        let total: f64 = hosts.iter().map(|(_, _, w)| f64::from((*w).max(1))).sum();
        let min_nw = hosts
            .iter()
            .map(|(_, _, w)| f64::from((*w).max(1)) / total)
            .fold(f64::INFINITY, f64::min);
        let max_ring = max_ring.max(1);
        let scale = ((min_nw * min_ring as f64).ceil() / min_nw).min(max_ring as f64);
        let size = scale.ceil() as usize;
        let mut entries = Vec::with_capacity(size);
        let mut current = 0.0f64;
        let mut target = 0.0f64;
        let mut key = Vec::new();
        for &(host, address, w) in hosts {
            target += scale * (f64::from(w.max(1)) / total);
            let mut j = 0u64;
            while current < target {
                key.clear();
                key.extend_from_slice(address.as_bytes());
                key.push(b'_');
                key.extend_from_slice(j.to_string().as_bytes());
                entries.push((xxhash64(&key, 0), host));
                j += 1;
                current += 1.0;
            }
        }
        entries.sort_by_key(|(h, _)| *h);
        Ring { entries }
    }

    /// Number of ring entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ring has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The host for `hash`: first entry with `entry ≥ hash`, wrapping to the
    /// start; retry attempt `k` takes the entry `k` places further.
    pub fn pick(&self, hash: u64, attempt: u32) -> Option<HostId> {
        let n = self.entries.len();
        if n == 0 {
            return None;
        }
        let found = self.entries.partition_point(|(h, _)| *h < hash);
        let index = (found % n + attempt as usize % n) % n;
        self.entries.get(index).map(|(_, host)| *host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_size_and_weight_share() {
        let ring = Ring::build(
            &[(0, "10.0.0.1:80", 1), (1, "10.0.0.2:80", 3)],
            1024,
            DEFAULT_MAXIMUM_RING_SIZE,
        );
        // min normalized weight 0.25: scale = ceil(256)/0.25 = 1024.
        assert_eq!(ring.len(), 1024);
        let host1 = ring.entries.iter().filter(|(_, h)| *h == 1).count();
        assert_eq!(host1, 768);
        let capped = Ring::build(&[(0, "a", 1), (1, "b", 1)], 1024, 100);
        assert_eq!(capped.len(), 100);
    }

    #[test]
    fn lookup_takes_first_entry_at_or_above_and_wraps() {
        let ring = Ring::build(&[(0, "10.0.0.1:80", 1), (1, "10.0.0.2:80", 1)], 8, 100);
        let (first_hash, first_host) = ring.entries[0];
        assert_eq!(ring.pick(first_hash, 0), Some(first_host));
        let (last_hash, _) = ring.entries[ring.len() - 1];
        assert_eq!(
            ring.pick(last_hash.wrapping_add(1).max(last_hash), 0),
            ring.pick(last_hash, 0)
        );
        assert_eq!(
            ring.pick(u64::MAX, 0),
            if last_hash == u64::MAX {
                Some(ring.entries[ring.len() - 1].1)
            } else {
                Some(first_host)
            }
        );
        assert_eq!(ring.pick(first_hash, 1), Some(ring.entries[1].1));
        assert_eq!(Ring::default().pick(1, 0), None);
    }
}
