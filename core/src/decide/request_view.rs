//! The request pre-digested once per decision: host without port and
//! lower-cased, listener port, the path as routes see it (cut at `?`/`#`,
//! with a fast scan saying whether normalization could change it), query
//! and scheme.

use super::request::Request;
use crate::hosts::{self};
use crate::matching::HttpRequestParts;

/// The request, pre-digested once.
pub(crate) struct View<'r> {
    pub req: &'r Request,
    /// Host without port, lower-cased.
    pub host: std::borrow::Cow<'r, str>,
    pub port: u32,
    pub path: &'r str,
    pub query: &'r str,
    pub scheme: &'r str,
}

impl<'r> View<'r> {
    pub fn new(req: &'r Request) -> View<'r> {
        View::with_path_end(req, path_end(&req.path))
    }

    /// `path_end`: where the path ends in `req.path` ([`path_end`]).
    pub fn with_path_end(req: &'r Request, path_end: usize) -> View<'r> {
        let scheme = req.scheme_or_default();
        let default_port = || {
            if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            }
        };
        let (host, port) = if is_plain_host(&req.host) {
            let port = req.port.map_or_else(default_port, u32::from);
            (std::borrow::Cow::Borrowed(req.host.as_str()), port)
        } else {
            let authority = hosts::split_authority(&req.host);
            let port = req
                .port
                .or_else(|| authority.port_number())
                .map_or_else(default_port, u32::from);
            // The trailing dot stays: Istio does not set the connection
            // manager's `strip_trailing_host_dot`, so Envoy matches `app.`
            // against the domains as written, where only the absolute
            // FQDN of a service has the dot (see `is_absolute`).
            let h = authority.host;
            let host = if h.bytes().any(|b| b.is_ascii_uppercase()) {
                std::borrow::Cow::Owned(h.to_ascii_lowercase())
            } else {
                std::borrow::Cow::Borrowed(h)
            };
            (host, port)
        };
        let (path, rest) = req
            .path
            .split_at_checked(path_end)
            .unwrap_or((&req.path, ""));
        let query = rest
            .strip_prefix('?')
            .map(|q| q.split('#').next().unwrap_or(""))
            .unwrap_or("");
        View {
            req,
            host,
            port,
            path,
            query,
            scheme,
        }
    }

    /// What the per-request match conditions read.
    #[inline]
    pub fn parts(&self) -> HttpRequestParts<'r> {
        HttpRequestParts {
            request: self.req,
            path: self.path,
            query: self.query,
            scheme: self.scheme,
        }
    }
}

/// Bytes that make a host need splitting or lower-casing: `:` (port),
/// `[` (IPv6 literal), upper-case letters.
static HOST_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b':' as usize] = true;
    table[b'[' as usize] = true;
    let mut c = b'A';
    while c <= b'Z' {
        table[c as usize] = true;
        c += 1;
    }
    table
};

/// A host with no port, brackets or upper case: what most requests
/// carry, used as it is.
pub(super) fn is_plain_host(host: &str) -> bool {
    !host.bytes().any(|b| HOST_SPECIAL[usize::from(b)])
}

/// The name an absolute host (`reviews.default.svc.cluster.local.`) means,
/// without its trailing dot; `None` for a relative one. Envoy compares the
/// Host with the dot against virtual-host domains (Istio leaves
/// `strip_trailing_host_dot` off: pilot `networking/core/listener_builder.go`
/// sets no such option, Envoy `source/common/http/conn_manager_impl.cc`
/// strips it only when asked), and Istio gives only a service's own
/// hostname an absolute domain (`httproute.go` `GenerateAltVirtualHosts`):
/// so an absolute host is that exact name or nothing, never a short name
/// searched from the caller's namespace.
pub(crate) fn is_absolute(host: &str) -> Option<&str> {
    host.strip_suffix('.').filter(|h| !h.is_empty())
}

