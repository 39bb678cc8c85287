//! `headers` and `withoutHeaders` in a match: Envoy `HeaderMatcher`s, the
//! second kind inverted with a missing header read as empty (Istio's
//! translation), and the pseudo-headers read from the request line.

use super::string_match::{match_header, match_without_header, StringMatcher};
use crate::decide::request::Request;
use std::borrow::Cow;

/// A header a match reads, lower-cased, with the pseudo-header it names
/// (`:authority`/`host`, `:method`, `:path`, `:scheme`) found once when the
/// match is compiled rather than per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderName {
    /// Lower-cased name as written.
    pub name: String,
    /// The request-line field it reads instead of the header list.
    pub pseudo: Option<Pseudo>,
}

/// A header read from the request line rather than the header list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    /// `:authority` or `host`.
    Authority,
    /// `:method`.
    Method,
    /// `:path` (the raw path, query included).
    Path,
    /// `:scheme`.
    Scheme,
}

impl HeaderName {
    /// The name lower-cased, its pseudo-header recognised.
    pub fn new(name: &str) -> HeaderName {
        let name = name.to_ascii_lowercase();
        let pseudo = match name.as_str() {
            ":authority" | "host" => Some(Pseudo::Authority),
            ":method" => Some(Pseudo::Method),
            ":path" => Some(Pseudo::Path),
            ":scheme" => Some(Pseudo::Scheme),
            _ => None,
        };
        HeaderName { name, pseudo }
    }

    /// The value a header matcher sees in `req` (repeated headers joined
    /// with `,`); `None` when absent.
    pub fn value_in<'a>(&self, req: &'a Request) -> Option<Cow<'a, str>> {
        match self.pseudo {
            Some(Pseudo::Authority) => Some(Cow::Borrowed(req.host.as_str())),
            Some(Pseudo::Method) => Some(Cow::Borrowed(req.method.as_str())),
            Some(Pseudo::Path) => Some(Cow::Borrowed(req.path.as_str())),
            Some(Pseudo::Scheme) => Some(Cow::Borrowed(req.scheme_or_default())),
            None => req.headers.get(&self.name),
        }
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// One `headers[name]` (or, `invert`, `withoutHeaders[name]`) condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatcher {
    /// The header read.
    pub name: HeaderName,
    /// What its value must match.
    pub matcher: StringMatcher,
    /// `withoutHeaders`: the condition holds when the matcher does not.
    pub invert: bool,
}

impl HeaderMatcher {
    /// A `headers` (`invert` false) or `withoutHeaders` (`invert` true)
    /// entry; `regex: "*"` means presence only in `withoutHeaders`, as Istio
    /// reads it.
    pub fn new(name: &str, m: &crate::model::common::StringMatch, invert: bool) -> Self {
        HeaderMatcher::new_in(name, m, invert, &mut super::regex::RegexCache::default())
    }

    /// [`HeaderMatcher::new`], a regex taken from `regexes`.
    pub(crate) fn new_in(
        name: &str,
        m: &crate::model::common::StringMatch,
        invert: bool,
        regexes: &mut super::regex::RegexCache,
    ) -> Self {
        HeaderMatcher {
            name: HeaderName::new(name),
            matcher: StringMatcher::from_istio_in(m, invert, regexes),
            invert,
        }
    }

    /// Whether the condition holds for `value` (the header's, `None` when absent).
    pub fn holds(&self, value: Option<&str>) -> bool {
        if self.invert {
            match_without_header(&self.matcher, value)
        } else {
            match_header(&self.matcher, value)
        }
    }

    /// Whether the condition holds for `req`.
    pub fn matches(&self, req: &Request) -> bool {
        self.holds(self.name.value_in(req).as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::common::StringMatch;

    fn sm(json: &str) -> StringMatch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn pseudo_headers_read_the_request_line() {
        let mut req = Request::new("reviews:9080");
        req.method = "POST".into();
        req.path = "/a?b=1".into();
        req.headers.append("End-User", "jason");
        assert_eq!(
            HeaderName::new("Host").value_in(&req).as_deref(),
            Some("reviews:9080")
        );
        assert_eq!(
            HeaderName::new(":method").value_in(&req).as_deref(),
            Some("POST")
        );
        assert_eq!(
            HeaderName::new(":path").value_in(&req).as_deref(),
            Some("/a?b=1")
        );
        assert_eq!(
            HeaderName::new("end-user").value_in(&req).as_deref(),
            Some("jason")
        );
        assert_eq!(HeaderName::new("x-missing").value_in(&req), None);
    }

    #[test]
    fn without_headers_inverts_and_reads_missing_as_empty() {
        let mut req = Request::new("reviews");
        req.headers.append("x-canary", "yes");
        let has = HeaderMatcher::new("x-canary", &sm(r#"{"exact": "yes"}"#), false);
        let lacks = HeaderMatcher::new("x-canary", &sm(r#"{"exact": "yes"}"#), true);
        assert!(has.matches(&req) && !lacks.matches(&req));
        let absent = HeaderMatcher::new("x-other", &sm(r#"{"regex": "*"}"#), true);
        assert!(
            absent.matches(&req),
            "withoutHeaders regex * holds when absent"
        );
        let star = HeaderMatcher::new("x-canary", &sm(r#"{"regex": "*"}"#), false);
        assert!(
            !star.matches(&req),
            "in headers, regex * is a pattern that does not compile"
        );
    }
}
