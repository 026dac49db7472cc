//! The server's OpenSSL lists: `ssl_ecdh_curve` (12 to 17), `ssl_groups`
//! (18, with `ssl_ecdh_curve` as its old name), `ssl_ciphers` and
//! `ssl_tls13_ciphers` (18), judged as `be_tls_init` hands them to OpenSSL.
//!
//! What is accepted depends on the OpenSSL the server is built with (the
//! PostgreSQL 12/13 builds of the test machines bundle OpenSSL 1.1.1 of
//! 2018, the others link the system's OpenSSL 3.0), so a value is
//! [`Verdict::Invalid`] only when it is wrong for every OpenSSL (its syntax,
//! an empty list, names no OpenSSL knows), and [`Verdict::Depends`] when
//! some OpenSSL takes it and another does not. Measured against the real
//! servers 12 to 18 (pgtls-cli/tests/doctor.rs, `openssl_lists`).

/// What the server does with one list.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Accepted by every OpenSSL.
    Fine,
    /// Wrong for every OpenSSL: `why` (with what the server does), and what
    /// it logs as it refuses to start (`logged`).
    Invalid { why: String, logged: String },
    /// Accepted by some OpenSSL and not by another: why.
    Depends(String),
    /// Accepted, with names every OpenSSL drops without a word: which.
    Ignored(String),
}

/// The elliptic curves of OpenSSL 1.1.1 and 3.0 by short name
/// (`openssl ecparam -list_curves`): what `OBJ_sn2nid` +
/// `EC_KEY_new_by_curve_name` accept in PostgreSQL 12 to 17.
const EC_CURVES: &[&str] = &[
    "secp112r1",
    "secp112r2",
    "secp128r1",
    "secp128r2",
    "secp160k1",
    "secp160r1",
    "secp160r2",
    "secp192k1",
    "secp224k1",
    "secp224r1",
    "secp256k1",
    "secp384r1",
    "secp521r1",
    "prime192v1",
    "prime192v2",
    "prime192v3",
    "prime239v1",
    "prime239v2",
    "prime239v3",
    "prime256v1",
    "sect113r1",
    "sect113r2",
    "sect131r1",
    "sect131r2",
    "sect163k1",
    "sect163r1",
    "sect163r2",
    "sect193r1",
    "sect193r2",
    "sect233k1",
    "sect233r1",
    "sect239k1",
    "sect283k1",
    "sect283r1",
    "sect409k1",
    "sect409r1",
    "sect571k1",
    "sect571r1",
    "c2pnb163v1",
    "c2pnb163v2",
    "c2pnb163v3",
    "c2pnb176v1",
    "c2tnb191v1",
    "c2tnb191v2",
    "c2tnb191v3",
    "c2pnb208w1",
    "c2tnb239v1",
    "c2tnb239v2",
    "c2tnb239v3",
    "c2pnb272w1",
    "c2pnb304w1",
    "c2tnb359v1",
    "c2pnb368w1",
    "c2tnb431r1",
    "wap-wsg-idm-ecid-wtls1",
    "wap-wsg-idm-ecid-wtls3",
    "wap-wsg-idm-ecid-wtls4",
    "wap-wsg-idm-ecid-wtls5",
    "wap-wsg-idm-ecid-wtls6",
    "wap-wsg-idm-ecid-wtls7",
    "wap-wsg-idm-ecid-wtls8",
    "wap-wsg-idm-ecid-wtls9",
    "wap-wsg-idm-ecid-wtls10",
    "wap-wsg-idm-ecid-wtls11",
    "wap-wsg-idm-ecid-wtls12",
    "Oakley-EC2N-3",
    "Oakley-EC2N-4",
    "brainpoolP160r1",
    "brainpoolP160t1",
    "brainpoolP192r1",
    "brainpoolP192t1",
    "brainpoolP224r1",
    "brainpoolP224t1",
    "brainpoolP256r1",
    "brainpoolP256t1",
    "brainpoolP320r1",
    "brainpoolP320t1",
    "brainpoolP384r1",
    "brainpoolP384t1",
    "brainpoolP512r1",
    "brainpoolP512t1",
    "SM2",
];