/// Byte classes for the per-request path scans: one table load per byte
/// instead of a chain of comparisons.
const PATH_PLAIN: u8 = 0;
/// `?` and `#`: the path as routes see it ends here.
const PATH_END: u8 = 1;
/// `.`, `%`, `\`, NUL, `#`: normalization may rewrite the path.
const PATH_SUSPECT: u8 = 2;
const PATH_SLASH: u8 = 4;
static PATH_BYTE: [u8; 256] = {
    let mut table = [PATH_PLAIN; 256];
    table[b'/' as usize] = PATH_SLASH;
    table[b'?' as usize] = PATH_END;
    table[b'#' as usize] = PATH_END | PATH_SUSPECT;
    table[b'.' as usize] = PATH_SUSPECT;
    table[b'%' as usize] = PATH_SUSPECT;
    table[b'\\' as usize] = PATH_SUSPECT;
    table[0] = PATH_SUSPECT;
    table
};

/// Whether normalization could change `path`.
#[cfg(test)]
fn path_may_change(path: &str, mode: crate::matching::path::PathNormalization) -> bool {
    plain_path_end(path, mode).is_none()
}

/// Where the path as routes see it ends (the first `?` or `#`).
pub(super) fn path_end(path: &str) -> usize {
    path.bytes()
        .position(|b| PATH_BYTE[usize::from(b)] & PATH_END != 0)
        .unwrap_or(path.len())
}

/// `None` when normalization could change `path` (one pass up to the
/// query, no allocation: an escape, a backslash, NUL or `#`, a `.` or `..`
/// segment, no leading `/`, or, when slashes are merged, an empty
/// segment); otherwise where the path ends ([`path_end`]), found on the way.
pub(super) fn plain_path_end(
    path: &str,
    mode: crate::matching::path::PathNormalization,
) -> Option<usize> {
    use crate::matching::path::PathNormalization;
    if mode == PathNormalization::None {
        return Some(path_end(path));
    }
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return None;
    }
    let merge_slashes = mode != PathNormalization::Base;
    // Most paths have no dot, escape, backslash, NUL, fragment or `//`
    // before the query: one cheap scan says so. Without slash merging the
    // bytes that matter are found eight at a time.
    let mut start = 0;
    if !merge_slashes {
        for (k, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let found = special_bytes(u64::from_le_bytes(word));
            if found != 0 {
                // The lowest flagged byte is exact (the carries of the zero
                // test only flag bytes above a true match).
                let at = k * 8 + (found.trailing_zeros() / 8) as usize;
                return match bytes.get(at) {
                    Some(b'?') => Some(at),
                    _ => plain_segments_end(bytes, false),
                };
            }
            start = k * 8 + 8;
        }
    }
    let mut previous_slash = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        let class = PATH_BYTE[usize::from(b)];
        if class == PATH_PLAIN {
            previous_slash = false;
        } else if class & PATH_SUSPECT != 0
            || (merge_slashes && previous_slash && class == PATH_SLASH)
        {
            return plain_segments_end(bytes, merge_slashes);
        } else if class == PATH_END {
            return Some(i);
        } else {
            previous_slash = true;
        }
    }
    Some(bytes.len())
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is NUL (exact for the lowest one).
pub(super) fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS
}

/// The bytes of `word` that end the path (`?`, `#`) or that normalization
/// may rewrite (`.`, `%`, `\`, NUL): the `PATH_END`/`PATH_SUSPECT` classes.
pub(super) fn special_bytes(word: u64) -> u64 {
    let equal = |byte: u8| zero_bytes(word ^ (LOW_BITS * u64::from(byte)));
    zero_bytes(word) | equal(b'.') | equal(b'%') | equal(b'\\') | equal(b'#') | equal(b'?')
}

