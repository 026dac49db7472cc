//! Issue 14's smaller `pgtls hba` items: `check` names both ways to give the connection,
//! `--tls` implies the server's `ssl = on` (and contradicts an explicit `--ssl off`),
//! and `hba ident` prints no `(N rows)` footer from psql.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn pgtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_needs_local_or_address() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("pg_hba.conf");
    std::fs::write(&f, "host all all all trust\n").unwrap();
    let f = f.to_str().unwrap();
    let o = pgtls(&["hba", "check", f, "--database", "d", "--user", "u"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--local") && err(&o).contains("--address"),
        "{}",
        err(&o)
    );
    let o = pgtls(&[
        "hba",
        "check",
        f,
        "--database",
        "d",
        "--user",
        "u",
        "--local",
        "--address",
        "::1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}

#[test]
fn check_tls_implies_ssl_on() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("pg_hba.conf");
    std::fs::write(&f, "hostssl all all all trust\nhost all all all reject\n").unwrap();
    let f = f.to_str().unwrap();
    let base = [
        "hba",
        "check",
        f,
        "--database",
        "d",
        "--user",
        "u",
        "--address",
        "10.0.0.1",
    ];
    let run = |extra: &[&str]| pgtls(&[base.as_slice(), extra].concat());
    let v = |o: Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    // TLS: the server must have ssl = on, so the hostssl line matches.
    let j = v(run(&["--tls", "--json"]));
    assert_eq!(j["line"], 1, "{j}");
    let j = v(run(&["--tls", "--ssl", "on", "--json"]));
    assert_eq!(j["line"], 1, "{j}");
    // --tls --ssl off cannot happen (the server answers the SSLRequest with N).
    let o = run(&["--tls", "--ssl", "off"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--ssl off"), "{}", err(&o));
    // Without TLS the default stays PostgreSQL's ssl = off: line 2.
    let j = v(run(&["--json"]));
    assert_eq!(j["line"], 2, "{j}");
}

#[test]
fn table_footer_is_psqls() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("pg_ident.conf");
    std::fs::write(&f, "m a b\n").unwrap();
    let o = pgtls(&["hba", "ident", f.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.ends_with("\n(1 row)\n"), "{out}");
    std::fs::write(&f, "m a b\nm c d\n").unwrap();
    let o = pgtls(&["hba", "ident", f.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.ends_with("\n(2 rows)\n"), "{out}");
}
