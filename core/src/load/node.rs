//! A YAML/JSON document as a tree of nodes, each with its line and column.
//!
//! Parsing goes through serde-saphyr (pure Rust, panic-free, with budgets
//! against alias bombs and deep nesting); its `Spanned` wrapper gives the
//! position of every node. The typed model is then read from this tree by
//! [`super::de`], which knows the field path of every value.

use crate::source::Location;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One node with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub loc: Location,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
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

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
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
}

fn location_of(l: &serde_saphyr::Location) -> Location {
    Location::new(
        u32::try_from(l.line()).unwrap_or(u32::MAX),
        u32::try_from(l.column()).unwrap_or(u32::MAX),
    )
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            loc: location_of(&spanned.referenced),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or_else(|_| u64::try_from(v).map(Value::UInt))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|u| self.visit_u64::<E>(u).unwrap_or(Value::UInt(u)))
            .map_err(|_| E::custom(format!("integer {v} is out of range")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
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
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_separator = content
            .strip_prefix("---")
            .is_some_and(|rest| rest.trim().is_empty());
        if is_separator {
            docs.push(DocumentText {
                first_line: start_line,
                text: &text[start..offset],
            });
            start = offset + line.len();
            start_line = line_no + 1;
        }
        offset += line.len();
    }
    docs.push(DocumentText {
        first_line: start_line,
        text: &text[start..],
    });
    docs
}

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub loc: Location,
    pub text: String,
    /// Whether a budget (limit) was hit rather than a syntax error.
    pub limit: bool,
}

/// Parses one document. `Ok(None)` for an empty document (only comments).
pub(crate) fn parse_document(doc: &DocumentText<'_>) -> Result<Option<Node>, ParseError> {
    if doc
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    super::events::parse(doc.text, doc.first_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
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
