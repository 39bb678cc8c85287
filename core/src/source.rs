//! Where a piece of configuration came from: file, line and column.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A 1-based line and column inside one input text. `0:0` means unknown.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Location {
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
}

impl Location {
    /// An unknown location.
    pub const UNKNOWN: Location = Location { line: 0, column: 0 };

    /// A location at `line`:`column` (both 1-based).
    pub const fn new(line: u32, column: u32) -> Self {
        Location { line, column }
    }

    /// Whether the location is known.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// The file (or `-` for standard input, `<inline>` for text) and position of
/// a resource or field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Source {
    /// File name as given by the caller (shared between all resources of one file).
    pub file: Arc<str>,
    /// Position inside the file.
    #[serde(flatten)]
    pub location: Location,
}

impl Source {
    /// A source in `file` at `location`.
    pub fn new(file: Arc<str>, location: Location) -> Self {
        Source { file, location }
    }

    /// The same file, another position.
    pub fn at(&self, location: Location) -> Source {
        Source {
            file: self.file.clone(),
            location,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_known() {
            write!(
                f,
                "{}:{}:{}",
                self.file, self.location.line, self.location.column
            )
        } else {
            write!(f, "{}", self.file)
        }
    }
}

/// Positions of every field of one resource, keyed by field path
/// (`spec.http[0].route[1].weight`, map keys as `headers["end-user"]`).
///
/// Built by the loader from the parsed document; validators look paths up to
/// point messages at the exact line and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLocations {
    entries: std::collections::HashMap<String, Location>,
}

impl FieldLocations {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records where `path` is written.
    pub fn insert(&mut self, path: String, location: Location) {
        self.entries.entry(path).or_insert(location);
    }

    /// Where `path` is written; if the field itself is absent (a missing
    /// required field, say), the location of its nearest written parent.
    pub fn locate(&self, path: &str) -> Location {
        let mut p = path;
        loop {
            if let Some(l) = self.entries.get(p) {
                return *l;
            }
            match parent_path(p) {
                Some(parent) => p = parent,
                None => return Location::UNKNOWN,
            }
        }
    }

    /// Whether `path` is written (exactly).
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Number of recorded paths.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// All recorded paths and positions, in no particular order.
    pub fn into_entries(self) -> impl Iterator<Item = (String, Location)> {
        self.entries.into_iter()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The parent of a field path: `a.b[2]` -> `a.b`, `a.b` -> `a`, `a["k"]` -> `a`.
pub fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        // Find the matching '[' that is not inside a quoted key.
        let bytes = path.as_bytes();
        let mut i = bytes.len() - 1;
        let mut in_quotes = false;
        while i > 0 {
            i -= 1;
            match bytes[i] {
                b'"' => in_quotes = !in_quotes,
                b'[' if !in_quotes => return Some(&path[..i]),
                _ => {}
            }
        }
        return Some("");
    }
    match path.rfind('.') {
        Some(i) => Some(&path[..i]),
        None => Some(""),
    }
}

/// Builds field paths in the one format [`FieldLocations`] uses.
pub mod path {
    /// `parent.field` (or `field` at the top).
    pub fn field(parent: &str, name: &str) -> String {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    }

    /// `parent[index]`.
    pub fn index(parent: &str, index: usize) -> String {
        format!("{parent}[{index}]")
    }

    /// `parent["key"]`, for keys of maps (header names, labels).
    pub fn key(parent: &str, key: &str) -> String {
        format!("{parent}[{:?}]", key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("spec.http[0].route"), Some("spec.http[0]"));
        assert_eq!(parent_path("spec.http[0]"), Some("spec.http"));
        assert_eq!(parent_path("spec.h[\"a[b\"]"), Some("spec.h"));
        assert_eq!(parent_path("spec"), Some(""));
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn locate_falls_back_to_parent() {
        let mut f = FieldLocations::new();
        f.insert("spec".into(), Location::new(3, 1));
        f.insert("spec.http[0]".into(), Location::new(5, 3));
        assert_eq!(
            f.locate("spec.http[0].route[0].destination"),
            Location::new(5, 3)
        );
        assert_eq!(f.locate("spec.tcp"), Location::new(3, 1));
        assert_eq!(f.locate("other"), Location::UNKNOWN);
    }
}
