//! `NativeDeframer`: framing and envelope checks for bytes that arrive in
//! JavaScript (any Duplex stream, child processes, stdio, UDP datagrams).

use bytes::BytesMut;
use napi::bindgen_prelude::{Buffer, Env};
use napi_derive::napi;

use crate::connection::Options;
use crate::deframer::Deframer;
use crate::error::Error;

use super::events::to_js_error;
use super::options::ConnectionOptions;

/// What one `push` found. Complete valid messages come one of two ways:
/// usually as `length`, the bytes at the front of the chunk pushed that are
/// complete valid messages (JavaScript decodes them from its own chunk, no
/// copy); when a message spanned chunks or a broken request was taken out,
/// as `messages`, a copy.
#[napi(object)]
pub struct DeframedBatch {
    /// Bytes at the front of the chunk that are complete valid messages
    /// (absent when none, or when they come as `messages`).
    pub length: Option<f64>,
    /// Complete valid messages, concatenated (absent when none).
    pub messages: Option<Buffer>,
    /// Error responses owed to the peer (absent when none).
    pub replies: Option<Buffer>,
}

/// Frames one byte stream.
#[napi]
pub struct NativeDeframer {
    deframer: Deframer,
    buf: BytesMut,
}

#[napi]
impl NativeDeframer {
    #[napi(constructor)]
    pub fn new(options: Option<ConnectionOptions>) -> Self {
        let options = Options::from(&options.unwrap_or_default());
        NativeDeframer {
            deframer: Deframer::new(options.limits),
            buf: BytesMut::new(),
        }
    }

    /// Adds `chunk`; returns the complete messages and any replies owed.
    /// Throws (`code` `ERR_MSGPACK_RPC_PROTOCOL`, ...) on bytes that are not
    /// MessagePack-RPC; the stream cannot continue after that.
    #[napi]
    pub fn push(&mut self, env: Env, chunk: &[u8]) -> napi::Result<DeframedBatch> {
        if self.buf.is_empty() {
            let prefix = self
                .deframer
                .valid_prefix(chunk)
                .map_err(|e| to_js_error(&env, &e))?;
            if let Some(valid) = prefix {
                // Only the start of an incomplete message is kept.
                self.buf.extend_from_slice(&chunk[valid..]);
                return Ok(DeframedBatch {
                    // Exact: chunks cannot approach 2^53 bytes.
                    length: (valid > 0).then_some(valid as f64),
                    messages: None,
                    replies: None,
                });
            }
        }
        self.buf.extend_from_slice(chunk);
        let deframed = self
            .deframer
            .take(&mut self.buf)
            .map_err(|e| to_js_error(&env, &e))?;
        Ok(DeframedBatch {
            length: None,
            messages: non_empty(deframed.messages),
            replies: non_empty(deframed.replies),
        })
    }

    /// Checks that the stream did not end inside a message.
    #[napi]
    pub fn finish(&mut self, env: Env) -> napi::Result<()> {
        Deframer::check_end(self.buf.len()).map_err(|e| to_js_error(&env, &e))
    }

    /// Frames one datagram, which must hold exactly one message.
    #[napi]
    pub fn datagram(&mut self, env: Env, datagram: &[u8]) -> napi::Result<DeframedBatch> {
        // Nothing of an earlier datagram may shape how this one is read.
        self.buf.clear();
        self.deframer.reset();
        let batch = self.push(env, datagram)?;
        if !self.buf.is_empty() {
            self.buf = BytesMut::new();
            let e = Error::Protocol("a datagram must hold exactly one whole message".into());
            return Err(to_js_error(&env, &e));
        }
        Ok(batch)
    }
}

fn non_empty(bytes: Vec<u8>) -> Option<Buffer> {
    (!bytes.is_empty()).then(|| Buffer::from(bytes))
}
