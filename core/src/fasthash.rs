//! A fast, non-cryptographic hasher for the routing table's string keys
//! (public for the bindings' own tables of configuration strings).
//!
//! The keys are configuration host names and paths, not attacker-chosen
//! sets that grow at run time, so SipHash's flooding resistance buys
//! nothing on the decision path; this multiply-rotate hash (the FxHash
//! scheme) costs a fraction of it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style hasher.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply-rotate steps leave the low bits, which pick a
        // `HashMap`'s bucket, depending only on the low bits of each word:
        // keys differing in their later bytes (`svc-1`, `svc-2`, ...) would
        // share buckets. Fold the high bits down (half of MurmurHash3's
        // finaliser).
        let h = self.hash ^ (self.hash >> 33);
        let h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_stay_distinct() {
        let mut m: FastMap<String, usize> = FastMap::default();
        for i in 0..10_000 {
            m.insert(format!("svc-{i}.default.svc.cluster.local"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get("svc-7777.default.svc.cluster.local"), Some(&7777));
        assert_eq!(m.get("svc-7777.default.svc.cluster.loca"), None);
    }

    /// The low bits pick the bucket: short keys that differ only in their
    /// last bytes must still spread over the buckets, else a map of them
    /// degrades to long probe chains.
    #[test]
    fn short_keys_spread_over_low_bits() {
        use std::hash::BuildHasher;
        let build: BuildHasherDefault<FastHasher> = BuildHasherDefault::default();
        let buckets = |keys: &[String]| {
            keys.iter()
                .map(|k| build.hash_one(k.as_str()) & 0x3fff)
                .collect::<std::collections::HashSet<u64>>()
                .len()
        };
        let short: Vec<String> = (0..10_000).map(|i| format!("svc-{i}")).collect();
        let long: Vec<String> = (0..10_000)
            .map(|i| format!("svc-{i}.default.svc.cluster.local"))
            .collect();
        // 10,000 random keys fill about 7,490 of 16,384 buckets.
        assert!(buckets(&short) > 7_000, "{}", buckets(&short));
        assert!(buckets(&long) > 7_000, "{}", buckets(&long));
    }
}
