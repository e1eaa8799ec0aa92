//! The facts JavaScript needs from the core, exported once from here
//! (`lib/binding.js` re-exports them) so neither side restates the other's.
//!
//! N-API numbers: every value fits `u32` (checked at compile time).
//! Error codes are strings.

// napi-derive registers the exports only outside `cfg(test)`, where nothing
// else reads them.
#![cfg_attr(test, allow(dead_code))]

use napi_derive::napi;

use crate::{budget, error::codes, framer, outbox, reader};

use super::read_buffer;

const fn js(n: usize) -> u32 {
    assert!(n <= u32::MAX as usize);
    n as u32
}

/// Outbox size past which `write()` asks the caller to wait for a drain.
#[napi]
pub const DEFAULT_HIGH_WATER_MARK: u32 = js(outbox::DEFAULT_HIGH_WATER_MARK);
/// Nesting depth past which a message is refused.
#[napi]
pub const DEFAULT_MAX_DEPTH: u32 = js(framer::DEFAULT_MAX_DEPTH);
/// Size past which a message is refused.
#[napi]
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = js(framer::DEFAULT_MAX_MESSAGE_SIZE);
/// A server's default cap on bytes held for incomplete messages.
#[napi]
pub const DEFAULT_MAX_BUFFERED_BYTES: u32 = js(budget::DEFAULT_MAX_BUFFERED_BYTES);
/// Bytes asked of the kernel per read.
#[napi]
pub const READ_CHUNK: u32 = js(reader::READ_CHUNK);
/// Bytes of complete messages per MESSAGES event at most (a bigger message
/// comes alone).
#[napi]
pub const BATCH_SIZE: u32 = js(read_buffer::CAPACITY);

/// The code of a connection whose bytes are not MessagePack-RPC.
#[napi]
pub const ERR_PROTOCOL: &str = codes::PROTOCOL;
/// The code of a message (or incomplete messages held) over a size limit.
#[napi]
pub const ERR_MESSAGE_TOO_LARGE: &str = codes::MESSAGE_TOO_LARGE;
/// The code of a write to a connection that is closed.
#[napi]
pub const ERR_CLOSED: &str = codes::CLOSED;
/// The code of a bug in the core (a panic caught at the boundary).
#[napi]
pub const ERR_INTERNAL: &str = codes::INTERNAL;
