//! Subject alternative names (the distinguished-name type is pgtls-x509's).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

pub use pgtls_x509::DistinguishedName;

use crate::error::Error;

/// A subject alternative name.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// A DNS name (`dNSName`), for example `db.example.com` or `*.example.com`.
    Dns(String),
    /// An e-mail address (`rfc822Name`).
    Email(String),
    /// An IP address (`iPAddress`).
    Ip(IpAddr),
    /// A URI (`uniformResourceIdentifier`).
    Uri(String),
}

impl FromStr for SubjectAltName {
    type Err = Error;

    /// `1.2.3.4` and `::1` are IP addresses, `ip:...`, `dns:...`, `email:...`, `uri:...`
    /// prefixes choose explicitly, anything else is a DNS name.
    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.to_ascii_lowercase();
        if let Some(ip) = lower.strip_prefix("ip:") {
            return ip.parse().map(Self::Ip).map_err(|_| {
                Error::invalid(
                    "subject alternative name",
                    format!("{s:?} is not an IP address"),
                )
            });
        }
        if let Some(v) = s.get(4..).filter(|_| lower.starts_with("dns:")) {
            return dns(v);
        }
        if let Some(v) = s.get(6..).filter(|_| lower.starts_with("email:")) {
            return Ok(Self::Email(v.to_owned()));
        }
        if let Some(v) = s.get(4..).filter(|_| lower.starts_with("uri:")) {
            return Ok(Self::Uri(v.to_owned()));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        dns(s)
    }
}

fn dns(s: &str) -> Result<SubjectAltName, Error> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').enumerate().all(|(i, label)| {
            (i == 0 && label == "*")
                || (!label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        });
    if ok {
        Ok(SubjectAltName::Dns(s.to_owned()))
    } else {
        Err(Error::invalid(
            "subject alternative name",
            format!("{s:?} is not a DNS name or IP address"),
        ))
    }
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(d) => write!(f, "DNS:{d}"),
            Self::Email(e) => write!(f, "email:{e}"),
            Self::Ip(ip) => write!(f, "IP:{ip}"),
            Self::Uri(u) => write!(f, "URI:{u}"),
        }
    }
}

impl SubjectAltName {
    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType, Error> {
        let bad = |_| {
            Error::invalid(
                "subject alternative name",
                format!("{self} is not IA5 text"),
            )
        };
        Ok(match self {
            Self::Dns(d) => rcgen::SanType::DnsName(d.clone().try_into().map_err(bad)?),
            Self::Email(e) => rcgen::SanType::Rfc822Name(e.clone().try_into().map_err(bad)?),
            Self::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            Self::Uri(u) => rcgen::SanType::URI(u.clone().try_into().map_err(bad)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans() {
        assert_eq!(
            "db.example.com".parse::<SubjectAltName>().unwrap(),
            SubjectAltName::Dns("db.example.com".into())
        );
        assert!(matches!(
            "127.0.0.1".parse::<SubjectAltName>().unwrap(),
            SubjectAltName::Ip(_)
        ));
        assert!("bad name".parse::<SubjectAltName>().is_err());
        assert!("*.example.com".parse::<SubjectAltName>().is_ok());
    }
}
