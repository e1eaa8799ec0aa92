//! MessagePack-RPC for Node.js on a Rust core.
//!
//! Rust owns the sockets, framing, limits, write coalescing and lifetime;
//! JavaScript (`index.js`, `lib/`) owns the values. The core modules know
//! nothing of Node and are tested with `cargo test --no-default-features`;
//! everything `#[napi]` lives under [`js`].
//!
//! # Layout
//! - [`error`]: the error enum and its stable codes.
//! - [`framer`]: finds message boundaries and enforces size and depth limits.
//! - [`guard`]: turns a panic into [`error::Error::Internal`] at FFI entry points.
//! - [`message`]: checks the request/response/notification envelope.
//! - [`deframer`]: byte stream → batches of checked messages (and error replies).
//! - [`outbox`]: the coalescing write queue and the writer task it starts
//!   while a backlog waits.
//! - [`budget`]: the server-wide cap on bytes held for incomplete messages.
//! - [`connection`]: one connection (no task of its own): writer, end,
//!   events, and what the reader calls.
//! - [`reader`]: reading a socket (the libuv-free part of the
//!   JavaScript-thread reader).
//! - [`transport`]: addresses, TCP and unix sockets (write-only for Tokio:
//!   the JavaScript thread reads them).
//! - [`server`]: the accept loop.
//! - [`shutdown`]: the stop signal tasks wait on.
//! - [`runtime`]: the process-wide Tokio runtime.
//! - `js`: the napi binding (feature `node`).
#![deny(clippy::all)]
// Without the binding (`--no-default-features`, the Rust tests) only the
// tests use the core; dead code is found by the `node` build.
#![cfg_attr(not(feature = "node"), allow(dead_code))]

pub(crate) mod budget;
pub(crate) mod connection;
pub(crate) mod deframer;
pub(crate) mod error;
pub mod framer;
pub(crate) mod guard;
pub(crate) mod message;
pub(crate) mod outbox;
pub(crate) mod reader;
pub(crate) mod runtime;
pub(crate) mod server;
pub(crate) mod shutdown;
pub(crate) mod transport;

#[cfg(test)]
mod test_support;

#[cfg(feature = "node")]
mod js;
