//! Certificate serial numbers and CRL numbers.

use std::fmt;

use crate::error::Error;

/// A certificate serial number: a positive integer of at most 20 octets (RFC 5280
/// §4.1.2.2), kept as minimal big-endian bytes (no sign octet).
///
/// Ordered as integers: `FF` < `0100` (CRL numbers are compared this way).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber {
    bytes: Vec<u8>,
}

impl Ord for SerialNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Both magnitudes are minimal (no leading zero octet), so the longer one is the
        // larger number; equal lengths compare as big-endian bytes.
        self.bytes
            .len()
            .cmp(&other.bytes.len())
            .then_with(|| self.bytes.cmp(&other.bytes))
    }
}

impl PartialOrd for SerialNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialNumber({})", self.to_hex())
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl SerialNumber {
    /// A random serial: 159 bits from the system RNG, first bit clear (positive) and second
    /// bit set (so the encoding is always exactly 20 octets).
    ///
    /// # Errors
    /// [`Error::Crypto`] when the RNG fails.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = vec![0u8; 20];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto {
            operation: "random serial number",
        })?;
        if let Some(first) = bytes.first_mut() {
            *first = (*first & 0x7f) | 0x40;
        }
        Ok(Self { bytes })
    }

    /// From big-endian magnitude bytes (leading zeros are dropped).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero or more than 20 octets once DER-encoded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let bytes = bytes.get(skip..).unwrap_or_default().to_vec();
        let encoded_len = bytes.len() + usize::from(bytes.first().is_some_and(|b| b & 0x80 != 0));
        if bytes.is_empty() {
            return Err(Error::invalid("serial", "must be positive"));
        }
        if encoded_len > 20 {
            return Err(Error::invalid("serial", "longer than 20 octets"));
        }
        Ok(Self { bytes })
    }

    /// From hex, as `index.txt`, `newcerts/` file names and `openssl x509 -serial` write it
    /// (case-insensitive; an optional `0x` and `:` separators are accepted).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when it is not hex or out of range.
    pub fn from_hex(hex: &str) -> Result<Self, Error> {
        let clean: String = hex
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| *c != ':')
            .collect();
        let bytes = decode_hex(&clean)
            .ok_or_else(|| Error::invalid("serial", format!("{hex:?} is not hexadecimal")))?;
        Self::from_bytes(&bytes)
    }

    /// Upper-case hex with an even number of digits, as OpenSSL writes serials.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The magnitude, big-endian, minimal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn to_rcgen(&self) -> rcgen::SerialNumber {
        // rcgen writes the bytes as the INTEGER content: add the sign octet ourselves.
        let mut v = Vec::with_capacity(self.bytes.len() + 1);
        if self.bytes.first().is_some_and(|b| b & 0x80 != 0) {
            v.push(0);
        }
        v.extend_from_slice(&self.bytes);
        rcgen::SerialNumber::from_slice(&v)
    }

    /// The next number (for `crlnumber`-style counters).
    pub fn next(&self) -> Result<Self, Error> {
        let mut v = self.bytes.clone();
        for b in v.iter_mut().rev() {
            let (n, carry) = b.overflowing_add(1);
            *b = n;
            if !carry {
                return Self::from_bytes(&v);
            }
        }
        v.insert(0, 1);
        Self::from_bytes(&v)
    }
}

pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| {
            padded
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_twenty_octets_positive() {
        for _ in 0..100 {
            let s = SerialNumber::random().unwrap();
            assert_eq!(s.as_bytes().len(), 20);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
        }
    }

    #[test]
    fn hex_round_trip_and_limits() {
        let s = SerialNumber::from_hex("00ff").unwrap();
        assert_eq!(s.to_hex(), "FF");
        assert_eq!(SerialNumber::from_hex("0a:bc").unwrap().to_hex(), "0ABC");
        assert!(SerialNumber::from_hex("00").is_err());
        assert!(SerialNumber::from_hex("xyz").is_err());
        assert!(SerialNumber::from_hex(&"7F".repeat(20)).is_ok());
        assert!(SerialNumber::from_hex(&"80".repeat(20)).is_err());
        assert_eq!(
            SerialNumber::from_hex("FF")
                .unwrap()
                .next()
                .unwrap()
                .to_hex(),
            "0100"
        );
    }

    #[test]
    fn ordered_as_integers_across_octet_boundaries() {
        let n = |h: &str| SerialNumber::from_hex(h).unwrap();
        // Lexicographic byte order would put 0100 before FF: CRL number 256 after 255
        // must compare greater (a CI run of the SIGKILL test crossed exactly this).
        assert!(n("FF") < n("0100"));
        assert!(n("FF").next().unwrap() > n("FF"));
        assert!(n("0100") < n("0101"));
        assert!(n("7F") < n("80"));
        assert!(n("00FF") == n("FF"));
        // Against u128 order over a spread of values, including every octet boundary.
        let mut values: Vec<u128> = (0..128).map(|i| 1u128 << i).collect();
        values.extend((1..128).map(|i| (1u128 << i) - 1));
        values.extend((1..128).map(|i| (1u128 << i) + 1));
        let mut x: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 120) as u32 | 1);
        }
        let serial = |v: u128| SerialNumber::from_bytes(&v.to_be_bytes()).unwrap();
        for a in &values {
            for b in values.iter().step_by(7) {
                assert_eq!(serial(*a).cmp(&serial(*b)), a.cmp(b), "{a:#x} vs {b:#x}");
            }
        }
    }
}
