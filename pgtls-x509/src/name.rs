//! Distinguished names: the exact DER, OpenSSL's canonical form and hash, and every
//! rendering pgtls prints, over one attribute table.
//!
//! A name is kept as the DER it came in (certificates pgtls issues carry the issuer's
//! subject byte for byte, so repeated attribute types, multi-valued RDNs and unusual string
//! types survive). Equality (`==`, `Hash`) is on those bytes; [`DistinguishedName::matches`]
//! is OpenSSL's `X509_NAME_cmp` (on the canonical form), which is what chain building,
//! CRL lookup and hashed directories use.
//!
//! Renderings, each the one a real tool prints (checked against `openssl x509 -subject
//! -nameopt ...` and the PostgreSQL server by the tests):
//!
//! | method | what | OpenSSL |
//! | --- | --- | --- |
//! | [`Display`](std::fmt::Display) | `CN=db, O=Example` (UTF-8, RFC 2253 escapes) | `-nameopt esc_2253,esc_ctrl,utf8,dump_nostr,dump_der,sep_comma_plus_space,sname` |
//! | [`DistinguishedName::oneline`] | `CN = db, O = Example` | `X509_NAME_print_ex(XN_FLAG_ONELINE)`, `openssl x509 -subject` |
//! | [`DistinguishedName::rfc2253`] | `O=Example,CN=db` (reversed) | `XN_FLAG_RFC2253`, the server's `peer_dn` / `ssl_client_dn()` |
//! | [`DistinguishedName::to_openssl_oneline`] | `/O=Example/CN=db` | `X509_NAME_oneline`, `index.txt`, `-nameopt compat` |
//! | [`DistinguishedName::postgres_cstring`] | `/O=Example/CN=db` (UTF-8, RFC 2253 escapes) | the server's `X509_NAME_to_cstring`: `pg_stat_ssl.client_dn`, `ssl_client_dn()` |

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::der::{self, DerError, tag};

/// One attribute type OpenSSL knows by name: its short name, dotted OID and DER content.
struct AttributeType {
    short: &'static str,
    arcs: &'static [u64],
}

macro_rules! attrs {
    ($( $short:literal => [$($arc:literal),+] ),+ $(,)?) => {
        &[ $( AttributeType { short: $short, arcs: &[$($arc),+] } ),+ ]
    };
}

/// The attribute types of names, with OpenSSL's short names (`OBJ_nid2sn`). An OID not
/// here is printed in dotted form (and dumped as `#hex` in RFC 2253), as OpenSSL prints an
/// OID it does not know.
const ATTRIBUTE_TYPES: &[AttributeType] = attrs![
    "CN" => [2, 5, 4, 3],
    "SN" => [2, 5, 4, 4],
    "serialNumber" => [2, 5, 4, 5],
    "C" => [2, 5, 4, 6],
    "L" => [2, 5, 4, 7],
    "ST" => [2, 5, 4, 8],
    "street" => [2, 5, 4, 9],
    "O" => [2, 5, 4, 10],
    "OU" => [2, 5, 4, 11],
    "title" => [2, 5, 4, 12],
    "description" => [2, 5, 4, 13],
    "searchGuide" => [2, 5, 4, 14],
    "businessCategory" => [2, 5, 4, 15],
    "postalAddress" => [2, 5, 4, 16],
    "postalCode" => [2, 5, 4, 17],
    "postOfficeBox" => [2, 5, 4, 18],
    "physicalDeliveryOfficeName" => [2, 5, 4, 19],
    "telephoneNumber" => [2, 5, 4, 20],
    "telexNumber" => [2, 5, 4, 21],
    "teletexTerminalIdentifier" => [2, 5, 4, 22],
    "facsimileTelephoneNumber" => [2, 5, 4, 23],
    "x121Address" => [2, 5, 4, 24],
    "internationaliSDNNumber" => [2, 5, 4, 25],
    "registeredAddress" => [2, 5, 4, 26],
    "destinationIndicator" => [2, 5, 4, 27],
    "preferredDeliveryMethod" => [2, 5, 4, 28],
    "presentationAddress" => [2, 5, 4, 29],
    "supportedApplicationContext" => [2, 5, 4, 30],
    "member" => [2, 5, 4, 31],
    "owner" => [2, 5, 4, 32],
    "roleOccupant" => [2, 5, 4, 33],
    "seeAlso" => [2, 5, 4, 34],
    "userPassword" => [2, 5, 4, 35],
    "userCertificate" => [2, 5, 4, 36],
    "cACertificate" => [2, 5, 4, 37],
    "authorityRevocationList" => [2, 5, 4, 38],
    "certificateRevocationList" => [2, 5, 4, 39],
    "crossCertificatePair" => [2, 5, 4, 40],
    "name" => [2, 5, 4, 41],
    "GN" => [2, 5, 4, 42],
    "initials" => [2, 5, 4, 43],
    "generationQualifier" => [2, 5, 4, 44],
    "x500UniqueIdentifier" => [2, 5, 4, 45],
    "dnQualifier" => [2, 5, 4, 46],
    "enhancedSearchGuide" => [2, 5, 4, 47],
    "protocolInformation" => [2, 5, 4, 48],
    "distinguishedName" => [2, 5, 4, 49],
    "uniqueMember" => [2, 5, 4, 50],
    "houseIdentifier" => [2, 5, 4, 51],
    "supportedAlgorithms" => [2, 5, 4, 52],
    "deltaRevocationList" => [2, 5, 4, 53],
    "dmdName" => [2, 5, 4, 54],
    "pseudonym" => [2, 5, 4, 65],
    "role" => [2, 5, 4, 72],
    "organizationIdentifier" => [2, 5, 4, 97],
    "c3" => [2, 5, 4, 98],
    "n3" => [2, 5, 4, 99],
    "dnsName" => [2, 5, 4, 100],
    "emailAddress" => [1, 2, 840, 113549, 1, 9, 1],
    "unstructuredName" => [1, 2, 840, 113549, 1, 9, 2],
    "unstructuredAddress" => [1, 2, 840, 113549, 1, 9, 8],
    "UID" => [0, 9, 2342, 19200300, 100, 1, 1],
    "DC" => [0, 9, 2342, 19200300, 100, 1, 25],
    "jurisdictionL" => [1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1],
    "jurisdictionST" => [1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2],
    "jurisdictionC" => [1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3],
];

