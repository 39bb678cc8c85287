//! Builds the [`Node`] tree straight from the YAML parser's events (the
//! parser under serde-saphyr), with our own budgets: nesting depth, alias
//! count and total nodes after alias expansion. This avoids a serde round
//! trip per node and keeps loading linear in the input.

use super::node::{Node, ParseError, Value};
use crate::fasthash::FastMap;
use crate::limits;
use crate::source::Location;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
use std::borrow::Cow;

fn loc(m: &serde_saphyr::granit_parser::Marker, first_line: u32) -> Location {
    Location::new(
        u32::try_from(m.line())
            .unwrap_or(u32::MAX)
            .saturating_add(first_line.saturating_sub(1)),
        u32::try_from(m.col()).unwrap_or(u32::MAX).saturating_add(1),
    )
}

fn limit(at: Location, text: String) -> ParseError {
    ParseError {
        loc: at,
        text,
        limit: true,
    }
}

/// Resolves a plain scalar the way Kubernetes' YAML reader does (YAML 1.2
/// core schema, plus YAML 1.1 `yes`/`no`/`on`/`off` booleans).
pub(super) fn plain(value: Cow<'_, str>) -> Value<'_> {
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

/// An open collection. Its children wait on the shared `pending` stack
/// (from `start`; keys and values alternate for a mapping) until its end
/// event moves them into one exactly sized vector.
struct Frame {
    map: bool,
    start: usize,
    loc: Location,
    anchor: usize,
}

fn node_count(n: &Node<'_>) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(node_count).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| node_count(k) + node_count(v))
            .sum(),
        _ => 0,
    }
}

/// Working space of [`parse`], kept from one document to the next so that a
/// stream of documents does not grow it again for each.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    stack: Vec<Frame>,
    pub(super) pending: Vec<Node<'a>>,
}

