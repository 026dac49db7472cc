//! pgtls-verify: conninfo, the sslmode verdicts on arbitrary chains, and the
//! verify-full host-name matcher against a reference model.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pgtls_core::{CertificateParams, DistinguishedName, SubjectAltName, Usage, Validity};
use pgtls_verify::{Env, LibpqVerifier, Params, PgVersion, Verdict, verify_server};

use super::core::{NOW, fixture, now};
use super::input::Reader;

const VERSIONS: &[PgVersion] = &[
    PgVersion::V12,
    PgVersion::V13,
    PgVersion::V14,
    PgVersion::V15,
    PgVersion::V16,
    PgVersion::V17,
    PgVersion::V18,
];

/// libpq conninfo quoting: `'...'` with `\\` and `\'`.
fn quote(v: &str) -> String {
    let mut s = String::from("'");
    for c in v.chars() {
        if c == '\\' || c == '\'' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

fn render(p: &Params) -> String {
    let path = |o: &Option<std::path::PathBuf>| o.as_ref().map(|p| p.display().to_string());
    let fields = [
        ("sslmode", p.sslmode.clone()),
        ("sslrootcert", path(&p.sslrootcert)),
        ("sslcrl", path(&p.sslcrl)),
        ("sslcrldir", path(&p.sslcrldir)),
        ("sslcert", path(&p.sslcert)),
        ("sslkey", path(&p.sslkey)),
        ("host", p.host.clone()),
        ("hostaddr", p.hostaddr.clone()),
        ("port", p.port.clone()),
        ("sslsni", p.sslsni.clone()),
        ("sslcertmode", p.sslcertmode.clone()),
        ("sslnegotiation", p.sslnegotiation.clone()),
        (
            "ssl_min_protocol_version",
            p.ssl_min_protocol_version.clone(),
        ),
        (
            "ssl_max_protocol_version",
            p.ssl_max_protocol_version.clone(),
        ),
        ("user", p.user.clone()),
        ("dbname", p.dbname.clone()),
        ("service", p.service.clone()),
    ];
    fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", quote(v))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A conninfo string or URI: whatever parses renders to a quoted `key='value'` string
/// that parses to the same parameters; planning never panics for any version.
pub fn conninfo(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Params::parse_conninfo(s) else {
        return;
    };
    let text = render(&p);
    let again = Params::parse_conninfo(&text)
        .unwrap_or_else(|e| panic!("rendered conninfo {text:?} of {s:?} does not parse: {e}"));
    // The rendered string holds the TLS fields only, in its own order: the keyword list
    // (every keyword given, in order, for the version gates) is compared as a subset.
    assert!(
        again.keywords.iter().all(|k| p.keywords.contains(k)),
        "conninfo round trip: {s:?} -> {text:?}: keywords {:?} not in {:?}",
        again.keywords,
        p.keywords
    );
    let (mut a, mut b) = (again, p.clone());
    a.keywords.clear();
    b.keywords.clear();
    assert_eq!(a, b, "conninfo round trip: {s:?} -> {text:?}");
    let env = Env::empty();
    for v in VERSIONS {
        let _ = pgtls_verify::policy::plan(&p, &env, *v);
    }
}

// ------------------------------------------------------------------ reference model
//
// Written from libpq's own rules (fe-secure-openssl.c, fe-secure-common.c: host-name
// matching), not from pgtls-verify's code, as slowly and plainly as possible.

/// C `isspace` in the C locale.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One `strtoul(s, &end, 0)` number starting with a digit: (value or None on overflow,
/// bytes consumed).
fn c_number(s: &[u8]) -> (Option<u64>, usize) {
    let (radix, start) = if s.len() >= 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        if s.get(2).is_some_and(u8::is_ascii_hexdigit) {
            (16, 2)
        } else {
            return (Some(0), 1); // "0x" without hex digits: strtoul reads the "0"
        }
    } else if s.first() == Some(&b'0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut v: Option<u64> = Some(0);
    let mut i = start;
    while let Some(d) = s.get(i).and_then(|c| char::from(*c).to_digit(radix)) {
        v = v
            .and_then(|x| x.checked_mul(u64::from(radix)))
            .and_then(|x| x.checked_add(u64::from(d)))
            .filter(|x| *x <= u64::from(u32::MAX));
        i += 1;
    }
    (v, i)
}

/// glibc `inet_aton`.
pub fn ref_inet_aton(s: &[u8]) -> Option<[u8; 4]> {
    let mut parts: Vec<u64> = Vec::new();
    let mut i = 0;
    loop {
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (v, n) = c_number(&s[i..]);
        let v = v?;
        i += n;
        if s.get(i) == Some(&b'.') {
            if parts.len() >= 3 || v > 0xff {
                return None;
            }
            parts.push(v);
            i += 1;
        } else {
            parts.push(v);
            break;
        }
    }
    if let Some(c) = s.get(i)
        && !c_space(*c)
        && *c != 0
    {
        return None;
    }
    let last = *parts.last()?;
    let max_last: u64 = match parts.len() {
        1 => 0xffff_ffff,
        2 => 0x00ff_ffff,
        3 => 0xffff,
        _ => 0xff,
    };
    if last > max_last {
        return None;
    }
    let mut v: u64 = last;
    for (k, p) in parts[..parts.len() - 1].iter().enumerate() {
        v |= p << (24 - 8 * k);
    }
    let v = u32::try_from(v).ok()?;
    Some(v.to_be_bytes())
}

/// glibc `inet_pton(AF_INET)` (strict dotted quad, no leading zeros).
fn ref_pton4(s: &[u8]) -> Option<[u8; 4]> {
    let parts: Vec<&[u8]> = s.split(|c| *c == b'.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut out = [0u8; 4];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if p.len() > 1 && p[0] == b'0' {
            return None;
        }
        let v: u32 = std::str::from_utf8(p).ok()?.parse().ok()?;
        *o = u8::try_from(v).ok()?;
    }
    Some(out)
}

/// glibc `inet_pton(AF_INET6)`.
pub fn ref_pton6(s: &[u8]) -> Option<[u8; 16]> {
    // Split around one "::".
    let (head, tail, gap) = match s.windows(2).position(|w| w == b"::") {
        Some(p) => {
            let (h, t) = (&s[..p], &s[p + 2..]);
            if t.windows(2).any(|w| w == b"::") {
                return None;
            }
            (h, t, true)
        }
        None => (s, &b""[..], false),
    };
    let groups = |part: &[u8], allow_v4: bool| -> Option<Vec<u8>> {
        let mut out = Vec::new();
        if part.is_empty() {
            return Some(out);
        }
        let fields: Vec<&[u8]> = part.split(|c| *c == b':').collect();
        for (k, f) in fields.iter().enumerate() {
            if allow_v4 && k == fields.len() - 1 && f.contains(&b'.') {
                out.extend_from_slice(&ref_pton4(f)?);
                continue;
            }
            if f.is_empty() || f.len() > 4 || !f.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let v = u16::from_str_radix(std::str::from_utf8(f).ok()?, 16).ok()?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        Some(out)
    };
    let h = groups(head, !gap)?;
    let t = groups(tail, true)?;
    let mut out = [0u8; 16];
    if gap {
        if h.len() + t.len() > 14 {
            return None;
        }
        out[..h.len()].copy_from_slice(&h);
        out[16 - t.len()..].copy_from_slice(&t);
    } else {
        if h.len() != 16 {
            return None;
        }
        out.copy_from_slice(&h);
    }
    Some(out)
}

/// A name in the reference model.
#[derive(Clone, Debug)]
pub enum RefSan {
    /// dNSName bytes.
    Dns(Vec<u8>),
    /// iPAddress octets.
    Ip(Vec<u8>),
}

fn ref_name_match(name: &[u8], host: &[u8]) -> Result<bool, String> {
    if name.contains(&0) {
        return Err("SSL certificate's name contains embedded null".to_owned());
    }
    if name.eq_ignore_ascii_case(host) {
        return Ok(true);
    }
    // Wildcard: "*." + rest, host = <what '*' covers> + "." + rest, where the part
    // '*' covers is non-empty and holds no '.' except as its last byte. That last
    // exception is libpq's own (`strchr(string, '.') < string + lenstr - lenpat` stops
    // one byte short), so `*.example.com` covers `a..example.com`; psql agrees
    // (testdata/verify gen.sh case san-wildcard). The model first said "no '.' at all",
    // and the long hostname run found the difference (fuzz/regressions/hostname).
    if name.len() >= 3 && name.starts_with(b"*.") && host.len() >= name.len() {
        let suffix = &name[1..];
        let cut = host.len() - suffix.len();
        let (label, tail) = host.split_at(cut);
        let inner = label.split_last().map_or(&[][..], |(_, rest)| rest);
        if tail.eq_ignore_ascii_case(suffix) && !label.is_empty() && !inner.contains(&b'.') {
            return Ok(true);
        }
    }
    Ok(false)
}

/// libpq's verify-full decision: `Ok(name that matched)` or `Err(message)`;
/// `printable` is false when the message names an IPv6 SAN (rendered by
/// pg_inet_net_ntop, which the model does not reimplement).
pub fn reference_host_check(
    version: PgVersion,
    host: &[u8],
    sans: &[RefSan],
    cn: Option<&[u8]>,
) -> (Result<Vec<u8>, String>, bool) {
    if host.is_empty() {
        return (
            Err("host name must be specified for a verified SSL connection".into()),
            true,
        );
    }
    let modern = version >= PgVersion::V15;
    let host_is_ip = modern && (ref_inet_aton(host).is_some() || ref_pton6(host).is_some());
    let mut examined: Vec<(Vec<u8>, bool)> = Vec::new(); // (name text, printable)
    let mut dns_seen = false;
    let mut same_type_seen = false;
    for san in sans {
        match san {
            RefSan::Dns(n) => {
                dns_seen = true;
                if !host_is_ip {
                    same_type_seen = true;
                }
                examined.push((n.clone(), true));
                match ref_name_match(n, host) {
                    Ok(true) => return (Ok(n.clone()), true),
                    Ok(false) => {}
                    Err(e) => return (Err(e), true),
                }
            }
            RefSan::Ip(ip) => {
                if !modern {
                    continue;
                }
                if host_is_ip {
                    same_type_seen = true;
                }
                let (text, printable, hit) = match ip.len() {
                    4 => (
                        Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])
                            .to_string()
                            .into_bytes(),
                        true,
                        ref_inet_aton(host).is_some_and(|a| a[..] == ip[..]),
                    ),
                    16 => (
                        Vec::new(),
                        false,
                        ref_pton6(host).is_some_and(|a| a[..] == ip[..]),
                    ),
                    n => {
                        return (
                            Err(format!(
                                "certificate contains IP address with invalid length {n}"
                            )),
                            true,
                        );
                    }
                };
                examined.push((text.clone(), printable));
                if hit {
                    return (Ok(text), printable);
                }
            }
        }
    }
    let use_cn = if modern { !same_type_seen } else { !dns_seen };
    if use_cn && let Some(cn) = cn {
        examined.push((cn.to_vec(), true));
        match ref_name_match(cn, host) {
            Ok(true) => return (Ok(cn.to_vec()), true),
            Ok(false) => {}
            Err(e) => return (Err(e), true),
        }
    }
    let host_text = String::from_utf8_lossy(host);
    let Some((first, printable)) = examined.first() else {
        return (
            Err("could not get server's host name from server certificate".into()),
            true,
        );
    };
    let first = String::from_utf8_lossy(first);
    let msg = match examined.len() - 1 {
        0 => format!("server certificate for \"{first}\" does not match host name \"{host_text}\""),
        1 => format!(
            "server certificate for \"{first}\" (and 1 other name) does not match host name \"{host_text}\""
        ),
        n => format!(
            "server certificate for \"{first}\" (and {n} other names) does not match host name \"{host_text}\""
        ),
    };
    (Err(msg), *printable)
}

const HOST_CHARS: &[u8] = b"aAbB01x.-*: \t7fF";
const NAME_CHARS: &[u8] = b"aAbB01x.-*\x007";

/// Structured: a certificate with fuzzer-chosen dNSName / iPAddress SANs and CNs,
/// issued by the fixture CA, checked under `verify-full` for a fuzzer-chosen host and
/// version: pgtls-verify's decision and message must equal the reference model's.
pub fn hostname(data: &[u8]) {
    let mut r = Reader::new(data);
    let version = r.pick(VERSIONS);
    let host = r.string_from(HOST_CHARS, 24);
    let mut sans = Vec::new();
    let mut model = Vec::new();
    for _ in 0..r.below(4) {
        match r.below(4) {
            0 | 1 => {
                let n = r.string_from(NAME_CHARS, 20);
                model.push(RefSan::Dns(n.clone().into_bytes()));
                sans.push(SubjectAltName::Dns(n));
            }
            2 => {
                let a = Ipv4Addr::new(r.pick(&[127, 10, 1]), r.u8() % 2, 0, r.u8() % 3);
                model.push(RefSan::Ip(a.octets().to_vec()));
                sans.push(SubjectAltName::Ip(IpAddr::V4(a)));
            }
            _ => {
                let a = Ipv6Addr::new(
                    0,
                    0,
                    0,
                    0,
                    0,
                    u16::from(r.bool()) * 0xffff,
                    0,
                    u16::from(r.u8() % 3),
                );
                model.push(RefSan::Ip(a.octets().to_vec()));
                sans.push(SubjectAltName::Ip(IpAddr::V6(a)));
            }
        }
    }
    let mut subject = DistinguishedName::empty();
    let mut cns: Vec<String> = Vec::new();
    for _ in 0..r.below(3) {
        let cn = r.string_from(NAME_CHARS, 20);
        if subject.push("CN", &cn).is_ok() {
            cns.push(cn);
        }
    }
    if host.is_empty() || host.starts_with('/') {
        return; // no host, or a Unix-socket directory: no TLS at all
    }
    let f = fixture();
    let mut params = CertificateParams::server(
        &[SubjectAltName::Dns("x.example.test".to_owned())],
        None,
        Validity::days_from(now(), 30),
    )
    .expect("server params");
    params.subject = subject;
    params.subject_alt_names = sans;
    params.usage = Usage::Server;
    let Ok(cert) = f.ca.issue(&params, &f.leaf_key.public_key(), now()) else {
        return;
    };
    let mut p = Params::default();
    p.set("sslmode", "verify-full".to_owned());
    p.set("host", host.clone());
    p.set("sslrootcert", f.root.display().to_string());
    let v = verify_server(
        &p,
        &Env::empty(),
        version,
        &[pgtls_verify::CertificateDer::from(cert.der().to_vec())],
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(NOW).unwrap_or(0),
        )),
    )
    .expect("verify_server on an issued certificate");
    let chain_ok = v
        .checks
        .iter()
        .any(|c| c.name == "chain" && c.passed == Some(true));
    if !chain_ok {
        return; // rejected before the name check (e.g. an empty subject without SAN)
    }
    let (want, printable) = reference_host_check(
        version,
        host.as_bytes(),
        &model,
        cns.first().map(String::as_bytes),
    );
    match (&want, v.accepted()) {
        (Ok(_), true) => {}
        (Err(msg), false) => {
            if printable {
                assert_eq!(
                    v.message(),
                    Some(msg.as_str()),
                    "message differs: host {host:?}, SANs {model:?}, CNs {cns:?}, PG {version}"
                );
            }
        }
        _ => panic!(
            "verify-full disagrees with the model: pgtls accept={} ({:?}), model {want:?}; host {host:?}, SANs {model:?}, CNs {cns:?}, PG {version}",
            v.accepted(),
            v.message()
        ),
    }
}

