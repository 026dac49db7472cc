//! libpq's host-name check for `sslmode=verify-full`, to the letter.
//!
//! Sources (PostgreSQL, our reading, not copied code):
//! - `src/interfaces/libpq/fe-secure-openssl.c`
//!   `pgtls_verify_peer_name_matches_certificate_guts` (PG15+ form with
//!   iPAddress SANs and the host-type-dependent CN fallback, commit c1932e542;
//!   the PG12–14 form that looks at dNSName SANs only) and `is_ip_address`;
//! - `src/interfaces/libpq/fe-secure-common.c`
//!   `pq_verify_peer_name_matches_certificate{,_name,_ip}` and
//!   `wildcard_certificate_match`;
//! - `src/port/inet_net_ntop.c` for how a SAN's IP address is printed.
//!
//! Names are bytes: libpq copies the ASN.1 string and compares it with
//! `pg_strcasecmp` (ASCII case folding), so no UTF-8 or IDNA processing
//! happens, and a trailing dot is significant.

use pgtls_hba::PgVersion;
use pgtls_hba::inet::{inet_aton, inet_pton6, pg_inet_net_ntop as inet_net_ntop};

use crate::cert::{Cert, San};

/// A server certificate parsed once for repeated host-name checks.
#[derive(Clone, Debug)]
pub struct Leaf(Cert);

impl Leaf {
    /// Parses a DER certificate.
    ///
    /// # Errors
    /// A certificate pgtls cannot parse.
    pub fn from_der(der: &[u8]) -> Result<Self, crate::Error> {
        Cert::from_der(der)
            .map(Self)
            .map_err(|e| crate::Error::BadCertificate {
                index: 0,
                reason: e,
            })
    }

    /// libpq's verify-full name check against the `host` parameter.
    pub fn check(&self, host: &str, version: PgVersion) -> HostCheck {
        check(&self.0, host.as_bytes(), version)
    }
}

/// What the host-name check decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostCheck {
    /// A name matched; carries the name (SAN entry or CN) that matched.
    Match(String),
    /// No name matched, or a name could not be examined; carries libpq's message.
    Reject(String),
}

/// How libpq classifies the `host` parameter (PG15+ `is_ip_address`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// A DNS name (anything else).
    Dns,
    /// An IPv4 address as `inet_aton` reads it, or an IPv6 address.
    Ip,
}

/// `is_ip_address`: `inet_aton(host) || inet_pton(AF_INET6, host)`.
pub fn host_kind(host: &[u8]) -> HostKind {
    if inet_aton(host).is_some() || inet_pton6(host).is_some() {
        HostKind::Ip
    } else {
        HostKind::Dns
    }
}

/// The outcome of one name comparison (`pq_verify_peer_name_matches_certificate_name`).
enum NameResult {
    Match(Vec<u8>),
    NoMatch(Vec<u8>),
    Error(String),
}

/// `wildcard_certificate_match`, byte for byte.
fn wildcard_match(pattern: &[u8], string: &[u8]) -> bool {
    let lenpat = pattern.len();
    let lenstr = string.len();
    if lenpat < 3 || pattern.first() != Some(&b'*') || pattern.get(1) != Some(&b'.') {
        return false;
    }
    if lenpat > lenstr {
        return false;
    }
    let (Some(pat_tail), Some(str_tail)) = (pattern.get(1..), string.get(lenstr - lenpat + 1..))
    else {
        return false;
    };
    if !pat_tail.eq_ignore_ascii_case(str_tail) {
        return false;
    }
    // No dot left of where the pattern started to match.
    !matches!(string.iter().position(|&b| b == b'.'), Some(p) if p < lenstr - lenpat)
}

fn match_name(name: &[u8], host: &[u8]) -> NameResult {
    if name.contains(&0) {
        return NameResult::Error("SSL certificate's name contains embedded null".into());
    }
    if name.eq_ignore_ascii_case(host) || wildcard_match(name, host) {
        NameResult::Match(name.to_vec())
    } else {
        NameResult::NoMatch(name.to_vec())
    }
}

