//! Every input limit meshroute enforces, in one place.
//!
//! Limits keep hostile or mistaken input from costing unbounded time or memory.
//! Exceeding one is an error that names the limit and how to raise it; nothing
//! panics. The constants are the defaults; a [`Limits`] value raises (or
//! lowers) them on purpose for one load, check, compile and decision:
//!
//! ```
//! use meshroute::limits::Limits;
//! use meshroute::load::{load, Input, LoadOptions};
//!
//! let mut limits = Limits::default();
//! limits.set("max_input_bytes", "1GiB")?;
//! limits.set("max_documents", "1_000_000")?;
//! assert_eq!(limits.max_input_bytes, 1 << 30);
//! let options = LoadOptions { limits, ..LoadOptions::default() };
//! let config = load(&[Input { name: "mesh.yaml", text: "" }], &options);
//! // The configuration keeps its limits: `check`, `Mesh::compile` and the
//! // compiled mesh's decisions apply the same ones.
//! assert_eq!(config.limits.max_documents, 1_000_000);
//! # Ok::<(), meshroute::limits::LimitError>(())
//! ```
//!
//! Three limits are fixed, not raisable: [`MAX_NESTING_DEPTH`] (it bounds the
//! parser's stack), [`MAX_REGEX_LEN`] (Istio's own limit: a longer regex is
//! one Istio refuses) and [`MAX_REGEX_PROGRAM_BYTES`] (the compiled size
//! Envoy's RE2 allows by default).

/// Largest input text accepted in one call (bytes), summed over all files of a load.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Largest number of YAML documents in one load.
pub const MAX_DOCUMENTS: usize = 100_000;
/// Deepest nesting of mappings and sequences in one document. Istio resources
/// nest about 12 deep at most (a List adds 2); the bound keeps parsing within a
/// small stack (a debug build needs ~30 KB per level, and WASM has 1 MB).
pub const MAX_NESTING_DEPTH: usize = 32;
/// Largest number of YAML alias references (`*anchor`) in one text.
pub const MAX_ALIASES: usize = 10_000;
/// Largest number of nodes YAML aliases may replay (alias expansion: each
/// replayed node is a parser event or two) in one document: what stops an
/// alias bomb early.
pub const MAX_ANCHOR_EXPANSION_EVENTS: usize = 100_000;
/// Largest number of YAML nodes (after alias expansion) in one document.
pub const MAX_NODES: usize = 2_000_000;
/// Largest regular expression accepted, in characters (Istio's own limit).
pub const MAX_REGEX_LEN: usize = 1024;
/// Largest compiled regular-expression program, in bytes (regex crate `size_limit`).
pub const MAX_REGEX_PROGRAM_BYTES: usize = 1024 * 1024;
/// Most HTTP routes (after delegation) one host may carry in a compiled table.
pub const MAX_RULES_PER_HOST: usize = 100_000;
/// Most headers in one request given to `decide`.
pub const MAX_REQUEST_HEADERS: usize = 1024;
/// Largest single header name plus value in a request, in bytes.
pub const MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;
/// Largest request path (with query) in bytes.
pub const MAX_REQUEST_PATH_BYTES: usize = 64 * 1024;
/// Most upstream hosts in one resilience scenario.
pub const MAX_SCENARIO_HOSTS: usize = 10_000;
/// Most operations (results, request starts and finishes, picks, counting
/// every `repeat`) one resilience scenario may replay.
pub const MAX_SCENARIO_OPERATIONS: u64 = 10_000_000;
/// Most outlier-detection interval ticks times hosts one resilience scenario
/// may span (each tick looks at every host).
pub const MAX_SCENARIO_HOST_TICKS: u64 = 100_000_000;

/// Whether a limit counts bytes (its values may be written as sizes,
/// `64MiB`) or things (documents, headers, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    /// A size in bytes.
    Bytes,
    /// A count.
    Count,
}

/// One limit as the faces name it: `--limit NAME=VALUE`, [`Limits::set`],
/// the bindings' limits options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitInfo {
    /// The lower-case name (`max_input_bytes`).
    pub name: &'static str,
    /// The constant holding the default (`MAX_INPUT_BYTES`).
    pub constant: &'static str,
    /// What the value counts.
    pub unit: LimitUnit,
    /// The default value.
    pub default: u64,
    /// `None` for a raisable limit; for a fixed one, why it is fixed.
    pub fixed: Option<&'static str>,
}

