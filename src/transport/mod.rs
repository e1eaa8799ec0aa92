//! Addresses and the byte streams connections run over.
//!
//! [`Addr`] names a TCP host and port or a unix socket path. Every stream
//! transport ends in [`Socket::run`], which hands it to the generic
//! [`Connection`] through the readiness-based [`Io`] trait.

mod fd;
mod io;
mod tcp;
mod unix;
mod write_only;

use std::path::PathBuf;
use std::sync::Arc;

use crate::connection::{Connection, EventSink, Options};
use crate::error::{Error, Result};

pub use fd::{acceptor_from_fd, socket_from_fd};
pub use io::{DirectWrite, Io};
pub use tcp::{connect_tcp, TcpAcceptor};
pub use unix::{connect_unix, UnixAcceptor};
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
    /// Where each end is.
    pub fn endpoints(&self) -> Endpoints {
        match self {
            Socket::Tcp(s) => tcp::endpoints(s),
            Socket::Unix(s) => unix::endpoints(s),
        }
    }

    /// Runs `connection` over this socket until it closes.
    pub async fn run(self, connection: &Connection, sink: Arc<dyn EventSink>, options: Options) {
        self.into_shared().run(connection, sink, options).await
    }

    /// The socket behind an `Arc`, so an external reader can hold it too.
    pub fn into_shared(self) -> SharedSocket {
        match self {
            Socket::Tcp(s) => SharedSocket::Tcp(Arc::new(s)),
            Socket::Unix(s) => SharedSocket::Unix(Arc::new(s)),
        }
    }

    /// The socket for a connection read on the JavaScript thread: Tokio
    /// only writes it (see [`WriteOnly`]).
    ///
    /// # Errors
    /// When the runtime's reactor cannot let go of the descriptor.
    pub fn into_write_only(self) -> Result<SharedSocket> {
        Ok(SharedSocket::WriteOnly(Arc::new(WriteOnly::new(self)?)))
    }
}

/// A connected socket shared by the connection's tasks and, when reads are
/// done on the JavaScript thread, the binding (which keeps it open, and so
/// its file descriptor valid, for as long as it polls it).
#[derive(Debug, Clone)]
pub enum SharedSocket {
    Tcp(Arc<tokio::net::TcpStream>),
    Unix(Arc<tokio::net::UnixStream>),
    WriteOnly(Arc<WriteOnly>),
}

impl SharedSocket {
    /// Runs `connection` over this socket until it closes.
    pub async fn run(self, connection: &Connection, sink: Arc<dyn EventSink>, options: Options) {
        match self {
            SharedSocket::Tcp(s) => connection.run(s, sink, options).await,
            SharedSocket::Unix(s) => connection.run(s, sink, options).await,
            SharedSocket::WriteOnly(s) => connection.run(s, sink, options).await,
        }
    }

    /// Reads what is available without blocking (`WouldBlock` when nothing
    /// is), straight from the descriptor: callable from any thread, whatever
    /// readiness the runtime has cached.
    pub fn read_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Read;
        if let SharedSocket::WriteOnly(s) = self {
            return s.read_now(buf);
        }
        use std::os::fd::AsRawFd;
        let fd = self.as_raw_fd();
        // SAFETY: `fd` stays open while `self` (an Arc of the socket) lives;
        // ManuallyDrop keeps the temporary std stream from closing it.
        let mut stream = std::mem::ManuallyDrop::new(unsafe {
            <std::net::TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        stream.read(buf)
    }
}

impl std::os::fd::AsRawFd for SharedSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            SharedSocket::Tcp(s) => s.as_raw_fd(),
            SharedSocket::Unix(s) => s.as_raw_fd(),
            SharedSocket::WriteOnly(s) => s.as_raw_fd(),
        }
    }
}

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

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}:{port}"),
            Addr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A bound, listening socket.
#[derive(Debug)]
pub enum Acceptor {
    Tcp(TcpAcceptor),
    Unix(UnixAcceptor),
}

impl Acceptor {
    /// Binds `addr` (synchronously) and starts listening. Must be called
    /// inside the Tokio runtime's context.
    ///
    /// # Errors
    /// The operating system's error (`EADDRINUSE`, `EACCES`, ...).
    pub fn bind(addr: &Addr, backlog: u32) -> Result<Acceptor> {
        Self::bind_with(addr, backlog, false)
    }

    /// [`Acceptor::bind`], with `SO_REUSEPORT` on a TCP socket when
    /// `reuse_port` (unix sockets ignore it, as Node does).
    ///
    /// # Errors
    /// As [`Acceptor::bind`].
    pub fn bind_with(addr: &Addr, backlog: u32, reuse_port: bool) -> Result<Acceptor> {
        match addr {
            Addr::Tcp { host, port } => {
                TcpAcceptor::bind_with(host, *port, backlog, reuse_port).map(Acceptor::Tcp)
            }
            Addr::Unix(path) => UnixAcceptor::bind(path)
                .map(Acceptor::Unix)
                .map_err(|source| Error::Os {
                    syscall: "listen",
                    address: path.display().to_string(),
                    port: None,
                    source,
                }),
        }
    }

    /// Waits for the next connection.
    ///
    /// # Errors
    /// The operating system's error; most (`EMFILE`) are transient.
    pub async fn accept(&self) -> std::io::Result<Socket> {
        match self {
            Acceptor::Tcp(a) => a.accept().await.map(Socket::Tcp),
            Acceptor::Unix(a) => a.accept().await.map(Socket::Unix),
        }
    }

    /// What `server.address()` returns: the bound address, family and port,
    /// or the socket path.
    pub fn local(&self) -> Endpoints {
        match self {
            Acceptor::Tcp(a) => a.local(),
            Acceptor::Unix(a) => a.local(),
        }
    }
}
