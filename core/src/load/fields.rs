//! Reading route-test and scenario files from their YAML nodes: typed
//! scalar readers, key checks with a did-you-mean hint, and every error
//! placed at `file:line:column` of the node it concerns.

use crate::duration::parse_duration;
use crate::load::did_you_mean;
use crate::load::node::{Node, Value};
use crate::source::Location;
use std::time::Duration;

/// The file being read: gives errors their position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'f> {
    file: &'f str,
}

impl<'f> Fields<'f> {
    /// Reads the file named `file` in messages.
    pub fn new(file: &'f str) -> Self {
        Fields { file }
    }

    /// The file's name.
    pub fn file(&self) -> &'f str {
        self.file
    }

    /// `file:line:column`, or `file` alone when the position is unknown.
    pub fn at(&self, loc: Location) -> String {
        if loc.is_known() {
            format!("{}:{}:{}", self.file, loc.line, loc.column)
        } else {
            self.file.to_string()
        }
    }

    /// An error about `node`: `file:line:column: text`.
    pub fn error(&self, node: &Node, text: impl std::fmt::Display) -> String {
        format!("{}: {text}", self.at(node.loc))
    }

    /// The entries of a mapping (a null node has none) with their keys as
    /// text, after checking every key is one of `allowed`. `what` names the
    /// mapping in messages (`a case`, `config`).
    pub fn entries<'a>(
        &self,
        node: &'a Node<'a>,
        allowed: &[&str],
        what: &str,
    ) -> Result<Vec<(&'a str, &'a Node<'a>)>, String> {
        let items = match &node.value {
            Value::Map(items) => items.as_slice(),
            Value::Null => &[],
            other => {
                return Err(self.error(
                    node,
                    format_args!("{what} must be a mapping, not {}", other.describe()),
                ))
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (k, v) in items {
            let Value::Str(key) = &k.value else {
                return Err(self.error(
                    k,
                    format_args!("{what}: keys are strings, not {}", k.value.describe()),
                ));
            };
            if !allowed.is_empty() && !allowed.contains(&&**key) {
                let hint = match did_you_mean(key, allowed.iter().copied()) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None => format!("; expected one of: {}", allowed.join(", ")),
                };
                return Err(self.error(k, format_args!("unknown key `{key}` in {what}{hint}")));
            }
            out.push((&**key, v));
        }
        Ok(out)
    }

    /// The entries of a mapping whose keys are free (labels, headers).
    pub fn any_entries<'a>(
        &self,
        node: &'a Node<'a>,
        what: &str,
    ) -> Result<Vec<(&'a str, &'a Node<'a>)>, String> {
        self.entries(node, &[], what)
    }

    /// The items of a list (a null node has none).
    pub fn list<'a>(&self, node: &'a Node<'a>, what: &str) -> Result<&'a [Node<'a>], String> {
        match &node.value {
            Value::Seq(items) => Ok(items),
            Value::Null => Ok(&[]),
            other => Err(self.error(
                node,
                format_args!("{what} must be a list, not {}", other.describe()),
            )),
        }
    }

    /// A string scalar.
    pub fn string(&self, node: &Node, what: &str) -> Result<String, String> {
        match &node.value {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(self.error(
                node,
                format_args!("{what} must be a string, not {}", other.describe()),
            )),
        }
    }

    /// A scalar written as a string or a number (`10.0.0.1`, `503`).
    pub fn scalar_string(&self, node: &Node, what: &str) -> Result<String, String> {
        match &node.value {
            Value::Str(s) => Ok(s.to_string()),
            Value::Int(i) => Ok(i.to_string()),
            Value::UInt(u) => Ok(u.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.error(
                node,
                format_args!("{what} must be a string, not {}", other.describe()),
            )),
        }
    }

    /// A whole number >= 0.
    pub fn uint(&self, node: &Node, what: &str) -> Result<u64, String> {
        match &node.value {
            Value::Int(i) if *i >= 0 => Ok(i.unsigned_abs()),
            Value::UInt(u) => Ok(*u),
            other => Err(self.error(
                node,
                format_args!(
                    "{what} must be a whole number >= 0, not {}",
                    other.describe()
                ),
            )),
        }
    }

    /// A duration in Go syntax (`5s`, `100ms`), or a bare `0`.
    pub fn duration(&self, node: &Node, what: &str) -> Result<Duration, String> {
        match &node.value {
            Value::Str(s) => {
                parse_duration(s).map_err(|e| self.error(node, format_args!("{what}: {e}")))
            }
            Value::Int(0) | Value::UInt(0) => Ok(Duration::ZERO),
            other => Err(self.error(
                node,
                format_args!(
                    "{what} must be a duration such as `5s` or `100ms`, not {}",
                    other.describe()
                ),
            )),
        }
    }
}

