//! Distinguished names (kept as exact DER) and subject alternative names.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::der::{self, DerError};
use crate::error::Error;

/// Attribute types we can write, with their OpenSSL short names.
const ATTRS: &[(&str, &[u64])] = &[
    ("CN", &[2, 5, 4, 3]),
    ("C", &[2, 5, 4, 6]),
    ("L", &[2, 5, 4, 7]),
    ("ST", &[2, 5, 4, 8]),
    ("O", &[2, 5, 4, 10]),
    ("OU", &[2, 5, 4, 11]),
    ("serialNumber", &[2, 5, 4, 5]),
    ("street", &[2, 5, 4, 9]),
    ("title", &[2, 5, 4, 12]),
    ("GN", &[2, 5, 4, 42]),
    ("SN", &[2, 5, 4, 4]),
    ("DC", &[0, 9, 2342, 19200300, 100, 1, 25]),
    ("UID", &[0, 9, 2342, 19200300, 100, 1, 1]),
    ("emailAddress", &[1, 2, 840, 113549, 1, 9, 1]),
];

/// One attribute of a name, decoded for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAttribute {
    /// OpenSSL's short name (`CN`, `DC`, ...) or the dotted OID.
    pub kind: String,
    /// The value as text (non-text values are shown as `#` + hex).
    pub value: String,
}

/// An X.509 distinguished name, kept as its exact DER encoding.
///
/// Certificates we issue carry the issuer's subject bytes unchanged, so repeated
/// attributes (`DC=example, DC=org`), multi-valued RDNs and unusual string types survive.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    der: Vec<u8>,
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({self})")
    }
}

impl DistinguishedName {
    /// The empty name.
    pub fn empty() -> Self {
        Self {
            der: vec![0x30, 0x00],
        }
    }

    /// A name with only a common name (as UTF8String).
    pub fn common_name(cn: &str) -> Self {
        let mut n = Self::empty();
        n.push("CN", cn).unwrap_or_default();
        n
    }

    /// Wraps the DER of a `Name` (a `SEQUENCE OF SET OF AttributeTypeAndValue`).
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is not one.
    pub fn from_der(der: &[u8], source: &str) -> Result<Self, Error> {
        let n = Self { der: der.to_vec() };
        n.rdns()
            .map_err(|e| Error::malformed(source, "distinguished name", e.0))?;
        Ok(n)
    }

