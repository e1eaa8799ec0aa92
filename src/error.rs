//! The crate's error type: one enum with a stable `code()` per variant.
//!
//! The protocol core returns [`Error`]; the binding layer (`js/`) is the one
//! place that turns it into a JavaScript error carrying `code`.

use std::io;

/// Everything the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes on a connection are not a valid MessagePack-RPC stream.
    #[error("protocol error; {0}")]
    Protocol(String),

    /// A message (or what its headers claim) exceeds the configured limit.
    #[error("message too large; {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: u64, limit: usize },

    /// A message nests arrays and maps deeper than the configured limit.
    #[error("protocol error; nesting deeper than {limit} levels")]
    TooDeep { limit: usize },

    /// The connection is closed; nothing more can be written to it.
    #[error("connection closed")]
    Closed,

    /// A bug: a task of ours panicked. Reported instead of crossing into JS.
    #[error("internal error; {0}")]
    Internal(String),

    /// An address could not be understood.
    #[error("invalid address; {0}")]
    InvalidAddress(String),

    /// The operating system refused an operation (read, write).
    #[error("{}", describe_io(.0))]
    Io(#[from] io::Error),

    /// Connecting or binding failed; the message reads like Node's
    /// (`connect ECONNREFUSED 127.0.0.1:8000`).
    #[error("{op} {} {target}", io_code(.source))]
    Os {
        op: &'static str,
        target: String,
        source: io::Error,
    },
}

impl Error {
    /// The stable code a JavaScript user can compare against.
    ///
    /// I/O errors keep Node's own codes (`ECONNREFUSED`, `EADDRINUSE`, ...)
    /// so code written for `net` keeps working.
    pub fn code(&self) -> String {
        match self {
            Error::Protocol(_) | Error::TooDeep { .. } => "ERR_MSGPACK_RPC_PROTOCOL".into(),
            Error::MessageTooLarge { .. } => "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE".into(),
            Error::Closed => "ERR_MSGPACK_RPC_CLOSED".into(),
            Error::Internal(_) => "ERR_MSGPACK_RPC_INTERNAL".into(),
            Error::InvalidAddress(_) => "ERR_MSGPACK_RPC_INVALID_ADDRESS".into(),
            Error::Io(err) | Error::Os { source: err, .. } => io_code(err).to_string(),
        }
    }
}

/// Node-style errno name for an I/O error (`ECONNREFUSED`, ...).
pub fn io_code(err: &io::Error) -> &'static str {
    if let Some(errno) = err.raw_os_error() {
        if let Some(name) = errno_name(errno) {
            return name;
        }
    }
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "ECONNREFUSED",
        io::ErrorKind::ConnectionReset => "ECONNRESET",
        io::ErrorKind::ConnectionAborted => "ECONNABORTED",
        io::ErrorKind::NotConnected => "ENOTCONN",
        io::ErrorKind::AddrInUse => "EADDRINUSE",
        io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        io::ErrorKind::BrokenPipe => "EPIPE",
        io::ErrorKind::NotFound => "ENOENT",
        io::ErrorKind::PermissionDenied => "EACCES",
        io::ErrorKind::TimedOut => "ETIMEDOUT",
        io::ErrorKind::InvalidInput => "EINVAL",
        _ => "EIO",
    }
}

fn errno_name(errno: i32) -> Option<&'static str> {
    // Linux errno values; other platforms fall back to the ErrorKind mapping.
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(match errno {
        1 => "EPERM",
        2 => "ENOENT",
        13 => "EACCES",
        22 => "EINVAL",
        24 => "EMFILE",
        32 => "EPIPE",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        107 => "ENOTCONN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        _ => return None,
    })
}

fn describe_io(err: &io::Error) -> String {
    format!("{} ({})", err, io_code(err))
}

/// Short for `std::result::Result<T, Error>`.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_node_codes() {
        let refused = Error::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.code(), "ECONNREFUSED");
        assert_eq!(Error::Closed.code(), "ERR_MSGPACK_RPC_CLOSED");
    }
}