const fn widen(value: usize) -> u64 {
    value as u64
}

/// Every limit, raisable ones first, in the order of the constants above.
pub static ALL: &[LimitInfo] = &[
    LimitInfo {
        name: "max_input_bytes",
        constant: "MAX_INPUT_BYTES",
        unit: LimitUnit::Bytes,
        default: widen(MAX_INPUT_BYTES),
        fixed: None,
    },
    LimitInfo {
        name: "max_documents",
        constant: "MAX_DOCUMENTS",
        unit: LimitUnit::Count,
        default: widen(MAX_DOCUMENTS),
        fixed: None,
    },
    LimitInfo {
        name: "max_aliases",
        constant: "MAX_ALIASES",
        unit: LimitUnit::Count,
        default: widen(MAX_ALIASES),
        fixed: None,
    },
    LimitInfo {
        name: "max_anchor_expansion_events",
        constant: "MAX_ANCHOR_EXPANSION_EVENTS",
        unit: LimitUnit::Count,
        default: widen(MAX_ANCHOR_EXPANSION_EVENTS),
        fixed: None,
    },
    LimitInfo {
        name: "max_nodes",
        constant: "MAX_NODES",
        unit: LimitUnit::Count,
        default: widen(MAX_NODES),
        fixed: None,
    },
    LimitInfo {
        name: "max_rules_per_host",
        constant: "MAX_RULES_PER_HOST",
        unit: LimitUnit::Count,
        default: widen(MAX_RULES_PER_HOST),
        fixed: None,
    },
    LimitInfo {
        name: "max_request_headers",
        constant: "MAX_REQUEST_HEADERS",
        unit: LimitUnit::Count,
        default: widen(MAX_REQUEST_HEADERS),
        fixed: None,
    },
    LimitInfo {
        name: "max_request_header_bytes",
        constant: "MAX_REQUEST_HEADER_BYTES",
        unit: LimitUnit::Bytes,
        default: widen(MAX_REQUEST_HEADER_BYTES),
        fixed: None,
    },
    LimitInfo {
        name: "max_request_path_bytes",
        constant: "MAX_REQUEST_PATH_BYTES",
        unit: LimitUnit::Bytes,
        default: widen(MAX_REQUEST_PATH_BYTES),
        fixed: None,
    },
    LimitInfo {
        name: "max_scenario_hosts",
        constant: "MAX_SCENARIO_HOSTS",
        unit: LimitUnit::Count,
        default: widen(MAX_SCENARIO_HOSTS),
        fixed: None,
    },
    LimitInfo {
        name: "max_scenario_operations",
        constant: "MAX_SCENARIO_OPERATIONS",
        unit: LimitUnit::Count,
        default: MAX_SCENARIO_OPERATIONS,
        fixed: None,
    },
    LimitInfo {
        name: "max_scenario_host_ticks",
        constant: "MAX_SCENARIO_HOST_TICKS",
        unit: LimitUnit::Count,
        default: MAX_SCENARIO_HOST_TICKS,
        fixed: None,
    },
    LimitInfo {
        name: "max_nesting_depth",
        constant: "MAX_NESTING_DEPTH",
        unit: LimitUnit::Count,
        default: widen(MAX_NESTING_DEPTH),
        fixed: Some("it bounds the YAML reader's stack; Istio resources nest about 12 deep"),
    },
    LimitInfo {
        name: "max_regex_len",
        constant: "MAX_REGEX_LEN",
        unit: LimitUnit::Count,
        default: widen(MAX_REGEX_LEN),
        fixed: Some("it is Istio's own limit: istiod refuses a longer regex"),
    },
    LimitInfo {
        name: "max_regex_program_bytes",
        constant: "MAX_REGEX_PROGRAM_BYTES",
        unit: LimitUnit::Bytes,
        default: widen(MAX_REGEX_PROGRAM_BYTES),
        fixed: Some("it is the compiled size Envoy's RE2 allows"),
    },
];