/// Short names of objects that are not curves: `OBJ_sn2nid` finds them and
/// `EC_KEY_new_by_curve_name` fails (`ECDH: could not create key`).
const NOT_CURVES: &[&str] = &[
    "X25519",
    "X448",
    "ED25519",
    "ED448",
    "RSA",
    "rsaEncryption",
    "DSA",
    "DH",
    "SM3",
    "SHA256",
];

/// `ssl_ecdh_curve` of PostgreSQL 12 to 17: one curve's short name, as
/// `OBJ_sn2nid` takes it (case and all).
pub(super) fn ecdh_curve(value: &str) -> Verdict {
    if EC_CURVES.contains(&value) {
        return Verdict::Fine;
    }
    let hint = if value.contains(':') {
        " (a list of groups is PostgreSQL 18's ssl_groups; before 18 it is one curve)".to_owned()
    } else if let Some(c) = EC_CURVES.iter().find(|c| c.eq_ignore_ascii_case(value)) {
        format!(" (short names are compared with case: {c})")
    } else if let Some(c) = nist_curve(value) {
        format!(" ({value} is the NIST name: its short name is {c})")
    } else if value.eq_ignore_ascii_case("x25519") || value.eq_ignore_ascii_case("x448") {
        " (X25519 and X448 are groups from PostgreSQL 18's ssl_groups on, not ECDH curves)"
            .to_owned()
    } else {
        String::new()
    };
    let logged = if NOT_CURVES.contains(&value) {
        "ECDH: could not create key".to_owned()
    } else {
        format!("ECDH: unrecognized curve name: {value}")
    };
    Verdict::Invalid {
        why: format!(
            "'{value}' is not the short name of an elliptic curve{hint}: the server refuses to start"
        ),
        logged,
    }
}

fn nist_curve(value: &str) -> Option<&'static str> {
    match value.to_ascii_uppercase().as_str() {
        "P-192" => Some("prime192v1"),
        "P-224" => Some("secp224r1"),
        "P-256" => Some("prime256v1"),
        "P-384" => Some("secp384r1"),
        "P-521" => Some("secp521r1"),
        _ => None,
    }
}

/// Group names every OpenSSL from 1.1.1 takes in `SSL_CTX_set1_groups_list`
/// (1.1.1: the NIST name, the short or long name of a curve with a TLS group).
const GROUPS_EVERYWHERE: &[&str] = &[
    "sect163k1",
    "sect163r1",
    "sect163r2",
    "sect193r1",
    "sect193r2",
    "sect233k1",
    "sect233r1",
    "sect239k1",
    "sect283k1",
    "sect283r1",
    "sect409k1",
    "sect409r1",
    "sect571k1",
    "sect571r1",
    "secp160k1",
    "secp160r1",
    "secp160r2",
    "secp192k1",
    "prime192v1",
    "secp224k1",
    "secp224r1",
    "secp256k1",
    "prime256v1",
    "secp384r1",
    "secp521r1",
    "brainpoolP256r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
    "X25519",
    "X448",
    "P-192",
    "P-224",
    "P-256",
    "P-384",
    "P-521",
];

/// Group names only some OpenSSL versions take, and from which.
const GROUPS_SOMEWHERE: &[(&str, &str)] = &[
    ("x25519", "3.0"),
    ("x448", "3.0"),
    ("secp192r1", "3.0"),
    ("secp256r1", "3.0"),
    ("ffdhe2048", "3.0"),
    ("ffdhe3072", "3.0"),
    ("ffdhe4096", "3.0"),
    ("ffdhe6144", "3.0"),
    ("ffdhe8192", "3.0"),
    ("brainpoolP256r1tls13", "3.2"),
    ("brainpoolP384r1tls13", "3.2"),
    ("brainpoolP512r1tls13", "3.2"),
    ("curveSM2", "3.2"),
    ("X25519MLKEM768", "3.5"),
    ("X448MLKEM1024", "3.5"),
    ("SecP256r1MLKEM768", "3.5"),
    ("SecP384r1MLKEM1024", "3.5"),
    ("curveSM2MLKEM768", "3.5"),
    ("MLKEM512", "3.5"),
    ("MLKEM768", "3.5"),
    ("MLKEM1024", "3.5"),
];

