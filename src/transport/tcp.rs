//! TCP: connecting with Nagle off, and a listening socket bound like Node's `listen`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::net::TcpStream;

use super::Endpoints;
use crate::error::{Error, Result};

/// Connects to `host:port`, trying each resolved address in turn.
///
/// # Errors
/// [`Error::NotFound`] when the name resolves to nothing, else the last
/// address's [`Error::Os`] (`connect`, with that address and port).
pub async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream> {
    let target = format!("{}:{port}", bracket(host));
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(target)
        .await
        .map(Iterator::collect)
        .unwrap_or_default();
    let mut last = Error::NotFound {
        hostname: host.to_string(),
    };
    for addr in addrs {
        let connected = TcpStream::connect(addr)
            .await
            // RPC messages are small and latency-bound.
            .and_then(|stream| stream.set_nodelay(true).map(|()| stream));
        match connected {
            Ok(stream) => return Ok(stream),
            Err(source) => last = connect_error(addr, source),
        }
    }
    Err(last)
}

/// A failed connect, naming the address as Node does.
pub fn connect_error(addr: SocketAddr, source: io::Error) -> Error {
    Error::Os {
        syscall: "connect",
        address: ip_text(&addr),
        port: Some(addr.port()),
        source,
    }
}

/// A non-blocking TCP socket (Nagle off) whose connect to `addr` has begun,
/// and whether it is done already. A connect never completes within the
/// call, but one to this host has by the time it returns (the handshake
/// runs in the kernel meanwhile): asking again says so, and the wait for
/// writability is skipped.
pub(super) fn start_tcp_connect(addr: SocketAddr) -> io::Result<(socket2::Socket, bool)> {
    let kind = socket2::Type::STREAM.nonblocking();
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), kind, None)?;
    // RPC messages are small and latency-bound.
    socket.set_tcp_nodelay(true)?;
    let target = addr.into();
    match socket.connect(&target) {
        Ok(()) => return Ok((socket, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    match socket.connect(&target) {
        Ok(()) => Ok((socket, true)),
        Err(e) if e.raw_os_error() == Some(libc::EISCONN) => Ok((socket, true)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EALREADY | libc::EINPROGRESS)) => {
            Ok((socket, false))
        }
        // How the connect ended (ECONNREFUSED).
        Err(e) => Err(e),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

pub(super) fn family(addr: &SocketAddr) -> String {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }.to_string()
}

/// Node reports IPv4-mapped IPv6 peers of a dual-stack socket as `::ffff:a.b.c.d`.
pub(super) fn ip_text(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

/// Binds `host:port` with `SO_REUSEADDR`, as Node does, and with
/// `reuse_port` also `SO_REUSEPORT`: every process that sets it may bind
/// the same port, and the kernel spreads new connections over them (Node's
/// `reusePort`). The socket listens, non-blocking, registered with no
/// reactor.
///
/// # Errors
/// [`Error::NotFound`] when the name resolves to nothing, else the last
/// address's [`Error::Os`] (`listen`, with that address and port).
pub(super) fn bind_tcp(
    host: &str,
    port: u16,
    backlog: u32,
    reuse_port: bool,
) -> Result<socket2::Socket> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    let mut last = Error::NotFound {
        hostname: host.to_string(),
    };
    for addr in addrs {
        let listening = (|| {
            let kind = socket2::Type::STREAM.nonblocking();
            let socket = socket2::Socket::new(socket2::Domain::for_address(addr), kind, None)?;
            socket.set_reuse_address(true)?;
            if reuse_port {
                set_reuse_port(&socket)?;
            }
            socket.bind(&addr.into())?;
            socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
            Ok(socket)
        })();
        match listening {
            Ok(socket) => return Ok(socket),
            Err(source) => {
                last = Error::Os {
                    syscall: "listen",
                    address: ip_text(&addr),
                    port: Some(addr.port()),
                    source,
                }
            }
        }
    }
    Err(last)
}

/// What `server.address()` reports of a listening TCP socket.
pub(super) fn listening_endpoints(socket: &socket2::Socket) -> Endpoints {
    let local = socket.local_addr().ok().and_then(|a| a.as_socket());
    Endpoints {
        local_address: local.as_ref().map(ip_text),
        local_port: local.map(|a| a.port()),
        remote_family: local.as_ref().map(family),
        ..Endpoints::default()
    }
}

#[cfg(unix)]
fn set_reuse_port(socket: &socket2::Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

/// No `SO_REUSEPORT` here: say so rather than bind exclusively in silence.
#[cfg(not(unix))]
fn set_reuse_port(_socket: &socket2::Socket) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
