//! The C request (`meshroute_request`) and how it becomes core's
//! `Request`: `fill_request` takes the plain fast path (`fill_plain` in
//! plain.rs) when it can, and otherwise reads every field with the check
//! that names the field in its error.

use crate::ffi::{meshroute_status::*, meshroute_str, meshroute_str_in, slice_in, Failure};
use crate::plain::fill_plain;
use meshroute_core::decide::RequestFields;
use meshroute_core::Request;

/// A name/value pair: a request header, or a source label.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_header {
    /// Header name (any case; matched lower-cased) or label key.
    pub name: meshroute_str,
    /// Value.
    pub value: meshroute_str,
}

/// A request as a proxy sees it. Every string is borrowed for the call
/// only; an empty string (len 0) takes the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_request {
    /// HTTP method; default `GET`.
    pub method: meshroute_str,
    /// `:authority` (Host), may carry `:port`. Required.
    pub authority: meshroute_str,
    /// Path with optional `?query`; default `/`.
    pub path: meshroute_str,
    /// Request headers, `header_count` of them (NULL when 0). Repeated names are joined with `,`.
    pub headers: *const meshroute_header,
    /// Number of `headers`.
    pub header_count: usize,
    /// Namespace of the calling workload; default `default`.
    pub source_namespace: meshroute_str,
    /// Labels of the calling workload, `source_label_count` of them (NULL when 0).
    pub source_labels: *const meshroute_header,
    /// Number of `source_labels`.
    pub source_label_count: usize,
    /// `mesh` (a sidecar), `namespace/name` of one Gateway, or
    /// `namespace/key=value[,key=value][@address]`: the gateway workload with
    /// those labels in that namespace, which gets every Gateway selecting it,
    /// merged as istiod merges them; default `mesh`.
    pub gateway: meshroute_str,
}

/// Reads `list[index].field`; the field's name is only formatted for an error
/// message, so the common path does not allocate.
///
/// # Safety
/// As `meshroute_str_in`.
#[inline]
unsafe fn pair_field_in<'a>(
    list: &str,
    index: usize,
    field: &str,
    value: meshroute_str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    unsafe { meshroute_str_in("", value) }.map_err(|e| Failure {
        status: e.status,
        message: format!("{list}[{index}].{field} {}", e.message),
    })
}

/// Converts the C request into core's `Request`.
///
/// # Safety
/// Every pointer in `req` must satisfy the `meshroute_request` contract.
pub(crate) unsafe fn request_in(
    req: &meshroute_request,
    max_headers: usize,
) -> Result<Request, Failure> {
    let mut request = Request::new(String::new());
    // SAFETY: forwarded contract.
    unsafe { fill_request(&mut request, req, max_headers) }?;
    Ok(request)
}

/// Writes the C request into `request`, every field, reusing its buffers;
/// more than `max_headers` headers (the mesh's `max_request_headers`) is an
/// error before anything is copied. On failure `request` is partly written
/// and must not be decided.
///
/// # Safety
/// The strings and arrays of `req` are valid as the header documents.
#[inline(always)]
pub(crate) unsafe fn fill_request(
    request: &mut Request,
    req: &meshroute_request,
    max_headers: usize,
) -> Result<(), Failure> {
    // SAFETY (both): forwarded contract.
    if unsafe { fill_plain(request, req) }.is_some() {
        return Ok(());
    }
    unsafe { fill_checked(request, req, max_headers) }
}

/// [`fill_request`] with every check spelt out: the first string that is
/// NULL with a length, not UTF-8, or a count over a limit is the error.
///
/// # Safety
/// As [`fill_request`].
#[cold]
#[inline(never)]
pub(crate) unsafe fn fill_checked(
    request: &mut Request,
    req: &meshroute_request,
    max_headers: usize,
) -> Result<(), Failure> {
    // SAFETY (all blocks below): the caller's contract for the request's strings and arrays.
    let authority = unsafe { meshroute_str_in("request.authority", req.authority) }?;
    if authority.is_empty() {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_REQUEST,
            "request.authority is empty",
        ));
    }
    // Refuse an absurd count before copying anything; core checks the exact limit again.
    if req.header_count > max_headers {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_REQUEST,
            format!(
                "{} headers, more than {max_headers} ({})",
                req.header_count,
                meshroute_core::limits::hint("max_request_headers", max_headers as u64)
            ),
        ));
    }
    let method = unsafe { meshroute_str_in("request.method", req.method) }?;
    let path = unsafe { meshroute_str_in("request.path", req.path) }?;
    let namespace = unsafe { meshroute_str_in("request.source_namespace", req.source_namespace) }?;
    let gateway = unsafe { meshroute_str_in("request.gateway", req.gateway) }?;
    let headers = unsafe { slice_in("request.headers", req.headers, req.header_count) }?;
    let labels = unsafe {
        slice_in(
            "request.source_labels",
            req.source_labels,
            req.source_label_count,
        )
    }?;
    request
        .headers
        .try_refill(headers.iter().enumerate().map(|(i, h)| {
            let name = unsafe { pair_field_in("request.headers", i, "name", h.name) }?;
            let value = unsafe { pair_field_in("request.headers", i, "value", h.value) }?;
            Ok::<_, Failure>((name, value))
        }))?;
    request
        .source
        .try_refill_labels(labels.iter().enumerate().map(|(i, l)| {
            let key = unsafe { pair_field_in("request.source_labels", i, "name", l.name) }?;
            let value = unsafe { pair_field_in("request.source_labels", i, "value", l.value) }?;
            Ok::<_, Failure>((key, value))
        }))?;
    request.refill(&c_fields(authority, method, path, namespace, gateway));
    Ok(())
}

