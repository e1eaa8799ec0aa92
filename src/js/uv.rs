//! The libuv functions this binding calls: Node's own, exported to every
//! addon. Handles are allocated here as word-aligned boxes of
//! `uv_handle_size` bytes whose first word (`data`) the owner sets.

use std::ffi::{c_int, c_void};
use std::ptr;

use napi::sys;

use super::callback::check;

pub const UV_ASYNC: c_int = 1;
pub const UV_IDLE: c_int = 6;
pub const UV_POLL: c_int = 8;
pub const UV_TIMER: c_int = 13;
pub const UV_READABLE: c_int = 1;

pub type CloseCallback = extern "C" fn(*mut c_void);
pub type PollCallback = extern "C" fn(*mut c_void, c_int, c_int);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    pub fn uv_async_init(
        event_loop: *mut c_void,
        handle: *mut c_void,
        cb: extern "C" fn(*mut c_void),
    ) -> c_int;
    pub fn uv_async_send(handle: *mut c_void) -> c_int;
    pub fn uv_poll_init(event_loop: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    pub fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCallback) -> c_int;
    pub fn uv_poll_stop(handle: *mut c_void) -> c_int;
    pub fn uv_timer_init(event_loop: *mut c_void, handle: *mut c_void) -> c_int;
    pub fn uv_timer_start(
        handle: *mut c_void,
        cb: extern "C" fn(*mut c_void),
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    pub fn uv_timer_stop(handle: *mut c_void) -> c_int;
    pub fn uv_idle_init(event_loop: *mut c_void, handle: *mut c_void) -> c_int;
    pub fn uv_idle_start(handle: *mut c_void, cb: extern "C" fn(*mut c_void)) -> c_int;
    pub fn uv_idle_stop(handle: *mut c_void) -> c_int;
    pub fn uv_close(handle: *mut c_void, cb: CloseCallback);
    pub fn uv_ref(handle: *mut c_void);
    pub fn uv_unref(handle: *mut c_void);
}

/// The size of a handle of `kind`, in words.
pub fn handle_words(kind: c_int) -> usize {
    // SAFETY: a pure function of libuv's.
    unsafe { uv_handle_size(kind) }.div_ceil(8)
}

/// Zeroed room for a handle of `kind`, in words for alignment.
pub fn handle_memory(kind: c_int) -> Box<[u64]> {
    vec![0; handle_words(kind)].into_boxed_slice()
}

/// Frees handle memory from [`handle_memory`], given back by
/// `Box::into_raw` (in the handle's close callback, or when it was never
/// initialised).
///
/// # Safety
/// `handle` came from `Box::into_raw(handle_memory(kind))`, and libuv is
/// done with it.
pub unsafe fn free_handle(handle: *mut c_void, kind: c_int) {
    let words = handle_words(kind);
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(handle.cast::<u64>(), words)) });
}

/// The event loop of `env`'s thread.
///
/// # Errors
/// When N-API refuses.
pub fn event_loop(env: sys::napi_env) -> napi::Result<*mut c_void> {
    let mut event_loop = ptr::null_mut();
    // SAFETY: a plain N-API call; `env` is the caller's live environment.
    check(unsafe { sys::napi_get_uv_event_loop(env, &mut event_loop) })?;
    Ok(event_loop.cast())
}

/// Sets a handle's `data` (its first word: `uv_handle_t` starts with `void* data`).
///
/// # Safety
/// `handle` points at handle memory from [`handle_memory`].
pub unsafe fn set_data<T>(handle: *mut c_void, data: *mut T) {
    // SAFETY: the caller's contract.
    unsafe { *handle.cast::<*mut T>() = data };
}

/// A handle's `data`.
///
/// # Safety
/// `handle` is a live handle whose data was set with [`set_data`] to a `T`.
pub unsafe fn data<T>(handle: *mut c_void) -> *mut T {
    // SAFETY: the caller's contract.
    unsafe { *handle.cast::<*mut T>() }
}
