//! The MessagePack-RPC envelope: what makes a framed value a message.
//!
//! See <https://github.com/msgpack-rpc/msgpack-rpc/blob/master/spec.md>:
//! `[0, msgid, method, params]` is a request, `[1, msgid, error, result]` a
//! response and `[2, method, params]` a notification. [`check`] reads only
//! the envelope of a framed message (its first few markers), never the
//! parameters or results, which are decoded in JavaScript.

use crate::framer::describe_marker;

/// Message type of a request.
pub const REQUEST: u8 = 0;
/// Message type of a response.
pub const RESPONSE: u8 = 1;
/// Message type of a notification.
pub const NOTIFICATION: u8 = 2;

/// What a well-formed message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request { msgid: u32 },
    Response { msgid: u32 },
    Notification,
}

/// Why a framed message is not a valid MessagePack-RPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The request's msgid, when it could be read: the peer is owed an
    /// error response and the connection can go on.
    pub msgid: Option<u32>,
    /// What was wrong, for the error response or the connection error.
    pub reason: String,
}

/// Checks the envelope of one complete framed message.
///
/// # Errors
/// [`Invalid`] names the first thing wrong, with the msgid of a request
/// whose envelope is broken after its msgid.
pub fn check(msg: &[u8]) -> Result<Kind, Invalid> {
    let fail = |msgid, reason: String| Err(Invalid { msgid, reason });
    let mut cur = Cursor { buf: msg, pos: 0 };
    let len = match cur.array_len() {
        Some(n @ (3 | 4)) => n,
        Some(n) => return fail(None, format!("expected 3 or 4 elements, got {n}")),
        None => return fail(None, "expected a message array".into()),
    };
    let kind = match cur.uint() {
        Some(t) => t,
        None => return fail(None, format!("expected a message type, got {}", cur.what())),
    };
    match (kind, len) {
        (k, 4) if k == REQUEST as u64 => {
            let msgid = match cur.msgid() {
                Some(id) => id,
                None => return fail(None, format!("expected a msgid, got {}", cur.what())),
            };
            if !cur.method_name() {
                return fail(
                    Some(msgid),
                    format!("expected a method name string, got {}", cur.what()),
                );
            }
            if cur.array_len().is_none() {
                return fail(
                    Some(msgid),
                    format!("expected a params array, got {}", cur.what()),
                );
            }
            Ok(Kind::Request { msgid })
        }
        (k, 4) if k == RESPONSE as u64 => match cur.msgid() {
            Some(msgid) => Ok(Kind::Response { msgid }),
            None => fail(None, format!("expected a msgid, got {}", cur.what())),
        },
        (k, 3) if k == NOTIFICATION as u64 => {
            if !cur.method_name() {
                return fail(
                    None,
                    format!("expected a method name string, got {}", cur.what()),
                );
            }
            if cur.array_len().is_none() {
                return fail(None, format!("expected a params array, got {}", cur.what()));
            }
            Ok(Kind::Notification)
        }
        (k, n) => fail(None, format!("unknown message type {k} with {n} elements")),
    }
}

/// Encodes `[1, msgid, error, nil]` with a string error.
pub fn error_response(msgid: u32, error: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(error.len() + 12);
    // Writing into a Vec cannot fail.
    let _ = rmp::encode::write_array_len(&mut out, 4);
    let _ = rmp::encode::write_uint(&mut out, RESPONSE as u64);
    let _ = rmp::encode::write_uint(&mut out, msgid as u64);
    let _ = rmp::encode::write_str(&mut out, error);
    let _ = rmp::encode::write_nil(&mut out);
    out
}

