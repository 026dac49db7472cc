//! Every renderer of `DistinguishedName` against what OpenSSL prints for the same
//! certificate, on a corpus of tricky subjects: T61String, BMPString, UniversalString,
//! NumericString, VisibleString, multi-valued RDNs, escapes, empty values, control
//! characters, unknown attribute types and non-string values. Also the name hash against
//! `openssl x509 -hash` (the canonical form behind hashed directories and `X509_NAME_cmp`).
//!
//! The subjects are DER written here byte by byte; pgtls-core puts them into self-signed
//! certificates unchanged, and openssl reads those certificates. A second set comes from
//! `openssl req` itself with `string_mask` choosing the string type.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::fs;
use std::path::Path;

use pgtls_core::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair, Validity};
use pgtls_testkit::openssl;
use pgtls_x509::der::{self, tag};

/// The `-nameopt` list that prints what pgtls's `Display` prints.
const DISPLAY_NAMEOPT: &str =
    "esc_2253,esc_ctrl,utf8,dump_nostr,dump_der,sep_comma_plus_space,sname";

fn atv(arcs: &[u64], value_tag: u8, value: &[u8]) -> Vec<u8> {
    der::tlv_parts(
        tag::SEQUENCE,
        &[&der::oid(arcs), &der::tlv(value_tag, value)],
    )
}

fn rdn(members: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = members.to_vec();
    sorted.sort();
    der::tlv(tag::SET, &sorted.concat())
}

fn name(rdns: &[Vec<u8>]) -> Vec<u8> {
    der::tlv(tag::SEQUENCE, &rdns.concat())
}

const CN: &[u64] = &[2, 5, 4, 3];
const O: &[u64] = &[2, 5, 4, 10];
const OU: &[u64] = &[2, 5, 4, 11];
const DC: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 25];

fn bmp(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn ucs4(s: &str) -> Vec<u8> {
    s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()
}

/// (label, subject DER).
fn crafted() -> Vec<(&'static str, Vec<u8>)> {
    let one = |arcs: &[u64], t: u8, v: &[u8]| name(&[rdn(&[atv(arcs, t, v)])]);
    vec![
        ("t61-latin1", one(CN, tag::T61_STRING, b"Caf\xe9 cr\xe8me")),
        ("bmp", one(CN, tag::BMP_STRING, &bmp("\u{17d}ofia ab"))),
        ("bmp-ascii", one(O, tag::BMP_STRING, &bmp("Example Org"))),
        (
            "universal",
            one(CN, tag::UNIVERSAL_STRING, &ucs4("smile \u{1f600}!")),
        ),
        (
            "numeric",
            one(&[2, 5, 4, 5], tag::NUMERIC_STRING, b"123 456"),
        ),
        (
            "ia5",
            one(
                &[1, 2, 840, 113549, 1, 9, 1],
                tag::IA5_STRING,
                b"a@b.example",
            ),
        ),
        (
            "printable-high-byte",
            one(CN, tag::PRINTABLE_STRING, b"caf\xe9"),
        ),
        (
            "utf8-multibyte",
            one(O, tag::UTF8_STRING, "Ärger & Söhne, \u{4e2d}".as_bytes()),
        ),
        ("empty-value", one(CN, tag::UTF8_STRING, b"")),
        (
            "escapes",
            one(CN, tag::UTF8_STRING, b"a,b+c;d<e>f\"g\\h=i/j"),
        ),
        (
            "lead-trail-space",
            one(CN, tag::UTF8_STRING, b" lead and trail "),
        ),
        ("leading-hash", one(CN, tag::UTF8_STRING, b"#hash#")),
        ("control", one(CN, tag::UTF8_STRING, b"a\x01b\tc\x7fd")),
        (
            "unknown-oid",
            one(&[1, 2, 3, 4], tag::UTF8_STRING, b"unknown"),
        ),
        (
            "bit-string-value",
            one(CN, tag::BIT_STRING, b"\x00\x01\x02raw"),
        ),
        (
            "multi-valued",
            name(&[
                rdn(&[atv(DC, tag::IA5_STRING, b"org")]),
                rdn(&[
                    atv(O, tag::UTF8_STRING, b"Org, Inc"),
                    atv(OU, tag::PRINTABLE_STRING, b"Unit"),
                    atv(CN, tag::UTF8_STRING, b"multi"),
                ]),
            ]),
        ),
        (
            "repeated-dc",
            name(&[
                rdn(&[atv(DC, tag::IA5_STRING, b"org")]),
                rdn(&[atv(DC, tag::IA5_STRING, b"Example")]),
                rdn(&[atv(CN, tag::UTF8_STRING, b"  Mixed   CASE  ")]),
            ]),
        ),
        (
            "known-types",
            name(&[
                rdn(&[atv(
                    &[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3],
                    tag::PRINTABLE_STRING,
                    b"DE",
                )]),
                rdn(&[atv(&[2, 5, 4, 97], tag::UTF8_STRING, b"VATDE-123")]),
                rdn(&[atv(
                    &[2, 5, 4, 15],
                    tag::UTF8_STRING,
                    b"Private Organization",
                )]),
                rdn(&[atv(&[2, 5, 4, 13], tag::UTF8_STRING, b"desc")]),
                rdn(&[atv(
                    &[1, 2, 840, 113549, 1, 9, 2],
                    tag::IA5_STRING,
                    b"unstructured",
                )]),
                rdn(&[atv(
                    &[0, 9, 2342, 19200300, 100, 1, 1],
                    tag::UTF8_STRING,
                    b"uid1",
                )]),
                rdn(&[atv(&[2, 5, 4, 65], tag::UTF8_STRING, b"pseudo")]),
                rdn(&[atv(&[2, 5, 4, 42], tag::UTF8_STRING, b"Given")]),
                rdn(&[atv(&[2, 5, 4, 4], tag::UTF8_STRING, b"Surname")]),
                rdn(&[atv(&[2, 5, 4, 12], tag::UTF8_STRING, b"Title")]),
            ]),
        ),
    ]
}

fn self_signed(dir: &Path, label: &str, subject: &DistinguishedName) -> std::path::PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let params = CertificateParams::ca(subject.clone(), Validity::days_from(now, 30), Some(0));
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let ca = Ca::create_root(&params, key).unwrap();
    let path = dir.join(format!("{label}.pem"));
    fs::write(&path, ca.certificate().to_pem()).unwrap();
    path
}

