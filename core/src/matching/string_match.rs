//! Istio `StringMatch` and the Envoy header / query-parameter semantics built
//! on it (istio-api §3.2, §3.7; envoy-semantics §1.3, §1.4).

use super::regex::{Re2Regex, RegexError};
use std::borrow::Cow;

/// A compiled `StringMatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringMatcher {
    /// `exact`: the whole value equals the text.
    Exact {
        /// The text.
        value: String,
        /// ASCII case-insensitive (`ignoreUriCase` on `uri`).
        ignore_case: bool,
    },
    /// `prefix`: the value starts with the text (plain string prefix).
    Prefix {
        /// The text.
        value: String,
        /// ASCII case-insensitive (`ignoreUriCase` on `uri`).
        ignore_case: bool,
    },
    /// `regex`: RE2 full match; case-sensitivity only through `(?i)`.
    Regex(Re2Regex),
    /// `{}` (or `regex: "*"` where Istio reads it so): any value; what it means
    /// for a missing header is up to the caller ([`match_header`],
    /// [`match_without_header`]).
    Present,
}

impl StringMatcher {
    /// Case-sensitive `exact`.
    pub fn exact(value: impl Into<String>) -> Self {
        StringMatcher::Exact {
            value: value.into(),
            ignore_case: false,
        }
    }

    /// Case-sensitive `prefix`.
    pub fn prefix(value: impl Into<String>) -> Self {
        StringMatcher::Prefix {
            value: value.into(),
            ignore_case: false,
        }
    }

    /// `regex`, compiled for full matching.
    pub fn regex(pattern: &str) -> Result<Self, RegexError> {
        Re2Regex::new(pattern).map(StringMatcher::Regex)
    }

    /// This matcher with ASCII case-insensitivity for `exact`/`prefix`
    /// (`ignoreUriCase`); `regex` and presence are unchanged, as in Envoy.
    pub fn ignoring_case(self, ignore: bool) -> Self {
        match self {
            StringMatcher::Exact { value, .. } => StringMatcher::Exact {
                value,
                ignore_case: ignore,
            },
            StringMatcher::Prefix { value, .. } => StringMatcher::Prefix {
                value,
                ignore_case: ignore,
            },
            other => other,
        }
    }

    /// Does a present value match? (`Present` matches every value.)
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatcher::Exact {
                value: want,
                ignore_case,
            } => {
                if *ignore_case {
                    want.eq_ignore_ascii_case(value)
                } else {
                    want == value
                }
            }
            StringMatcher::Prefix {
                value: want,
                ignore_case,
            } => match value.as_bytes().get(..want.len()) {
                Some(head) if *ignore_case => head.eq_ignore_ascii_case(want.as_bytes()),
                Some(head) => head == want.as_bytes(),
                None => false,
            },
            StringMatcher::Regex(re) => re.is_match(value),
            StringMatcher::Present => true,
        }
    }

    /// True for the presence matcher.
    pub fn is_present(&self) -> bool {
        matches!(self, StringMatcher::Present)
    }
}

/// `headers[name]` in a match: a missing header never matches (not even
/// `exact: ""`); a present header matches per the matcher (`{}` = present).
pub fn match_header(matcher: &StringMatcher, value: Option<&str>) -> bool {
    value.is_some_and(|v| matcher.matches(v))
}

/// `withoutHeaders[name]` in a match, as Istio translates it: a presence
/// matcher holds only when the header is absent; any other matcher is run on
/// the value, a missing header counting as `""`, and the answer inverted.
pub fn match_without_header(matcher: &StringMatcher, value: Option<&str>) -> bool {
    if matcher.is_present() {
        return value.is_none();
    }
    !matcher.matches(value.unwrap_or(""))
}

/// The value a header matcher sees for `name`: all entries with that name
/// (ASCII case-insensitive), in order, joined with `","` (no space); `None`
/// when there is none. Borrowed when there is exactly one entry.
pub fn header_value<'a, I>(headers: I, name: &str) -> Option<Cow<'a, str>>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut found: Option<Cow<'a, str>> = None;
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case(name) {
            continue;
        }
        found = Some(match found {
            None => Cow::Borrowed(v),
            Some(prev) => {
                let mut joined = prev.into_owned();
                joined.push(',');
                joined.push_str(v);
                Cow::Owned(joined)
            }
        });
    }
    found
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
    fn exact_and_prefix_are_case_sensitive_unless_asked() {
        assert!(StringMatcher::exact("/a").matches("/a"));
        assert!(!StringMatcher::exact("/a").matches("/A"));
        assert!(StringMatcher::exact("/a").ignoring_case(true).matches("/A"));
        assert!(StringMatcher::prefix("/foo").matches("/foobar"));
        assert!(!StringMatcher::prefix("/foo").matches("/FOObar"));
        assert!(StringMatcher::prefix("/foo")
            .ignoring_case(true)
            .matches("/FOObar"));
        assert!(!StringMatcher::prefix("/foo").matches("/fo"));
        assert!(StringMatcher::prefix("").matches(""));
        // A prefix boundary inside a multi-byte character is not a match.
        assert!(!StringMatcher::prefix("é").matches("e"));
    }

    #[test]
    fn ignore_case_never_applies_to_regex() {
        let m = StringMatcher::regex("/abc").unwrap().ignoring_case(true);
        assert!(m.matches("/abc"));
        assert!(!m.matches("/ABC"));
        assert!(StringMatcher::regex("(?i)/abc").unwrap().matches("/ABC"));
    }

    #[test]
    fn header_presence_and_absence() {
        let exact_empty = StringMatcher::exact("");
        assert!(!match_header(&exact_empty, None));
        assert!(match_header(&exact_empty, Some("")));
        assert!(match_header(&StringMatcher::Present, Some("x")));
        assert!(!match_header(&StringMatcher::Present, None));
    }

    #[test]
    fn without_headers_treats_missing_as_empty_except_presence() {
        let a = StringMatcher::exact("a");
        assert!(match_without_header(&a, None));
        assert!(match_without_header(&a, Some("b")));
        assert!(!match_without_header(&a, Some("a")));
        let empty = StringMatcher::exact("");
        assert!(!match_without_header(&empty, None));
        assert!(!match_without_header(&empty, Some("")));
        assert!(match_without_header(&empty, Some("x")));
        assert!(match_without_header(&StringMatcher::Present, None));
        assert!(!match_without_header(&StringMatcher::Present, Some("")));
    }

    #[test]
    fn repeated_headers_join_with_a_bare_comma() {
        let headers = [("X-A", "a"), ("other", "z"), ("x-a", "b")];
        assert_eq!(header_value(headers, "x-a").as_deref(), Some("a,b"));
        assert_eq!(header_value([("x", "a, b")], "x").as_deref(), Some("a, b"));
        assert_eq!(header_value(headers, "missing"), None);
        assert!(matches!(
            header_value([("x", "v")], "X"),
            Some(Cow::Borrowed("v"))
        ));
        assert!(!StringMatcher::exact("a").matches(&header_value(headers, "x-a").unwrap()));
    }

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
}
