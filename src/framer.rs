//! Finds message boundaries in a byte stream without building any values.
//!
//! The [`Framer`] walks MessagePack markers with a small stack of "items left"
//! counters and remembers where it stopped, so a message that arrives in many
//! reads is scanned once, not once per read. Limits are enforced from headers:
//! a string, array or map that *claims* more bytes than the limit allows is
//! rejected before anything of that size is buffered or allocated.

use crate::error::{Error, Result};

/// Default largest message accepted: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// Default deepest nesting of arrays and maps (the envelope counts as one).
pub const DEFAULT_MAX_DEPTH: usize = 1000;

/// Limits a connection enforces on what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded message, in bytes.
    pub max_message_size: usize,
    /// Deepest nesting of arrays and maps.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// What one marker says about the value it starts.
enum Header {
    /// More bytes are needed to read the header itself.
    Incomplete,
    /// A value with no children that spans `len` bytes in total.
    Scalar { len: u64 },
    /// An array or map: `header` bytes, then `items` child values.
    Container { header: usize, items: u64 },
}

/// Incremental scanner for one message at a time.
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    /// Bytes of the current message already walked.
    pos: usize,
    /// Children still expected by each open array or map.
    open: Vec<u64>,
    /// Whether the current message's envelope array has been opened.
    started: bool,
}

impl Framer {
    /// A framer enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Framer {
            limits,
            pos: 0,
            open: Vec::new(),
            started: false,
        }
    }

    /// The limits this framer enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Length of the complete message at the start of `buf`, or `Ok(None)`
    /// when more bytes are needed.
    ///
    /// Between calls that return `Ok(None)` the caller may only append to
    /// `buf`; after `Ok(Some(len))` the next call must start at the next
    /// message.
    ///
    /// # Errors
    /// [`Error::Protocol`] for bytes that are not MessagePack or a message
    /// that is not an array, [`Error::MessageTooLarge`] and
    /// [`Error::TooDeep`] for limit violations. After an error the stream
    /// cannot be resynchronised and should be closed.
    pub fn next_frame(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        loop {
            if self.started && self.open.is_empty() {
                let len = self.pos;
                self.pos = 0;
                self.started = false;
                return Ok(Some(len));
            }
            let Some(&marker) = buf.get(self.pos) else {
                return self.need_more(buf);
            };
            if !self.started && !matches!(marker, 0x90..=0x9f | 0xdc | 0xdd) {
                return Err(Error::Protocol(format!(
                    "expected a message array, got {}",
                    describe_marker(marker)
                )));
            }
            match header(marker, &buf[self.pos..])? {
                Header::Incomplete => return self.need_more(buf),
                Header::Scalar { len } => {
                    let end = self.pos as u64 + len;
                    self.check_size(end)?;
                    if end > buf.len() as u64 {
                        return self.need_more(buf);
                    }
                    self.pos = end as usize;
                    self.complete_value();
                }
                Header::Container { header, items } => {
                    if self.open.len() >= self.limits.max_depth {
                        return Err(Error::TooDeep {
                            limit: self.limits.max_depth,
                        });
                    }
                    // Every child takes at least one byte.
                    self.check_size((self.pos + header) as u64 + items)?;
                    self.pos += header;
                    self.started = true;
                    if items == 0 {
                        self.complete_value();
                    } else {
                        self.open.push(items);
                    }
                }
            }
        }
    }

    fn need_more(&self, buf: &[u8]) -> Result<Option<usize>> {
        // A buffered but unfinished message already longer than the limit
        // can only end up too large.
        self.check_size(buf.len() as u64)?;
        Ok(None)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.limits.max_message_size as u64 {
            return Err(Error::MessageTooLarge {
                size,
                limit: self.limits.max_message_size,
            });
        }
        Ok(())
    }

    /// One value ended: close every container it was the last child of.
    fn complete_value(&mut self) {
        self.started = true;
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                break;
            }
            self.open.pop();
        }
    }
}

