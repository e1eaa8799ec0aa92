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
        match socket.read_buf(buf) {
            Ok(0) => return Filled::Eof,
            // A read that did not fill the room need not have emptied the
            // socket: the kernel stops short at a TCP urgent mark, and at a
            // unix message that carried descriptors or out-of-band data. The
            // socket is reported ready only when more arrives, so it is read
            // until it says it has nothing (one more call per readiness).
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A connected TCP pair: ours as the reader takes it, and the peer's.
    fn tcp_pair() -> (WriteOnly, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        (
            WriteOnly::from_socket(socket2::Socket::from(ours), false),
            peer,
        )
    }

    #[test]
    fn bytes_past_a_tcp_urgent_mark_are_read_in_the_same_fill() {
        let (ours, mut peer) = tcp_pair();
        peer.write_all(b"abc").unwrap();
        socket2::SockRef::from(&peer)
            .send_out_of_band(b"!")
            .unwrap();
        peer.write_all(b"def").unwrap();
        // Loopback delivers within the sends: one fill must take it all.
        let mut buf = BytesMut::new();
        assert!(matches!(fill(&ours, &mut buf), Filled::Empty));
        // The urgent byte is out of band (not inline): the stream is the rest.
        assert_eq!(&buf[..], b"abcdef");
    }

    #[test]
    fn a_fill_reports_the_end_that_follows_the_last_bytes() {
        let (ours, mut peer) = tcp_pair();
        peer.write_all(b"last").unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        let mut buf = BytesMut::new();
        assert!(matches!(fill(&ours, &mut buf), Filled::Eof));
        assert_eq!(&buf[..], b"last");
    }
}
