//! The fast path for plain text (ASCII, or empty): strings checked while
//! they are copied, and the C request read that way. Anything else falls
//! back to the checked readers, which build the error that names the field
//! ([`crate::ffi::str_in`], [`crate::request`]).

use crate::ffi::meshroute_str;
use crate::request::{meshroute_header, meshroute_request};
use meshroute_core::decide::Protocol;
use meshroute_core::Request;
use std::os::raw::c_char;

/// The common case of [`str_in`](crate::ffi::str_in), answered inline
/// without building an error: NULL with length 0, or ASCII (names, paths,
/// hosts mostly are; a word-at-a-time check settles them without the UTF-8
/// decoder's setup).
///
/// # Safety
/// As [`str_in`](crate::ffi::str_in).
#[inline(always)]
pub(crate) unsafe fn ascii_or_empty<'a>(ptr: *const c_char, len: usize) -> Option<&'a str> {
    if ptr.is_null() {
        return (len == 0).then_some("");
    }
    if len > isize::MAX as usize {
        return None;
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    // SAFETY: ASCII is valid UTF-8.
    is_ascii(bytes).then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Longest string [`short_words`] covers.
const SHORT: usize = 16;
/// Bit 7 of every byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The OR of the words that cover the `n` (at most [`SHORT`]) bytes at
/// `src`: two overlapping loads (8 or 4 bytes), or the first, middle and
/// last byte, which are every byte of 1-3. Bit 7 of some byte is set iff
/// a byte is not ASCII. When `dst` is given, each word is also stored at
/// the same offset from it, which copies the `n` bytes.
///
/// # Safety
/// `n <= SHORT`; `n` bytes readable at `src`, and writable at `dst` when
/// given, the two not overlapping.
#[inline(always)]
unsafe fn short_words(src: *const u8, n: usize, dst: Option<*mut u8>) -> u64 {
    // SAFETY (all): every access stays within the first `n` bytes of
    // `src` or `dst`, unaligned; the caller's contract.
    unsafe {
        if n >= 8 {
            let (a, b) = (
                src.cast::<u64>().read_unaligned(),
                src.add(n - 8).cast::<u64>().read_unaligned(),
            );
            if let Some(dst) = dst {
                dst.cast::<u64>().write_unaligned(a);
                dst.add(n - 8).cast::<u64>().write_unaligned(b);
            }
            a | b
        } else if n >= 4 {
            let (a, b) = (
                src.cast::<u32>().read_unaligned(),
                src.add(n - 4).cast::<u32>().read_unaligned(),
            );
            if let Some(dst) = dst {
                dst.cast::<u32>().write_unaligned(a);
                dst.add(n - 4).cast::<u32>().write_unaligned(b);
            }
            u64::from(a | b)
        } else if n > 0 {
            let (a, m, z) = (src.read(), src.add(n / 2).read(), src.add(n - 1).read());
            if let Some(dst) = dst {
                dst.write(a);
                dst.add(n / 2).write(m);
                dst.add(n - 1).write(z);
            }
            u64::from(a | m | z)
        } else {
            0
        }
    }
}

/// `bytes.is_ascii()`, with the short strings a request is made of (up to
/// 16 bytes: methods, hosts, header names) settled by [`short_words`]
/// instead of the general loop's setup.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    if bytes.len() > SHORT {
        return bytes.is_ascii();
    }
    // SAFETY: `bytes.len()` readable bytes, at most SHORT; nothing written.
    unsafe { short_words(bytes.as_ptr(), bytes.len(), None) & HIGH == 0 }
}

/// The text of `s` when it is ASCII (or empty, NULL allowed), with no error
/// built for anything else: the C request's fast path.
///
/// # Safety
/// As [`meshroute_str_in`](crate::ffi::meshroute_str_in).
#[inline(always)]
pub(crate) unsafe fn plain<'a>(s: meshroute_str) -> Option<&'a str> {
    // SAFETY: forwarded contract.
    unsafe { ascii_or_empty(s.ptr, s.len) }
}

