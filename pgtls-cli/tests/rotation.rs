//! `pgtls rotation check` and `pgtls rotation plan` with chains the openssl CLI made: an
//! old and a new root, a new intermediate cross-signed by the old root, clients of every
//! sslmode and root file, other drivers' models, the clients file's errors and the exit
//! statuses. (Against a real server and real psql: `rotation_live.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod rotation_support;
use rotation_support::{Pki, pgtls, text};

/// The PKI and an empty HOME, made once per test.
fn setup() -> (tempfile::TempDir, Pki) {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    fs::create_dir_all(&pki_dir).unwrap();
    fs::create_dir_all(tmp.path().join("home")).unwrap();
    let pki = Pki::make(&pki_dir);
    (tmp, pki)
}

fn home(tmp: &Path) -> String {
    tmp.join("home").display().to_string()
}

/// Runs `pgtls rotation SUB` with the chains `before.pem` and `after` and the clients
/// file `tmp/clients.tsv`, written with `clients` first (`None`: the file an earlier
/// call wrote), then `extra`, with HOME the test's own and `env`.
fn rotation(
    tmp: &Path,
    pki: &Pki,
    sub: &str,
    clients: Option<&str>,
    after: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let file = tmp.join("clients.tsv");
    if let Some(text) = clients {
        fs::write(&file, text).unwrap();
    }
    let (b, a, f) = (
        pki.p("before.pem"),
        pki.p(after),
        file.display().to_string(),
    );
    let mut args = vec![
        "rotation",
        sub,
        "--chain-before",
        &b,
        "--chain-after",
        &a,
        "--clients",
        &f,
    ];
    args.extend_from_slice(extra);
    let h = home(tmp);
    let mut e = vec![("HOME", h.as_str())];
    e.extend_from_slice(env);
    pgtls(&args, &e)
}

