//! `decide_client` never claims an acceptance it cannot prove: a pg_ident.conf
//! regex whose capture group 1 PostgreSQL (leftmost-longest, Spencer ARE) and
//! the `regex` crate (leftmost-first) fill differently is undecided, not
//! accepted; the lines pgtls can decide exactly are decided, and a CN that is
//! not UTF-8 never matches its lossy form.
//!
//! Every row runs against a real server of every version 12 to 18
//! (`PGTLS_PG_VERSIONS`; all rows on 15, a sample elsewhere unless
//! `PGTLS_PG_MATRIX=full`), one cluster per version in parallel: psql (libpq
//! 14 for 12 and 13) connects with the row's client certificate as the row's
//! user, through a `cert map=` line of its own (the line picks the row by
//! database; a connection the server authenticates then fails with `database
//! "dbN" does not exist`, which it checks only after authentication). What
//! pgtls decides must be what the server does: an acceptance is accepted, a
//! refusal refused with pgtls's message; an undecided row may go either way,
//! and where the test knows the server's answer (the premise rows) it is
//! checked too. PostgreSQL's own `regexp_match` shows that the two regex
//! semantics really differ for the pattern on that version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use pgtls_hba::IdentFile;
use pgtls_testkit::{Cluster, openssl, require_openssl};
use pgtls_verify::PgVersion;
use pgtls_verify::server::{ServerTls, decide_client};

/// The ambiguous pattern: PostgreSQL and leftmost-first fill group 1 differently on `abcd`.
const PATTERN: &str = "^(a|ab)(c|bcd)(d*)$";

/// A CN with the Latin-1 byte 0xE9 (T61String), read as UTF-8: `jos\u{FFFD}`.
const LOSSY: &str = "jos\u{FFFD}";

/// The CA `ca`, the server's certificate (`server`) and the clients' (`abcd`,
/// `carol`, and `t61` with a T61String CN `jos\xE9`), all from the openssl CLI:
/// `STEM.crt`, `STEM.key` (0600), `STEM.der`.
fn make_pki(dir: &Path) {
    require_openssl().unwrap();
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
    fs::write(
        dir.join("t61.cnf"),
        b"[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = default\n[dn]\nCN = jos\xe9\n",
    )
    .unwrap();
    for (stem, subject) in [
        ("server", &["-subj", "/CN=localhost"][..]),
        ("abcd", &["-subj", "/CN=abcd"][..]),
        ("carol", &["-subj", "/CN=carol"][..]),
        ("t61", &["-config", "t61.cnf"][..]),
    ] {
        let (key, csr, crt, der) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.crt"),
            format!("{stem}.der"),
        );
        let mut a: Vec<&str> = vec!["req", "-new"];
        a.extend(ec);
        a.extend(["-keyout", &key, "-out", &csr]);
        a.extend(subject);
        openssl(dir, &a).unwrap();
        fs::set_permissions(dir.join(&key), fs::Permissions::from_mode(0o600)).unwrap();
        openssl(
            dir,
            &[
                "x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-out", &crt,
                "-days", "2",
            ],
        )
        .unwrap();
        openssl(dir, &["x509", "-in", &crt, "-outform", "DER", "-out", &der]).unwrap();
    }
}

/// What pgtls must decide for a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Accept,
    Reject,
    Undecided,
}

/// One connection: the client certificate `cert`, the user, the map's lines
/// (`None`: a `cert` line without `map=`), what pgtls must decide, and for an
/// undecided row the server's answer when it is known.
struct Row {
    cert: &'static str,
    user: String,
    map: Option<String>,
    want: Want,
    server: Option<bool>,
    /// Run on every version (not only in the full matrix).
    always: bool,
}

fn row(cert: &'static str, user: &str, map: Option<&str>, want: Want) -> Row {
    Row {
        cert,
        user: user.to_owned(),
        map: map.map(str::to_owned),
        want,
        server: None,
        always: false,
    }
}

