//! Turns a byte stream into batches of complete, envelope-checked messages.
//!
//! Used by every connection's reader and, through the binding, by streams
//! whose bytes arrive in JavaScript (`attach`, `spawn`, `stdio`, UDP). A
//! request whose envelope is broken but whose msgid can be read is answered
//! with an error response (returned in [`Deframed::replies`]); anything else
//! that is not MessagePack-RPC is an error and ends the stream.

use bytes::{Buf, BytesMut};

use crate::error::{Error, Result};
use crate::framer::{Framer, Limits};
use crate::message::{self, error_response};

/// What one [`Deframer::take`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deframed {
    /// Complete valid messages, concatenated, in order.
    pub messages: Vec<u8>,
    /// Error responses owed for requests with broken envelopes.
    pub replies: Vec<u8>,
}

/// Framing state of one byte stream.
#[derive(Debug)]
pub struct Deframer {
    framer: Framer,
}

impl Deframer {
    /// A deframer enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Deframer {
            framer: Framer::new(limits),
        }
    }

    /// Removes every complete message from the front of `buf`.
    ///
    /// # Errors
    /// Bytes that are not MessagePack-RPC, or limits exceeded; the stream
    /// cannot continue after an error.
    pub fn take(&mut self, buf: &mut BytesMut) -> Result<Deframed> {
        let mut out = Deframed::default();
        // Valid messages are contiguous from the start of `buf` up to `valid`.
        let mut valid = 0;
        while let Some(len) = self.framer.next_frame(&buf[valid..])? {
            match message::check(&buf[valid..valid + len]) {
                Ok(_) => valid += len,
                Err(invalid) => {
                    let Some(msgid) = invalid.msgid else {
                        return Err(Error::Protocol(invalid.reason));
                    };
                    out.messages.extend_from_slice(&buf[..valid]);
                    buf.advance(valid + len);
                    valid = 0;
                    out.replies.extend(error_response(
                        msgid,
                        &format!("invalid request; {}", invalid.reason),
                    ));
                }
            }
        }
        if out.messages.is_empty() {
            out.messages = buf[..valid].to_vec();
        } else {
            out.messages.extend_from_slice(&buf[..valid]);
        }
        buf.advance(valid);
        Ok(out)
    }

    /// The error for a stream that ended with `buffered` bytes of an
    /// unfinished message, if any.
    pub fn check_end(buffered: usize) -> Result<()> {
        if buffered == 0 {
            return Ok(());
        }
        Err(Error::Protocol(format!(
            "connection ended in the middle of a message ({buffered} bytes buffered)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    fn bytes(v: Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &v).unwrap();
        out
    }

    #[test]
    fn takes_complete_messages_and_keeps_the_rest() {
        let a = bytes(Value::Array(vec![
            2.into(),
            "a".into(),
            Value::Array(vec![]),
        ]));
        let b = bytes(Value::Array(vec![
            2.into(),
            "b".into(),
            Value::Array(vec![]),
        ]));
        let mut buf = BytesMut::from(&[a.clone(), b[..3].to_vec()].concat()[..]);
        let mut d = Deframer::new(Limits::default());
        let got = d.take(&mut buf).unwrap();
        assert_eq!(got.messages, a);
        assert!(got.replies.is_empty());
        buf.extend_from_slice(&b[3..]);
        assert_eq!(d.take(&mut buf).unwrap().messages, b);
        assert!(buf.is_empty());
    }

    #[test]
    fn answers_broken_requests_and_keeps_the_valid_ones_around_them() {
        let ok1 = bytes(Value::Array(vec![
            2.into(),
            "a".into(),
            Value::Array(vec![]),
        ]));
        let bad = bytes(Value::Array(vec![
            0.into(),
            8.into(),
            "m".into(),
            Value::Nil,
        ]));
        let ok2 = bytes(Value::Array(vec![
            2.into(),
            "b".into(),
            Value::Array(vec![]),
        ]));
        let mut buf = BytesMut::from(&[ok1.clone(), bad, ok2.clone()].concat()[..]);
        let got = Deframer::new(Limits::default()).take(&mut buf).unwrap();
        assert_eq!(got.messages, [ok1, ok2].concat());
        let reply = rmpv::decode::read_value(&mut &got.replies[..]).unwrap();
        assert_eq!(reply[1], Value::from(8));
    }

    #[test]
    fn an_unfinished_message_at_the_end_is_an_error() {
        assert!(Deframer::check_end(0).is_ok());
        assert_eq!(
            Deframer::check_end(3).unwrap_err().code(),
            "ERR_MSGPACK_RPC_PROTOCOL"
        );
    }
}
