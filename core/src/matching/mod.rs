//! Matching primitives shared by validation and routing: RE2 full-match
//! regexes, Istio `StringMatch` with Envoy header/query semantics, and request
//! path splitting and normalization.
//!
//! Everything here compiles once and then matches without allocating (except
//! joining repeated headers and normalizing a path, which build new strings).

pub mod path;
pub mod regex;
pub mod string_match;

pub use self::path::{normalize_path, split_path, PathNormalization, PathRejected};
pub use self::regex::{Re2Regex, RegexError};
pub use self::string_match::{
    header_value, match_header, match_query_param, match_without_header, query_param, StringMatcher,
};
