//! `NativeConnection`: one connection as JavaScript sees it.
//!
//! Created by `connect()` (client) or handed out by a server; either way its
//! events go to one callback: messages from the reader, everything else
//! through this thread's event hub. Like an open `net.Socket` it keeps the
//! event loop alive until it closes or `setRef(false)` is called.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{Env, FnArgs, Function, JsValue, Unknown};
use napi_derive::napi;

use crate::budget::PartialBudget;
use crate::connection::{Connection, Event, Options};
use crate::error::Error;
use crate::transport::{self, Addr, SharedSocket, Started};

use super::callback::JsCallback;
use super::event_hub::{self, Address, Recipient};
use super::events::{self, EndpointInfo, ErrorInfo, Payload};
use super::options::{ConnectionOptions, Target};
use super::uv_reader::UvReader;

/// What the async context of a connection's callbacks is called.
const RESOURCE_NAME: &[u8] = b"msgpack-rpc:connection";

type EventCallback<'a> = Function<'a, FnArgs<(u32, Payload)>, Unknown<'static>>;

/// The JavaScript-thread side of a started connection: its callback and
/// its reader once the socket is there.
struct Attached {
    conn: Arc<Connection>,
    callback: Rc<JsCallback>,
    reader: RefCell<Option<UvReader>>,
}

impl Attached {
    /// Reads the connection's socket from here on (a client that
    /// connected from this thread reads already).
    fn start_reading(&self) -> napi::Result<()> {
        if self.reader.borrow().is_some() {
            return Ok(());
        }
        match self.conn.socket() {
            Some(socket) => self.start_reader(socket, None),
            None => Ok(()),
        }
    }

    fn start_reader(
        &self,
        socket: SharedSocket,
        connecting: Option<SocketAddr>,
    ) -> napi::Result<()> {
        let reader = UvReader::start(self.callback.clone(), self.conn.clone(), socket, connecting)?;
        *self.reader.borrow_mut() = Some(reader);
        Ok(())
    }

    fn close_reader(&self) {
        // Taken out first: closing may drop what the reader owns.
        let reader = self.reader.borrow_mut().take();
        if let Some(reader) = reader {
            reader.close();
        }
    }
}

impl Recipient for Attached {
    fn deliver(&self, event: Event) {
        let (kind, payload) = match event {
            Event::Connect => {
                // A client just connected: read its socket from here on.
                if let Err(e) = self.start_reading() {
                    self.conn.fail(Error::Internal(e.reason));
                }
                // JavaScript asks for the addresses when it needs them.
                (events::CONNECT, Payload::Nothing)
            }
            Event::Drain => {
                if let Some(r) = self.reader.borrow().as_ref() {
                    r.resume();
                }
                (events::DRAIN, Payload::Nothing)
            }
            Event::End => (events::END, Payload::Nothing),
            Event::Error(e) => (events::ERROR, Payload::Error(ErrorInfo::from(&e))),
            Event::Close => (events::CLOSE, Payload::Nothing),
        };
        // SAFETY: the hub calls this on the JS thread inside a handle scope.
        unsafe { self.callback.emit(kind, payload) }
    }

    fn tear_down(&self) {
        self.conn.destroy();
        self.close_reader();
    }
}

/// A MessagePack-RPC connection driven by the Rust runtime.
#[napi]
pub struct NativeConnection {
    conn: Arc<Connection>,
    /// Set once started (or connecting).
    attached: Option<(Rc<Attached>, Address)>,
    /// An accepted socket waiting for `start()`.
    accepted: Option<SharedSocket>,
}

impl NativeConnection {
    /// Wraps a socket a server accepted; it starts reading on `start()`.
    pub(super) fn accepted(
        socket: SharedSocket,
        options: Options,
        budget: &Arc<PartialBudget>,
    ) -> Self {
        let conn = Arc::new(Connection::new(options));
        conn.join_budget(budget);
        NativeConnection {
            conn,
            attached: None,
            accepted: Some(socket),
        }
    }