/// The careful scan of [`plain_path_end`], segment by segment.
pub(super) fn plain_segments_end(bytes: &[u8], merge_slashes: bool) -> Option<usize> {
    let mut segment_start = 1;
    for i in 1..=bytes.len() {
        let c = bytes.get(i).copied();
        match c {
            // A fragment is left to the normalizer, which decides what it becomes.
            Some(b'%' | b'\\' | 0 | b'#') => return None,
            Some(b'/') | Some(b'?') | None => {
                let segment = bytes.get(segment_start..i).unwrap_or_default();
                if segment == b"." || segment == b".." {
                    return None;
                }
                if merge_slashes && segment.is_empty() && c == Some(b'/') {
                    return None;
                }
                if c != Some(b'/') {
                    return Some(i);
                }
                segment_start = i + 1;
            }
            Some(_) => {}
        }
    }
    Some(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::{
        path_may_change, plain_path_end, plain_segments_end, PATH_BYTE, PATH_END, PATH_SUSPECT,
    };
    use crate::matching::path::{normalize_path, PathNormalization};

    #[test]
    fn word_scan_agrees_with_the_byte_scan() {
        // The byte-at-a-time scan, as it was before the word scan.
        fn byte_scan(path: &str) -> Option<usize> {
            let bytes = path.as_bytes();
            if bytes.first() != Some(&b'/') {
                return None;
            }
            for (i, &b) in bytes.iter().enumerate() {
                let class = PATH_BYTE[usize::from(b)];
                if class & PATH_SUSPECT != 0 {
                    return plain_segments_end(bytes, false);
                }
                if class == PATH_END {
                    return Some(i);
                }
            }
            Some(bytes.len())
        }
        let alphabet = ['/', 'a', '.', '?', '#', '%', '\\', '\0', 'Z', 'é'];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 26) as usize;
            let mut path = String::from("/");
            let mut bits = seed;
            for _ in 0..len {
                bits = bits.rotate_left(7) ^ 0x2545_f491_4f6c_dd1d;
                let c = alphabet[(bits % alphabet.len() as u64) as usize];
                // Mostly plain letters, so that long plain runs are common.
                path.push(if bits.is_multiple_of(3) { c } else { 'a' });
            }
            assert_eq!(
                plain_path_end(&path, PathNormalization::Base),
                byte_scan(&path),
                "{path:?}"
            );
        }
    }

    #[test]
    fn path_may_change_whenever_normalization_changes_the_path() {
        let paths = [
            "/",
            "/a",
            "/a/",
            "/a/b?x=/../",
            "/a#/./",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/.",
            "/..",
            "/.a/..b/",
            "/a//b",
            "//",
            "/a%2Fb",
            "/a\\b",
            "a",
            "",
            "/a/b/c.d",
            "/..?",
            "/.#",
            "/a//?",
            "/a/b//",
            "/a#b",
            "/a?x#/../",
        ];
        for mode in [
            PathNormalization::Base,
            PathNormalization::MergeSlashes,
            PathNormalization::DecodeAndMergeSlashes,
        ] {
            for p in paths {
                let changed = normalize_path(p, mode).map_or(true, |n| n != p);
                if changed {
                    assert!(path_may_change(p, mode), "{p:?} changes under {mode:?}");
                }
            }
        }
        assert!(!path_may_change("/reviews/0", PathNormalization::Base));
        assert!(!path_may_change("/a//b", PathNormalization::Base));
        assert!(path_may_change("/a//b", PathNormalization::MergeSlashes));
        assert!(!path_may_change("/a/./b", PathNormalization::None));
    }

    // Envoy `source/common/http/conn_manager_impl.cc`: the Host's trailing
    // dot is removed only with `strip_trailing_host_dot`, which Istio's
    // listeners leave off (pilot `networking/core/listener_builder.go`);
    // Istio's domains give only a service hostname an absolute form
    // (`httproute.go` `GenerateAltVirtualHosts`, istio/istio#56007).
    #[test]
    fn an_absolute_host_is_its_exact_name_never_a_short_one() {
        use crate::{Mesh, Outcome, Request};
        let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: app}}]
"#;
        let mesh = Mesh::compile(&crate::load::load_str(yaml, "t.yaml"));
        let outcome = |req: Request| mesh.decide(&req).unwrap().outcome();
        for fqdn in [
            "app.default.svc.cluster.local.",
            "APP.default.svc.cluster.local.:80",
        ] {
            assert_eq!(outcome(Request::new(fqdn)), Outcome::DefaultRoute, "{fqdn}");
        }
        for relative in ["app.", "app.default.", "app.default.svc.:80"] {
            assert_eq!(
                outcome(Request::new(relative)),
                Outcome::Passthrough,
                "{relative}: no domain, the outbound policy"
            );
        }
        assert_eq!(outcome(Request::new("app")), Outcome::DefaultRoute);
        let via = |host: &str| Request::new(host).via_gateway("default/gw");
        assert_eq!(outcome(via("a.example.com")), Outcome::Route);
        assert_eq!(outcome(via("a.example.com.")), Outcome::NotFound);
    }
}
