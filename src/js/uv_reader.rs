//! Reads a connection's socket on the JavaScript thread, through libuv.
//!
//! A read done by a Tokio thread must wake the JavaScript thread to deliver
//! what it read: one thread wake-up per message round trip (docs/design.md,
//! "Reads", has the measurement). Polling the socket from Node's own event loop
//! removes that hop: libuv reports the descriptor readable, this module reads
//! it ([`crate::reader`]), frames it with the core deframer and calls
//! JavaScript directly. Writes, limits, backpressure and the connection's end
//! stay with the core `Connection`.
//!
//! The libuv functions are Node's own (every Node addon may call them).

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;
use napi::sys;

use crate::connection::{Connection, ReadOutcome};
use crate::deframer::Deframer;
use crate::error::Error;
use crate::guard::catch_panic;
use crate::reader::{self, Filled, READ_CHUNK};
use crate::transport::{self, SharedSocket};

use super::callback::JsCallback;
use super::uv::{
    self, uv_close, uv_poll_init, uv_poll_start, uv_poll_stop, uv_ref, uv_unref, UV_POLL,
    UV_READABLE, UV_WRITABLE,
};
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

/// State of one reader; owned by its libuv handle, freed when the handle closes.
struct Reader {
    /// The uv_poll_t (`uv_handle_size` bytes, in words for alignment); its
    /// first word (`data`) points back at this Reader.
    handle: Box<[u64]>,
    callback: Rc<JsCallback>,
    conn: Arc<Connection>,
    socket: SharedSocket,
    deframer: Deframer,
    /// Bytes read and not yet delivered; no allocation while empty (see
    /// [`SPARE`]).
    buf: BytesMut,
    polling: bool,
    /// JavaScript asked to stop delivery (over its reply budget); complete
    /// messages wait in `buf` until `resume_reading`.
    js_paused: bool,
    /// The peer's end was read while JavaScript had delivery paused: the
    /// end is reported once what is buffered has been delivered.
    eof_seen: bool,
    /// Inside `deliver` (JavaScript may call `resume_reading` from the
    /// callback; that must not start a second delivery over the same buffer).
    delivering: bool,
    finished: bool,
    /// A TCP connect to this address is under way: the socket is polled
    /// for writability until it is done (no second handle for the wait).
    connecting: Option<SocketAddr>,
}

/// The JavaScript-thread handle to a reader (not Send: JS thread only).
pub struct UvReader {
    reader: *mut Reader,
}

impl UvReader {
    /// Starts polling `socket` on the callback's event loop; complete
    /// messages go to `callback(MESSAGES, buffer)`. With `connecting`, the
    /// socket's connect to that address is still under way: the reader
    /// waits for it, reports it to the connection (connected or failed),
    /// then reads.
    ///
    /// # Errors
    /// When libuv refuses the descriptor or N-API calls fail.
    pub fn start(
        callback: Rc<JsCallback>,
        conn: Arc<Connection>,
        socket: SharedSocket,
        connecting: Option<SocketAddr>,
    ) -> napi::Result<UvReader> {
        let raw_env = callback.env();
        // SAFETY: plain N-API and libuv calls on the JS thread that owns `env`.
        unsafe {
            let event_loop = uv::event_loop(raw_env)?;
            let reader = Box::into_raw(Box::new(Reader {
                handle: uv::handle_memory(UV_POLL),
                callback,
                deframer: Deframer::new(conn.options().limits),
                conn,
                socket,
                buf: BytesMut::new(),
                polling: false,
                js_paused: false,
                eof_seen: false,
                delivering: false,
                finished: false,
                connecting,
            }));
            let handle = (*reader).handle.as_mut_ptr().cast::<c_void>();
            if uv_poll_init(event_loop, handle, (*reader).socket.as_raw_fd()) != 0 {
                drop(Box::from_raw(reader));
                return Err(napi::Error::from_reason("libuv cannot poll the socket"));
            }
            uv::set_data(handle, reader);
            (*reader).resume();
            Ok(UvReader { reader })
        }
    }

    /// Starts reading again after a pause for backpressure (on drain),
    /// unless JavaScript paused delivery itself.
    pub fn resume(&self) {
        // SAFETY: the reader lives until `close`, which consumes self.
        unsafe { (*self.reader).resume() }
    }

