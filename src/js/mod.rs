//! The napi binding: the only code that knows about Node.
//!
//! Each native object forwards its events to one JavaScript callback through
//! one threadsafe function, as `(kind, payload)` pairs (see [`events`]).
//! `index.js` and `lib/` build the public API on top.

mod adopt;
mod connection;
mod constants;
mod deframer;
mod events;
mod options;
mod read_buffer;
mod server;
mod teardown;
mod uv_reader;
