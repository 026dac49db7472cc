//! Splicing exact name bytes into the to-be-signed structures rcgen produces (the DER
//! reader and encoders are pgtls-x509's).
//!
//! Why: rcgen re-encodes issuer and subject names through a map that keeps one value per
//! attribute type, so `DC=org, DC=example` would lose a component and the issued
//! certificate's issuer would no longer equal the CA's subject. We let rcgen build the
//! structure with a placeholder name, then replace the name elements with the exact bytes
//! and sign the result ourselves (a single signature: the first pass uses a signer that
//! returns an empty signature).

pub(crate) use pgtls_x509::der::{DerError, children, oid, read, read_all, tlv, tlv_parts};

/// Which elements of the to-be-signed structure to replace.
pub(crate) struct Splice<'a> {
    /// Index among the TBS structure's elements, and the exact bytes to put there.
    pub(crate) replace: Vec<(usize, &'a [u8])>,
}

/// Takes a signed structure `SEQUENCE { tbs, algorithm, BIT STRING }` (as rcgen wrote it,
/// with a throw-away signature), replaces elements of `tbs`, and signs the new `tbs`.
pub(crate) fn resign(
    unsigned: &[u8],
    splice: &Splice<'_>,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, DerError>,
) -> Result<Vec<u8>, DerError> {
    let outer = read_all(unsigned)?;
    let parts = children(outer.content)?;
    let [tbs, alg, _sig] = parts.as_slice() else {
        return Err(DerError("signed structure does not have three elements"));
    };
    let elements = children(tbs.content)?;
    let mut content = Vec::with_capacity(tbs.content.len() + 64);
    for (i, el) in elements.iter().enumerate() {
        match splice.replace.iter().find(|(j, _)| *j == i) {
            Some((_, bytes)) => content.extend_from_slice(bytes),
            None => content.extend_from_slice(el.raw),
        }
    }
    let new_tbs = tlv(0x30, &content);
    let signature = sign(&new_tbs)?;
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(&signature);
    let bit_string = tlv(0x03, &bits);
    Ok(tlv_parts(0x30, &[&new_tbs, alg.raw, &bit_string]))
}
