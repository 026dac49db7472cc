//! A minimal DER reader/writer: just enough to splice exact name bytes into the
//! to-be-signed structures rcgen produces, to re-wrap keys, and to encode names.
//!
//! Why: rcgen re-encodes issuer and subject names through a map that keeps one value per
//! attribute type, so `DC=org, DC=example` would lose a component and the issued
//! certificate's issuer would no longer equal the CA's subject. We let rcgen build the
//! structure with a placeholder name, then replace the name elements with the exact bytes
//! and sign the result ourselves (a single signature: the first pass uses a signer that
//! returns an empty signature).

/// Why a DER structure could not be read.
#[derive(Debug)]
pub(crate) struct DerError(pub(crate) &'static str);

/// One tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    /// The whole element, header included.
    pub(crate) raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input
        .split_first()
        .ok_or(DerError("unexpected end of data"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tags are not supported"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError("missing length"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(DerError("unsupported length encoding"));
        }
        let (bytes, rest) = rest
            .split_at_checked(n)
            .ok_or(DerError("truncated length"))?;
        if bytes.first() == Some(&0) {
            return Err(DerError("non-minimal length"));
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return Err(DerError("non-minimal length"));
        }
        (len, rest)
    };
    let (content, rest) = rest
        .split_at_checked(len)
        .ok_or(DerError("element longer than the data"))?;
    let header = input.len() - rest.len() - len;
    let raw = input
        .get(..header + len)
        .ok_or(DerError("element longer than the data"))?;
    Ok((Tlv { tag, content, raw }, rest))
}

/// Reads exactly one element that fills `input`.
pub(crate) fn read_all(input: &[u8]) -> Result<Tlv<'_>, DerError> {
    let (tlv, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(DerError("trailing data after the structure"));
    }
    Ok(tlv)
}

/// The elements inside a constructed element's content.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.extend(u8::try_from(len));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let n = bytes.len() - skip;
        out.extend(u8::try_from(0x80 | n));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

/// Encodes one element.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// Encodes one element whose content is the concatenation of `parts`.
pub(crate) fn tlv_parts(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encodes an OBJECT IDENTIFIER from its arcs.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        _ => return tlv(0x06, &[]),
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut groups = Vec::new();
        let mut v = arc;
        loop {
            groups.push((v & 0x7f) as u8);
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        let last = groups.len() - 1;
        for (i, g) in groups.iter().rev().enumerate() {
            content.push(if i == last { *g } else { g | 0x80 });
        }
    }
    tlv(0x06, &content)
}

/// Decodes an OBJECT IDENTIFIER's content into dotted form.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for b in content {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20] {
            let content = vec![7u8; len];
            let enc = tlv(0x04, &content);
            let el = read_all(&enc).unwrap();
            assert_eq!(el.content.len(), len);
            assert_eq!(el.raw, enc.as_slice());
        }
    }

    #[test]
    fn rejects_truncation_and_trailing_data() {
        let enc = tlv(0x30, &[1, 2, 3]);
        assert!(read_all(&enc[..enc.len() - 1]).is_err());
        let mut more = enc;
        more.push(0);
        assert!(read_all(&more).is_err());
        assert!(read_all(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]).is_err());
    }

    #[test]
    fn oids() {
        let enc = oid(&[0, 9, 2342, 19200300, 100, 1, 25]);
        assert_eq!(
            enc,
            [
                0x06, 0x0a, 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19
            ]
        );
        assert_eq!(oid_to_string(&enc[2..]), "0.9.2342.19200300.100.1.25");
        assert_eq!(oid_to_string(&oid(&[2, 5, 4, 3])[2..]), "2.5.4.3");
    }
}