/// `ssl_groups` of PostgreSQL 18: a colon-separated list of group names
/// (`SSL_CTX_set1_groups_list`; white space around a name is dropped).
pub(super) fn groups(value: &str) -> Verdict {
    const LOGGED: &str = "could not set group names specified in ssl_groups";
    let invalid = |why: String| Verdict::Invalid {
        why: format!("{why}: the server refuses to start"),
        logged: LOGGED.to_owned(),
    };
    if value.trim().is_empty() {
        return invalid("the list is empty".into());
    }
    let mut depends = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for raw in value.split(':') {
        let name = raw.trim();
        if name.is_empty() {
            return invalid(format!(
                "'{value}' has an empty name (a colon at an end, or two together)"
            ));
        }
        if seen.contains(&name) {
            depends.push(format!(
                "{name} is named twice (OpenSSL 1.1.1 and 3.0 refuse that)"
            ));
            continue;
        }
        seen.push(name);
        if GROUPS_EVERYWHERE.contains(&name) {
            continue;
        }
        if let Some((_, since)) = GROUPS_SOMEWHERE.iter().find(|(n, _)| *n == name) {
            depends.push(format!("{name} is a group of OpenSSL {since} and later"));
            continue;
        }
        // OpenSSL 3.3's `?name` (ignore when unknown), 3.5's `*name`, `-name`,
        // tuples with `/` and `DEFAULT`.
        let bare = name.trim_start_matches(['?', '*', '-']);
        if bare != name || name.contains('/') || name.eq_ignore_ascii_case("DEFAULT") {
            depends.push(format!(
                "{name} uses the group list syntax of OpenSSL 3.3 and later (?, *, -, /, DEFAULT)"
            ));
            continue;
        }
        let known = GROUPS_EVERYWHERE
            .iter()
            .copied()
            .chain(GROUPS_SOMEWHERE.iter().map(|(n, _)| *n))
            .find(|n| n.eq_ignore_ascii_case(name));
        if let Some(k) = known {
            depends.push(format!(
                "{name} is {k} in other case (OpenSSL 1.1.1 and 3.0 compare names with case)"
            ));
            continue;
        }
        let hint = if name.contains([',', ' ', ';']) {
            " (the names are separated by colons)"
        } else {
            ""
        };
        return invalid(format!("{name} is not a group any OpenSSL knows{hint}"));
    }
    if depends.is_empty() {
        Verdict::Fine
    } else {
        Verdict::Depends(depends.join("; "))
    }
}

/// The TLS 1.3 cipher suites of OpenSSL 1.1.1 and 3.x.
const TLS13_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
];

/// TLS 1.3 suites of later OpenSSL versions only (3.4: integrity only).
const TLS13_SUITES_LATER: &[&str] = &["TLS_SHA256_SHA256", "TLS_SHA384_SHA384"];