    /// The raw reader, for [`resume_reading`] (which may run JavaScript
    /// that closes this handle, so callers must not hold a borrow of it).
    pub fn raw(&self) -> RawReader {
        RawReader(self.reader)
    }

    /// The socket it reads (open until the reader is closed, after the
    /// connection's close has been reported).
    pub fn socket(&self) -> SharedSocket {
        // SAFETY: as in `resume`.
        unsafe { (*self.reader).socket.clone() }
    }

    /// Whether this reader keeps the event loop alive.
    pub fn set_ref(&self, referenced: bool) {
        // SAFETY: as in `resume`.
        unsafe {
            let handle = (*self.reader).handle.as_mut_ptr().cast();
            if referenced {
                uv_ref(handle)
            } else {
                uv_unref(handle)
            }
        }
    }

    /// Stops polling and frees the reader once libuv has closed the handle.
    pub fn close(self) {
        // SAFETY: as in `resume`; after uv_close only `on_close` touches it.
        unsafe {
            let reader = &mut *self.reader;
            reader.finished = true;
            if reader.polling {
                uv_poll_stop(reader.handle.as_mut_ptr().cast());
            }
            uv_close(reader.handle.as_mut_ptr().cast(), on_close);
        }
    }
}

/// A reader as `NativeConnection::resumeReading` reaches it.
#[derive(Clone, Copy)]
pub struct RawReader(*mut Reader);

impl RawReader {
    /// Delivers the complete messages buffered while JavaScript had paused
    /// delivery (calling JavaScript, which may pause again or close the
    /// connection), then polls the socket again.
    ///
    /// # Safety
    /// The reader must not have been closed: call it on the JS thread with
    /// a pointer taken from a live [`UvReader`] in the same call.
    pub unsafe fn resume_reading(self) {
        // SAFETY: the caller guarantees the reader is live; after a close
        // during the JavaScript call it stays allocated until `on_close`,
        // which libuv runs on a later loop iteration.
        let reader = unsafe { &mut *self.0 };
        guarded(reader, Reader::resume_reading);
    }
}

extern "C" fn on_close(handle: *mut c_void) {
    // A panic must not unwind into libuv; nothing is left to report to.
    let _ = catch_panic(|| {
        // SAFETY: `data` was set to the Box-allocated reader in `start`.
        drop(unsafe { Box::from_raw(uv::data::<Reader>(handle)) });
    });
}

extern "C" fn on_readable(handle: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: libuv calls this on the JS thread while the handle is open.
    let reader = unsafe { &mut *uv::data::<Reader>(handle) };
    guarded(reader, |reader| {
        if let Some(target) = reader.connecting.take() {
            return reader.connect_done(target, status);
        }
        if status < 0 {
            return reader.on_poll_error(status);
        }
        reader.read_available();
    });
}

/// Runs `f` on `reader`; a panic finishes the connection with
/// [`Error::Internal`] instead of unwinding into libuv (which aborts).
fn guarded(reader: &mut Reader, f: impl FnOnce(&mut Reader)) {
    if let Err(e) = catch_panic(|| f(reader)) {
        let finished = catch_panic(|| {
            // The reader may have panicked half-way through `finish`.
            reader.finished = false;
            reader.finish(ReadOutcome::Failed(e));
        });
        if finished.is_err() {
            reader.conn.destroy();
        }
    }
}

impl Reader {
    fn resume(&mut self) {
        if self.finished || self.polling || self.js_paused {
            return;
        }
        let events = if self.connecting.is_some() {
            UV_WRITABLE
        } else {
            UV_READABLE
        };
        // SAFETY: the handle was initialised by uv_poll_init.
        if unsafe { uv_poll_start(self.handle.as_mut_ptr().cast(), events, on_readable) } == 0 {
            self.polling = true;
        }
    }

    /// The connect is done (the socket turned writable, or libuv reported
    /// `POLLERR` as `status`): report it, then read (the same poll, now for
    /// readability).
    fn connect_done(&mut self, target: SocketAddr, status: c_int) {
        // libuv reports POLLERR (a refused connect) as UV_EBADF: the
        // socket's pending error says what happened.
        let outcome = match transport::finish_connect(&self.socket, target) {
            Ok(_) if status < 0 => Err(transport::connect_error(
                target,
                std::io::Error::from_raw_os_error(-status),
            )),
            outcome => outcome,
        };
        self.pause();
        match outcome {
            Ok(endpoints) => {
                // JavaScript hears of it through the event hub.
                self.conn.connected(self.socket.clone(), endpoints);
                self.resume();
            }
            Err(e) => {
                // Reported as the connection's error, not a read's.
                self.finished = true;
                self.conn.fail(e);
            }
        }
    }