fn type_by_oid(oid_content: &[u8]) -> Option<&'static AttributeType> {
    ATTRIBUTE_TYPES
        .iter()
        .find(|t| der::oid(t.arcs).get(2..) == Some(oid_content))
}

fn type_by_short_name(name: &str) -> Option<&'static AttributeType> {
    ATTRIBUTE_TYPES
        .iter()
        .find(|t| t.short.eq_ignore_ascii_case(name))
}

/// One attribute (type and value) of a name, as it is in the DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    oid: Vec<u8>,
    tag: u8,
    value: Vec<u8>,
    raw_value: Vec<u8>,
    /// Index of the RDN (SET) it belongs to.
    set: usize,
}

impl Attribute {
    /// OpenSSL's short name (`CN`, `DC`, ...) or, for a type OpenSSL does not know, the
    /// dotted OID.
    pub fn kind(&self) -> String {
        type_by_oid(&self.oid).map_or_else(|| der::oid_to_string(&self.oid), |t| t.short.into())
    }

    /// The OID in dotted form.
    pub fn oid(&self) -> String {
        der::oid_to_string(&self.oid)
    }

    /// Whether OpenSSL knows this attribute type by name.
    pub fn is_known_type(&self) -> bool {
        type_by_oid(&self.oid).is_some()
    }

    /// The value's ASN.1 tag (12 UTF8String, 19 PrintableString, 20 T61String, ...).
    pub fn tag(&self) -> u8 {
        self.tag
    }

    /// The value's content octets.
    pub fn value_bytes(&self) -> &[u8] {
        &self.value
    }

    /// The bytes OpenSSL keeps as the value's string data: the content octets, without the
    /// leading unused-bits octet of a BIT STRING.
    fn string_data(&self) -> &[u8] {
        match (self.tag, self.value.split_first()) {
            (tag::BIT_STRING, Some((_, rest))) => rest,
            _ => &self.value,
        }
    }

    /// The whole value element (tag, length, content).
    pub fn value_der(&self) -> &[u8] {
        &self.raw_value
    }

    /// The value as text, for the string types OpenSSL prints as text (UTF8String as
    /// UTF-8; PrintableString, T61String, IA5String, VisibleString, NumericString byte by
    /// byte as Latin-1, as OpenSSL reads them; BMPString as UCS-2; UniversalString as
    /// UCS-4). `None` for other types.
    pub fn text(&self) -> Option<String> {
        let chars = chars_of(self.tag, &self.value)?;
        Some(
            chars
                .into_iter()
                .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect(),
        )
    }

    /// The value for display: [`Attribute::text`], else `#` and the hex of the DER (as
    /// OpenSSL dumps a value it cannot print).
    pub fn display_value(&self) -> String {
        self.text()
            .unwrap_or_else(|| format!("#{}", der::hex(&self.raw_value).to_ascii_uppercase()))
    }
}

