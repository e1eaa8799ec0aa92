//! TCP: connecting with Nagle off, and a listener bound like Node's `listen`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::net::{TcpListener, TcpSocket, TcpStream};

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
            Err(source) => {
                last = Error::Os {
                    syscall: "connect",
                    address: ip_text(&addr),
                    port: Some(addr.port()),
                    source,
                }
            }
        }
    }
    Err(last)
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn family(addr: &SocketAddr) -> String {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }.to_string()
}

/// Node reports IPv4-mapped IPv6 peers of a dual-stack socket as `::ffff:a.b.c.d`.
fn ip_text(addr: &SocketAddr) -> String {
    addr.ip().to_string()
}

pub(super) fn endpoints(stream: &TcpStream) -> Endpoints {
    let remote = stream.peer_addr().ok();
    let local = stream.local_addr().ok();
    Endpoints {
        remote_address: remote.as_ref().map(ip_text),
        remote_port: remote.map(|a| a.port()),
        remote_family: remote.as_ref().map(family),
        local_address: local.as_ref().map(ip_text),
        local_port: local.map(|a| a.port()),
    }
}

/// A listening TCP socket.
#[derive(Debug)]
pub struct TcpAcceptor {
    listener: TcpListener,
}

impl TcpAcceptor {
    /// Binds `host:port` with `SO_REUSEADDR`, as Node does, and with
    /// `reuse_port` also `SO_REUSEPORT`: every process that sets it may bind
    /// the same port, and the kernel spreads new connections over them
    /// (Node's `reusePort`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the name resolves to nothing, else the last
    /// address's [`Error::Os`] (`listen`, with that address and port).
    pub fn bind_with(host: &str, port: u16, backlog: u32, reuse_port: bool) -> Result<Self> {
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .unwrap_or_default();
        let mut last = Error::NotFound {
            hostname: host.to_string(),
        };
        for addr in addrs {
            let listening = (|| {
                let socket = if addr.is_ipv4() {
                    TcpSocket::new_v4()?
                } else {
                    TcpSocket::new_v6()?
                };
                socket.set_reuseaddr(true)?;
                if reuse_port {
                    set_reuse_port(&socket)?;
                }
                socket.bind(addr)?;
                socket.listen(backlog)
            })();
            match listening {
                Ok(listener) => return Ok(TcpAcceptor { listener }),
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

    /// Accepts on a socket that is already listening (an inherited or
    /// handed-over descriptor). Must be called inside the runtime.
    ///
    /// # Errors
    /// When the runtime cannot register it.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(TcpAcceptor {
            listener: TcpListener::from_std(listener)?,
        })
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    pub fn local(&self) -> Endpoints {
        let local = self.listener.local_addr().ok();
        Endpoints {
            local_address: local.as_ref().map(ip_text),
            local_port: local.map(|a| a.port()),
            remote_family: local.as_ref().map(family),
            ..Endpoints::default()
        }
    }
}

#[cfg(unix)]
fn set_reuse_port(socket: &TcpSocket) -> io::Result<()> {
    socket.set_reuseport(true)
}

/// No `SO_REUSEPORT` here: say so rather than bind exclusively in silence.
#[cfg(not(unix))]
fn set_reuse_port(_socket: &TcpSocket) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
