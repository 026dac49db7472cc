//! PEM: one base64 decoder, one encoder, and the two ways pgtls reads PEM text.
//!
//! * [`parse`] is the strict policy of pgtls's own inputs (keys, CSRs, certificates, CRLs
//!   given on the command line): every block must be closed by its own `END` line and
//!   decode, at least one block must be there, and text between blocks is ignored.
//! * [`read_x509_info`] is OpenSSL's `PEM_X509_INFO_read_bio`, the reader behind
//!   `X509_load_cert_crl_file` that libpq (`sslrootcert`) and the server (`ssl_ca_file`)
//!   use for a root file: certificates and CRLs are kept, other blocks are skipped, and one
//!   broken block fails the whole file with OpenSSL's reason string.

use std::fmt;

use crate::der;

/// One decoded PEM block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, for example `CERTIFICATE`.
    pub label: String,
    /// The decoded bytes (empty when the block has RFC 1421 headers).
    pub der: Vec<u8>,
    /// Whether the block carried RFC 1421 headers (`Proc-Type: ...`), which only the
    /// legacy encrypted-key format uses; such a block is not decoded.
    pub has_headers: bool,
    /// The 1-based line of its `BEGIN` line.
    pub line: usize,
    /// Its 1-based position among the blocks of the input.
    pub index: usize,
}

/// Why PEM text could not be read by [`parse`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PemError {
    /// The input is not UTF-8 text.
    NotText,
    /// The input has no PEM block.
    NoBlock,
    /// A `BEGIN` line has no matching `END` line.
    Unterminated {
        /// The block's label.
        label: String,
        /// The 1-based line of its `BEGIN` line.
        line: usize,
        /// Its 1-based position among the blocks of the input.
        index: usize,
    },
    /// A block's body is not base64.
    BadBase64 {
        /// The block's label.
        label: String,
        /// The 1-based line of its `BEGIN` line.
        line: usize,
        /// Its 1-based position among the blocks of the input.
        index: usize,
    },
    /// A block decodes to nothing.
    Empty {
        /// The block's label.
        label: String,
        /// The 1-based line of its `BEGIN` line.
        line: usize,
        /// Its 1-based position among the blocks of the input.
        index: usize,
    },
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotText => f.write_str("not UTF-8 text"),
            Self::NoBlock => f.write_str("no PEM block found"),
            Self::Unterminated { label, line, .. } => {
                write!(f, "BEGIN {label} on line {line} has no END line")
            }
            Self::BadBase64 { label, line, .. } => {
                write!(f, "block {label} on line {line}: invalid base64")
            }
            Self::Empty { label, line, .. } => write!(f, "block {label} on line {line} is empty"),
        }
    }
}

impl std::error::Error for PemError {}

impl PemError {
    /// The block the error is about: its 1-based index among the blocks of the input and
    /// the 1-based line of its `BEGIN` line; `None` when it concerns the whole input.
    pub fn block(&self) -> Option<(usize, usize)> {
        match self {
            Self::NotText | Self::NoBlock => None,
            Self::Unterminated { line, index, .. }
            | Self::BadBase64 { line, index, .. }
            | Self::Empty { line, index, .. } => Some((*index, *line)),
        }
    }
}

/// How input bytes are encoded.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One DER SEQUENCE filling the input.
    Der,
    /// Text with a PEM `BEGIN` line.
    Pem,
    /// Neither.
    Unknown,
}

/// Tells DER from PEM: input that is one whole DER SEQUENCE is DER (even if its bytes
/// happen to contain a `-----BEGIN ` line), else input with a `-----BEGIN ` line is PEM.
pub fn sniff(input: &[u8]) -> Encoding {
    if der::read_tagged(input, der::tag::SEQUENCE).is_ok() {
        Encoding::Der
    } else if looks_like_pem(input) {
        Encoding::Pem
    } else {
        Encoding::Unknown
    }
}

