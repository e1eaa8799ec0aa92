//! `NativeServer`: a listening socket whose accepted connections are handed
//! to JavaScript as `NativeConnection`s (started by JS once it has attached
//! its handlers, so no message can arrive before anyone listens).

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

use napi::bindgen_prelude::{Env, FnArgs, Function, ToNapiValue, Unknown};
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::connection::Options;
use crate::error::Error;
use crate::runtime;
use crate::server::{Listener, ServerSink};
use crate::transport::{self, Acceptor, Socket};

use super::connection::NativeConnection;
use super::events::{self, to_js_error, EndpointInfo, ErrorInfo, Payload};
use super::options::{ConnectionOptions, Target};
use super::teardown;

enum ServerEvent {
    Connection(Socket),
    Error(Error),
    Close,
}

/// The second argument of a server's event callback.
pub enum ServerPayload {
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

type EventFn = ThreadsafeFunction<
    ServerEvent,
    Unknown<'static>,
    FnArgs<(u32, ServerPayload)>,
    napi::Status,
    false,
>;

struct JsServerSink {
    tsfn: Mutex<Option<EventFn>>,
}

impl JsServerSink {
    fn emit(&self, event: ServerEvent) {
        let close = matches!(event, ServerEvent::Close);
        let mut tsfn = self.tsfn.lock();
        if let Some(f) = tsfn.as_ref() {
            f.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
        if close {
            tsfn.take();
        }
    }
}

impl ServerSink for JsServerSink {
    fn connection(&self, socket: Socket) {
        self.emit(ServerEvent::Connection(socket));
    }
    fn error(&self, error: Error) {
        self.emit(ServerEvent::Error(error));
    }
    fn close(&self) {
        self.emit(ServerEvent::Close);
    }
}

/// A listening MessagePack-RPC server.
#[napi]
pub struct NativeServer {
    listener: Arc<Listener>,
    sink: Arc<JsServerSink>,
    /// Registration in this thread's teardown list (see `teardown`).
    cleanup: Option<u64>,
}

#[napi]
impl NativeServer {
    /// Binds `target` at once (errors throw with Node's codes, such as
    /// `EADDRINUSE`) and accepts in the background; events go to
    /// `on_event(kind, payload)`. `reuse_port` sets `SO_REUSEPORT`.
    #[napi(factory)]
    pub fn listen(
        env: Env,
        target: Target,
        backlog: Option<u32>,
        options: Option<ConnectionOptions>,
        on_event: Function<'_, FnArgs<(u32, ServerPayload)>, Unknown<'static>>,
        reuse_port: Option<bool>,
    ) -> napi::Result<Self> {
        let addr = target.to_addr("::")?;
        let reuse_port = reuse_port.unwrap_or(false);
        let backlog = backlog.unwrap_or(511);
        let handle = runtime::handle();
        let acceptor = {
            let _guard = handle.enter();
            match Acceptor::bind_with(&addr, backlog, reuse_port) {
                // Like Node: no IPv6 on this machine means the IPv4 wildcard.
                Err(_) if target.host.is_none() && target.path.is_none() => {
                    let v4 = target.to_addr("0.0.0.0")?;
                    Acceptor::bind_with(&v4, backlog, reuse_port)
                }
                bound => bound,
            }
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
        on_event: Function<'_, FnArgs<(u32, ServerPayload)>, Unknown<'static>>,
    ) -> napi::Result<Self> {
        let dup = super::adopt::duplicate(&env, fd, "listen")?;
        let acceptor = {
            let _guard = runtime::handle().enter();
            transport::acceptor_from_fd(dup, fd, backlog.unwrap_or(511))
        }
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
        on_event: Function<'_, FnArgs<(u32, ServerPayload)>, Unknown<'static>>,
    ) -> napi::Result<Self> {
        let js_options = options.unwrap_or_default();
        let options = Options::from(&js_options);
        // One budget for the incomplete messages of all its connections.
        let budget = js_options.partial_budget();
        let handle = runtime::handle();
        let tsfn: EventFn = on_event
            .build_threadsafe_function::<ServerEvent>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                Ok(FnArgs::from(match ctx.value {
                    ServerEvent::Connection(socket) => (
                        events::CONNECTION,
                        ServerPayload::Connection(NativeConnection::accepted(
                            socket, options, &budget,
                        )),
                    ),
                    ServerEvent::Error(e) => (
                        events::ERROR,
                        ServerPayload::Other(Payload::Error(ErrorInfo::from(&e))),
                    ),
                    ServerEvent::Close => (events::CLOSE, ServerPayload::Other(Payload::Nothing)),
                }))
            })?;
        let sink = Arc::new(JsServerSink {
            tsfn: Mutex::new(Some(tsfn)),
        });
        let listener = Arc::new(Listener::spawn(handle, acceptor, sink.clone()));
        let weak = Arc::downgrade(&listener);
        let cleanup = teardown::register(
            &env,
            Box::new(move || {
                if let Some(l) = weak.upgrade() {
                    l.close();
                }
            }),
        )?;
        Ok(NativeServer {
            listener,
            sink,
            cleanup: Some(cleanup),
        })
    }

    /// `{ localAddress, localPort, remoteFamily }` of the bound socket (the
    /// family is reported in `remoteFamily`), or the unix socket path in
    /// `localAddress`.
    #[napi]
    pub fn address(&self) -> EndpointInfo {
        EndpointInfo::from(self.listener.local())
    }

    /// Stops accepting; a `close` event follows.
    #[napi]
    pub fn close(&mut self) -> napi::Result<()> {
        self.listener.close();
        if let Some(id) = self.cleanup.take() {
            teardown::unregister(id);
        }
        Ok(())
    }

    /// Whether the listening socket keeps the event loop alive.
    #[napi]
    #[allow(deprecated)]
    pub fn set_ref(&self, env: Env, referenced: bool) -> napi::Result<()> {
        if let Some(tsfn) = self.sink.tsfn.lock().as_mut() {
            if referenced {
                tsfn.refer(&env)?;
            } else {
                tsfn.unref(&env)?;
            }
        }
        Ok(())
    }
}