/// Why a name could not be built.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The DER is not a `Name`.
    Der(DerError),
    /// An attribute type OpenSSL has no short name for.
    UnknownAttribute(String),
    /// An attribute with an empty value.
    EmptyValue(String),
    /// `C` is not a two-letter code.
    BadCountry,
    /// An attribute that must be ASCII (IA5String) is not.
    NotAscii(String),
    /// Text that is not OpenSSL's `-subj` syntax.
    Syntax(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Der(e) => e.fmt(f),
            Self::UnknownAttribute(k) => write!(f, "unknown attribute type {k:?}"),
            Self::EmptyValue(k) => write!(f, "{k} is empty"),
            Self::BadCountry => f.write_str("C must be a two-letter code"),
            Self::NotAscii(k) => write!(f, "{k} must be ASCII"),
            Self::Syntax(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for NameError {}

impl From<DerError> for NameError {
    fn from(e: DerError) -> Self {
        Self::Der(e)
    }
}

/// An X.509 distinguished name, kept as its exact DER (see the module docs).
#[derive(Clone)]
pub struct DistinguishedName {
    der: Vec<u8>,
    attributes: Vec<Attribute>,
    canonical: Vec<u8>,
    hash: u32,
}

impl PartialEq for DistinguishedName {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for DistinguishedName {}

impl Hash for DistinguishedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.der.hash(state);
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({self})")
    }
}

impl DistinguishedName {
    /// The empty name.
    pub fn empty() -> Self {
        Self::build(vec![0x30, 0x00], Vec::new())
    }

    /// A name with only a common name (as UTF8String); empty if `cn` is empty.
    pub fn common_name(cn: &str) -> Self {
        let mut n = Self::empty();
        if n.push("CN", cn).is_err() {
            return Self::empty();
        }
        n
    }

    /// Reads the DER of a `Name` (a `SEQUENCE OF SET SIZE (1..MAX) OF
    /// AttributeTypeAndValue`).
    ///
    /// # Errors
    /// [`NameError::Der`] when it is not one.
    pub fn from_der(der: &[u8]) -> Result<Self, NameError> {
        let outer = der::read_tagged(der, tag::SEQUENCE)?;
        let mut attributes = Vec::new();
        for (set, rdn) in der::children(outer.content)?.into_iter().enumerate() {
            if rdn.tag != tag::SET {
                return Err(DerError("a relative distinguished name must be a SET").into());
            }
            let members = der::children(rdn.content)?;
            if members.is_empty() {
                return Err(DerError("empty relative distinguished name").into());
            }
            for atv in members {
                if atv.tag != tag::SEQUENCE {
                    return Err(DerError("an attribute must be a SEQUENCE").into());
                }
                let parts = der::children(atv.content)?;
                let [oid, value] = parts.as_slice() else {
                    return Err(DerError("an attribute must have a type and a value").into());
                };
                if oid.tag != tag::OID {
                    return Err(DerError("attribute type must be an OID").into());
                }
                if !openssl_decodes(value.tag) {
                    return Err(DerError(
                        "attribute value of a type OpenSSL does not decode in names",
                    )
                    .into());
                }
                attributes.push(Attribute {
                    oid: oid.content.to_vec(),
                    tag: value.tag,
                    value: value.content.to_vec(),
                    raw_value: value.raw.to_vec(),
                    set,
                });
            }
        }
        Ok(Self::build(der.to_vec(), attributes))
    }

    fn build(der: Vec<u8>, attributes: Vec<Attribute>) -> Self {
        let canonical = canonical_encoding(&attributes);
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &canonical);
        let mut first = [0u8; 4];
        for (slot, b) in first.iter_mut().zip(digest.as_ref()) {
            *slot = *b;
        }
        Self {
            der,
            attributes,
            canonical,
            hash: u32::from_le_bytes(first),
        }
    }

    /// Parses OpenSSL's `-subj` syntax: `/DC=org/DC=example/CN=db`, attributes in order
    /// (outermost first), `\` escapes the next character; `+` joining attributes of one
    /// RDN is not supported.
    ///
    /// # Errors
    /// [`NameError`] for text that does not start with `/`, a part without `=`, an
    /// unknown attribute type or an empty value.
    pub fn parse_openssl(text: &str) -> Result<Self, NameError> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(NameError::Syntax(format!(
                "{text:?}: expected /TYPE=value/TYPE=value..."
            )));
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
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| NameError::Syntax(format!("{p:?} has no '=' (in {text:?})")))?;
            name.push(k, v)?;
        }
        Ok(name)
    }

    /// Appends one attribute as its own RDN. `kind` is an OpenSSL short name (`CN`, `O`,
    /// `OU`, `DC`, `C`, ...), case-insensitively. `C` is written as PrintableString, `DC`
    /// and `emailAddress` as IA5String, everything else as UTF8String.
    ///
    /// # Errors
    /// [`NameError`] for an unknown attribute type or an empty value.
    pub fn push(&mut self, kind: &str, value: &str) -> Result<(), NameError> {
        let t =
            type_by_short_name(kind).ok_or_else(|| NameError::UnknownAttribute(kind.to_owned()))?;
        if value.is_empty() {
            return Err(NameError::EmptyValue(kind.to_owned()));
        }
        let value_tag = match t.short {
            "C" => {
                if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(NameError::BadCountry);
                }
                tag::PRINTABLE_STRING
            }
            "DC" | "emailAddress" => {
                if !value.is_ascii() {
                    return Err(NameError::NotAscii(kind.to_owned()));
                }
                tag::IA5_STRING
            }
            _ => tag::UTF8_STRING,
        };
        let atv = der::tlv_parts(
            tag::SEQUENCE,
            &[&der::oid(t.arcs), &der::tlv(value_tag, value.as_bytes())],
        );
        let rdn = der::tlv(tag::SET, &atv);
        let inner = der::read_all(&self.der)
            .map(|t| t.content.to_vec())
            .unwrap_or_default();
        *self = Self::from_der(&der::tlv_parts(tag::SEQUENCE, &[&inner, &rdn]))?;
        Ok(())
    }

    /// The exact DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether the name has no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// The attributes, outermost first (multi-valued RDNs flattened, in DER order).
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// The attributes grouped by RDN, outermost first.
    pub fn rdns(&self) -> Vec<&[Attribute]> {
        self.attributes
            .chunk_by(|a, b| a.set == b.set)
            .collect::<Vec<_>>()
    }

    /// The first commonName attribute (the one libpq and the server read).
    pub fn first_common_name(&self) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.kind() == "CN")
    }

    /// The text of the last (most specific) commonName.
    pub fn common_name_value(&self) -> Option<String> {
        self.attributes
            .iter()
            .rev()
            .find(|a| a.kind() == "CN")
            .map(Attribute::display_value)
    }

    /// OpenSSL's `X509_NAME_cmp`: the canonical forms are equal.
    pub fn matches(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }

    /// OpenSSL's canonical encoding (`x509_name_canon`: every text value as a lower-cased,
    /// space-collapsed UTF8String; the RDN SETs concatenated without the outer SEQUENCE).
    pub fn canonical_der(&self) -> &[u8] {
        &self.canonical
    }

    /// OpenSSL's `X509_NAME_hash_ex` (`openssl x509 -hash`): the first four bytes of the
    /// SHA-1 of the canonical encoding, little-endian; the `hhhhhhhh` of hashed
    /// directories.
    pub fn hash(&self) -> u32 {
        self.hash
    }

    /// `X509_NAME_print_ex(..., XN_FLAG_RFC2253)`: RDNs in reverse order, `,` and `+`,
    /// RFC 2253 escapes, each byte of non-ASCII UTF-8 as `\XX`; the form of the server's
    /// `peer_dn` (`clientname=DN`, `ssl_client_dn()`, `pg_stat_ssl.client_dn`).
    pub fn rfc2253(&self) -> String {
        print_ex(self, &Flags::RFC2253)
    }

    /// `X509_NAME_print_ex(..., XN_FLAG_ONELINE)`, what `openssl x509 -subject` prints:
    /// `CN = db, O = Example`, values with special characters in double quotes.
    pub fn oneline(&self) -> String {
        print_ex(self, &Flags::ONELINE)
    }

    /// What the PostgreSQL server prints for a client certificate's subject or issuer
    /// (`X509_NAME_to_cstring` in be-secure-openssl.c: `pg_stat_ssl.client_dn`,
    /// sslinfo's `ssl_client_dn()`): every attribute as `/SN=value`, the value with RFC
    /// 2253 escapes in UTF-8, multi-valued RDNs not joined. `None` when an attribute's
    /// type has no OpenSSL name: the server then raises `could not get NID for
    /// ASN1_OBJECT object`.
    pub fn postgres_cstring(&self) -> Option<String> {
        let mut out = String::new();
        for a in &self.attributes {
            if !a.is_known_type() {
                return None;
            }
            out.push('/');
            out.push_str(&a.kind());
            out.push('=');
            print_value(&mut out, a, &Flags::DISPLAY, false);
        }
        Some(out)
    }

    /// OpenSSL's `X509_NAME_oneline`, as `index.txt` stores it and `-nameopt compat`
    /// prints it: `/DC=org/DC=example/CN=db`, `+` inside an RDN, bytes outside printable
    /// ASCII as `\xHH`, `/` and `+` in values escaped with `\`.
    pub fn to_openssl_oneline(&self) -> String {
        let mut out = String::new();
        let mut prev = None;
        for a in &self.attributes {
            out.push(if prev == Some(a.set) { '+' } else { '/' });
            prev = Some(a.set);
            out.push_str(&a.kind());
            out.push('=');
            for &b in a.string_data() {
                if !(b' '..=b'~').contains(&b) {
                    out.push_str(&format!("\\x{b:02X}"));
                } else {
                    if b == b'/' || b == b'+' {
                        out.push('\\');
                    }
                    out.push(char::from(b));
                }
            }
        }
        out
    }
}

