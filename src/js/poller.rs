//! One readiness poller per JavaScript thread for its connections' sockets.
//!
//! A libuv poll handle per connection costs an `ioctl` and six `epoll_ctl`
//! calls over the connection's life: libuv checks each descriptor with an
//! add and a remove when the handle is made, adds it on start, removes it
//! on stop and again on close (docs/design.md, "Per-connection memory").
//! Here each socket is added once to this thread's own poller (epoll or
//! kqueue, through mio) and removed once; one libuv poll handle watches the
//! poller's descriptor, which is readable while any socket in it is ready.
//!
//! Registrations are edge-triggered: a watcher is told when its socket
//! becomes ready and must remember it until it has read the socket empty.
//! A watcher that stops before that (its read budget spent) asks to be run
//! again with [`Registration::run_soon`]: at the loop's next idle phase, so
//! that one busy socket cannot starve the others.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use napi::Env;

use crate::guard::catch_panic;

use super::teardown;
use super::uv::{
    self, uv_close, uv_idle_init, uv_idle_start, uv_idle_stop, uv_poll_init, uv_poll_start,
    uv_unref, UV_IDLE, UV_POLL, UV_READABLE,
};

/// Events taken from the poller per libuv wake-up; more stay ready in it
/// (its descriptor stays readable) for the next.
const EVENTS_PER_WAKE: usize = 256;

/// What a socket became ready for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Readiness {
    /// Bytes wait to be read.
    pub readable: bool,
    /// The peer ended its side, or the socket failed: reading finds which.
    /// Unlike bytes, this is reported once and stays true.
    pub ended: bool,
    /// A connect under way has ended (connected or failed).
    pub writable: bool,
}

/// A socket's owner on this thread.
pub trait Watcher {
    /// The socket became ready for `readiness`; or, with nothing set, the
    /// watcher asked to run again ([`Registration::run_soon`]).
    fn ready(&self, readiness: Readiness);
}

struct Poller {
    /// Borrowed mutably only while it is asked for events.
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    /// The uv_poll_t watching `poll`'s descriptor (`uv_handle_size` bytes,
    /// in words for alignment); freed by libuv's close callback.
    handle: *mut c_void,
    /// The uv_idle_t that runs the watchers waiting in `again`.
    idle: *mut c_void,
    /// Tokens are never reused: an event still queued for a socket that
    /// was removed during the same wake-up reaches no one.
    next_token: Cell<usize>,
    watchers: RefCell<HashMap<usize, Rc<dyn Watcher>>>,
    again: RefCell<Vec<usize>>,
    /// The environment ended and the handles are closed (registrations
    /// may outlive them until their connections are torn down too).
    closed: Cell<bool>,
}

thread_local! {
    static POLLER: RefCell<Option<Rc<Poller>>> = const { RefCell::new(None) };
}

/// A socket added to this thread's poller; [`Registration::remove`] takes it
/// out (before the socket is closed).
pub struct Registration {
    poller: Rc<Poller>,
    token: usize,
    fd: RawFd,
}

impl Registration {
    /// Adds `fd` (readable, and writable too when `connecting`) to this
    /// thread's poller; its readiness goes to `make`'s watcher, which is
    /// given the registration.
    ///
    /// # Errors
    /// When the poller cannot be made or refuses the descriptor.
    pub fn add<W: Watcher + 'static>(
        env: &Env,
        fd: RawFd,
        connecting: bool,
        make: impl FnOnce(Registration) -> Rc<W>,
    ) -> napi::Result<Rc<W>> {
        let poller = poller(env)?;
        let token = poller.next_token.get();
        poller.next_token.set(token + 1);
        let interest = if connecting {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let watcher = make(Registration {
            poller: poller.clone(),
            token,
            fd,
        });
        poller
            .watchers
            .borrow_mut()
            .insert(token, watcher.clone() as Rc<dyn Watcher>);
        if let Err(e) =
            poller
                .poll
                .borrow()
                .registry()
                .register(&mut SourceFd(&fd), Token(token), interest)
        {
            poller.watchers.borrow_mut().remove(&token);
            return Err(napi::Error::from_reason(format!(
                "cannot poll the socket: {e}"
            )));
        }
        Ok(watcher)
    }

    /// Runs the watcher again at the loop's next idle phase (it stopped
    /// with bytes still to read).
    pub fn run_soon(&self) {
        if self.poller.closed.get() {
            return;
        }
        let mut again = self.poller.again.borrow_mut();
        if again.is_empty() {
            // SAFETY: the handle is open while the poller is installed, and
            // an idle handle stays valid memory until its close callback.
            unsafe { uv_idle_start(self.poller.idle, on_idle) };
        }
        again.push(self.token);
    }

    /// Takes the socket out of the poller; its watcher is dropped by the
    /// poller and hears nothing more.
    pub fn remove(&self) {
        let removed = self.poller.watchers.borrow_mut().remove(&self.token);
        if removed.is_some() {
            // A failure leaves nothing to undo: the descriptor is closed next.
            let _ = self
                .poller
                .poll
                .borrow()
                .registry()
                .deregister(&mut SourceFd(&self.fd));
        }
        // Dropped after the map's borrow ends: the watcher may own more.
        drop(removed);
    }
}

