//! Status codes, borrowed strings, the last-error message and the panic
//! barrier every entry point goes through.

use std::cell::RefCell;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The ABI version of this header. It changes whenever a type layout or a
/// function signature changes incompatibly; compare it with
/// `meshroute_abi_version()` at start-up.
pub const MESHROUTE_ABI_VERSION: u32 = 1;

/// What a call did. `MESHROUTE_STATUS_OK` is 0; for any other value
/// `meshroute_last_error()` says what went wrong.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum meshroute_status {
    /// Success.
    MESHROUTE_STATUS_OK = 0,
    /// A required pointer argument was NULL (or a string pointer was NULL with a non-zero length).
    MESHROUTE_STATUS_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    MESHROUTE_STATUS_INVALID_UTF8 = 2,
    /// A handle was already freed, freed with the wrong function, or is not a handle of the expected type.
    MESHROUTE_STATUS_INVALID_HANDLE = 3,
    /// An argument is malformed or over a limit (a length, a count).
    MESHROUTE_STATUS_INVALID_ARGUMENT = 4,
    /// The request cannot be decided: malformed JSON, a missing authority, or over a request limit.
    MESHROUTE_STATUS_INVALID_REQUEST = 5,
    /// An index is not below the matching count.
    MESHROUTE_STATUS_OUT_OF_RANGE = 6,
    /// The decision has no such field (no redirect, no timeout ...); the out-parameter is untouched.
    MESHROUTE_STATUS_ABSENT = 7,
    /// Rust panicked inside the call (a bug in meshroute); the call had no effect on its outputs.
    MESHROUTE_STATUS_PANIC = 8,
}

use meshroute_status::*;

/// A borrowed UTF-8 string: `len` bytes at `ptr`, not NUL-terminated.
/// Strings returned by meshroute stay valid until the handle they came from
/// is freed; `ptr` is never NULL in those.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshroute_str {
    /// First byte (may be NULL in an input string when `len` is 0).
    pub ptr: *const c_char,
    /// Number of bytes.
    pub len: usize,
}

impl meshroute_str {
    /// A view of `s` (borrowed: the caller keeps `s` alive).
    pub(crate) fn borrow(s: &str) -> meshroute_str {
        meshroute_str {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

/// A failed call: the status to return and the message for `meshroute_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: meshroute_status,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(status: meshroute_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    // Cold and out of line, as the errors of the hot accessors: their
    // success paths then carry no message formatting (smaller frames,
    // fewer spills).
    #[cold]
    #[inline(never)]
    pub(crate) fn null(what: &str) -> Failure {
        Failure::new(
            MESHROUTE_STATUS_NULL_ARGUMENT,
            format!("{what}{}is NULL", sep(what)),
        )
    }

    /// `index` is not below `len`, the number of `items`.
    #[cold]
    #[inline(never)]
    pub(crate) fn out_of_range(index: usize, len: usize, items: &str) -> Failure {
        Failure::new(
            MESHROUTE_STATUS_OUT_OF_RANGE,
            format!("index {index}, but there are {len} {items}"),
        )
    }
}

/// The space between an argument's name and the rest of a message; none
/// when the name is left for the caller to prepend.
fn sep(what: &str) -> &'static str {
    if what.is_empty() {
        ""
    } else {
        " "
    }
}

/// The result of an entry point's body.
pub(crate) type Outcome = Result<(), Failure>;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: String) {
    // `try_with`: during thread teardown the slot may be gone; the status still tells.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
}

/// Runs an entry point's body: converts its failure into a status and a
/// last-error message, and stops any panic at the boundary. Inlined into
/// every entry point (the success path is a few instructions); failures are
/// handled out of line.
#[inline(always)]
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Outcome) -> meshroute_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MESHROUTE_STATUS_OK,
        failed => guard_failed(function, failed),
    }
}

/// [`guard`] for a body that failed or panicked.
#[cold]
#[inline(never)]
fn guard_failed(
    function: &str,
    failed: Result<Outcome, Box<dyn std::any::Any + Send>>,
) -> meshroute_status {
    match failed {
        Ok(Ok(())) => MESHROUTE_STATUS_OK,
        Ok(Err(failure)) => {
            set_last_error(format!("{function}: {}", failure.message));
            failure.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            set_last_error(format!("{function}: panic inside meshroute: {what}"));
            MESHROUTE_STATUS_PANIC
        }
    }
}

