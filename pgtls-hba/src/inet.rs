//! Numeric addresses exactly as glibc and PostgreSQL read and print them, for both the
//! server side (pg_hba.conf addresses, the views) and libpq's side (is the `host` an IP
//! address, how an iPAddress SAN is printed in its error messages).
//!
//! - [`inet_aton`] is glibc's `inet_aton` (what libpq's `is_ip_address` calls: anything
//!   after a white-space character is ignored); [`inet_aton_exact`] is glibc's
//!   `__inet_aton_exact` (what `getaddrinfo(AI_NUMERICHOST)` uses for pg_hba.conf: the
//!   whole text must be the address). Both take one to four parts, each decimal, octal
//!   (leading `0`) or hex (`0x`), the last part filling the remaining bytes.
//! - [`inet_ntop`] is glibc's `inet_ntop` (the views print addresses with it);
//!   [`pg_inet_net_ntop`] is PostgreSQL's own `pg_inet_net_ntop` (libpq's messages). For a
//!   full-length address the two print the same text: PostgreSQL's extra IPv4-compatible
//!   case (seven zero words) sits inside the zero run its loop skips, so it never fires
//!   (`::102` prints as `::102`).

use std::net::{IpAddr, Ipv6Addr};

/// glibc's `strtol(s, &end, 10)`: leading white space, an optional sign, decimal digits.
/// Returns the value (clamped to `i64::MIN`/`i64::MAX` on overflow, as `strtol` clamps to
/// `LONG_MIN`/`LONG_MAX`) and how many bytes were used (0: no digits, no conversion).
pub fn strtol10(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        i += 1;
    }
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        v = (v * 10 + i128::from(d - b'0')).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = if neg { -v } else { v };
    let clamped = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    (i64::try_from(clamped).unwrap_or(0), i)
}

/// `strtoul(s, &end, 0)` on text that starts with a digit: (value, bytes used); `None`
/// when `s` does not start with a digit or the value exceeds 32 bits.
pub fn strtoul0(s: &[u8]) -> Option<(u64, usize)> {
    if !s.first()?.is_ascii_digit() {
        return None;
    }
    let (base, start) = match (s.first(), s.get(1), s.get(2)) {
        (Some(b'0'), Some(b'x' | b'X'), Some(d)) if d.is_ascii_hexdigit() => (16u64, 2usize),
        (Some(b'0'), _, _) => (8, 0),
        _ => (10, 0),
    };
    let mut v: u64 = 0;
    let mut i = start;
    let mut overflow = false;
    while let Some(&c) = s.get(i) {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a' + 10),
            b'A'..=b'F' => u64::from(c - b'A' + 10),
            _ => break,
        };
        if d >= base {
            break;
        }
        match v.checked_mul(base).and_then(|x| x.checked_add(d)) {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow || v > 0xffff_ffff {
        return None;
    }
    Some((v, i))
}

/// glibc's `inet_aton` (see the module docs).
pub fn inet_aton(s: &[u8]) -> Option<[u8; 4]> {
    aton(s, true)
}

/// glibc's `__inet_aton_exact` (see the module docs).
pub fn inet_aton_exact(s: &[u8]) -> Option<[u8; 4]> {
    aton(s, false)
}

fn aton(s: &[u8], trailing_space: bool) -> Option<[u8; 4]> {
    const MAX: [u64; 4] = [0xffff_ffff, 0x00ff_ffff, 0xffff, 0xff];
    let mut parts: Vec<u8> = Vec::new();
    let mut i = 0usize;
    let last;
    loop {
        let (v, used) = strtoul0(s.get(i..).unwrap_or_default())?;
        i += used;
        if s.get(i) == Some(&b'.') {
            if parts.len() > 2 || v > 0xff {
                return None;
            }
            parts.push(u8::try_from(v).ok()?);
            i += 1;
        } else {
            last = v;
            break;
        }
    }
    match s.get(i) {
        None => {}
        Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') if trailing_space => {}
        Some(_) => return None,
    }
    if last > *MAX.get(parts.len())? {
        return None;
    }
    let mut word = u32::try_from(last).ok()?;
    for (k, p) in parts.iter().enumerate() {
        word |= u32::from(*p) << (24 - 8 * k);
    }
    Some(word.to_be_bytes())
}

/// `inet_pton(AF_INET6, s)`.
pub fn inet_pton6(s: &[u8]) -> Option<[u8; 16]> {
    let text = std::str::from_utf8(s).ok()?;
    text.parse::<Ipv6Addr>().ok().map(|a| a.octets())
}

/// glibc's `inet_ntop` (IPv4-mapped and IPv4-compatible IPv6 in dotted form).
pub fn inet_ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ntop6(&v6.octets()),
    }
}

