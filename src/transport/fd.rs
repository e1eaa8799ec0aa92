//! Sockets that arrive as file descriptors rather than from our own bind or
//! accept: a listening socket inherited from a parent (systemd socket
//! activation passes fd 3) or handed over by JavaScript, and a connection
//! accepted by Node (a `node:cluster` worker gets its connections from the
//! primary as Node sockets) whose descriptor we take over.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::Arc;

use socket2::{SockRef, Type};

use super::{Acceptor, SharedSocket, WriteOnly};
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
/// rather than listening.
///
/// # Errors
/// [`Error::Os`] (`listen`) when `fd` is not a stream socket that can listen.
pub fn acceptor_from_fd(fd: OwnedFd, name: RawFd, backlog: u32) -> Result<Acceptor> {
    let unix = stream_kind(&fd, name, "listen")?;
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    SockRef::from(&fd)
        .listen(backlog)
        .map_err(|e| fd_error("listen", name, e))?;
    Acceptor::listening(socket2::Socket::from(fd), unix).map_err(|e| fd_error("listen", name, e))
}

/// The connected stream socket `fd` (taking ownership of it; errors name
/// it `name`), set up as our own accepted sockets are.
///
/// # Errors
/// [`Error::Os`] (`accept`) when `fd` is not a stream socket.
pub fn socket_from_fd(fd: OwnedFd, name: RawFd) -> Result<SharedSocket> {
    let unix = stream_kind(&fd, name, "accept")?;
    let socket = socket2::Socket::from(fd);
    let ready = socket.set_nonblocking(true).and_then(|()| {
        // RPC messages are small and latency-bound.
        if unix {
            Ok(())
        } else {
            socket.set_tcp_nodelay(true)
        }
    });
    ready.map_err(|e| fd_error("accept", name, e))?;
    Ok(Arc::new(WriteOnly::from_socket(socket, unix)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn accepts_on_a_listening_tcp_descriptor() {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = std.local_addr().unwrap().port();
        let name = std.as_raw_fd();
        let acceptor = acceptor_from_fd(OwnedFd::from(std), name, 16).unwrap();
        assert_eq!(acceptor.local().local_port, Some(port));
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let accepted = acceptor
            .accept_now()
            .unwrap()
            .expect("a waiting connection");
        assert!(!accepted.is_unix());
    }

    #[test]
    fn a_datagram_socket_is_refused_with_its_descriptor_named() {
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

    #[test]
    fn adopts_a_connected_unix_stream_non_blocking() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let name = ours.as_raw_fd();
        let socket = socket_from_fd(OwnedFd::from(ours), name).unwrap();
        assert!(socket.is_unix());
        let mut buf = bytes::BytesMut::with_capacity(16);
        let nothing = socket.read_buf(&mut buf).unwrap_err();
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);
        use std::io::Write;
        (&theirs).write_all(b"x").unwrap();
        assert_eq!(socket.read_buf(&mut buf).unwrap(), 1);
    }
}
