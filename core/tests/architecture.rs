//! ARCHITECTURE.md is the map a newcomer reads first: every path it names
//! (in backticks, with a `/`) must exist in the repository.

use std::path::Path;

fn named_paths(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.contains('/') && !s.contains(' ') && !s.starts_with("../"))
        .collect()
}

#[test]
fn every_path_architecture_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let paths = named_paths(&text);
    assert!(
        paths.len() > 20,
        "the map names the crates and modules: {paths:?}"
    );
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn a_missing_path_is_noticed() {
    let paths = named_paths("see `core/src/nowhere.rs` and `meshroute check` and `a b/c`");
    assert_eq!(paths, ["core/src/nowhere.rs"]);
}
