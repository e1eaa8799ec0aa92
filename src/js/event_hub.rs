//! One channel per JavaScript thread for the events its connections raise
//! on runtime threads (connected, drained, ended, failed, closed).
//!
//! A threadsafe function per connection cost a `uv_async_t`, a queue, a
//! mutex and an async resource each, created and destroyed with the
//! connection, and libuv walks every async handle of the loop on each
//! wake-up (docs/design.md, "Per-connection memory"). Here one `uv_async_t`
//! per thread carries `(connection key, event)` pairs to the connection's
//! own [`Recipient`].
//!
//! The hub also keeps the event loop alive while a referenced connection
//! is attached, as an open `net.Socket` does, and tears its connections down
//! when the environment (a worker thread) ends.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::ThreadId;

use napi::{sys, Env};
use parking_lot::Mutex;

use crate::connection::{Event, EventSink};
use crate::guard::catch_panic;

use super::teardown;
use super::uv::{
    self, uv_async_init, uv_async_send, uv_close, uv_idle_init, uv_idle_start, uv_idle_stop,
    uv_ref, uv_unref, UV_ASYNC, UV_IDLE,
};

/// What the hub delivers a connection's events to, on its thread.
pub trait Recipient {
    /// Hands `event` to JavaScript (inside a handle scope).
    fn deliver(&self, event: Event);
    /// The environment is ending: close without calling JavaScript.
    fn tear_down(&self);
}

/// Where runtime threads post a connection's events.
#[derive(Clone)]
pub struct Address {
    mailbox: Arc<Mailbox>,
    key: u64,
}

impl EventSink for Address {
    fn emit(&self, event: Event) {
        self.mailbox.post(self.key, event);
    }
}

struct Mailbox {
    inbox: Mutex<Inbox>,
}

struct Inbox {
    events: Vec<(u64, Event)>,
    /// The thread's `uv_async_t`; null once its environment is gone.
    wake: *mut c_void,
    /// The thread's `uv_idle_t`, for events posted on the thread itself.
    idle: *mut c_void,
    /// The JavaScript thread the hub belongs to.
    owner: ThreadId,
}

// SAFETY: `wake` is only handed to `uv_async_send`, which libuv allows from
// any thread, and `idle` only used on the owner thread, both only while the
// lock is held and `wake` is not null; the JS thread nulls it under the
// lock before closing the handles.
unsafe impl Send for Inbox {}

impl Mailbox {
    fn post(&self, key: u64, event: Event) {
        let mut inbox = self.inbox.lock();
        if inbox.wake.is_null() {
            return;
        }
        // A delivery is scheduled while events wait: one per batch.
        let schedule = inbox.events.is_empty();
        inbox.events.push((key, event));
        if !schedule {
            return;
        }
        // SAFETY: see `Inbox`.
        unsafe {
            if std::thread::current().id() == inbox.owner {
                // Posted on the JavaScript thread itself (a close or a
                // connect done there): delivered at the loop's next idle
                // phase, with no eventfd to write and read. The idle
                // handle also keeps the next poll from blocking.
                uv_idle_start(inbox.idle, on_idle);
            } else {
                uv_async_send(inbox.wake);
            }
        }
    }
}

struct Entry {
    recipient: Rc<dyn Recipient>,
    referenced: bool,
}

struct Hub {
    env: sys::napi_env,
    /// The `uv_async_t` (`uv_handle_size` bytes, in words for alignment);
    /// freed by libuv's close callback.
    handle: *mut c_void,
    /// The `uv_idle_t`, likewise.
    idle: *mut c_void,
    mailbox: Arc<Mailbox>,
    entries: RefCell<HashMap<u64, Entry>>,
    next_key: Cell<u64>,
    /// Attached connections that keep the loop alive.
    referenced: Cell<usize>,
}

thread_local! {
    static HUB: RefCell<Option<Rc<Hub>>> = const { RefCell::new(None) };
}

/// Attaches `recipient` to this thread's hub (made on first use); its
/// events go to the returned address. It keeps the loop alive until
/// [`detach`] or `set_ref(key, false)`.
///
/// # Errors
/// When libuv or N-API refuse to set the hub up.
pub fn attach(env: &Env, recipient: Rc<dyn Recipient>) -> napi::Result<Address> {
    let hub = hub(env)?;
    let key = hub.next_key.get();
    hub.next_key.set(key + 1);
    hub.entries.borrow_mut().insert(
        key,
        Entry {
            recipient,
            referenced: false,
        },
    );
    hub.set_ref(key, true);
    Ok(Address {
        mailbox: hub.mailbox.clone(),
        key,
    })
}

/// Whether the connection attached as `key` keeps the event loop alive.
pub fn set_ref(address: &Address, referenced: bool) {
    with_hub(|hub| hub.set_ref(address.key, referenced));
}

/// Forgets the connection (it closed and was disposed of, or was
/// collected); events still queued for it are dropped.
pub fn detach(address: &Address) {
    with_hub(|hub| {
        hub.set_ref(address.key, false);
        hub.entries.borrow_mut().remove(&address.key);
    });
}

