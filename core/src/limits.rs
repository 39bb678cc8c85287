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

/// Whether `vs` exceeds [`MAX_RULES_PER_HOST`]; such a VirtualService is left
/// out of the compiled table and [`check`] reports it.
pub fn exceeds_rules_per_host(
    vs: &crate::model::Resource<crate::model::virtual_service::VirtualService>,
    config: &crate::model::Config,
) -> bool {
    !vs.spec.hosts.is_empty() && http_routes_after_delegation(vs, config) > MAX_RULES_PER_HOST
}

/// The limits checked on a whole loaded configuration (the others are
/// enforced while loading or deciding): one error per VirtualService whose
/// hosts would carry more than [`MAX_RULES_PER_HOST`] HTTP routes.
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
                    "{} HTTP routes after delegation, more than {} (limits::MAX_RULES_PER_HOST); the VirtualService is left out",
                    http_routes_after_delegation(vs, config),
                    MAX_RULES_PER_HOST
                ),
                "split the routes over several hosts, or match fewer cases per rule",
            )
        })
        .collect()
}