/// Reads an input string `(ptr, len)`: NULL is allowed only with length 0.
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay
/// unchanged for `'a`.
#[inline]
pub(crate) unsafe fn str_in<'a>(
    what: &str,
    ptr: *const c_char,
    len: usize,
) -> Result<&'a str, Failure> {
    // SAFETY (both): forwarded contract.
    match unsafe { ascii_or_empty(ptr, len) } {
        Some(text) => Ok(text),
        None => unsafe { str_in_checked(what, ptr, len) },
    }
}

/// The common case of [`str_in`], answered inline without building an
/// error: NULL with length 0, or ASCII (names, paths, hosts mostly are;
/// a word-at-a-time check settles them without the UTF-8 decoder's setup).
///
/// # Safety
/// As [`str_in`].
#[inline(always)]
unsafe fn ascii_or_empty<'a>(ptr: *const c_char, len: usize) -> Option<&'a str> {
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
/// As [`meshroute_str_in`].
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
/// As [`meshroute_str_in`].
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
/// As [`meshroute_str_in`].
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

/// [`str_in`] for everything else: non-ASCII text, and the errors.
///
/// # Safety
/// As [`str_in`].
#[cold]
unsafe fn str_in_checked<'a>(
    what: &str,
    ptr: *const c_char,
    len: usize,
) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok("")
        } else {
            Err(Failure::null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_ARGUMENT,
            format!("{what}{}length {len} is larger than isize::MAX", sep(what)),
        ));
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            MESHROUTE_STATUS_INVALID_UTF8,
            format!("{what}{}is not valid UTF-8: {e}", sep(what)),
        )
    })
}

/// Reads an input `meshroute_str`.
///
/// # Safety
/// As [`str_in`].
#[inline]
pub(crate) unsafe fn meshroute_str_in<'a>(
    what: &str,
    s: meshroute_str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    unsafe { str_in(what, s.ptr, s.len) }
}

/// Reads an input array of `count` items at `ptr` (NULL allowed when `count` is 0).
///
/// # Safety
/// When `ptr` is not NULL it must point to `count` initialised items alive for `'a`.
pub(crate) unsafe fn slice_in<'a, T>(
    what: &str,
    ptr: *const T,
    count: usize,
) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if count == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(what))
        };
    }
    if count.saturating_mul(std::mem::size_of::<T>()) > isize::MAX as usize {
        return Err(Failure::new(
            MESHROUTE_STATUS_INVALID_ARGUMENT,
            format!("{what}: count {count} is too large"),
        ));
    }
    // SAFETY: the caller guarantees `count` items at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Writes `value` to the out-parameter `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `T`.
pub(crate) unsafe fn write_out<T>(what: &str, out: *mut T, value: T) -> Outcome {
    if out.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: checked non-NULL; the caller guarantees it is writable.
    unsafe { out.write(value) };
    Ok(())
}

/// Checks that an out-parameter is not NULL before any work is done.
pub(crate) fn out_required<T>(what: &str, out: *mut T) -> Outcome {
    if out.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(())
    }
}

static VERSION: &str = env!("CARGO_PKG_VERSION");

/// The library's version (`major.minor.patch`), a static string.
#[no_mangle]
pub extern "C" fn meshroute_version() -> meshroute_str {
    meshroute_str::borrow(VERSION)
}

/// The ABI version the library was built with; equal to
/// `MESHROUTE_ABI_VERSION` when header and library match.
#[no_mangle]
pub extern "C" fn meshroute_abi_version() -> u32 {
    MESHROUTE_ABI_VERSION
}

