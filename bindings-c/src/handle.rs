//! Opaque handles: a Rust value behind a tagged box, and the registry of
//! live handles that lets `*_free` detect a double free without reading
//! freed memory.

use crate::ffi::{meshroute_status::*, Failure};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The box behind every handle pointer. `repr(C)` puts `magic` first, so a
/// handle of one type passed where another is expected is recognised.
#[repr(C)]
pub(crate) struct Tagged<T> {
    magic: u64,
    pub value: T,
}

/// A handle type: its tag and its name in messages.
pub(crate) trait Kind {
    const MAGIC: u64;
    const NAME: &'static str;
}

/// Addresses of live handles and their tags. Freed handles leave it, so a
/// second free is refused; an address reused by a later handle is live
/// again, which is why only "where detectable" double frees are caught.
static LIVE: Mutex<BTreeMap<usize, u64>> = Mutex::new(BTreeMap::new());

fn live() -> std::sync::MutexGuard<'static, BTreeMap<usize, u64>> {
    // A poisoned lock only means a panic elsewhere; the map itself is consistent.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Boxes `value` as a new handle of kind `K`; the pointer is cast to the
/// public opaque type by the caller.
pub(crate) fn into_handle<K: Kind, T>(value: T) -> *mut Tagged<T> {
    let raw = Box::into_raw(Box::new(Tagged {
        magic: K::MAGIC,
        value,
    }));
    live().insert(raw as usize, K::MAGIC);
    raw
}

/// Borrows the value behind a handle, checking NULL and the tag.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by meshroute and not yet freed.
pub(crate) unsafe fn borrow<'a, K: Kind, T>(ptr: *const Tagged<T>) -> Result<&'a T, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(K::NAME));
    }
    // SAFETY: every handle starts with the u64 tag (repr(C)); the caller guarantees it is live.
    let magic = unsafe { ptr.cast::<u64>().read() };
    if magic != K::MAGIC {
        return Err(not_live(K::NAME));
    }
    // SAFETY: tag checked; the caller guarantees the handle is live.
    Ok(unsafe { &(*ptr).value })
}

/// The error for a pointer that is not a live handle of kind `name`.
#[cold]
#[inline(never)]
fn not_live(name: &str) -> Failure {
    Failure::new(
        MESHROUTE_STATUS_INVALID_HANDLE,
        format!("{name} is not a live {name}"),
    )
}

/// Borrows the value behind a handle mutably, checking NULL and the tag.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by meshroute and not yet freed,
/// used by no other thread during the call.
pub(crate) unsafe fn borrow_mut<'a, K: Kind, T>(ptr: *mut Tagged<T>) -> Result<&'a mut T, Failure> {
    // SAFETY: forwarded contract (checks NULL and the tag).
    unsafe { borrow::<K, T>(ptr) }?;
    // SAFETY: tag checked; the caller guarantees the handle is live and unshared.
    Ok(unsafe { &mut (*ptr).value })
}

/// Frees a handle. NULL is a no-op (as `free(3)`); a pointer that is not a
/// live handle of kind `K` is refused without being touched.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by meshroute (possibly freed already).
pub(crate) unsafe fn free<K: Kind, T>(ptr: *mut Tagged<T>) -> Result<(), Failure> {
    if ptr.is_null() {
        return Ok(());
    }
    {
        let mut live = live();
        match live.get(&(ptr as usize)) {
            Some(&magic) if magic == K::MAGIC => {
                live.remove(&(ptr as usize));
                if live.is_empty() {
                    // Release the map's node so an idle library holds no heap memory.
                    *live = BTreeMap::new();
                }
            }
            Some(_) => {
                return Err(Failure::new(
                    MESHROUTE_STATUS_INVALID_HANDLE,
                    format!(
                        "pointer is a live handle of another type, not a {}",
                        K::NAME
                    ),
                ))
            }
            None => {
                return Err(Failure::new(
                    MESHROUTE_STATUS_INVALID_HANDLE,
                    format!("pointer is not a live {} (already freed?)", K::NAME),
                ))
            }
        }
    }
    // SAFETY: the registry says this pointer came from `into_handle::<K, T>` and is live;
    // it has just been removed, so no other free can reach it.
    let boxed = unsafe { Box::from_raw(ptr) };
    drop(boxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A;
    impl Kind for A {
        const MAGIC: u64 = 1;
        const NAME: &'static str = "a";
    }
    struct B;
    impl Kind for B {
        const MAGIC: u64 = 2;
        const NAME: &'static str = "b";
    }

    #[test]
    fn double_free_is_refused() {
        let h = into_handle::<A, _>(String::from("x"));
        // SAFETY: `h` is live for the first free; the second is refused by the registry.
        assert!(unsafe { free::<A, String>(h) }.is_ok());
        let err = unsafe { free::<A, String>(h) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_INVALID_HANDLE);
    }

    #[test]
    fn a_handle_of_another_kind_is_refused() {
        let h = into_handle::<A, _>(7u32);
        // SAFETY: `h` is live; B's functions must refuse it without freeing it.
        let err = unsafe { borrow::<B, u32>(h) }.unwrap_err();
        assert_eq!(err.status, MESHROUTE_STATUS_INVALID_HANDLE);
        assert!(unsafe { free::<B, u32>(h) }.is_err());
        assert_eq!(unsafe { borrow::<A, u32>(h) }.ok().copied(), Some(7));
        assert!(unsafe { free::<A, u32>(h) }.is_ok());
    }

    #[test]
    fn null_is_refused_by_borrow_and_ignored_by_free() {
        let null: *mut Tagged<u8> = std::ptr::null_mut();
        // SAFETY: NULL is never dereferenced.
        assert_eq!(
            unsafe { borrow::<A, u8>(null) }.unwrap_err().status,
            MESHROUTE_STATUS_NULL_ARGUMENT
        );
        assert!(unsafe { free::<A, u8>(null) }.is_ok());
    }
}