/// Parses one document's text into a tree. `Ok(None)` for an empty document.
pub(crate) fn parse<'a>(
    text: &'a str,
    first_line: u32,
    scratch: &mut Scratch<'a>,
) -> Result<Option<Node<'a>>, ParseError> {
    let mut parser = Parser::new_from_str(text);
    let stack = &mut scratch.stack;
    let pending = &mut scratch.pending;
    // Left over from a document that stopped at an error.
    stack.clear();
    pending.clear();
    let mut anchors: FastMap<usize, (Node<'_>, usize)> = FastMap::default();
    let mut root: Option<Node<'_>> = None;
    let mut nodes = 0usize;
    let mut aliases = 0usize;
    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| {
            let text = e.info();
            let limit = text.contains("limit") || text.contains("too deep");
            ParseError {
                loc: loc(e.marker(), first_line),
                text,
                limit,
            }
        })?;
        let at = loc(&span.start, first_line);
        let finished: Option<(Node<'_>, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(..) => {
                if root.is_some() {
                    break;
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let v = match style {
                    ScalarStyle::Plain
                        if tag
                            .as_ref()
                            .is_none_or(|t| !t.is_yaml_core_schema_tag("str")) =>
                    {
                        plain(value)
                    }
                    _ => Value::Str(value),
                };
                Some((Node { value: v, loc: at }, anchor))
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if stack.len() >= limits::MAX_NESTING_DEPTH {
                    return Err(limit(
                        at,
                        format!(
                            "nesting deeper than {} levels (limits::MAX_NESTING_DEPTH)",
                            limits::MAX_NESTING_DEPTH
                        ),
                    ));
                }
                stack.push(Frame {
                    map: matches!(event, Event::MappingStart(..)),
                    start: pending.len(),
                    loc: at,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame {
                    map: false,
                    start,
                    loc,
                    anchor,
                }) => {
                    let items: Vec<Node<'_>> = pending.drain(start..).collect();
                    Some((
                        Node {
                            value: Value::Seq(items),
                            loc,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(ParseError {
                        loc: at,
                        text: "unbalanced sequence".into(),
                        limit: false,
                    })
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame {
                    map: true,
                    start,
                    loc,
                    anchor,
                }) => {
                    let mut entries =
                        Vec::with_capacity((pending.len() - start.min(pending.len())) / 2);
                    let mut children = pending.drain(start..);
                    while let (Some(k), Some(v)) = (children.next(), children.next()) {
                        entries.push((k, v));
                    }
                    drop(children);
                    Some((
                        Node {
                            value: Value::Map(merge_keys(entries)),
                            loc,
                        },
                        anchor,
                    ))
                }
                _ => {
                    return Err(ParseError {
                        loc: at,
                        text: "unbalanced mapping".into(),
                        limit: false,
                    })
                }
            },
            Event::Alias(id) => {
                aliases += 1;
                if aliases > limits::MAX_ALIASES {
                    return Err(limit(
                        at,
                        format!(
                            "more than {} aliases (limits::MAX_ALIASES)",
                            limits::MAX_ALIASES
                        ),
                    ));
                }
                let Some((target, size)) = anchors.get(&id) else {
                    return Err(ParseError {
                        loc: at,
                        text: "alias to an unknown anchor".into(),
                        limit: false,
                    });
                };
                nodes += size;
                if nodes > limits::MAX_NODES {
                    return Err(limit(
                        at,
                        format!(
                        "aliases expand to more than {} nodes (limits::MAX_NODES): an alias bomb?",
                        limits::MAX_NODES
                    ),
                    ));
                }
                let mut copy = target.clone();
                copy.loc = at;
                Some((copy, 0))
            }
            _ => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        nodes += 1;
        if nodes > limits::MAX_NODES {
            return Err(limit(
                at,
                format!("more than {} nodes (limits::MAX_NODES)", limits::MAX_NODES),
            ));
        }
        if anchor != 0 {
            let size = node_count(&node);
            anchors.insert(anchor, (node.clone(), size));
        }
        match stack.last() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(&Frame {
                map: true, start, ..
            }) => {
                // A key sits at an even offset from the mapping's start.
                let is_value = (pending.len() - start.min(pending.len())) % 2 == 1;
                if is_value {
                    if let Some(Node {
                        value: Value::Str(name),
                        loc,
                    }) = pending.last()
                    {
                        let earlier = pending.get(start..pending.len() - 1).unwrap_or(&[]);
                        if name != "<<"
                            && earlier
                                .iter()
                                .step_by(2)
                                .any(|e| matches!(&e.value, Value::Str(x) if x == name))
                        {
                            return Err(ParseError {
                                loc: *loc,
                                text: format!("duplicate key {name:?}"),
                                limit: false,
                            });
                        }
                    }
                }
                pending.push(node);
            }
            Some(Frame { map: false, .. }) => pending.push(node),
        }
    }
    Ok(root.filter(|n| n.value != Value::Null))
}

/// YAML merge keys (`<<: *base`): entries of the merged mappings that the
/// mapping does not set itself.
fn merge_keys<'a>(entries: Vec<(Node<'a>, Node<'a>)>) -> Vec<(Node<'a>, Node<'a>)> {
    if !entries
        .iter()
        .any(|(k, _)| matches!(&k.value, Value::Str(s) if s == "<<"))
    {
        return entries;
    }
    let mut own = Vec::new();
    let mut merged = Vec::new();
    for (k, v) in entries {
        if matches!(&k.value, Value::Str(s) if s == "<<") {
            match v.value {
                Value::Map(m) => merged.extend(m),
                Value::Seq(items) => {
                    for i in items {
                        if let Value::Map(m) = i.value {
                            merged.extend(m);
                        }
                    }
                }
                _ => {}
            }
        } else {
            own.push((k, v));
        }
    }
    for (k, v) in merged {
        if !own.iter().any(|(o, _)| o.value == k.value) {
            own.push((k, v));
        }
    }
    own
}
