//! Reading input files: paths, directories (recursively) and `-` (stdin).

use crate::Failure;
use meshroute::limits::{self, Limits};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One text read, with the name messages use for it.
#[derive(Debug)]
pub struct Text {
    /// The path as given (or found under a given directory), `-` for stdin.
    pub name: String,
    /// The file's contents.
    pub text: String,
}

/// Whether `path` names a route-test or scenario file.
pub fn is_test_file(path: &str) -> bool {
    [
        ".routetest.yaml",
        ".routetest.yml",
        ".scenario.yaml",
        ".scenario.yml",
    ]
    .iter()
    .any(|s| path.ends_with(s))
}

/// Whether `path` looks like configuration (`.yaml`, `.yml`, `.json`).
pub fn is_config_file(path: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|s| path.ends_with(s))
}

/// Expands the arguments: files as given, directories to the files under
/// them (sorted, recursively) that `wanted` accepts, `-` as is.
pub fn expand(args: &[String], wanted: fn(&str) -> bool) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for a in args {
        let path = Path::new(a);
        if a != "-" && path.is_dir() {
            let before = out.len();
            walk(path, wanted, &mut out, 0)?;
            if out.len() == before {
                return Err(Failure(format!("{a}: no matching files in the directory")));
            }
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    wanted: fn(&str) -> bool,
    out: &mut Vec<String>,
    depth: usize,
) -> Result<(), Failure> {
    // Deep enough for any real tree; stops symlink loops.
    if depth > 32 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Failure(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.to_string_lossy().to_string();
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, wanted, out, depth + 1)?;
        } else if wanted(&name) {
            out.push(name);
        }
    }
    Ok(())
}

/// Reads one file (or stdin for `-`), refusing files over the input limit
/// (`limits.max_input_bytes`).
pub fn read(name: &str, limits: &Limits) -> Result<String, String> {
    let limit = u64::try_from(limits.max_input_bytes).unwrap_or(u64::MAX);
    let mut text = String::new();
    if name == "-" {
        std::io::stdin()
            .take(limit + 1)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
    } else {
        let file = std::fs::File::open(name).map_err(|e| e.to_string())?;
        // Sized from the file's length: growing by doubling would hold up to
        // twice a big mesh's text (268 MB for 150 MB at 100,000 services).
        let size = file.metadata().map_or(0, |m| m.len()).min(limit + 1);
        text.reserve(usize::try_from(size).unwrap_or(0).saturating_add(1));
        file.take(limit + 1)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
    }
    if text.len() as u64 > limit {
        return Err(format!(
            "larger than {} bytes ({})",
            limits.max_input_bytes,
            limits::hint("max_input_bytes", limit)
        ));
    }
    Ok(text)
}

impl Text {
    /// `(name, text)`, as the core's `*_with` functions take a mesh config file.
    pub fn pair(&self) -> (&str, &str) {
        (&self.name, &self.text)
    }
}

/// Reads the `--mesh-config` file when one was given.
pub fn read_mesh_config(path: Option<&str>, limits: &Limits) -> Result<Option<Text>, Failure> {
    path.map(|p| {
        read(p, limits)
            .map(|text| Text {
                name: p.to_string(),
                text,
            })
            .map_err(|e| Failure(format!("--mesh-config {p}: {e}")))
    })
    .transpose()
}

/// Reads every name; the first unreadable one is the error.
pub fn read_all(names: &[String], limits: &Limits) -> Result<Vec<Text>, Failure> {
    names
        .iter()
        .map(|n| {
            read(n, limits)
                .map(|text| Text {
                    name: n.clone(),
                    text,
                })
                .map_err(|e| Failure(format!("{n}: {e}")))
        })
        .collect()
}

/// A resolver for a route-test file's `config.files`: relative to the test
/// file's directory.
pub fn resolver(test_file: &str, limits: &Limits) -> impl FnMut(&str) -> Result<String, String> {
    let dir = Path::new(test_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let limits = limits.clone();
    move |f: &str| read(&dir.join(f).to_string_lossy(), &limits)
}
