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

/// One of the server's network interfaces as `samehost` and `samenet` use it: its
/// address and the prefix length of its netmask (what `getifaddrs` gives the server).
///
/// Parsed from `address` or `address/prefix-length`: the address is a plain IPv4
/// dotted quad or IPv6 text (with an optional `%zone` after an IPv6 address, which is
/// dropped: the server compares interface addresses without their scope); the prefix
/// length is decimal digits, 0 to 32 (IPv4) or 128 (IPv6); without one the network is
/// the address alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServerNetwork {
    address: IpAddr,
    prefix_len: u8,
}

/// Why a [`ServerNetwork`] does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerNetworkError {
    /// The part before `/` is not an IP address.
    #[error("not an address: {input}")]
    NotAnAddress {
        /// The text given.
        input: String,
    },
    /// The part after `/` is not a prefix length for the address's family.
    #[error("bad prefix length: {input} (0 to {max})")]
    BadPrefixLength {
        /// The text given.
        input: String,
        /// The longest prefix of the address's family.
        max: u8,
    },
}

impl ServerNetwork {
    /// A network of `prefix_len` leading bits of `address`.
    ///
    /// # Errors
    /// [`ServerNetworkError::BadPrefixLength`] when `prefix_len` exceeds 32 (IPv4) or
    /// 128 (IPv6).
    pub fn new(address: IpAddr, prefix_len: u8) -> Result<Self, ServerNetworkError> {
        let max = if address.is_ipv6() { 128 } else { 32 };
        if prefix_len > max {
            return Err(ServerNetworkError::BadPrefixLength {
                input: format!("{address}/{prefix_len}"),
                max,
            });
        }
        Ok(Self {
            address,
            prefix_len,
        })
    }

    /// The interface's address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length of its netmask.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }
}

impl std::str::FromStr for ServerNetwork {
    type Err = ServerNetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, prefix) = match s.split_once('/') {
            Some((i, p)) => (i, Some(p)),
            None => (s, None),
        };
        let not_an_address = || ServerNetworkError::NotAnAddress {
            input: s.to_owned(),
        };
        let address = match ip.split_once('%') {
            Some((v6, zone)) if !zone.is_empty() => {
                IpAddr::V6(v6.parse().map_err(|_| not_an_address())?)
            }
            Some(_) => return Err(not_an_address()),
            None => ip.parse().map_err(|_| not_an_address())?,
        };
        let max = if address.is_ipv6() { 128 } else { 32 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => Some(p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u8>().ok())
                .filter(|p| *p <= max)
                .ok_or_else(|| ServerNetworkError::BadPrefixLength {
                    input: s.to_owned(),
                    max,
                })?,
        };
        Ok(Self {
            address,
            prefix_len,
        })
    }
}

impl std::fmt::Display for ServerNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl From<ServerNetwork> for (IpAddr, u8) {
    fn from(n: ServerNetwork) -> Self {
        (n.address, n.prefix_len)
    }
}

#[cfg(test)]
mod server_network_tests {
    use super::*;

    fn parse(s: &str) -> Result<ServerNetwork, ServerNetworkError> {
        s.parse()
    }

    #[test]
    fn parses_addresses_and_cidrs() {
        let n = parse("10.1.2.1/24").unwrap();
        assert_eq!(
            (n.address(), n.prefix_len()),
            ("10.1.2.1".parse().unwrap(), 24)
        );
        assert_eq!(parse("10.1.2.1").unwrap().prefix_len(), 32);
        assert_eq!(parse("::1").unwrap().prefix_len(), 128);
        assert_eq!(parse("10.0.0.0/0").unwrap().prefix_len(), 0);
        assert_eq!(parse("fd00::1/128").unwrap().prefix_len(), 128);
        // A zone is dropped: the server compares addresses without scope.
        let z = parse("fe80::1%eth0/64").unwrap();
        assert_eq!(z, parse("fe80::1/64").unwrap());
        assert_eq!(z.to_string(), "fe80::1/64");
        assert_eq!(<(IpAddr, u8)>::from(z), ("fe80::1".parse().unwrap(), 64));
    }

    #[test]
    fn refuses_what_is_not_one() {
        for s in [
            "host/8",
            "",
            "10.1",
            "10.0.0.1%eth0",
            "fe80::1%",
            "%eth0",
            "10.0.0.1 ",
        ] {
            assert_eq!(
                parse(s),
                Err(ServerNetworkError::NotAnAddress { input: s.into() }),
                "{s:?}"
            );
        }
        for (s, max) in [
            ("10.0.0.1/33", 32),
            ("10.0.0.1/+8", 32),
            ("10.0.0.1/", 32),
            ("10.0.0.1/-1", 32),
            ("10.0.0.1/8 ", 32),
            ("::1/129", 128),
            ("::1/1000", 128),
        ] {
            assert_eq!(
                parse(s),
                Err(ServerNetworkError::BadPrefixLength {
                    input: s.into(),
                    max
                }),
                "{s:?}"
            );
        }
        assert_eq!(
            parse("10.0.0.1/33").unwrap_err().to_string(),
            "bad prefix length: 10.0.0.1/33 (0 to 32)"
        );
        assert_eq!(
            parse("host/8").unwrap_err().to_string(),
            "not an address: host/8"
        );
        assert!(ServerNetwork::new("::1".parse().unwrap(), 129).is_err());
        assert_eq!(
            ServerNetwork::new("10.0.0.0".parse().unwrap(), 8).unwrap(),
            parse("10.0.0.0/8").unwrap()
        );
    }
}