/// Whether `input` contains a PEM `BEGIN` marker.
pub fn looks_like_pem(input: &[u8]) -> bool {
    input.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Decodes every PEM block in `input`, in order (the strict policy, see the module docs).
///
/// # Errors
/// [`PemError`]: not text, no block, a block without its `END` line, bad base64, or an
/// empty block.
pub fn parse(input: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    let text = std::str::from_utf8(input).map_err(|_| PemError::NotText)?;
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((begin_no, line)) = lines.next() {
        let line = line.trim_end();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Vec::new();
        let mut headers = false;
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            let l = l.trim_end();
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                headers = true;
            } else {
                body.extend_from_slice(l.as_bytes());
            }
        }
        let (label, line, index) = (label.to_owned(), begin_no + 1, blocks.len() + 1);
        if !closed {
            return Err(PemError::Unterminated { label, line, index });
        }
        if headers {
            blocks.push(PemBlock {
                label,
                der: Vec::new(),
                has_headers: true,
                line,
                index,
            });
            continue;
        }
        let Some(der) = base64_decode(&body, Padding::Required) else {
            return Err(PemError::BadBase64 { label, line, index });
        };
        if der.is_empty() {
            return Err(PemError::Empty { label, line, index });
        }
        blocks.push(PemBlock {
            label,
            der,
            has_headers: false,
            line,
            index,
        });
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock);
    }
    Ok(blocks)
}

/// Encodes DER as PEM with `label`: LF line endings, 64-column lines, as OpenSSL writes.
pub fn encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = usize::try_from((n >> (18 - 6 * i)) & 0x3f).unwrap_or(0);
                b64.push(ALPHABET.get(idx).copied().unwrap_or(b'A'));
            } else {
                b64.push(b'=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// One block [`read_x509_info`] keeps (complete: the two kinds a root file is read for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum X509InfoBlock {
    /// A certificate (`CERTIFICATE`, `X509 CERTIFICATE`, `TRUSTED CERTIFICATE`), DER.
    /// `trusted` marks `TRUSTED CERTIFICATE`, whose DER is followed by OpenSSL's
    /// auxiliary trust data.
    Certificate {
        /// The decoded block.
        der: Vec<u8>,
        /// A `TRUSTED CERTIFICATE` block.
        trusted: bool,
    },
    /// A CRL (`X509 CRL`), DER.
    Crl(Vec<u8>),
}

/// Why [`read_x509_info`] failed: OpenSSL's reason string (`bad end line`,
/// `bad base64 decode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X509InfoError(pub &'static str);

impl fmt::Display for X509InfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for X509InfoError {}

/// Reads a root or CA file as OpenSSL's `PEM_X509_INFO_read_bio` does (see the module
/// docs). No block at all is not an error here (the caller decides, as
/// `X509_load_cert_crl_file` does with `no certificate or crl found`).
///
/// # Errors
/// [`X509InfoError`] with OpenSSL's reason when a block is not closed by its own `END`
/// line or a kept block does not decode.
pub fn read_x509_info(data: &[u8]) -> Result<Vec<X509InfoBlock>, X509InfoError> {
    let mut out = Vec::new();
    let mut lines = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix(b"-----BEGIN ")
            .and_then(|r| r.strip_suffix(b"-----"))
        else {
            continue;
        };
        let mut body = Vec::new();
        let mut ended = false;
        let mut header = false;
        for l in lines.by_ref() {
            if let Some(end) = l
                .strip_prefix(b"-----END ")
                .and_then(|r| r.strip_suffix(b"-----"))
            {
                if end != label {
                    return Err(X509InfoError("bad end line"));
                }
                ended = true;
                break;
            }
            if l.contains(&b':') {
                // RFC 1421 headers (Proc-Type, DEK-Info): an encrypted block.
                header = true;
                continue;
            }
            body.extend_from_slice(l);
        }
        if !ended {
            return Err(X509InfoError("bad end line"));
        }
        let kind = match label {
            b"CERTIFICATE" | b"X509 CERTIFICATE" => Some(false),
            b"TRUSTED CERTIFICATE" => Some(true),
            b"X509 CRL" => None,
            _ => continue,
        };
        if header {
            return Err(X509InfoError("bad base64 decode"));
        }
        let der =
            base64_decode(&body, Padding::Optional).ok_or(X509InfoError("bad base64 decode"))?;
        out.push(match kind {
            Some(trusted) => X509InfoBlock::Certificate { der, trusted },
            None => X509InfoBlock::Crl(der),
        });
    }
    Ok(out)
}

