//! `decide_client` never claims an acceptance it cannot prove: a pg_ident.conf
//! regex whose capture group 1 PostgreSQL (leftmost-longest, Spencer ARE) and
//! the `regex` crate (leftmost-first) fill differently is undecided, not
//! accepted. PostgreSQL's own `regexp_match` (the engine `check_ident_usermap`
//! uses) is the oracle showing the two semantics really differ for the
//! pattern; the lines pgtls can still decide exactly are checked too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pgtls_hba::IdentFile;
use pgtls_testkit::{Cluster, openssl};
use pgtls_verify::PgVersion;
use pgtls_verify::server::{ServerTls, decide_client};

/// A P-256 CA and a client certificate whose request takes `subject_args`
/// (`-subj /CN=x`, or `-config FILE`), as DER; returns the CA path too.
fn client_cert(
    dir: &Path,
    subject_args: &[&str],
) -> (std::path::PathBuf, pgtls_verify::CertificateDer<'static>) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a: Vec<&str> = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=ca", "-days", "2",
    ]);
    openssl(dir, &a).unwrap();
    let mut a: Vec<&str> = vec!["req"];
    a.extend(ec);
    a.extend(["-keyout", "c.key", "-out", "c.csr"]);
    a.extend(subject_args);
    openssl(dir, &a).unwrap();
    openssl(
        dir,
        &[
            "x509", "-req", "-in", "c.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-out", "c.der",
            "-outform", "DER", "-days", "2",
        ],
    )
    .unwrap();
    (
        dir.join("ca.crt"),
        std::fs::read(dir.join("c.der")).unwrap().into(),
    )
}

const HBA: &str = "hostssl all all 127.0.0.1/32 cert map=m";

#[test]
fn ambiguous_capture_group_is_undecided_never_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, leaf) = client_cert(tmp.path(), &["-subj", "/CN=abcd"]);
    let chain = [leaf];
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tls = ServerTls::new(ca, PgVersion::V15);
    let pattern = "^(a|ab)(c|bcd)(d*)$";

    // The oracle: the server's group 1 for this subject.
    let c = Cluster::start("").unwrap();
    let server_group = c
        .sql(&format!("select (regexp_match('abcd', '{pattern}'))[1]"))
        .unwrap()
        .trim()
        .to_owned();
    let rust_group = regex::Regex::new(pattern)
        .unwrap()
        .captures("abcd")
        .unwrap()
        .get(1)
        .unwrap()
        .as_str()
        .to_owned();
    assert_ne!(
        server_group, rust_group,
        "the premise: PostgreSQL and leftmost-first differ on group 1"
    );

    let ident = IdentFile::parse_str(&format!("m /{pattern} \\1\n"), PgVersion::V15);
    // Leftmost-first would allow `rust_group`, which the server refuses: a
    // false accept. Neither user may be claimed either way.
    for user in [&rust_group, &server_group] {
        let d = decide_client(
            &tls,
            HBA,
            Some(&ident),
            user,
            Some(&chain),
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        )
        .unwrap();
        assert!(!d.accepted(), "user {user}: {d:?}");
        assert!(d.undecided().is_some(), "user {user}: {d:?}");
        assert!(d.message().unwrap().contains("pgtls cannot decide"));
    }

    // A later literal line does not help: the undecidable line comes first.
    let ident = IdentFile::parse_str(
        &format!("m /{pattern} \\1\nm abcd {rust_group}\n"),
        PgVersion::V15,
    );
    let d = decide_client(
        &tls,
        HBA,
        Some(&ident),
        &rust_group,
        Some(&chain),
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        )),
    )
    .unwrap();
    assert!(!d.accepted() && d.undecided().is_some(), "{d:?}");

    // An earlier line that allows decides before the undecidable one.
    let ident = IdentFile::parse_str(
        &format!("m abcd {rust_group}\nm /{pattern} \\1\n"),
        PgVersion::V15,
    );
    let d = decide_client(
        &tls,
        HBA,
        Some(&ident),
        &rust_group,
        Some(&chain),
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        )),
    )
    .unwrap();
    assert!(d.accepted() && d.undecided().is_none(), "{d:?}");
}