/// `at` (seconds since the epoch) as pgtls-verify's time.
fn unix(at: i64) -> pgtls_verify::UnixTime {
    pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(at).unwrap_or(0),
    ))
}

/// Splits fuzzer bytes into a chain: PEM text, or 2-byte-length-prefixed DER blobs.
fn split_chain(data: &[u8]) -> Vec<Vec<u8>> {
    if data.windows(11).any(|w| w == b"-----BEGIN ") {
        return pgtls_verify::read_chain_pem(data)
            .map(|c| c.iter().map(|d| d.to_vec()).collect())
            .unwrap_or_default();
    }
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && out.len() < 4 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        out.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    out
}

const MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Arbitrary chains (PEM or DER) under every sslmode. The root file is the fixture's
/// (optionally with its CRL as `sslcrl`), or fuzzer bytes (flag 8), or the fixture's
/// root followed by fuzzer bytes (flag 16); the time is NOW or (flag 32) just after
/// the leaf's notBefore. Properties:
/// - `disable` never uses TLS;
/// - with a root file present, `allow`, `prefer` and `require` decide exactly as
///   `verify-ca` (libpq verifies whenever the root file exists);
/// - `verify-full` accepts only what `verify-ca` accepts;
/// - unparsable input is an error in every TLS mode or in none;
/// - a root file that does not load refuses every TLS mode with the same message;
/// - the rustls verifier ([`LibpqVerifier`]) decides as `verify_server` in every mode;
/// - with flag 64, handshake signatures over the leaf hold the properties of
///   [`handshake_signatures`].
pub fn chain_verify(data: &[u8]) {
    let mut r = Reader::new(data);
    let flags = r.u8();
    let version = r.pick(VERSIONS);
    let host = r.pick(&["db.example.test", "127.0.0.1", "other.test", "::1"]);
    let f = fixture();
    let root = if flags & 24 == 0 {
        f.root.clone()
    } else {
        let mut text = if flags & 16 == 16 {
            std::fs::read(&f.root).expect("fixture root")
        } else {
            Vec::new()
        };
        text.extend_from_slice(r.long_bytes());
        let path = f.dir.join("fuzz-root.crt");
        std::fs::write(&path, &text).expect("scratch root file");
        path
    };
    let mut chain = split_chain(r.rest());
    if flags & 2 == 2 {
        // A leaf the fixture CA really issued (revoked by the CRL when bit 2 is set)
        // in front of whatever the fuzzer sent, so the accepting paths are reached.
        let mut params = CertificateParams::server(
            &[
                SubjectAltName::Dns("db.example.test".to_owned()),
                SubjectAltName::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ],
            None,
            Validity::days_from(now(), 30),
        )
        .expect("server params");
        if flags & 4 == 4 {
            params.serial = Some(super::core::revoked_serial());
        }
        let leaf =
            f.ca.issue(&params, &f.leaf_key.public_key(), now())
                .expect("fixture leaf");
        chain.insert(0, leaf.der().to_vec());
    }
    if chain.is_empty() {
        return;
    }
    // Flag 32: verify at the leaf's notBefore + 60 s instead of NOW, so chains made at
    // any date (the seeds from gen.sh) reach the accepting paths.
    let at = if flags & 32 == 32 {
        pgtls_core::Certificate::from_der(&chain[0], "leaf")
            .map_or(NOW, |c| c.not_before().unix_timestamp().saturating_add(60))
    } else {
        NOW
    };
    if flags & 64 == 64 {
        // The leaf's handshake signature: only the fixture leaf key's certificate
        // takes that key's signatures (the key is made at run time, so no input
        // carries it but the leaf of flag 2).
        let junk = &data[..data.len().min(72)];
        handshake_signatures(&chain[0], &f.leaf_key, data, junk);
    }
    let mut results: Vec<(&str, Result<Verdict, String>)> = Vec::new();
    for mode in MODES {
        let mut p = Params::default();
        p.set("sslmode", (*mode).to_owned());
        p.set("host", host.to_owned());
        p.set("sslrootcert", root.display().to_string());
        if flags & 1 == 1 {
            p.set("sslcrl", f.crl.display().to_string());
        }
        let ders: Vec<pgtls_verify::CertificateDer<'_>> =
            chain.iter().map(|c| c.as_slice().into()).collect();
        let v =
            verify_server(&p, &Env::empty(), version, &ders, unix(at)).map_err(|e| e.to_string());
        rustls_agrees(&p, version, &chain, at, &v, mode);
        results.push((mode, v));
    }
    let get = |m: &str| &results.iter().find(|(k, _)| *k == m).expect("mode").1;
    match get("disable") {
        Ok(v) => assert!(!v.accepted() && !v.tls, "disable used TLS"),
        Err(e) => panic!("disable must not look at the chain: {e}"),
    }
    let errs: Vec<bool> = MODES[1..].iter().map(|m| get(m).is_err()).collect();
    assert!(
        errs.iter().all(|e| *e == errs[0]),
        "parse errors differ between modes: {errs:?}"
    );
    let accept = |m: &str| get(m).as_ref().is_ok_and(|v| v.accepted());
    let unloadable = |m: &str| {
        get(m)
            .as_ref()
            .ok()
            .and_then(|v| v.message().map(str::to_owned))
            .filter(|s| s.starts_with("could not read root certificate file"))
    };
    let refusals: Vec<Option<String>> = MODES[1..].iter().map(|m| unloadable(m)).collect();
    assert!(
        refusals.iter().all(|x| *x == refusals[0]),
        "an unloadable root file is refused differently between modes: {refusals:?}"
    );
    for m in ["allow", "prefer", "require"] {
        assert_eq!(
            accept(m),
            accept("verify-ca"),
            "{m} and verify-ca differ with a root file: {:?} vs {:?}",
            get(m),
            get("verify-ca")
        );
    }
    if accept("verify-full") {
        assert!(
            accept("verify-ca"),
            "verify-full accepted what verify-ca rejects"
        );
    }
    for m in ["verify-ca", "verify-full"] {
        if let Ok(v) = get(m) {
            assert!(
                !v.plaintext_fallback,
                "{m} must never fall back to plaintext"
            );
            if !v.accepted() {
                assert!(
                    v.message().is_some_and(|s| !s.is_empty()),
                    "{m}: refusal without message"
                );
            }
        }
    }
}