/// `ssl_tls13_ciphers` of PostgreSQL 18 (`SSL_CTX_set_ciphersuites`; `''`
/// keeps OpenSSL's default): names it does not know are dropped, empty
/// names too, and the server refuses to start when none is left.
pub(super) fn tls13_ciphers(value: &str) -> Verdict {
    if value.is_empty() {
        return Verdict::Fine;
    }
    let names: Vec<&str> = value
        .split(':')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let known = names.iter().filter(|n| TLS13_SUITES.contains(n)).count();
    let later: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| TLS13_SUITES_LATER.contains(n))
        .collect();
    let unknown: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !TLS13_SUITES.contains(n) && !TLS13_SUITES_LATER.contains(n))
        .collect();
    if known == 0 && later.is_empty() {
        let hint = if names.iter().any(|n| n.contains([',', ' ', ';'])) {
            " (the names are separated by colons)"
        } else if names
            .iter()
            .any(|n| TLS13_SUITES.iter().any(|s| s.eq_ignore_ascii_case(n)))
        {
            " (the names are compared with case)"
        } else {
            " (TLS 1.3 suites are named like TLS_AES_256_GCM_SHA384; the TLS 1.2 list is ssl_ciphers)"
        };
        return Verdict::Invalid {
            why: format!(
                "'{value}' names no TLS 1.3 cipher suite OpenSSL knows{hint}: the server refuses to start"
            ),
            logged: "could not set the TLSv1.3 cipher suites (no valid ciphers available)".into(),
        };
    }
    let mut notes = Vec::new();
    if !later.is_empty() {
        notes.push(format!(
            "{} only OpenSSL 3.4 and later know{}",
            later.join(", "),
            if known == 0 {
                " (with another OpenSSL none is left and the server refuses to start)"
            } else {
                ""
            }
        ));
    }
    if !notes.is_empty() {
        return Verdict::Depends(notes.join("; "));
    }
    if unknown.is_empty() {
        Verdict::Fine
    } else {
        Verdict::Ignored(format!(
            "OpenSSL drops {} without a word: no TLS 1.3 suite has that name",
            unknown.join(", ")
        ))
    }
}