    fn pause(&mut self) {
        if self.polling {
            // SAFETY: as in `resume`.
            unsafe { uv_poll_stop(self.handle.as_mut_ptr().cast()) };
            self.polling = false;
        }
    }

    /// JavaScript lifted its pause: deliver what is buffered, then read on
    /// (unless paused again, or the outbox is over its limit: then the
    /// drain resumes reading).
    fn resume_reading(&mut self) {
        self.js_paused = false;
        if self.finished || self.delivering {
            return;
        }
        self.deliver();
        self.conn.holding_partial(self.buf.len());
        self.release_if_empty();
        if self.js_paused || self.finished {
            return;
        }
        if self.eof_seen {
            return self.finish_at_eof();
        }
        if !self.conn.should_pause_reading() {
            self.resume();
        }
    }

    /// libuv reports `POLLERR` as `UV_EBADF` and stops the handle: the
    /// socket has a pending error (a reset by the peer, typically), not a
    /// bad descriptor. Reading reports the real one (or the end, or what
    /// is still buffered); `SO_ERROR` is the fallback.
    fn on_poll_error(&mut self, status: c_int) {
        self.polling = false;
        self.read_available();
        if self.finished {
            return;
        }
        // SAFETY: `self.socket` keeps the descriptor open while we poll it.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.socket.as_raw_fd()) };
        let source = socket2::SockRef::from(&fd)
            .take_error()
            .ok()
            .flatten()
            .unwrap_or_else(|| std::io::Error::from_raw_os_error(-status));
        self.finish(ReadOutcome::Failed(Error::Sys {
            syscall: "read",
            source,
        }));
    }

    /// The peer ended its side; what it sent has all been delivered.
    fn finish_at_eof(&mut self) {
        self.finish(reader::at_end(self.buf.len()));
    }

    fn finish(&mut self, outcome: ReadOutcome) {
        self.pause();
        if !self.finished {
            self.finished = true;
            // Nothing more will be framed: release the buffer and its share
            // of the server's budget.
            give_back(std::mem::take(&mut self.buf));
            self.conn.holding_partial(0);
            self.conn.read_finished(outcome);
        }
    }

    fn read_available(&mut self) {
        if self.conn.is_destroyed() {
            return self.finish(ReadOutcome::Stopped);
        }
        if self.js_paused {
            return self.pause();
        }
        if self.buf.capacity() == 0 {
            self.buf = take_buffer();
        }
        match reader::fill(&self.socket, &mut self.buf) {
            Filled::Pending => {}
            Filled::Eof => {
                self.deliver();
                if self.js_paused && !self.finished {
                    // Report the end after what JavaScript has yet to take.
                    self.eof_seen = true;
                    return self.pause();
                }
                return self.finish_at_eof();
            }
            Filled::Failed(e) => {
                self.deliver();
                return self.finish(ReadOutcome::Failed(e));
            }
        }
        self.deliver();
        self.conn.holding_partial(self.buf.len());
        self.release_if_empty();
        if self.js_paused {
            // Resumed by `resume_reading`.
            self.pause();
        } else if self.conn.should_pause_reading() {
            // Resumed on drain (see the connection's event callback).
            self.pause();
        }
    }

    /// An empty buffer goes back to the thread (an idle connection holds
    /// none); one holding part of a message, or messages JavaScript paused
    /// delivery of, stays.
    fn release_if_empty(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            give_back(std::mem::take(&mut self.buf));
        }
    }

    /// Hands every complete message buffered to JavaScript, one call per
    /// batch of up to [`read_buffer::CAPACITY`] bytes.
    fn deliver(&mut self) {
        if self.finished || self.js_paused {
            return;
        }
        let callback = &*self.callback;
        let conn = &self.conn;
        let js_paused = &mut self.js_paused;
        self.delivering = true;
        let drained = conn.drain_messages(
            &mut self.deframer,
            &mut self.buf,
            read_buffer::CAPACITY,
            |batch| {
                // JavaScript may have closed the connection during the last batch.
                if conn.is_destroyed() {
                    return false;
                }
                *js_paused = call_js(callback, batch);
                !*js_paused
            },
        );
        self.delivering = false;
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
