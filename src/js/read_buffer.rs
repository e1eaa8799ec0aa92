//! The one JavaScript Buffer per thread that messages read on that thread
//! are copied into before JavaScript decodes them.
//!
//! A fresh Buffer per read is memory V8 sees only as "external": under a
//! flood it piles up until V8's external-memory limit forces a collection
//! (docs/design.md, "One reusable Buffer", has the figures). Reusing one
//! Buffer costs nothing to collect; JavaScript
//! copies out the few values that would alias it (bin and ext payloads).

use std::cell::RefCell;
use std::ptr;

use napi::sys;

/// Bytes of messages per batch that fit the shared buffer; a message
/// bigger than this is delivered alone in a Buffer of its own.
pub const CAPACITY: usize = 64 * 1024;

struct Shared {
    env: sys::napi_env,
    buffer: sys::napi_ref,
    data: *mut u8,
}

thread_local! {
    // Never released: it lives as long as the thread's environment, and
    // N-API frees the reference with the environment.
    static SHARED: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// Copies `bytes` (at most [`CAPACITY`]) into this thread's buffer and
/// returns the buffer; `None` if N-API fails.
///
/// # Safety
/// On the JavaScript thread of `env`, inside a handle scope.
pub unsafe fn fill(env: sys::napi_env, bytes: &[u8]) -> Option<sys::napi_value> {
    if bytes.len() > CAPACITY {
        return None;
    }
    SHARED.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.env != env) {
            *slot = Some(create(env)?);
        }
        let shared = slot.as_ref()?;
        let mut buffer = ptr::null_mut();
        if sys::napi_get_reference_value(env, shared.buffer, &mut buffer) != sys::Status::napi_ok
            || buffer.is_null()
        {
            return None;
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), shared.data, bytes.len());
        Some(buffer)
    })
}

unsafe fn create(env: sys::napi_env) -> Option<Shared> {
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    if sys::napi_create_buffer(env, CAPACITY, &mut data, &mut buffer) != sys::Status::napi_ok {
        return None;
    }
    let mut reference = ptr::null_mut();
    if sys::napi_create_reference(env, buffer, 1, &mut reference) != sys::Status::napi_ok {
        return None;
    }
    Some(Shared {
        env,
        buffer: reference,
        data: data.cast(),
    })
}
