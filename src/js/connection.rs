//! `NativeConnection`: one connection as JavaScript sees it.
//!
//! Created by `connect()` (client) or handed out by a server; either way its
//! events go to one callback through one threadsafe function, which keeps
//! the event loop alive like an open `net.Socket` until the connection
//! closes or `setRef(false)` is called.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{Env, FnArgs, Function, JsValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::budget::PartialBudget;
use crate::connection::{Connection, Event, EventSink, Options};
use crate::error::Error;
use crate::runtime;
use crate::transport::{self, Endpoints, Socket};

use super::events::{self, EndpointInfo, ErrorInfo, Payload};
use super::options::{ConnectionOptions, Target};
use super::teardown;
use super::uv_reader::UvReader;

/// The JavaScript-thread reader of a connection, once started.
type ReaderSlot = Rc<RefCell<Option<UvReader>>>;

type EventFn =
    ThreadsafeFunction<Event, Unknown<'static>, FnArgs<(u32, Payload)>, napi::Status, false>;

/// Forwards core events to the JavaScript callback. Drops the threadsafe
/// function after `Close`, so a closed connection never holds the process.
struct JsSink {
    tsfn: Mutex<Option<EventFn>>,
    endpoints: Mutex<Endpoints>,
}

impl EventSink for JsSink {
    fn emit(&self, event: Event) {
        let close = matches!(event, Event::Close);
        if let Event::Connect(endpoints) = &event {
            *self.endpoints.lock() = endpoints.clone();
        }
        let mut tsfn = self.tsfn.lock();
        if let Some(f) = tsfn.as_ref() {
            f.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
        if close {
            tsfn.take();
        }
    }
}

impl JsSink {
    fn new(
        on_event: Function<'_, FnArgs<(u32, Payload)>, Unknown<'static>>,
        conn: Arc<Connection>,
        reader: ReaderSlot,
    ) -> napi::Result<Arc<Self>> {
        let callback = on_event.create_ref()?;
        let tsfn: EventFn = on_event
            .build_threadsafe_function::<Event>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                Ok(FnArgs::from(match ctx.value {
                    Event::Connect(endpoints) => {
                        // A client just connected: read its socket from here on.
                        if let Some(socket) = conn.socket() {
                            let f = callback.borrow_back(&ctx.env)?;
                            let started = UvReader::start(&ctx.env, f.raw(), conn.clone(), socket)?;
                            *reader.borrow_mut() = Some(started);
                        }
                        (
                            events::CONNECT,
                            Payload::Endpoints(EndpointInfo::from(&endpoints)),
                        )
                    }
                    Event::Drain => {
                        if let Some(r) = reader.borrow().as_ref() {
                            r.resume();
                        }
                        (events::DRAIN, Payload::Nothing)
                    }
                    Event::End => (events::END, Payload::Nothing),
                    Event::Error(e) => (events::ERROR, Payload::Error(ErrorInfo::from(&e))),
                    Event::Close => (events::CLOSE, Payload::Nothing),
                }))
            })?;
        Ok(Arc::new(JsSink {
            tsfn: Mutex::new(Some(tsfn)),
            endpoints: Mutex::new(Endpoints::default()),
        }))
    }
}

/// A MessagePack-RPC connection driven by the Rust runtime.
#[napi]
pub struct NativeConnection {
    conn: Arc<Connection>,
    sink: Option<Arc<JsSink>>,
    /// An accepted socket waiting for `start()`.
    accepted: Option<Socket>,
    endpoints: Endpoints,
    reader: ReaderSlot,
    /// Registration in this thread's teardown list (see `teardown`).
    cleanup: Option<u64>,
}

impl NativeConnection {
    /// Wraps a socket a server accepted; it starts reading on `start()`.
    pub(super) fn accepted(socket: Socket, options: Options, budget: &Arc<PartialBudget>) -> Self {
        let conn = Arc::new(Connection::new(options));
        conn.join_budget(budget);
        NativeConnection {
            conn,
            sink: None,
            endpoints: socket.endpoints(),
            accepted: Some(socket),
            reader: ReaderSlot::default(),
            cleanup: None,
        }
    }

