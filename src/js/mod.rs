//! The napi binding: the only code that knows about Node.
//!
//! Each native object forwards its events to one JavaScript callback as
//! `(kind, payload)` pairs (see [`events`]): a server from its libuv poll,
//! connections through their reader and their thread's [`event_hub`].
//! `index.js` and `lib/` build the public API on top.

mod adopt;
mod callback;
mod connection;
mod constants;
mod deframer;
mod event_hub;
mod events;
mod options;
mod poller;
mod read_buffer;
mod server;
mod teardown;
mod uv;
mod uv_reader;