/// Replaces the text of `to` with the C string `s` when `s` is plain
/// (ASCII or empty, NULL allowed with length 0), checking it while copying:
/// a string of up to 16 bytes (most of a request's) moves with at most two
/// overlapping loads and stores, and the loads are also the check's, where
/// checking and then `push_str` would scan it and call `memcpy`. Returns
/// false, with `to` left empty, for anything else.
///
/// # Safety
/// As [`meshroute_str_in`](crate::ffi::meshroute_str_in).
#[inline(always)]
pub(crate) unsafe fn copy_plain(to: &mut String, s: meshroute_str) -> bool {
    let n = s.len;
    if s.ptr.is_null() || n > SHORT {
        // SAFETY: forwarded contract.
        return match unsafe { plain(s) } {
            Some(text) => {
                to.clear();
                to.push_str(text);
                true
            }
            None => {
                to.clear();
                false
            }
        };
    }
    // SAFETY: bytes are written past the length only, and the length is set
    // to cover them only once they are checked ASCII (else 0): `to` is
    // always text when the borrow ends.
    let buf = unsafe { to.as_mut_vec() };
    buf.clear();
    if buf.capacity() < n {
        buf.reserve(n);
    }
    // SAFETY: `n <= SHORT` readable bytes at `s.ptr` (the caller's), `n`
    // writable in `buf`'s capacity; the caller's bytes are not meshroute's
    // buffer.
    let high = unsafe { short_words(s.ptr.cast(), n, Some(buf.as_mut_ptr())) };
    let ascii = high & HIGH == 0;
    // SAFETY: the first `n` bytes were written, and are ASCII when kept.
    unsafe { buf.set_len(if ascii { n } else { 0 }) };
    ascii
}

/// [`copy_plain`] for a field whose empty value means "not set":
/// `default` then.
///
/// # Safety
/// As [`meshroute_str_in`](crate::ffi::meshroute_str_in).
#[inline(always)]
pub(crate) unsafe fn copy_plain_or(to: &mut String, s: meshroute_str, default: &str) -> bool {
    if s.len == 0 {
        to.clear();
        to.push_str(default);
        return true;
    }
    // SAFETY: forwarded contract.
    unsafe { copy_plain(to, s) }
}