impl DistinguishedName {
    /// The inverse of [`DistinguishedName::to_openssl_oneline`], for the subjects that
    /// `index.txt` stores: `/` starts an RDN, `+` joins an attribute to the RDN before it,
    /// `\/` and `\+` are literal, `\xHH` is one byte; the type is an OpenSSL short name
    /// or a dotted OID. The text does not record string types, so they are chosen as
    /// [`DistinguishedName::push`] does (`C` PrintableString, `DC` and `emailAddress`
    /// IA5String when ASCII), with UTF8String for other valid UTF-8 and T61String for
    /// other bytes: the attribute types and value bytes are exact, and rendering the
    /// result with [`DistinguishedName::to_openssl_oneline`] gives `text` back. An empty
    /// text is the empty name.
    ///
    /// # Errors
    /// [`NameError::Syntax`] for text that does not start with `/`, an attribute without
    /// `=` or a bad `\x` escape; [`NameError::UnknownAttribute`] for a type that is
    /// neither a short name nor a dotted OID.
    pub fn from_openssl_oneline(text: &str) -> Result<Self, NameError> {
        if text.is_empty() {
            return Ok(Self::empty());
        }
        let syntax = |what: &str| NameError::Syntax(format!("{text:?}: {what}"));
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'/') {
            return Err(syntax("expected /TYPE=value/TYPE=value..."));
        }
        // (starts a new RDN, the attribute text with escapes resolved)
        let mut attrs: Vec<(bool, Vec<u8>)> = Vec::new();
        let mut i = 0;
        while let Some(&sep) = bytes.get(i) {
            i += 1;
            let mut cur = Vec::new();
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'/' | b'+' => break,
                    b'\\' => match bytes.get(i + 1) {
                        Some(&c @ (b'/' | b'+')) => {
                            cur.push(c);
                            i += 2;
                        }
                        Some(b'x') => {
                            let byte = bytes
                                .get(i + 2..i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                                .ok_or_else(|| syntax("bad \\x escape"))?;
                            cur.push(byte);
                            i += 4;
                        }
                        _ => {
                            cur.push(b);
                            i += 1;
                        }
                    },
                    _ => {
                        cur.push(b);
                        i += 1;
                    }
                }
            }
            attrs.push((sep == b'/', cur));
        }
        let mut rdns: Vec<Vec<u8>> = Vec::new();
        for (new_rdn, attr) in attrs {
            let eq = attr
                .iter()
                .position(|&b| b == b'=')
                .ok_or_else(|| syntax("an attribute without '='"))?;
            let (kind, value) = (&attr[..eq], &attr[eq + 1..]);
            let kind = std::str::from_utf8(kind).map_err(|_| syntax("a type that is not text"))?;
            let (short, oid) = match type_by_short_name(kind) {
                Some(t) => (t.short, der::oid(t.arcs)),
                None => (
                    "",
                    dotted_oid(kind).ok_or_else(|| NameError::UnknownAttribute(kind.to_owned()))?,
                ),
            };
            let utf8 = std::str::from_utf8(value).is_ok();
            let value_tag = match short {
                "C" if value.len() == 2 && value.iter().all(u8::is_ascii_alphabetic) => {
                    tag::PRINTABLE_STRING
                }
                "DC" | "emailAddress" if value.is_ascii() => tag::IA5_STRING,
                _ if utf8 => tag::UTF8_STRING,
                _ => tag::T61_STRING,
            };
            let atv = der::tlv_parts(tag::SEQUENCE, &[&oid, &der::tlv(value_tag, value)]);
            match rdns.last_mut() {
                Some(rdn) if !new_rdn => rdn.extend_from_slice(&atv),
                _ => rdns.push(atv),
            }
        }
        let sets: Vec<Vec<u8>> = rdns.iter().map(|r| der::tlv(tag::SET, r)).collect();
        let parts: Vec<&[u8]> = sets.iter().map(Vec::as_slice).collect();
        Self::from_der(&der::tlv_parts(tag::SEQUENCE, &parts))
    }
}

