//! An index over one ordered list of HTTP routes that finds the first
//! matching (rule, match) pair without scanning every rule: exact paths in a
//! hash map, path prefixes in a hash map per distinct prefix length, regex
//! paths in one `RegexSet`; everything else (no uri, ignoreUriCase, invalid
//! patterns) is always a candidate. Candidates are then checked fully in
//! their original order, so first-match semantics are exactly those of a
//! linear scan (a property test compares the two).

use super::compile::{CompiledHttpRoute, Cond};
use crate::fasthash::FastMap as HashMap;

/// A (rule, match) pair: position of the rule in the list, and of the match
/// inside the rule (`u32::MAX` for a rule without matches).
pub(crate) type Entry = (u32, u32);

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
}

impl RouteIndex {
    pub fn build(routes: &[CompiledHttpRoute]) -> RouteIndex {
        let mut idx = RouteIndex::default();
        let mut patterns = Vec::new();
        for (ri, r) in routes.iter().enumerate() {
            if r.matches.is_empty() {
                let id = idx.entries.len() as u32;
                idx.entries.push((ri as u32, u32::MAX));
                idx.always.push(id);
                continue;
            }
            for (mi, m) in r.matches.iter().enumerate() {
                let id = idx.entries.len() as u32;
                idx.entries.push((ri as u32, mi as u32));
                match (&m.uri, m.ignore_uri_case) {
                    (Some(Cond::Exact(e)), false) => {
                        idx.exact.entry(e.as_str().into()).or_default().push(id)
                    }
                    (Some(Cond::Prefix(p)), false) => {
                        idx.prefix.entry(p.as_str().into()).or_default().push(id)
                    }
                    (Some(Cond::Regex(re)), _) => {
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
        if !patterns.is_empty() && patterns.len() <= MAX_REGEX_SET {
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

    /// Entries that may match `path`, in list order.
    pub fn candidates(&self, path: &str) -> impl Iterator<Item = Entry> + '_ {
        // Rules whose path condition holds; allocated only when there are some.
        let mut hits: Vec<u32> = Vec::new();
        if let Some(list) = self.exact.get(path) {
            hits.extend_from_slice(list);
        }
        for &len in &self.prefix_lens {
            if len > path.len() {
                break;
            }
            if let Some(list) = path.get(..len).and_then(|p| self.prefix.get(p)) {
                hits.extend_from_slice(list);
            }
        }
        if let Some(set) = &self.regex_set {
            hits.extend(set.matches(path).iter().map(|i| self.regex_entries[i]));
        }
        let ids = if hits.is_empty() {
            // Only the rules without a path condition, already in order.
            Candidates::Always(self.always.iter())
        } else {
            hits.extend_from_slice(&self.always);
            hits.sort_unstable();
            hits.dedup();
            Candidates::Merged(hits.into_iter())
        };
        ids.map(|id| self.entries[id as usize])
    }
}

/// Candidate rule ids in first-match order.
enum Candidates<'a> {
    Always(std::slice::Iter<'a, u32>),
    Merged(std::vec::IntoIter<u32>),
}

impl Iterator for Candidates<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            Candidates::Always(it) => it.next().copied(),
            Candidates::Merged(it) => it.next(),
        }
    }
}
