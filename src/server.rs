//! The accept loop: hands every accepted socket to a [`ServerSink`] until
//! stopped. Accept errors (such as running out of file descriptors) are
//! reported and retried with backoff; they never end the server.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::shutdown::Stop;
use crate::transport::{Acceptor, Endpoints, Socket};

/// Receives what a listening server produces.
pub trait ServerSink: Send + Sync + 'static {
    /// A new connection; the sink decides when to start it.
    fn connection(&self, socket: Socket);
    /// A transient accept failure.
    fn error(&self, error: Error);
    /// The server stopped listening; the last call.
    fn close(&self);
}

/// A listening server.
#[derive(Debug)]
pub struct Listener {
    stop: Arc<Stop>,
    local: Endpoints,
}

impl Listener {
    /// Starts accepting on `acceptor` in a task on `runtime`.
    pub fn spawn(
        runtime: &tokio::runtime::Handle,
        acceptor: Acceptor,
        sink: Arc<dyn ServerSink>,
    ) -> Listener {
        let stop = Arc::new(Stop::new());
        let local = acceptor.local();
        runtime.spawn(accept_loop(acceptor, sink, stop.clone()));
        Listener { stop, local }
    }

    /// Where the server listens.
    pub fn local(&self) -> &Endpoints {
        &self.local
    }

    /// Stops accepting; the sink's `close` follows. Open connections are
    /// not touched.
    pub fn close(&self) {
        self.stop.trigger();
    }
}

async fn accept_loop(acceptor: Acceptor, sink: Arc<dyn ServerSink>, stop: Arc<Stop>) {
    let mut backoff = Duration::from_millis(1);
    loop {
        let accepted = tokio::select! {
            accepted = acceptor.accept() => accepted,
            _ = stop.wait() => break,
        };
        match accepted {
            Ok(socket) => {
                backoff = Duration::from_millis(1);
                sink.connection(socket);
            }
            Err(e) => {
                sink.error(e.into());
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    // Unbind (and remove a unix socket file) before reporting the close.
    drop(acceptor);
    sink.close();
}
