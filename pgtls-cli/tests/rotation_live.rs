//! `pgtls rotation check` against a real PostgreSQL 15 and real psql: the server presents
//! the chain before the switch, every client connects with psql; the server is switched
//! (`ssl_cert_file`/`ssl_key_file` rewritten, `pg_ctl reload`) and every client connects
//! again. pgtls's per-client outcome must be what psql did: verified/unverified for a TLS
//! session (`pg_stat_ssl.ssl`), plaintext for a session without TLS, and for a failure
//! exactly psql's messages after `connection to server at ... failed: `, attempt by
//! attempt (the TLS attempt's message, then or before it the server's refusal of the
//! plaintext one, which pgtls takes from the same pg_hba.conf).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::time::Instant;

use pgtls_testkit::{Cluster, require_postgres};
use serde_json::Value;

mod rotation_support;
use rotation_support::{Pki, pgtls, text};

const HBA: &str = "local all all trust\n\
hostssl all all 127.0.0.1/32 trust\n\
hostnossl all plainok 127.0.0.1/32 trust\n\
hostnossl all all 127.0.0.1/32 reject\n";

/// What psql did.
#[derive(Debug, PartialEq, Eq)]
enum Psql {
    Tls,
    Plaintext,
    /// The messages of its attempts, in order (continuation lines kept).
    Failed(Vec<String>),
}

/// psql's error text split into its attempts: each `connection to server at ... failed: `
/// starts one; text before any (a service-file error) is one attempt.
fn attempts(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, line) in stderr.lines().enumerate() {
        let line = if i == 0 {
            line.strip_prefix("psql: error: ").unwrap_or(line)
        } else {
            line
        };
        if line.starts_with("connection to server at ")
            && let Some(at) = line.find(" failed: ")
        {
            out.push(line[at + " failed: ".len()..].to_owned());
        } else if let Some(last) = out.last_mut() {
            last.push('\n');
            last.push_str(line);
        } else {
            out.push(line.to_owned());
        }
    }
    for a in &mut out {
        *a = a.trim_end().to_owned();
    }
    out
}

fn run_psql(c: &Cluster, conninfo: &str, env: &[(&str, &str)]) -> Psql {
    let o = c
        .psql(
            &[
                "-X",
                "-At",
                "-c",
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ],
            conninfo,
            env,
        )
        .unwrap();
    let (out, err) = text(&o);
    if o.status.success() {
        match out.trim() {
            "t" => Psql::Tls,
            "f" => Psql::Plaintext,
            other => panic!("{conninfo}: pg_stat_ssl said {other:?}"),
        }
    } else {
        Psql::Failed(attempts(&err))
    }
}

/// What pgtls's report says psql should have done with one chain.
fn expected(sslmode: Option<&str>, s: &Value) -> Psql {
    match s["connects"].as_str().unwrap() {
        "tls" => return Psql::Tls,
        "plaintext" => return Psql::Plaintext,
        "no" => {}
        other => panic!("connects {other:?} with --hba given"),
    }
    let msg = s["message"].as_str().map(str::to_owned);
    let fatal = s["plaintext"]["message"]
        .as_str()
        .map(|m| format!("FATAL:  {m}"));
    let list: Vec<Option<String>> = match sslmode {
        None => vec![msg],
        Some("disable") => vec![fatal],
        Some("allow") => vec![fatal, msg],
        Some("prefer") if s.get("fallback").is_some() => vec![msg, fatal],
        Some(_) => vec![msg],
    };
    Psql::Failed(list.into_iter().map(|m| m.unwrap_or_default()).collect())
}

