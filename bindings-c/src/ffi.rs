//! Status codes, borrowed strings, the last-error message and the panic
//! barrier every entry point goes through.

use crate::plain::ascii_or_empty;
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