/// The limit named `name` (lower case, as in [`ALL`]).
pub fn info(name: &str) -> Option<&'static LimitInfo> {
    ALL.iter().find(|l| l.name == name)
}

/// Why [`Limits::set`] refused a name or a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// No limit has this name.
    #[error("unknown limit {name:?}{}; the limits are: {}", did_you_mean_text(.suggestion.as_deref()), raisable_names().join(", "))]
    UnknownName {
        /// The name given.
        name: String,
        /// The closest limit name, when one is close.
        suggestion: Option<String>,
    },
    /// The limit exists but cannot be changed.
    #[error("limit {name} is fixed at {}: {why}", format_value(.unit, *.value))]
    Fixed {
        /// The limit's name.
        name: String,
        /// Its unit.
        unit: LimitUnit,
        /// Its value.
        value: u64,
        /// Why it is fixed.
        why: String,
    },
    /// The value is not a number (or size) this limit takes.
    #[error("limit {name}: {value:?} is not {expected}")]
    BadValue {
        /// The limit's name.
        name: String,
        /// The value given.
        value: String,
        /// What was expected.
        expected: String,
    },
}

fn did_you_mean_text(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean {s}?)"))
}

/// The names [`Limits::set`] accepts, for help texts.
pub fn raisable_names() -> Vec<&'static str> {
    ALL.iter()
        .filter(|l| l.fixed.is_none())
        .map(|l| l.name)
        .collect()
}

/// The limits one load, check, compile and decision apply; the default is
/// the constants above. Set a field, or use [`Limits::set`] with a name and
/// a value as text (`"1GiB"`, `"1_000_000"`).
///
/// A [`crate::model::Config`] keeps the limits it was loaded with
/// ([`crate::load::LoadOptions::limits`]); `check` and `Mesh::compile` read
/// them there, and a compiled mesh applies the request limits of its
/// [`crate::MeshOptions::limits`] (taken from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// [`MAX_INPUT_BYTES`].
    pub max_input_bytes: usize,
    /// [`MAX_DOCUMENTS`].
    pub max_documents: usize,
    /// [`MAX_ALIASES`].
    pub max_aliases: usize,
    /// [`MAX_ANCHOR_EXPANSION_EVENTS`].
    pub max_anchor_expansion_events: usize,
    /// [`MAX_NODES`].
    pub max_nodes: usize,
    /// [`MAX_RULES_PER_HOST`].
    pub max_rules_per_host: usize,
    /// [`MAX_REQUEST_HEADERS`].
    pub max_request_headers: usize,
    /// [`MAX_REQUEST_HEADER_BYTES`].
    pub max_request_header_bytes: usize,
    /// [`MAX_REQUEST_PATH_BYTES`].
    pub max_request_path_bytes: usize,
    /// [`MAX_SCENARIO_HOSTS`].
    pub max_scenario_hosts: usize,
    /// [`MAX_SCENARIO_OPERATIONS`].
    pub max_scenario_operations: u64,
    /// [`MAX_SCENARIO_HOST_TICKS`].
    pub max_scenario_host_ticks: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: MAX_INPUT_BYTES,
            max_documents: MAX_DOCUMENTS,
            max_aliases: MAX_ALIASES,
            max_anchor_expansion_events: MAX_ANCHOR_EXPANSION_EVENTS,
            max_nodes: MAX_NODES,
            max_rules_per_host: MAX_RULES_PER_HOST,
            max_request_headers: MAX_REQUEST_HEADERS,
            max_request_header_bytes: MAX_REQUEST_HEADER_BYTES,
            max_request_path_bytes: MAX_REQUEST_PATH_BYTES,
            max_scenario_hosts: MAX_SCENARIO_HOSTS,
            max_scenario_operations: MAX_SCENARIO_OPERATIONS,
            max_scenario_host_ticks: MAX_SCENARIO_HOST_TICKS,
        }
    }
}