/// PostgreSQL's `pg_inet_net_ntop` for a full-length address (4 or 16 bytes, no `/bits`
/// suffix); empty for another length.
pub fn pg_inet_net_ntop(ip: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(ip) {
        return format!("{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]);
    }
    match <[u8; 16]>::try_from(ip) {
        Ok(b) => ntop6(&b),
        Err(_) => String::new(),
    }
}

/// The IPv6 text of both `inet_ntop`s: the longest run of two or more zero words (the
/// first on ties) as `::`, a trailing IPv4 address in dotted form when the address is
/// IPv4-mapped or IPv4-compatible.
fn ntop6(b: &[u8; 16]) -> String {
    let mut words = [0u16; 8];
    for (w, c) in words.iter_mut().zip(b.chunks(2)) {
        *w = u16::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ]);
    }
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut i = 0;
    while i < 8 {
        if words.get(i) == Some(&0) {
            let start = i;
            while words.get(i) == Some(&0) {
                i += 1;
            }
            if i - start > best_len {
                best_base = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some(bb) = best_base
            && i >= bb
            && i < bb + best_len
        {
            if i == bb {
                out.push(':');
            }
            i += 1;
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        let w5 = words[5];
        if i == 6 && best_base == Some(0) && (best_len == 6 || (best_len == 5 && w5 == 0xffff)) {
            out.push_str(&format!("{}.{}.{}.{}", b[12], b[13], b[14], b[15]));
            return out;
        }
        out.push_str(&format!("{:x}", words.get(i).copied().unwrap_or(0)));
        i += 1;
    }
    if best_base.is_some_and(|bb| bb + best_len == 8) {
        out.push(':');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_forms() {
        assert_eq!(strtol10(b"  -12x"), (-12, 5));
        assert_eq!(strtol10(b"+7"), (7, 2));
        assert_eq!(strtol10(b"x"), (0, 0));
        assert_eq!(strtol10(b"-"), (0, 0));
        assert_eq!(strtol10(b"99999999999999999999"), (i64::MAX, 20));
        assert_eq!(strtol10(b"-99999999999999999999"), (i64::MIN, 21));
    }

    #[test]
    fn aton_forms() {
        assert_eq!(inet_aton(b"127.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton(b"0x7f.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton(b"017.0.0.1"), Some([15, 0, 0, 1]));
        assert_eq!(inet_aton(b"1.2.3.4 junk"), Some([1, 2, 3, 4]));
        assert_eq!(inet_aton_exact(b"1.2.3.4 junk"), None);
        assert_eq!(inet_aton_exact(b"4294967295"), Some([255, 255, 255, 255]));
        assert_eq!(inet_aton(b"4294967296"), None);
        assert_eq!(inet_aton(b"1.256.0.0"), None);
        assert_eq!(inet_aton(b"1.2.3.4.5"), None);
        assert_eq!(inet_aton(b""), None);
    }

    #[test]
    fn ntop_forms() {
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        assert_eq!(
            inet_ntop(&IpAddr::V6(v6("::ffff:1.2.3.4"))),
            "::ffff:1.2.3.4"
        );
        assert_eq!(inet_ntop(&IpAddr::V6(v6("::1.2.3.4"))), "::1.2.3.4");
        assert_eq!(inet_ntop(&IpAddr::V6(v6("::102"))), "::102");
        assert_eq!(pg_inet_net_ntop(&v6("::102").octets()), "::102");
        assert_eq!(pg_inet_net_ntop(&v6("::1").octets()), "::1");
        assert_eq!(inet_ntop(&IpAddr::V6(v6("1:0:0:2:0:0:0:3"))), "1:0:0:2::3");
        assert_eq!(inet_ntop(&IpAddr::V6(v6("1::"))), "1::");
        assert_eq!(pg_inet_net_ntop(&[10, 0, 0, 1]), "10.0.0.1");
    }
}