/// The DER of a dotted OID (`1.2.3`), or `None`.
fn dotted_oid(text: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = text
        .split('.')
        .map(|a| a.parse().ok())
        .collect::<Option<_>>()?;
    let ok = arcs.len() >= 2
        && arcs.first().is_some_and(|&a| a <= 2)
        && arcs
            .get(1)
            .is_some_and(|&b| b < 40 || (arcs.first() == Some(&2) && b <= u64::MAX - 80));
    ok.then(|| der::oid(&arcs))
}

impl fmt::Display for DistinguishedName {
    /// RDNs outermost first, `, ` between RDNs and ` + ` inside one, UTF-8 text with RFC
    /// 2253 escapes (see the module docs for the OpenSSL options that print the same).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_ex(self, &Flags::DISPLAY))
    }
}

/// Whether OpenSSL's decoder takes `value_tag` for a name's attribute value: the value is
/// `ASN1_PRINTABLE`, an `MSTRING` of the types in `B_ASN1_PRINTABLE` (`ASN1_tag2bit`):
/// BIT STRING, UTF8String, NumericString, PrintableString, T61String, IA5String,
/// UniversalString, BMPString, SEQUENCE and the universal tags it calls unknown. A
/// certificate with another type (VisibleString, OCTET STRING, UTCTime, ...) in a name
/// does not load in OpenSSL at all, so libpq and the server can never accept it.
fn openssl_decodes(value_tag: u8) -> bool {
    matches!(
        value_tag,
        0x03 | 0x07
            | 0x08
            | 0x09
            | 0x0b
            | 0x0c
            | 0x0d
            | 0x0e
            | 0x0f
            | 0x12
            | 0x13
            | 0x14
            | 0x16
            | 0x1c
            | 0x1d
            | 0x1e
            | 0x30
    )
}

