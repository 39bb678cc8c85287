//! Where a piece of configuration came from: file, line and column.

use crate::fasthash::FastMap;
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
/// point messages at the exact line and column. The loader keeps a compact
/// tree of positions and resolves a path only when a message asks for it, so
/// loading builds no path strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLocations {
    /// Paths recorded one by one with [`FieldLocations::insert`].
    entries: FastMap<String, Location>,
    /// Positions recorded by the loader, resolved on lookup.
    tree: PositionTree,
}

impl FieldLocations {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table resolving paths in `tree`.
    pub(crate) fn from_tree(tree: PositionTree) -> Self {
        FieldLocations {
            entries: FastMap::default(),
            tree,
        }
    }

    /// Records where `path` is written.
    pub fn insert(&mut self, path: String, location: Location) {
        if self.tree.exact(&path).is_none() {
            self.entries.entry(path).or_insert(location);
        }
    }

    /// Where `path` is written; if the field itself is absent (a missing
    /// required field, say), the location of its nearest written parent.
    pub fn locate(&self, path: &str) -> Location {
        if self.entries.is_empty() {
            return self.tree.deepest(path).unwrap_or(Location::UNKNOWN);
        }
        let mut p = path;
        loop {
            if let Some(l) = self.entries.get(p).copied().or_else(|| self.tree.exact(p)) {
                return l;
            }
            match parent_path(p) {
                Some(parent) => p = parent,
                None => return Location::UNKNOWN,
            }
        }
    }

    /// Whether `path` is written (exactly).
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path) || self.tree.exact(path).is_some()
    }

    /// Number of recorded paths.
    pub fn len(&self) -> usize {
        self.entries.len() + self.tree.len()
    }

    /// All recorded paths and positions, in no particular order. Mapping
    /// entries the loader recorded are written as `parent.key` when the key
    /// is a plain name, else `parent["key"]`.
    pub fn into_entries(self) -> impl Iterator<Item = (String, Location)> {
        let mut all: Vec<(String, Location)> = self.entries.into_iter().collect();
        self.tree.render(&mut all);
        all.into_iter()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.tree.len() == 0
    }
}

/// What a recorded value is: its children are mapping entries, list items
/// or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PositionKind {
    Leaf,
    Map,
    Seq,
}

/// One recorded field: a mapping entry (written at its key) or a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PositionNode {
    /// Where the field is written: the key of a mapping entry, the item of a list.
    pub loc: Location,
    /// The key text of a mapping entry, as a range of [`PositionTree::keys`].
    pub key_start: u32,
    pub key_len: u32,
    /// The value's children: a range of [`PositionTree::nodes`].
    pub children_start: u32,
    pub children_len: u32,
    pub kind: PositionKind,
}

/// Positions of the fields under a few base paths (`metadata`, `spec`),
/// stored flat: the children of a node are consecutive in `nodes`, and the
/// key texts share one string. The base paths themselves are not recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PositionTree {
    /// The node of each base path, whose key is the base path (and whose
    /// `loc` is not a recorded position).
    pub roots: Vec<PositionNode>,
    pub nodes: Vec<PositionNode>,
    pub keys: String,
}

/// One step of a field path.
enum Step<'a> {
    Name(&'a str),
    Key(String),
    Index(usize),
}

/// Splits the first step off `rest` (which starts with `.` or `[`).
fn next_step(rest: &str) -> Option<(Step<'_>, &str)> {
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(['.', '[']).unwrap_or(r.len());
        return Some((Step::Name(&r[..end]), &r[end..]));
    }
    let r = rest.strip_prefix('[')?;
    if let Some(q) = r.strip_prefix('"') {
        // A Debug-quoted key: undo the escapes `{:?}` writes.
        let mut key = String::new();
        let mut chars = q.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((Step::Key(key), q[i + 1..].strip_prefix(']')?)),
                '\\' => match chars.next()?.1 {
                    'n' => key.push('\n'),
                    't' => key.push('\t'),
                    'r' => key.push('\r'),
                    '0' => key.push('\0'),
                    'u' => {
                        let (j, _) = chars.next()?;
                        let close = q[j..].find('}')? + j;
                        let code = u32::from_str_radix(q.get(j + 1..close)?, 16).ok()?;
                        key.push(char::from_u32(code)?);
                        while chars.next()?.0 < close {}
                    }
                    other => key.push(other),
                },
                c => key.push(c),
            }
        }
        return None;
    }
    let end = r.find(']')?;
    let index = r[..end].parse().ok()?;
    Some((Step::Index(index), &r[end + 1..]))
}

