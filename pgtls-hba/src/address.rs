//! Addresses as pg_hba.conf writes them: glibc's numeric `getaddrinfo`
//! (`inet_aton` forms included), CIDR suffixes as `pg_sockaddr_cidr_mask`
//! reads them, and `inet_ntop`'s text for the view.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// glibc `getaddrinfo(AI_NUMERICHOST)`: `None` means `EAI_NONAME` (a host name).
pub(crate) fn parse_numeric_host(s: &str) -> Option<IpAddr> {
    if let Some(v4) = crate::inet::inet_aton_exact(s.as_bytes()) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    let (addr, scope) = match s.split_once('%') {
        Some((a, sc)) => (a, Some(sc)),
        None => (s, None),
    };
    if !addr.contains(':') {
        return None;
    }
    let a = addr.parse::<Ipv6Addr>().ok()?;
    if let Some(sc) = scope {
        // glibc: numeric scope ids always work; interface names only for
        // link-local addresses (and only if the interface exists there, which
        // pgtls cannot know: any plausible name is accepted).
        let numeric = !sc.is_empty() && sc.bytes().all(|b| b.is_ascii_digit());
        let seg = a.segments();
        let link_local = (seg[0] & 0xffc0) == 0xfe80 || (seg[0] & 0xff0f) == 0xff02;
        let name_ok = link_local
            && !sc.is_empty()
            && sc.len() < 16
            && sc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@'));
        if !numeric && !name_ok {
            return None;
        }
    }
    Some(IpAddr::V6(a))
}

/// `pg_sockaddr_cidr_mask`: the mask for a `/bits` suffix (`strtol`, base 10).
pub(crate) fn cidr_mask(bits: &str, v6: bool) -> Option<(IpAddr, u8)> {
    let (val, used) = crate::inet::strtol10(bits.as_bytes());
    if used == 0 || used != bits.len() || val < 0 {
        return None;
    }
    let max = if v6 { 128 } else { 32 };
    if val > max {
        return None;
    }
    let n = u8::try_from(val).ok()?;
    Some((mask_from_prefix(n, v6), n))
}

/// A netmask of `n` leading ones.
pub(crate) fn mask_from_prefix(n: u8, v6: bool) -> IpAddr {
    if v6 {
        let m = if n == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(n))
        };
        IpAddr::V6(Ipv6Addr::from(m))
    } else {
        let m = if n == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(n))
        };
        IpAddr::V4(Ipv4Addr::from(m))
    }
}

/// `inet_ntop` as glibc prints it.
pub(crate) fn ntop(a: &IpAddr) -> String {
    crate::inet::inet_ntop(a)
}

/// `(client XOR addr) AND mask == 0`, same family only.
pub(crate) fn in_range(client: &IpAddr, addr: &IpAddr, mask: &IpAddr) -> bool {
    match (client, addr, mask) {
        (IpAddr::V4(c), IpAddr::V4(a), IpAddr::V4(m)) => {
            (u32::from(*c) ^ u32::from(*a)) & u32::from(*m) == 0
        }
        (IpAddr::V6(c), IpAddr::V6(a), IpAddr::V6(m)) => {
            (u128::from(*c) ^ u128::from(*a)) & u128::from(*m) == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_numeric_forms() {
        let ok = [
            ("127.1", "127.0.0.1"),
            ("0x7f.0.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("017.0.0.1", "15.0.0.1"),
            ("10.0.0.01", "10.0.0.1"),
            ("0", "0.0.0.0"),
            ("0X1f.1", "31.0.0.1"),
            ("fe80::1%1", "fe80::1"),
            ("fe80::1%lo", "fe80::1"),
            ("::1%1", "::1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::1", "::1"),
            ("::", "::"),
            ("1:0:0:2::", "1:0:0:2::"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ];
        for (i, o) in ok {
            assert_eq!(
                parse_numeric_host(i).map(|a| ntop(&a)).as_deref(),
                Some(o),
                "{i}"
            );
        }
        for bad in [
            "4294967296",
            "10.0.0.08",
            "1.2.3.4 ",
            "0x",
            "1.2.3.256",
            "1.2.65536",
            "::1%lo",
            "fe80::1%",
            "1.2.3.4%1",
            "",
            " 1.2.3.4",
            "1.2.3.4.",
            "00x1",
            "[::1]",
            "localhost",
            "1.2.3.4.5",
        ] {
            assert_eq!(parse_numeric_host(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_suffixes() {
        assert!(cidr_mask("8", false).is_some());
        assert!(cidr_mask("+8", false).is_some());
        assert!(cidr_mask("08", false).is_some());
        assert!(cidr_mask(" 8", false).is_some());
        assert!(cidr_mask("-0", false).is_some());
        for bad in ["", "8/8", "abc", "33", "-1", "8 "] {
            assert!(cidr_mask(bad, false).is_none(), "{bad}");
        }
        assert!(cidr_mask("128", true).is_some());
        assert!(cidr_mask("129", true).is_none());
        assert_eq!(
            ntop(&cidr_mask("64", true).unwrap().0),
            "ffff:ffff:ffff:ffff::"
        );
        assert_eq!(ntop(&cidr_mask("12", false).unwrap().0), "255.240.0.0");
    }
}