fn poller(env: &Env) -> napi::Result<Rc<Poller>> {
    if let Some(poller) = POLLER.with(|slot| slot.borrow().clone()) {
        return Ok(poller);
    }
    let poll = Poll::new().map_err(|e| napi::Error::from_reason(format!("cannot poll: {e}")))?;
    let event_loop = uv::event_loop(env.raw())?;
    let handle = Box::into_raw(uv::handle_memory(UV_POLL)).cast::<c_void>();
    // SAFETY: libuv calls on the JS thread that owns the loop. Both handles
    // are unreferenced: a connection keeps the loop alive through the event
    // hub, as long as it needs to.
    let idle = unsafe {
        if uv_poll_init(event_loop, handle, poll.as_raw_fd()) != 0 {
            uv::free_handle(handle, UV_POLL);
            return Err(napi::Error::from_reason("libuv cannot poll the poller"));
        }
        uv_poll_start(handle, UV_READABLE, on_readable);
        uv_unref(handle);
        let idle = Box::into_raw(uv::handle_memory(UV_IDLE)).cast::<c_void>();
        uv_idle_init(event_loop, idle);
        uv_unref(idle);
        idle
    };
    let poller = Rc::new(Poller {
        poll: RefCell::new(poll),
        events: RefCell::new(Events::with_capacity(EVENTS_PER_WAKE)),
        handle,
        idle,
        next_token: Cell::new(0),
        watchers: RefCell::default(),
        again: RefCell::default(),
        closed: Cell::new(false),
    });
    POLLER.with(|slot| *slot.borrow_mut() = Some(poller.clone()));
    teardown::register(env, Box::new(tear_down))?;
    Ok(poller)
}

impl Poller {
    fn watcher(&self, token: usize) -> Option<Rc<dyn Watcher>> {
        // Cloned out: the watcher may add or remove sockets.
        self.watchers.borrow().get(&token).cloned()
    }

    /// Hands each ready socket's readiness to its watcher.
    fn dispatch(&self) {
        let mut events =
            std::mem::replace(&mut *self.events.borrow_mut(), Events::with_capacity(0));
        let polled = self
            .poll
            .borrow_mut()
            .poll(&mut events, Some(Duration::ZERO));
        if polled.is_ok() {
            for event in events.iter() {
                let Some(watcher) = self.watcher(event.token().0) else {
                    continue;
                };
                let readiness = Readiness {
                    readable: event.is_readable(),
                    ended: event.is_read_closed() || event.is_error(),
                    writable: event.is_writable() || event.is_write_closed() || event.is_error(),
                };
                // A panic is the watcher's alone; the others are served.
                let _ = catch_panic(|| watcher.ready(readiness));
            }
        }
        *self.events.borrow_mut() = events;
    }

    /// Runs the watchers that asked to run again.
    fn run_again(&self) {
        let tokens = std::mem::take(&mut *self.again.borrow_mut());
        // SAFETY: on the owner thread, the handle open while the poller is.
        unsafe { uv_idle_stop(self.idle) };
        for token in tokens {
            if let Some(watcher) = self.watcher(token) {
                let _ = catch_panic(|| watcher.ready(Readiness::default()));
            }
        }
    }
}

fn with_poller(f: impl FnOnce(&Poller)) {
    if let Some(poller) = POLLER.with(|slot| slot.borrow().clone()) {
        f(&poller);
    }
}

extern "C" fn on_readable(_handle: *mut c_void, _status: c_int, _events: c_int) {
    // A panic must not unwind into libuv.
    let _ = catch_panic(|| with_poller(Poller::dispatch));
}

extern "C" fn on_idle(_handle: *mut c_void) {
    // A panic must not unwind into libuv.
    let _ = catch_panic(|| with_poller(Poller::run_again));
}

extern "C" fn on_poll_closed(handle: *mut c_void) {
    // SAFETY: allocated in `poller`; libuv has closed it.
    unsafe { uv::free_handle(handle, UV_POLL) };
}

extern "C" fn on_idle_closed(handle: *mut c_void) {
    // SAFETY: allocated in `poller`; libuv has closed it.
    unsafe { uv::free_handle(handle, UV_IDLE) };
}

/// The environment ends: stop watching the poller. Its descriptor closes
/// when the last registration holding it is dropped.
fn tear_down() {
    let Some(poller) = POLLER.with(|slot| slot.borrow_mut().take()) else {
        return;
    };
    poller.closed.set(true);
    poller.again.borrow_mut().clear();
    // SAFETY: the handles are open until here; nothing starts them again
    // (the poller is no longer installed).
    unsafe {
        uv_close(poller.handle, on_poll_closed);
        uv_close(poller.idle, on_idle_closed);
    }
    // The watchers still registered are closed by their connections'
    // teardown; dropping them here would free readers those still reach.
}
