//! `NativeServer`: a listening socket polled on the JavaScript thread.
//!
//! libuv reports the socket readable; the connections waiting are accepted
//! right there ([`crate::server::Listener`]) and handed to JavaScript as
//! `NativeConnection`s (started by JS once it has attached its handlers, so
//! no message can arrive before anyone listens). No runtime thread and no
//! reactor registration stand between a connect and JavaScript
//! (docs/design.md, "Accepting").

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Env, FnArgs, Function, JsValue, ToNapiValue, Unknown};
use napi::sys;
use napi_derive::napi;

use crate::budget::PartialBudget;
use crate::connection::Options;
use crate::error::Error;
use crate::guard::catch_panic;
use crate::server::{Listener, Round};
use crate::transport::{self, Acceptor, Endpoints};

use super::callback::JsCallback;
use super::connection::NativeConnection;
use super::events::{self, to_js_error, EndpointInfo, ErrorInfo, Payload};
use super::options::{ConnectionOptions, Target};
use super::teardown;
use super::uv::{
    self, uv_close, uv_poll_init, uv_poll_start, uv_poll_stop, uv_ref, uv_timer_init,
    uv_timer_start, uv_timer_stop, uv_unref, UV_POLL, UV_READABLE, UV_TIMER,
};

/// What the async context of a server's callbacks is called.
const RESOURCE_NAME: &[u8] = b"msgpack-rpc:server";

type EventCallback<'a> = Function<'a, FnArgs<(u32, Unknown<'static>)>, Unknown<'static>>;

/// The second argument of a server's event callback.
enum ServerPayload {
    Connection(NativeConnection),
    Other(Payload),
}

impl ToNapiValue for ServerPayload {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val {
            ServerPayload::Connection(c) => NativeConnection::to_napi_value(env, c),
            ServerPayload::Other(p) => Payload::to_napi_value(env, p),
        }
    }
}

/// A listening server's state, owned by its two libuv handles (the poll and
/// the retry timer) and freed once libuv has closed both. Only shared
/// references are made to it: JavaScript, called from an accept, may close
/// the server.
struct Listening {
    /// The uv_poll_t watching the listening socket.
    poll: *mut c_void,
    /// The uv_timer_t that resumes accepting after a failure.
    retry: *mut c_void,
    /// Taken out while a round of accepting runs (JavaScript may close the
    /// server from the callback: the socket must outlive the round).
    listener: Cell<Option<Listener>>,
    /// The unix socket file this server made, removed as `close` starts
    /// (as Node's is), not once libuv has closed the handles: by then a
    /// server listening on that path next may have made its own there.
    socket_file: Cell<Option<PathBuf>>,
    callback: JsCallback,
    options: Options,
    /// One budget for the incomplete messages of all its connections.
    budget: Arc<PartialBudget>,
    closing: Cell<bool>,
    /// Whether JavaScript hears of the close (not when the environment ends).
    report_close: Cell<bool>,
    open_handles: Cell<u8>,
}

impl Listening {
    /// Starts polling `listener` on the callback's event loop.
    fn start(
        mut listener: Listener,
        callback: JsCallback,
        options: Options,
        budget: Arc<PartialBudget>,
    ) -> napi::Result<*const Listening> {
        let event_loop = uv::event_loop(callback.env())?;
        let fd = listener.acceptor().as_raw_fd();
        let socket_file = Cell::new(listener.take_socket_file());
        let state = Box::into_raw(Box::new(Listening {
            poll: Box::into_raw(uv::handle_memory(UV_POLL)).cast(),
            retry: Box::into_raw(uv::handle_memory(UV_TIMER)).cast(),
            listener: Cell::new(Some(listener)),
            socket_file,
            callback,
            options,
            budget,
            closing: Cell::new(false),
            report_close: Cell::new(false),
            open_handles: Cell::new(0),
        }));
        // SAFETY: libuv calls on the JS thread that owns the loop; the
        // state is freed here only if no handle was initialised.
        unsafe {
            let s = &*state;
            if uv_poll_init(event_loop, s.poll, fd) != 0 {
                drop(Box::from_raw(state));
                return Err(napi::Error::from_reason("libuv cannot poll the socket"));
            }
            uv_timer_init(event_loop, s.retry);
            uv::set_data(s.poll, state);
            uv::set_data(s.retry, state);
            s.open_handles.set(2);
            uv_poll_start(s.poll, UV_READABLE, on_acceptable);
        }
        Ok(state)
    }

