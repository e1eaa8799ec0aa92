//! Unix domain sockets. The listener removes its socket file when dropped,
//! as Node's does on `close()`.

use std::io;
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use super::Endpoints;

pub async fn connect_unix(path: &Path) -> io::Result<UnixStream> {
    UnixStream::connect(path).await
}

/// Connects within the call, for the thread that cannot wait: a unix
/// socket's connect completes or fails at once unless the listener's
/// backlog is full (`None`: connect with [`connect_unix`] instead). The
/// socket is non-blocking and registered with no reactor.
pub fn connect_unix_now(path: &Path) -> Option<io::Result<(socket2::Socket, Endpoints)>> {
    let connected = (|| -> io::Result<(socket2::Socket, Endpoints)> {
        // Close-on-exec and non-blocking from the start (socket2 sets the
        // former).
        let kind = socket2::Type::STREAM.nonblocking();
        let socket = socket2::Socket::new(socket2::Domain::UNIX, kind, None)?;
        socket.connect(&socket2::SockAddr::unix(path)?)?;
        let local = socket.local_addr()?;
        let endpoints = Endpoints {
            local_address: local.as_pathname().map(|p| p.display().to_string()),
            ..Endpoints::default()
        };
        Ok((socket, endpoints))
    })();
    match connected {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        connected => Some(connected),
    }
}

pub(super) fn endpoints(stream: &UnixStream) -> Endpoints {
    let path = stream
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.display().to_string()));
    Endpoints {
        local_address: path,
        ..Endpoints::default()
    }
}

/// A listening unix socket.
#[derive(Debug)]
pub struct UnixAcceptor {
    listener: UnixListener,
    path: PathBuf,
    /// Whether `close` removes the socket file: not for an inherited socket,
    /// whose file belongs to whoever created it (systemd, a parent).
    owns_path: bool,
}

impl UnixAcceptor {
    /// Binds `path`. Like Node, an existing file is an `EADDRINUSE` error.
    ///
    /// # Errors
    /// Bind errors.
    pub fn bind(path: &Path) -> io::Result<Self> {
        Ok(UnixAcceptor {
            listener: UnixListener::bind(path)?,
            path: path.to_path_buf(),
            owns_path: true,
        })
    }

    /// Accepts on a socket that is already listening (an inherited or
    /// handed-over descriptor). Must be called inside the runtime.
    ///
    /// # Errors
    /// When the runtime cannot register it.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let path = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(Path::to_path_buf))
            .unwrap_or_default();
        Ok(UnixAcceptor {
            listener: UnixListener::from_std(listener)?,
            path,
            owns_path: false,
        })
    }

    pub async fn accept(&self) -> io::Result<UnixStream> {
        let (stream, _) = self.listener.accept().await?;
        Ok(stream)
    }

    pub fn local(&self) -> Endpoints {
        Endpoints {
            local_address: Some(self.path.display().to_string()),
            ..Endpoints::default()
        }
    }
}

impl Drop for UnixAcceptor {
    fn drop(&mut self) {
        if self.owns_path {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
