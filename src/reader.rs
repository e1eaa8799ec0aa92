//! Reading a connection's socket: the part of the JavaScript-thread reader
//! (`src/js/uv_reader.rs`) that knows nothing of libuv or N-API, so the
//! Rust tests drive the same code over real sockets.
//!
//! On each readiness the reader [`fill`]s its buffer, hands the complete
//! messages to [`crate::connection::Connection::drain_messages`], and on
//! end or failure reports [`at_end`]'s or the error's outcome with
//! [`crate::connection::Connection::read_finished`].

use bytes::BytesMut;

use crate::connection::ReadOutcome;
use crate::deframer::Deframer;
use crate::error::Error;
use crate::transport::WriteOnly;

/// Bytes asked of the kernel per read.
pub const READ_CHUNK: usize = 64 * 1024;
/// Bytes read per readiness at most, so one busy socket cannot starve the
/// event loop.
pub const READ_BUDGET: usize = 4 * READ_CHUNK;

/// How a [`fill`] ended.
#[derive(Debug)]
pub enum Filled {
    /// The socket has nothing more to read now.
    Empty,
    /// The read budget is spent; the socket may hold more.
    More,
    /// The peer ended its side.
    Eof,
    /// Reading failed; the connection cannot go on.
    Failed(Error),
}

/// Appends what `socket` has to `buf`, up to [`READ_BUDGET`] bytes.
pub fn fill(socket: &WriteOnly, buf: &mut BytesMut) -> Filled {
    let mut read = 0;
    while read < READ_BUDGET {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let room = buf.capacity() - buf.len();
        match socket.read_buf(buf) {
            Ok(0) => return Filled::Eof,
            // A read that did not fill the room emptied the socket: asking
            // again would only return WouldBlock, one syscall for nothing.
            // Bytes that arrive later are reported ready again.
            Ok(n) if n < room => return Filled::Empty,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Filled::Empty,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Filled::Failed(Error::Sys {
                    syscall: "read",
                    source,
                })
            }
        }
    }
    Filled::More
}

/// The outcome of reading the peer's end with `held` bytes of an
/// incomplete message still buffered (a protocol error when not zero).
pub fn at_end(held: usize) -> ReadOutcome {
    match Deframer::check_end(held) {
        Ok(()) => ReadOutcome::Eof,
        Err(e) => ReadOutcome::Failed(e),
    }
}