enum Slot<'a> {
    Size(&'a mut usize),
    Wide(&'a mut u64),
}

impl Limits {
    fn slot(&mut self, name: &str) -> Option<Slot<'_>> {
        Some(match name {
            "max_input_bytes" => Slot::Size(&mut self.max_input_bytes),
            "max_documents" => Slot::Size(&mut self.max_documents),
            "max_aliases" => Slot::Size(&mut self.max_aliases),
            "max_anchor_expansion_events" => Slot::Size(&mut self.max_anchor_expansion_events),
            "max_nodes" => Slot::Size(&mut self.max_nodes),
            "max_rules_per_host" => Slot::Size(&mut self.max_rules_per_host),
            "max_request_headers" => Slot::Size(&mut self.max_request_headers),
            "max_request_header_bytes" => Slot::Size(&mut self.max_request_header_bytes),
            "max_request_path_bytes" => Slot::Size(&mut self.max_request_path_bytes),
            "max_scenario_hosts" => Slot::Size(&mut self.max_scenario_hosts),
            "max_scenario_operations" => Slot::Wide(&mut self.max_scenario_operations),
            "max_scenario_host_ticks" => Slot::Wide(&mut self.max_scenario_host_ticks),
            _ => return None,
        })
    }

    /// The value of the limit `name` (lower case), fixed ones included.
    pub fn get(&self, name: &str) -> Option<u64> {
        let info = info(name)?;
        if info.fixed.is_some() {
            return Some(info.default);
        }
        Some(match name {
            "max_input_bytes" => widen(self.max_input_bytes),
            "max_documents" => widen(self.max_documents),
            "max_aliases" => widen(self.max_aliases),
            "max_anchor_expansion_events" => widen(self.max_anchor_expansion_events),
            "max_nodes" => widen(self.max_nodes),
            "max_rules_per_host" => widen(self.max_rules_per_host),
            "max_request_headers" => widen(self.max_request_headers),
            "max_request_header_bytes" => widen(self.max_request_header_bytes),
            "max_request_path_bytes" => widen(self.max_request_path_bytes),
            "max_scenario_hosts" => widen(self.max_scenario_hosts),
            "max_scenario_operations" => self.max_scenario_operations,
            "max_scenario_host_ticks" => self.max_scenario_host_ticks,
            _ => return None,
        })
    }

    /// Sets the limit `name` (lower case: `max_input_bytes`) from text: a
    /// whole number, `_` allowed between digits (`1_000_000`); a byte
    /// limit also takes a size (`64MiB`, `1GiB`, `500KB`, `512B`: KB, MB,
    /// GB are powers of 1000, KiB, MiB, GiB of 1024). An unknown name is an
    /// error that suggests the closest one; a fixed limit cannot be set.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), LimitError> {
        let Some(info) = info(name) else {
            return Err(LimitError::UnknownName {
                name: name.to_string(),
                // `MAX_DOCUMENTS` and `max-documents` are spelt as limits.rs
                // spells the constant or a flag: compare in the names' form.
                suggestion: crate::load::did_you_mean(
                    &name.to_ascii_lowercase().replace('-', "_"),
                    ALL.iter().map(|l| l.name),
                )
                .map(str::to_string),
            });
        };
        if let Some(why) = info.fixed {
            return Err(LimitError::Fixed {
                name: name.to_string(),
                unit: info.unit,
                value: info.default,
                why: why.to_string(),
            });
        }
        let bad = |expected: &str| LimitError::BadValue {
            name: name.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        };
        let expected = match info.unit {
            LimitUnit::Bytes => "a size (a number of bytes, or with a unit: 500KB, 64MiB, 1GiB)",
            LimitUnit::Count => "a whole number (1_000_000)",
        };
        let parsed = parse_value(value, info.unit).ok_or_else(|| bad(expected))?;
        match self.slot(name) {
            Some(Slot::Size(v)) => {
                *v = usize::try_from(parsed).map_err(|_| bad("a value this machine can hold"))?
            }
            Some(Slot::Wide(v)) => *v = parsed,
            None => return Err(bad(expected)),
        }
        Ok(())
    }

    /// Sets every `(name, value)` pair in order; the first refused is the error.
    pub fn set_all<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), LimitError> {
        pairs.into_iter().try_for_each(|(n, v)| self.set(n, v))
    }
}