/// The rows, given group 1 of [`PATTERN`] on `abcd` under leftmost-first
/// (`rust`) and under the server's regex engine (`server`: only a user name,
/// never a map line, depends on it).
fn rows(rust: &str, server: &str) -> Vec<Row> {
    use Want::{Accept, Reject, Undecided};
    let amb = format!("/{PATTERN} \\1");
    let mut v = vec![
        // Leftmost-first would allow `rust`, which the server refuses: a false
        // accept. Neither user may be claimed either way.
        Row {
            server: Some(false),
            always: true,
            ..row("abcd", rust, Some(&amb), Undecided)
        },
        Row {
            server: Some(true),
            always: true,
            ..row("abcd", server, Some(&amb), Undecided)
        },
        // A later literal line: the undecidable line comes first, pgtls stays
        // undecided (the server goes on to the literal line and accepts).
        Row {
            server: Some(true),
            always: true,
            ..row(
                "abcd",
                rust,
                Some(&format!("{amb}\nabcd {rust}")),
                Undecided,
            )
        },
        // An earlier line that allows decides before the undecidable one.
        Row {
            always: true,
            ..row("abcd", rust, Some(&format!("abcd {rust}\n{amb}")), Accept)
        },
        // ^(...)$: group 1 is the whole subject under any semantics.
        row("carol", "carol", Some("/^(alice|carol)$ \\1"), Accept),
        row("carol", "alice", Some("/^(alice|carol)$ \\1"), Reject),
        row("carol", "xcarol", Some("/^(alice|carol)$ x\\1"), Accept),
        // No match at all: the line is skipped, a later line decides.
        row("carol", "bob", Some(&format!("{amb}\ncarol bob")), Accept),
        row("carol", "carol", Some(&format!("{amb}\ncarol bob")), Reject),
        // Without \1 only whether a match exists matters (pgtls-hba decides).
        row("carol", "bob", Some("/^(c|ca)(rol|arol)$ bob"), Accept),
        // A group that does not span the whole match stays undecided.
        row("carol", "c", Some("/^(c|ca)(rol|arol)$ \\1"), Undecided),
        // A pattern pgtls cannot run at all (a back-reference) is undecided.
        row("carol", "carol", Some("/^(c)\\1?arol$ carol"), Undecided),
        // A T61String CN with the byte 0xE9: the server compares those bytes
        // with the user name (UTF-8 here), so no user and no literal map
        // entry read from UTF-8 text matches, not even the CN's lossy form.
        row("t61", LOSSY, None, Reject),
        row("t61", "carol", Some("josé carol"), Reject),
        row("t61", "carol", Some(&format!("{LOSSY} carol")), Undecided),
        row("t61", "carol", Some("/^jos.$ carol"), Undecided),
    ];
    for r in &mut v {
        // Every map line gets the map's name.
        r.map = r
            .map
            .take()
            .map(|m| m.lines().map(|l| format!("MAP {l}\n")).collect());
    }
    v
}

/// What one version did: its rows, how many were undecided, and the failures.
struct Summary {
    version: u32,
    rows: usize,
    undecided: usize,
    failures: Vec<String>,
    secs: f64,
}

