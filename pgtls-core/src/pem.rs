//! PEM: splitting a file into blocks, decoding them, encoding DER.

use pkcs8::der::pem::{LineEnding, decode_vec, encode_string};

use crate::error::Error;

/// One decoded PEM block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemBlock {
    /// The label between `BEGIN ` and the dashes, for example `CERTIFICATE`.
    pub label: String,
    /// The decoded bytes.
    pub der: Vec<u8>,
    /// Whether the block carried RFC 1421 headers (`Proc-Type: ...`), which only the
    /// legacy encrypted-key format uses.
    pub has_headers: bool,
}

/// Whether `input` looks like PEM text rather than DER.
pub fn looks_like_pem(input: &[u8]) -> bool {
    input.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Decodes every PEM block in `input`, in order. Text outside blocks is ignored, as
/// OpenSSL ignores it. `source` names the input in errors.
///
/// # Errors
/// [`Error::Malformed`] when there is no block, a block has no matching END line, or its
/// base64 does not decode.
pub fn parse_pem(input: &[u8], source: &str) -> Result<Vec<PemBlock>, Error> {
    let text = std::str::from_utf8(input)
        .map_err(|_| Error::malformed(source, "PEM file", "not UTF-8 text"))?;
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
        let mut body = String::new();
        let mut headers = Vec::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            let l = l.trim_end();
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                headers.push(l.to_owned());
            } else if !l.is_empty() {
                body.push_str(l);
                body.push('\n');
            }
        }
        if !closed {
            return Err(Error::malformed(
                source,
                "PEM file",
                format!("BEGIN {label} on line {} has no END line", begin_no + 1),
            ));
        }
        if !headers.is_empty() {
            blocks.push(PemBlock {
                label: label.to_owned(),
                der: Vec::new(),
                has_headers: true,
            });
            continue;
        }
        let rebuilt = format!("-----BEGIN {label}-----\n{body}{end}\n");
        let (_, der) = decode_vec(rebuilt.as_bytes()).map_err(|e| {
            Error::malformed(
                source,
                "PEM file",
                format!("block {label} on line {}: {e}", begin_no + 1),
            )
        })?;
        if der.is_empty() {
            return Err(Error::malformed(
                source,
                "PEM file",
                format!("block {label} on line {} is empty", begin_no + 1),
            ));
        }
        blocks.push(PemBlock {
            label: label.to_owned(),
            der,
            has_headers: false,
        });
    }
    if blocks.is_empty() {
        return Err(Error::malformed(source, "PEM file", "no PEM block found"));
    }
    Ok(blocks)
}

/// Encodes DER as PEM with `label`, LF line endings, 64-column lines.
pub fn encode_pem(label: &str, der: &[u8]) -> String {
    // Encoding only fails for labels with invalid characters, which we never pass.
    encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// Reads input that is either PEM with one of `labels` or raw DER; returns DER.
pub(crate) fn pem_or_der(
    input: &[u8],
    labels: &[&str],
    source: &str,
    expected: &'static str,
) -> Result<Vec<u8>, Error> {
    if !looks_like_pem(input) {
        if input.first() == Some(&0x30) {
            return Ok(input.to_vec());
        }
        return Err(Error::malformed(
            source,
            expected,
            "neither PEM nor DER (DER starts with a SEQUENCE, 0x30)",
        ));
    }
    parse_pem(input, source)?
        .into_iter()
        .find(|b| labels.contains(&b.label.as_str()))
        .map(|b| b.der)
        .ok_or_else(|| {
            Error::malformed(
                source,
                expected,
                format!("no PEM block labelled {}", labels.join(" or ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let pem = encode_pem("CERTIFICATE", &[0x30, 0x03, 1, 2, 3]);
        let blocks = parse_pem(format!("junk\n{pem}{pem}").as_bytes(), "t").unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].der, vec![0x30, 0x03, 1, 2, 3]);
        let truncated = &pem[..pem.len() - 10];
        assert!(parse_pem(truncated.as_bytes(), "t").is_err());
        assert!(parse_pem(b"nothing here", "t").is_err());
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = parse_pem(bad.as_bytes(), "f.pem").unwrap_err().to_string();
        assert!(err.contains("f.pem"), "{err}");
    }
}