/// The TLS 1.2 (and older) cipher names of OpenSSL 3.0
/// (`openssl ciphers 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'`).
const CIPHER_NAMES: &[&str] = &[
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "DHE-DSS-AES256-GCM-SHA384",
    "DHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES256-CCM8",
    "ECDHE-ECDSA-AES256-CCM",
    "DHE-RSA-AES256-CCM8",
    "DHE-RSA-AES256-CCM",
    "ECDHE-ECDSA-ARIA256-GCM-SHA384",
    "ECDHE-ARIA256-GCM-SHA384",
    "DHE-DSS-ARIA256-GCM-SHA384",
    "DHE-RSA-ARIA256-GCM-SHA384",
    "ADH-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "DHE-DSS-AES128-GCM-SHA256",
    "DHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-CCM8",
    "ECDHE-ECDSA-AES128-CCM",
    "DHE-RSA-AES128-CCM8",
    "DHE-RSA-AES128-CCM",
    "ECDHE-ECDSA-ARIA128-GCM-SHA256",
    "ECDHE-ARIA128-GCM-SHA256",
    "DHE-DSS-ARIA128-GCM-SHA256",
    "DHE-RSA-ARIA128-GCM-SHA256",
    "ADH-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "DHE-RSA-AES256-SHA256",
    "DHE-DSS-AES256-SHA256",
    "ECDHE-ECDSA-CAMELLIA256-SHA384",
    "ECDHE-RSA-CAMELLIA256-SHA384",
    "DHE-RSA-CAMELLIA256-SHA256",
    "DHE-DSS-CAMELLIA256-SHA256",
    "ADH-AES256-SHA256",
    "ADH-CAMELLIA256-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "DHE-RSA-AES128-SHA256",
    "DHE-DSS-AES128-SHA256",
    "ECDHE-ECDSA-CAMELLIA128-SHA256",
    "ECDHE-RSA-CAMELLIA128-SHA256",
    "DHE-RSA-CAMELLIA128-SHA256",
    "DHE-DSS-CAMELLIA128-SHA256",
    "ADH-AES128-SHA256",
    "ADH-CAMELLIA128-SHA256",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "DHE-RSA-AES256-SHA",
    "DHE-DSS-AES256-SHA",
    "DHE-RSA-CAMELLIA256-SHA",
    "DHE-DSS-CAMELLIA256-SHA",
    "AECDH-AES256-SHA",
    "ADH-AES256-SHA",
    "ADH-CAMELLIA256-SHA",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "DHE-RSA-AES128-SHA",
    "DHE-DSS-AES128-SHA",
    "DHE-RSA-CAMELLIA128-SHA",
    "DHE-DSS-CAMELLIA128-SHA",
    "AECDH-AES128-SHA",
    "ADH-AES128-SHA",
    "ADH-CAMELLIA128-SHA",
    "RSA-PSK-AES256-GCM-SHA384",
    "DHE-PSK-AES256-GCM-SHA384",
    "RSA-PSK-CHACHA20-POLY1305",
    "DHE-PSK-CHACHA20-POLY1305",
    "ECDHE-PSK-CHACHA20-POLY1305",
    "DHE-PSK-AES256-CCM8",
    "DHE-PSK-AES256-CCM",
    "RSA-PSK-ARIA256-GCM-SHA384",
    "DHE-PSK-ARIA256-GCM-SHA384",
    "AES256-GCM-SHA384",
    "AES256-CCM8",
    "AES256-CCM",
    "ARIA256-GCM-SHA384",
    "PSK-AES256-GCM-SHA384",
    "PSK-CHACHA20-POLY1305",
    "PSK-AES256-CCM8",
    "PSK-AES256-CCM",
    "PSK-ARIA256-GCM-SHA384",
    "RSA-PSK-AES128-GCM-SHA256",
    "DHE-PSK-AES128-GCM-SHA256",
    "DHE-PSK-AES128-CCM8",
    "DHE-PSK-AES128-CCM",
    "RSA-PSK-ARIA128-GCM-SHA256",
    "DHE-PSK-ARIA128-GCM-SHA256",
    "AES128-GCM-SHA256",
    "AES128-CCM8",
    "AES128-CCM",
    "ARIA128-GCM-SHA256",
    "PSK-AES128-GCM-SHA256",
    "PSK-AES128-CCM8",
    "PSK-AES128-CCM",
    "PSK-ARIA128-GCM-SHA256",
    "AES256-SHA256",
    "CAMELLIA256-SHA256",
    "AES128-SHA256",
    "CAMELLIA128-SHA256",
    "ECDHE-PSK-AES256-CBC-SHA384",
    "ECDHE-PSK-AES256-CBC-SHA",
    "SRP-DSS-AES-256-CBC-SHA",
    "SRP-RSA-AES-256-CBC-SHA",
    "SRP-AES-256-CBC-SHA",
    "RSA-PSK-AES256-CBC-SHA384",
    "DHE-PSK-AES256-CBC-SHA384",
    "RSA-PSK-AES256-CBC-SHA",
    "DHE-PSK-AES256-CBC-SHA",
    "ECDHE-PSK-CAMELLIA256-SHA384",
    "RSA-PSK-CAMELLIA256-SHA384",
    "DHE-PSK-CAMELLIA256-SHA384",
    "AES256-SHA",
    "CAMELLIA256-SHA",
    "PSK-AES256-CBC-SHA384",
    "PSK-AES256-CBC-SHA",
    "PSK-CAMELLIA256-SHA384",
    "ECDHE-PSK-AES128-CBC-SHA256",
    "ECDHE-PSK-AES128-CBC-SHA",
    "SRP-DSS-AES-128-CBC-SHA",
    "SRP-RSA-AES-128-CBC-SHA",
    "SRP-AES-128-CBC-SHA",
    "RSA-PSK-AES128-CBC-SHA256",
    "DHE-PSK-AES128-CBC-SHA256",
    "RSA-PSK-AES128-CBC-SHA",
    "DHE-PSK-AES128-CBC-SHA",
    "ECDHE-PSK-CAMELLIA128-SHA256",
    "RSA-PSK-CAMELLIA128-SHA256",
    "DHE-PSK-CAMELLIA128-SHA256",
    "AES128-SHA",
    "CAMELLIA128-SHA",
    "PSK-AES128-CBC-SHA256",
    "PSK-AES128-CBC-SHA",
    "PSK-CAMELLIA128-SHA256",
    "ECDHE-ECDSA-NULL-SHA",
    "ECDHE-RSA-NULL-SHA",
    "AECDH-NULL-SHA",
    "NULL-SHA256",
    "ECDHE-PSK-NULL-SHA384",
    "ECDHE-PSK-NULL-SHA256",
    "ECDHE-PSK-NULL-SHA",
    "RSA-PSK-NULL-SHA384",
    "RSA-PSK-NULL-SHA256",
    "DHE-PSK-NULL-SHA384",
    "DHE-PSK-NULL-SHA256",
    "RSA-PSK-NULL-SHA",
    "DHE-PSK-NULL-SHA",
    "NULL-SHA",
    "NULL-MD5",
    "PSK-NULL-SHA384",
    "PSK-NULL-SHA256",
    "PSK-NULL-SHA",
];

