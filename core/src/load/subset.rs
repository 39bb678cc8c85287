//! A fast reader for the part of YAML that Kubernetes manifests are written
//! in: block mappings and sequences, one-line plain and quoted scalars, flow
//! collections (`[a, b]`, `{k: v}`, so JSON too), comments.
//!
//! It builds the same [`Node`] tree, positions included, as the full parser
//! in [`super::events`] with a sixth of the work, and gives up (`None`) on
//! anything else: anchors, aliases, tags, block scalars (`|`, `>`),
//! multi-line scalars, merge keys, tabs, carriage returns, non-ASCII text,
//! directives, deep nesting, and every error. The full parser then reads the
//! document from the start, so what it accepts, rejects and says is the
//! same whichever path read a document. Tests below (and the
//! `yaml_subset` fuzz target) hold the two readers to the same tree.

use super::node::{plain, Node, Value};
use crate::limits;
use crate::source::Location;
use std::borrow::Cow;

/// Documents nested deeper go to the full parser, which applies
/// [`limits::MAX_NESTING_DEPTH`] with its own message.
const MAX_DEPTH: usize = limits::MAX_NESTING_DEPTH - 2;

/// YAML's limit on the length of an implicit (unmarked) key.
const MAX_KEY_LEN: usize = 1024;

/// Reads one document's text (after the split at `---` lines): `Some(tree)`
/// (`Some(None)` for a document with no content) when the document is in
/// the subset, `None` when the full parser must read it (which it also must
/// past `max_nodes` nodes, to report the limit).
pub(crate) fn parse<'a>(
    text: &'a str,
    first_line: u32,
    pending: &mut Vec<Node<'a>>,
    max_nodes: usize,
) -> Option<Option<Node<'a>>> {
    if !in_alphabet(text.as_bytes()) {
        return None;
    }
    pending.clear();
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 0,
        line_start: 0,
        first_line,
        nodes: 0,
        max_nodes,
        pending,
    };
    let root = match reader.content_line()? {
        None => return Some(None),
        Some(indent) => {
            reader.pos += indent;
            reader.block_node(indent, -1, 0)?
        }
    };
    if reader.content_line()?.is_some() {
        return None;
    }
    Some(Some(root).filter(|n| n.value != Value::Null))
}

/// Printable ASCII and line feeds only: no tabs, carriage returns, control
/// characters or multi-byte characters (whose columns count characters).
fn in_alphabet(bytes: &[u8]) -> bool {
    let allowed = |b: u8| (0x20..0x7f).contains(&b) || b == b'\n';
    // Without an early exit inside a chunk, the test runs on vectors.
    bytes
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & allowed(b)))
}

struct Reader<'a, 's> {
    text: &'a str,
    bytes: &'a [u8],
    /// The byte being read.
    pos: usize,
    /// 0-based line of `pos` in the document, and where that line starts.
    line: u32,
    line_start: usize,
    first_line: u32,
    nodes: usize,
    max_nodes: usize,
    /// Children of the open collections (keys and values alternate for a
    /// mapping), moved into exactly sized vectors when a collection ends.
    pending: &'s mut Vec<Node<'a>>,
}

