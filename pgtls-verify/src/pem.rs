//! PEM reading as OpenSSL's `PEM_X509_INFO_read_bio` does it for a CA file:
//! certificates (`CERTIFICATE`, `X509 CERTIFICATE`, `TRUSTED CERTIFICATE`)
//! and CRLs (`X509 CRL`) are kept, other blocks are skipped, text outside
//! blocks is ignored, and a broken block makes the whole file fail.

/// One PEM block of a kind we keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// A certificate (DER). `trusted` marks `TRUSTED CERTIFICATE` (DER followed by aux data).
    Cert { der: Vec<u8>, trusted: bool },
    /// A CRL (DER).
    Crl(Vec<u8>),
}

/// Why a PEM file could not be read; the text is OpenSSL's reason string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PemFailure(pub(crate) &'static str);

/// Splits PEM text into blocks.
pub(crate) fn blocks(data: &[u8]) -> Result<Vec<Block>, PemFailure> {
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
        let label = label.to_vec();
        let mut body = Vec::new();
        let mut ended = false;
        let mut header = false;
        for l in lines.by_ref() {
            if let Some(end) = l
                .strip_prefix(b"-----END ")
                .and_then(|r| r.strip_suffix(b"-----"))
            {
                if end != label.as_slice() {
                    return Err(PemFailure("bad end line"));
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
            return Err(PemFailure("bad end line"));
        }
        let kind = match label.as_slice() {
            b"CERTIFICATE" | b"X509 CERTIFICATE" => Some(false),
            b"TRUSTED CERTIFICATE" => Some(true),
            b"X509 CRL" => None,
            _ => continue,
        };
        if header {
            return Err(PemFailure("bad base64 decode"));
        }
        let der = base64_decode(&body).ok_or(PemFailure("bad base64 decode"))?;
        out.push(match kind {
            Some(trusted) => Block::Cert { der, trusted },
            None => Block::Crl(der),
        });
    }
    Ok(out)
}

/// Standard base64 with padding; white space ignored.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
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
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match (n, pad) {
        (0, 0) => {}
        (2, 2) | (2, 0) => out.push((acc >> 4) as u8),
        (3, 1) | (3, 0) => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode(b"TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode(b"TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode(b"TQ==").unwrap(), b"M");
        assert_eq!(base64_decode(b"TW\nFu").unwrap(), b"Man");
        assert!(base64_decode(b"T!Fu").is_none());
        assert!(base64_decode(b"T").is_none());
    }

    #[test]
    fn skips_unknown_blocks_and_text() {
        let pem = b"hello\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
                    -----BEGIN X509 CRL-----\nTWFu\n-----END X509 CRL-----\n";
        assert_eq!(blocks(pem).unwrap(), vec![Block::Crl(b"Man".to_vec())]);
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\nTWFu\n").is_err());
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").is_err());
        assert!(blocks(b"").unwrap().is_empty());
    }
}