/// The code points of a string value, as OpenSSL's `do_print_ex` reads them
/// (`tag2nbyte`: UTF8String as UTF-8, 1-byte types byte by byte, BMPString 2, and
/// UniversalString 4 bytes per character); `None` for types it dumps.
fn chars_of(value_tag: u8, bytes: &[u8]) -> Option<Vec<u32>> {
    match width(value_tag)? {
        0 => Some(
            String::from_utf8_lossy(bytes)
                .chars()
                .map(u32::from)
                .collect(),
        ),
        1 => Some(bytes.iter().map(|&b| u32::from(b)).collect()),
        2 => Some(
            bytes
                .chunks(2)
                .map(|c| {
                    u32::from(u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ]))
                })
                .collect(),
        ),
        _ => Some(
            bytes
                .chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    for (slot, x) in b.iter_mut().zip(c) {
                        *slot = *x;
                    }
                    u32::from_be_bytes(b)
                })
                .collect(),
        ),
    }
}

/// OpenSSL's `tag2nbyte`: 0 = UTF-8, 1/2/4 bytes per character, `None` = dumped.
fn width(value_tag: u8) -> Option<u8> {
    match value_tag {
        tag::UTF8_STRING => Some(0),
        tag::NUMERIC_STRING
        | tag::PRINTABLE_STRING
        | tag::T61_STRING
        | tag::IA5_STRING
        | tag::UTC_TIME
        | tag::GENERALIZED_TIME
        | tag::VISIBLE_STRING => Some(1),
        tag::UNIVERSAL_STRING => Some(4),
        tag::BMP_STRING => Some(2),
        _ => None,
    }
}