fn run_version(version: u32, pki: &Path) -> Summary {
    let started = Instant::now();
    let full = pgtls_testkit::full_matrix(version).unwrap();
    let pgv = PgVersion::new(version).unwrap();
    let c = Cluster::builder().version(version).init().unwrap();
    c.copy_files(pki, &["server.crt", "ca.crt"], 0o644).unwrap();
    c.copy_files(pki, &["server.key"], 0o600).unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n")
        .unwrap();
    let rust_group = regex::Regex::new(PATTERN)
        .unwrap()
        .captures("abcd")
        .unwrap()
        .get(1)
        .unwrap()
        .as_str()
        .to_owned();
    // The files do not depend on the server's group 1 (only a row's user does),
    // so they are written before the server starts.
    let pick = |rows: Vec<Row>| -> Vec<(usize, Row)> {
        rows.into_iter()
            .enumerate()
            .filter(|(i, r)| full || r.always || i % 2 == 0)
            .collect()
    };
    let mut hba = String::from("local all all trust\n");
    let mut ident = String::new();
    let mut lines = Vec::new();
    for (i, r) in &pick(rows(&rust_group, "")) {
        let line = match &r.map {
            Some(m) => {
                ident.push_str(&m.replace("MAP", &format!("m{i}")));
                format!("hostssl db{i} all 127.0.0.1/32 cert map=m{i}")
            }
            None => format!("hostssl db{i} all 127.0.0.1/32 cert"),
        };
        hba.push_str(&line);
        hba.push('\n');
        lines.push(line);
    }
    c.write_hba(&hba).unwrap();
    c.write_ident(&ident).unwrap();
    let c = c.start_initialized().unwrap();
    let log = c.log();
    assert!(
        !log.contains("invalid"),
        "PostgreSQL {version} did not load the rows' files:\n{log}\n{hba}\n{ident}"
    );
    // The premise: the server's own regex engine fills group 1 otherwise.
    let server_group = c
        .sql(&format!("select (regexp_match('abcd', '{PATTERN}'))[1]"))
        .unwrap()
        .trim()
        .to_owned();
    let mut failures = Vec::new();
    if server_group == rust_group {
        failures.push(format!(
            "PostgreSQL {version}: the premise fails: regexp_match gives group 1 {server_group:?}, as leftmost-first does"
        ));
    }
    let rows = pick(rows(&rust_group, &server_group));
    let users: BTreeSet<&str> = rows.iter().map(|(_, r)| r.user.as_str()).collect();
    let sql: String = users
        .iter()
        .map(|u| format!("create role \"{u}\" login;"))
        .collect();
    c.sql(&sql).unwrap();

    let tls = ServerTls::new(pki.join("ca.crt"), pgv);
    let now = pgtls_verify::UnixTime::now();
    let mut undecided = 0;
    for ((i, r), line) in rows.iter().zip(&lines) {
        let chain = [fs::read(pki.join(format!("{}.der", r.cert)))
            .unwrap()
            .into()];
        let map = r
            .map
            .as_ref()
            .map(|m| IdentFile::parse_str(&m.replace("MAP", &format!("m{i}")), pgv));
        let d = decide_client(&tls, line, map.as_ref(), &r.user, Some(&chain), now).unwrap();
        let got = if d.accepted() {
            Want::Accept
        } else if d.undecided().is_some() {
            Want::Undecided
        } else {
            Want::Reject
        };
        let conninfo = format!(
            "host=127.0.0.1 port={} user={} dbname=db{i} sslmode=verify-ca sslrootcert={p}/ca.crt \
             sslcert={p}/{c}.crt sslkey={p}/{c}.key",
            c.port(),
            quote(&r.user),
            p = pki.display(),
            c = r.cert
        );
        let o = c
            .psql(&["-X", "-At", "-c", "select 1"], &conninfo, &[])
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let accepted = err.contains(&format!("database \"db{i}\" does not exist"));
        let what = format!(
            "PostgreSQL {version} row {i} ({} as {:?}, {line}, map {:?})",
            r.cert, r.user, r.map
        );
        if o.status.success() || (!accepted && !err.contains("FATAL")) {
            failures.push(format!(
                "{what}: psql did not say what the server decided: {err}"
            ));
            continue;
        }
        if got != r.want {
            failures.push(format!(
                "{what}: pgtls {got:?}, the test wants {:?}: {d:?}",
                r.want
            ));
        }
        match got {
            Want::Accept if !accepted => {
                failures.push(format!("{what}: pgtls accepts, the server refuses: {err}"));
            }
            Want::Reject if accepted => {
                failures.push(format!(
                    "{what}: pgtls refuses ({:?}), the server accepts",
                    d.message()
                ));
            }
            Want::Reject if !err.contains(d.message().unwrap_or("(none)")) => {
                failures.push(format!(
                    "{what}: the server says {err:?}, pgtls {:?}",
                    d.message()
                ));
            }
            Want::Undecided => {
                undecided += 1;
                if r.server.is_some_and(|s| s != accepted) {
                    failures.push(format!(
                        "{what}: the server {} (the test expected otherwise): {err}",
                        if accepted { "accepts" } else { "refuses" }
                    ));
                }
                println!(
                    "  PostgreSQL {version} row {i}: undecided, the server {}",
                    if accepted { "accepts" } else { "refuses" }
                );
            }
            _ => {}
        }
    }
    Summary {
        version,
        rows: rows.len(),
        undecided,
        failures,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// A conninfo value in single quotes.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[test]
fn ident_decisions_agree_with_every_server_version() {
    let started = Instant::now();
    let versions = pgtls_testkit::pg_versions().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    make_pki(tmp.path());
    let pki = tmp.path();
    let results: Vec<Summary> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| s.spawn(move || run_version(v, pki)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for r in &results {
        println!(
            "PostgreSQL {}: {} rows ({} undecided), {} differ; {:.1} s",
            r.version,
            r.rows,
            r.undecided,
            r.failures.len(),
            r.secs
        );
        if r.rows == 0 {
            failures.push(format!("PostgreSQL {}: the suite ran no rows", r.version));
        }
        failures.extend(r.failures.iter().cloned());
    }
    println!(
        "{} rows on {versions:?} in {:.1} s",
        results.iter().map(|r| r.rows).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(results.len(), versions.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