/// For a block scalar (`inline: |`) whose node is at `loc`, the line of its
/// first content line and its indentation; `None` for other scalar styles.
/// The parser places a block scalar either at its `|` indicator or at its
/// first content character; both are handled.
pub(crate) fn block_scalar_origin(text: &str, loc: Location) -> Option<(u32, u32)> {
    let is_header = |s: &str| {
        let s = s.split(" #").next().unwrap_or("").trim_end();
        let tail = s.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        tail.ends_with('|') || tail.ends_with('>')
    };
    let line_index = usize::try_from(loc.line).ok()?.checked_sub(1)?;
    let column = usize::try_from(loc.column).ok()?.checked_sub(1)?;
    let line = text.lines().nth(line_index)?;
    let at = line.get(column..)?;
    if at.starts_with('|') || at.starts_with('>') {
        let first = text
            .lines()
            .skip(line_index + 1)
            .find(|l| !l.trim().is_empty())?;
        let indent = first.len() - first.trim_start_matches(' ').len();
        return Some((loc.line.checked_add(1)?, u32::try_from(indent).ok()?));
    }
    let previous = text.lines().nth(line_index.checked_sub(1)?)?;
    if is_header(previous) {
        return Some((loc.line, loc.column.checked_sub(1)?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::events::parse_document;
    use crate::load::node::split_documents;

    fn with_root<R>(text: &str, f: impl FnOnce(&Node) -> R) -> R {
        let docs = split_documents(text);
        let root = parse_document(&docs[0]).unwrap().unwrap();
        f(&root)
    }

    #[test]
    fn an_unknown_key_is_placed_at_the_key_with_a_suggestion_or_the_choices() {
        let fields = Fields::new("t.yaml");
        with_root("name: a\nexpcet: {}\n", |root| {
            let e = fields
                .entries(root, &["name", "expect"], "a case")
                .unwrap_err();
            assert_eq!(
                e,
                "t.yaml:2:1: unknown key `expcet` in a case; did you mean `expect`?"
            );
            let e = fields
                .entries(root, &["name", "zzz"], "a case")
                .unwrap_err();
            assert!(e.ends_with("expected one of: name, zzz"), "{e}");
        });
    }

    #[test]
    fn non_string_keys_and_non_mappings_are_errors() {
        let fields = Fields::new("t");
        with_root("1: a\n", |root| {
            let e = fields.entries(root, &[], "headers").unwrap_err();
            assert_eq!(e, "t:1:1: headers: keys are strings, not integer `1`");
        });
        with_root("[a]\n", |root| {
            assert!(fields
                .entries(root, &[], "source")
                .unwrap_err()
                .contains("source must be a mapping, not a list"));
        });
    }

    #[test]
    fn scalar_readers_say_what_they_got() {
        let fields = Fields::new("t");
        with_root("a: -1\nb: 1.5\nc: 10s\nd: 0\ne: 5\nf: [x]\n", |root| {
            let get = |k| root.get(k).unwrap();
            assert!(fields
                .uint(get("a"), "count")
                .unwrap_err()
                .contains("integer `-1`"));
            assert_eq!(fields.scalar_string(get("b"), "x").unwrap(), "1.5");
            assert_eq!(
                fields.duration(get("c"), "at").unwrap(),
                Duration::from_secs(10)
            );
            assert_eq!(fields.duration(get("d"), "at").unwrap(), Duration::ZERO);
            assert!(fields
                .duration(get("e"), "at")
                .unwrap_err()
                .contains("integer `5`"));
            assert!(fields
                .string(get("f"), "host")
                .unwrap_err()
                .starts_with("t:6:4: host"));
            assert_eq!(fields.list(get("f"), "hosts").unwrap().len(), 1);
        });
    }
}
