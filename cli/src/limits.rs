//! `--limit NAME=VALUE`: raising (or lowering) the core's input limits on
//! purpose, and `--no-progress`.

use crate::Failure;
use meshroute::limits::Limits;

/// The lines every command's help gives for `--limit` and `--no-progress`.
pub const HELP: &str = "\
      --limit NAME=VALUE       raise (or lower) an input limit, repeatable:
                               --limit max_input_bytes=1GiB --limit max_documents=1_000_000
                               (names and defaults: README \"Limits\"; sizes take
                               KB, MB, GB, KiB, MiB, GiB)
      --no-progress            never draw progress (drawn on a terminal only,
                               for a phase that runs over a second)
";

/// Sets one `NAME=VALUE` into `limits`; a bad name or value is a usage error.
pub fn apply(limits: &mut Limits, arg: &str) -> Result<(), Failure> {
    let (name, value) = arg.split_once('=').ok_or_else(|| {
        Failure(format!(
            "--limit {arg:?}: write it as NAME=VALUE, e.g. --limit max_input_bytes=1GiB"
        ))
    })?;
    limits
        .set(name.trim(), value.trim())
        .map_err(|e| Failure(format!("--limit: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_value_pairs_set_limits_and_bad_ones_say_why() {
        let mut limits = Limits::default();
        apply(&mut limits, "max_input_bytes=1GiB").unwrap();
        apply(&mut limits, "max_documents = 1_000_000").unwrap();
        assert_eq!(
            (limits.max_input_bytes, limits.max_documents),
            (1 << 30, 1_000_000)
        );
        let e = apply(&mut limits, "max_input_bytes").unwrap_err();
        assert!(e.0.contains("NAME=VALUE"), "{}", e.0);
        let e = apply(&mut limits, "max_documnets=5").unwrap_err();
        assert!(e.0.contains("did you mean max_documents?"), "{}", e.0);
    }
}