fn is_blank_or_end(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | 0)
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Reader<'a, '_> {
    /// The byte at `i`, 0 past the end (the text has no NUL: see `in_alphabet`).
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.at(self.pos)
    }

    fn loc(&self, pos: usize) -> Location {
        let column = u32::try_from(pos - self.line_start + 1).unwrap_or(u32::MAX);
        Location::new(self.first_line.saturating_add(self.line), column)
    }

    fn node(&mut self, value: Value<'a>, loc: Location) -> Option<Node<'a>> {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return None;
        }
        Some(Node { value, loc })
    }

    fn next_line(&mut self, newline: usize) {
        self.pos = newline + 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// From the start of a line, skips blank and comment lines. Returns the
    /// indentation of the next line with content (`pos` stays at its start),
    /// `Some(None)` at the end, `None` on a line the subset leaves out.
    fn content_line(&mut self) -> Option<Option<usize>> {
        loop {
            let start = self.pos;
            if start >= self.bytes.len() {
                return Some(None);
            }
            let rest = &self.bytes[start..];
            let indent = rest.iter().take_while(|&&b| b == b' ').count();
            match rest.get(indent) {
                None => {
                    self.pos = self.bytes.len();
                    return Some(None);
                }
                Some(b'\n') => self.next_line(start + indent),
                Some(b'#') => {
                    let end = memchr::memchr(b'\n', rest).map_or(self.bytes.len(), |i| start + i);
                    if end == self.bytes.len() {
                        self.pos = end;
                        return Some(None);
                    }
                    self.next_line(end);
                }
                Some(_) => {
                    // Directives and document markers are the full parser's.
                    if indent == 0
                        && (rest.starts_with(b"---")
                            || rest.starts_with(b"...")
                            || rest.starts_with(b"%"))
                    {
                        return None;
                    }
                    return Some(Some(indent));
                }
            }
        }
    }

    /// After a value: spaces and a comment may end the line; moves to the
    /// next line.
    fn end_line(&mut self) -> Option<()> {
        let start = self.pos;
        while self.peek() == b' ' {
            self.pos += 1;
        }
        match self.peek() {
            0 => Some(()),
            b'\n' => {
                self.next_line(self.pos);
                Some(())
            }
            b'#' if self.pos > start => {
                match memchr::memchr(b'\n', &self.bytes[self.pos..]) {
                    Some(i) => self.next_line(self.pos + i),
                    None => self.pos = self.bytes.len(),
                }
                Some(())
            }
            _ => None,
        }
    }

    /// Whether `pos` is a `-` that starts a block sequence entry.
    fn at_entry(&self) -> bool {
        self.peek() == b'-' && is_blank_or_end(self.at(self.pos + 1))
    }

    /// Whether `pos` is the `:` after an implicit key in block context.
    fn at_key_colon(&self) -> bool {
        self.peek() == b':' && is_blank_or_end(self.at(self.pos + 1))
    }

    /// A block node starting at `pos`, column `indent` of the current line;
    /// `parent` is the indentation of the block around it (-1 at the top).
    /// Returns with `pos` at the start of a line (or the end).
    fn block_node(&mut self, indent: usize, parent: isize, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek() {
            b'-' if self.at_entry() => self.block_sequence(indent, false, depth),
            b'[' | b'{' => {
                let node = self.flow(parent, depth)?;
                self.end_line()?;
                Some(node)
            }
            _ => {
                let start = self.pos;
                let scalar = self.scalar(false)?;
                if self.at_key_colon() {
                    if self.pos - start > MAX_KEY_LEN {
                        return None;
                    }
                    self.block_mapping(indent, scalar, depth)
                } else {
                    self.end_line()?;
                    Some(scalar)
                }
            }
        }
    }

    /// A block mapping whose first key was just read (`pos` at its `:`).
    fn block_mapping(
        &mut self,
        indent: usize,
        first_key: Node<'a>,
        depth: usize,
    ) -> Option<Node<'a>> {
        let loc = first_key.loc;
        let start = self.pending.len();
        let mut key = first_key;
        loop {
            self.pos += 1; // the `:`
            self.check_new_key(start, &key)?;
            let value = self.mapping_value(indent, depth)?;
            self.pending.push(key);
            self.pending.push(value);
            match self.content_line()? {
                Some(i) if i == indent => {
                    self.pos += i;
                    if self.at_entry() {
                        return None;
                    }
                    let key_start = self.pos;
                    key = self.scalar(false)?;
                    if !self.at_key_colon() || self.pos - key_start > MAX_KEY_LEN {
                        return None;
                    }
                }
                Some(i) if i > indent => return None,
                _ => break,
            }
        }
        let entries = self.take_entries(start);
        self.node(Value::Map(entries), loc)
    }

    /// The value after a block mapping's `:` (`pos` just past it).
    fn mapping_value(&mut self, indent: usize, depth: usize) -> Option<Node<'a>> {
        // The full parser places an empty value at the colon.
        let colon = self.pos - 1;
        while self.peek() == b' ' {
            self.pos += 1;
        }
        match self.peek() {
            0 | b'\n' | b'#' => {
                let empty_at = self.loc(colon);
                self.end_line()?;
                match self.content_line()? {
                    Some(i) if i > indent => {
                        self.pos += i;
                        self.block_node(i, indent as isize, depth + 1)
                    }
                    Some(i) if i == indent && self.at(self.pos + i) == b'-' => {
                        self.pos += i;
                        if !self.at_entry() {
                            return None;
                        }
                        self.block_sequence(i, true, depth + 1)
                    }
                    _ => self.node(Value::Null, empty_at),
                }
            }
            b'[' | b'{' => {
                let node = self.flow(indent as isize, depth + 1)?;
                self.end_line()?;
                Some(node)
            }
            _ => {
                if self.at_entry() {
                    return None;
                }
                let node = self.scalar(false)?;
                self.end_line()?;
                Some(node)
            }
        }
    }

    /// A block sequence whose first `-` is at `pos`; `compact` when it is a
    /// mapping value written at the key's indentation (the full parser then
    /// places it at its first item).
    fn block_sequence(&mut self, indent: usize, compact: bool, depth: usize) -> Option<Node<'a>> {
        let mut loc = self.loc(self.pos);
        let start = self.pending.len();
        loop {
            self.pos += 1; // the `-`
            while self.peek() == b' ' {
                self.pos += 1;
            }
            let item = match self.peek() {
                // The full parser places a compact sequence whose first
                // entry starts on a later line at the entry's `-` line, not
                // at the entry: that rare shape is left to it.
                0 | b'\n' | b'#' if compact && self.pending.len() == start => return None,
                0 | b'\n' | b'#' => {
                    let empty_at = self.loc(self.pos);
                    self.end_line()?;
                    match self.content_line()? {
                        Some(i) if i > indent => {
                            self.pos += i;
                            self.block_node(i, indent as isize, depth + 1)?
                        }
                        _ => self.node(Value::Null, empty_at)?,
                    }
                }
                _ => {
                    let column = self.pos - self.line_start;
                    self.block_node(column, indent as isize, depth + 1)?
                }
            };
            if compact && self.pending.len() == start {
                loc = item.loc;
            }
            self.pending.push(item);
            match self.content_line()? {
                Some(i) if i == indent => {
                    if self.at(self.pos + i) != b'-' {
                        break;
                    }
                    self.pos += i;
                    if !self.at_entry() {
                        return None;
                    }
                }
                Some(i) if i > indent => return None,
                _ => break,
            }
        }
        let items: Vec<Node<'a>> = self.pending.drain(start..).collect();
        self.node(Value::Seq(items), loc)
    }

    /// Whether a plain scalar may start with `first` (YAML's indicators may
    /// not, except `-?:` before a safe character).
    fn plain_may_start(&self, first: u8, flow: bool) -> bool {
        match first {
            b'-' | b'?' | b':' => {
                let next = self.at(self.pos + 1);
                !(is_blank_or_end(next) || (flow && is_flow_indicator(next)))
            }
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | 0 => false,
            _ => true,
        }
    }

    /// A one-line quoted scalar: `'...'` (where `''` is a quote) or
    /// `"..."` (with the usual escapes).
    fn quoted(&mut self) -> Option<Node<'a>> {
        let quote = self.peek();
        let loc = self.loc(self.pos);
        let start = self.pos + 1;
        let mut owned: Option<String> = None;
        let mut from = start;
        let mut i = start;
        loop {
            let b = self.at(i);
            // An escape: the character it stands for and its length.
            let (c, len) = match b {
                0 | b'\n' => return None,
                b'\'' if quote == b'\'' && self.at(i + 1) == b'\'' => ('\'', 2),
                b'\\' if quote == b'"' => {
                    let (c, len) = self.escape(i + 1)?;
                    (c, 1 + len)
                }
                _ if b == quote => break,
                _ => {
                    i += 1;
                    continue;
                }
            };
            let s = owned.get_or_insert_with(String::new);
            s.push_str(&self.text[from..i]);
            s.push(c);
            i += len;
            from = i;
        }
        self.pos = i + 1;
        let value = match owned {
            None => Cow::Borrowed(&self.text[start..i]),
            Some(mut s) => {
                s.push_str(&self.text[from..i]);
                Cow::Owned(s)
            }
        };
        self.node(Value::Str(value), loc)
    }

    /// The character of the escape after a `\` at `i - 1`, and its length.
    fn escape(&self, i: usize) -> Option<(char, usize)> {
        let c = match self.at(i) {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => return self.hex_escape(i + 1, 2),
            b'u' => return self.hex_escape(i + 1, 4),
            b'U' => return self.hex_escape(i + 1, 8),
            _ => return None,
        };
        Some((c, 1))
    }

    fn hex_escape(&self, i: usize, digits: usize) -> Option<(char, usize)> {
        let hex = self.text.get(i..i + digits)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        // Surrogates (a JSON pair for one character) are the full parser's.
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        Some((c, 1 + digits))
    }

    /// Skips spaces, line breaks and comments inside a flow collection.
    /// Continuation lines must be indented more than the block around it.
    fn flow_space(&mut self, parent: isize) -> Option<()> {
        loop {
            match self.peek() {
                b' ' => self.pos += 1,
                b'\n' => {
                    self.next_line(self.pos);
                    let indent = self.bytes[self.pos..]
                        .iter()
                        .take_while(|&&b| b == b' ')
                        .count();
                    if (indent as isize) <= parent && !matches!(self.at(self.pos + indent), b'\n') {
                        return None;
                    }
                    if indent == 0
                        && (self.bytes[self.pos..].starts_with(b"---")
                            || self.bytes[self.pos..].starts_with(b"..."))
                    {
                        return None;
                    }
                    self.pos += indent;
                }
                b'#' if matches!(self.at(self.pos.wrapping_sub(1)), b' ' | b'\n')
                    || self.pos == self.line_start =>
                {
                    let end = memchr::memchr(b'\n', &self.bytes[self.pos..])?;
                    self.pos += end;
                }
                _ => return Some(()),
            }
        }
    }

    /// A flow collection at `pos` (`[` or `{`), ending past its bracket.
    fn flow(&mut self, parent: isize, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let loc = self.loc(self.pos);
        let mapping = self.peek() == b'{';
        let close = if mapping { b'}' } else { b']' };
        self.pos += 1;
        let start = self.pending.len();
        self.flow_space(parent)?;
        if self.peek() == close {
            self.pos += 1;
        } else {
            loop {
                if mapping {
                    let key = self.scalar(true)?;
                    self.flow_space(parent)?;
                    if self.peek() != b':' {
                        return None;
                    }
                    self.pos += 1;
                    self.check_new_key(start, &key)?;
                    self.flow_space(parent)?;
                    if matches!(self.peek(), b',' | b'}') {
                        return None;
                    }
                    let value = self.flow_item(parent, depth)?;
                    self.pending.push(key);
                    self.pending.push(value);
                } else {
                    let item = self.flow_item(parent, depth)?;
                    self.pending.push(item);
                }
                self.flow_space(parent)?;
                match self.peek() {
                    b',' => {
                        self.pos += 1;
                        self.flow_space(parent)?;
                        if self.peek() == close {
                            return None;
                        }
                    }
                    c if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let value = if mapping {
            Value::Map(self.take_entries(start))
        } else {
            Value::Seq(self.pending.drain(start..).collect())
        };
        self.node(value, loc)
    }

    /// A value inside a flow collection: a nested collection or a scalar
    /// (a `k: v` pair written as a sequence item is the full parser's).
    fn flow_item(&mut self, parent: isize, depth: usize) -> Option<Node<'a>> {
        if matches!(self.peek(), b'[' | b'{') {
            return self.flow(parent, depth + 1);
        }
        let node = self.scalar(true)?;
        let saved = (self.pos, self.line, self.line_start);
        self.flow_space(parent)?;
        if self.peek() == b':' {
            return None;
        }
        (self.pos, self.line, self.line_start) = saved;
        Some(node)
    }

    /// A scalar: quoted, or plain up to `: `, ` #` or the end of the line,
    /// and inside a flow collection (`flow`) also up to a flow indicator.
    fn scalar(&mut self, flow: bool) -> Option<Node<'a>> {
        match self.peek() {
            b'"' | b'\'' => self.quoted(),
            first => {
                if !self.plain_may_start(first, flow) {
                    return None;
                }
                let start = self.pos;
                let mut end = start;
                let mut i = start;
                loop {
                    match self.at(i) {
                        0 | b'\n' => break,
                        b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                        b':' if {
                            let next = self.at(i + 1);
                            is_blank_or_end(next) || (flow && is_flow_indicator(next))
                        } =>
                        {
                            break
                        }
                        b'#' if self.at(i - 1) == b' ' => break,
                        b' ' => {}
                        _ => end = i + 1,
                    }
                    i += 1;
                }
                self.pos = end;
                let value = plain(Cow::Borrowed(&self.text[start..end]));
                let loc = self.loc(start);
                self.node(value, loc)
            }
        }
    }

    /// Refuses a key the full parser treats specially: a merge key, or one
    /// already in the mapping (an error there).
    fn check_new_key(&self, start: usize, key: &Node<'a>) -> Option<()> {
        let Value::Str(name) = &key.value else {
            return Some(());
        };
        if name == "<<" {
            return None;
        }
        let earlier = self.pending.get(start..).unwrap_or(&[]);
        if earlier
            .iter()
            .step_by(2)
            .any(|k| matches!(&k.value, Value::Str(x) if x == name))
        {
            return None;
        }
        Some(())
    }

    /// The pending keys and values from `start` as mapping entries.
    fn take_entries(&mut self, start: usize) -> Vec<(Node<'a>, Node<'a>)> {
        let mut entries = Vec::with_capacity((self.pending.len() - start) / 2);
        let mut children = self.pending.drain(start..);
        while let (Some(k), Some(v)) = (children.next(), children.next()) {
            entries.push((k, v));
        }
        entries
    }
}

