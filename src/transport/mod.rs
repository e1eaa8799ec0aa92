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

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};

pub use acceptor::Acceptor;
// Only the binding (feature `node`) adopts descriptors.
#[cfg_attr(not(feature = "node"), allow(unused_imports))]
pub use fd::{acceptor_from_fd, socket_from_fd};
pub use io::Io;
pub use tcp::connect_error;
pub use tcp::connect_tcp;
use tcp::start_tcp_connect;
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
            .map_err(|source| unix_connect_error(path, source)),
    }
}

/// A failed connect to a unix socket, naming its path as Node does.
fn unix_connect_error(path: &std::path::Path, source: std::io::Error) -> Error {
    Error::Os {
        syscall: "connect",
        address: path.display().to_string(),
        port: None,
        source,
    }
}

/// How a connect begun on the calling thread stands ([`start_connect`]).
#[derive(Debug)]
pub enum Started {
    /// Connected within the call: a unix socket whose listener has room, or
    /// a TCP connect the kernel completed meanwhile (to this host).
    Connected(SharedSocket),
    /// A TCP connect to an IP address is under way: the socket turns
    /// writable when it is done; [`finish_connect`] says how it went.
    InProgress(SharedSocket, SocketAddr),
    Failed(Error),
    /// Only the runtime can do it ([`connect`]): a host name to resolve, or
    /// a unix socket whose listener's backlog is full.
    Later,
}

/// Begins connecting to `addr` without waiting, with no thread and no
/// reactor involved, where that can be done: a unix socket, or a TCP
/// address given as an IP (a host name needs resolving first).
pub fn start_connect(addr: &Addr) -> Started {
    match addr {
        Addr::Unix(path) => match connect_unix_now(path) {
            None => Started::Later,
            Some(Ok(socket)) => Started::Connected(Arc::new(WriteOnly::from_socket(socket, true))),
            Some(Err(source)) => Started::Failed(unix_connect_error(path, source)),
        },
        Addr::Tcp { host, port } => match host.parse::<IpAddr>() {
            Err(_) => Started::Later,
            Ok(ip) => {
                let target = SocketAddr::new(ip, *port);
                match start_tcp_connect(target) {
                    Ok((socket, done)) => {
                        // An unspecified address (0.0.0.0, ::) reaches this host;
                        // the socket says which address answered.
                        let peer = Some(target).filter(|t| !t.ip().is_unspecified());
                        let socket =
                            Arc::new(WriteOnly::from_socket(socket, false).with_peer(peer));
                        if done {
                            Started::Connected(socket)
                        } else {
                            Started::InProgress(socket, target)
                        }
                    }
                    Err(source) => Started::Failed(connect_error(target, source)),
                }
            }
        },
    }
}

/// How the connect [`start_connect`] left in progress went, once the socket
/// is writable: connected, or the connect's error.
///
/// # Errors
/// [`Error::Os`] (`connect`, naming `target`): `ECONNREFUSED`, `ETIMEDOUT`...
pub fn finish_connect(socket: &WriteOnly, target: SocketAddr) -> Result<()> {
    match socket.take_error() {
        Ok(None) => Ok(()),
        Ok(Some(source)) | Err(source) => Err(connect_error(target, source)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Addr {
        Addr::Tcp {
            host: host.into(),
            port,
        }
    }

    /// Waits (bounded) for a connect begun by `start_connect` to end.
    async fn finished(addr: &Addr) -> Result<SharedSocket> {
        match start_connect(addr) {
            Started::InProgress(socket, target) => {
                tokio::time::timeout(std::time::Duration::from_secs(5), socket.writable())
                    .await
                    .expect("the connect ends")
                    .unwrap();
                finish_connect(&socket, target).map(|()| socket)
            }
            Started::Connected(socket) => Ok(socket),
            Started::Failed(e) => Err(e),
            Started::Later => panic!("{addr} should connect without the runtime"),
        }
    }

    #[tokio::test]
    async fn connects_to_an_ip_address_without_the_runtime() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let socket = finished(&tcp("127.0.0.1", port)).await.unwrap();
        let ends = socket.endpoints();
        assert_eq!(ends.remote_port, Some(port));
        assert_eq!(ends.remote_address.as_deref(), Some("127.0.0.1"));
        assert!(!socket.is_unix());
        let (mut accepted, _) = listener.accept().unwrap();
        assert_eq!(socket.try_write(b"hi").unwrap(), 2);
        let mut got = [0u8; 2];
        std::io::Read::read_exact(&mut accepted, &mut got).unwrap();
        assert_eq!(&got, b"hi");
    }

    #[tokio::test]
    async fn a_refused_connect_names_the_address_and_port() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = finished(&tcp("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.code(), "ECONNREFUSED");
        match err {
            Error::Os {
                syscall,
                address,
                port: p,
                ..
            } => {
                assert_eq!(
                    (syscall, address.as_str(), p),
                    ("connect", "127.0.0.1", Some(port))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_connect_left_in_progress_reports_how_it_ended_once_writable() {
        // A listener whose accept queue is full drops further SYNs, so the
        // connect stays in progress; closing the listener then refuses the
        // retried SYN.
        let listener =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        listener
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        listener.listen(0).unwrap();
        let port = listener.local_addr().unwrap().as_socket().unwrap().port();
        let mut fillers = Vec::new();
        let started = loop {
            assert!(fillers.len() < 16, "the accept queue never filled");
            match start_connect(&tcp("127.0.0.1", port)) {
                Started::Connected(socket) => fillers.push(socket),
                other => break other,
            }
        };
        let Started::InProgress(socket, target) = started else {
            panic!("expected a connect in progress, got {started:?}")
        };
        drop(listener);
        tokio::time::timeout(std::time::Duration::from_secs(10), socket.writable())
            .await
            .expect("the retried SYN is refused")
            .unwrap();
        let err = finish_connect(&socket, target).unwrap_err();
        assert_eq!(err.code(), "ECONNREFUSED");
    }

    #[test]
    fn a_host_name_is_left_to_the_runtime() {
        assert!(matches!(
            start_connect(&tcp("localhost", 1)),
            Started::Later
        ));
    }
}