fn with_hub(f: impl FnOnce(&Hub)) {
    if let Some(hub) = HUB.with(|slot| slot.borrow().clone()) {
        f(&hub);
    }
}

fn hub(env: &Env) -> napi::Result<Rc<Hub>> {
    if let Some(hub) = HUB.with(|slot| slot.borrow().clone()) {
        return Ok(hub);
    }
    let raw_env = env.raw();
    // SAFETY: libuv calls on the JS thread that owns the env's loop.
    let handle = unsafe {
        let event_loop = uv::event_loop(raw_env)?;
        let handle = Box::into_raw(uv::handle_memory(UV_ASYNC)).cast::<c_void>();
        if uv_async_init(event_loop, handle, on_wake) != 0 {
            on_closed(handle);
            return Err(napi::Error::from_reason(
                "libuv cannot make an async handle",
            ));
        }
        // Referenced only while a connection is (see `set_ref`).
        uv_unref(handle);
        handle
    };
    // SAFETY: as above; an idle handle's init cannot fail. Unreferenced: the
    // async handle keeps the loop alive while a connection needs it.
    let idle = unsafe {
        let idle = Box::into_raw(uv::handle_memory(UV_IDLE)).cast::<c_void>();
        uv_idle_init(uv::event_loop(raw_env)?, idle);
        uv_unref(idle);
        idle
    };
    let hub = Rc::new(Hub {
        env: raw_env,
        handle,
        idle,
        mailbox: Arc::new(Mailbox {
            inbox: Mutex::new(Inbox {
                events: Vec::new(),
                wake: handle,
                idle,
                owner: std::thread::current().id(),
            }),
        }),
        entries: RefCell::default(),
        next_key: Cell::new(0),
        referenced: Cell::new(0),
    });
    HUB.with(|slot| *slot.borrow_mut() = Some(hub.clone()));
    teardown::register(env, Box::new(tear_down))?;
    Ok(hub)
}

impl Hub {
    fn set_ref(&self, key: u64, referenced: bool) {
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.get_mut(&key) else {
            return;
        };
        if entry.referenced == referenced {
            return;
        }
        entry.referenced = referenced;
        let before = self.referenced.get();
        let after = if referenced { before + 1 } else { before - 1 };
        self.referenced.set(after);
        // SAFETY: the handle is open while the hub is installed.
        unsafe {
            match (before, after) {
                (0, _) => uv_ref(self.handle),
                (_, 0) => uv_unref(self.handle),
                _ => {}
            }
        }
    }

    /// Delivers what was posted since the last delivery.
    fn dispatch(&self) {
        let events = {
            let mut inbox = self.mailbox.inbox.lock();
            // SAFETY: on the owner thread, the handle open while the hub is.
            unsafe { uv_idle_stop(self.idle) };
            std::mem::take(&mut inbox.events)
        };
        for (key, event) in events {
            // Cloned out: JavaScript may attach or detach connections.
            let recipient = match self.entries.borrow().get(&key) {
                Some(entry) => entry.recipient.clone(),
                None => continue,
            };
            if matches!(event, Event::Close) {
                // The last event: the connection no longer holds the loop.
                // It stays attached (its reader's handle is torn down with
                // the environment) until it is disposed of.
                self.set_ref(key, false);
            }
            // SAFETY: on the JS thread, in a scope closed right after.
            unsafe {
                let mut scope = ptr::null_mut();
                if sys::napi_open_handle_scope(self.env, &mut scope) != sys::Status::napi_ok {
                    continue;
                }
                // A panic is the connection's alone; the others are served.
                let _ = catch_panic(|| recipient.deliver(event));
                sys::napi_close_handle_scope(self.env, scope);
            }
        }
    }
}

extern "C" fn on_wake(_handle: *mut c_void) {
    // A panic must not unwind into libuv.
    let _ = catch_panic(|| with_hub(Hub::dispatch));
}

extern "C" fn on_idle(_handle: *mut c_void) {
    // A panic must not unwind into libuv.
    let _ = catch_panic(|| with_hub(Hub::dispatch));
}

extern "C" fn on_idle_closed(handle: *mut c_void) {
    // SAFETY: allocated in `hub`; libuv has closed it.
    unsafe { uv::free_handle(handle, UV_IDLE) };
}

extern "C" fn on_closed(handle: *mut c_void) {
    // SAFETY: allocated in `hub`; libuv has closed it (or never initialised it).
    unsafe { uv::free_handle(handle, UV_ASYNC) };
}

/// The environment ends: close every connection and the handle.
fn tear_down() {
    let Some(hub) = HUB.with(|slot| slot.borrow_mut().take()) else {
        return;
    };
    {
        let mut inbox = hub.mailbox.inbox.lock();
        inbox.wake = ptr::null_mut();
        inbox.events.clear();
    }
    let entries = std::mem::take(&mut *hub.entries.borrow_mut());
    for entry in entries.into_values() {
        let _ = catch_panic(|| entry.recipient.tear_down());
    }
    // SAFETY: nothing posts to them any more (`wake` is null).
    unsafe {
        uv_close(hub.handle, on_closed);
        uv_close(hub.idle, on_idle_closed);
    }
}