/// Aliases that name TLS 1.2 ciphers in OpenSSL 1.1.1 and 3.x alike.
const CIPHER_ALIASES: &[&str] = &[
    "ALL",
    "DEFAULT",
    "COMPLEMENTOFDEFAULT",
    "COMPLEMENTOFALL",
    "HIGH",
    "AES",
    "AES128",
    "AES256",
    "AESGCM",
    "AESCCM",
    "AESCCM8",
    "CHACHA20",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "ARIAGCM",
    "ECDHE",
    "EECDH",
    "kECDHE",
    "kEECDH",
    "ECDH",
    "aECDSA",
    "ECDSA",
    "aRSA",
    "RSA",
    "kRSA",
    "DHE",
    "EDH",
    "kDHE",
    "kEDH",
    "DH",
    "aDSS",
    "DSS",
    "ADH",
    "AECDH",
    "aNULL",
    "eNULL",
    "NULL",
    "PSK",
    "kPSK",
    "aPSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "SHA",
    "SHA1",
    "SHA256",
    "SHA384",
    "TLSv1.2",
    "TLSv1.0",
    "TLSv1",
    "SSLv3",
    "SUITEB128",
    "SUITEB128ONLY",
    "SUITEB192",
];

/// (`CBC` is an alias from OpenSSL 3.0 on.)
///
/// Aliases whose ciphers OpenSSL 3 has left out (or, like MEDIUM, has none
/// of at its default build): a list of only these selects nothing there.
const CIPHER_ALIASES_OLD: &[&str] = &[
    "MEDIUM",
    "LOW",
    "RC4",
    "3DES",
    "DES",
    "SEED",
    "IDEA",
    "RC2",
    "MD5",
    "EXP",
    "EXPORT",
    "SSLv2",
    "aGOST",
    "aGOST01",
    "kGOST",
    "GOST94",
    "GOST89MAC",
    "kECDHr",
    "kECDHe",
    "aECDH",
];

/// What one `ssl_ciphers` element adds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Adds {
    Nothing,
    SomeOpenssl,
    Every,
}

fn cipher_name(name: &str) -> Adds {
    if CIPHER_NAMES.contains(&name) || CIPHER_ALIASES.contains(&name) {
        Adds::Every
    } else if CIPHER_ALIASES_OLD.contains(&name)
        || name == "CBC"
        || (name.contains('-')
            && ["RC4", "DES", "SEED", "IDEA", "RC2", "GOST", "EXP"]
                .iter()
                .any(|p| name.contains(p)))
        || (name.starts_with("TLS_") && name.contains("_WITH_"))
    {
        Adds::SomeOpenssl
    } else {
        Adds::Nothing
    }
}

