//! Readiness-based socket writes shared by the connection's writer task and
//! the JavaScript thread.
//!
//! Every method takes `&self`, so one `Arc` of the socket serves the writer
//! task and [`Io::try_write`] from the JavaScript thread: a write made while
//! no writer runs goes straight to the socket with no thread hop
//! (design.md §2, "Latency"). Reads are the JavaScript thread's
//! (`src/js/uv_reader.rs`, through [`crate::reader`]).

use std::future::Future;
use std::io;

/// The writing side of a connected stream socket.
pub trait Io: Send + Sync + 'static {
    /// Resolves when the socket may be writable.
    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Writes what fits without blocking; callable from any thread.
    fn try_write(&self, data: &[u8]) -> io::Result<usize>;
    /// Sends FIN: the peer reads end-of-stream after what was written.
    fn shutdown_write(&self) -> io::Result<()>;
}
