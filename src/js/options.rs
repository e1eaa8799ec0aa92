//! Options objects passed from JavaScript, and the addresses they name.

use napi_derive::napi;

use std::sync::Arc;

use crate::budget::{PartialBudget, DEFAULT_MAX_BUFFERED_BYTES};
use crate::connection::Options;
use crate::framer::Limits;
use crate::transport::Addr;

/// Where to connect or listen: `{ path }` or `{ host, port }`.
#[napi(object)]
pub struct Target {
    pub path: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
}

impl Target {
    pub fn to_addr(&self, default_host: &str) -> napi::Result<Addr> {
        if let Some(path) = &self.path {
            return Ok(Addr::Unix(path.into()));
        }
        let port = self.port.unwrap_or(0);
        let port = u16::try_from(port).map_err(|_| {
            napi::Error::new(
                napi::Status::InvalidArg,
                format!("port should be >= 0 and < 65536, got {port}"),
            )
        })?;
        Ok(Addr::Tcp {
            host: self.host.clone().unwrap_or_else(|| default_host.into()),
            port,
        })
    }
}

/// Limits and buffering of a connection (all optional).
#[napi(object)]
#[derive(Default)]
pub struct ConnectionOptions {
    pub max_message_size: Option<u32>,
    pub max_depth: Option<u32>,
    pub high_water_mark: Option<u32>,
    /// Servers: stop reading requests while this many bytes of replies wait.
    pub max_queued_replies: Option<u32>,
    /// Servers: bytes of incomplete messages all connections may hold
    /// together (default 256 MiB; validated in JavaScript).
    pub max_buffered_bytes: Option<f64>,
}

impl ConnectionOptions {
    /// The server-wide budget for incomplete messages these options ask for.
    pub fn partial_budget(&self) -> Arc<PartialBudget> {
        PartialBudget::new(
            self.max_buffered_bytes
                .filter(|n| n.is_finite() && *n >= 1.0)
                // Saturating: a budget past usize::MAX is no budget.
                .map_or(DEFAULT_MAX_BUFFERED_BYTES, |n| n as usize),
        )
    }
}

impl From<&ConnectionOptions> for Options {
    fn from(js: &ConnectionOptions) -> Options {
        let defaults = Options::default();
        Options {
            limits: Limits {
                max_message_size: js
                    .max_message_size
                    .map_or(defaults.limits.max_message_size, |n| n as usize),
                max_depth: js
                    .max_depth
                    .map_or(defaults.limits.max_depth, |n| n as usize),
            },
            max_queued_replies: js.max_queued_replies.map(|n| n as usize),
            high_water_mark: js
                .high_water_mark
                .map_or(defaults.high_water_mark, |n| n as usize),
        }
    }
}