/// Decodes the header of the value starting at `buf[0]` (which is `marker`).
fn header(marker: u8, buf: &[u8]) -> Result<Header> {
    let need = |n: usize| buf.len() < n;
    let be = |n: usize| -> u64 { buf[1..1 + n].iter().fold(0, |acc, &b| acc << 8 | b as u64) };
    let scalar = |len: u64| Ok(Header::Scalar { len });
    // Sized values: `size` header bytes after the marker give the payload length.
    let sized = |size: usize, extra: u64| {
        if need(1 + size) {
            return Ok(Header::Incomplete);
        }
        Ok(Header::Scalar {
            len: 1 + size as u64 + extra + be(size),
        })
    };
    let container = |size: usize, per_entry: u64| {
        if need(1 + size) {
            return Ok(Header::Incomplete);
        }
        Ok(Header::Container {
            header: 1 + size,
            items: be(size) * per_entry,
        })
    };
    match marker {
        0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => scalar(1),
        0x80..=0x8f => Ok(Header::Container {
            header: 1,
            items: 2 * (marker & 0x0f) as u64,
        }),
        0x90..=0x9f => Ok(Header::Container {
            header: 1,
            items: (marker & 0x0f) as u64,
        }),
        0xa0..=0xbf => scalar(1 + (marker & 0x1f) as u64),
        0xc1 => Err(Error::Protocol(
            "reserved byte 0xc1 is not MessagePack".into(),
        )),
        0xc4 => sized(1, 0),
        0xc5 => sized(2, 0),
        0xc6 => sized(4, 0),
        0xc7 => sized(1, 1),
        0xc8 => sized(2, 1),
        0xc9 => sized(4, 1),
        0xca => scalar(5),
        0xcb => scalar(9),
        0xcc | 0xd0 => scalar(2),
        0xcd | 0xd1 => scalar(3),
        0xce | 0xd2 => scalar(5),
        0xcf | 0xd3 => scalar(9),
        0xd4 => scalar(3),
        0xd5 => scalar(4),
        0xd6 => scalar(6),
        0xd7 => scalar(10),
        0xd8 => scalar(18),
        0xd9 => sized(1, 0),
        0xda => sized(2, 0),
        0xdb => sized(4, 0),
        0xdc => container(2, 1),
        0xdd => container(4, 1),
        0xde => container(2, 2),
        0xdf => container(4, 2),
    }
}

/// A short human description of a marker byte for error messages.
pub fn describe_marker(marker: u8) -> String {
    let kind = match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "an integer",
        0x80..=0x8f | 0xde | 0xdf => "a map",
        0x90..=0x9f | 0xdc | 0xdd => "an array",
        0xa0..=0xbf | 0xd9..=0xdb => "a string",
        0xc0 => "nil",
        0xc1 => "the reserved byte",
        0xc2 | 0xc3 => "a boolean",
        0xc4..=0xc6 => "binary data",
        0xca | 0xcb => "a float",
        0xc7..=0xc9 | 0xd4..=0xd8 => "an extension",
    };
    format!("{kind} (byte 0x{marker:02x})")
}