    /// Calls `callback(kind, payload)` in its own handle scope.
    fn emit(&self, kind: u32, payload: ServerPayload) {
        let env = self.callback.env();
        // SAFETY: N-API calls on the JS thread, from a libuv callback.
        unsafe {
            let mut scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            self.callback.emit(kind, payload);
            sys::napi_close_handle_scope(env, scope);
        }
    }

    /// Accepts what waits, a bounded round; after a failure, reports it and
    /// pauses accepting until the retry timer fires.
    fn accept(&self) {
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        let round = listener.accept_round(|socket| {
            let conn = NativeConnection::accepted(socket, self.options, &self.budget);
            self.emit(events::CONNECTION, ServerPayload::Connection(conn));
            !self.closing.get()
        });
        self.listener.set(Some(listener));
        if let Round::Failed { error, retry_in } = round {
            self.failed(error, retry_in);
        }
    }

    /// Accepting failed: reports it, and stops polling for `retry_in`
    /// (then `on_retry` polls again).
    fn failed(&self, error: std::io::Error, retry_in: Duration) {
        let info = ErrorInfo::from(&Error::from(error));
        self.emit(events::ERROR, ServerPayload::Other(Payload::Error(info)));
        if self.closing.get() {
            return;
        }
        let millis = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
        // SAFETY: both handles are open (not closing).
        unsafe {
            uv_poll_stop(self.poll);
            uv_timer_start(self.retry, on_retry, millis, 0);
        }
    }

    /// Stops accepting and closes both handles; the state goes (and, if
    /// `report`, JavaScript hears `close`) once libuv has closed them.
    fn close(&self, report: bool) {
        if self.closing.replace(true) {
            return;
        }
        self.report_close.set(report);
        self.remove_socket_file();
        // SAFETY: both handles are open until these calls.
        unsafe {
            uv_poll_stop(self.poll);
            uv_timer_stop(self.retry);
            uv_close(self.poll, on_closed);
            uv_close(self.retry, on_closed);
        }
    }

    fn remove_socket_file(&self) {
        if let Some(path) = self.socket_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }

    fn set_ref(&self, referenced: bool) {
        if self.closing.get() {
            return;
        }
        for handle in [self.poll, self.retry] {
            // SAFETY: open (not closing).
            unsafe {
                if referenced {
                    uv_ref(handle)
                } else {
                    uv_unref(handle)
                }
            }
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // Not started (libuv refused the socket): nothing removed it yet.
        self.remove_socket_file();
        // SAFETY: allocated in `start` with these sizes; libuv is done with
        // them (both closed, or never initialised).
        unsafe {
            uv::free_handle(self.poll, UV_POLL);
            uv::free_handle(self.retry, UV_TIMER);
        }
    }
}

extern "C" fn on_acceptable(handle: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: libuv calls this on the JS thread while the handle is open.
    let state = unsafe { &*uv::data::<Listening>(handle) };
    // A panic must not unwind into libuv; the server stays as it was.
    let _ = catch_panic(|| {
        if status < 0 {
            // A poll error on a listening socket: as a failed accept.
            let retry_in = state.listener.take().map(|mut listener| {
                let retry_in = listener.back_off();
                state.listener.set(Some(listener));
                retry_in
            });
            let error = std::io::Error::from_raw_os_error(-status);
            return state.failed(error, retry_in.unwrap_or(Duration::from_millis(1)));
        }
        state.accept();
    });
}

extern "C" fn on_retry(handle: *mut c_void) {
    // SAFETY: as in `on_acceptable`.
    let state = unsafe { &*uv::data::<Listening>(handle) };
    if !state.closing.get() {
        // SAFETY: open (not closing).
        unsafe { uv_poll_start(state.poll, UV_READABLE, on_acceptable) };
    }
}

extern "C" fn on_closed(handle: *mut c_void) {
    let _ = catch_panic(|| {
        // SAFETY: the state lives until its last handle has closed, here.
        unsafe {
            let state = uv::data::<Listening>(handle);
            let open = (*state).open_handles.get() - 1;
            (*state).open_handles.set(open);
            if open > 0 {
                return;
            }
            let state = Box::from_raw(state);
            // Unbind before reporting the close (the socket file went in `close`).
            drop(state.listener.take());
            if state.report_close.get() && !teardown::torn_down() {
                state.emit(events::CLOSE, ServerPayload::Other(Payload::Nothing));
            }
        }
    });
}

/// A listening MessagePack-RPC server.
#[napi]
pub struct NativeServer {
    /// Valid until `close` (the handles own it from then on).
    state: Option<*const Listening>,
    local: Endpoints,
    /// Registration in this thread's teardown list (see `teardown`).
    cleanup: Option<u64>,
}

#[napi]
impl NativeServer {
    /// Binds `target` at once (errors throw with Node's codes, such as
    /// `EADDRINUSE`) and accepts on this thread's event loop; events go to
    /// `on_event(kind, payload)`. `reuse_port` sets `SO_REUSEPORT`.
    #[napi(factory)]
    pub fn listen(
        env: Env,
        target: Target,
        backlog: Option<u32>,
        options: Option<ConnectionOptions>,
        on_event: EventCallback<'_>,
        reuse_port: Option<bool>,
    ) -> napi::Result<Self> {
        let addr = target.to_addr("::")?;
        let reuse_port = reuse_port.unwrap_or(false);
        let backlog = backlog.unwrap_or(511);
        let acceptor = match Acceptor::bind_with(&addr, backlog, reuse_port) {
            // Like Node: no IPv6 on this machine means the IPv4 wildcard.
            Err(_) if target.host.is_none() && target.path.is_none() => {
                let v4 = target.to_addr("0.0.0.0")?;
                Acceptor::bind_with(&v4, backlog, reuse_port)
            }
            bound => bound,
        }
        .map_err(|e| to_js_error(&env, &e))?;
        Self::serve(env, acceptor, options, on_event)
    }

