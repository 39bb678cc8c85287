//! The request path as Envoy's router sees it: normalized by the HTTP
//! connection manager (envoy-semantics §1.6), then cut at `?`/`#` (§1.2).

use std::borrow::Cow;

/// Splits a raw `:path` into the path a route matches (everything before the
/// first `?` or `#`) and the query (the text after that first character when
/// it is `?`, kept raw, fragment included, as Envoy's query parser sees it).
pub fn split_path(raw: &str) -> (&str, Option<&str>) {
    match raw.find(['?', '#']) {
        None => (raw, None),
        Some(i) => {
            let path = &raw[..i];
            if raw[i..].starts_with('?') {
                (path, Some(&raw[i + 1..]))
            } else {
                (path, None)
            }
        }
    }
}

/// Istio's `meshConfig.pathNormalization.normalization` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PathNormalization {
    /// No normalization.
    None,
    /// RFC 3986 normalization (Istio's default, also written `DEFAULT`).
    #[default]
    Base,
    /// `Base`, then runs of `/` merged.
    MergeSlashes,
    /// `%2F %2f %5C %5c` decoded first, then `Base`, then slashes merged.
    DecodeAndMergeSlashes,
}

/// Envoy refused the path during normalization; the request gets a local
/// `400 Bad Request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path {path:?} cannot be normalized (Envoy replies 400 Bad Request): {reason}")]
pub struct PathRejected {
    /// The path given.
    pub path: String,
    /// Why.
    pub reason: &'static str,
}

impl PathRejected {
    /// The HTTP status Envoy answers with.
    pub const STATUS: u16 = 400;
}

/// Normalizes a `:path` (query included or not) as the HTTP connection
/// manager does before routing. Only the part before the first `?` is changed;
/// the query is kept byte for byte.
pub fn normalize_path(raw: &str, mode: PathNormalization) -> Result<String, PathRejected> {
    let (path, query) = match raw.find('?') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let mut out: Cow<'_, str> = Cow::Borrowed(path);
    if mode == PathNormalization::DecodeAndMergeSlashes {
        out = Cow::Owned(unescape_slashes(&out));
    }
    if mode != PathNormalization::None {
        out = Cow::Owned(canonicalize(&out).map_err(|reason| PathRejected {
            path: raw.to_string(),
            reason,
        })?);
    }
    if matches!(
        mode,
        PathNormalization::MergeSlashes | PathNormalization::DecodeAndMergeSlashes
    ) {
        out = Cow::Owned(merge_slashes(&out));
    }
    let mut result = out.into_owned();
    result.push_str(query);
    Ok(result)
}

/// `%2F`/`%2f` -> `/` and `%5C`/`%5c` -> `\` (Envoy's `UNESCAPE_AND_FORWARD`).
fn unescape_slashes(path: &str) -> String {
    path.replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%5C", "\\")
        .replace("%5c", "\\")
}

/// Envoy's `mergeSlashes`: when the path contains `//`, rebuild it from its
/// non-empty segments, keeping one leading and one trailing `/` if present.
/// (As in Envoy, `//` alone becomes `//`: a leading and a trailing slash.)
fn merge_slashes(path: &str) -> String {
    if !path.contains("//") {
        return path.to_string();
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    let mut first = true;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if !first {
            out.push('/');
        }
        out.push_str(seg);
        first = false;
    }
    if path.ends_with('/') {
        out.push('/');
    }
    out
}

/// What the path canonicalizer does with each byte (Chromium's path table
/// as Envoy ships it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    /// Copied as is.
    Pass,
    /// Percent-encoded in the output.
    Escape,
    /// Copied as is when raw; decoded when percent-encoded.
    Unescape,
    /// Percent-encoded, and the path is refused.
    Invalid,
}

fn class_of(b: u8) -> ByteClass {
    match b {
        0 => ByteClass::Invalid,
        0x01..=0x20
        | b'"'
        | b'#'
        | b'%'
        | b'<'
        | b'>'
        | b'?'
        | b'\\'
        | b'^'
        | b'`'
        | b'{'
        | b'|'
        | b'}'
        | 0x7f..=0xff => ByteClass::Escape,
        b'-' | b'0'..=b'9' | b'A'..=b'Z' | b'_' | b'a'..=b'z' | b'~' => ByteClass::Unescape,
        _ => ByteClass::Pass,
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A valid `%XX` at `i`: its decoded byte.
fn decode_escape(bytes: &[u8], i: usize) -> Option<u8> {
    let hi = hex_value(*bytes.get(i + 1)?)?;
    let lo = hex_value(*bytes.get(i + 2)?)?;
    Some(hi * 16 + lo)
}

/// Length of a dot at `i` (`.` is 1, `%2e`/`%2E` is 3), or 0.
fn dot_len(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(b'.') => 1,
        Some(b'%')
            if bytes.get(i + 1) == Some(&b'2') && matches!(bytes.get(i + 2), Some(b'e' | b'E')) =>
        {
            3
        }
        _ => 0,
    }
}

fn is_slash(b: Option<&u8>) -> bool {
    matches!(b, Some(b'/' | b'\\'))
}

fn push_escaped(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'%');
    out.push(HEX[usize::from(b >> 4)]);
    out.push(HEX[usize::from(b & 0xf)]);
}