/// `text` as a limit's value: digits with `_` between them, and for a byte
/// limit an optional unit. `None` when it is not one, or overflows.
fn parse_value(text: &str, unit: LimitUnit) -> Option<u64> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let number: u64 = digits.replace('_', "").parse().ok()?;
    let multiplier: u64 = match (unit, suffix.trim()) {
        (_, "") => 1,
        (LimitUnit::Bytes, s) => match s.to_ascii_lowercase().as_str() {
            "b" => 1,
            "k" | "kb" => 1000,
            "kib" => 1 << 10,
            "m" | "mb" => 1000 * 1000,
            "mib" => 1 << 20,
            "g" | "gb" => 1000 * 1000 * 1000,
            "gib" => 1 << 30,
            "t" | "tb" => 1000 * 1000 * 1000 * 1000,
            "tib" => 1 << 40,
            _ => return None,
        },
        (LimitUnit::Count, _) => return None,
    };
    number.checked_mul(multiplier)
}

/// A limit's value as people read it: `64 MiB` for a byte limit that is a
/// whole number of MiB (or KiB, GiB), else the number.
pub fn format_value(unit: &LimitUnit, value: u64) -> String {
    if *unit == LimitUnit::Bytes && value > 0 {
        for (shift, name) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if value.is_multiple_of(1u64 << shift) {
                return format!("{} {name}", value >> shift);
            }
        }
        return format!("{value} bytes");
    }
    value.to_string()
}

/// What a message about a hit limit says in parentheses: the limit's
/// lower-case name and value, its constant, and how to raise it:
/// `limit max_input_bytes = 64 MiB, default limits::MAX_INPUT_BYTES; raise
/// it with --limit max_input_bytes=SIZE, or Limits in the API`.
pub fn hint(name: &str, value: u64) -> String {
    let Some(info) = info(name) else {
        return format!("limit {name} = {value}");
    };
    let placeholder = match info.unit {
        LimitUnit::Bytes => "SIZE",
        LimitUnit::Count => "N",
    };
    format!(
        "limit {name} = {}, default limits::{}; raise it with --limit {name}={placeholder}, or Limits in the API",
        format_value(&info.unit, value),
        info.constant
    )
}

/// HTTP routes `vs` carries after delegation: its own routes, with each
/// `delegate` route counted as the delegate's routes (an upper bound: a
/// delegate route whose matches conflict with the root's is dropped later).
pub fn http_routes_after_delegation(
    vs: &crate::model::Resource<crate::model::virtual_service::VirtualService>,
    config: &crate::model::Config,
) -> usize {
    vs.spec
        .http
        .iter()
        .map(|route| match &route.delegate {
            None => 1,
            Some(d) => {
                let name = d.name.as_deref().unwrap_or("");
                let ns = d
                    .namespace
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(vs.namespace());
                config
                    .virtual_services
                    .iter()
                    .find(|v| v.name() == name && v.namespace() == ns && v.spec.hosts.is_empty())
                    .map_or(0, |d| {
                        d.spec.http.iter().filter(|r| r.delegate.is_none()).count()
                    })
            }
        })
        .fold(0, usize::saturating_add)
}

/// Whether `vs` exceeds the configuration's `max_rules_per_host`
/// ([`MAX_RULES_PER_HOST`] by default); such a VirtualService is left out of
/// the compiled table and [`check`] reports it.
pub fn exceeds_rules_per_host(
    vs: &crate::model::Resource<crate::model::virtual_service::VirtualService>,
    config: &crate::model::Config,
) -> bool {
    !vs.spec.hosts.is_empty()
        && http_routes_after_delegation(vs, config) > config.limits.max_rules_per_host
}