#[cfg(test)]
mod prop_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::encode;

    fn request(id: u32) -> Vec<u8> {
        use rmpv::Value;
        encode(&Value::Array(vec![
            Value::from(0),
            Value::from(id),
            Value::from("add"),
            Value::Array(vec![Value::from(1), Value::from(2)]),
        ]))
    }

    fn framer() -> Framer {
        Framer::new(Limits::default())
    }

    #[test]
    fn frames_a_whole_message() {
        let msg = request(1);
        assert_eq!(framer().next_frame(&msg).unwrap(), Some(msg.len()));
    }

    #[test]
    fn frames_two_back_to_back_messages() {
        let mut buf = request(1);
        let first = buf.len();
        buf.extend(request(2));
        let mut f = framer();
        assert_eq!(f.next_frame(&buf).unwrap(), Some(first));
        assert_eq!(
            f.next_frame(&buf[first..]).unwrap(),
            Some(buf.len() - first)
        );
    }

    #[test]
    fn waits_for_a_truncated_message_and_resumes() {
        let msg = request(7);
        let mut f = framer();
        for cut in 0..msg.len() {
            assert_eq!(f.next_frame(&msg[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(f.next_frame(&msg).unwrap(), Some(msg.len()));
    }

    #[test]
    fn rejects_bytes_that_are_not_a_message_array() {
        let err = framer().next_frame(b"GET / HTTP/1.1\r\n").unwrap_err();
        assert_eq!(err.code(), "ERR_MSGPACK_RPC_PROTOCOL");
        assert!(err.to_string().contains("expected a message array"));
    }

    #[test]
    fn rejects_the_reserved_marker() {
        let err = framer().next_frame(&[0x94, 0x00, 0xc1]).unwrap_err();
        assert!(err.to_string().contains("0xc1"));
    }

    #[test]
    fn rejects_a_huge_claimed_string_before_it_arrives() {
        // [ str32 of 4 GiB ... ]
        let buf = [0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, b'a'];
        let err = framer().next_frame(&buf).unwrap_err();
        assert_eq!(err.code(), "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE");
    }

    #[test]
    fn rejects_a_huge_claimed_array_before_it_arrives() {
        let buf = [0x91, 0xdd, 0xff, 0xff, 0xff, 0xff];
        let err = framer().next_frame(&buf).unwrap_err();
        assert_eq!(err.code(), "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE");
    }

    #[test]
    fn rejects_a_message_growing_past_the_limit_as_soon_as_it_shows() {
        let mut f = Framer::new(Limits {
            max_message_size: 16,
            max_depth: 10,
        });
        // [ "aaaaaaaaaa", "bbbbbbbbbb" ]: every header fits, the whole does not.
        let mut buf = vec![0x92, 0xaa];
        buf.extend([b'a'; 10]);
        buf.push(0xaa);
        assert_eq!(f.next_frame(&buf[..12]).unwrap(), None);
        let err = f.next_frame(&buf).unwrap_err();
        assert_eq!(err.code(), "ERR_MSGPACK_RPC_MESSAGE_TOO_LARGE");
    }

    #[test]
    fn rejects_nesting_deeper_than_the_limit() {
        let mut buf = vec![0x91; 2000];
        buf.push(0xc0);
        let err = framer().next_frame(&buf).unwrap_err();
        assert!(matches!(err, Error::TooDeep { limit: 1000 }));
        let ok = [vec![0x91; 999], vec![0xc0]].concat();
        assert_eq!(framer().next_frame(&ok).unwrap(), Some(1000));
    }

    #[test]
    fn walks_every_kind_of_value() {
        use rmpv::Value;
        let values = vec![
            Value::Nil,
            Value::from(true),
            Value::from(-5),
            Value::from(200),
            Value::from(70000),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::F32(1.5),
            Value::F64(2.5),
            Value::from("x".repeat(40)),
            Value::from("y".repeat(300)),
            Value::from("z".repeat(70000)),
            Value::Binary(vec![1; 300]),
            Value::Ext(5, vec![1, 2, 3]),
            Value::Ext(-1, vec![0; 4]),
            Value::Ext(2, vec![0; 16]),
            Value::Map(vec![(Value::from("k"), Value::Array(vec![Value::Nil; 20]))]),
            Value::Array(vec![Value::from(1); 70000]),
        ];
        let msg = encode(&Value::Array(vec![
            Value::from(2),
            Value::from("m"),
            Value::Array(values),
        ]));
        let mut f = framer();
        assert_eq!(f.next_frame(&msg).unwrap(), Some(msg.len()));
        // And again fed in uneven pieces.
        for cut in (0..msg.len()).step_by(997) {
            assert_eq!(f.next_frame(&msg[..cut]).unwrap(), None);
        }
        assert_eq!(f.next_frame(&msg).unwrap(), Some(msg.len()));
    }
}
