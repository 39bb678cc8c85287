//! An index over one ordered list of HTTP routes that finds the first
//! matching (rule, match) pair without scanning every rule: exact paths in a
//! hash map, path prefixes in a hash map per distinct prefix length, regex
//! paths in one `RegexSet`; everything else (no uri, ignoreUriCase, invalid
//! patterns) is always a candidate. Candidates are then checked fully in
//! their original order, so first-match semantics are exactly those of a
//! linear scan (a property test compares the two).

use crate::fasthash::FastMap as HashMap;
use crate::matching::{HttpRouteMatch, StringMatcher};

/// A (rule, match) pair: position of the rule in the list, and of the match
/// inside the rule (`u32::MAX` for a rule without matches).
pub(crate) type Entry = (u32, u32);

/// Fewest regex patterns worth a set: a few are cheaper checked one by one,
/// in order, than searched together for every match.
const MIN_REGEX_SET: usize = 8;

/// Most regex patterns put in one set; beyond it they are checked one by one.
const MAX_REGEX_SET: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct RouteIndex {
    entries: Vec<Entry>,
    exact: HashMap<Box<str>, Vec<u32>>,
    prefix: HashMap<Box<str>, Vec<u32>>,
    prefix_lens: Vec<usize>,
    regex_set: Option<regex::RegexSet>,
    regex_entries: Vec<u32>,
    always: Vec<u32>,
    /// By id: whether a hit in the index proves the match's uri condition
    /// (exact, prefix, or regex matched without ignoreUriCase).
    uri_proven: Vec<bool>,
}

impl RouteIndex {
    /// The index over routes given by their match lists, in order.
    pub fn build<'a>(routes: impl IntoIterator<Item = &'a [HttpRouteMatch]>) -> RouteIndex {
        let mut idx = RouteIndex::default();
        let mut patterns = Vec::new();
        for (ri, matches) in routes.into_iter().enumerate() {
            if matches.is_empty() {
                let id = idx.entries.len() as u32;
                idx.entries.push((ri as u32, u32::MAX));
                idx.uri_proven.push(false);
                idx.always.push(id);
                continue;
            }
            for (mi, m) in matches.iter().enumerate() {
                let id = idx.entries.len() as u32;
                idx.entries.push((ri as u32, mi as u32));
                idx.uri_proven.push(!m.ignore_uri_case && m.uri.is_some());
                match (&m.uri, m.ignore_uri_case) {
                    (Some(StringMatcher::Exact { value, .. }), false) => {
                        idx.exact.entry(value.as_str().into()).or_default().push(id)
                    }
                    (Some(StringMatcher::Prefix { value, .. }), false) => idx
                        .prefix
                        .entry(value.as_str().into())
                        .or_default()
                        .push(id),
                    (Some(StringMatcher::Regex(re)), _) => {
                        patterns.push(re.compiled_pattern().to_string());
                        idx.regex_entries.push(id);
                    }
                    _ => idx.always.push(id),
                }
            }
        }
        let mut lens: Vec<usize> = idx.prefix.keys().map(|k| k.len()).collect();
        lens.sort_unstable();
        lens.dedup();
        idx.prefix_lens = lens;
        if patterns.len() >= MIN_REGEX_SET && patterns.len() <= MAX_REGEX_SET {
            match regex::RegexSetBuilder::new(&patterns)
                .size_limit(64 * 1024 * 1024)
                .dfa_size_limit(64 * 1024 * 1024)
                .build()
            {
                Ok(set) => idx.regex_set = Some(set),
                Err(_) => idx.always.append(&mut idx.regex_entries),
            }
        } else {
            idx.always.append(&mut idx.regex_entries);
        }
        // Candidates walk `always` as is when no path condition holds.
        idx.always.sort_unstable();
        idx
    }

    /// Entries that may match `path`, in list order, each with whether the
    /// index already proved its uri condition (exact, prefix or regex hit).
    pub fn candidates(&self, path: &str) -> Candidates<'_> {
        // Rules whose path condition holds; on the stack unless there are many.
        let mut hits = Hits::default();
        if let Some(list) = self.exact.get(path) {
            hits.extend(list);
        }
        for &len in &self.prefix_lens {
            if len > path.len() {
                break;
            }
            if let Some(list) = path.get(..len).and_then(|p| self.prefix.get(p)) {
                hits.extend(list);
            }
        }
        if let Some(set) = &self.regex_set {
            let mut on_stack = [false; SMALL_REGEX_SET];
            if set.len() <= SMALL_REGEX_SET {
                let matched = &mut on_stack[..set.len()];
                if set.matches_read_at(matched, path, 0) {
                    for (i, _) in matched.iter().enumerate().filter(|(_, m)| **m) {
                        hits.push(self.regex_entries[i]);
                    }
                }
            } else if set.is_match(path) {
                // Only a path some pattern matches pays for the (allocated,
                // set-sized) list of which ones.
                for i in set.matches(path).iter() {
                    hits.push(self.regex_entries[i]);
                }
            }
        }
        hits.as_mut_slice().sort_unstable();
        Candidates {
            index: self,
            hits,
            next_hit: 0,
            next_always: 0,
        }
    }
}

/// Regex sets up to this size are matched into a buffer on the stack.
const SMALL_REGEX_SET: usize = 64;

/// Rule ids whose path condition the index proved; inline up to 16.
#[derive(Default)]
pub(crate) struct Hits {
    inline: [u32; 16],
    len: usize,
    spilled: Vec<u32>,
}

impl Hits {
    fn push(&mut self, id: u32) {
        if self.spilled.is_empty() && self.len < self.inline.len() {
            self.inline[self.len] = id;
            self.len += 1;
        } else {
            if self.spilled.is_empty() {
                self.spilled.extend_from_slice(&self.inline[..self.len]);
            }
            self.spilled.push(id);
        }
    }

    fn extend(&mut self, ids: &[u32]) {
        for &id in ids {
            self.push(id);
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u32] {
        if self.spilled.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.spilled
        }
    }

    fn get(&self, i: usize) -> Option<u32> {
        if self.spilled.is_empty() {
            self.inline[..self.len].get(i).copied()
        } else {
            self.spilled.get(i).copied()
        }
    }
}

/// Candidate (rule, match) pairs in first-match order: the sorted hits and
/// the always-candidates merged, with whether the uri is already proven.
pub(crate) struct Candidates<'a> {
    index: &'a RouteIndex,
    hits: Hits,
    next_hit: usize,
    next_always: usize,
}

impl Iterator for Candidates<'_> {
    type Item = (Entry, bool);

    fn next(&mut self) -> Option<(Entry, bool)> {
        let hit = self.hits.get(self.next_hit);
        let always = self.index.always.get(self.next_always).copied();
        let (id, proven) = match (hit, always) {
            (Some(h), Some(a)) if a < h => {
                self.next_always += 1;
                (a, false)
            }
            (Some(h), _) => {
                self.next_hit += 1;
                // An id is in one bucket only; a duplicate hit is skipped.
                while self.hits.get(self.next_hit) == Some(h) {
                    self.next_hit += 1;
                }
                (
                    h,
                    self.index
                        .uri_proven
                        .get(h as usize)
                        .copied()
                        .unwrap_or(false),
                )
            }
            (None, Some(a)) => {
                self.next_always += 1;
                (a, false)
            }
            (None, None) => return None,
        };
        self.index.entries.get(id as usize).map(|&e| (e, proven))
    }
}
