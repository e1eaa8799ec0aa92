//! Addresses and the byte streams connections run over.
//!
//! [`Addr`] names a TCP host and port or a unix socket path. Every connected
//! [`Socket`] becomes a [`WriteOnly`] socket: the JavaScript thread reads it,
//! the [`crate::connection::Connection`]'s writer writes it through the
//! readiness-based [`Io`] trait.

mod acceptor;
mod fd;
mod io;
mod tcp;
mod unix;
mod write_only;

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};

pub use acceptor::Acceptor;
// Only the binding (feature `node`) adopts descriptors.
#[cfg_attr(not(feature = "node"), allow(unused_imports))]
pub use fd::{acceptor_from_fd, socket_from_fd};
pub use io::Io;
pub use tcp::connect_tcp;
pub use unix::{connect_unix, connect_unix_now};
pub use write_only::WriteOnly;

/// Where to connect or listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A TCP host (name or IP) and port.
    Tcp { host: String, port: u16 },
    /// A unix domain socket path.
    Unix(PathBuf),
}

/// Where each end of a connection is, as Node's `net.Socket` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub remote_address: Option<String>,
    pub remote_port: Option<u16>,
    pub remote_family: Option<String>,
    pub local_address: Option<String>,
    pub local_port: Option<u16>,
}

/// A connected byte stream of any supported transport.
#[derive(Debug)]
pub enum Socket {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Socket {
    /// The socket for a connection read on the JavaScript thread: Tokio
    /// only writes it (see [`WriteOnly`]).
    ///
    /// # Errors
    /// When the runtime's reactor cannot let go of the descriptor.
    pub fn into_write_only(self) -> Result<SharedSocket> {
        Ok(Arc::new(WriteOnly::new(self)?))
    }
}

/// A connected socket shared by the connection's writer task and the
/// JavaScript-thread reader (which keeps it open, and so its file
/// descriptor valid, for as long as it polls it).
pub type SharedSocket = Arc<WriteOnly>;

/// Connects to `addr`.
///
/// # Errors
/// The operating system's error (`ECONNREFUSED`, `ENOENT`, ...).
pub async fn connect(addr: &Addr) -> Result<Socket> {
    match addr {
        Addr::Tcp { host, port } => connect_tcp(host, *port).await.map(Socket::Tcp),
        Addr::Unix(path) => connect_unix(path)
            .await
            .map(Socket::Unix)
            .map_err(|source| Error::Os {
                syscall: "connect",
                address: path.display().to_string(),
                port: None,
                source,
            }),
    }
}

/// Connects to `addr` within the call where that cannot wait (a unix
/// socket whose listener has room), with no thread and no reactor
/// involved; `None` where it must be awaited ([`connect`]).
pub fn connect_now(addr: &Addr) -> Option<Result<(SharedSocket, Endpoints)>> {
    let Addr::Unix(path) = addr else {
        return None;
    };
    connect_unix_now(path).map(|connected| {
        connected
            .map(|(socket, endpoints)| (Arc::new(WriteOnly::from_socket(socket, true)), endpoints))
            .map_err(|source| Error::Os {
                syscall: "connect",
                address: path.display().to_string(),
                port: None,
                source,
            })
    })
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}:{port}"),
            Addr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}
