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

    /// Forgets a partly scanned message: the next bytes start a new one
    /// (each datagram is framed on its own).
    pub fn reset(&mut self) {
        self.framer = Framer::new(self.framer.limits());
    }

    /// Takes every complete message out of `buf`: the valid ones in one
    /// batch, plus the error responses owed to broken requests.
    ///
    /// # Errors
    /// Bytes that are not MessagePack, a message over the limits, or a
    /// broken message without a msgid: the connection cannot go on.
    pub fn take(&mut self, buf: &mut BytesMut) -> Result<Deframed> {
        let mut messages = Vec::new();
        let mut replies = Vec::new();
        self.drain(
            buf,
            usize::MAX,
            |batch| {
                messages.extend_from_slice(batch);
                true
            },
            |reply| replies.extend_from_slice(reply),
        )?;
        Ok(Deframed { messages, replies })
    }

    /// Frames `chunk` where it lies, when a new message starts at its front
    /// and every complete message in it is valid: returns how many bytes at
    /// its front are complete messages (what follows starts an incomplete
    /// one, which the framer has scanned as far as `chunk` goes, so it must
    /// be framed on from a buffer holding it). `None` when a complete
    /// message is not valid: frame the whole chunk through [`Deframer::take`]
    /// instead, which answers or refuses it.
    ///
    /// # Errors
    /// As [`Deframer::take`].
    pub fn valid_prefix(&mut self, chunk: &[u8]) -> Result<Option<usize>> {
        let mut valid = 0;
        while let Some(len) = self.framer.next_frame(&chunk[valid..])? {
            if message::check(&chunk[valid..valid + len]).is_err() {
                return Ok(None);
            }
            valid += len;
        }
        Ok(Some(valid))
    }

    /// Hands the complete, valid messages at the front of `buf` to
    /// `deliver` straight from `buf`, in batches of at most `max` bytes
    /// (a single bigger message goes alone), and drops them from `buf`;
    /// `deliver` returning false stops there, leaving the rest in `buf`.
    /// Error responses owed to broken requests go to `reply`, in stream
    /// order with the batches (an answer must not overtake a later one).
    ///
    /// # Errors
    /// As [`Deframer::take`]; batches before the failure were delivered.
    pub fn drain(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        mut deliver: impl FnMut(&[u8]) -> bool,
        mut reply: impl FnMut(&[u8]),
    ) -> Result<()> {
        let mut valid = 0;
        while let Some(len) = self.framer.next_frame(&buf[valid..])? {
            if valid > 0 && valid + len > max {
                let more = deliver(&buf[..valid]);
                buf.advance(valid);
                if !more {
                    return Ok(());
                }
                valid = 0;
            }
            match message::check(&buf[valid..valid + len]) {
                Ok(_) => valid += len,
                Err(invalid) => {
                    let Some(msgid) = invalid.msgid else {
                        return Err(Error::Protocol(invalid.reason));
                    };
                    if valid > 0 && !deliver(&buf[..valid]) {
                        buf.advance(valid);
                        return Ok(());
                    }
                    buf.advance(valid + len);
                    valid = 0;
                    reply(&error_response(
                        msgid,
                        &format!("invalid request; {}", invalid.reason),
                    ));
                }
            }
        }
        if valid > 0 {
            deliver(&buf[..valid]);
            buf.advance(valid);
        }
        Ok(())
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
    use crate::test_support::{encode, notification};
    use rmpv::Value;

    #[test]
    fn a_chunk_of_valid_messages_is_framed_where_it_lies() {
        let mut chunk = notification("a", vec![]);
        chunk.extend(notification("b", vec![Value::from(1)]));
        let whole = chunk.len();
        let third = notification("c", vec![Value::from("tail")]);
        chunk.extend_from_slice(&third[..3]);
        let mut deframer = Deframer::new(Limits::default());
        assert_eq!(deframer.valid_prefix(&chunk).unwrap(), Some(whole));
        // The incomplete message goes on from a buffer holding its start.
        let mut buf = BytesMut::from(&chunk[whole..]);
        buf.extend_from_slice(&third[3..]);
        assert_eq!(deframer.take(&mut buf).unwrap().messages, third);
    }

    #[test]
    fn a_chunk_holding_a_broken_request_is_left_to_take() {
        let mut chunk = notification("a", vec![]);
        chunk.extend(encode(&Value::Array(vec![
            0.into(),
            7.into(),
            "m".into(),
            1.into(),
        ])));
        let mut deframer = Deframer::new(Limits::default());
        assert_eq!(deframer.valid_prefix(&chunk).unwrap(), None);
        let got = deframer.take(&mut BytesMut::from(&chunk[..])).unwrap();
        assert_eq!(got.messages, notification("a", vec![]));
        assert!(!got.replies.is_empty());
    }

    #[test]
    fn takes_complete_messages_and_keeps_the_rest() {
        let a = notification("a", vec![]);
        let b = notification("b", vec![]);
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
        let ok1 = notification("a", vec![]);
        let bad = encode(&Value::Array(vec![
            0.into(),
            8.into(),
            "m".into(),
            Value::Nil,
        ]));
        let ok2 = notification("b", vec![]);
        let mut buf = BytesMut::from(&[ok1.clone(), bad, ok2.clone()].concat()[..]);
        let got = Deframer::new(Limits::default()).take(&mut buf).unwrap();
        assert_eq!(got.messages, [ok1, ok2].concat());
        let reply = rmpv::decode::read_value(&mut &got.replies[..]).unwrap();
        assert_eq!(reply[1], Value::from(8));
    }

    #[test]
    fn drain_hands_out_batches_of_at_most_max_bytes() {
        let small = |i: u8| notification("n", vec![i.into()]);
        let big = notification("big", vec![Value::Binary(vec![1; 100])]);
        let bad = encode(&Value::Array(vec![
            0.into(),
            5.into(),
            "m".into(),
            Value::Nil,
        ]));
        let stream = [
            small(1),
            small(2),
            small(3),
            big.clone(),
            small(4),
            bad,
            small(5),
        ]
        .concat();
        let mut buf = BytesMut::from(&stream[..]);
        let mut batches = Vec::new();
        let mut replies = Vec::new();
        let max = small(1).len() * 2;
        Deframer::new(Limits::default())
            .drain(
                &mut buf,
                max,
                |b| {
                    batches.push(b.to_vec());
                    true
                },
                |r| replies.extend_from_slice(r),
            )
            .unwrap();
        assert_eq!(
            batches,
            vec![
                [small(1), small(2)].concat(),
                small(3),
                big,
                small(4),
                small(5)
            ]
        );
        assert!(buf.is_empty());
        let reply = rmpv::decode::read_value(&mut &replies[..]).unwrap();
        assert_eq!(reply[1], Value::from(5));

        // A deliverer that says stop gets nothing more; the rest stays.
        let mut buf = BytesMut::from(&stream[..]);
        let mut seen = 0;
        Deframer::new(Limits::default())
            .drain(
                &mut buf,
                max,
                |_| {
                    seen += 1;
                    false
                },
                |_| {},
            )
            .unwrap();
        assert_eq!(seen, 1);
        assert_eq!(&buf[..], &stream[max..]);
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
