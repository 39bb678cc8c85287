//! A YAML/JSON document as a tree of nodes, each with its line and column.
//!
//! Parsing goes through the YAML parser under serde-saphyr (pure Rust,
//! panic-free), see [`super::events`]; strings borrow from the input text
//! where the YAML has no escapes. The typed model is then read from this
//! tree by [`super::de`], which knows the field path of every value.

use crate::source::Location;
use std::borrow::Cow;

/// One node with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'a> {
    pub value: Value<'a>,
    pub loc: Location,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Value<'_> {
    /// A short description for type errors: `string "abc"`, `a mapping`.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("boolean `{b}`"),
            Value::Int(i) => format!("integer `{i}`"),
            Value::UInt(u) => format!("integer `{u}`"),
            Value::Float(f) => format!("number `{f}`"),
            Value::Str(s) => {
                let shown: String = s.chars().take(40).collect();
                if shown.len() < s.len() {
                    format!("string {shown:?}...")
                } else {
                    format!("string {shown:?}")
                }
            }
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

impl<'a> Node<'a> {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.value {
            Value::Map(entries) => entries.iter().find_map(|(k, v)| match &k.value {
                Value::Str(s) if s == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The string value, when this node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as JSON; mapping keys that are not strings become their
    /// JSON text. A float JSON cannot hold (NaN, infinity) becomes its text,
    /// not `null`: a test file compares `null` as "absent", so the value
    /// must stay visible.
    pub fn to_json(&self) -> serde_json::Value {
        // Lenient conversion has nothing to refuse.
        self.convert(false).unwrap_or(serde_json::Value::Null)
    }

    /// The node as JSON, refusing what JSON cannot hold (a NaN or infinite
    /// number, a mapping key that is not a scalar) with its position, as
    /// Kubernetes' YAML-to-JSON conversion does.
    pub fn to_json_strict(&self) -> Result<serde_json::Value, (Location, String)> {
        self.convert(true)
    }

    fn convert(&self, strict: bool) -> Result<serde_json::Value, (Location, String)> {
        use serde_json::Value as Json;
        Ok(match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Json::Number(n),
                None if strict => return Err((self.loc, format!("number `{f}` has no JSON form"))),
                None => Json::String(f.to_string()),
            },
            Value::Str(s) => Json::String(s.to_string()),
            Value::Seq(items) => Json::Array(
                items
                    .iter()
                    .map(|n| n.convert(strict))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    if strict && matches!(k.value, Value::Seq(_) | Value::Map(_)) {
                        return Err((
                            k.loc,
                            format!(
                                "a mapping key must be a scalar, found {}",
                                k.value.describe()
                            ),
                        ));
                    }
                    let key = match k.convert(strict)? {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(key, v.convert(strict)?);
                }
                Json::Object(map)
            }
        })
    }
}

/// A document of a multi-document text: where it starts and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocumentText<'a> {
    /// 1-based line of the document's first line in the whole text.
    pub first_line: u32,
    pub text: &'a str,
}

/// Splits a YAML stream into documents at `---` separator lines, the way
/// Kubernetes' YAML reader (and so kubectl and istioctl) does: a line that
/// starts with `---` followed only by white space.
pub(crate) fn split_documents(text: &str) -> Vec<DocumentText<'_>> {
    documents(text).collect()
}

/// The documents of [`split_documents`], one at a time.
pub(crate) fn documents(text: &str) -> Documents<'_> {
    Documents {
        text,
        start: 0,
        start_line: 1,
        line_no: 1,
        offset: 0,
        done: false,
        separator: memchr::memmem::Finder::new(b"\n---"),
    }
}

/// Iterator over the documents of a text; see [`documents`].
pub(crate) struct Documents<'a> {
    text: &'a str,
    /// Byte offset and line of the current document's start.
    start: usize,
    start_line: u32,
    /// Line number and byte offset of the next line to look at.
    line_no: u32,
    offset: usize,
    done: bool,
    /// Finds the next line that starts with `---`.
    separator: memchr::memmem::Finder<'static>,
}

impl<'a> Iterator for Documents<'a> {
    type Item = DocumentText<'a>;

    fn next(&mut self) -> Option<DocumentText<'a>> {
        if self.done {
            return None;
        }
        let text = self.text;
        // Only lines that start with `---` can separate documents: find
        // those (`\n---`, with SIMD memmem), and count the lines in between.
        loop {
            let rest = &text[self.offset..];
            let skip = if rest.starts_with("---") {
                Some(0)
            } else {
                self.separator.find(rest.as_bytes()).map(|i| i + 1)
            };
            let Some(skip) = skip else {
                break;
            };
            self.line_no = self.line_no.saturating_add(count_lines(&rest[..skip]));
            let at = self.offset + skip;
            let candidate = &text[at..];
            let len = candidate.find('\n').map_or(candidate.len(), |i| i + 1);
            let line_no = self.line_no;
            self.offset = at + len;
            self.line_no = self.line_no.saturating_add(1);
            if candidate[3..len].trim().is_empty() {
                let doc = DocumentText {
                    first_line: self.start_line,
                    text: &text[self.start..at],
                };
                self.start = self.offset;
                self.start_line = line_no.saturating_add(1);
                return Some(doc);
            }
        }
        self.done = true;
        Some(DocumentText {
            first_line: self.start_line,
            text: &text[self.start..],
        })
    }
}