    /// Runs `f` on the connection's TCP socket; false when there is none
    /// (not connected, closed, or a unix socket) or the option failed.
    fn with_tcp_socket(
        &self,
        f: impl FnOnce(&socket2::SockRef<'_>) -> std::io::Result<()>,
    ) -> bool {
        use std::os::fd::{AsRawFd, BorrowedFd};
        let Some(socket) = self.conn.socket() else {
            return false;
        };
        if self.endpoints().remote_port.is_none() {
            return false;
        }
        // SAFETY: `socket` owns the descriptor and outlives the borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        f(&socket2::SockRef::from(&fd)).is_ok()
    }

    /// Destroys the connection if the environment (a worker thread) goes
    /// away, closing its libuv handle while the loop still exists.
    fn register_cleanup(&mut self, env: &Env) -> napi::Result<()> {
        // Weak: the registration must not keep a closed connection alive.
        let conn = Arc::downgrade(&self.conn);
        let reader = Rc::downgrade(&self.reader);
        let id = teardown::register(
            env,
            Box::new(move || {
                if let Some(conn) = conn.upgrade() {
                    conn.destroy();
                }
                if let Some(slot) = reader.upgrade() {
                    if let Some(r) = slot.borrow_mut().take() {
                        r.close_at_teardown();
                    }
                }
            }),
        )?;
        self.cleanup = Some(id);
        Ok(())
    }
}

#[napi]
impl NativeConnection {
    /// Connects to `target`; events go to `on_event(kind, payload)`. Writes
    /// made while connecting are queued.
    #[napi(factory)]
    pub fn connect(
        env: Env,
        target: Target,
        options: Option<ConnectionOptions>,
        on_event: Function<'_, FnArgs<(u32, Payload)>, Unknown<'static>>,
    ) -> napi::Result<Self> {
        let options = Options::from(&options.unwrap_or_default());
        let addr = target.to_addr("localhost")?;
        let conn = Arc::new(Connection::new(options));
        let reader = ReaderSlot::default();
        let sink = JsSink::new(on_event, conn.clone(), reader.clone())?;
        let mut native = NativeConnection {
            conn: conn.clone(),
            sink: Some(sink.clone()),
            accepted: None,
            endpoints: Endpoints::default(),
            reader,
            cleanup: None,
        };
        native.register_cleanup(&env)?;
        let task = {
            let (conn, sink) = (conn.clone(), sink.clone());
            async move {
                let connected = tokio::select! {
                    connected = transport::connect(&addr) => connected,
                    // destroy() while connecting.
                    _ = conn.destroyed() => Err(Error::Closed),
                };
                match connected {
                    Ok(socket) => {
                        let endpoints = socket.endpoints();
                        let socket = match socket.into_write_only() {
                            Ok(socket) => socket,
                            Err(e) => return conn.fail(&*sink, e),
                        };
                        conn.set_socket(socket.clone());
                        sink.emit(Event::Connect(endpoints));
                        conn.run(socket, sink).await;
                    }
                    Err(e) => conn.fail(&*sink, e),
                }
            }
        };
        conn.spawn_supervised(runtime::handle(), sink, task);
        Ok(native)
    }

    /// Starts an accepted connection; events go to `on_event(kind, payload)`.
    #[napi]
    pub fn start(
        &mut self,
        env: Env,
        on_event: Function<'_, FnArgs<(u32, Payload)>, Unknown<'static>>,
    ) -> napi::Result<()> {
        let Some(socket) = self.accepted.take() else {
            return Err(napi::Error::new(
                napi::Status::GenericFailure,
                "connection already started",
            ));
        };
        let callback = on_event.raw();
        let sink = JsSink::new(on_event, self.conn.clone(), self.reader.clone())?;
        *sink.endpoints.lock() = self.endpoints.clone();
        self.sink = Some(sink.clone());
        self.register_cleanup(&env)?;
        let socket = socket
            .into_write_only()
            .map_err(|e| events::to_js_error(&env, &e))?;
        self.conn.set_socket(socket.clone());
        let started = UvReader::start(&env, callback, self.conn.clone(), socket.clone())?;
        *self.reader.borrow_mut() = Some(started);
        let conn = self.conn.clone();
        let task = {
            let sink = sink.clone();
            async move { conn.run(socket, sink).await }
        };
        self.conn.spawn_supervised(runtime::handle(), sink, task);
        Ok(())
    }

