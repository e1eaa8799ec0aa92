//! Reads a connection's socket on the JavaScript thread.
//!
//! A read done by a Tokio thread must wake the JavaScript thread to deliver
//! what it read: one thread wake-up per message round trip (docs/design.md,
//! "Reads", has the measurement). Polling the socket from Node's own event
//! loop, through this thread's [`poller`](super::poller), removes that hop:
//! the poller reports the socket readable, this module reads it
//! ([`crate::reader`]), frames it with the core deframer and calls
//! JavaScript directly. Writes, limits, backpressure and the connection's
//! end stay with the core `Connection`.
//!
//! JavaScript, called from a delivery, may resume delivery or dispose of the
//! connection: the reader is shared (`Rc`) and changed only through cells,
//! and whoever runs it holds a reference until it returns.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use napi::{sys, Env};

use crate::connection::{Connection, ReadOutcome};
use crate::deframer::Deframer;
use crate::guard::catch_panic;
use crate::reader::{self, Filled, READ_CHUNK};
use crate::transport::{self, SharedSocket};

use super::callback::JsCallback;
use super::poller::{Readiness, Registration, Watcher};
use super::{events, read_buffer};

/// A read buffer grown past this (by a large message) is freed, not kept
/// as the spare, once it empties.
const SPARE_MAX: usize = 4 * READ_CHUNK;

