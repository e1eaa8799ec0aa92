//! Unix domain sockets: connecting (from the runtime, or at once) and
//! binding a listening socket.

use std::io;
use std::path::Path;

use tokio::net::UnixStream;

pub async fn connect_unix(path: &Path) -> io::Result<UnixStream> {
    UnixStream::connect(path).await
}

/// Connects within the call, for the thread that cannot wait: a unix
/// socket's connect completes or fails at once unless the listener's
/// backlog is full (`None`: connect with [`connect_unix`] instead). The
/// socket is non-blocking and registered with no reactor.
pub fn connect_unix_now(path: &Path) -> Option<io::Result<socket2::Socket>> {
    let connected = (|| -> io::Result<socket2::Socket> {
        // Close-on-exec and non-blocking from the start (socket2 sets the
        // former).
        let kind = socket2::Type::STREAM.nonblocking();
        let socket = socket2::Socket::new(socket2::Domain::UNIX, kind, None)?;
        socket.connect(&socket2::SockAddr::unix(path)?)?;
        Ok(socket)
    })();
    match connected {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        connected => Some(connected),
    }
}

/// A unix socket address's path (none for an unnamed socket).
pub(super) fn unix_path(addr: Option<socket2::SockAddr>) -> Option<String> {
    addr.and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
}

/// Binds `path` and listens, non-blocking, registered with no reactor. Like
/// Node, an existing file is an `EADDRINUSE` error.
///
/// # Errors
/// Bind errors.
pub(super) fn bind_unix(path: &Path, backlog: u32) -> io::Result<socket2::Socket> {
    let kind = socket2::Type::STREAM.nonblocking();
    let socket = socket2::Socket::new(socket2::Domain::UNIX, kind, None)?;
    socket.bind(&socket2::SockAddr::unix(path)?)?;
    if let Err(e) = socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX)) {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(socket)
}