/// The benchmark's configuration generator.
#[cfg(test)]
#[path = "../../benches/support/generate.rs"]
mod generate;

// The corpus locations the integration tests use, for the readers test.
#[cfg(test)]
#[path = "../../tests/corpus/mod.rs"]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::events::both_readers;
    use crate::load::node::split_documents;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// Whether the subset read `text` (when it did, both readers agree).
    fn agree(text: &str) -> bool {
        let Some((subset, full)) = both_readers(text, 7) else {
            return false;
        };
        assert_eq!(subset, full, "the readers differ on:\n{text}");
        true
    }

    #[test]
    fn a_compact_sequence_whose_first_entry_starts_on_a_later_line_goes_to_the_full_parser() {
        // Found by the load fuzzer and the damaged-documents property.
        for text in [
            "spec:\n  http:\n  -\n    account: details\n",
            "\"do676g\":\n-\n \"ur3\"\n- 9\n",
            "a:\n- # note\n  b: 1\n",
        ] {
            assert!(!agree(text), "the subset reader read {text:?}");
        }
        // The same sequence with the first entry on the `-` line stays fast.
        assert!(agree("spec:\n  http:\n  - account: details\n"));
    }

    use super::corpus::extra_conformance_dir;

    /// Every configuration the project and the conformance suite ship.
    fn shipped_configurations() -> Vec<(String, String)> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![
            root.join("examples"),
            root.join("examples/bookinfo"),
            root.join("tests/conformance"),
        ];
        dirs.extend(extra_conformance_dir());
        let mut texts = Vec::new();
        for dir in dirs {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                // Route tests carry their configuration inline.
                if let Ok(value) = serde_saphyr::from_str::<serde_json::Value>(&text) {
                    if let Some(inline) = value.pointer("/config/inline").and_then(|v| v.as_str()) {
                        texts.push((format!("{} (inline)", path.display()), inline.to_string()));
                    }
                }
                texts.push((path.display().to_string(), text));
            }
        }
        texts
    }

    #[test]
    fn reads_every_shipped_configuration_as_the_full_parser_does() {
        let texts = shipped_configurations();
        assert!(texts.len() > 20, "{} files", texts.len());
        let (mut read, mut documents) = (0, 0);
        for (name, text) in &texts {
            for doc in split_documents(text) {
                documents += 1;
                if agree(doc.text) {
                    read += 1;
                } else if !name.contains("routetest") && !name.contains("scenario") {
                    // Plain Kubernetes manifests are all in the subset.
                    panic!(
                        "{name}: the subset left this document to the full parser:\n{}",
                        doc.text
                    );
                }
            }
        }
        assert!(read * 2 > documents, "{read} of {documents}");
    }

    #[test]
    fn reads_the_benchmark_configuration_in_yaml_and_json() {
        let text = generate::generate(3);
        for doc in split_documents(&text) {
            assert!(agree(doc.text), "{}", doc.text);
        }
        let json = generate::generate_json(3);
        assert!(agree(&json));
    }

    /// Documents in the subset: the subset must read them (and agree).
    const IN_SUBSET: &[&str] = &[
        "a: 1\nb: two\n",
        "a:\n  b:\n    c: d\n",
        "a:\n- 1\n- 2\nb: 3\n",
        "a:\n  - x\n  - y\n",
        "- a: 1\n  b: 2\n- c\n",
        "- - a\n  - b\n- c\n",
        "-   a: 1\n    b: 2\n",
        "a: [1, 2, {b: c}]\n",
        "a: {b: [], c: {}}\n",
        "{\"a\": 1, \"b\": [true, null, \"x\\\"y\\u00e9\"]}",
        "{\n  \"a\": {\n    \"b\": 1\n  },\n  \"c\": [\n    1,\n    2\n  ]\n}\n",
        "a: 'it''s'\nb: \"tab\\tand\\\\\"\n",
        "# comment\na: b # trailing\n\n  # indented comment\nc: d#not-a-comment\n",
        "a:\nb: ~\nc: null\n",
        "a: -1\nb: 0x1F\nc: 1.5e3\nd: yes\ne: .inf\nf: .nan\ng: 0o17\nh: 18446744073709551615\n",
        "url: http://x:80/y?z=1\nk: a :b\n",
        "a:\n  b: 1\n\n\nc: 2\n",
        "  a: 1\n  b: 2\n",
        "a: [x,\n  y]\n",
        "a: [\n  x, # one\n  y\n  ]\n",
        "-\n  a: 1\n-\n",
        "a: \"\"\nb: ''\n",
        "k: -x\nl: ?y\nm: :z\n",
        "key with spaces: value with spaces   \n",
        "a: {b: c:d}\n",
        "\"quoted key\": 1\n'single': 2\n",
        "a: \"\\x41\\u00e9\\U0001F600\\N\\_\\0\\a\\e\\ \\/\\L\\P\"\n",
    ];

    /// Documents outside the subset (or wrong): left to the full parser.
    const OUT_OF_SUBSET: &[&str] = &[
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "a: b\n  c\n",
        "a: 1\na: 2\n",
        "<<: {a: 1}\n",
        "a:\tb\n",
        "a: b\r\n",
        "a: caf\u{e9}\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: [1, 2\n",
        "a: [1, 2,]\n",
        "a: {b}\n",
        "a: [b: c]\n",
        "a: b: c\n",
        "a:\n  - x\n  b: 1\n",
        "- a\nb: 1\n",
        "? a\n: b\n",
        "a: \"x\ny\"\n",
        "a: 'x\ny'\n",
        "a: \"\\q\"\n",
        "a: \"\\ud83d\\ude00\"\n",
        "a: - b\n",
        "a: 'x' y\n",
        "[a]: b\n",
        "a: [x,\ny]\n",
        "...\n",
    ];

    #[test]
    fn documents_in_the_subset_are_read_alike() {
        for text in IN_SUBSET {
            assert!(agree(text), "the subset did not read:\n{text}");
        }
    }

    #[test]
    fn documents_outside_the_subset_go_to_the_full_parser() {
        for text in OUT_OF_SUBSET {
            assert!(!agree(text), "the subset read:\n{text}");
        }
    }

    #[test]
    fn empty_documents_have_no_tree() {
        for text in ["", "\n", "# only\n", "  \n# a\n", "null\n", "~"] {
            assert!(
                matches!(
                    parse(text, 1, &mut Vec::new(), limits::MAX_NODES),
                    Some(None)
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn nesting_near_the_limit_goes_to_the_full_parser() {
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep, 1, &mut Vec::new(), limits::MAX_NODES).is_none());
        let shallow = "[".repeat(5) + &"]".repeat(5);
        assert!(agree(&shallow));
    }

    /// A YAML tree and the ways it may be written.
    #[derive(Debug, Clone)]
    enum Tree {
        /// Text, and how to write it: 0 plain, 1 single-quoted, 2 double-quoted.
        Scalar(String, u8),
        Seq(Vec<Tree>, bool),
        Map(Vec<(String, u8, Tree)>, bool),
    }

    fn scalar_text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z][a-z0-9.-]{0,6}",
            1 => "-?[0-9]{1,3}(\\.[0-9])?",
            1 => prop::sample::select(vec![
                "true", "no", "On", "null", "~", "", ".inf", "0x1f", "1e3", "-", "- x", ": x",
                "x:", "a: b", "a #b", "a#b", "#c", "[a]", "{b}", "a,b", "'q'", "\"d\"", "&a",
                "*a", "!t", "|", ">", "?x", "? x", "%p", "@x", "`b", " lead", "trail ",
                "it's", "say \"hi\"", "back\\slash", "<<", "a  b", "-1", ":", "?",
            ]).prop_map(String::from),
        ]
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = (scalar_text(), 0u8..3).prop_map(|(s, style)| Tree::Scalar(s, style));
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                    .prop_map(|(items, flow)| Tree::Seq(items, flow)),
                (
                    prop::collection::vec((scalar_text(), 0u8..3, inner), 0..5),
                    any::<bool>()
                )
                    .prop_map(|(entries, flow)| Tree::Map(entries, flow)),
            ]
        })
    }

    fn scalar(text: &str, style: u8) -> String {
        match style {
            0 => text.to_string(),
            1 => format!("'{}'", text.replace('\'', "''")),
            _ => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
        }
    }

    fn flow(t: &Tree, out: &mut String) {
        match t {
            Tree::Scalar(s, style) => out.push_str(&scalar(s, *style)),
            Tree::Seq(items, _) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    flow(item, out);
                }
                out.push(']');
            }
            Tree::Map(entries, _) => {
                out.push('{');
                for (i, (k, style, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&scalar(k, *style));
                    out.push_str(": ");
                    flow(v, out);
                }
                out.push('}');
            }
        }
    }

    fn is_block(t: &Tree) -> bool {
        match t {
            Tree::Seq(items, flow) => !flow && !items.is_empty(),
            Tree::Map(entries, flow) => !flow && !entries.is_empty(),
            Tree::Scalar(..) => false,
        }
    }

    /// Writes `t` as a block node at `indent` (one line per entry), with
    /// `step` more spaces per level; the first line's indentation is left
    /// to the caller when `inline` (after `- `).
    fn block(t: &Tree, indent: usize, step: usize, compact: bool, out: &mut String, inline: bool) {
        let pad = |out: &mut String, first: bool| {
            if !(inline && first) {
                out.push_str(&" ".repeat(indent));
            }
        };
        match t {
            Tree::Seq(items, _) if is_block(t) => {
                for (i, item) in items.iter().enumerate() {
                    pad(out, i == 0);
                    out.push('-');
                    if is_block(item) {
                        out.push(' ');
                        block(item, indent + 2, step, compact, out, true);
                    } else {
                        out.push(' ');
                        flow(item, out);
                        out.push('\n');
                    }
                }
            }
            Tree::Map(entries, _) if is_block(t) => {
                for (i, (k, style, v)) in entries.iter().enumerate() {
                    pad(out, i == 0);
                    out.push_str(&scalar(k, *style));
                    out.push(':');
                    if is_block(v) {
                        out.push('\n');
                        let nested = if compact && matches!(v, Tree::Seq(..)) {
                            indent
                        } else {
                            indent + step
                        };
                        block(v, nested, step, compact, out, false);
                    } else {
                        out.push(' ');
                        flow(v, out);
                        out.push_str(if k.len() % 3 == 0 { " # note\n" } else { "\n" });
                    }
                }
            }
            _ => {
                pad(out, true);
                flow(t, out);
                out.push('\n');
            }
        }
    }

    fn render(t: &Tree, step: usize, compact: bool) -> String {
        let mut out = String::new();
        block(t, 0, step, compact, &mut out, false);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the subset reads, it reads as the full parser does.
        #[test]
        fn generated_documents_are_read_alike(t in tree(), step in 1usize..4, compact: bool) {
            agree(&render(&t, step, compact));
        }

        /// Damaged documents (a character inserted, a line cut) too.
        #[test]
        fn damaged_documents_are_read_alike(
            t in tree(),
            at in any::<prop::sample::Index>(),
            edit in prop::sample::select(vec![":", " ", "\n", "-", "#", "'", "\"", "[", "]", "{", "}", ",", "  ", "\\", "a"]),
            cut: bool,
        ) {
            let text = render(&t, 2, true);
            let mut damaged = text.clone();
            if !text.is_empty() {
                let i = at.index(text.len());
                if cut {
                    damaged.replace_range(i..text[i..].find('\n').map_or(text.len(), |n| i + n), "");
                } else {
                    damaged.insert_str(i, edit);
                }
            }
            agree(&damaged);
        }

        /// Plain words in block style are always in the subset.
        #[test]
        fn plain_block_documents_are_in_the_subset(
            entries in prop::collection::btree_map("[a-z]{1,8}", prop::collection::vec("[a-z][a-z0-9-]{0,8}", 0..4), 1..6),
            step in 1usize..4,
            compact: bool,
        ) {
            let t = Tree::Map(
                entries
                    .into_iter()
                    .map(|(k, items)| {
                        let v = Tree::Seq(items.into_iter().map(|s| Tree::Scalar(s, 0)).collect(), false);
                        (k, 0, v)
                    })
                    .collect(),
                false,
            );
            let text = render(&t, step, compact);
            prop_assert!(agree(&text), "not read:\n{}", text);
        }
    }
}
