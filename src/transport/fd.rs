//! Sockets that arrive as file descriptors rather than from our own bind or
//! accept: a listening socket inherited from a parent (systemd socket
//! activation passes fd 3) or handed over by JavaScript, and a connection
//! accepted by Node (a `node:cluster` worker gets its connections from the
//! primary as Node sockets) whose descriptor we take over.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use socket2::{SockRef, Type};

use super::{Acceptor, Socket, TcpAcceptor, UnixAcceptor};
use crate::error::{Error, Result};

/// Whether `fd` is a stream socket, and a unix one (else TCP).
fn stream_kind(fd: &OwnedFd, name: RawFd, syscall: &'static str) -> Result<bool> {
    let sock = SockRef::from(fd);
    let checked = sock.r#type().and_then(|ty| {
        if ty == Type::STREAM {
            sock.local_addr()
        } else {
            // Datagram and other sockets cannot carry a byte stream.
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a stream socket",
            ))
        }
    });
    match checked {
        Ok(addr) => Ok(addr.is_unix()),
        Err(source) => Err(fd_error(syscall, name, source)),
    }
}

/// An error naming the descriptor as the caller knows it (`name`), not our duplicate.
fn fd_error(syscall: &'static str, name: RawFd, source: io::Error) -> Error {
    Error::Os {
        syscall,
        address: format!("fd {name}"),
        port: None,
        source,
    }
}

/// Accepts on the listening socket `fd` (taking ownership of it; errors
/// name it `name`). Like Node's `listen({ fd })` this calls
/// `listen(backlog)` again, which also rejects a socket that is connected
/// rather than listening. Must be called inside the runtime.
///
/// # Errors
/// [`Error::Os`] (`listen`) when `fd` is not a stream socket that can listen.
pub fn acceptor_from_fd(fd: OwnedFd, name: RawFd, backlog: u32) -> Result<Acceptor> {
    let unix = stream_kind(&fd, name, "listen")?;
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    SockRef::from(&fd)
        .listen(backlog)
        .map_err(|e| fd_error("listen", name, e))?;
    let wrapped = if unix {
        UnixAcceptor::from_std(fd.into()).map(Acceptor::Unix)
    } else {
        TcpAcceptor::from_std(fd.into()).map(Acceptor::Tcp)
    };
    wrapped.map_err(|e| fd_error("listen", name, e))
}

/// The connected stream socket `fd` (taking ownership of it; errors name
/// it `name`), set up as our
/// own accepted sockets are. Must be called inside the runtime.
///
/// # Errors
/// [`Error::Os`] (`accept`) when `fd` is not a stream socket.
pub fn socket_from_fd(fd: OwnedFd, name: RawFd) -> Result<Socket> {
    let unix = stream_kind(&fd, name, "accept")?;
    let wrapped = (|| {
        SockRef::from(&fd).set_nonblocking(true)?;
        if unix {
            let std = std::os::unix::net::UnixStream::from(fd);
            tokio::net::UnixStream::from_std(std).map(Socket::Unix)
        } else {
            let std = std::net::TcpStream::from(fd);
            // RPC messages are small and latency-bound.
            std.set_nodelay(true)?;
            tokio::net::TcpStream::from_std(std).map(Socket::Tcp)
        }
    })();
    wrapped.map_err(|e| fd_error("accept", name, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[tokio::test]
    async fn accepts_on_a_listening_tcp_descriptor() {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = std.local_addr().unwrap().port();
        let name = std.as_raw_fd();
        let acceptor = acceptor_from_fd(OwnedFd::from(std), name, 16).unwrap();
        assert_eq!(acceptor.local().local_port, Some(port));
        let client = tokio::net::TcpStream::connect(("127.0.0.1", port));
        let (accepted, _client) = tokio::join!(acceptor.accept(), client);
        assert!(matches!(accepted.unwrap(), Socket::Tcp(_)));
    }

    #[tokio::test]
    async fn a_datagram_socket_is_refused_with_its_descriptor_named() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = acceptor_from_fd(OwnedFd::from(udp), 42, 16).unwrap_err();
        match err {
            Error::Os {
                syscall, address, ..
            } => {
                assert_eq!(syscall, "listen");
                assert_eq!(address, "fd 42");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[tokio::test]
    async fn adopts_a_connected_unix_stream() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let name = ours.as_raw_fd();
        let socket = socket_from_fd(OwnedFd::from(ours), name).unwrap();
        let Socket::Unix(stream) = socket else {
            panic!("not a unix socket")
        };
        use std::io::Write;
        (&theirs).write_all(b"x").unwrap();
        stream.readable().await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(stream.try_read(&mut buf).unwrap(), 1);
    }
}