/// Removes the last path segment: shrinks `out` (which ends with `/`) to just
/// after the previous `/`, never above the first one.
fn back_up_to_previous_slash(out: &mut Vec<u8>) {
    if out.len() <= 1 {
        return;
    }
    let before_trailing = out.len() - 1;
    let previous = out[..before_trailing]
        .iter()
        .rposition(|&b| b == b'/')
        .unwrap_or(0);
    out.truncate(previous + 1);
}

/// RFC 3986 path canonicalization as Envoy's copy of Chromium's
/// `CanonicalizePath` does it: backslashes become slashes, `.`/`..` segments
/// (also written `%2e`) are resolved, percent-encoded unreserved characters
/// are decoded, other valid escapes are kept as written (hex case unchanged),
/// characters that must be escaped are, and a NUL (raw or `%00`) refuses the
/// path.
fn canonicalize(path: &str) -> Result<String, &'static str> {
    let bytes = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 1);
    if !is_slash(bytes.first()) {
        out.push(b'/');
    }
    let mut ok = true;
    // Output index of a '%' that did not start a valid escape in the input.
    let mut last_invalid_percent: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let dots = dot_len(bytes, i);
        if dots > 0 {
            let after_slash = out.last() == Some(&b'/');
            let after = i + dots;
            if after_slash {
                if after == bytes.len() {
                    i = after; // "/." at the end: current directory
                    continue;
                }
                if is_slash(bytes.get(after)) {
                    i = after + 1; // "/./"
                    continue;
                }
                let second = dot_len(bytes, after);
                if second > 0 {
                    let after_second = after + second;
                    if after_second == bytes.len() {
                        back_up_to_previous_slash(&mut out);
                        i = after_second;
                        continue;
                    }
                    if is_slash(bytes.get(after_second)) {
                        back_up_to_previous_slash(&mut out);
                        i = after_second + 1;
                        continue;
                    }
                }
            }
            out.push(b'.');
            i = after;
            continue;
        }
        match b {
            b'\\' => out.push(b'/'),
            b'%' => match decode_escape(bytes, i) {
                Some(value) => {
                    match class_of(value) {
                        ByteClass::Unescape => {
                            out.push(value);
                            if let Some(p) = last_invalid_percent {
                                if p + 3 >= out.len() {
                                    check_nested_escape(bytes, i + 3, p, &mut out);
                                }
                            }
                        }
                        class => {
                            out.extend_from_slice(&bytes[i..i + 3]);
                            if class == ByteClass::Invalid {
                                ok = false;
                            }
                        }
                    }
                    i += 3;
                    continue;
                }
                None => {
                    last_invalid_percent = Some(out.len());
                    out.push(b'%');
                }
            },
            _ => match class_of(b) {
                ByteClass::Invalid => {
                    push_escaped(&mut out, b);
                    ok = false;
                }
                ByteClass::Escape => push_escaped(&mut out, b),
                ByteClass::Pass | ByteClass::Unescape => out.push(b),
            },
        }
        i += 1;
    }
    if !ok {
        return Err("the path contains a NUL character (raw or %00)");
    }
    // Only ASCII is ever written (non-ASCII bytes are escaped), but convert
    // without assuming it.
    String::from_utf8(out).map_err(|_| "the path is not valid UTF-8 after normalization")
}

