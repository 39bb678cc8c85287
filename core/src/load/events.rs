//! Builds the [`Node`] tree straight from the YAML parser's events (the
//! parser under serde-saphyr), with our own budgets: nesting depth, alias
//! count and total nodes after alias expansion. This avoids a serde round
//! trip per node and keeps loading linear in the input.
//!
//! [`parse_document`] is the loader's one way in: the fast reader of
//! [`super::subset`] first, this full parser when the subset gives up.

use super::node::{plain, DocumentText, Node, ParseError, Value};
use crate::fasthash::FastMap;
use crate::limits::{self, Limits};
use crate::source::Location;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

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

/// Parses one document's text into a tree, within `limits`. `Ok(None)` for
/// an empty document.
pub(crate) fn parse<'a>(
    text: &'a str,
    first_line: u32,
    scratch: &mut Scratch<'a>,
    limits: &Limits,
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
    let mut replayed = 0usize;
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
                            "nesting deeper than {} levels (limits::MAX_NESTING_DEPTH, a fixed limit)",
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
                if aliases > limits.max_aliases {
                    return Err(limit(
                        at,
                        format!(
                            "more than {} aliases ({})",
                            limits.max_aliases,
                            limits::hint("max_aliases", limits.max_aliases as u64)
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
                replayed = replayed.saturating_add(*size);
                if replayed > limits.max_anchor_expansion_events {
                    return Err(limit(
                        at,
                        format!(
                            "aliases replay more than {} nodes ({}): an alias bomb?",
                            limits.max_anchor_expansion_events,
                            limits::hint(
                                "max_anchor_expansion_events",
                                limits.max_anchor_expansion_events as u64
                            )
                        ),
                    ));
                }
                nodes = nodes.saturating_add(*size);
                if nodes > limits.max_nodes {
                    return Err(limit(
                        at,
                        format!(
                            "aliases expand to more than {} nodes ({}): an alias bomb?",
                            limits.max_nodes,
                            limits::hint("max_nodes", limits.max_nodes as u64)
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
        if nodes > limits.max_nodes {
            return Err(limit(
                at,
                format!(
                    "more than {} nodes ({})",
                    limits.max_nodes,
                    limits::hint("max_nodes", limits.max_nodes as u64)
                ),
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

/// Parses one document within the default limits. `Ok(None)` for an empty
/// document (only comments).
pub(crate) fn parse_document<'a>(doc: &DocumentText<'a>) -> Result<Option<Node<'a>>, ParseError> {
    parse_document_with(doc, &mut Scratch::default(), &Limits::default())
}

/// [`parse_document`] within `limits`, with working space reused from
/// document to document.
pub(crate) fn parse_document_with<'a>(
    doc: &DocumentText<'a>,
    scratch: &mut Scratch<'a>,
    limits: &Limits,
) -> Result<Option<Node<'a>>, ParseError> {
    #[cfg(feature = "fast-yaml")]
    if let Some(root) = super::subset::parse(
        doc.text,
        doc.first_line,
        &mut scratch.pending,
        limits.max_nodes,
    ) {
        return Ok(root);
    }
    if doc
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    parse(doc.text, doc.first_line, scratch, limits)
}

/// Both readers on one document, for the differential tests and the fuzz
/// target: `None` when the subset leaves the document to the full parser,
/// else the two results as debug text (in which NaN equals itself and
/// borrowed and owned strings print alike).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn both_readers(text: &str, first_line: u32) -> Option<(String, String)> {
    let limits = Limits::default();
    let tree = super::subset::parse(text, first_line, &mut Vec::new(), limits.max_nodes)?;
    let full = parse(text, first_line, &mut Scratch::default(), &limits)
        .map(|root| root.filter(|n| n.value != Value::Null));
    Some((
        format!("{:?}", Ok::<_, ()>(tree)),
        format!("{:?}", full.map_err(|_| ())),
    ))
}