/// The request nearly every proxy passes, read without the error paths'
/// bookkeeping: every string ASCII (or empty), a non-empty authority, the
/// arrays present and within `MAX_REQUEST_HEADERS`. The five request
/// strings and the headers are checked while they are copied
/// ([`copy_plain`], into core's kept buffers); the labels (rare) are
/// checked as core copies them. Anything else returns `None`, the
/// request partly written, and
/// [`fill_checked`](crate::request::fill_checked) reads it all again with
/// the message that names the field. (On the hot path, carrying a possible
/// `Failure` through the header copy cost ~85 instructions a call.)
///
/// The fields are written here as core's `Request::refill` writes them
/// (empty = the default; the C request has no port, scheme, protocol, SNI
/// or destination IP): `the_fast_path_fills_what_the_checked_path_fills`
/// holds the two paths to the same result.
///
/// # Safety
/// As [`fill_request`](crate::request::fill_request).
#[inline(always)]
pub(crate) unsafe fn fill_plain(request: &mut Request, req: &meshroute_request) -> Option<()> {
    /// The pairs at `ptr` (NULL with count 0 is none), when within
    /// `MAX_REQUEST_HEADERS`.
    ///
    /// # Safety
    /// As [`fill_request`](crate::request::fill_request).
    #[inline(always)]
    unsafe fn pairs<'a>(
        ptr: *const meshroute_header,
        count: usize,
    ) -> Option<&'a [meshroute_header]> {
        if ptr.is_null() {
            return (count == 0).then_some(&[]);
        }
        if count > meshroute_core::limits::MAX_REQUEST_HEADERS {
            return None;
        }
        // SAFETY: the caller's contract: `count` items at `ptr`.
        Some(unsafe { std::slice::from_raw_parts(ptr, count) })
    }
    // SAFETY (all blocks below): the caller's contract.
    let labels = unsafe { pairs(req.source_labels, req.source_label_count) }?;
    let headers = unsafe { pairs(req.headers, req.header_count) }?;
    let texts_plain = unsafe {
        (req.authority.len != 0 && copy_plain(&mut request.host, req.authority))
            && copy_plain_or(&mut request.method, req.method, Request::DEFAULT_METHOD)
            && copy_plain_or(&mut request.path, req.path, Request::DEFAULT_PATH)
            && copy_plain_or(&mut request.gateway, req.gateway, Request::DEFAULT_GATEWAY)
            && copy_plain_or(
                &mut request.source.namespace,
                req.source_namespace,
                Request::DEFAULT_NAMESPACE,
            )
    };
    if !texts_plain {
        return None;
    }
    request.port = None;
    request.scheme = None;
    request.protocol = Protocol::Http;
    request.sni = None;
    request.destination_ip = None;
    request
        .headers
        .try_refill_with(headers.len(), |i, name, value| {
            let h = &headers[i];
            // SAFETY: the caller's contract for the header strings.
            let plain = unsafe { copy_plain(name, h.name) & copy_plain(value, h.value) };
            plain.then_some(()).ok_or(())
        })
        .ok()?;
    request
        .source
        .try_refill_labels(
            labels
                .iter()
                .map(|l| unsafe { plain(l.name).zip(plain(l.value)) }.ok_or(())),
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_string_ascii_check_agrees_with_the_standard_one() {
        for len in 0..40 {
            let ascii = vec![b'a'; len];
            assert!(is_ascii(&ascii), "{len}");
            for at in 0..len {
                let mut one_high = ascii.clone();
                one_high[at] = 0x80 | (at as u8);
                assert!(!is_ascii(&one_high), "{len} {at}");
                assert_eq!(is_ascii(&one_high), one_high.is_ascii());
            }
        }
    }

    #[test]
    fn copying_a_plain_string_checks_it_and_copies_every_byte() {
        // Distinct bytes, so a byte copied to the wrong place shows.
        let source: Vec<u8> = (0..40u8).map(|i| b'!' + i).collect();
        for len in 0..source.len() {
            let ascii = &source[..len];
            for mut to in [
                String::new(),
                String::from("old"),
                "previous text, longer than sixteen".to_string(),
            ] {
                // SAFETY: pointers into live slices with their lengths.
                assert!(unsafe { copy_plain(&mut to, str_of(ascii)) }, "{len}");
                assert_eq!(to.as_bytes(), ascii, "{len}");
                for at in 0..len {
                    let mut high = ascii.to_vec();
                    high[at] |= 0x80;
                    // SAFETY: as above.
                    assert!(!unsafe { copy_plain(&mut to, str_of(&high)) }, "{len} {at}");
                    assert_eq!(to, "", "left empty: {len} {at}");
                }
            }
        }
        let mut to = String::from("old");
        let null = |len| meshroute_str {
            ptr: std::ptr::null(),
            len,
        };
        // SAFETY: NULL pointers are never read.
        assert!(unsafe { copy_plain(&mut to, null(0)) } && to.is_empty());
        to.push_str("old");
        assert!(!unsafe { copy_plain(&mut to, null(3)) } && to.is_empty());
        // SAFETY: as above; a borrowed static string.
        assert!(unsafe { copy_plain_or(&mut to, null(0), "GET") } && to == "GET");
        assert!(unsafe { copy_plain_or(&mut to, str_of(b"POST"), "GET") } && to == "POST");
        assert!(!unsafe { copy_plain_or(&mut to, str_of("é".as_bytes()), "GET") } && to.is_empty());
    }

    fn str_of(bytes: &[u8]) -> meshroute_str {
        meshroute_str {
            ptr: bytes.as_ptr().cast(),
            len: bytes.len(),
        }
    }
}