/// Appends the UTF-8 encoding of `c` as OpenSSL's `UTF8_putc` writes it (surrogates
/// included); `false` when `c` is beyond Unicode.
fn utf8_put(out: &mut Vec<u8>, c: u32) -> bool {
    let b = |v: u32| u8::try_from(v & 0xff).unwrap_or(0);
    if c < 0x80 {
        out.push(b(c));
    } else if c < 0x800 {
        out.extend([b(0xc0 | (c >> 6)), b(0x80 | (c & 0x3f))]);
    } else if c < 0x10000 {
        out.extend([
            b(0xe0 | (c >> 12)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ]);
    } else if c < 0x110000 {
        out.extend([
            b(0xf0 | (c >> 18)),
            b(0x80 | ((c >> 12) & 0x3f)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ]);
    } else {
        return false;
    }
    true
}

/// `asn1_string_canon` for the types of `ASN1_MASK_CANON` (UTF8String, BMPString,
/// UniversalString, PrintableString, T61String, IA5String, VisibleString): the value as
/// UTF-8, leading and trailing white space removed, inner runs collapsed to one space,
/// ASCII lower-cased. `None` for other types, which OpenSSL keeps as they are.
fn canonical_text(value_tag: u8, bytes: &[u8]) -> Option<Vec<u8>> {
    if !matches!(
        value_tag,
        tag::UTF8_STRING
            | tag::BMP_STRING
            | tag::UNIVERSAL_STRING
            | tag::PRINTABLE_STRING
            | tag::T61_STRING
            | tag::IA5_STRING
            | tag::VISIBLE_STRING
    ) {
        return None;
    }
    let mut utf8 = Vec::with_capacity(bytes.len());
    for c in chars_of(value_tag, bytes)? {
        if !utf8_put(&mut utf8, c) {
            utf8_put(&mut utf8, 0xfffd);
        }
    }
    let is_space = |b: &u8| *b == b' ' || (b'\t'..=b'\r').contains(b);
    let start = utf8.iter().position(|b| !is_space(b)).unwrap_or(utf8.len());
    let end = utf8
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    let mut prev_space = false;
    for b in utf8.get(start..end).unwrap_or_default() {
        if is_space(b) {
            if !prev_space {
                out.push(b' ');
            }
            prev_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            prev_space = false;
        }
    }
    Some(out)
}

/// `x509_name_canon`'s encoding: each RDN as a DER SET OF (members sorted) of canonical
/// attributes, concatenated.
fn canonical_encoding(attributes: &[Attribute]) -> Vec<u8> {
    let mut out = Vec::new();
    for rdn in attributes.chunk_by(|a, b| a.set == b.set) {
        let mut members: Vec<Vec<u8>> = rdn
            .iter()
            .map(|a| {
                let value = match canonical_text(a.tag, &a.value) {
                    Some(t) => der::tlv(tag::UTF8_STRING, &t),
                    None => a.raw_value.clone(),
                };
                der::tlv_parts(tag::SEQUENCE, &[&der::tlv(tag::OID, &a.oid), &value])
            })
            .collect();
        members.sort();
        out.extend(der::tlv(tag::SET, &members.concat()));
    }
    out
}

/// Separators of `X509_NAME_print_ex`.
#[derive(Clone, Copy)]
enum Separators {
    /// `XN_FLAG_SEP_COMMA_PLUS`: `,` and `+`.
    CommaPlus,
    /// `XN_FLAG_SEP_CPLUS_SPC`: `, ` and ` + `.
    CommaPlusSpace,
}

/// The `X509_NAME_print_ex` / `ASN1_STRING_print_ex` flags pgtls uses.
struct Flags {
    esc_2253: bool,
    esc_ctrl: bool,
    esc_msb: bool,
    esc_quote: bool,
    utf8_convert: bool,
    dump_unknown: bool,
    dump_der: bool,
    separators: Separators,
    space_eq: bool,
    reverse: bool,
    dump_unknown_fields: bool,
}

impl Flags {
    /// `XN_FLAG_RFC2253`.
    const RFC2253: Self = Self {
        esc_2253: true,
        esc_ctrl: true,
        esc_msb: true,
        esc_quote: false,
        utf8_convert: true,
        dump_unknown: true,
        dump_der: true,
        separators: Separators::CommaPlus,
        space_eq: false,
        reverse: true,
        dump_unknown_fields: true,
    };
    /// `XN_FLAG_ONELINE`.
    const ONELINE: Self = Self {
        esc_2253: true,
        esc_ctrl: true,
        esc_msb: true,
        esc_quote: true,
        utf8_convert: true,
        dump_unknown: true,
        dump_der: true,
        separators: Separators::CommaPlusSpace,
        space_eq: true,
        reverse: false,
        dump_unknown_fields: false,
    };
    /// pgtls's display: `esc_2253,esc_ctrl,utf8,dump_nostr,dump_der,
    /// sep_comma_plus_space,sname`.
    const DISPLAY: Self = Self {
        esc_2253: true,
        esc_ctrl: true,
        esc_msb: false,
        esc_quote: false,
        utf8_convert: true,
        dump_unknown: true,
        dump_der: true,
        separators: Separators::CommaPlusSpace,
        space_eq: false,
        reverse: false,
        dump_unknown_fields: false,
    };
}

/// `do_name_ex`.
fn print_ex(name: &DistinguishedName, flags: &Flags) -> String {
    let (sep_dn, sep_mv) = match flags.separators {
        Separators::CommaPlus => (",", "+"),
        Separators::CommaPlusSpace => (", ", " + "),
    };
    let sep_eq = if flags.space_eq { " = " } else { "=" };
    let mut out = String::new();
    let mut prev = None;
    let entries: Vec<&Attribute> = if flags.reverse {
        name.attributes.iter().rev().collect()
    } else {
        name.attributes.iter().collect()
    };
    for a in entries {
        if let Some(p) = prev {
            out.push_str(if p == a.set { sep_mv } else { sep_dn });
        }
        prev = Some(a.set);
        out.push_str(&a.kind());
        out.push_str(sep_eq);
        let dump_all = flags.dump_unknown_fields && !a.is_known_type();
        print_value(&mut out, a, flags, dump_all);
    }
    out
}

/// `do_print_ex` for one value.
fn print_value(out: &mut String, a: &Attribute, flags: &Flags, dump_all: bool) {
    let width = if dump_all {
        None
    } else {
        match width(a.tag) {
            None if !flags.dump_unknown => Some(1),
            w => w,
        }
    };
    let Some(width) = width else {
        out.push('#');
        let bytes = if flags.dump_der {
            &a.raw_value
        } else {
            &a.value
        };
        out.push_str(&der::hex(bytes).to_ascii_uppercase());
        return;
    };
    // OpenSSL reads a UTF8String byte by byte when converting to UTF-8 anyway.
    let (chars, convert) = if width == 0 && flags.utf8_convert {
        (a.value.iter().map(|&b| u32::from(b)).collect(), false)
    } else {
        let chars = chars_of(a.tag, &a.value)
            .unwrap_or_else(|| a.string_data().iter().map(|&b| u32::from(b)).collect());
        (chars, flags.utf8_convert)
    };
    let mut body: Vec<u8> = Vec::new();
    let mut quote = false;
    let last = chars.len().saturating_sub(1);
    for (i, &c) in chars.iter().enumerate() {
        let first_esc = i == 0 && flags.esc_2253;
        let last_esc = i == last && flags.esc_2253;
        if convert {
            let mut utf8 = Vec::new();
            if !utf8_put(&mut utf8, c) {
                utf8_put(&mut utf8, 0xfffd);
            }
            for b in utf8 {
                esc_char(
                    &mut body,
                    u32::from(b),
                    flags,
                    first_esc,
                    last_esc,
                    &mut quote,
                );
            }
        } else {
            esc_char(&mut body, c, flags, first_esc, last_esc, &mut quote);
        }
    }
    let text = String::from_utf8_lossy(&body);
    if quote {
        out.push('"');
        out.push_str(&text);
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

/// `do_esc_char`: one character (or one byte of its UTF-8) with the escapes `flags` ask for.
fn esc_char(out: &mut Vec<u8>, c: u32, flags: &Flags, first: bool, last: bool, quote: &mut bool) {
    if c > 0xffff {
        out.extend(format!("\\W{c:08X}").bytes());
        return;
    }
    if c > 0xff {
        out.extend(format!("\\U{c:04X}").bytes());
        return;
    }
    let ch = u8::try_from(c).unwrap_or(0);
    let (bs_esc, hex_esc) = if ch > 0x7f {
        (false, flags.esc_msb)
    } else {
        let special = matches!(ch, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';');
        let bs = (flags.esc_2253 && special)
            || (first && (ch == b' ' || ch == b'#'))
            || (last && ch == b' ');
        let ctrl = flags.esc_ctrl && (ch < 0x20 || ch == 0x7f);
        (bs, ctrl)
    };
    if bs_esc {
        // Inside double quotes only `"` and `\` still need a backslash.
        if flags.esc_quote && ch != b'"' && ch != b'\\' {
            *quote = true;
            out.push(ch);
        } else {
            out.extend([b'\\', ch]);
        }
        return;
    }
    if hex_esc {
        out.extend(format!("\\{ch:02X}").bytes());
        return;
    }
    let any_esc = flags.esc_2253 || flags.esc_quote || flags.esc_ctrl || flags.esc_msb;
    if ch == b'\\' && any_esc {
        out.extend(b"\\\\");
        return;
    }
    out.push(ch);
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
        assert_eq!(n.rfc2253(), "CN=bob,OU=b,OU=a,DC=example,DC=org");
        assert_eq!(n.common_name_value().as_deref(), Some("bob"));
        let again = DistinguishedName::from_der(n.der()).unwrap();
        assert_eq!(again, n);
        assert!(again.matches(&n));
    }

    #[test]
    fn openssl_oneline_round_trips() {
        for text in [
            "",
            "/CN=a",
            "/DC=org/DC=example/O=Example\\/Slash/CN=x+UID=7",
            "/C=DE/ST=Bayern/CN=M\\xC3\\xBCller/emailAddress=m@example.org",
            "/CN=back\\slash/1.2.3.4=odd type/CN=\\xFF latin",
            "/CN=",
        ] {
            let n = DistinguishedName::from_openssl_oneline(text).unwrap();
            assert_eq!(n.to_openssl_oneline(), text, "{text:?}");
        }
        let n = DistinguishedName::from_openssl_oneline("/DC=org/CN=x+UID=7").unwrap();
        assert_eq!(n.rdns().len(), 2);
        let cn = DistinguishedName::from_openssl_oneline("/CN=M\\xC3\\xBCller").unwrap();
        assert_eq!(cn.common_name_value().as_deref(), Some("M\u{fc}ller"));
        assert_eq!(
            DistinguishedName::from_openssl_oneline("/C=DE/CN=db").unwrap(),
            DistinguishedName::parse_openssl("/C=DE/CN=db").unwrap()
        );
        for bad in ["CN=x", "/CN", "/XX=x", "/CN=\\xZZ", "/99.1=x"] {
            assert!(
                DistinguishedName::from_openssl_oneline(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_names() {
        assert!(DistinguishedName::parse_openssl("CN=x").is_err());
        assert!(DistinguishedName::parse_openssl("/XX=x").is_err());
        assert!(DistinguishedName::parse_openssl("/CN=").is_err());
        assert!(DistinguishedName::from_der(&[0x30, 0x02, 0x31, 0x00]).is_err());
    }

    #[test]
    fn canonical_form_ignores_case_and_spaces() {
        let a = DistinguishedName::parse_openssl("/CN=  Hello   World ").unwrap();
        let b = DistinguishedName::parse_openssl("/CN=hello world").unwrap();
        assert_ne!(a, b);
        assert!(a.matches(&b));
        assert_eq!(a.hash(), b.hash());
    }

    #[test]
    fn escapes() {
        let n = DistinguishedName::parse_openssl("/CN= a,b#").unwrap();
        assert_eq!(n.rfc2253(), "CN=\\ a\\,b#");
        assert_eq!(n.oneline(), "CN = \" a,b#\"");
        let cn = |v: &str| {
            DistinguishedName::parse_openssl(&format!("/CN={v}"))
                .unwrap()
                .rfc2253()
        };
        assert_eq!(cn("x,y"), "CN=x\\,y");
        assert_eq!(cn("josé"), "CN=jos\\C3\\A9");
        assert_eq!(cn(" #a "), "CN=\\ #a\\ ");
        assert_eq!(cn("#a"), "CN=\\#a");
    }
}
