//! A socket Tokio only writes, registered with its reactor only while a
//! write waits.
//!
//! When the JavaScript thread reads a connection (`src/js/uv_reader.rs`),
//! Tokio only writes it. A socket registered with the runtime's reactor wakes
//! the runtime thread whenever the socket signals a waiter, though no task
//! waits: for every packet that arrives and, on unix sockets, every time the
//! peer reads what was sent (docs/design.md, "Reads", has the counts). So the
//! socket is registered, for writability only,
//! just while the writer waits for room, and deregistered after.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use bytes::BytesMut;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::tcp::{family, ip_text};
use super::unix::unix_path;
use super::{Endpoints, Io, Socket};

/// Send buffer asked for on unix sockets: the default high-water mark, so
/// what a connection may queue before reporting backpressure fits the
/// kernel's buffer and is written from the caller's thread.
pub const UNIX_SEND_BUFFER: usize = 1024 * 1024;

/// A connected stream socket whose reads are done elsewhere.
#[derive(Debug)]
pub struct WriteOnly {
    socket: socket2::Socket,
    unix: bool,
    /// The peer's address where it came free (from accept, or the address
    /// connected to): the system forgets it once the connection is closed,
    /// and JavaScript may first ask then.
    peer: Option<SocketAddr>,
}

/// The socket's descriptor, borrowed for one wait on the reactor.
struct Descriptor(RawFd);

impl AsRawFd for Descriptor {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl WriteOnly {
    /// Takes `socket` off the reactor (it stays non-blocking).
    ///
    /// # Errors
    /// When the reactor cannot let go of the descriptor.
    pub fn new(socket: Socket) -> io::Result<Self> {
        let (owned, unix, peer): (OwnedFd, bool, _) = match socket {
            Socket::Tcp(s) => {
                let peer = s.peer_addr().ok();
                (s.into_std()?.into(), false, peer)
            }
            Socket::Unix(s) => (s.into_std()?.into(), true, None),
        };
        Ok(Self::from_socket(socket2::Socket::from(owned), unix).with_peer(peer))
    }

    /// Wraps a non-blocking socket that no reactor knows (a unix socket
    /// connected from the JavaScript thread).
    pub fn from_socket(socket: socket2::Socket, unix: bool) -> Self {
        if unix {
            // TCP grows its send buffer as needed; a unix socket keeps the
            // system default (about 200 KiB), which a few large messages
            // overflow, sending every write that does not fit to the writer
            // task: a thread wake-up per write. Best effort: the system
            // caps the size (net.core.wmem_max) and a smaller buffer only
            // costs those wake-ups.
            // The system default is read once (from the first socket), not
            // on every connection.
            static DEFAULT_IS_SMALLER: OnceLock<bool> = OnceLock::new();
            let smaller = *DEFAULT_IS_SMALLER.get_or_init(|| {
                socket
                    .send_buffer_size()
                    .is_ok_and(|n| n < UNIX_SEND_BUFFER)
            });
            if smaller {
                let _ = socket.set_send_buffer_size(UNIX_SEND_BUFFER);
            }
        }
        WriteOnly {
            socket,
            unix,
            peer: None,
        }
    }

    /// Remembers the peer's address (a TCP socket's, known without asking).
    #[must_use]
    pub fn with_peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// The socket's pending error (`SO_ERROR`), cleared: how a
    /// non-blocking connect ended.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.take_error()
    }

    /// Whether this is a unix socket (else TCP).
    pub fn is_unix(&self) -> bool {
        self.unix
    }

    /// Where each end is: the peer's as remembered or asked of the system,
    /// ours asked of the system (one call): JavaScript asks when it needs
    /// them, most connections never do.
    pub fn endpoints(&self) -> Endpoints {
        if self.unix {
            return Endpoints {
                local_address: unix_path(self.socket.local_addr().ok()),
                ..Endpoints::default()
            };
        }
        let remote = self
            .peer
            .or_else(|| self.socket.peer_addr().ok().and_then(|a| a.as_socket()));
        let local = self.socket.local_addr().ok().and_then(|a| a.as_socket());
        Endpoints {
            remote_address: remote.as_ref().map(ip_text),
            remote_port: remote.map(|a| a.port()),
            remote_family: remote.as_ref().map(family),
            local_address: local.as_ref().map(ip_text),
            local_port: local.map(|a| a.port()),
        }
    }

    /// Appends what is available to `buf`'s spare capacity without
    /// blocking (`WouldBlock` when nothing is); callable from any thread.
    pub fn read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = self.socket.recv(buf.spare_capacity_mut())?;
        // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }
}

impl WriteOnly {
    /// Resolves when the socket may be readable: for the Rust tests, which
    /// stand in for libuv's poll (registered only for this wait, like
    /// `writable`).
    #[cfg(test)]
    pub async fn readable(&self) -> io::Result<()> {
        // SAFETY: as in `writable`.
        let registered = unsafe {
            AsyncFd::register_with_interest(Descriptor(self.socket.as_raw_fd()), Interest::READABLE)
        }
        .map_err(io::Error::from)?;
        let _ready = registered.readable().await?;
        Ok(())
    }
}

impl Io for WriteOnly {
    async fn writable(&self) -> io::Result<()> {
        // Registering reports the socket's state at once, so room made
        // since the write that would have blocked is not missed; dropping
        // the registration on return deregisters it.
        // SAFETY: `self.socket` keeps the descriptor open and unchanged for
        // longer than this registration, which ends with this call.
        let registered = unsafe {
            AsyncFd::register_with_interest(Descriptor(self.socket.as_raw_fd()), Interest::WRITABLE)
        }
        .map_err(io::Error::from)?;
        let _ready = registered.writable().await?;
        Ok(())
    }

    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        (&self.socket).write(data)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.socket.shutdown(Shutdown::Write)
    }
}

impl AsRawFd for WriteOnly {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn writes_reads_and_shuts_down_without_a_read_registration() {
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let socket = WriteOnly::new(Socket::Unix(ours)).unwrap();

        // Fill the socket until it pushes back, then let the writer wait.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0;
        loop {
            match socket.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let mut drained = vec![0u8; sent];
        let reading = tokio::spawn(async move {
            theirs.read_exact(&mut drained).await.unwrap();
            theirs
        });
        tokio::time::timeout(std::time::Duration::from_secs(5), socket.writable())
            .await
            .expect("writable once the peer reads")
            .unwrap();
        let mut theirs = reading.await.unwrap();

        theirs.write_all(b"hello").await.unwrap();
        let mut buf = BytesMut::with_capacity(16);
        for _ in 0..1000 {
            match socket.read_buf(&mut buf) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => tokio::task::yield_now().await,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&buf[..], b"hello");

        socket.shutdown_write().unwrap();
        let mut rest = Vec::new();
        theirs.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }
}
