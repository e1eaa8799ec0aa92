//! A listening socket that accepts without waiting: whoever polls it (the
//! JavaScript thread, through libuv) calls [`Acceptor::accept_now`] when it
//! is readable. No reactor and no runtime thread are involved, so a new
//! connection reaches JavaScript with no thread hop, and its socket is
//! never registered with Tokio (docs/design.md, "Accepting").

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;

use super::tcp::{bind_tcp, listening_endpoints};
use super::unix::{bind_unix, unix_path};
use super::{Addr, Endpoints, SharedSocket, WriteOnly};
use crate::error::{Error, Result};

/// A bound, listening, non-blocking socket.
#[derive(Debug)]
pub struct Acceptor {
    socket: socket2::Socket,
    unix: bool,
    /// The socket file this acceptor created, removed when it is dropped
    /// (as Node's server does on `close()`); not an inherited socket's,
    /// whose file belongs to whoever created it (systemd, a parent).
    owned_path: Option<PathBuf>,
}

impl Acceptor {
    /// Binds `addr` and listens, with `SO_REUSEPORT` on a TCP socket when
    /// `reuse_port` (unix sockets ignore it, as Node does).
    ///
    /// # Errors
    /// The operating system's error (`EADDRINUSE`, `EACCES`, ...).
    pub fn bind_with(addr: &Addr, backlog: u32, reuse_port: bool) -> Result<Acceptor> {
        match addr {
            Addr::Tcp { host, port } => {
                bind_tcp(host, *port, backlog, reuse_port).map(|socket| Acceptor {
                    socket,
                    unix: false,
                    owned_path: None,
                })
            }
            Addr::Unix(path) => bind_unix(path, backlog)
                .map(|socket| Acceptor {
                    socket,
                    unix: true,
                    owned_path: Some(path.clone()),
                })
                .map_err(|source| Error::Os {
                    syscall: "listen",
                    address: path.display().to_string(),
                    port: None,
                    source,
                }),
        }
    }

    /// Accepts on `socket`, which already listens (an inherited or
    /// handed-over descriptor); its socket file, if any, is not ours.
    ///
    /// # Errors
    /// When it cannot be made non-blocking.
    pub fn listening(socket: socket2::Socket, unix: bool) -> io::Result<Acceptor> {
        socket.set_nonblocking(true)?;
        Ok(Acceptor {
            socket,
            unix,
            owned_path: None,
        })
    }

    /// The next waiting connection, non-blocking, with Nagle off on TCP;
    /// `None` when none waits.
    ///
    /// # Errors
    /// The operating system's error; most (`EMFILE`, `ECONNABORTED`) are
    /// transient.
    pub fn accept_now(&self) -> io::Result<Option<SharedSocket>> {
        let accepted = accept_nonblocking(&self.socket).and_then(|(socket, peer)| {
            if !self.unix {
                // RPC messages are small and latency-bound.
                socket.set_tcp_nodelay(true)?;
            }
            Ok((socket, peer.as_socket()))
        });
        match accepted {
            Ok((socket, peer)) => Ok(Some(Arc::new(
                WriteOnly::from_socket(socket, self.unix).with_peer(peer),
            ))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hands over the socket file this acceptor would remove when dropped,
    /// to a server that removes it itself when it closes (at once, as
    /// Node's does), rather than when the socket is finally let go of.
    pub fn take_socket_file(&mut self) -> Option<PathBuf> {
        self.owned_path.take()
    }

    /// What `server.address()` returns: the bound address, family and port,
    /// or the socket path.
    pub fn local(&self) -> Endpoints {
        if self.unix {
            Endpoints {
                local_address: unix_path(self.socket.local_addr().ok()),
                ..Endpoints::default()
            }
        } else {
            listening_endpoints(&self.socket)
        }
    }
}

/// One `accept4` that makes the socket non-blocking and close-on-exec.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn accept_nonblocking(
    listener: &socket2::Socket,
) -> io::Result<(socket2::Socket, socket2::SockAddr)> {
    listener.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
}

/// Where `accept4` is missing: accept (close-on-exec), then non-blocking.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn accept_nonblocking(
    listener: &socket2::Socket,
) -> io::Result<(socket2::Socket, socket2::SockAddr)> {
    let (socket, peer) = listener.accept()?;
    socket.set_nonblocking(true)?;
    Ok((socket, peer))
}

impl AsRawFd for Acceptor {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for Acceptor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        if let Some(path) = &self.owned_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Io;

    fn loopback() -> Acceptor {
        let addr = Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 0,
        };
        Acceptor::bind_with(&addr, 16, false).unwrap()
    }

    #[test]
    fn accepts_every_waiting_connection_then_reports_none() {
        let acceptor = loopback();
        let port = acceptor.local().local_port.unwrap();
        assert_eq!(acceptor.accept_now().unwrap().map(|_| ()), None);
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let mut accepted = Vec::new();
        // A connect returns once the handshake is done: all three wait.
        while let Some(socket) = acceptor.accept_now().unwrap() {
            accepted.push(socket);
            assert!(accepted.len() <= clients.len());
        }
        assert_eq!(accepted.len(), 3);
        let socket = &accepted[0];
        assert!(!socket.is_unix());
        let ends = socket.endpoints();
        assert_eq!(ends.local_port, Some(port));
        assert_eq!(ends.remote_address.as_deref(), Some("127.0.0.1"));
        // Non-blocking: nothing to read is WouldBlock, not a wait.
        let mut buf = bytes::BytesMut::with_capacity(16);
        let read = socket.read_buf(&mut buf).unwrap_err();
        assert_eq!(read.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(socket.try_write(b"x").unwrap(), 1);
    }

    #[test]
    fn a_unix_acceptor_removes_its_socket_file_when_dropped() {
        let dir = std::env::temp_dir().join(format!("msgpack-rpc-acceptor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let acceptor = Acceptor::bind_with(&Addr::Unix(path.clone()), 16, false).unwrap();
        assert_eq!(
            acceptor.local().local_address.as_deref(),
            Some(path.to_str().unwrap())
        );
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let accepted = acceptor
            .accept_now()
            .unwrap()
            .expect("a waiting connection");
        assert!(accepted.is_unix());
        // A second bind of a path in use fails as Node's does.
        let again = Acceptor::bind_with(&Addr::Unix(path.clone()), 16, false).unwrap_err();
        assert_eq!(again.code(), "EADDRINUSE");
        drop(acceptor);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
