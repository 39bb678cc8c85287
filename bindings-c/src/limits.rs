//! `meshroute_limits`: the input limits a mesh is loaded, checked and
//! decided within, raised (or lowered) on purpose by name, as `meshroute
//! --limit NAME=VALUE` raises them (README "Limits").

use crate::ffi::{
    guard, meshroute_status, meshroute_status::*, out_required, str_in, write_out, Failure,
};
use crate::handle::{self, Kind, Tagged};
use meshroute_core::limits::Limits;
use std::os::raw::c_char;

/// A set of limits, the defaults until set. Opaque; create with
/// `meshroute_limits_new`, release with `meshroute_limits_free`; pass to
/// `meshroute_mesh_new_with_limits`, which copies it.
pub struct meshroute_limits {
    _private: [u8; 0],
}

impl Kind for Limits {
    const MAGIC: u64 = u64::from_be_bytes(*b"mr-limt1");
    const NAME: &'static str = "limits";
}

/// Borrows the limits behind a handle.
///
/// # Safety
/// As `handle::borrow`.
pub(crate) unsafe fn limits_ref<'a>(
    limits: *const meshroute_limits,
) -> Result<&'a Limits, Failure> {
    // SAFETY: forwarded contract.
    unsafe { handle::borrow::<Limits, Limits>(limits.cast::<Tagged<Limits>>()) }
}

/// New limits, every one at its default (the constants of
/// `meshroute::limits`). Free with `meshroute_limits_free`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn meshroute_limits_new(out: *mut *mut meshroute_limits) -> meshroute_status {
    guard("meshroute_limits_new", || {
        let handle = handle::into_handle::<Limits, _>(Limits::default());
        // SAFETY: caller contract.
        let written = unsafe { write_out("out", out, handle.cast::<meshroute_limits>()) };
        if written.is_err() {
            // SAFETY: just made, never shared.
            let _ = unsafe { handle::free::<Limits, Limits>(handle) };
        }
        written
    })
}

/// Sets the limit `name` (lower case, as `max_input_bytes`) from `value` as
/// text: a whole number (`1_000_000`), or for a byte limit a size (`64MiB`,
/// `1GiB`, `500KB`). `MESHROUTE_STATUS_INVALID_ARGUMENT` for an unknown name
/// (the last error suggests the closest), a fixed limit or a bad value; the
/// limit then keeps its value. Not thread-safe for one handle.
///
/// # Safety
/// `limits` a live limits handle (or NULL); the strings readable for their
/// lengths (or NULL with length 0).
#[no_mangle]
pub unsafe extern "C" fn meshroute_limits_set(
    limits: *mut meshroute_limits,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> meshroute_status {
    guard("meshroute_limits_set", || {
        // SAFETY: caller contract.
        let limits =
            unsafe { handle::borrow_mut::<Limits, Limits>(limits.cast::<Tagged<Limits>>()) }?;
        // SAFETY: caller contract for both strings.
        let name = unsafe { str_in("name", name, name_len) }?;
        let value = unsafe { str_in("value", value, value_len) }?;
        limits
            .set(name, value)
            .map_err(|e| Failure::new(MESHROUTE_STATUS_INVALID_ARGUMENT, e.to_string()))
    })
}

/// The value of the limit `name` (fixed ones included).
/// `MESHROUTE_STATUS_INVALID_ARGUMENT` for an unknown name. Thread-safe.
///
/// # Safety
/// `limits` a live limits handle (or NULL); `name` readable for `name_len`
/// bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn meshroute_limits_get(
    limits: *const meshroute_limits,
    name: *const c_char,
    name_len: usize,
    out: *mut u64,
) -> meshroute_status {
    guard("meshroute_limits_get", || {
        // SAFETY: caller contract.
        let limits = unsafe { limits_ref(limits) }?;
        let name = unsafe { str_in("name", name, name_len) }?;
        out_required("out", out)?;
        let value = limits.get(name).ok_or_else(|| {
            Failure::new(
                MESHROUTE_STATUS_INVALID_ARGUMENT,
                format!("unknown limit {name:?}"),
            )
        })?;
        // SAFETY: caller contract.
        unsafe { write_out("out", out, value) }
    })
}

/// Frees limits. NULL is a no-op; a handle already freed is refused with
/// `MESHROUTE_STATUS_INVALID_HANDLE`. Meshes made with them keep their copy.
///
/// # Safety
/// `limits` must be NULL or a pointer from `meshroute_limits_new`.
#[no_mangle]
pub unsafe extern "C" fn meshroute_limits_free(limits: *mut meshroute_limits) -> meshroute_status {
    guard("meshroute_limits_free", || {
        // SAFETY: forwarded contract; the registry refuses non-live pointers.
        unsafe { handle::free::<Limits, Limits>(limits.cast::<Tagged<Limits>>()) }
    })
}