/// The limits checked on a whole loaded configuration (the others are
/// enforced while loading or deciding): one error per VirtualService whose
/// hosts would carry more than `max_rules_per_host` HTTP routes.
pub fn check(config: &crate::model::Config) -> Vec<crate::message::Message> {
    config
        .virtual_services
        .iter()
        .filter(|vs| exceeds_rules_per_host(vs, config))
        .map(|vs| {
            crate::message::Message::new(
                crate::message::codes::LIMIT_EXCEEDED,
                crate::message::Severity::Error,
                format!("VirtualService {}", vs.key()),
                "spec.http",
                vs.source_of("spec.http"),
                format!(
                    "{} HTTP routes after delegation, more than {} ({}); the VirtualService is left out",
                    http_routes_after_delegation(vs, config),
                    config.limits.max_rules_per_host,
                    hint("max_rules_per_host", widen(config.limits.max_rules_per_host))
                ),
                "split the routes over several hosts, or match fewer cases per rule",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_separators_and_byte_limits_take_sizes() {
        let mut limits = Limits::default();
        limits.set("max_input_bytes", "64MiB").unwrap();
        assert_eq!(limits.max_input_bytes, 64 << 20);
        limits.set("max_input_bytes", "1GiB").unwrap();
        assert_eq!(limits.max_input_bytes, 1 << 30);
        limits.set("max_input_bytes", "500KB").unwrap();
        assert_eq!(limits.max_input_bytes, 500_000);
        limits.set("max_input_bytes", "2 gb").unwrap();
        assert_eq!(limits.max_input_bytes, 2_000_000_000);
        limits.set("max_input_bytes", "1_024").unwrap();
        assert_eq!(limits.max_input_bytes, 1024);
        limits.set("max_documents", "1_000_000").unwrap();
        assert_eq!(limits.max_documents, 1_000_000);
        limits
            .set("max_scenario_operations", "20000000000")
            .unwrap();
        assert_eq!(limits.max_scenario_operations, 20_000_000_000);
        assert_eq!(limits.get("max_documents"), Some(1_000_000));
        assert_eq!(limits.get("max_regex_len"), Some(1024));
        assert_eq!(limits.get("nope"), None);
    }

    #[test]
    fn a_bad_value_is_refused_and_leaves_the_limit_as_it_was() {
        let mut limits = Limits::default();
        for bad in ["", "-1", "1.5GiB", "_1", "1__0", "1_", "64 parsecs", "x"] {
            let e = limits.set("max_input_bytes", bad).unwrap_err();
            assert!(
                matches!(e, LimitError::BadValue { .. }) && e.to_string().contains("a size"),
                "{bad:?}: {e}"
            );
        }
        let e = limits.set("max_documents", "1MiB").unwrap_err();
        assert!(e.to_string().contains("a whole number"), "{e}");
        let e = limits.set("max_input_bytes", "99999999999TiB").unwrap_err();
        assert!(matches!(e, LimitError::BadValue { .. }), "{e}");
        assert_eq!(limits, Limits::default());
    }

    #[test]
    fn an_unknown_name_suggests_the_closest_and_a_fixed_one_says_why() {
        let mut limits = Limits::default();
        let e = limits.set("max_input_byte", "1").unwrap_err();
        assert_eq!(
            e,
            LimitError::UnknownName {
                name: "max_input_byte".into(),
                suggestion: Some("max_input_bytes".into())
            }
        );
        assert!(
            e.to_string().contains("did you mean max_input_bytes?")
                && e.to_string().contains("max_documents"),
            "{e}"
        );
        let e = limits.set("MAX_DOCUMENTS", "1").unwrap_err();
        assert!(e.to_string().contains("did you mean max_documents?"), "{e}");
        let e = limits.set("max_regex_len", "4096").unwrap_err();
        assert!(
            matches!(e, LimitError::Fixed { .. }) && e.to_string().contains("Istio"),
            "{e}"
        );
        assert!(!raisable_names().contains(&"max_regex_len"));
    }

    #[test]
    fn the_table_of_limits_matches_the_defaults() {
        let defaults = Limits::default();
        for info in ALL {
            assert_eq!(defaults.get(info.name), Some(info.default), "{}", info.name);
            assert_eq!(info.name.to_ascii_uppercase(), info.constant);
        }
    }

    #[test]
    fn the_hint_names_the_limit_its_constant_and_the_flag() {
        assert_eq!(
            hint("max_input_bytes", 64 << 20),
            "limit max_input_bytes = 64 MiB, default limits::MAX_INPUT_BYTES; raise it with --limit max_input_bytes=SIZE, or Limits in the API"
        );
        assert!(hint("max_documents", 7).contains("max_documents = 7,"));
        assert_eq!(format_value(&LimitUnit::Bytes, 1000), "1000 bytes");
    }
}
