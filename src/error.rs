//! The crate's error type: one enum with a stable `code()` per variant.
//!
//! The protocol core returns [`Error`]; the binding layer (`js/`) is the one
//! place that turns it into a JavaScript error carrying `code`.

use std::io;

/// The codes this crate's own errors carry. JavaScript reads them from the
/// addon (`src/js/constants.rs`), so each is spelled here alone.
pub(crate) mod codes {
    pub(crate) const PROTOCOL: &str = "ERR_MSGPACK_RPC_PROTOCOL";
    pub(crate) const MESSAGE_TOO_LARGE: &str = "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE";
    pub(crate) const CLOSED: &str = "ERR_MSGPACK_RPC_CLOSED";
    pub(crate) const INTERNAL: &str = "ERR_MSGPACK_RPC_INTERNAL";
}

/// Everything the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes on a connection are not a valid MessagePack-RPC stream.
    #[error("protocol error; {0}")]
    Protocol(String),

    /// A message (or what its headers claim) exceeds the configured limit.
    #[error("message too large; {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: u64, limit: usize },

    /// The server's connections together hold more than `maxBufferedBytes`
    /// of incomplete messages, and this connection holds the most.
    #[error("message too large; the server's connections hold more than maxBufferedBytes ({limit} bytes) of incomplete messages, {held} of them on this connection")]
    BufferBudget { limit: usize, held: usize },

    /// A message nests arrays and maps deeper than the configured limit.
    #[error("protocol error; nesting deeper than {limit} levels")]
    TooDeep { limit: usize },

    /// The connection is closed; nothing more can be written to it.
    #[error("connection closed")]
    Closed,

    /// A bug: a task of ours panicked. Reported instead of crossing into JS.
    #[error("internal error; {0}")]
    Internal(String),

    /// The operating system refused an operation.
    #[error("{}", describe_io(.0))]
    Io(#[from] io::Error),

    /// A read or write on a connected socket failed; the message reads like
    /// Node's (`read ECONNRESET`).
    #[error("{syscall} {}", io_code(.source))]
    Sys {
        syscall: &'static str,
        source: io::Error,
    },

    /// Connecting or binding failed; the message reads like Node's
    /// (`connect ECONNREFUSED 127.0.0.1:8000`).
    #[error("{syscall} {} {address}{}", io_code(.source), port.map(|p| format!(":{p}")).unwrap_or_default())]
    Os {
        /// `connect` or `listen`.
        syscall: &'static str,
        /// The IP address (or unix socket path) tried last.
        address: String,
        port: Option<u16>,
        source: io::Error,
    },

    /// A host name did not resolve (`getaddrinfo ENOTFOUND example.invalid`).
    #[error("getaddrinfo ENOTFOUND {hostname}")]
    NotFound { hostname: String },
}

/// What Node puts on an OS error besides `code` and `message`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OsDetails {
    /// Negative, as libuv reports it (`ECONNREFUSED` is -111 on Linux).
    pub errno: Option<i32>,
    pub syscall: Option<&'static str>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub hostname: Option<String>,
}

/// libuv's `UV_EAI_NONAME`, the errno Node gives `ENOTFOUND`.
const UV_EAI_NONAME: i32 = -3008;

impl Error {
    /// The stable code a JavaScript user can compare against.
    ///
    /// I/O errors keep Node's own codes (`ECONNREFUSED`, `EADDRINUSE`, ...)
    /// so code written for `net` keeps working.
    pub fn code(&self) -> String {
        match self {
            Error::Protocol(_) | Error::TooDeep { .. } => codes::PROTOCOL.into(),
            Error::MessageTooLarge { .. } | Error::BufferBudget { .. } => {
                codes::MESSAGE_TOO_LARGE.into()
            }
            Error::Closed => codes::CLOSED.into(),
            Error::Internal(_) => codes::INTERNAL.into(),
            Error::Io(err) | Error::Sys { source: err, .. } | Error::Os { source: err, .. } => {
                io_code(err).to_string()
            }
            Error::NotFound { .. } => "ENOTFOUND".into(),
        }
    }

    /// Whether this is the operating system saying the peer is gone (reset,
    /// broken pipe, no longer connected) on an established connection: the
    /// peer closed it, which is not a failure of ours.
    pub fn is_peer_gone(&self) -> bool {
        match self {
            Error::Sys { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::NotConnected
            ),
            _ => false,
        }
    }

    /// Node's `errno`, `syscall`, `address`, `port` and `hostname` for this error.
    pub fn details(&self) -> OsDetails {
        let errno = |e: &io::Error| e.raw_os_error().map(|n| -n);
        match self {
            Error::Io(e) => OsDetails {
                errno: errno(e),
                ..OsDetails::default()
            },
            Error::Sys { syscall, source } => OsDetails {
                errno: errno(source),
                syscall: Some(syscall),
                ..OsDetails::default()
            },
            Error::Os {
                syscall,
                address,
                port,
                source,
            } => OsDetails {
                errno: errno(source),
                syscall: Some(syscall),
                address: Some(address.clone()),
                port: *port,
                hostname: None,
            },
            Error::NotFound { hostname } => OsDetails {
                errno: Some(UV_EAI_NONAME),
                syscall: Some("getaddrinfo"),
                hostname: Some(hostname.clone()),
                ..OsDetails::default()
            },
            _ => OsDetails::default(),
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
        9 => "EBADF",
        13 => "EACCES",
        22 => "EINVAL",
        24 => "EMFILE",
        32 => "EPIPE",
        88 => "ENOTSOCK",
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

    #[test]
    fn os_errors_carry_node_style_details() {
        let refused = Error::Os {
            syscall: "connect",
            address: "127.0.0.1".into(),
            port: Some(1),
            source: io::Error::from_raw_os_error(111),
        };
        assert_eq!(refused.to_string(), "connect ECONNREFUSED 127.0.0.1:1");
        let d = refused.details();
        assert_eq!(d.errno, Some(-111));
        assert_eq!(d.syscall, Some("connect"));
        assert_eq!(d.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(d.port, Some(1));
        let unknown = Error::NotFound {
            hostname: "x.invalid".into(),
        };
        assert_eq!(unknown.code(), "ENOTFOUND");
        assert_eq!(unknown.to_string(), "getaddrinfo ENOTFOUND x.invalid");
        assert_eq!(unknown.details().hostname.as_deref(), Some("x.invalid"));
        assert_eq!(unknown.details().syscall, Some("getaddrinfo"));
    }
}