/// Runs `rotation SUB --json` and parses its report.
fn json(
    tmp: &Path,
    pki: &Pki,
    sub: &str,
    clients: &str,
    after: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Value) {
    let mut extra = extra.to_vec();
    extra.push("--json");
    let o = rotation(tmp, pki, sub, Some(clients), after, &extra, env);
    let (out, err) = text(&o);
    let code = o.status.code().unwrap();
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

/// Runs `rotation check --json` (after: `after`), returns (exit, clients by label).
fn check(
    tmp: &Path,
    pki: &Pki,
    clients: &str,
    after: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, BTreeMap<String, Value>, Value) {
    let (code, v) = json(tmp, pki, "check", clients, after, extra, env);
    assert!(code == 0 || code == 1, "exit {code}: {v}");
    (code, by_label(&v), v)
}

/// A pg_hba.conf in `tmp` that admits TLS, and plaintext only for the role `plainok`
/// (line 2).
fn plainok_hba(tmp: &Path) -> PathBuf {
    let hba = tmp.join("pg_hba.conf");
    fs::write(
        &hba,
        "hostssl all all 127.0.0.1/32 trust\n\
         hostnossl all plainok 127.0.0.1/32 trust\n\
         hostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    hba
}

fn outcome(c: &Value, side: &str) -> String {
    let s = &c[side];
    let mut t = s["outcome"].as_str().unwrap().to_owned();
    if s.get("fallback").is_some() {
        t.push('+');
        t.push_str(s["fallback"].as_str().unwrap());
    }
    t
}

#[test]
fn every_outcome_across_a_switch_to_a_new_root() {
    let (tmp, pki) = setup();
    let (old, new, both) = (pki.p("old.crt"), pki.p("new.crt"), pki.p("both.crt"));
    let missing = tmp.path().join("missing.crt").display().to_string();
    let svc = tmp.path().join("services.conf");
    fs::write(
        &svc,
        format!("[oldsvc]\nhost=localhost\nsslmode=verify-full\nsslrootcert={old}\n"),
    )
    .unwrap();
    let clients = format!(
        "# label\tconninfo\n\
         \n\
         full-old\thost=localhost sslmode=verify-full sslrootcert={old}\n\
         full-both\thost=localhost sslmode=verify-full sslrootcert={both}\n\
         full-new\thost=localhost sslmode=verify-full sslrootcert={new}\n\
         full-ip-both\thost=127.0.0.1 sslmode=verify-full sslrootcert={both}\n\
         ca-ip-both\thost=127.0.0.1 sslmode=verify-ca sslrootcert={both}\n\
         require-none\thost=localhost sslmode=require sslrootcert={missing}\n\
         require-old\thost=localhost sslmode=require sslrootcert={old}\n\
         prefer-old\thost=localhost sslmode=prefer sslrootcert={old}\n\
         allow-old\thost=localhost sslmode=allow sslrootcert={old}\n\
         disable\thost=localhost sslmode=disable\n\
         default\thost=localhost\n\
         missing-full\thost=localhost sslmode=verify-full sslrootcert={missing}\n\
         svc\tservice=oldsvc\n\
         nosvc\tservice=nope\n\
         uri-both\tpostgresql://app@localhost/db?sslmode=verify-full&sslrootcert={both}\n"
    );
    let svc_s = svc.display().to_string();
    let (code, by, v) = check(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &[],
        &[
            ("PGSERVICEFILE", &svc_s),
            ("PGSYSCONFDIR", &home(tmp.path())),
        ],
    );
    let want = [
        ("full-old", "verified", "fails", "breaks"),
        ("full-both", "verified", "verified", "unchanged"),
        ("full-new", "fails", "verified", "recovers"),
        ("full-ip-both", "verified", "fails", "breaks"),
        ("ca-ip-both", "verified", "verified", "unchanged"),
        ("require-none", "unverified", "unverified", "unchanged"),
        ("require-old", "verified", "fails", "breaks"),
        ("prefer-old", "verified", "fails+plaintext", "breaks"),
        ("allow-old", "verified", "fails+plaintext", "breaks"),
        ("disable", "fails+plaintext", "fails+plaintext", "unchanged"),
        ("default", "unverified", "unverified", "unchanged"),
        ("missing-full", "fails", "fails", "unchanged"),
        ("svc", "verified", "fails", "breaks"),
        ("nosvc", "fails", "fails", "unchanged"),
        ("uri-both", "verified", "verified", "unchanged"),
    ];
    assert_eq!(by.len(), want.len(), "{v}");
    for (label, b, a, change) in want {
        let c = &by[label];
        assert_eq!(
            (
                outcome(c, "before").as_str(),
                outcome(c, "after").as_str(),
                c["change"].as_str().unwrap()
            ),
            (b, a, change),
            "{label}: {c}"
        );
    }
    let msg = |l: &str, side: &str| by[l][side]["message"].as_str().map(str::to_owned);
    assert_eq!(
        msg("full-old", "after").as_deref(),
        Some("SSL error: certificate verify failed")
    );
    assert_eq!(
        by["full-old"]["after"]["reason"].as_str(),
        Some("unable to get local issuer certificate")
    );
    assert_eq!(
        msg("full-ip-both", "after").as_deref(),
        Some(
            "server certificate for \"localhost\" (and 1 other name) does not match host name \"127.0.0.1\""
        )
    );
    assert_eq!(msg("full-both", "after"), None);
    assert_eq!(
        msg("missing-full", "after").as_deref(),
        Some(format!("root certificate file \"{missing}\" does not exist\nEither provide the file or change sslmode to disable server certificate verification.").as_str())
    );
    assert_eq!(
        msg("nosvc", "before").as_deref(),
        Some("definition of service \"nope\" not found")
    );
    assert_eq!(
        msg("disable", "after").as_deref(),
        Some("sslmode=disable: libpq does not use TLS")
    );
    // The contract's keys, and the line each client came from.
    assert!(by["full-both"]["before"]["message"].is_null());
    assert!(by["full-both"]["before"].get("fallback").is_none());
    assert_eq!(by["full-old"]["line"], 3);
    assert_eq!(v["summary"]["breaks"], 6);
    assert_eq!(code, 1);
}

/// The messages are `pgtls verify server`'s for the same settings and chain.
#[test]
fn verdicts_are_verify_servers() {
    let (tmp, pki) = setup();
    let old = pki.p("old.crt");
    let both = pki.p("both.crt");
    let settings = [
        format!("host=localhost sslmode=verify-full sslrootcert={old}"),
        format!("host=127.0.0.1 sslmode=verify-full sslrootcert={both}"),
        format!("host=localhost sslmode=prefer sslrootcert={old}"),
        "host=localhost sslmode=verify-ca".to_owned(),
        "host=localhost sslmode=bogus".to_owned(),
    ];
    let clients: String = settings
        .iter()
        .enumerate()
        .map(|(i, s)| format!("c{i}\t{s}\n"))
        .collect();
    let (_, by, _) = check(tmp.path(), &pki, &clients, "after.pem", &[], &[]);
    let h = home(tmp.path());
    for (i, s) in settings.iter().enumerate() {
        for (side, chain) in [("before", "before.pem"), ("after", "after.pem")] {
            let o = pgtls(
                &[
                    "verify",
                    "server",
                    "--conninfo",
                    s,
                    "--chain",
                    &pki.p(chain),
                    "--json",
                ],
                &[("HOME", h.as_str())],
            );
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            let c = &by[&format!("c{i}")][side];
            assert_eq!(c["message"], v["message"], "{s} {side}");
            assert_eq!(
                c["outcome"] == "fails",
                v["verdict"] == "reject",
                "{s} {side}"
            );
            assert_eq!(
                c.get("fallback").is_some(),
                v["plaintext_fallback"] == true,
                "{s} {side}"
            );
        }
    }
}

#[test]
fn a_cross_signed_intermediate_keeps_old_root_clients_verified() {
    let (tmp, pki) = setup();
    let (old, new) = (pki.p("old.crt"), pki.p("new.crt"));
    let clients = format!(
        "old\thost=localhost sslmode=verify-full sslrootcert={old}\n\
         new\thost=localhost sslmode=verify-full sslrootcert={new}\n"
    );
    let (code, by, _) = check(tmp.path(), &pki, &clients, "after-cross.pem", &[], &[]);
    assert_eq!(outcome(&by["old"], "after"), "verified");
    // The new root alone does not anchor a chain that goes up to the old root.
    assert_eq!(outcome(&by["new"], "after"), "fails");
    assert_eq!(code, 0);
    // Sent with the new root's intermediate, the old-root client breaks.
    let (code, by, _) = check(tmp.path(), &pki, &clients, "after-int.pem", &[], &[]);
    assert_eq!(outcome(&by["old"], "after"), "fails");
    assert_eq!(outcome(&by["new"], "after"), "verified");
    assert_eq!(code, 1);
}

#[test]
fn the_hba_file_says_whether_the_plaintext_retry_gets_in() {
    let (tmp, pki) = setup();
    let old = pki.p("old.crt");
    let hba = plainok_hba(tmp.path());
    let clients = format!(
        "prefer-app\thost=localhost sslmode=prefer sslrootcert={old} user=app dbname=postgres\n\
         prefer-plain\thost=localhost sslmode=prefer sslrootcert={old} user=plainok dbname=postgres\n\
         allow-plain\thost=localhost sslmode=allow sslrootcert={old} user=plainok dbname=postgres\n\
         allow-app\thost=localhost sslmode=allow sslrootcert={old} user=app dbname=postgres\n\
         disable-app\thost=localhost sslmode=disable user=app dbname=postgres\n"
    );
    let h = hba.display().to_string();
    let (code, by, _) = check(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--hba", &h, "--client-address", "127.0.0.1"],
        &[],
    );
    let connects = |l: &str, s: &str| by[l][s]["connects"].as_str().unwrap().to_owned();
    assert_eq!(connects("prefer-app", "before"), "tls");
    assert_eq!(connects("prefer-app", "after"), "no");
    assert_eq!(
        by["prefer-app"]["after"]["plaintext"]["message"].as_str(),
        Some(
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"app\", database \"postgres\", no encryption"
        )
    );
    assert_eq!(by["prefer-app"]["after"]["plaintext"]["line"], 3);
    assert_eq!(connects("prefer-plain", "after"), "plaintext");
    assert_eq!(by["prefer-plain"]["change"], "weakens");
    assert_eq!(connects("allow-plain", "before"), "plaintext");
    assert_eq!(by["allow-plain"]["change"], "unchanged");
    assert_eq!(connects("allow-app", "before"), "tls");
    assert_eq!(connects("allow-app", "after"), "no");
    assert_eq!(connects("disable-app", "before"), "no");
    assert_eq!(code, 1);
    // --hba needs --client-address.
    let o = rotation(
        tmp.path(),
        &pki,
        "check",
        None,
        "after.pem",
        &["--hba", &h],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn other_drivers_are_modelled_from_their_documentation() {
    let (tmp, pki) = setup();
    let (old, both) = (pki.p("old.crt"), pki.p("both.crt"));
    // pgjdbc finds ~/.postgresql/root.crt (here: the old root) for verify-full.
    let pg_home = tmp.path().join("home/.postgresql");
    fs::create_dir_all(&pg_home).unwrap();
    fs::copy(pki.path("old.crt"), pg_home.join("root.crt")).unwrap();
    let clients = format!(
        "jdbc-ssl\tpostgresql://localhost/db?ssl=true\tdriver=pgjdbc\n\
         jdbc-default\thost=localhost\tdriver=pgjdbc\n\
         jdbc-require-old\thost=localhost sslmode=require sslrootcert={old}\tdriver=pgjdbc\n\
         libpq-default\thost=localhost\n\
         node-none\thost=localhost\tdriver=node-postgres\n\
         node-require-old\thost=localhost sslmode=require sslrootcert={old}\tdriver=node-postgres\n\
         node-noverify\thost=localhost sslmode=no-verify\tdriver=node-postgres\n\
         pgx-prefer-old\thost=localhost sslmode=prefer sslrootcert={old}\tdriver=pgx\n\
         pgx-require-old\thost=localhost sslmode=require sslrootcert={old}\tdriver=pgx\n\
         sqlx-require-old\thost=localhost sslmode=require sslrootcert={old}\tdriver=sqlx\n\
         sqlx-full-both\thost=localhost sslmode=verify-full sslrootcert={both}\tdriver=sqlx\n\
         sqlx-allow\thost=localhost sslmode=allow\tdriver=sqlx\n"
    );
    let (_, by, _) = check(tmp.path(), &pki, &clients, "after.pem", &[], &[]);
    let want = [
        // ssl=true is verify-full for pgjdbc (libpq: require, which here verifies too).
        ("jdbc-ssl", "verify-full", "verified", "fails"),
        // pgjdbc's prefer never verifies; libpq's verifies when root.crt exists.
        ("jdbc-default", "prefer", "unverified", "unverified"),
        ("jdbc-require-old", "require", "unverified", "unverified"),
        ("libpq-default", "prefer", "verified", "fails+plaintext"),
        ("node-none", "(none)", "fails+plaintext", "fails+plaintext"),
        ("node-require-old", "require", "verified", "fails"),
        ("node-noverify", "no-verify", "unverified", "unverified"),
        ("pgx-prefer-old", "prefer", "unverified", "unverified"),
        ("pgx-require-old", "require", "verified", "fails"),
        ("sqlx-require-old", "require", "unverified", "unverified"),
        ("sqlx-full-both", "verify-full", "verified", "verified"),
        ("sqlx-allow", "allow", "fails+plaintext", "fails+plaintext"),
    ];
    for (label, mode, b, a) in want {
        let c = &by[label];
        assert_eq!(
            (
                c["sslmode"].as_str().unwrap(),
                outcome(c, "before").as_str(),
                outcome(c, "after").as_str()
            ),
            (mode, b, a),
            "{label}: {c}"
        );
        let modelled = c["modelled"].as_str().unwrap_or_default();
        assert_eq!(label.starts_with("libpq"), modelled.is_empty(), "{label}");
        if !modelled.is_empty() {
            assert!(modelled.contains("documentation"), "{modelled}");
        }
    }
    // The text table marks modelled rows.
    let o = rotation(tmp.path(), &pki, "check", None, "after.pem", &[], &[]);
    let (out, err) = text(&o);
    assert!(out.contains("jdbc-ssl*"), "{out}");
    assert!(
        out.contains("modelled from that driver's documentation"),
        "{out}"
    );
    assert!(out.lines().last().unwrap().contains("client(s):"), "{out}");
    assert!(err.starts_with("pgtls: "), "{err}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_lines_are_usage_errors_naming_file_and_line() {
    let (tmp, pki) = setup();
    let cases = [
        ("ok\thost=a\n\nno tab here\n", 3, "no tab"),
        ("\thost=a\n", 1, "empty label"),
        ("a\thost=a\na\thost=b\n", 2, "already used on line 1"),
        (
            "a\thost=a sslfoo=1\n",
            1,
            "invalid connection option \"sslfoo\"",
        ),
        ("a\thost\n", 1, "missing \"=\" after \"host\""),
        ("a\thost=a\tdriver=jdbc\n", 1, "unknown driver"),
        ("a\thost=a\tpgjdbc\n", 1, "expected driver=NAME"),
        (
            "a\tservice=x\tdriver=sqlx\n",
            1,
            "no connection service file",
        ),
        ("# c\na\thost=a\tdriver=pgx\tx\n", 2, "fourth field"),
    ];
    let f = tmp.path().join("clients.tsv").display().to_string();
    let check_text = |text_in: &str, extra: &[&str]| {
        rotation(
            tmp.path(),
            &pki,
            "check",
            Some(text_in),
            "after.pem",
            extra,
            &[],
        )
    };
    for (text_in, line, what) in cases {
        let o = check_text(text_in, &[]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{text_in:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.starts_with(&format!("pgtls: usage error: {f}:{line}: ")) && err.contains(what),
            "{text_in:?}: {err}"
        );
    }
    // Not UTF-8.
    fs::write(&f, b"a\thost=\xff\n").unwrap();
    let o = rotation(tmp.path(), &pki, "check", None, "after.pem", &[], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains(&format!("{f}:1: not UTF-8")));
    // Unreadable inputs are exit 2 too.
    for (flag, bad) in [
        ("--chain-after", "/nonexistent.pem"),
        ("--clients", "/nonexistent.tsv"),
    ] {
        let mut args = [
            "rotation".to_owned(),
            "check".into(),
            "--chain-before".into(),
            pki.p("before.pem"),
            "--chain-after".into(),
            pki.p("after.pem"),
            "--clients".into(),
            f.clone(),
        ];
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1] = bad.into();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = pgtls(&refs, &[]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", text(&o).1);
    }
    // A file with only comments: no client, nothing breaks.
    let o = check_text("# nothing\n  # indented\n", &["--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["clients"], serde_json::json!([]));
}

fn plan(tmp: &Path, pki: &Pki, clients: &str, after: &str, extra: &[&str]) -> (i32, Value) {
    json(tmp, pki, "plan", clients, after, extra, &[])
}

fn by_label(v: &Value) -> BTreeMap<String, Value> {
    v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["label"].as_str().unwrap().to_owned(), c.clone()))
        .collect()
}

#[test]
fn the_plan_stages_the_new_ca_before_the_switch() {
    let (tmp, pki) = setup();
    // Root files the plan edits (copies: the test checks what it proposes, not files).
    let old = pki.p("old.crt");
    let missing = tmp.path().join("nothing.crt").display().to_string();
    let clients = format!(
        "full-old\thost=localhost sslmode=verify-full sslrootcert={old}\n\
         require-old\thost=localhost sslmode=require sslrootcert={old}\n\
         full-ip\thost=127.0.0.1 sslmode=verify-full sslrootcert={old}\n\
         ca-ip\thost=127.0.0.1 sslmode=verify-ca sslrootcert={old}\n\
         prefer-none\thost=localhost sslmode=prefer sslrootcert={missing}\n\
         full-missing\thost=localhost sslmode=verify-full sslrootcert={missing}\n\
         disable\tsslmode=disable host=localhost\n\
         jdbc\tpostgresql://localhost/db?ssl=true&sslrootcert={old}\tdriver=pgjdbc\n"
    );
    let new_ca = pki.p("new.crt");
    let (code, v) = plan(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--new-ca", &new_ca],
    );
    let by = by_label(&v);
    let need = |l: &str| by[l]["need"].as_str().unwrap().to_owned();
    assert_eq!(need("full-old"), "add-new-ca");
    assert_eq!(
        by["full-old"]["with_change"],
        serde_json::json!(["verified", "verified"])
    );
    assert_eq!(need("require-old"), "add-new-ca");
    // The chain first (its root file needs the new CA); then its host name.
    assert_eq!(need("full-ip"), "host-not-covered");
    assert_eq!(need("ca-ip"), "add-new-ca");
    assert_eq!(need("prefer-none"), "nothing");
    assert_eq!(need("full-missing"), "add-new-ca");
    assert!(
        by["full-missing"]["action"]
            .as_str()
            .unwrap()
            .starts_with("create ")
    );
    assert_eq!(need("disable"), "no-tls");
    assert_eq!(need("jdbc"), "add-new-ca");
    assert!(by["jdbc"]["modelled"].as_str().unwrap().contains("pgjdbc"));
    // The old root leaves every root file in the last stage.
    assert_eq!(
        by["full-old"]["remove_later"],
        serde_json::json!(["O=pgtls-test, CN=Old Root CA"])
    );
    let unverified: Vec<&str> = v["unverified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(unverified, ["prefer-none", "disable"]);
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3);
    assert!(
        stages[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("before the switch")
    );
    assert!(
        stages[1]["title"]
            .as_str()
            .unwrap()
            .starts_with("switch the server")
    );
    assert!(stages[2]["title"].as_str().unwrap().starts_with("later"));
    assert_eq!(stages[0]["actions"].as_array().unwrap().len(), 6);
    // full-ip verifies the new chain with the new CA, but the new certificate does not
    // name 127.0.0.1: a problem the root file cannot fix.
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("full-ip:")),
        "{v}"
    );
    assert_eq!(code, 1);
}

#[test]
fn the_plan_finds_a_host_the_new_certificate_does_not_cover() {
    let (tmp, pki) = setup();
    let both = pki.p("both.crt");
    let clients = format!(
        "ok\thost=localhost sslmode=verify-full sslrootcert={both}\n\
         ip\thost=127.0.0.1 sslmode=verify-full sslrootcert={both}\n"
    );
    let (code, v) = plan(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--new-ca", &pki.p("new.crt")],
    );
    let by = by_label(&v);
    assert_eq!(by["ok"]["need"], "nothing");
    assert_eq!(by["ip"]["need"], "host-not-covered");
    assert_eq!(code, 1);
    // Without --new-ca and with no root in the chain after: usage error.
    let o = rotation(tmp.path(), &pki, "plan", None, "after.pem", &[], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--new-ca"));
}

#[test]
fn the_plan_overlaps_client_cas_with_a_crl_for_each() {
    let (tmp, pki) = setup();
    let both = pki.p("both.crt");
    let clients = format!("ok\thost=localhost sslmode=verify-full sslrootcert={both}\n");
    let common = [
        "--new-ca",
        &pki.p("new.crt"),
        "--client-ca-old",
        &pki.p("cca-old.crt"),
        "--client-ca-new",
        &pki.p("cca-new.crt"),
    ]
    .map(str::to_owned);
    let args = |extra: &[String]| -> Vec<String> { common.iter().chain(extra).cloned().collect() };
    // CRLs of both: nothing wrong.
    let a = args(&[
        "--client-crl".into(),
        pki.p("cca-old.crl"),
        "--client-crl".into(),
        pki.p("cca-new.crl"),
    ]);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, v) = plan(tmp.path(), &pki, &clients, "after.pem", &refs);
    let cc = &v["client_certificates"];
    assert_eq!(cc["crl_configured"], true);
    let states: Vec<&str> = cc["ssl_ca_file"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["crl"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["current", "current"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["stages"].as_array().unwrap().len(), 5);
    // Only the old CA's CRL: the new CA's clients would be refused.
    let a = args(&["--client-crl".into(), pki.p("cca-old.crl")]);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, v) = plan(tmp.path(), &pki, &clients, "after.pem", &refs);
    let p = v["problems"][0].as_str().unwrap();
    assert!(
        p.contains("New Client CA") && p.contains("tlsv1 alert unknown ca"),
        "{p}"
    );
    assert_eq!(code, 1);
    // No CRL configured: none needed.
    let a = args(&[]);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, v) = plan(tmp.path(), &pki, &clients, "after.pem", &refs);
    assert_eq!(
        v["client_certificates"]["ssl_ca_file"][1]["crl"],
        "not-needed"
    );
    assert_eq!(code, 0);
}

/// `sslcertmode=require` (PG16+) depends on whether the server asks for a client
/// certificate: `--server-requests-cert` says it does (as for `verify server`). The
/// messages are libpq 16's (psql 16 against a real server: rotation_live.rs on 16+).
#[test]
fn sslcertmode_require_follows_whether_the_server_asks_for_a_certificate() {
    let (tmp, pki) = setup();
    pki.client_leaf("alice", "cca-new", "alice");
    let (old, both) = (pki.p("old.crt"), pki.p("both.crt"));
    let (cert, key) = (pki.p("alice.crt"), pki.p("alice.key"));
    let clients = format!(
        "with-cert\thost=localhost sslmode=verify-full sslrootcert={both} sslcertmode=require sslcert={cert} sslkey={key}\n\
         no-cert\thost=localhost sslmode=verify-full sslrootcert={both} sslcertmode=require sslcert=/nonexistent.crt\n\
         allow-cert\thost=localhost sslmode=verify-full sslrootcert={old} sslcertmode=allow sslcert={cert} sslkey={key}\n"
    );
    let msg = |c: &Value, side: &str| c[side]["message"].as_str().map(str::to_owned);
    // The server does not ask (PostgreSQL's default: no ssl_ca_file).
    let (code, by, _) = check(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--pg-version", "16"],
        &[],
    );
    assert_eq!(code, 1, "allow-cert breaks");
    for l in ["with-cert", "no-cert"] {
        for side in ["before", "after"] {
            assert_eq!(outcome(&by[l], side), "fails", "{l} {side}");
            assert_eq!(
                msg(&by[l], side).as_deref(),
                Some("server did not request an SSL certificate"),
                "{l} {side}"
            );
        }
    }
    assert_eq!(outcome(&by["allow-cert"], "before"), "verified");
    // The server asks: a client with a certificate gets in, one without is refused after
    // authentication.
    let (code, by, _) = check(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--pg-version", "16", "--server-requests-cert"],
        &[],
    );
    assert_eq!(code, 1, "allow-cert breaks");
    for side in ["before", "after"] {
        assert_eq!(outcome(&by["with-cert"], side), "verified", "{side}");
        assert_eq!(outcome(&by["no-cert"], side), "fails", "{side}");
        assert_eq!(
            msg(&by["no-cert"], side).as_deref(),
            Some("server accepted connection without a valid SSL certificate"),
            "{side}"
        );
    }
    // allow-cert breaks with the switch (old root only) whatever the server asks.
    assert_eq!(by["allow-cert"]["change"], "breaks");
    // Before 16 libpq has no sslcertmode: the settings are refused.
    let (_, by, _) = check(
        tmp.path(),
        &pki,
        &clients,
        "after.pem",
        &["--pg-version", "15", "--server-requests-cert"],
        &[],
    );
    assert_eq!(
        msg(&by["with-cert"], "before").as_deref(),
        Some("invalid connection option \"sslcertmode\"")
    );
}

/// A client with a CRL configured needs the new CA's CRL too (libpq checks one for every
/// CA level once a CRL loads): given with `--new-crl`, the plan proposes it, checked; the
/// proposal carried out, `rotation check` finds the client verified after the switch.
#[test]
fn the_plan_adds_the_new_cas_crl_to_a_client_that_checks_crls() {
    let (tmp, pki) = setup();
    let t = tmp.path();
    let root = t.join("crl-client.crt");
    let crl = t.join("crl-client.crl");
    fs::copy(pki.path("old.crt"), &root).unwrap();
    fs::copy(pki.path("old.crl"), &crl).unwrap();
    let clients = format!(
        "crl-client\thost=localhost sslmode=verify-full sslrootcert={} sslcrl={}\n",
        root.display(),
        crl.display()
    );
    let new_ca = pki.p("new.crt");
    // Without the new CA's CRL: nothing on the client fixes it.
    let (code, v) = plan(t, &pki, &clients, "after.pem", &["--new-ca", &new_ca]);
    let c = &by_label(&v)["crl-client"];
    assert_eq!(c["need"], "unresolved", "{v}");
    assert!(c["action"].as_str().unwrap().contains("--new-crl"), "{c}");
    assert_eq!(code, 1);
    // With it: both added, and checked.
    let new_crl = pki.p("new.crl");
    let (code, v) = plan(
        t,
        &pki,
        &clients,
        "after.pem",
        &["--new-ca", &new_ca, "--new-crl", &new_crl],
    );
    let c = &by_label(&v)["crl-client"];
    assert_eq!(c["need"], "add-new-ca-and-crl", "{v}");
    assert_eq!(
        c["with_change"],
        serde_json::json!(["verified", "verified"])
    );
    let action = c["action"].as_str().unwrap();
    assert!(action.contains(&crl.display().to_string()), "{action}");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["stages"][0]["actions"].as_array().unwrap().len(), 1);
    // Carried out: the client verifies the new chain and still the old one.
    let (code, by, _) = check(t, &pki, &clients, "after.pem", &[], &[]);
    assert_eq!(by["crl-client"]["change"], "breaks");
    assert_eq!(code, 1);
    let mut text = fs::read_to_string(&root).unwrap();
    text.push_str(&fs::read_to_string(pki.path("new.crt")).unwrap());
    fs::write(&root, text).unwrap();
    // The new CA alone is not enough ...
    let (_, by, _) = check(t, &pki, &clients, "after.pem", &[], &[]);
    assert_eq!(outcome(&by["crl-client"], "after"), "fails");
    // ... with its CRL it is.
    let mut text = fs::read_to_string(&crl).unwrap();
    text.push_str(&fs::read_to_string(pki.path("new.crl")).unwrap());
    fs::write(&crl, text).unwrap();
    let (code, by, _) = check(t, &pki, &clients, "after.pem", &[], &[]);
    assert_eq!(outcome(&by["crl-client"], "before"), "verified");
    assert_eq!(outcome(&by["crl-client"], "after"), "verified");
    assert_eq!(code, 0);
    // A CRL file that is not one is bad input, named.
    let o = rotation(
        t,
        &pki,
        "plan",
        None,
        "after.pem",
        &["--new-ca", &new_ca, "--new-crl", &new_ca],
        &[],
    );
    let (code, v) = (o.status.code().unwrap(), text_of(&o));
    assert_ne!(code, 0);
    assert!(v.contains("--new-crl"), "{v}");
}

fn text_of(o: &Output) -> String {
    let (out, err) = text(o);
    format!("{out}{err}")
}

/// `sslmode=allow` tries plaintext first: a client the server's pg_hba.conf admits
/// without TLS never uses TLS, so the plan does not tell it to add the new CA; one the
/// server refuses in plaintext uses TLS and is told.
#[test]
fn the_plan_says_allow_clients_admitted_in_plaintext_connect_without_tls() {
    let (tmp, pki) = setup();
    let t = tmp.path();
    let hba = plainok_hba(t);
    let old = pki.p("old.crt");
    let base = "host=localhost hostaddr=127.0.0.1 dbname=postgres";
    let clients = format!(
        "allow-plainok\t{base} user=plainok sslmode=allow sslrootcert={old}\n\
         allow-app\t{base} user=app sslmode=allow sslrootcert={old}\n\
         prefer-plainok\t{base} user=plainok sslmode=prefer sslrootcert={old}\n"
    );
    let (h, n) = (hba.display().to_string(), pki.p("new.crt"));
    let (code, v) = plan(
        t,
        &pki,
        &clients,
        "after.pem",
        &["--new-ca", &n, "--hba", &h, "--client-address", "127.0.0.1"],
    );
    let by = by_label(&v);
    let c = &by["allow-plainok"];
    assert_eq!(c["need"], "connects-without-tls", "{v}");
    let action = c["action"].as_str().unwrap();
    assert!(
        action.starts_with("connects without TLS") && action.contains("line 2"),
        "{action}"
    );
    assert_eq!(c["verifies"], false);
    // Refused in plaintext, it uses TLS (second): it needs the new CA.
    assert_eq!(by["allow-app"]["need"], "add-new-ca", "{v}");
    // prefer tries TLS first: it needs the new CA though plaintext would admit it.
    assert_eq!(by["prefer-plainok"]["need"], "add-new-ca", "{v}");
    let stage1: Vec<&str> = v["stages"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        !stage1.iter().any(|a| a.starts_with("allow-plainok:")),
        "{stage1:?}"
    );
    assert_eq!(stage1.len(), 2, "{stage1:?}");
    assert!(
        v["unverified"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "allow-plainok"),
        "{v}"
    );
    assert_eq!(code, 0, "{v}");
}
