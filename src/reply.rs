//! Redis replies on their way to JavaScript, shaped the way ioredis hands them out.
//!
//! Flat replies (a string, an integer, nil) cross N-API as one value. Nested replies (arrays,
//! pipeline results) are encoded into one byte buffer that `index.js` decodes in a single pass:
//! building a JS array element by element through N-API costs far more than one buffer.
//!
//! Encoding (little-endian): `0` nil · `1 len:u32 bytes` a string · `2 f64` an integer ·
//! `3 count:u32 items…` an array · `4 len:u32 bytes` an error (inside pipeline results).

use fred::prelude::Value;
use fred::types::Resp3Frame;

/// Tag bytes of the encoding.
pub mod tag {
    pub const NIL: u8 = 0;
    pub const STRING: u8 = 1;
    pub const INTEGER: u8 = 2;
    pub const ARRAY: u8 = 3;
    pub const ERROR: u8 = 4;
}

/// A reply ready to cross into JavaScript (built from a raw frame by [`Reply::from_frame`]; the
/// values of pipelines and transactions, which fred hands over as `Value`s, go through
/// [`encode_into`]).
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// A string reply (bulk or simple).
    Text(Vec<u8>),
    /// An integer reply (ioredis returns integers as JS numbers).
    Number(f64),
    /// A nil reply.
    Nil,
    /// A nested reply, encoded as described in the module docs.
    Encoded(Vec<u8>),
}

fn push_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    // Redis caps a bulk string at 512 MB, far below u32::MAX.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Appends one value to an encoded buffer.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(tag::NIL),
        Value::String(s) => push_bytes(out, tag::STRING, s.as_bytes()),
        Value::Bytes(b) => push_bytes(out, tag::STRING, b),
        Value::Queued => push_bytes(out, tag::STRING, b"QUEUED"),
        Value::Integer(i) => {
            out.push(tag::INTEGER);
            out.extend_from_slice(&(*i as f64).to_le_bytes());
        }
        // RESP2 (which this client speaks) sends doubles as bulk strings, as ioredis returns them.
        Value::Double(d) => push_bytes(out, tag::STRING, d.to_string().as_bytes()),
        Value::Boolean(b) => {
            out.push(tag::INTEGER);
            out.extend_from_slice(&f64::from(u8::from(*b)).to_le_bytes());
        }
        Value::Array(items) => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(map) => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&((map.len() * 2) as u32).to_le_bytes());
            for (k, v) in map.iter() {
                push_bytes(out, tag::STRING, k.as_bytes());
                encode_into(v, out);
            }
        }
    }
}

/// Appends an error (a failed pipeline command) to an encoded buffer.
pub fn encode_error(message: &str, out: &mut Vec<u8>) {
    push_bytes(out, tag::ERROR, message.as_bytes());
}

/// Appends one raw reply frame to an encoded buffer. Unlike fred's `Value` conversion, an error
/// nested in an array (say, from `EVAL`) stays an element of its own, as ioredis returns it.
pub fn encode_frame(frame: &Resp3Frame, out: &mut Vec<u8>) {
    match frame {
        Resp3Frame::Null => out.push(tag::NIL),
        Resp3Frame::BlobString { data, .. }
        | Resp3Frame::SimpleString { data, .. }
        | Resp3Frame::VerbatimString { data, .. }
        | Resp3Frame::BigNumber { data, .. }
        | Resp3Frame::ChunkedString(data) => push_bytes(out, tag::STRING, data),
        Resp3Frame::SimpleError { data, .. } => push_bytes(out, tag::ERROR, data.as_bytes()),
        Resp3Frame::BlobError { data, .. } => push_bytes(out, tag::ERROR, data),
        Resp3Frame::Number { data, .. } => {
            out.push(tag::INTEGER);
            out.extend_from_slice(&(*data as f64).to_le_bytes());
        }
        Resp3Frame::Double { data, .. } => {
            push_bytes(out, tag::STRING, data.to_string().as_bytes())
        }
        Resp3Frame::Boolean { data, .. } => {
            out.push(tag::INTEGER);
            out.extend_from_slice(&f64::from(u8::from(*data)).to_le_bytes());
        }
        Resp3Frame::Array { data, .. } | Resp3Frame::Push { data, .. } => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            for item in data {
                encode_frame(item, out);
            }
        }
        Resp3Frame::Set { data, .. } => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            for item in data {
                encode_frame(item, out);
            }
        }
        Resp3Frame::Map { data, .. } => {
            out.push(tag::ARRAY);
            out.extend_from_slice(&((data.len() * 2) as u32).to_le_bytes());
            for (k, v) in data {
                encode_frame(k, out);
                encode_frame(v, out);
            }
        }
        Resp3Frame::Hello { .. } => out.push(tag::NIL),
    }
}