/// Chromium's `CheckForNestedEscapes`: after decoding a character within two
/// output bytes of an earlier stray `%`, make sure the output does not now
/// read as a valid escape (`%%30` must not become `%0`+... `%00`); if it
/// would, the stray `%` is written as `%25`.
fn check_nested_escape(input: &[u8], next_input: usize, percent_at: usize, out: &mut Vec<u8>) {
    let length = out.len();
    let Some(&last) = out.last() else {
        return;
    };
    let append_next = percent_at + 2 == length;
    if append_next {
        match input.get(next_input) {
            Some(&n) if n < 0x80 => out.push(n),
            _ => return,
        }
    }
    if decode_escape(out, percent_at).is_some() {
        if !append_next {
            if let Some(&c) = out.get(percent_at + 1) {
                out.push(c);
            }
        }
        if let Some(slot) = out.get_mut(percent_at + 1) {
            *slot = b'2';
        }
        if let Some(slot) = out.get_mut(percent_at + 2) {
            *slot = b'5';
        }
        out.push(last);
    } else if append_next {
        out.truncate(length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(p: &str) -> String {
        match normalize_path(p, PathNormalization::Base) {
            Ok(s) => s,
            Err(e) => panic!("{p:?}: {e}"),
        }
    }

    #[test]
    fn split_cuts_at_first_question_mark_or_hash() {
        assert_eq!(split_path("/a/b?x=1#f"), ("/a/b", Some("x=1#f")));
        assert_eq!(split_path("/a#frag?x=1"), ("/a", None));
        assert_eq!(split_path("/a"), ("/a", None));
        assert_eq!(split_path("/a?"), ("/a", Some("")));
    }

    #[test]
    fn base_resolves_dot_segments_and_backslashes() {
        assert_eq!(base("/a/./b/../c"), "/a/c");
        assert_eq!(base("/a/b/.."), "/a/");
        assert_eq!(base("/a/."), "/a/");
        assert_eq!(base("/../../x"), "/x");
        assert_eq!(base("/a/%2e%2E/b"), "/b");
        assert_eq!(base("/a/..b/c"), "/a/..b/c");
        assert_eq!(base("/a.b/c."), "/a.b/c.");
        assert_eq!(base("\\da"), "/da");
        assert_eq!(base("/a\\..\\b"), "/b");
        assert_eq!(base("a/b"), "/a/b");
        assert_eq!(base(""), "/");
        // Slashes are not merged in BASE.
        assert_eq!(base("/a//b"), "/a//b");
    }

    #[test]
    fn base_decodes_only_unreserved_escapes() {
        assert_eq!(base("/%2d%30%41%5f%61%7e"), "/-0A_a~");
        assert_eq!(base("/a%2fb"), "/a%2fb");
        assert_eq!(base("/a%2Fb%5c"), "/a%2Fb%5c");
        assert_eq!(base("/a%20b"), "/a%20b");
        assert_eq!(base("/a b"), "/a%20b");
        assert_eq!(base("/é"), "/%C3%A9");
        assert_eq!(base("/a<b>{c}|^`\""), "/a%3Cb%3E%7Bc%7D%7C%5E%60%22");
        assert_eq!(base("/100%"), "/100%");
        assert_eq!(base("/%zz"), "/%zz");
        // Nested escapes cannot be smuggled into a valid one.
        assert_eq!(base("/%%30%30"), "/%2500");
    }

    #[test]
    fn query_is_untouched() {
        assert_eq!(base("/a/../b?x=/../%41"), "/b?x=/../%41");
        assert_eq!(
            normalize_path("/a//b?c//d", PathNormalization::MergeSlashes).unwrap(),
            "/a/b?c//d"
        );
    }

    #[test]
    fn nul_is_rejected_with_400() {
        let e = normalize_path("/a%00b", PathNormalization::Base).unwrap_err();
        assert_eq!(e.path, "/a%00b");
        assert_eq!(PathRejected::STATUS, 400);
        assert!(normalize_path("/a\0b", PathNormalization::Base).is_err());
        assert!(normalize_path("/a%01b", PathNormalization::Base).is_ok());
        // NONE does not look at the path at all.
        assert_eq!(
            normalize_path("/a%00/../b", PathNormalization::None).unwrap(),
            "/a%00/../b"
        );
    }

    #[test]
    fn merge_slashes_modes() {
        let m = |p| normalize_path(p, PathNormalization::MergeSlashes).unwrap();
        assert_eq!(m("/a//b///c/"), "/a/b/c/");
        assert_eq!(m("/a/b"), "/a/b");
        assert_eq!(m("//"), "//");
        assert_eq!(m("/a%2f%2fb"), "/a%2f%2fb");
        let d = |p| normalize_path(p, PathNormalization::DecodeAndMergeSlashes).unwrap();
        assert_eq!(d("/a%2fb"), "/a/b");
        assert_eq!(d("/a%2F%2Fb"), "/a/b");
        assert_eq!(d("/a%5cb"), "/a/b");
        assert_eq!(d("/a/b%2f..%2fc"), "/a/c");
        assert_eq!(PathNormalization::default(), PathNormalization::Base);
    }
}