/// Reads envelope markers from a framed message (bounds already known good,
/// but every read is still checked).
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.buf.get(self.pos + at).copied()
    }

    fn be(&self, from: usize, n: usize) -> Option<u64> {
        let bytes = self.buf.get(self.pos + from..self.pos + from + n)?;
        Some(bytes.iter().fold(0, |acc, &b| acc << 8 | b as u64))
    }

    fn what(&self) -> String {
        match self.byte(0) {
            Some(m) => describe_marker(m),
            None => "nothing".into(),
        }
    }

    fn array_len(&mut self) -> Option<u64> {
        let (len, size) = match self.byte(0)? {
            m @ 0x90..=0x9f => ((m & 0x0f) as u64, 1),
            0xdc => (self.be(1, 2)?, 3),
            0xdd => (self.be(1, 4)?, 5),
            _ => return None,
        };
        self.pos += size;
        Some(len)
    }

    /// A non-negative integer in any integer encoding.
    fn uint(&mut self) -> Option<u64> {
        let (value, size) = match self.byte(0)? {
            m @ 0x00..=0x7f => (m as u64, 1),
            0xcc | 0xd0 => (self.be(1, 1)?, 2),
            0xcd | 0xd1 => (self.be(1, 2)?, 3),
            0xce | 0xd2 => (self.be(1, 4)?, 5),
            0xcf | 0xd3 => (self.be(1, 8)?, 9),
            _ => return None,
        };
        let signed = matches!(self.byte(0)?, 0xd0..=0xd3);
        let bits = (size - 1) * 8;
        if signed && bits > 0 && value >> (bits - 1) & 1 == 1 {
            return None; // negative
        }
        self.pos += size;
        Some(value)
    }

    fn msgid(&mut self) -> Option<u32> {
        let start = self.pos;
        match self.uint().and_then(|v| u32::try_from(v).ok()) {
            Some(id) => Some(id),
            None => {
                self.pos = start;
                None
            }
        }
    }

    /// Skips a method name: a string, or UTF-8 binary data (pynvim and
    /// other older implementations send method names as bin).
    fn method_name(&mut self) -> bool {
        let Some(m) = self.byte(0) else { return false };
        let (len, size) = match m {
            0xa0..=0xbf => ((m & 0x1f) as u64, 1),
            0xd9 | 0xc4 => (self.be(1, 1).unwrap_or(u64::MAX), 2),
            0xda | 0xc5 => (self.be(1, 2).unwrap_or(u64::MAX), 3),
            0xdb | 0xc6 => (self.be(1, 4).unwrap_or(u64::MAX), 5),
            _ => return false,
        };
        let start = self.pos + size;
        let Some(bytes) = usize::try_from(len)
            .ok()
            .and_then(|len| self.buf.get(start..start.checked_add(len)?))
        else {
            return false;
        };
        if std::str::from_utf8(bytes).is_err() {
            return false;
        }
        self.pos = start + bytes.len();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::encode;
    use rmpv::Value;

    fn arr(items: Vec<Value>) -> Value {
        Value::Array(items)
    }

    #[test]
    fn accepts_the_three_message_kinds() {
        let req = encode(&arr(vec![0.into(), 7.into(), "add".into(), arr(vec![])]));
        assert_eq!(check(&req), Ok(Kind::Request { msgid: 7 }));
        let res = encode(&arr(vec![1.into(), u32::MAX.into(), Value::Nil, 3.into()]));
        assert_eq!(check(&res), Ok(Kind::Response { msgid: u32::MAX }));
        let note = encode(&arr(vec![2.into(), "n".into(), arr(vec![1.into()])]));
        assert_eq!(check(&note), Ok(Kind::Notification));
    }

    #[test]
    fn a_request_with_bad_params_keeps_its_msgid() {
        let req = encode(&arr(vec![0.into(), 9.into(), "add".into(), 5.into()]));
        let err = check(&req).unwrap_err();
        assert_eq!(err.msgid, Some(9));
        assert!(err.reason.contains("params array"), "{}", err.reason);
        let req = encode(&arr(vec![0.into(), 9.into(), 5.into(), arr(vec![])]));
        assert_eq!(check(&req).unwrap_err().msgid, Some(9));
    }

    #[test]
    fn rejects_bad_msgids_types_and_lengths() {
        for v in [
            arr(vec![0.into(), (-1).into(), "m".into(), arr(vec![])]),
            arr(vec![0.into(), (1u64 << 32).into(), "m".into(), arr(vec![])]),
            arr(vec![1.into(), "x".into(), Value::Nil, Value::Nil]),
            arr(vec![3.into(), 1.into(), "m".into(), arr(vec![])]),
            arr(vec![2.into(), "m".into()]),
            arr(vec![]),
            arr(vec!["x".into(), 1.into(), 2.into()]),
        ] {
            let err = check(&encode(&v)).unwrap_err();
            assert_eq!(err.msgid, None, "{v}");
        }
    }

    #[test]
    fn accepts_a_method_name_sent_as_utf8_binary() {
        // [2, bin("note"), []] as pynvim sends it.
        let note = [0x93, 0x02, 0xc4, 0x04, b'n', b'o', b't', b'e', 0x90];
        assert_eq!(check(&note), Ok(Kind::Notification));
        let bad = [0x93, 0x02, 0xc4, 0x02, 0xff, 0xfe, 0x90];
        assert!(check(&bad).is_err());
    }

    #[test]
    fn rejects_a_method_name_that_is_not_utf8() {
        let mut req = vec![0x94, 0x00, 0x01, 0xa2, 0xff, 0xfe, 0x90];
        assert_eq!(check(&req).unwrap_err().msgid, Some(1));
        req[4] = b'o';
        req[5] = b'k';
        assert!(check(&req).is_ok());
    }

    #[test]
    fn error_response_is_a_valid_response() {
        let out = error_response(5, "bad");
        assert_eq!(check(&out), Ok(Kind::Response { msgid: 5 }));
        let v = rmpv::decode::read_value(&mut &out[..]).unwrap();
        assert_eq!(v, arr(vec![1.into(), 5.into(), "bad".into(), Value::Nil]));
    }
}