/// The C request's strings as core's fields: an empty string is the C
/// API's "not set" (the field's default).
#[inline(always)]
fn c_fields<'a>(
    authority: &'a str,
    method: &'a str,
    path: &'a str,
    namespace: &'a str,
    gateway: &'a str,
) -> RequestFields<'a> {
    let set = |given: &'a str| (!given.is_empty()).then_some(given);
    RequestFields {
        host: authority,
        method: set(method),
        path: set(path),
        gateway: set(gateway),
        namespace: set(namespace),
        ..RequestFields::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const MAX_HEADERS: usize = meshroute_core::limits::MAX_REQUEST_HEADERS;

    fn s(text: &str) -> meshroute_str {
        meshroute_str::borrow(text)
    }

    fn empty_request(authority: &'static str) -> meshroute_request {
        meshroute_request {
            method: s(""),
            authority: s(authority),
            path: s(""),
            headers: std::ptr::null(),
            header_count: 0,
            source_namespace: s(""),
            source_labels: std::ptr::null(),
            source_label_count: 0,
            gateway: s(""),
        }
    }

    #[test]
    fn empty_fields_take_the_spec_defaults() {
        // SAFETY: every string borrows a live &'static str; arrays are NULL with count 0.
        let r = unsafe { request_in(&empty_request("reviews"), MAX_HEADERS) }.unwrap();
        assert_eq!(r, Request::new("reviews"));
    }

    #[test]
    fn given_fields_are_kept_and_header_names_lower_cased() {
        let headers = [meshroute_header {
            name: s("End-User"),
            value: s("jason"),
        }];
        let labels = [meshroute_header {
            name: s("app"),
            value: s("web"),
        }];
        let mut c = empty_request("reviews:9080");
        c.method = s("POST");
        c.path = s("/a?b");
        c.headers = headers.as_ptr();
        c.header_count = 1;
        c.source_namespace = s("shop");
        c.source_labels = labels.as_ptr();
        c.source_label_count = 1;
        c.gateway = s("istio-system/ingress");
        // SAFETY: all pointers borrow live locals for the call.
        let r = unsafe { request_in(&c, MAX_HEADERS) }.unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/a?b"));
        assert_eq!(r.headers.get("end-user").as_deref(), Some("jason"));
        assert_eq!(r.source.namespace, "shop");
        assert_eq!(r.source.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(r.gateway, "istio-system/ingress");
        assert_eq!(r.host, "reviews:9080");
    }

    /// Requests for the fast path's edges: ASCII of every short length,
    /// UTF-8 text (which only the checked path reads), empty and NULL
    /// strings, labels, repeated headers; `run` is told whether every
    /// string of the request is ASCII.
    fn varied_requests(mut run: impl FnMut(&meshroute_request, bool)) {
        let texts = [
            "",
            "a",
            "ab",
            "GET",
            "/r/1",
            "default",
            "end-user",
            "reviews.default.svc",
            "héllo",
            "ünïcode-über-16-bytes",
        ];
        for (i, &text) in texts.iter().enumerate() {
            let other = texts[(i + 3) % texts.len()];
            let pairs = [
                meshroute_header {
                    name: s(text),
                    value: s(other),
                },
                meshroute_header {
                    name: s("X-Id"),
                    value: s(text),
                },
                meshroute_header {
                    name: s("x-id"),
                    value: s("2"),
                },
            ];
            let mut c = empty_request("reviews");
            c.authority = s(if text.is_empty() { "h" } else { text });
            c.method = s(text);
            c.path = s(other);
            c.headers = pairs.as_ptr();
            c.header_count = if text.is_empty() { 0 } else { pairs.len() };
            c.source_namespace = s(other);
            c.source_labels = if text.len() % 2 == 1 {
                pairs.as_ptr()
            } else {
                std::ptr::null()
            };
            c.source_label_count = if text.len() % 2 == 1 { 2 } else { 0 };
            c.gateway = s(text);
            run(&c, text.is_ascii() && other.is_ascii());
        }
    }

    #[test]
    fn the_fast_path_fills_what_the_checked_path_fills() {
        let mut kept = Request::new("previous");
        kept.headers.append("stale", "1");
        kept.source.labels.insert("stale".into(), "1".into());
        varied_requests(|c, ascii| {
            let mut checked = Request::new(String::new());
            // SAFETY: every pointer in `c` borrows live locals for the call.
            unsafe { fill_checked(&mut checked, c, MAX_HEADERS) }.unwrap();
            // SAFETY: as above.
            let fast = unsafe { fill_plain(&mut kept, c) };
            assert_eq!(fast.is_some(), ascii, "the fast path reads ASCII: {c:?}");
            if fast.is_none() {
                // SAFETY: as above.
                unsafe { fill_checked(&mut kept, c, MAX_HEADERS) }.unwrap();
            }
            assert_eq!(kept, checked, "{c:?}");
        });
    }

    #[test]
    fn an_empty_authority_is_an_invalid_request() {
        // SAFETY: as above.
        let err = unsafe { request_in(&empty_request(""), MAX_HEADERS) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_INVALID_REQUEST);
    }
}
