//! `queryParams` in a match: Envoy's `QueryParameterMatcher`, which Istio
//! generates from each entry (pilot `route.go`, `translateQueryParamMatch`).

use super::string_match::{match_header, StringMatcher};

/// One `queryParams[name]` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParamMatcher {
    /// The parameter name (case-sensitive, not decoded).
    pub name: String,
    /// What its first value must match (`{}`/`regex: "*"`: present).
    pub matcher: StringMatcher,
}

impl QueryParamMatcher {
    /// Whether the query (text after `?`) satisfies the condition: a missing
    /// parameter never matches; presence matches any value.
    pub fn matches(&self, query: &str) -> bool {
        match_query_param(&self.matcher, Some(query), &self.name)
    }
}

/// The raw value of query parameter `key` as Envoy's route matcher sees it
/// (envoy `source/common/http/utility.cc`, `QueryParamsMulti::parseQueryString`
/// then `getFirstValue`): the query is split on `&`, each piece at its first
/// `=`; the **first** piece whose key equals `key` (case-sensitive) wins; no
/// percent-decoding; a piece without `=` has the value `""`. An empty piece
/// (`a&&b`, `&a`) is a parameter named `""`; only the text after a final `&`
/// (and an empty query) is no parameter. `query` is the text after `?`.
pub fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    let mut pieces = query.split('&').peekable();
    while let Some(piece) = pieces.next() {
        if piece.is_empty() && pieces.peek().is_none() {
            return None;
        }
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        if k == key {
            return Some(v);
        }
    }
    None
}

/// `queryParams[key]` in a match: a missing parameter never matches; a
/// presence matcher matches any present parameter.
pub fn match_query_param(matcher: &StringMatcher, query: Option<&str>, key: &str) -> bool {
    match_header(matcher, query.and_then(|q| query_param(q, key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_raw_and_first_wins() {
        let q = "a=1&b=%20x&a=2&flag&=v&&c=";
        assert_eq!(query_param(q, "a"), Some("1"));
        assert_eq!(query_param(q, "b"), Some("%20x"));
        assert_eq!(query_param(q, "flag"), Some(""));
        assert_eq!(query_param(q, "c"), Some(""));
        assert_eq!(query_param(q, ""), Some("v"));
        assert_eq!(query_param(q, "A"), None);
        assert_eq!(query_param("x=a=b", "x"), Some("a=b"));
        // Envoy's parseParameters: empty pieces are parameters named "".
        assert_eq!(query_param("a=&&b", "a"), Some(""));
        assert_eq!(query_param("a=&&b", "b"), Some(""));
        assert_eq!(query_param("a=&&b", ""), Some(""));
        assert_eq!(query_param("&a=1", ""), Some(""));
        assert_eq!(query_param("a", "a"), Some(""));
        assert_eq!(query_param("a=", "a"), Some(""));
        // No parameter after a final `&`, none in an empty query.
        assert_eq!(query_param("a=1&", ""), None);
        assert_eq!(query_param("", ""), None);
        assert_eq!(query_param("a=1&&", ""), Some(""));
        assert!(match_query_param(
            &StringMatcher::exact(""),
            Some(q),
            "flag"
        ));
        assert!(match_query_param(&StringMatcher::Present, Some(q), "flag"));
        assert!(!match_query_param(&StringMatcher::Present, Some(q), "zzz"));
        assert!(!match_query_param(&StringMatcher::Present, None, "a"));
    }

    #[test]
    fn a_query_parameter_matcher_reads_the_first_value() {
        let m = QueryParamMatcher {
            name: "v".into(),
            matcher: StringMatcher::exact("1"),
        };
        assert!(m.matches("v=1&v=2"));
        assert!(!m.matches("v=2&v=1"));
        assert!(!m.matches(""));
    }
}