    /// Writes encoded messages: from this thread when the writer is idle
    /// and the socket takes them, else through the writer task. Returns the
    /// bytes now waiting to be written (0: the socket took everything; past
    /// the high-water mark a drain event follows), `-1` when closed or ending.
    #[napi]
    pub fn write(&self, data: &[u8]) -> f64 {
        match self.conn.write(data, true) {
            // Exact: queues cannot approach 2^53 bytes.
            Ok(pending) => pending as f64,
            Err(_) => -1.0,
        }
    }

    /// Resumes delivery after the MESSAGES callback returned `true`:
    /// delivers the complete messages buffered meanwhile (calling that
    /// callback now, which may pause again), then reads the socket again.
    #[napi]
    pub fn resume_reading(&self) {
        // Copied out so that no borrow is held while JavaScript runs (it
        // may dispose of this connection).
        let reader = self.reader.borrow().as_ref().map(UvReader::raw);
        if let Some(reader) = reader {
            // SAFETY: taken from the live reader just now, on the JS thread.
            unsafe { reader.resume_reading() };
        }
    }

    /// Bytes waiting to be written.
    #[napi]
    pub fn pending_bytes(&self) -> u32 {
        u32::try_from(self.conn.pending_bytes()).unwrap_or(u32::MAX)
    }

    /// Bytes of an incomplete message buffered after the last read (0 when
    /// every byte read so far was a complete message).
    #[napi]
    pub fn partial_bytes(&self) -> u32 {
        u32::try_from(self.conn.partial_bytes()).unwrap_or(u32::MAX)
    }

    /// Flushes what is queued, then closes.
    #[napi]
    pub fn end(&self) {
        self.conn.end();
    }

    /// Closes at once.
    #[napi]
    pub fn destroy(&self) {
        self.conn.destroy();
    }

    /// Whether this connection keeps the event loop alive.
    #[napi]
    #[allow(deprecated)]
    pub fn set_ref(&self, env: Env, referenced: bool) -> napi::Result<()> {
        if let Some(r) = self.reader.borrow().as_ref() {
            r.set_ref(referenced);
        }
        if let Some(sink) = &self.sink {
            if let Some(tsfn) = sink.tsfn.lock().as_mut() {
                if referenced {
                    tsfn.refer(&env)?;
                } else {
                    tsfn.unref(&env)?;
                }
            }
        }
        Ok(())
    }

    /// TCP keepalive on (probes after `delay_ms` of silence; 0 keeps the
    /// system's delay) or off. Returns whether it was set: false before the
    /// socket exists and on unix sockets, as `net.Socket` ignores it there.
    #[napi]
    pub fn set_keep_alive(&self, enable: bool, delay_ms: u32) -> bool {
        self.with_tcp_socket(|socket| {
            socket.set_keepalive(enable)?;
            if enable && delay_ms > 0 {
                let idle = std::time::Duration::from_millis(u64::from(delay_ms));
                // The kernel counts in whole seconds, at least one.
                let idle = idle.max(std::time::Duration::from_secs(1));
                socket.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle))?;
            }
            Ok(())
        })
    }

    /// Nagle's algorithm off (`true`) or on. Returns whether it was set.
    #[napi]
    pub fn set_no_delay(&self, no_delay: bool) -> bool {
        self.with_tcp_socket(|socket| socket.set_tcp_nodelay(no_delay))
    }

    /// Addresses of both ends (known once connected).
    #[napi]
    pub fn endpoints(&self) -> EndpointInfo {
        match &self.sink {
            Some(sink) => EndpointInfo::from(&*sink.endpoints.lock()),
            None => EndpointInfo::from(&self.endpoints),
        }
    }

    /// Releases what outlives the connection (the worker cleanup hook);
    /// called once the connection has closed.
    #[napi]
    pub fn dispose(&mut self) -> napi::Result<()> {
        self.conn.destroy();
        // A connection refused before it started (maxConnections).
        self.accepted.take();
        if let Some(r) = self.reader.borrow_mut().take() {
            r.close();
        }
        if let Some(id) = self.cleanup.take() {
            teardown::unregister(id);
        }
        Ok(())
    }
}