/// Whether the final quantum must carry its `=` padding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Padding {
    Required,
    Optional,
}

/// Standard base64; white space ignored, `=` only at the end.
fn base64_decode(input: &[u8], padding: Padding) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut n = 0u32;
    let mut pad = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if pad > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            n = 0;
        }
    }
    let optional = padding == Padding::Optional;
    match (n, pad) {
        (0, 0) => {}
        (2, 2) => out.extend_from_slice(&(acc >> 4).to_be_bytes()[3..]),
        (2, 0) if optional => out.extend_from_slice(&(acc >> 4).to_be_bytes()[3..]),
        (3, 1) => out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]),
        (3, 0) if optional => out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]),
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_values() {
        let d = |s: &[u8]| base64_decode(s, Padding::Required);
        assert_eq!(d(b"TWFu").unwrap(), b"Man");
        assert_eq!(d(b"TWE=").unwrap(), b"Ma");
        assert_eq!(d(b"TQ==").unwrap(), b"M");
        assert_eq!(d(b"TW\nFu").unwrap(), b"Man");
        assert!(d(b"T!Fu").is_none());
        assert!(d(b"T").is_none());
        assert!(d(b"TQ").is_none());
        assert!(d(b"TQ==TQ==").is_none());
        assert_eq!(base64_decode(b"TQ", Padding::Optional).unwrap(), b"M");
    }

    #[test]
    fn encode_round_trips() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 100] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let pem = encode("X", &der);
            if len == 0 {
                assert!(parse(pem.as_bytes()).is_err());
                continue;
            }
            assert!(pem.lines().all(|l| l.len() <= 64));
            let blocks = parse(pem.as_bytes()).unwrap();
            assert_eq!(blocks[0].der, der);
        }
    }

    #[test]
    fn strict_errors() {
        let pem = encode("CERTIFICATE", &[0x30, 0x03, 1, 2, 3]);
        let blocks = parse(format!("junk\n{pem}{pem}").as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].line, 5);
        assert_eq!((blocks[0].index, blocks[1].index), (1, 2));
        let truncated = &pem[..pem.len() - 10];
        assert!(matches!(
            parse(truncated.as_bytes()),
            Err(PemError::Unterminated {
                line: 1,
                index: 1,
                ..
            })
        ));
        let second_bad = format!("{pem}-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n");
        assert!(matches!(
            parse(second_bad.as_bytes()),
            Err(PemError::BadBase64 {
                line: 4,
                index: 2,
                ..
            })
        ));
        assert_eq!(parse(b"nothing here"), Err(PemError::NoBlock));
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse(bad.as_bytes()),
            Err(PemError::BadBase64 { .. })
        ));
    }

    #[test]
    fn x509_info_skips_unknown_blocks_and_text() {
        let pem = b"hello\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
                    -----BEGIN X509 CRL-----\nTWFu\n-----END X509 CRL-----\n";
        assert_eq!(
            read_x509_info(pem).unwrap(),
            vec![X509InfoBlock::Crl(b"Man".to_vec())]
        );
        assert!(read_x509_info(b"-----BEGIN CERTIFICATE-----\nTWFu\n").is_err());
        assert!(
            read_x509_info(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(read_x509_info(b"").unwrap().is_empty());
    }

    #[test]
    fn sniffing() {
        let der = der::tlv(0x30, b"-----BEGIN X-----");
        assert_eq!(sniff(&der), Encoding::Der);
        assert_eq!(sniff(encode("X", &der).as_bytes()), Encoding::Pem);
        assert_eq!(sniff(b"hello"), Encoding::Unknown);
    }
}