#[test]
fn exact_cases_of_ambiguous_patterns_are_decided() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, leaf) = client_cert(tmp.path(), &["-subj", "/CN=carol"]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tls = ServerTls::new(ca, PgVersion::V15);
    let chain = [leaf];
    let decide = |ident: &str, user: &str| {
        let f = IdentFile::parse_str(ident, PgVersion::V15);
        decide_client(
            &tls,
            HBA,
            Some(&f),
            user,
            Some(&chain),
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        )
        .unwrap()
    };
    // ^(...)$: group 1 is the whole subject under any semantics.
    let d = decide("m /^(alice|carol)$ \\1\n", "carol");
    assert!(d.accepted() && d.undecided().is_none(), "{d:?}");
    let d = decide("m /^(alice|carol)$ \\1\n", "alice");
    assert!(!d.accepted() && d.undecided().is_none(), "{d:?}");
    let d = decide("m /^(alice|carol)$ x\\1\n", "xcarol");
    assert!(d.accepted(), "{d:?}");
    // No match at all: the line is skipped, a later line decides.
    let d = decide("m /^(a|ab)(c|bcd)(d*)$ \\1\nm carol bob\n", "bob");
    assert!(d.accepted() && d.undecided().is_none(), "{d:?}");
    let d = decide("m /^(a|ab)(c|bcd)(d*)$ \\1\nm carol bob\n", "carol");
    assert!(!d.accepted() && d.undecided().is_none(), "{d:?}");
    // Without \1 only whether a match exists matters (pgtls-hba decides).
    let d = decide("m /^(c|ca)(rol|arol)$ bob\n", "bob");
    assert!(d.accepted() && d.undecided().is_none(), "{d:?}");
    // A group that does not span the whole match stays undecided.
    let d = decide("m /^(c|ca)(rol|arol)$ \\1\n", "c");
    assert!(!d.accepted() && d.undecided().is_some(), "{d:?}");
    // A pattern pgtls cannot run at all (a back-reference) is undecided.
    let d = decide("m /^(c)\\1?arol$ carol\n", "carol");
    assert!(!d.accepted() && d.undecided().is_some(), "{d:?}");
}

/// A T61String CN with the Latin-1 byte 0xE9: the server compares those bytes
/// with the user name (always UTF-8 here), so no user and no literal map entry
/// read from UTF-8 text can match, even one that equals the CN's lossy UTF-8
/// form `jos\u{FFFD}`.
#[test]
fn cn_that_is_not_utf8_never_matches_its_lossy_form() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("t61.cnf"),
        b"[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = default\n[dn]\nCN = jos\xe9\n",
    )
    .unwrap();
    let (ca, leaf) = client_cert(dir, &["-config", "t61.cnf"]);
    let chain = [leaf];
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tls = ServerTls::new(ca, PgVersion::V15);
    let lossy = "jos\u{FFFD}";

    let d = decide_client(
        &tls,
        "hostssl all all all cert",
        None,
        lossy,
        Some(&chain),
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        )),
    )
    .unwrap();
    assert_eq!(d.peer_cn.as_deref(), Some(lossy), "the fixture's CN");
    assert!(!d.accepted() && d.undecided().is_none(), "{d:?}");

    let f = IdentFile::parse_str("m josé carol\nm jos bob\n", PgVersion::V15);
    let d = decide_client(
        &tls,
        HBA,
        Some(&f),
        "carol",
        Some(&chain),
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now).unwrap_or(0),
        )),
    )
    .unwrap();
    assert!(!d.accepted() && d.undecided().is_none(), "{d:?}");

    for ident in [format!("m {lossy} carol\n"), "m /^jos.$ carol\n".to_owned()] {
        let f = IdentFile::parse_str(&ident, PgVersion::V15);
        let d = decide_client(
            &tls,
            HBA,
            Some(&f),
            "carol",
            Some(&chain),
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        )
        .unwrap();
        assert!(!d.accepted() && d.undecided().is_some(), "{ident}: {d:?}");
    }
}
