//! `NativeServer`: a listening socket whose accepted connections are handed
//! to JavaScript as `NativeConnection`s (started by JS once it has attached
//! its handlers, so no message can arrive before anyone listens).

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
use crate::transport::{Acceptor, Socket};

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
    /// `on_event(kind, payload)`.
    #[napi(factory)]
    pub fn listen(
        env: Env,
        target: Target,
        backlog: Option<u32>,
        options: Option<ConnectionOptions>,
        on_event: Function<'_, FnArgs<(u32, ServerPayload)>, Unknown<'static>>,
    ) -> napi::Result<Self> {
        let js_options = options.unwrap_or_default();
        let options = Options::from(&js_options);
        // One budget for the incomplete messages of all its connections.
        let budget = js_options.partial_budget();
        let addr = target.to_addr("::")?;
        let handle = runtime::handle();
        let acceptor = {
            let _guard = handle.enter();
            match Acceptor::bind(&addr, backlog.unwrap_or(511)) {
                // Like Node: no IPv6 on this machine means the IPv4 wildcard.
                Err(_) if target.host.is_none() && target.path.is_none() => {
                    let v4 = target.to_addr("0.0.0.0")?;
                    Acceptor::bind(&v4, backlog.unwrap_or(511))
                }
                bound => bound,
            }
        }
        .map_err(|e| to_js_error(&env, &e))?;
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