/// The rustls verifier built from the same parameters decides as `verify_server`:
/// it refuses to exist exactly when `verify_server` refuses before looking at the
/// chain (with the same message), fails on exactly the chains `verify_server` cannot
/// parse, and otherwise accepts exactly what `verify_server` accepts, carrying
/// libpq's message when it refuses.
fn rustls_agrees(
    p: &Params,
    version: PgVersion,
    chain: &[Vec<u8>],
    at: i64,
    want: &Result<Verdict, String>,
    mode: &str,
) {
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    let verifier = match LibpqVerifier::new(p, &Env::empty(), version) {
        Ok(v) => v,
        Err(refusal) => {
            let v = want.as_ref().unwrap_or_else(|e| {
                panic!("{mode}: no verifier ({refusal:?}) but verify_server failed: {e}")
            });
            assert!(
                !v.accepted() && v.message() == Some(refusal.message.as_str()),
                "{mode}: the verifier is refused with {:?}, verify_server says {v:?}",
                refusal.message
            );
            return;
        }
    };
    let Some((leaf, rest)) = chain.split_first() else {
        return;
    };
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    // The verifier checks the host rustls names (issue 15): name the configured host.
    let host = p.host.clone().unwrap_or_default();
    let name = match ServerName::try_from(host.clone()) {
        Ok(n) if !host.contains(',') => n,
        _ => {
            // Not nameable as one host: under verify-full the verifier refuses any other
            // name (here db.example.test) unless the host list holds it.
            if mode == "verify-full" {
                let other = ServerName::try_from("db.example.test").expect("server name");
                // (An empty host is no host: the verifier then checks the ServerName.)
                let listed = host.is_empty()
                    || host
                        .split(',')
                        .any(|h| h.eq_ignore_ascii_case("db.example.test"));
                let Some((leaf, rest)) = chain.split_first() else {
                    return;
                };
                let inter: Vec<CertificateDer<'_>> = rest
                    .iter()
                    .map(|c| CertificateDer::from(c.as_slice()))
                    .collect();
                let secs = u64::try_from(at).unwrap_or(0);
                let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
                let got = verifier.verify_server_cert(
                    &CertificateDer::from(leaf.as_slice()),
                    &inter,
                    &other,
                    &[],
                    now,
                );
                assert!(
                    listed || got.is_err(),
                    "{mode}: a verifier for {host:?} accepted server name db.example.test"
                );
                return;
            }
            ServerName::try_from("db.example.test").expect("server name")
        }
    };
    let Ok(secs) = u64::try_from(at) else {
        return; // before 1970: rustls has no such time
    };
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let got = verifier.verify_server_cert(
        &CertificateDer::from(leaf.as_slice()),
        &intermediates,
        &name,
        &[],
        now,
    );
    match (want, &got) {
        (Err(_), Err(_)) => {}
        (Ok(v), Ok(_)) if v.accepted() => {}
        (Ok(v), Err(rustls::Error::InvalidCertificate(e))) if !v.accepted() => {
            if let rustls::CertificateError::Other(other) = e {
                let msg = other.0.to_string();
                let libpq = v.message().unwrap_or_default();
                assert!(
                    msg.starts_with(libpq),
                    "{mode}: the verifier says {msg:?}, verify_server {libpq:?}"
                );
            }
        }
        _ => panic!("{mode}: verify_server says {want:?}, the rustls verifier {got:?}"),
    }
}

