//! The positions of a resource's fields, taken from its node tree, for
//! [`FieldLocations`] to resolve field paths on demand.

use super::node::{Node, Value};
use crate::source::{FieldLocations, PositionKind, PositionNode, PositionTree};

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn kind(v: &Value) -> PositionKind {
    match v {
        Value::Map(_) => PositionKind::Map,
        Value::Seq(_) => PositionKind::Seq,
        _ => PositionKind::Leaf,
    }
}

/// Records every field under each `(base path, node)` (the base nodes
/// themselves are not recorded, as a deserializer starting there would not).
pub(crate) fn field_locations(bases: &[(&str, &Node<'_>)]) -> FieldLocations {
    let mut tree = PositionTree::default();
    // Sized up front: one vector and one string per resource, no regrowth.
    let (nodes, key_bytes) = bases
        .iter()
        .map(|(_, n)| size(n))
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    let base_bytes: usize = bases.iter().map(|(base, _)| base.len()).sum();
    tree.roots.reserve_exact(bases.len());
    tree.nodes.reserve_exact(nodes);
    tree.keys.reserve_exact(key_bytes + base_bytes);
    for (base, node) in bases {
        let key_start = tree.keys.len();
        tree.keys.push_str(base);
        let mut root = PositionNode {
            loc: node.loc,
            key_start: to_u32(key_start),
            key_len: to_u32(base.len()),
            children_start: 0,
            children_len: 0,
            kind: kind(&node.value),
        };
        add_children(&mut tree, &mut root, node);
        tree.roots.push(root);
    }
    FieldLocations::from_tree(tree)
}

/// The number of fields under `node` and the bytes of their string keys.
fn size(node: &Node<'_>) -> (usize, usize) {
    match &node.value {
        Value::Map(entries) => entries.iter().fold((0, 0), |(n, b), (k, v)| {
            let (vn, vb) = size(v);
            let key = match &k.value {
                Value::Str(s) => s.len(),
                _ => 0,
            };
            (n + 1 + vn, b + key + vb)
        }),
        Value::Seq(items) => items.iter().fold((0, 0), |(n, b), item| {
            let (vn, vb) = size(item);
            (n + 1 + vn, b + vb)
        }),
        _ => (0, 0),
    }
}

/// Appends the children of `node` as one consecutive run, then theirs.
fn add_children(tree: &mut PositionTree, parent: &mut PositionNode, node: &Node<'_>) {
    let start = tree.nodes.len();
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let key_start = tree.keys.len();
                match &k.value {
                    Value::Str(s) => tree.keys.push_str(s),
                    other => tree.keys.push_str(&other.describe()),
                }
                tree.nodes.push(PositionNode {
                    loc: k.loc,
                    key_start: to_u32(key_start),
                    key_len: to_u32(tree.keys.len() - key_start),
                    children_start: 0,
                    children_len: 0,
                    kind: kind(&v.value),
                });
            }
            parent.children_start = to_u32(start);
            parent.children_len = to_u32(entries.len());
            for (i, (_, v)) in entries.iter().enumerate() {
                fill(tree, start + i, v);
            }
        }
        Value::Seq(items) => {
            for item in items {
                tree.nodes.push(PositionNode {
                    loc: item.loc,
                    key_start: 0,
                    key_len: 0,
                    children_start: 0,
                    children_len: 0,
                    kind: kind(&item.value),
                });
            }
            parent.children_start = to_u32(start);
            parent.children_len = to_u32(items.len());
            for (i, item) in items.iter().enumerate() {
                fill(tree, start + i, item);
            }
        }
        _ => {}
    }
}

fn fill(tree: &mut PositionTree, index: usize, value: &Node<'_>) {
    if !matches!(value.value, Value::Map(_) | Value::Seq(_)) {
        return;
    }
    let Some(mut n) = tree.nodes.get(index).copied() else {
        return;
    };
    add_children(tree, &mut n, value);
    if let Some(slot) = tree.nodes.get_mut(index) {
        *slot = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::events::parse_document;
    use crate::load::node::split_documents;
    use crate::source::Location;

    const DOC: &str = "spec:
  http:
  - headers:
      \"x\\\"y\": {exact: a}
      end-user: {exact: b}
    route:
    - destination: {host: r}
";

    fn locations(text: &str) -> FieldLocations {
        let docs = split_documents(text);
        let root = parse_document(&docs[0]).unwrap().unwrap();
        field_locations(&[("spec", root.get("spec").unwrap())])
    }

    #[test]
    fn fields_map_keys_and_items_resolve_to_where_they_are_written() {
        let f = locations(DOC);
        assert_eq!(f.locate("spec.http"), Location::new(2, 3));
        assert_eq!(f.locate("spec.http[0]"), Location::new(3, 5));
        assert_eq!(
            f.locate("spec.http[0].headers[\"end-user\"]"),
            Location::new(5, 7)
        );
        assert_eq!(
            f.locate("spec.http[0].headers[\"x\\\"y\"]"),
            Location::new(4, 7)
        );
        assert_eq!(
            f.locate("spec.http[0].route[0].destination.host"),
            Location::new(7, 21)
        );
        assert!(f.contains("spec.http[0].route[0].destination"));
        assert!(!f.contains("spec.http[0].route[1]"));
    }

    #[test]
    fn absent_fields_fall_back_to_the_nearest_written_parent() {
        let f = locations(DOC);
        assert_eq!(
            f.locate("spec.http[0].route[3].weight"),
            Location::new(6, 5)
        );
        assert_eq!(f.locate("spec.http[0].timeout"), Location::new(3, 5));
        // The base itself is not a recorded field, nor is another base.
        assert_eq!(f.locate("spec"), Location::UNKNOWN);
        assert_eq!(f.locate("spec.tcp"), Location::UNKNOWN);
        assert_eq!(f.locate("metadata.name"), Location::UNKNOWN);
    }

    #[test]
    fn inserted_paths_and_the_tree_are_both_found() {
        let mut f = locations(DOC);
        f.insert("spec.tcp".into(), Location::new(9, 1));
        assert_eq!(f.locate("spec.tcp[0]"), Location::new(9, 1));
        assert_eq!(f.locate("spec.http[0].route"), Location::new(6, 5));
        let all: Vec<(String, Location)> = f.into_entries().collect();
        assert!(all.contains(&(
            "spec.http[0].headers[\"end-user\"]".into(),
            Location::new(5, 7)
        )));
        assert!(all.contains(&("spec.tcp".into(), Location::new(9, 1))));
    }
}