    /// Accepts on the listening socket `fd` (TCP or unix), as Node's
    /// `listen({ fd })`. Works on a duplicate, so a bad `fd` is never
    /// closed; with `take` the original is closed once the duplicate
    /// listens (the server owns the socket, as Node's does), else it stays
    /// with its owner (a handle JavaScript still holds).
    #[napi(factory)]
    pub fn listen_fd(
        env: Env,
        fd: i32,
        take: bool,
        backlog: Option<u32>,
        options: Option<ConnectionOptions>,
        on_event: EventCallback<'_>,
    ) -> napi::Result<Self> {
        let dup = super::adopt::duplicate(&env, fd, "listen")?;
        let acceptor = transport::acceptor_from_fd(dup, fd, backlog.unwrap_or(511))
            .map_err(|e| to_js_error(&env, &e))?;
        if take {
            // SAFETY: the caller gave this descriptor to the server; the
            // duplicate above proved it open, and nothing else closes it.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        Self::serve(env, acceptor, options, on_event)
    }

    fn serve(
        env: Env,
        acceptor: Acceptor,
        options: Option<ConnectionOptions>,
        on_event: EventCallback<'_>,
    ) -> napi::Result<Self> {
        let js_options = options.unwrap_or_default();
        let listener = Listener::new(acceptor);
        let local = listener.local();
        let callback = JsCallback::new(env.raw(), on_event.raw(), RESOURCE_NAME)?;
        let state = Listening::start(
            listener,
            callback,
            Options::from(&js_options),
            js_options.partial_budget(),
        )?;
        let raw = state as usize;
        let cleanup = teardown::register(
            &env,
            Box::new(move || {
                // SAFETY: registered until `close`, which unregisters it
                // before the state can go; this runs on the JS thread.
                unsafe { (*(raw as *const Listening)).close(false) };
            }),
        );
        let cleanup = match cleanup {
            Ok(id) => id,
            Err(e) => {
                // SAFETY: just started; nothing else holds it.
                unsafe { (*state).close(false) };
                return Err(e);
            }
        };
        Ok(NativeServer {
            state: Some(state),
            local,
            cleanup: Some(cleanup),
        })
    }

    /// `{ localAddress, localPort, remoteFamily }` of the bound socket (the
    /// family is reported in `remoteFamily`), or the unix socket path in
    /// `localAddress`.
    #[napi]
    pub fn address(&self) -> EndpointInfo {
        EndpointInfo::from(&self.local)
    }

    /// Stops accepting; a `close` event follows.
    #[napi]
    pub fn close(&mut self) {
        if let Some(id) = self.cleanup.take() {
            teardown::unregister(id);
        }
        if let Some(state) = self.state.take() {
            // SAFETY: live until closed, which this starts.
            unsafe { (*state).close(true) };
        }
    }

    /// Whether the listening socket keeps the event loop alive.
    #[napi]
    pub fn set_ref(&self, referenced: bool) {
        if let Some(state) = self.state {
            // SAFETY: live until `close`.
            unsafe { (*state).set_ref(referenced) };
        }
    }
}
