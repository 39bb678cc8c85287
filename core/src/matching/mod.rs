//! Request matchers, shared by validation, routing and the exporters: RE2
//! full-match regexes, Istio `StringMatch` with Envoy's header and query
//! semantics, request path splitting and normalization, and one file per
//! condition of a match block (headers, query parameters, port, source,
//! gateways), composed into HTTP and TLS/TCP match blocks.
//!
//! Everything here compiles once and then matches without allocating (except
//! joining repeated headers and normalizing a path, which build new strings).

pub mod gateway;
pub mod header;
pub mod http_match;
pub mod l4_match;
pub mod path;
pub mod port;
pub mod query;
pub mod regex;
pub mod source;
pub mod string_match;

pub use self::gateway::GatewayMatcher;
pub use self::header::{HeaderMatcher, HeaderName, Pseudo};
pub use self::http_match::{HttpRequestParts, HttpRouteMatch};
pub use self::l4_match::{ip_in_subnet, Connection, L4RouteMatch};
pub use self::path::{normalize_path, split_path, PathNormalization, PathRejected};
pub use self::port::PortMatcher;
pub use self::query::{match_query_param, query_param, QueryParamMatcher};
pub use self::regex::{Re2Regex, RegexError};
pub use self::source::SourceMatcher;
pub use self::string_match::{header_value, match_header, match_without_header, StringMatcher};