fn match_ip(ip: &[u8], host: &[u8]) -> NameResult {
    let matched = match ip.len() {
        4 => inet_aton(host).is_some_and(|a| a == ip),
        16 => inet_pton6(host).is_some_and(|a| a == ip),
        n => {
            return NameResult::Error(format!(
                "certificate contains IP address with invalid length {n}"
            ));
        }
    };
    let text = inet_net_ntop(ip).into_bytes();
    if matched {
        NameResult::Match(text)
    } else {
        NameResult::NoMatch(text)
    }
}

/// libpq's verify-full name check of `leaf` against `host` (the `host`
/// connection parameter, never hostaddr), for PostgreSQL `version`.
pub(crate) fn check(leaf: &Cert, host: &[u8], version: PgVersion) -> HostCheck {
    let host_text = String::from_utf8_lossy(host).into_owned();
    if host.is_empty() {
        return HostCheck::Reject(
            "host name must be specified for a verified SSL connection".into(),
        );
    }
    let mut names_examined = 0usize;
    let mut first_name: Option<Vec<u8>> = None;
    let mut result: Option<Result<Vec<u8>, String>> = None; // Some(Ok) = match, Some(Err) = error
    let modern = version >= PgVersion::V15;
    let kind = if modern {
        host_kind(host)
    } else {
        HostKind::Dns
    };
    let mut check_cn = true;
    if let Some(sans) = &leaf.extensions().san {
        for san in sans {
            let r = match san {
                San::Dns(name) => {
                    if kind == HostKind::Dns {
                        check_cn = false;
                    }
                    names_examined += 1;
                    match_name(name, host)
                }
                San::Ip(ip) if modern => {
                    if kind == HostKind::Ip {
                        check_cn = false;
                    }
                    names_examined += 1;
                    match_ip(ip, host)
                }
                _ => continue,
            };
            match r {
                NameResult::Match(n) => {
                    first_name.get_or_insert_with(|| n.clone());
                    result = Some(Ok(n));
                }
                NameResult::NoMatch(n) => {
                    first_name.get_or_insert(n);
                }
                NameResult::Error(e) => result = Some(Err(e)),
            }
            if result.is_some() {
                check_cn = false;
                break;
            }
        }
    }
    if !modern {
        check_cn = names_examined == 0;
    }
    if check_cn && let Some((_, cn)) = &leaf.first_cn() {
        names_examined += 1;
        match match_name(cn, host) {
            NameResult::Match(n) => {
                first_name.get_or_insert_with(|| n.clone());
                result = Some(Ok(n));
            }
            NameResult::NoMatch(n) => {
                first_name.get_or_insert(n);
            }
            NameResult::Error(e) => result = Some(Err(e)),
        }
    }
    match result {
        Some(Ok(n)) => HostCheck::Match(String::from_utf8_lossy(&n).into_owned()),
        Some(Err(e)) => HostCheck::Reject(e),
        None => {
            let first =
                String::from_utf8_lossy(first_name.as_deref().unwrap_or_default()).into_owned();
            let msg = match names_examined {
                0 => "could not get server's host name from server certificate".to_string(),
                1 => format!(
                    "server certificate for \"{first}\" does not match host name \"{host_text}\""
                ),
                n => {
                    let others = n - 1;
                    let noun = if others == 1 { "name" } else { "names" };
                    format!(
                        "server certificate for \"{first}\" (and {others} other {noun}) does not match host name \"{host_text}\""
                    )
                }
            };
            HostCheck::Reject(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    // Table from glibc inet_aton semantics (libpq is_ip_address uses it, fe-secure-openssl.c).
    #[test]
    fn inet_aton_forms() {
        let cases: &[(&str, Option<[u8; 4]>)] = &[
            ("127.0.0.1", Some([127, 0, 0, 1])),
            ("127.1", Some([127, 0, 0, 1])),
            ("0x7f.1", Some([127, 0, 0, 1])),
            ("0x7f.0.0.1", Some([127, 0, 0, 1])),
            ("017.0.0.1", Some([15, 0, 0, 1])),
            ("2130706433", Some([127, 0, 0, 1])),
            ("127.0.0.1 trailing", Some([127, 0, 0, 1])),
            ("127.0.0.1x", None),
            ("08.0.0.1", None),
            ("1.2.3.4.5", None),
            ("256.0.0.1", None),
            ("1.2.65536", None),
            ("1.2.65535", Some([1, 2, 255, 255])),
            ("0x", None),
            ("", None),
            ("db.example.test", None),
            ("4294967296", None),
        ];
        for (s, want) in cases {
            assert_eq!(inet_aton(s.as_bytes()), *want, "{s}");
        }
    }

    #[test]
    fn host_kinds() {
        assert_eq!(host_kind(b"::1"), HostKind::Ip);
        assert_eq!(host_kind(b"0x7f.1"), HostKind::Ip);
        assert_eq!(host_kind(b"localhost"), HostKind::Dns);
        assert_eq!(host_kind(b"fe80::1%lo"), HostKind::Dns);
    }

    // fe-secure-common.c wildcard_certificate_match.
    #[test]
    fn wildcard_rules() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.example.test", "a.example.test", true),
            ("*.example.test", "A.EXAMPLE.TEST", true),
            ("*.example.test", "example.test", false),
            ("*.example.test", "a.b.example.test", false),
            ("*.test", "example.test", true),
            ("*", "a", false),
            ("a*.example.test", "ab.example.test", false),
            ("*.b", "a..b", true),
            ("*.example.test", ".example.test", false),
        ];
        for (p, h, want) in cases {
            assert_eq!(
                wildcard_match(p.as_bytes(), h.as_bytes()),
                *want,
                "{p} vs {h}"
            );
        }
    }

    #[test]
    fn ntop_matches_pg_inet_net_ntop() {
        assert_eq!(inet_net_ntop(&[127, 0, 0, 1]), "127.0.0.1");
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets();
        assert_eq!(inet_net_ntop(&v6("::1")), "::1");
        assert_eq!(inet_net_ntop(&v6("::")), "::");
        assert_eq!(inet_net_ntop(&v6("2001:db8::1")), "2001:db8::1");
        assert_eq!(inet_net_ntop(&v6("::ffff:1.2.3.4")), "::ffff:1.2.3.4");
        assert_eq!(inet_net_ntop(&v6("::1.2.3.4")), "::1.2.3.4");
        assert_eq!(inet_net_ntop(&v6("1:0:0:1:0:0:0:1")), "1:0:0:1::1");
        assert_eq!(inet_net_ntop(&v6("1:0:1:1:1:1:1:1")), "1:0:1:1:1:1:1:1");
    }

    // Table: (SANs, CN, host, version, expected). Rules from fe-secure-openssl.c
    // pgtls_verify_peer_name_matches_certificate_guts (PG15 and PG14 forms) and
    // fe-secure-common.c pq_verify_peer_name_matches_certificate*.
    #[test]
    fn libpq_name_rules() {
        use crate::cert::{Cert, San};
        let dns = |s: &str| San::Dns(s.as_bytes().to_vec());
        let ip4 = |a: [u8; 4]| San::Ip(a.to_vec());
        let v15 = PgVersion::V15;
        let v14 = PgVersion::V14;
        type Row<'a> = (
            Option<Vec<San>>,
            Option<&'a str>,
            &'a str,
            PgVersion,
            Result<&'a str, &'a str>,
        );
        let rows: Vec<Row<'_>> = vec![
            // CN only: matched case-insensitively.
            (
                None,
                Some("db.example.test"),
                "DB.Example.Test",
                v15,
                Ok("db.example.test"),
            ),
            // dNSName present: CN ignored for a DNS host.
            (
                Some(vec![dns("a.example.test")]),
                Some("db.example.test"),
                "db.example.test",
                v15,
                Err(
                    "server certificate for \"a.example.test\" does not match host name \"db.example.test\"",
                ),
            ),
            // IP host, only dNSName SANs: the CN is consulted (NSS behaviour, PG15+).
            (
                Some(vec![dns("a.example.test")]),
                Some("127.0.0.1"),
                "127.0.0.1",
                v15,
                Ok("127.0.0.1"),
            ),
            // ... and the count includes the CN.
            (
                Some(vec![dns("a.example.test")]),
                Some("10.0.0.1"),
                "127.0.0.1",
                v15,
                Err(
                    "server certificate for \"a.example.test\" (and 1 other name) does not match host name \"127.0.0.1\"",
                ),
            ),
            // iPAddress SAN matched by bytes; inet_aton shorthand host.
            (
                Some(vec![ip4([127, 0, 0, 1])]),
                None,
                "127.1",
                v15,
                Ok("127.0.0.1"),
            ),
            // An IP SAN suppresses the CN for an IP host.
            (
                Some(vec![ip4([10, 0, 0, 1])]),
                Some("127.0.0.1"),
                "127.0.0.1",
                v15,
                Err("server certificate for \"10.0.0.1\" does not match host name \"127.0.0.1\""),
            ),
            // PG14: IP SANs are ignored entirely, CN used (no dNSName).
            (
                Some(vec![ip4([127, 0, 0, 1])]),
                Some("other"),
                "127.0.0.1",
                v14,
                Err("server certificate for \"other\" does not match host name \"127.0.0.1\""),
            ),
            // PG14: an IP literal stored as dNSName matches as a string.
            (
                Some(vec![dns("127.0.0.1")]),
                None,
                "127.0.0.1",
                v14,
                Ok("127.0.0.1"),
            ),
            // Embedded NUL before a matching name aborts.
            (
                Some(vec![dns("bad\0.example.test"), dns("db.example.test")]),
                None,
                "db.example.test",
                v15,
                Err("SSL certificate's name contains embedded null"),
            ),
            // A malformed IP SAN aborts even for a DNS host.
            (
                Some(vec![San::Ip(vec![1, 2, 3]), dns("db.example.test")]),
                None,
                "db.example.test",
                v15,
                Err("certificate contains IP address with invalid length 3"),
            ),
            // No names at all.
            (
                Some(vec![San::Other]),
                None,
                "db.example.test",
                v15,
                Err("could not get server's host name from server certificate"),
            ),
            // Trailing dot is significant.
            (
                None,
                Some("db.example.test"),
                "db.example.test.",
                v15,
                Err(
                    "server certificate for \"db.example.test\" does not match host name \"db.example.test.\"",
                ),
            ),
            // Wildcard covers one label; several names counted with plural.
            (
                Some(vec![dns("*.example.test"), dns("x.test"), dns("y.test")]),
                None,
                "a.b.example.test",
                v15,
                Err(
                    "server certificate for \"*.example.test\" (and 2 other names) does not match host name \"a.b.example.test\"",
                ),
            ),
            (
                Some(vec![dns("*.example.test")]),
                None,
                "a.example.test",
                v15,
                Ok("*.example.test"),
            ),
            // IPv6 compared as bytes.
            (
                Some(vec![San::Ip(
                    "::1".parse::<Ipv6Addr>().unwrap().octets().to_vec(),
                )]),
                None,
                "0:0:0:0:0:0:0:1",
                v15,
                Ok("::1"),
            ),
            // No host: libpq's message.
            (
                None,
                Some("x"),
                "",
                v15,
                Err("host name must be specified for a verified SSL connection"),
            ),
        ];
        for (i, (san, cn, host, v, want)) in rows.into_iter().enumerate() {
            let cert = Cert::for_name_checks(san, cn.map(str::as_bytes));
            let got = check(&cert, host.as_bytes(), v);
            let want = match want {
                Ok(n) => HostCheck::Match(n.to_string()),
                Err(m) => HostCheck::Reject(m.to_string()),
            };
            assert_eq!(got, want, "row {i}: host {host}");
        }
    }
}