/// The name of a status code (`"MESHROUTE_STATUS_OK"` ...), a static string;
/// `"MESHROUTE_STATUS_UNKNOWN"` for a value that is no status.
#[no_mangle]
pub extern "C" fn meshroute_status_name(status: u32) -> meshroute_str {
    let name = match status {
        0 => "MESHROUTE_STATUS_OK",
        1 => "MESHROUTE_STATUS_NULL_ARGUMENT",
        2 => "MESHROUTE_STATUS_INVALID_UTF8",
        3 => "MESHROUTE_STATUS_INVALID_HANDLE",
        4 => "MESHROUTE_STATUS_INVALID_ARGUMENT",
        5 => "MESHROUTE_STATUS_INVALID_REQUEST",
        6 => "MESHROUTE_STATUS_OUT_OF_RANGE",
        7 => "MESHROUTE_STATUS_ABSENT",
        8 => "MESHROUTE_STATUS_PANIC",
        _ => "MESHROUTE_STATUS_UNKNOWN",
    };
    meshroute_str::borrow(name)
}

/// The message of the most recent failed call on this thread (empty when
/// none failed yet). Valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn meshroute_last_error() -> meshroute_str {
    LAST_ERROR
        .try_with(|slot| meshroute_str::borrow(slot.borrow().as_str()))
        .unwrap_or(meshroute_str::borrow(""))
}

/// Panics inside Rust on purpose and returns `MESHROUTE_STATUS_PANIC`: lets a
/// program (and meshroute's tests) check that no panic crosses the boundary.
/// Prints the panic message to standard error, as any Rust panic does.
#[no_mangle]
pub extern "C" fn meshroute_debug_panic() -> meshroute_status {
    guard("meshroute_debug_panic", || {
        panic!("meshroute_debug_panic was called");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let s = meshroute_last_error();
        // SAFETY: meshroute_last_error returns a valid borrowed UTF-8 string.
        let bytes = unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn null_string_is_empty_only_with_length_zero() {
        // SAFETY: NULL pointers are never read.
        assert_eq!(unsafe { str_in("t", std::ptr::null(), 0) }.ok(), Some(""));
        let err = unsafe { str_in("t", std::ptr::null(), 1) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_NULL_ARGUMENT);
        assert_eq!(err.message, "t is NULL");
    }

    #[test]
    fn strings_in_are_utf8_checked_and_length_bounded() {
        let good = "héllo, trailing";
        // SAFETY: pointers into live slices with their lengths.
        assert_eq!(
            unsafe { str_in("t", good.as_ptr().cast(), 6) }.ok(),
            Some("héllo")
        );
        let bad = [b'a', 0xff];
        let err = unsafe { str_in("t", bad.as_ptr().cast(), 2) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_INVALID_UTF8);
        assert!(err.message.starts_with("t is not valid UTF-8"));
    }

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

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        assert_eq!(meshroute_debug_panic(), MESHROUTE_STATUS_PANIC);
        assert!(last_error().contains("panic inside meshroute"));
        assert_eq!(guard("f", || Ok(())), MESHROUTE_STATUS_OK);
        let st = guard("f", || Err(Failure::new(MESHROUTE_STATUS_ABSENT, "gone")));
        assert_eq!(st, MESHROUTE_STATUS_ABSENT);
        assert_eq!(last_error(), "f: gone");
    }

    #[test]
    fn every_status_has_its_name() {
        for (code, status) in [
            (0, MESHROUTE_STATUS_OK),
            (1, MESHROUTE_STATUS_NULL_ARGUMENT),
            (2, MESHROUTE_STATUS_INVALID_UTF8),
            (3, MESHROUTE_STATUS_INVALID_HANDLE),
            (4, MESHROUTE_STATUS_INVALID_ARGUMENT),
            (5, MESHROUTE_STATUS_INVALID_REQUEST),
            (6, MESHROUTE_STATUS_OUT_OF_RANGE),
            (7, MESHROUTE_STATUS_ABSENT),
            (8, MESHROUTE_STATUS_PANIC),
        ] {
            assert_eq!(status as u32, code);
            let name = meshroute_status_name(code);
            // SAFETY: static string from meshroute_status_name.
            let bytes = unsafe { std::slice::from_raw_parts(name.ptr.cast::<u8>(), name.len) };
            assert_eq!(bytes, format!("{status:?}").as_bytes());
        }
        assert_eq!(
            meshroute_status_name(9).len,
            "MESHROUTE_STATUS_UNKNOWN".len()
        );
    }
}
