//! Where the conformance corpora are, for the tests that read them (and the
//! loader's unit test, which includes this file by path).
// Each includer uses only part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (the parent of `core/`).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The repository's own corpus, which every test reads.
pub fn repository_conformance_dir() -> PathBuf {
    root().join("tests/conformance")
}

/// An optional extra corpus, when one exists: `$MESHROUTE_CONFORMANCE`, else
/// `$MESHROUTE_SHARED_DIR/conformance` or `$MESHROUTE_SHARED/conformance`,
/// else `../shared/conformance` beside the checkout.
pub fn extra_conformance_dir() -> Option<PathBuf> {
    [
        std::env::var_os("MESHROUTE_CONFORMANCE").map(PathBuf::from),
        std::env::var_os("MESHROUTE_SHARED_DIR").map(|d| PathBuf::from(d).join("conformance")),
        std::env::var_os("MESHROUTE_SHARED").map(|d| PathBuf::from(d).join("conformance")),
        Some(root().join("../shared/conformance")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_dir())
}

/// The corpora to read: the repository's, then the extra one if any.
pub fn conformance_dirs() -> Vec<PathBuf> {
    std::iter::once(repository_conformance_dir())
        .chain(extra_conformance_dir())
        .collect()
}