thread_local! {
    // The read buffer of the last reader to empty its own, for the next
    // reader to fill: a connection holds a read buffer only while it has
    // bytes in it, so idle connections hold none, and a busy thread does
    // not allocate one per read.
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// A read buffer: the thread's spare, or a new one.
fn take_buffer() -> BytesMut {
    SPARE
        .take()
        .unwrap_or_else(|| BytesMut::with_capacity(READ_CHUNK))
}

/// Keeps an emptied read buffer as the thread's spare (if there is none and
/// it is not oversized); otherwise frees it.
fn give_back(mut buf: BytesMut) {
    buf.clear();
    if buf.capacity() > 0 && buf.capacity() <= SPARE_MAX {
        // Reclaims the room consumed messages left at the front.
        buf.reserve(READ_CHUNK);
        let spare = SPARE.take();
        SPARE.set(Some(spare.unwrap_or(buf)));
    }
}

/// State of one reader, shared by its connection and the poller.
struct Reader {
    registration: Registration,
    callback: Rc<JsCallback>,
    conn: Arc<Connection>,
    socket: SharedSocket,
    deframer: RefCell<Deframer>,
    /// Bytes read and not yet delivered; no allocation while empty (see
    /// [`SPARE`]).
    buf: RefCell<BytesMut>,
    /// Reads are wanted: false while the connection's outbox is over its
    /// limit (its drain resumes reading).
    reading: Cell<bool>,
    /// The socket may hold bytes, its end or an error: set when the poller
    /// reports it ready, cleared by a read that empties it (readiness is
    /// reported once per change, so it must be remembered across pauses).
    readable: Cell<bool>,
    /// The peer's end or an error was reported: reads go on until they find
    /// it, even after a read that seemed to empty the socket.
    ended: Cell<bool>,
    /// Waiting for the poller's next idle phase to read on.
    scheduled: Cell<bool>,
    /// JavaScript asked to stop delivery (over its reply budget); complete
    /// messages wait in `buf` until `resume_reading`.
    js_paused: Cell<bool>,
    /// The peer's end was read while JavaScript had delivery paused: the
    /// end is reported once what is buffered has been delivered.
    eof_seen: Cell<bool>,
    /// Inside `deliver` (JavaScript may call `resume_reading` from the
    /// callback; that must not start a second delivery over the same buffer).
    delivering: Cell<bool>,
    /// JavaScript lifted its pause while a delivery call was still running:
    /// from the nextTick and microtask queues Node drains as the call ends,
    /// after the callback returned "pause". The pause is over then.
    resumed_in_call: Cell<bool>,
    finished: Cell<bool>,
    /// A TCP connect to this address is under way: the socket turns
    /// writable when it is done.
    connecting: Cell<Option<SocketAddr>>,
}

/// The JavaScript-thread handle to a reader (not Send: JS thread only).
pub struct UvReader {
    reader: Rc<Reader>,
}

impl UvReader {
    /// Starts reading `socket` on the callback's event loop; complete
    /// messages go to `callback(MESSAGES, buffer)`. With `connecting`, the
    /// socket's connect to that address is still under way: the reader
    /// waits for it, reports it to the connection (connected or failed),
    /// then reads.
    ///
    /// # Errors
    /// When the socket cannot be polled.
    pub fn start(
        callback: Rc<JsCallback>,
        conn: Arc<Connection>,
        socket: SharedSocket,
        connecting: Option<SocketAddr>,
    ) -> napi::Result<UvReader> {
        let env = Env::from_raw(callback.env());
        let fd = socket.as_raw_fd();
        let reader = Registration::add(&env, fd, connecting.is_some(), |registration| {
            Rc::new(Reader {
                registration,
                callback,
                deframer: RefCell::new(Deframer::new(conn.options().limits)),
                conn,
                socket,
                buf: RefCell::new(BytesMut::new()),
                reading: Cell::new(true),
                readable: Cell::new(false),
                ended: Cell::new(false),
                scheduled: Cell::new(false),
                js_paused: Cell::new(false),
                eof_seen: Cell::new(false),
                delivering: Cell::new(false),
                resumed_in_call: Cell::new(false),
                finished: Cell::new(false),
                connecting: Cell::new(connecting),
            })
        })?;
        Ok(UvReader { reader })
    }

    /// Starts reading again after a pause for backpressure (on drain),
    /// unless JavaScript paused delivery itself.
    pub fn resume(&self) {
        self.reader.resume();
    }

    /// The reader, for `resume_reading` (which may run JavaScript that
    /// closes this handle, so callers must not hold a borrow of it).
    pub fn shared(&self) -> SharedReader {
        SharedReader(self.reader.clone())
    }

    /// The socket it reads (open until the reader is closed, after the
    /// connection's close has been reported).
    pub fn socket(&self) -> SharedSocket {
        self.reader.socket.clone()
    }

    /// Stops reading; the reader is freed once nothing runs it.
    pub fn close(self) {
        self.reader.finished.set(true);
        self.reader.registration.remove();
    }
}

/// A reader as `NativeConnection::resumeReading` reaches it.
pub struct SharedReader(Rc<Reader>);

impl SharedReader {
    /// Delivers the complete messages buffered while JavaScript had paused
    /// delivery (calling JavaScript, which may pause again or close the
    /// connection), then reads the socket again.
    pub fn resume_reading(&self) {
        guarded(&self.0, Reader::resume_reading);
    }
}

impl Watcher for Reader {
    fn ready(&self, readiness: Readiness) {
        guarded(self, |reader| reader.on_ready(readiness));
    }
}

/// Runs `f` on `reader`; a panic finishes the connection with
/// [`Error::Internal`] instead of unwinding into libuv (which aborts).
fn guarded(reader: &Reader, f: impl FnOnce(&Reader)) {
    if let Err(e) = catch_panic(|| f(reader)) {
        let finished = catch_panic(|| {
            // The reader may have panicked half-way through `finish`.
            reader.finished.set(false);
            reader.finish(ReadOutcome::Failed(e));
        });
        if finished.is_err() {
            reader.conn.destroy();
        }
    }
}

impl Reader {
    fn on_ready(&self, readiness: Readiness) {
        if readiness.readable {
            self.readable.set(true);
        }
        if readiness.ended {
            self.ended.set(true);
        }
        if let Some(target) = self.connecting.get() {
            if !readiness.writable {
                return;
            }
            self.connecting.set(None);
            self.connect_done(target);
        }
        self.scheduled.set(false);
        self.read_if_wanted();
    }

    fn read_if_wanted(&self) {
        let wanted = self.reading.get()
            && self.has_input()
            && !self.js_paused.get()
            && !self.finished.get()
            && self.connecting.get().is_none();
        if wanted {
            self.read_available();
        }
    }

    /// Whether a read may find something (bytes, the end, an error).
    fn has_input(&self) -> bool {
        self.readable.get() || self.ended.get()
    }

    /// Reads on at the poller's next idle phase (bytes may be left).
    fn read_soon(&self) {
        if self.has_input() && !self.scheduled.replace(true) {
            self.registration.run_soon();
        }
    }

    fn resume(&self) {
        if self.finished.get() || self.js_paused.get() {
            return;
        }
        self.reading.set(true);
        self.read_soon();
    }

    /// The connect is done (the socket turned writable, or reported an
    /// error): report it, then read.
    fn connect_done(&self, target: SocketAddr) {
        match transport::finish_connect(&self.socket, target) {
            Ok(()) => {
                // JavaScript hears of it through the event hub.
                self.conn.connected(self.socket.clone());
            }
            Err(e) => {
                // Reported as the connection's error, not a read's.
                self.finished.set(true);
                self.conn.fail(e);
            }
        }
    }

    /// JavaScript lifted its pause: deliver what is buffered, then read on
    /// (unless paused again, or the outbox is over its limit: then the
    /// drain resumes reading).
    fn resume_reading(&self) {
        self.js_paused.set(false);
        if self.delivering.get() {
            // `deliver` goes on once the call returns.
            self.resumed_in_call.set(true);
            return;
        }
        if self.finished.get() {
            return;
        }
        self.deliver();
        self.conn.holding_partial(self.buf.borrow().len());
        self.release_if_empty();
        if self.js_paused.get() || self.finished.get() {
            return;
        }
        if self.eof_seen.get() {
            return self.finish_at_eof();
        }
        if !self.conn.should_pause_reading() {
            self.resume();
        }
    }

    /// The peer ended its side; what it sent has all been delivered.
    fn finish_at_eof(&self) {
        let held = self.buf.borrow().len();
        self.finish(reader::at_end(held));
    }

    fn finish(&self, outcome: ReadOutcome) {
        if !self.finished.replace(true) {
            // Nothing more will be framed: release the buffer and its share
            // of the server's budget.
            give_back(std::mem::take(&mut *self.buf.borrow_mut()));
            self.conn.holding_partial(0);
            self.conn.read_finished(outcome);
        }
    }

    fn read_available(&self) {
        if self.conn.is_destroyed() {
            return self.finish(ReadOutcome::Stopped);
        }
        let filled = {
            let mut buf = self.buf.borrow_mut();
            if buf.capacity() == 0 {
                *buf = take_buffer();
            }
            reader::fill(&self.socket, &mut buf)
        };
        match filled {
            Filled::Empty => self.readable.set(false),
            Filled::More => {}
            Filled::Eof => {
                self.readable.set(false);
                self.deliver();
                if self.js_paused.get() && !self.finished.get() {
                    // Report the end after what JavaScript has yet to take.
                    self.eof_seen.set(true);
                    return;
                }
                return self.finish_at_eof();
            }
            Filled::Failed(e) => {
                self.deliver();
                return self.finish(ReadOutcome::Failed(e));
            }
        }
        self.deliver();
        self.conn.holding_partial(self.buf.borrow().len());
        self.release_if_empty();
        if self.finished.get() || self.js_paused.get() {
            // Resumed by `resume_reading`.
            return;
        }
        if self.conn.should_pause_reading() {
            // Resumed on drain (see the connection's event callback).
            self.reading.set(false);
            return;
        }
        self.read_soon();
    }

    /// An empty buffer goes back to the thread (an idle connection holds
    /// none); one holding part of a message, or messages JavaScript paused
    /// delivery of, stays.
    fn release_if_empty(&self) {
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() && buf.capacity() > 0 {
            give_back(std::mem::take(&mut *buf));
        }
    }

    /// Hands every complete message buffered to JavaScript, one call per
    /// batch of up to [`read_buffer::CAPACITY`] bytes.
    fn deliver(&self) {
        if self.finished.get() || self.js_paused.get() {
            return;
        }
        let callback = &*self.callback;
        let conn = &self.conn;
        let js_paused = &self.js_paused;
        let resumed_in_call = &self.resumed_in_call;
        self.delivering.set(true);
        // Held across JavaScript calls: every path JavaScript can reach
        // (`resume_reading`, `close`) leaves them alone while `delivering`.
        let drained = conn.drain_messages(
            &mut self.deframer.borrow_mut(),
            &mut self.buf.borrow_mut(),
            read_buffer::CAPACITY,
            |batch| {
                // JavaScript may have closed the connection during the last batch.
                if conn.is_destroyed() {
                    return false;
                }
                resumed_in_call.set(false);
                // A resume during the call may also have come before the
                // callback re-paused; delivering one batch too many is safe
                // (JavaScript holds what arrives while it is paused, and
                // pauses again).
                let paused = call_js(callback, batch) && !resumed_in_call.get();
                js_paused.set(paused);
                !paused
            },
        );
        self.delivering.set(false);
        if let Err(e) = drained {
            self.finish(ReadOutcome::Failed(e));
        }
    }
}

/// Calls `callback(MESSAGES, buffer, length)`: a batch that fits is copied
/// into the thread's reusable buffer (`length` says how much of it is the
/// batch); a bigger one gets a Buffer of its own (`length` undefined).
/// Returns whether the callback returned `true`: "pause delivery".
fn call_js(callback: &JsCallback, messages: &[u8]) -> bool {
    let env = callback.env();
    let mut pause = false;
    // SAFETY: N-API calls on the JS thread inside a handle scope.
    unsafe {
        let mut scope = ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return false;
        }
        let mut kind = ptr::null_mut();
        let mut length = ptr::null_mut();
        let ready =
            sys::napi_create_uint32(env, events::MESSAGES, &mut kind) == sys::Status::napi_ok;
        let buffer = if !ready {
            None
        } else if messages.len() <= read_buffer::CAPACITY {
            let length_ok = u32::try_from(messages.len()).is_ok_and(|n| {
                sys::napi_create_uint32(env, n, &mut length) == sys::Status::napi_ok
            });
            read_buffer::fill(env, messages).filter(|_| length_ok)
        } else {
            let mut data = ptr::null_mut();
            let mut buffer = ptr::null_mut();
            let copied = sys::napi_create_buffer_copy(
                env,
                messages.len(),
                messages.as_ptr().cast(),
                &mut data,
                &mut buffer,
            ) == sys::Status::napi_ok
                && sys::napi_get_undefined(env, &mut length) == sys::Status::napi_ok;
            copied.then_some(buffer)
        };
        if let Some(buffer) = buffer {
            if let Some(result) = callback.call(&[kind, buffer, length]) {
                // Anything but a boolean leaves `pause` false.
                sys::napi_get_value_bool(env, result, &mut pause);
            }
        }
        sys::napi_close_handle_scope(env, scope);
    }
    pause
}