impl Reply {
    /// A raw reply frame as a `client` reply; an error reply is `Err` with Redis's message.
    pub fn from_frame(frame: Resp3Frame) -> Result<Reply, String> {
        match frame {
            Resp3Frame::SimpleError { data, .. } => Err(data.to_string()),
            Resp3Frame::BlobError { data, .. } => Err(String::from_utf8_lossy(&data).into_owned()),
            Resp3Frame::Null => Ok(Reply::Nil),
            Resp3Frame::BlobString { data, .. } | Resp3Frame::SimpleString { data, .. } => {
                Ok(Reply::Text(data.to_vec()))
            }
            Resp3Frame::Number { data, .. } => Ok(Reply::Number(data as f64)),
            other => {
                let mut out = Vec::with_capacity(64);
                encode_frame(&other, &mut out);
                Ok(Reply::Encoded(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_replies_stay_flat() {
        assert_eq!(Reply::from_frame(Resp3Frame::Null), Ok(Reply::Nil));
        let number = Resp3Frame::Number {
            data: -3,
            attributes: None,
        };
        assert_eq!(Reply::from_frame(number), Ok(Reply::Number(-3.0)));
        let ok = Resp3Frame::SimpleString {
            data: "OK".into(),
            attributes: None,
        };
        assert_eq!(Reply::from_frame(ok), Ok(Reply::Text(b"OK".to_vec())));
        let bulk = Resp3Frame::BlobString {
            data: "v".into(),
            attributes: None,
        };
        assert_eq!(Reply::from_frame(bulk), Ok(Reply::Text(b"v".to_vec())));
    }

    #[test]
    fn arrays_are_encoded() {
        let v = Value::Array(vec![
            Value::from("a"),
            Value::Null,
            Value::Integer(2),
            Value::Array(vec![]),
        ]);
        let mut bytes = Vec::new();
        encode_into(&v, &mut bytes);
        let mut expected = vec![
            tag::ARRAY,
            4,
            0,
            0,
            0,
            tag::STRING,
            1,
            0,
            0,
            0,
            b'a',
            tag::NIL,
            tag::INTEGER,
        ];
        expected.extend_from_slice(&2f64.to_le_bytes());
        expected.extend_from_slice(&[tag::ARRAY, 0, 0, 0, 0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn frames_keep_nested_errors() {
        let frame = Resp3Frame::Array {
            data: vec![
                Resp3Frame::Number {
                    data: 1,
                    attributes: None,
                },
                Resp3Frame::SimpleError {
                    data: "MYERR boom".into(),
                    attributes: None,
                },
            ],
            attributes: None,
        };
        let Ok(Reply::Encoded(bytes)) = Reply::from_frame(frame) else {
            panic!("not encoded")
        };
        assert_eq!(bytes[0], tag::ARRAY);
        assert_eq!(bytes[5], tag::INTEGER);
        assert_eq!(bytes[14], tag::ERROR);
        assert_eq!(&bytes[19..], b"MYERR boom");
        let top = Resp3Frame::SimpleError {
            data: "WRONGTYPE x".into(),
            attributes: None,
        };
        assert_eq!(Reply::from_frame(top), Err("WRONGTYPE x".to_string()));
    }

    #[test]
    fn errors_are_tagged() {
        let mut out = Vec::new();
        encode_error("WRONGTYPE x", &mut out);
        assert_eq!(out[0], tag::ERROR);
        assert_eq!(&out[5..], b"WRONGTYPE x");
    }
}