#[test]
fn rotation_check_agrees_with_psql_before_and_after_the_switch() {
    require_postgres().unwrap();
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let pki_dir = t.join("pki");
    let home = t.join("home");
    fs::create_dir_all(&pki_dir).unwrap();
    fs::create_dir_all(&home).unwrap();
    let pki = Pki::make(&pki_dir);

    let c = Cluster::init().unwrap();
    for (name, from, mode) in [
        ("before.crt", "before.pem", 0o644),
        ("before.key", "before-key.pem", 0o600),
        ("after.crt", "after.pem", 0o644),
        ("after.key", "after-key.pem", 0o600),
    ] {
        c.write_file(name, &fs::read(pki.path(from)).unwrap(), mode)
            .unwrap();
    }
    c.append_conf("ssl = on\nssl_cert_file = 'before.crt'\nssl_key_file = 'before.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql("create role app login; create role plainok login")
        .unwrap();

    let port = c.port();
    let (old, new, both) = (pki.p("old.crt"), pki.p("new.crt"), pki.p("both.crt"));
    let missing = t.join("missing.crt").display().to_string();
    let base = format!("host=localhost hostaddr=127.0.0.1 port={port} dbname=postgres");
    let ip = format!("host=127.0.0.1 port={port} dbname=postgres user=app");
    let svc = t.join("services.conf");
    fs::write(
        &svc,
        format!(
            "[oldsvc]\nhost=localhost\nhostaddr=127.0.0.1\nport={port}\ndbname=postgres\nuser=app\nsslmode=verify-full\nsslrootcert={old}\n"
        ),
    )
    .unwrap();
    let clients: Vec<(&str, String)> = vec![
        (
            "full-old",
            format!("{base} user=app sslmode=verify-full sslrootcert={old}"),
        ),
        (
            "full-both",
            format!("{base} user=app sslmode=verify-full sslrootcert={both}"),
        ),
        (
            "full-new",
            format!("{base} user=app sslmode=verify-full sslrootcert={new}"),
        ),
        (
            "full-ip-both",
            format!("{ip} sslmode=verify-full sslrootcert={both}"),
        ),
        (
            "ca-ip-old",
            format!("{ip} sslmode=verify-ca sslrootcert={old}"),
        ),
        (
            "ca-ip-both",
            format!("{ip} sslmode=verify-ca sslrootcert={both}"),
        ),
        (
            "ca-new",
            format!("{base} user=app sslmode=verify-ca sslrootcert={new}"),
        ),
        (
            "require-none",
            format!("{base} user=app sslmode=require sslrootcert={missing}"),
        ),
        (
            "require-old",
            format!("{base} user=app sslmode=require sslrootcert={old}"),
        ),
        (
            "prefer-old",
            format!("{base} user=app sslmode=prefer sslrootcert={old}"),
        ),
        (
            "prefer-old-plainok",
            format!("{base} user=plainok sslmode=prefer sslrootcert={old}"),
        ),
        (
            "allow-old",
            format!("{base} user=app sslmode=allow sslrootcert={old}"),
        ),
        (
            "allow-plainok",
            format!("{base} user=plainok sslmode=allow sslrootcert={old}"),
        ),
        (
            "disable-plainok",
            format!("{base} user=plainok sslmode=disable"),
        ),
        ("disable-app", format!("{base} user=app sslmode=disable")),
        (
            "missing-full",
            format!("{base} user=app sslmode=verify-full sslrootcert={missing}"),
        ),
        ("default", format!("{base} user=app")),
        ("svc", "service=oldsvc".to_owned()),
        ("nosvc", "service=nope".to_owned()),
        (
            "uri-both",
            format!(
                "postgresql://app@localhost:{port}/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={both}"
            ),
        ),
    ];
    let file = t.join("clients.tsv");
    let mut lines = String::from("# the clients of the rotation\n");
    for (label, conninfo) in &clients {
        lines.push_str(&format!("{label}\t{conninfo}\n"));
    }
    fs::write(&file, lines).unwrap();
    let hba = t.join("pg_hba.conf");
    fs::write(&hba, HBA).unwrap();

    let (h, s, sys) = (
        home.display().to_string(),
        svc.display().to_string(),
        home.display().to_string(),
    );
    let env = [
        ("HOME", h.as_str()),
        ("PGSERVICEFILE", s.as_str()),
        ("PGSYSCONFDIR", sys.as_str()),
    ];
    let o = pgtls(
        &[
            "rotation",
            "check",
            "--chain-before",
            &pki.p("before.pem"),
            "--chain-after",
            &pki.p("after.pem"),
            "--clients",
            &file.display().to_string(),
            "--hba",
            &hba.display().to_string(),
            "--client-address",
            "127.0.0.1",
            "--json",
        ],
        &env,
    );
    let (out, err) = text(&o);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let rows = report["clients"].as_array().unwrap();
    assert_eq!(rows.len(), clients.len());

    let run_all = |c: &Cluster| -> Vec<Psql> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = clients
                .iter()
                .map(|(_, conninfo)| scope.spawn(|| run_psql(c, conninfo, &env)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let before = run_all(&c);
    // The switch: the new chain and key, and a reload.
    let log_from = c.log_len();
    c.append_conf("ssl_cert_file = 'after.crt'\nssl_key_file = 'after.key'\n")
        .unwrap();
    c.reload().unwrap();
    let log = c.log_since(log_from);
    assert!(
        log.contains("parameter \"ssl_cert_file\" changed to \"after.crt\""),
        "the server did not switch: {log}"
    );
    let after = run_all(&c);

    let mut table = Vec::new();
    let mut disagreements = Vec::new();
    for (i, (label, _)) in clients.iter().enumerate() {
        let row = &rows[i];
        assert_eq!(row["label"], *label);
        let mode = row["sslmode"].as_str();
        for (side, psql) in [("before", &before[i]), ("after", &after[i])] {
            let s = &row[side];
            let want = expected(mode, s);
            table.push(format!(
                "{label:<20} {side:<6} pgtls {:<10} {:<9} psql {psql:?}",
                s["outcome"].as_str().unwrap(),
                s["connects"].as_str().unwrap()
            ));
            let tls_kind_ok = match psql {
                Psql::Tls => s["outcome"] != "fails",
                _ => true,
            };
            if want != *psql || !tls_kind_ok {
                disagreements.push(format!("{label} {side}: pgtls {s} / psql {psql:?}"));
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // The suite is not vacuous: every kind of result happened, and the switch broke some.
    let all: Vec<&Psql> = before.iter().chain(&after).collect();
    assert!(all.iter().any(|p| **p == Psql::Tls));
    assert!(all.iter().any(|p| **p == Psql::Plaintext));
    assert!(
        all.iter()
            .any(|p| matches!(p, Psql::Failed(a) if a.len() == 2))
    );
    for outcome in ["verified", "unverified", "fails"] {
        assert!(
            rows.iter()
                .any(|r| r["before"]["outcome"] == outcome || r["after"]["outcome"] == outcome),
            "no {outcome}"
        );
    }
    let breaks: Vec<&str> = rows
        .iter()
        .filter(|r| r["change"] == "breaks")
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert!(
        breaks.contains(&"full-old") && breaks.contains(&"full-ip-both"),
        "{breaks:?}"
    );
    assert_eq!(o.status.code(), Some(1), "{err}");
    eprintln!(
        "{} clients x 2 chains agree with psql 15; {:.1} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
}