/// `ssl_ciphers` (`SSL_CTX_set_cipher_list`): OpenSSL's cipher string, as
/// its rule parser reads it. A syntax error (a character outside names and
/// separators, `!`, `-`, `+` or `@` with no name after, a name ending in
/// `+`, an `@` command other than `@STRENGTH` and `@SECLEVEL=0` to `5`)
/// fails with every OpenSSL; a list that selects no TLS 1.2 cipher stops a
/// server on OpenSSL 3, while OpenSSL 1.1.1 of 2018 starts one that serves
/// TLS 1.3 only.
pub(super) fn ciphers(value: &str, v18: bool) -> Verdict {
    let logged = if v18 {
        "could not set the TLSv1.2 cipher list (no valid ciphers available)"
    } else {
        "could not set the cipher list (no valid ciphers available)"
    };
    let syntax = |why: String| Verdict::Invalid {
        why: format!("{why}: the server refuses to start with any OpenSSL"),
        logged: logged.to_owned(),
    };
    let is_sep = |c: char| matches!(c, ':' | ' ' | ';' | ',');
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=');
    let mut rest = value;
    let mut selected = Adds::Nothing;
    let mut unknown = Vec::new();
    let mut partial = Vec::new();
    if let Some(r) = rest.strip_prefix("DEFAULT") {
        selected = Adds::Every;
        rest = r.strip_prefix(':').unwrap_or(r);
    }
    while let Some(c) = rest.chars().next() {
        if is_sep(c) {
            rest = &rest[1..];
            continue;
        }
        let (op, body) = match c {
            '-' | '+' | '!' | '@' => (c, &rest[1..]),
            _ => (' ', rest),
        };
        let end = body
            .find(|ch: char| !is_name(ch) && ch != '+')
            .unwrap_or(body.len());
        let word = &body[..end];
        let next = body[end..].chars().next();
        if word.is_empty() {
            return syntax(match next {
                Some(ch) => format!("'{ch}' cannot start a cipher name"),
                None => format!("'{op}' at the end has no name after it"),
            });
        }
        if let Some(ch) = next.filter(|ch| !is_sep(*ch) && !"-+!@".contains(*ch)) {
            return syntax(format!("'{ch}' is not allowed in a cipher string"));
        }
        rest = &body[end..];
        if op == '@' {
            let level_ok = word.strip_prefix("SECLEVEL=").is_some_and(|l| {
                l.len() == 1 && ('0'..='5').contains(&l.chars().next().unwrap_or('x'))
            });
            if word != "STRENGTH" && !level_ok {
                return syntax(format!(
                    "@{word} is not an OpenSSL command (@STRENGTH, or @SECLEVEL=0 to 5)"
                ));
            }
            continue;
        }
        if word.ends_with('+') || word.starts_with('+') || word.contains("++") {
            return syntax(format!("'{word}' joins no name after a '+'"));
        }
        let parts: Vec<&str> = word.split('+').collect();
        let adds = parts
            .iter()
            .map(|p| cipher_name(p))
            .min()
            .unwrap_or(Adds::Nothing);
        match op {
            ' ' => {
                if adds == Adds::Nothing {
                    unknown.push(word);
                }
                if adds == Adds::SomeOpenssl {
                    partial.push(word);
                }
                selected = selected.max(adds);
            }
            '!' | '-' if word == "ALL" => selected = Adds::Nothing,
            _ => {}
        }
    }
    let unknown_note = if unknown.is_empty() {
        String::new()
    } else {
        format!(
            " (OpenSSL knows no cipher named {}; names are compared with case, and TLS 1.3 suites {})",
            unknown.join(", "),
            if v18 {
                "are ssl_tls13_ciphers"
            } else {
                "cannot be chosen before PostgreSQL 18"
            }
        )
    };
    match selected {
        Adds::Every if unknown.is_empty() => Verdict::Fine,
        Adds::Every => Verdict::Ignored(format!(
            "OpenSSL ignores {} without a word: no cipher has that name",
            unknown.join(", ")
        )),
        Adds::SomeOpenssl => Verdict::Depends(format!(
            "'{value}' selects ciphers only through {}, which not every OpenSSL has{unknown_note}: OpenSSL 3 has no RC4, 3DES, DES, SEED, IDEA, RC2, MD5, MEDIUM, LOW, export or GOST cipher (a server on it refuses to start: {logged}), OpenSSL 1.1.1 has some, and CBC is an alias of OpenSSL 3.0 and later",
            partial.join(", ")
        )),
        Adds::Nothing => Verdict::Invalid {
            why: format!(
                "'{value}' selects no TLS 1.2 cipher{unknown_note}: a server on OpenSSL 3 refuses to start ({logged}), and one on OpenSSL 1.1.1 (its 2018 release: the 12/13 builds here) starts and refuses every TLS 1.2 client"
            ),
            logged: logged.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(v: &Verdict) -> bool {
        matches!(v, Verdict::Invalid { .. })
    }

    #[test]
    fn cipher_strings() {
        for ok in [
            "HIGH:MEDIUM:+3DES:!aNULL",
            "DEFAULT",
            "HIGH MEDIUM",
            "HIGH,MEDIUM",
            "HIGH;MEDIUM",
            "DEFAULT:@SECLEVEL=0",
            "DEFAULT:@STRENGTH",
            "HIGH:",
            ":HIGH",
            "HIGH::MEDIUM",
            "HIGH:!AES",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "eNULL",
            "aNULL",
            "ECDHE+AESGCM:!aNULL",
        ] {
            assert_eq!(ciphers(ok, false), Verdict::Fine, "{ok}");
        }
        for bad in [
            "",
            "high",
            "nope",
            "ALL:!ALL",
            "!aNULL",
            "HIGH:!",
            "HIGH+",
            "DEFAULT:@FOO",
            "DEFAULT:@SECLEVEL=x",
            "DEFAULT:@SECLEVEL=6",
            "HIGH/MEDIUM",
            "TLS_AES_128_GCM_SHA256",
            "ecdhe-rsa-aes128-gcm-sha256",
        ] {
            assert!(
                invalid(&ciphers(bad, true)),
                "{bad}: {:?}",
                ciphers(bad, true)
            );
        }
        assert!(matches!(ciphers("nope:HIGH", false), Verdict::Ignored(_)));
        for depends in [
            "MEDIUM",
            "CBC",
            "RC4",
            "3DES",
            "SEED",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ] {
            assert!(
                matches!(ciphers(depends, false), Verdict::Depends(_)),
                "{depends}"
            );
        }
    }

    #[test]
    fn curves_and_groups() {
        assert_eq!(ecdh_curve("prime256v1"), Verdict::Fine);
        assert_eq!(ecdh_curve("SM2"), Verdict::Fine);
        for (bad, want) in [
            ("P-256", "ECDH: unrecognized curve name: P-256"),
            ("", "ECDH: unrecognized curve name: "),
            ("X25519", "ECDH: could not create key"),
        ] {
            let got = ecdh_curve(bad);
            assert!(
                matches!(&got, Verdict::Invalid { logged, .. } if logged == want),
                "{bad}: {got:?}"
            );
        }
        for ok in [
            "prime256v1",
            "X25519:prime256v1",
            " prime256v1",
            "P-256:secp384r1",
        ] {
            assert_eq!(groups(ok), Verdict::Fine, "{ok}");
        }
        for bad in [
            "",
            ":",
            "prime256v1:",
            "nope",
            "X25519,prime256v1",
            "X25519:nope",
        ] {
            assert!(invalid(&groups(bad)), "{bad}");
        }
        for d in [
            "ffdhe2048",
            "x25519",
            "PRIME256V1",
            "?nope:prime256v1",
            "X25519MLKEM768",
            "prime256v1:prime256v1",
        ] {
            assert!(matches!(groups(d), Verdict::Depends(_)), "{d}");
        }
        assert_eq!(tls13_ciphers(""), Verdict::Fine);
        assert_eq!(
            tls13_ciphers("TLS_AES_128_GCM_SHA256::TLS_AES_256_GCM_SHA384"),
            Verdict::Fine
        );
        for bad in [
            "nope",
            ":",
            "HIGH",
            "tls_aes_128_gcm_sha256",
            "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
        ] {
            assert!(invalid(&tls13_ciphers(bad)), "{bad}");
        }
        assert!(matches!(
            tls13_ciphers("nope:TLS_AES_128_GCM_SHA256"),
            Verdict::Ignored(_)
        ));
        assert!(matches!(
            tls13_ciphers("TLS_SHA256_SHA256"),
            Verdict::Depends(_)
        ));
    }
}