/// Every signature scheme a peer may claim here, advertised by the verifier or not.
const CLAIMS: &[rustls::SignatureScheme] = &[
    rustls::SignatureScheme::RSA_PKCS1_SHA1,
    rustls::SignatureScheme::ECDSA_SHA1_Legacy,
    rustls::SignatureScheme::RSA_PKCS1_SHA256,
    rustls::SignatureScheme::RSA_PKCS1_SHA384,
    rustls::SignatureScheme::RSA_PKCS1_SHA512,
    rustls::SignatureScheme::RSA_PSS_SHA256,
    rustls::SignatureScheme::RSA_PSS_SHA384,
    rustls::SignatureScheme::RSA_PSS_SHA512,
    rustls::SignatureScheme::ECDSA_NISTP256_SHA256,
    rustls::SignatureScheme::ECDSA_NISTP384_SHA384,
    rustls::SignatureScheme::ECDSA_NISTP521_SHA512,
    rustls::SignatureScheme::ED25519,
    rustls::SignatureScheme::ED448,
];

/// Handshake signatures (CertificateVerify in TLS 1.3, ServerKeyExchange in 1.2)
/// through the rustls verifier, for the certificate `leaf` and a signature over
/// `message` that `key` makes under each scheme it can (`junk` as the signature
/// under the others). Properties:
/// - a signature is accepted only when `key` made it and `leaf` carries `key`'s
///   SubjectPublicKeyInfo byte for byte (no other key's certificate, whatever its
///   bytes, takes it), and never over a changed message;
/// - when `leaf`'s key is `key`, `key`'s signature is accepted under its scheme in
///   TLS 1.2, and in TLS 1.3 unless the scheme is PKCS#1 v1.5;
/// - wherever webpki parses `leaf`, the verdict is rustls' own.
pub(crate) fn handshake_signatures(
    leaf: &[u8],
    key: &pgtls_core::KeyPair,
    message: &[u8],
    junk: &[u8],
) {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::internal::msgs::codec::Codec;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut p = Params::default();
    p.set("sslmode", "require".to_owned());
    let verifier = LibpqVerifier::new(&p, &Env::empty(), PgVersion::V15).expect("require verifier");
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let algs = provider.signature_verification_algorithms;
    let signing = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.to_pkcs8_der().to_vec(),
        )))
        .expect("rustls loads a pgtls key");
    // Accepting needs the key's SPKI bytes somewhere in the leaf (weak, but it
    // needs no parser); the key's own signature must be accepted when the leaf's
    // parsed key is the key (libFuzzer can copy the SPKI bytes it sees compared
    // here into other places of a certificate).
    let spki = key.public_key().spki_der().to_vec();
    let carries_key = leaf.windows(spki.len()).any(|w| w == spki.as_slice());
    let is_keys_cert = pgtls_core::Certificate::from_der(leaf, "leaf")
        .is_ok_and(|c| c.public_key() == &key.public_key());
    let cert = CertificateDer::from(leaf);
    let webpki_parses = webpki::EndEntityCert::try_from(&cert).is_ok();
    let mut changed = message.to_vec();
    match changed.last_mut() {
        Some(b) => *b ^= 1,
        None => changed.push(0),
    }
    let dss = |scheme: rustls::SignatureScheme, sig: &[u8]| {
        // As a peer sends it: scheme, u16 length, signature.
        let mut wire = Vec::new();
        scheme.encode(&mut wire);
        let sig = &sig[..sig.len().min(usize::from(u16::MAX))];
        wire.extend_from_slice(&u16::try_from(sig.len()).unwrap_or(0).to_be_bytes());
        wire.extend_from_slice(sig);
        rustls::DigitallySignedStruct::read_bytes(&wire).expect("DigitallySignedStruct")
    };
    for &claim in CLAIMS {
        let made = signing
            .choose_scheme(&[claim])
            .map(|s| s.sign(message).expect("signing"));
        let sig = made.clone().unwrap_or_else(|| junk.to_vec());
        let d = dss(claim, &sig);
        for tls13 in [false, true] {
            let ours = |m: &[u8]| {
                if tls13 {
                    verifier.verify_tls13_signature(m, &cert, &d).is_ok()
                } else {
                    verifier.verify_tls12_signature(m, &cert, &d).is_ok()
                }
            };
            let theirs = |m: &[u8]| {
                if tls13 {
                    rustls::crypto::verify_tls13_signature(m, &cert, &d, &algs).is_ok()
                } else {
                    rustls::crypto::verify_tls12_signature(m, &cert, &d, &algs).is_ok()
                }
            };
            let what = format!("{claim:?}, TLS 1.{}", if tls13 { 3 } else { 2 });
            let got = ours(message);
            if got {
                assert!(
                    made.is_some() && carries_key,
                    "{what}: accepted a signature the certificate's key did not make"
                );
            }
            assert!(!ours(&changed), "{what}: accepted over a changed message");
            if made.is_some() && is_keys_cert && webpki_parses {
                let pkcs1 = matches!(
                    claim,
                    rustls::SignatureScheme::RSA_PKCS1_SHA256
                        | rustls::SignatureScheme::RSA_PKCS1_SHA384
                        | rustls::SignatureScheme::RSA_PKCS1_SHA512
                );
                assert_eq!(got, !(tls13 && pkcs1), "{what}: the key's own signature");
            }
            if webpki_parses {
                assert_eq!(got, theirs(message), "{what}: rustls' own check differs");
            }
        }
    }
}