fn openssl_line(dir: &Path, cert: &Path, args: &[&str]) -> String {
    let mut all = vec!["x509", "-noout", "-in"];
    let cert = cert.to_str().unwrap();
    all.push(cert);
    all.extend_from_slice(args);
    let out = openssl(dir, &all).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

/// Compares every renderer for one certificate file; returns the mismatches.
fn compare(dir: &Path, label: &str, cert: &Path, n: &DistinguishedName) -> Vec<String> {
    let mut bad = Vec::new();
    let checks: [(&str, String, Vec<&str>); 4] = [
        (
            "rfc2253",
            n.rfc2253(),
            vec!["-subject", "-nameopt", "RFC2253"],
        ),
        (
            "oneline",
            n.oneline(),
            vec!["-subject", "-nameopt", "oneline"],
        ),
        (
            "to_openssl_oneline",
            n.to_openssl_oneline(),
            vec!["-subject", "-nameopt", "compat"],
        ),
        (
            "display",
            n.to_string(),
            vec!["-subject", "-nameopt", DISPLAY_NAMEOPT],
        ),
    ];
    for (what, ours, args) in checks {
        let theirs = openssl_line(dir, cert, &args);
        let theirs = theirs.strip_prefix("subject=").unwrap_or(&theirs);
        if theirs != ours {
            bad.push(format!(
                "{label} {what}: openssl {theirs:?}, pgtls {ours:?}"
            ));
        }
    }
    let hash = openssl_line(dir, cert, &["-hash"]);
    if hash != format!("{:08x}", n.hash()) {
        bad.push(format!(
            "{label} hash: openssl {hash}, pgtls {:08x}",
            n.hash()
        ));
    }
    bad
}

#[test]
fn renderers_and_hash_match_openssl_on_crafted_subjects() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = Vec::new();
    let corpus = crafted();
    for (label, subject_der) in &corpus {
        let n = DistinguishedName::from_der(subject_der).unwrap_or_else(|e| panic!("{label}: {e}"));
        let cert = self_signed(tmp.path(), label, &n);
        // The certificate carries the subject byte for byte.
        let parsed =
            pgtls_core::Certificate::from_pem_or_der(&fs::read(&cert).unwrap(), label).unwrap();
        assert_eq!(parsed.subject().der(), subject_der.as_slice(), "{label}");
        bad.extend(compare(tmp.path(), label, &cert, &n));
    }
    eprintln!(
        "name renderers: {} crafted subjects x 5 checks",
        corpus.len()
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// A name value of a type OpenSSL's decoder refuses (VisibleString, OCTET STRING,
/// UTCTime) makes the whole certificate unreadable for OpenSSL, so for pgtls too.
#[test]
fn value_types_openssl_refuses_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let n = DistinguishedName::parse_openssl("/CN=Visible Name").unwrap();
    let good = self_signed(tmp.path(), "good", &n);
    let der = pgtls_core::Certificate::from_pem_or_der(&fs::read(&good).unwrap(), "good")
        .unwrap()
        .der()
        .to_vec();
    let needle = [tag::UTF8_STRING, 12];
    let mut rows = 0;
    for bad_tag in [tag::VISIBLE_STRING, tag::OCTET_STRING, tag::UTC_TIME] {
        let mut patched = der.clone();
        let mut hits = 0;
        for i in 0..patched.len() - 1 {
            if patched[i..i + 2] == needle && &patched[i + 2..i + 14] == b"Visible Name" {
                patched[i] = bad_tag;
                hits += 1;
            }
        }
        assert_eq!(hits, 2, "subject and issuer");
        let path = tmp.path().join(format!("bad{bad_tag}.der"));
        fs::write(&path, &patched).unwrap();
        let out = pgtls_testkit::openssl_raw(
            tmp.path(),
            &[
                "x509",
                "-inform",
                "DER",
                "-noout",
                "-subject",
                "-in",
                path.to_str().unwrap(),
            ],
        )
        .unwrap();
        assert!(!out.status.success(), "openssl read tag {bad_tag}");
        assert!(
            pgtls_core::Certificate::from_der(&patched, "patched").is_err(),
            "pgtls read tag {bad_tag}"
        );
        rows += 1;
    }
    assert_eq!(rows, 3);
}

#[test]
fn renderers_and_hash_match_openssl_on_openssl_made_subjects() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // string_mask picks the string type OpenSSL writes: T61String, BMPString,
    // UniversalString, UTF8String, PrintableString.
    let masks = [
        ("t61", "MASK:0x0004"),
        ("bmp", "MASK:0x0800"),
        ("universal", "MASK:0x0100"),
        ("utf8", "utf8only"),
        ("default", "default"),
    ];
    let subj = "/DC=org/DC=example/O=Caf\u{e9} \u{17d}/OU=  Spaced   Unit /CN=db+UID=u1";
    let mut bad = Vec::new();
    let mut rows = 0;
    for (label, mask) in masks {
        let cnf = dir.join(format!("{label}.cnf"));
        fs::write(
            &cnf,
            format!("[req]\ndistinguished_name = dn\nstring_mask = {mask}\n[dn]\n"),
        )
        .unwrap();
        let key = dir.join(format!("{label}.key"));
        let cert = dir.join(format!("{label}.pem"));
        let r = openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-utf8",
                "-multivalue-rdn",
                "-config",
                cnf.to_str().unwrap(),
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
                "-days",
                "1",
                "-subj",
                subj,
            ],
        );
        if let Err(e) = r {
            // A mask that cannot hold these characters is OpenSSL's refusal, not ours.
            assert!(
                label == "t61" && e.contains("string"),
                "openssl req for {label}: {e}"
            );
            continue;
        }
        let c = pgtls_core::Certificate::from_pem_or_der(&fs::read(&cert).unwrap(), label).unwrap();
        bad.extend(compare(dir, label, &cert, c.subject()));
        rows += 1;
    }
    eprintln!("name renderers: {rows} openssl-made subjects x 5 checks");
    assert!(rows >= 4, "only {rows} openssl-made subjects");
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The two renderers the PostgreSQL server has, against a real PostgreSQL 15 with client
/// certificates made by openssl: `rfc2253` is the server's `peer_dn` (a `cert
/// clientname=DN` line whose pg_ident map names exactly pgtls's rendering lets the client
/// in, and nothing else would), and `postgres_cstring` is `ssl_client_dn()` (sslinfo).
#[test]
fn rfc2253_and_postgres_cstring_match_the_server() {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ossl = |args: &[&str]| openssl(d, args).unwrap();
    ossl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "ca.key",
    ]);
    ossl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "ca.key",
        "-subj",
        "/CN=Name Test CA",
        "-days",
        "30",
        "-out",
        "ca.crt",
    ]);
    ossl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "srv.key",
    ]);
    ossl(&[
        "req",
        "-new",
        "-key",
        "srv.key",
        "-subj",
        "/CN=localhost",
        "-out",
        "srv.csr",
    ]);
    ossl(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "2",
        "-days",
        "30",
        "-out",
        "srv.crt",
    ]);
    // (label, string_mask, multivalue, subject). A BMPString or UniversalString CN has
    // NUL bytes, which the server refuses (`SSL certificate's common name contains
    // embedded null`): those subjects carry no CN.
    let subjects: [(&str, &str, bool, &str); 9] = [
        (
            "utf8",
            "utf8only",
            true,
            "/DC=org/O=Caf\u{e9} \u{17d}/OU=  Sp   U /CN=db+UID=u1",
        ),
        (
            "bmp",
            "MASK:0x0800",
            true,
            "/O=Caf\u{e9} \u{17d}/OU=b\u{f6}b+L=x",
        ),
        (
            "universal",
            "MASK:0x0100",
            false,
            "/O=smile \u{1f600}/OU=Org",
        ),
        (
            "escapes",
            "utf8only",
            false,
            "/CN=a,b+c;d<e>f\"g\\\\h=i\\/j/O= lead/OU=#hash",
        ),
        (
            "printable",
            "default",
            false,
            "/C=DE/ST=Berlin/L=Mitte/O=Ex Org/CN=plain",
        ),
        (
            "types1",
            "utf8only",
            false,
            "/emailAddress=a@b.example/serialNumber=123/CN=t1",
        ),
        (
            "types2",
            "utf8only",
            false,
            "/street=Main 1/title=T/GN=G/SN=S/CN=t2",
        ),
        ("types3", "utf8only", false, "/initials=I/pseudonym=P/CN=t3"),
        (
            "long",
            "utf8only",
            false,
            "/O=Long Organisation Name Limited/OU=Engineering Department/CN=long",
        ),
    ];
    let mut ident = String::new();
    let mut clients = Vec::new();
    for (label, mask, multi, subj) in subjects {
        let cnf = d.join(format!("{label}.cnf"));
        fs::write(
            &cnf,
            format!("[req]\ndistinguished_name = dn\nstring_mask = {mask}\n[dn]\n"),
        )
        .unwrap();
        let key = format!("{label}.key");
        let csr = format!("{label}.csr");
        let crt = format!("{label}.crt");
        ossl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ]);
        let mut req = vec![
            "req",
            "-new",
            "-utf8",
            "-config",
            cnf.to_str().unwrap(),
            "-key",
            &key,
        ];
        if multi {
            req.push("-multivalue-rdn");
        }
        req.extend(["-subj", subj, "-out", &csr]);
        ossl(&req);
        ossl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &format!("{}", 10 + clients.len()),
            "-days",
            "30",
            "-out",
            &crt,
        ]);
        let cert = pgtls_core::Certificate::from_pem_or_der(&fs::read(d.join(&crt)).unwrap(), &crt)
            .unwrap();
        let dn = cert.subject().rfc2253();
        ident.push_str(&format!("m \"{}\" postgres\n", dn.replace('"', "\"\"")));
        clients.push((
            label,
            key,
            crt,
            dn,
            cert.subject().postgres_cstring().unwrap(),
        ));
    }
    let read = |n: &str| fs::read(d.join(n)).unwrap();
    let c = pgtls_testkit::Cluster::init().unwrap();
    c.write_file("server.crt", &read("srv.crt"), 0o644).unwrap();
    c.write_file("server.key", &read("srv.key"), 0o600).unwrap();
    c.write_file("root.crt", &read("ca.crt"), 0o644).unwrap();
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'root.crt'\n",
    )
    .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert clientname=DN map=m\n")
        .unwrap();
    c.write_ident(&ident).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql("create extension sslinfo").unwrap();
    let mut bad = Vec::new();
    for (label, key, crt, dn, cstring) in &clients {
        let ci = format!(
            "hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require \
             sslcert={} sslkey={}",
            c.port(),
            d.join(crt).display(),
            d.join(key).display()
        );
        let out = c
            .psql(&["-X", "-Atc", "select ssl_client_dn()"], &ci, &[])
            .unwrap();
        if !out.status.success() {
            bad.push(format!(
                "{label}: the server refused the map for pgtls's RFC 2253 form {dn:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let got = out.stdout.strip_suffix(b"\n").unwrap_or(&out.stdout);
        // The server keeps the first NAMEDATALEN - 1 bytes (`be_tls_get_peer_subject_name`
        // into a char[NAMEDATALEN]).
        let want = &cstring.as_bytes()[..cstring.len().min(63)];
        if got != want {
            let got = String::from_utf8_lossy(got);
            bad.push(format!(
                "{label}: ssl_client_dn() {got:?}, pgtls {cstring:?}"
            ));
        }
    }
    eprintln!(
        "server renderers: {} client certificates x 2 checks",
        clients.len()
    );
    assert_eq!(clients.len(), 9);
    assert!(
        clients.iter().any(|c| c.4.len() > 63),
        "no subject tests the server's truncation"
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