    /// Parses OpenSSL's `-subj` syntax: `/DC=org/DC=example/CN=db`, attributes in order
    /// (outermost first), `+` joining attributes of one RDN is not supported, `\/` escapes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for unknown attribute names or empty values.
    pub fn parse_openssl(text: &str) -> Result<Self, Error> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(Error::invalid(
                "subject",
                format!("{text:?}: expected /TYPE=value/TYPE=value..."),
            ));
        };
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                '/' => parts.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        parts.push(cur);
        let mut name = Self::empty();
        for p in parts.iter().filter(|p| !p.is_empty()) {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                Error::invalid("subject", format!("{p:?} has no '=' (in {text:?})"))
            })?;
            name.push(k, v)?;
        }
        Ok(name)
    }

    /// Appends one attribute as its own RDN. `kind` is an OpenSSL short name (`CN`, `O`,
    /// `OU`, `DC`, `C`, ...). `C` is written as PrintableString, `DC` and `emailAddress` as
    /// IA5String, everything else as UTF8String.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown attribute type or an empty value.
    pub fn push(&mut self, kind: &str, value: &str) -> Result<(), Error> {
        let (_, oid) = ATTRS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(kind))
            .ok_or_else(|| Error::invalid("subject", format!("unknown attribute type {kind:?}")))?;
        if value.is_empty() {
            return Err(Error::invalid("subject", format!("{kind} is empty")));
        }
        let tag = match kind {
            "C" | "c" => {
                if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(Error::invalid("subject", "C must be a two-letter code"));
                }
                0x13
            }
            _ if oid == &ATTRS[11].1 || oid == &ATTRS[13].1 => {
                if !value.is_ascii() {
                    return Err(Error::invalid("subject", format!("{kind} must be ASCII")));
                }
                0x16
            }
            _ => 0x0c,
        };
        let atv = der::tlv_parts(0x30, &[&der::oid(oid), &der::tlv(tag, value.as_bytes())]);
        let rdn = der::tlv(0x31, &atv);
        let inner = der::read_all(&self.der)
            .map(|t| t.content.to_vec())
            .unwrap_or_default();
        self.der = der::tlv_parts(0x30, &[&inner, &rdn]);
        Ok(())
    }

    /// The exact DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether the name has no attributes.
    pub fn is_empty(&self) -> bool {
        self.rdns().map(|r| r.is_empty()).unwrap_or(true)
    }

    /// The attributes, outermost first (multi-valued RDNs flattened).
    pub fn attributes(&self) -> Vec<NameAttribute> {
        self.rdns()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The value of the last (most specific) common name.
    pub fn common_name_value(&self) -> Option<String> {
        self.attributes()
            .into_iter()
            .rev()
            .find(|a| a.kind == "CN")
            .map(|a| a.value)
    }

    /// OpenSSL's one-line form, as `index.txt` stores it: `/DC=org/DC=example/CN=db`.
    pub fn to_openssl_oneline(&self) -> String {
        let mut out = String::new();
        for rdn in self.rdns().unwrap_or_default() {
            for (i, a) in rdn.iter().enumerate() {
                out.push(if i == 0 { '/' } else { '+' });
                out.push_str(&a.kind);
                out.push('=');
                for c in a.value.chars() {
                    if c == '\t' || c == '\n' || c.is_control() {
                        out.push_str(&format!("\\x{:02X}", u32::from(c)));
                    } else {
                        out.push(c);
                    }
                }
            }
        }
        out
    }

    fn rdns(&self) -> Result<Vec<Vec<NameAttribute>>, DerError> {
        let outer = der::read_all(&self.der)?;
        if outer.tag != 0x30 {
            return Err(DerError("a name must be a SEQUENCE"));
        }
        let mut out = Vec::new();
        for rdn in der::children(outer.content)? {
            if rdn.tag != 0x31 {
                return Err(DerError("a relative distinguished name must be a SET"));
            }
            let mut attrs = Vec::new();
            for atv in der::children(rdn.content)? {
                let parts = der::children(atv.content)?;
                let [oid, value] = parts.as_slice() else {
                    return Err(DerError("an attribute must have a type and a value"));
                };
                if oid.tag != 0x06 {
                    return Err(DerError("attribute type must be an OID"));
                }
                let kind = ATTRS
                    .iter()
                    .find(|(_, arcs)| der::oid(arcs) == oid.raw)
                    .map_or_else(|| der::oid_to_string(oid.content), |(n, _)| (*n).to_owned());
                let value = match value.tag {
                    0x0c | 0x13 | 0x16 | 0x14 => {
                        String::from_utf8_lossy(value.content).into_owned()
                    }
                    0x1e => {
                        let units: Vec<u16> = value
                            .content
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    }
                    _ => format!(
                        "#{}",
                        value
                            .raw
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    ),
                };
                attrs.push(NameAttribute { kind, value });
            }
            if attrs.is_empty() {
                return Err(DerError("empty relative distinguished name"));
            }
            out.push(attrs);
        }
        Ok(out)
    }
}

impl fmt::Display for DistinguishedName {
    /// Attributes outermost first, `, ` between RDNs, `+` inside one (as `openssl x509
    /// -subject -nameopt oneline` orders them, without its spaces around `=`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rdns = self.rdns().unwrap_or_default();
        for (i, rdn) in rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str(" + ")?;
                }
                write!(f, "{}={}", a.kind, a.value)?;
            }
        }
        Ok(())
    }
}

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
    fn repeated_attributes_survive() {
        let n = DistinguishedName::parse_openssl("/DC=org/DC=example/OU=a/OU=b/CN=bob").unwrap();
        assert_eq!(
            n.to_openssl_oneline(),
            "/DC=org/DC=example/OU=a/OU=b/CN=bob"
        );
        assert_eq!(n.to_string(), "DC=org, DC=example, OU=a, OU=b, CN=bob");
        assert_eq!(n.common_name_value().as_deref(), Some("bob"));
        let again = DistinguishedName::from_der(n.der(), "t").unwrap();
        assert_eq!(again, n);
    }

    #[test]
    fn rejects_bad_names() {
        assert!(DistinguishedName::parse_openssl("CN=x").is_err());
        assert!(DistinguishedName::parse_openssl("/XX=x").is_err());
        assert!(DistinguishedName::parse_openssl("/CN=").is_err());
        assert!(DistinguishedName::from_der(&[0x30, 0x02, 0x31, 0x00], "t").is_err());
    }

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