impl PositionTree {
    fn key(&self, n: &PositionNode) -> &str {
        let start = n.key_start as usize;
        self.keys
            .get(start..start + n.key_len as usize)
            .unwrap_or("")
    }

    fn children(&self, n: &PositionNode) -> &[PositionNode] {
        let start = n.children_start as usize;
        self.nodes
            .get(start..start + n.children_len as usize)
            .unwrap_or(&[])
    }

    fn child(&self, n: &PositionNode, step: &Step<'_>) -> Option<&PositionNode> {
        match (n.kind, step) {
            (PositionKind::Map, Step::Name(name)) => {
                self.children(n).iter().find(|c| self.key(c) == *name)
            }
            (PositionKind::Map, Step::Key(key)) => {
                self.children(n).iter().find(|c| self.key(c) == key)
            }
            (PositionKind::Seq, Step::Index(i)) => self.children(n).get(*i),
            _ => None,
        }
    }

    /// Follows `path` as far as it is recorded: the position of the deepest
    /// recorded node and whether the whole path was found. `None` when not
    /// even the first field under a base is recorded.
    fn walk(&self, path: &str) -> Option<(Location, bool)> {
        let base_end = path.find(['.', '[']).unwrap_or(path.len());
        let (base, mut rest) = path.split_at(base_end);
        let root = self.roots.iter().find(|r| self.key(r) == base)?;
        let mut node = root;
        let mut found: Option<Location> = None;
        while !rest.is_empty() {
            let Some((step, after)) = next_step(rest) else {
                return found.map(|l| (l, false));
            };
            match self.child(node, &step) {
                Some(c) => {
                    node = c;
                    found = Some(c.loc);
                    rest = after;
                }
                None => return found.map(|l| (l, false)),
            }
        }
        found.map(|l| (l, true))
    }

    /// Where exactly `path` is written, if recorded.
    fn exact(&self, path: &str) -> Option<Location> {
        match self.walk(path) {
            Some((l, true)) => Some(l),
            _ => None,
        }
    }

    /// Where `path` or its nearest recorded parent is written.
    fn deepest(&self, path: &str) -> Option<Location> {
        self.walk(path).map(|(l, _)| l)
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn render(&self, out: &mut Vec<(String, Location)>) {
        for root in &self.roots {
            self.render_children(self.key(root), root, out);
        }
    }

    fn render_children(&self, parent: &str, n: &PositionNode, out: &mut Vec<(String, Location)>) {
        for (i, c) in self.children(n).iter().enumerate() {
            let p = match n.kind {
                PositionKind::Seq => path::index(parent, i),
                _ => {
                    let key = self.key(c);
                    let plain = !key.is_empty()
                        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if plain {
                        path::field(parent, key)
                    } else {
                        path::key(parent, key)
                    }
                }
            };
            self.render_children(&p, c, out);
            out.push((p, c.loc));
        }
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
            return name.to_string();
        }
        // Built by hand, not with `format!`: validators build a path for
        // every field they look at, messages or not.
        let mut s = String::with_capacity(parent.len() + 1 + name.len());
        s.push_str(parent);
        s.push('.');
        s.push_str(name);
        s
    }

    /// `parent[index]`.
    pub fn index(parent: &str, index: usize) -> String {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = index;
        loop {
            at -= 1;
            // `n % 10` is a single digit.
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let digits = std::str::from_utf8(&digits[at..]).unwrap_or("");
        let mut s = String::with_capacity(parent.len() + 2 + digits.len());
        s.push_str(parent);
        s.push('[');
        s.push_str(digits);
        s.push(']');
        s
    }

    /// `parent["key"]`, for keys of maps (header names, labels).
    pub fn key(parent: &str, key: &str) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(parent.len() + key.len() + 4);
        s.push_str(parent);
        s.push('[');
        let _ = write!(s, "{key:?}");
        s.push(']');
        s
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