    /// Makes the JavaScript side of the connection and attaches it to the
    /// thread's event hub.
    fn attach(&mut self, env: &Env, on_event: &EventCallback<'_>) -> napi::Result<Rc<Attached>> {
        let callback = JsCallback::new(env.raw(), on_event.raw(), RESOURCE_NAME)?;
        let attached = Rc::new(Attached {
            conn: self.conn.clone(),
            callback: Rc::new(callback),
            reader: RefCell::default(),
        });
        let address = event_hub::attach(env, attached.clone())?;
        self.conn.report_to(Arc::new(address.clone()), None);
        self.attached = Some((attached.clone(), address));
        Ok(attached)
    }

    /// Connects on the runtime (a host name to resolve first, or a unix
    /// listener whose backlog is full).
    fn connect_later(&self, addr: Addr) {
        let conn = self.conn.clone();
        self.conn.spawn_supervised(async move {
            let connected = tokio::select! {
                connected = transport::connect(&addr) => connected,
                // destroy() while connecting.
                _ = conn.destroyed() => Err(Error::Closed),
            };
            match connected.and_then(|socket| socket.into_write_only()) {
                Ok(socket) => conn.connected(socket),
                Err(e) => conn.fail(e),
            }
        });
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
        if socket.is_unix() {
            return false;
        }
        // SAFETY: `socket` owns the descriptor and outlives the borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        f(&socket2::SockRef::from(&fd)).is_ok()
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
        on_event: EventCallback<'_>,
    ) -> napi::Result<Self> {
        let options = Options::from(&options.unwrap_or_default());
        let addr = target.to_addr("localhost")?;
        let mut native = NativeConnection {
            conn: Arc::new(Connection::new(options)),
            attached: None,
            accepted: None,
        };
        let attached = native.attach(&env, &on_event)?;
        // A unix socket connects at once, a TCP connect to an IP address is
        // waited for on this thread: no runtime thread to wake, and the
        // outcome still reaches JavaScript as an event.
        match transport::start_connect(&addr) {
            Started::Connected(socket) => native.conn.connected(socket),
            Started::Failed(e) => native.conn.fail(e),
            // Its reader waits for the connect, then reads.
            Started::InProgress(socket, target) => attached.start_reader(socket, Some(target))?,
            Started::Later => native.connect_later(addr),
        }
        Ok(native)
    }

    /// Starts an accepted connection; events go to `on_event(kind, payload)`.
    #[napi]
    pub fn start(&mut self, env: Env, on_event: EventCallback<'_>) -> napi::Result<()> {
        let Some(socket) = self.accepted.take() else {
            return Err(napi::Error::new(
                napi::Status::GenericFailure,
                "connection already started",
            ));
        };
        let attached = self.attach(&env, &on_event)?;
        self.conn.start(socket);
        attached.start_reading()
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
        let reader = self
            .attached
            .as_ref()
            .and_then(|(attached, _)| attached.reader.borrow().as_ref().map(UvReader::shared));
        if let Some(reader) = reader {
            reader.resume_reading();
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
    pub fn set_ref(&self, referenced: bool) {
        if let Some((_, address)) = &self.attached {
            event_hub::set_ref(address, referenced);
        }
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

    /// Addresses of both ends (known once connected), asked of the socket:
    /// JavaScript asks once and keeps them (a client's come with its
    /// connect event).
    #[napi]
    pub fn endpoints(&self) -> EndpointInfo {
        let socket = match (&self.attached, &self.accepted) {
            // A closed connection let its socket go; its reader holds it
            // until disposed of (JavaScript asks from its 'error' and
            // 'close' listeners).
            (Some((attached, _)), _) => self
                .conn
                .socket()
                .or_else(|| attached.reader.borrow().as_ref().map(UvReader::socket)),
            (None, accepted) => accepted.clone(),
        };
        EndpointInfo::from(&socket.map(|s| s.endpoints()).unwrap_or_default())
    }

    /// Releases what outlives the connection (its reader, its place in
    /// the event hub); called once the connection has closed.
    #[napi]
    pub fn dispose(&mut self) {
        self.conn.destroy();
        // A connection refused before it started (maxConnections).
        self.accepted.take();
        if let Some((attached, address)) = self.attached.take() {
            attached.close_reader();
            event_hub::detach(&address);
        }
    }
}

impl Drop for NativeConnection {
    /// Collected without `dispose()`: release the same (a no-op after it).
    fn drop(&mut self) {
        self.dispose();
    }
}
