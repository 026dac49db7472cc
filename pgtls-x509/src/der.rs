//! DER: a strict reader of tag-length-value elements and the few encoders pgtls needs.
//!
//! The reader accepts only definite, minimal lengths (as DER requires) and low tag
//! numbers (every tag in certificates, CRLs, CSRs and keys is one).

use std::fmt;

/// Why a DER structure could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DerError {}

/// Universal tags used in X.509.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// UTF8String
    pub const UTF8_STRING: u8 = 0x0c;
    /// NumericString
    pub const NUMERIC_STRING: u8 = 0x12;
    /// PrintableString
    pub const PRINTABLE_STRING: u8 = 0x13;
    /// T61String (TeletexString)
    pub const T61_STRING: u8 = 0x14;
    /// IA5String
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// VisibleString
    pub const VISIBLE_STRING: u8 = 0x1a;
    /// UniversalString
    pub const UNIVERSAL_STRING: u8 = 0x1c;
    /// BMPString
    pub const BMP_STRING: u8 = 0x1e;
    /// SEQUENCE (constructed)
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed)
    pub const SET: u8 = 0x31;
}

/// One tag-length-value element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// The whole element, header included.
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
///
/// # Errors
/// Truncated input, a multi-byte tag, an indefinite, over-long or non-minimal length.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
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
///
/// # Errors
/// As [`read`], and trailing data after the element.
pub fn read_all(input: &[u8]) -> Result<Tlv<'_>, DerError> {
    let (tlv, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(DerError("trailing data after the structure"));
    }
    Ok(tlv)
}

/// Reads exactly one element with tag `tag` that fills `input`.
///
/// # Errors
/// As [`read_all`], and another tag.
pub fn read_tagged(input: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let tlv = read_all(input)?;
    if tlv.tag != tag {
        return Err(DerError("unexpected tag"));
    }
    Ok(tlv)
}

/// The elements inside a constructed element's content.
///
/// # Errors
/// As [`read`], for any element.
pub fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
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
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// Encodes one element whose content is the concatenation of `parts`.
pub fn tlv_parts(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encodes an OBJECT IDENTIFIER (whole element) from its arcs.
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        _ => return tlv(tag::OID, &[]),
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut groups = Vec::new();
        let mut v = arc;
        loop {
            groups.push(u8::try_from(v & 0x7f).unwrap_or(0));
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
    tlv(tag::OID, &content)
}

/// Decodes an OBJECT IDENTIFIER's content into dotted form.
pub fn oid_to_string(content: &[u8]) -> String {
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

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
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
        assert!(read_all(&[0x1f, 0x01, 0x00]).is_err());
        assert!(read_all(&[0x30, 0x80, 0x00, 0x00]).is_err());
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
