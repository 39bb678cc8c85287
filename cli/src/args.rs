//! A small argument scanner: flags with values (`-f x`, `--from=x`),
//! switches and positionals, in any order; `--` ends the flags.

use crate::Failure;

/// One scanned argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A flag, with its value when it takes one.
    Flag(String, Option<String>),
    /// Anything else (`-` alone is a positional: standard input).
    Positional(String),
}

/// Scans `argv`; `takes_value` says which flags take a value.
pub fn scan(argv: &[String], takes_value: &[&str]) -> Result<Vec<Arg>, Failure> {
    let mut out = Vec::new();
    let mut iter = argv.iter();
    while let Some(a) = iter.next() {
        if a == "--" {
            out.extend(iter.by_ref().map(|p| Arg::Positional(p.clone())));
            break;
        }
        if a == "-" || !a.starts_with('-') {
            out.push(Arg::Positional(a.clone()));
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if takes_value.contains(&name.as_str()) {
            let value = match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| Failure(format!("{name} needs a value")))?,
            };
            out.push(Arg::Flag(name, Some(value)));
        } else if inline.is_some() {
            return Err(Failure(format!("{name} takes no value")));
        } else {
            out.push(Arg::Flag(name, None));
        }
    }
    Ok(out)
}

/// The error for a flag a command does not know.
pub fn unknown(name: &str, command: &str) -> Failure {
    Failure(format!(
        "unknown option {name}; run `meshroute {command} --help`"
    ))
}
