//! PEM through pgtls-x509's strict policy, with the input named in errors.

pub use pgtls_x509::pem::{PemBlock, encode as encode_pem, looks_like_pem};

use crate::error::Error;

/// Decodes every PEM block in `input`, in order. Text outside blocks is ignored, as
/// OpenSSL ignores it. `source` names the input in errors.
///
/// # Errors
/// [`Error::Malformed`] when there is no block, a block has no matching END line, or its
/// base64 does not decode.
pub fn parse_pem(input: &[u8], source: &str) -> Result<Vec<PemBlock>, Error> {
    pgtls_x509::pem::parse(input).map_err(|e| Error::malformed(source, "PEM file", e.to_string()))
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
    fn errors_name_the_input() {
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = parse_pem(bad.as_bytes(), "f.pem").unwrap_err().to_string();
        assert!(err.contains("f.pem"), "{err}");
    }
}