/// The number of line breaks in `s`.
fn count_lines(s: &str) -> u32 {
    let n = memchr::memchr_iter(b'\n', s.as_bytes()).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub loc: Location,
    pub text: String,
    /// Whether a budget (limit) was hit rather than a syntax error.
    pub limit: bool,
}

/// Resolves a plain scalar the way Kubernetes' YAML reader does (YAML 1.2
/// core schema, plus YAML 1.1 `yes`/`no`/`on`/`off` booleans).
pub(crate) fn plain(value: Cow<'_, str>) -> Value<'_> {
    let s: &str = &value;
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    let digits = |t: &[u8]| !t.is_empty() && t.iter().all(u8::is_ascii_digit);
    let (sign, rest) = match b.first() {
        Some(b'-') | Some(b'+') => (1, &b[1..]),
        _ => (0, b),
    };
    if digits(rest) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
        if let Ok(u) = s.trim_start_matches('+').parse::<u64>() {
            return Value::UInt(u);
        }
        return Value::Str(value);
    }
    if sign == 0 {
        if let Some(h) = s.strip_prefix("0x") {
            if let Ok(i) = i64::from_str_radix(h, 16) {
                return Value::Int(i);
            }
        }
        if let Some(o) = s.strip_prefix("0o") {
            if let Ok(i) = i64::from_str_radix(o, 8) {
                return Value::Int(i);
            }
        }
    }
    let looks_float = rest.iter().any(|c| *c == b'.' || *c == b'e' || *c == b'E')
        && rest
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && rest.iter().any(u8::is_ascii_digit)
        && rest
            .first()
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.');
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::events::parse_document;

    fn parse(text: &str) -> Node<'_> {
        let docs = split_documents(text);
        parse_document(&docs[0]).unwrap().unwrap()
    }

    #[test]
    fn nodes_carry_line_and_column() {
        let n = parse("a: 1\nb:\n  - x\n  - {c: true}\n");
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        let b = n.get("b").unwrap();
        let Value::Seq(items) = &b.value else {
            panic!("seq")
        };
        assert_eq!(items[0].loc, Location::new(3, 5));
        assert_eq!(items[1].get("c").unwrap().value, Value::Bool(true));
        assert_eq!(items[1].get("c").unwrap().loc.line, 4);
    }

    #[test]
    fn documents_split_at_separator_lines_only() {
        let text = "a: 1\n---\nb: 2\n--- \nc: '---'\n---x: 1\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].first_line, 3);
        assert_eq!(docs[2].first_line, 5);
        let n = parse_document(&docs[2]).unwrap().unwrap();
        assert_eq!(n.get("c").unwrap().loc.line, 5);
    }

    #[test]
    fn separators_at_the_start_the_end_and_with_crlf() {
        let text = "---\r\na: 1\r\n---\r\nb: 2\n  ---\nc: 3\n---";
        let docs = split_documents(text);
        let lines: Vec<(u32, &str)> = docs.iter().map(|d| (d.first_line, d.text)).collect();
        assert_eq!(
            lines,
            [
                (1, ""),
                (2, "a: 1\r\n"),
                (4, "b: 2\n  ---\nc: 3\n"),
                (8, "")
            ]
        );
        assert_eq!(split_documents("a: 1").len(), 1);
        assert_eq!(split_documents("").len(), 1);
    }

    #[test]
    fn empty_and_comment_documents_are_skipped() {
        for text in ["", "# only a comment\n", "\n\n", "null\n", "~"] {
            let docs = split_documents(text);
            assert_eq!(parse_document(&docs[0]).unwrap(), None, "{text:?}");
        }
    }

    #[test]
    fn json_parses_too() {
        let n = parse("{\"kind\": \"VirtualService\", \"spec\": {\"hosts\": [\"a\"]}}");
        assert_eq!(n.get("kind").unwrap().as_str(), Some("VirtualService"));
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let docs = split_documents("a: 1\n---\nb: [1, 2\nc: 3\n");
        let err = parse_document(&docs[1]).unwrap_err();
        assert!(err.loc.line >= 3, "{err:?}");
        assert!(!err.limit);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let docs = split_documents("a: 1\na: 2\n");
        assert!(parse_document(&docs[0]).is_err());
    }

    #[test]
    fn deep_flow_nesting_is_a_limit_not_a_crash() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let docs = split_documents(&text);
        let err = parse_document(&docs[0]).unwrap_err();
        assert!(err.text.len() < 400);
    }

    #[test]
    fn deep_nesting_at_the_limit_parses() {
        let depth = crate::limits::MAX_NESTING_DEPTH - 2;
        let text = "[".repeat(depth) + &"]".repeat(depth);
        let docs = split_documents(&text);
        assert!(parse_document(&docs[0]).is_ok());
    }

    #[test]
    fn deep_block_nesting_is_a_limit_not_a_crash() {
        let text = (0..10_000)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>();
        let docs = split_documents(&text);
        assert!(parse_document(&docs[0]).is_err());
    }

    #[test]
    fn alias_bomb_is_a_limit() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let docs = split_documents(&text);
        let err = parse_document(&docs[0]).unwrap_err();
        assert!(err.limit, "{err:?}");
    }
}
