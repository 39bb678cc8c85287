//! Istio `StringMatch` and the Envoy header / query-parameter semantics built
//! on it (istio-api §3.2, §3.7; envoy-semantics §1.3, §1.4).

use super::regex::{Re2Regex, RegexCache, RegexError};
use crate::model::common::StringMatch;
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
    /// A pattern that does not compile: never matches (validation reports
    /// it, and exporters leave the match out). Holds the compile error.
    Invalid(String),
}

impl StringMatcher {
    /// An Istio `StringMatch` as written in a match block. `star_is_presence`:
    /// `regex: "*"` means "present" (Istio reads it so for `withoutHeaders`
    /// and `queryParams`); an empty `StringMatch` (`{}`) is presence too.
    pub fn from_istio(m: &StringMatch, star_is_presence: bool) -> Self {
        StringMatcher::from_istio_in(m, star_is_presence, &mut RegexCache::default())
    }

    /// [`StringMatcher::from_istio`], a regex taken from `regexes` (one
    /// program per distinct pattern).
    pub(crate) fn from_istio_in(
        m: &StringMatch,
        star_is_presence: bool,
        regexes: &mut RegexCache,
    ) -> Self {
        if let Some(e) = &m.exact {
            StringMatcher::exact(e.as_str())
        } else if let Some(p) = &m.prefix {
            StringMatcher::prefix(p.as_str())
        } else if let Some(r) = &m.regex {
            if star_is_presence && r == "*" {
                return StringMatcher::Present;
            }
            match regexes.full_match(r) {
                Ok(re) => StringMatcher::Regex(re),
                Err(e) => StringMatcher::Invalid(e.to_string()),
            }
        } else {
            StringMatcher::Present
        }
    }

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
            StringMatcher::Invalid(_) => false,
        }
    }

    /// How the matcher reads in an explanation (`exact "/a"`, `present`).
    pub fn describe(&self) -> String {
        match self {
            StringMatcher::Exact { value, .. } => format!("exact {value:?}"),
            StringMatcher::Prefix { value, .. } => format!("prefix {value:?}"),
            StringMatcher::Regex(re) => format!("regex {:?}", re.as_str()),
            StringMatcher::Present => "present".into(),
            StringMatcher::Invalid(e) => format!("invalid pattern ({e})"),
        }
    }

    /// Whether this is `prefix: "/"` (or an empty prefix): every path.
    pub fn is_prefix_root(&self) -> bool {
        matches!(self, StringMatcher::Prefix { value, .. } if value == "/" || value.is_empty())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_string_matches_compile_once() {
        let sm = |json: &str| -> StringMatch { serde_json::from_str(json).unwrap() };
        assert_eq!(
            StringMatcher::from_istio(&sm(r#"{"exact": "a"}"#), false),
            StringMatcher::exact("a")
        );
        assert!(StringMatcher::from_istio(&sm("{}"), false).is_present());
        assert!(StringMatcher::from_istio(&sm(r#"{"regex": "*"}"#), true).is_present());
        let bad = StringMatcher::from_istio(&sm(r#"{"regex": "*"}"#), false);
        assert!(matches!(bad, StringMatcher::Invalid(_)));
        assert!(!bad.matches("*") && !bad.matches(""));
        assert!(StringMatcher::prefix("/").is_prefix_root());
        assert!(!StringMatcher::prefix("/a").is_prefix_root());
    }

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
}
