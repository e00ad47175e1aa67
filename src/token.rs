//! Session tokens: `tokenSize` bytes from a CSPRNG, encoded the way Node's
//! `Buffer#toString(encoding)` encodes them.

use base64::Engine;
use rand::RngCore;

use crate::error::{Error, Result};

/// Default number of random bytes in a token (the original package's default).
pub const DEFAULT_TOKEN_SIZE: u32 = 128;
/// Fewest random bytes accepted: 64 bits, OWASP's floor for session identifiers.
pub const MIN_TOKEN_SIZE: u32 = 8;
/// Most random bytes accepted; larger tokens only cost bandwidth.
pub const MAX_TOKEN_SIZE: u32 = 1024;

/// How token bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEncoding {
    /// RFC 4648 base64 with `=` padding, as `Buffer#toString('base64')`.
    Base64,
    /// RFC 4648 base64url without padding, as `Buffer#toString('base64url')`.
    Base64Url,
    /// Lower-case hexadecimal, as `Buffer#toString('hex')`.
    Hex,
}

impl TokenEncoding {
    /// Parses a Node encoding name (case-insensitive, as Node accepts it).
    ///
    /// Text encodings (`utf8`, `ascii`, `latin1`, `utf16le`, …) are refused: decoding random bytes
    /// as text replaces invalid sequences or produces unprintable strings, which destroys
    /// entropy or breaks tokens in headers and cookies.
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "base64" => Ok(TokenEncoding::Base64),
            "base64url" => Ok(TokenEncoding::Base64Url),
            "hex" => Ok(TokenEncoding::Hex),
            "utf8" | "utf-8" | "ascii" | "latin1" | "binary" | "ucs2" | "ucs-2" | "utf16le"
            | "utf-16le" => Err(Error::invalid(
                "tokenEncoding",
                format!(
                    "'{name}' would destroy the token's entropy; use 'base64', 'base64url' or 'hex'"
                ),
            )),
            _ => Err(Error::invalid(
                "tokenEncoding",
                format!("unknown encoding '{name}'; use 'base64', 'base64url' or 'hex'"),
            )),
        }
    }

    /// Encodes `bytes` exactly as Node would.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            TokenEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
            TokenEncoding::Base64Url => {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
            }
            TokenEncoding::Hex => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let mut s = String::with_capacity(bytes.len() * 2);
                for &b in bytes {
                    s.push(DIGITS[usize::from(b >> 4)] as char);
                    s.push(DIGITS[usize::from(b & 0xF)] as char);
                }
                s
            }
        }
    }
}

/// Checks a `tokenSize` option (a JavaScript number).
pub fn parse_token_size(size: f64) -> Result<u32> {
    if !size.is_finite() || size.fract() != 0.0 {
        return Err(Error::invalid(
            "tokenSize",
            format!("must be a whole number of bytes, got {size}"),
        ));
    }
    if size < f64::from(MIN_TOKEN_SIZE) || size > f64::from(MAX_TOKEN_SIZE) {
        return Err(Error::invalid(
            "tokenSize",
            format!("must be between {MIN_TOKEN_SIZE} and {MAX_TOKEN_SIZE} bytes, got {size}"),
        ));
    }
    // In range, so the cast is exact.
    Ok(size as u32)
}

/// Token options of one instance.
#[derive(Debug, Clone, Copy)]
pub struct TokenOptions {
    /// Bytes of randomness.
    pub size: u32,
    /// Text encoding.
    pub encoding: TokenEncoding,
}

impl TokenOptions {
    /// A fresh token from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS).
    pub fn generate(&self) -> String {
        let mut bytes = vec![0u8; self.size as usize];
        rand::rng().fill_bytes(&mut bytes);
        self.encoding.encode(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_node() {
        // Buffer.from([0xfb, 0xff, 0x00, 0x10]).toString(enc) in Node 20.
        let bytes = [0xfb, 0xff, 0x00, 0x10];
        assert_eq!(TokenEncoding::Base64.encode(&bytes), "+/8AEA==");
        assert_eq!(TokenEncoding::Base64Url.encode(&bytes), "-_8AEA");
        assert_eq!(TokenEncoding::Hex.encode(&bytes), "fbff0010");
    }

    #[test]
    fn encoding_names() {
        assert_eq!(
            TokenEncoding::parse("BASE64").unwrap(),
            TokenEncoding::Base64
        );
        assert_eq!(
            TokenEncoding::parse("base64url").unwrap(),
            TokenEncoding::Base64Url
        );
        assert_eq!(TokenEncoding::parse("Hex").unwrap(), TokenEncoding::Hex);
        let err = TokenEncoding::parse("utf8").unwrap_err().to_string();
        assert!(
            err.starts_with("tokenEncoding:") && err.contains("entropy"),
            "{err}"
        );
        let err = TokenEncoding::parse("rot13").unwrap_err().to_string();
        assert!(err.contains("unknown encoding 'rot13'"), "{err}");
    }

    #[test]
    fn token_sizes() {
        assert_eq!(parse_token_size(128.0).unwrap(), 128);
        for bad in [-1.0, 0.0, 7.0, 1025.0, 1.5, f64::NAN, f64::INFINITY, 1e300] {
            let err = parse_token_size(bad).unwrap_err().to_string();
            assert!(err.starts_with("tokenSize:"), "{err}");
        }
    }

    #[test]
    fn generated_tokens_have_the_right_length_and_differ() {
        let opts = TokenOptions {
            size: 128,
            encoding: TokenEncoding::Base64,
        };
        let (a, b) = (opts.generate(), opts.generate());
        assert_eq!(a.len(), 172);
        assert_ne!(a, b);
        let hex = TokenOptions {
            size: 16,
            encoding: TokenEncoding::Hex,
        }
        .generate();
        assert_eq!(hex.len(), 32);
    }
}
