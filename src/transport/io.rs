//! Readiness-based socket I/O shared by the connection's tasks and the
//! JavaScript thread.
//!
//! Every method takes `&self`, so one `Arc` of the socket serves the reader
//! task, the writer task and [`Io::try_write`] from the JavaScript thread: a
//! write made while the writer is idle goes straight to the socket with no
//! thread hop (design.md §2, "Latency").

use std::future::Future;
use std::io;
use std::net::Shutdown;

use bytes::BytesMut;
use tokio::net::{TcpStream, UnixStream};

/// A connected stream socket.
pub trait Io: Send + Sync + 'static {
    /// Resolves when the socket may be readable.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Resolves when the socket may be writable.
    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Reads what is available without blocking (`WouldBlock` when nothing is).
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Writes what fits without blocking; callable from any thread.
    fn try_write(&self, data: &[u8]) -> io::Result<usize>;
    /// Sends FIN: the peer reads end-of-stream after what was written.
    fn shutdown_write(&self) -> io::Result<()>;
}

/// The part of [`Io`] the JavaScript thread uses (object safe).
pub trait DirectWrite: Send + Sync {
    fn try_write(&self, data: &[u8]) -> io::Result<usize>;
}

impl<T: Io> DirectWrite for T {
    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        Io::try_write(self, data)
    }
}

macro_rules! impl_io {
    ($ty:ty) => {
        impl Io for $ty {
            fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
                <$ty>::readable(self)
            }
            fn writable(&self) -> impl Future<Output = io::Result<()>> + Send {
                <$ty>::writable(self)
            }
            fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
                <$ty>::try_read_buf(self, buf)
            }
            fn try_write(&self, data: &[u8]) -> io::Result<usize> {
                <$ty>::try_write(self, data)
            }
            fn shutdown_write(&self) -> io::Result<()> {
                socket2::SockRef::from(self).shutdown(Shutdown::Write)
            }
        }
    };
}

impl_io!(TcpStream);
impl_io!(UnixStream);
