//! Every input limit meshroute enforces, in one place.
//!
//! Limits keep hostile or mistaken input from costing unbounded time or memory.
//! Exceeding one is an error that names the limit; nothing panics.

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
/// Largest number of parser events YAML anchors may replay (alias expansion)
/// in one document: what stops an alias bomb early.
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
