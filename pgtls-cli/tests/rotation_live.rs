//! `pgtls rotation check` against real PostgreSQL servers and real psql (every version of
//! `PGTLS_PG_VERSIONS`, in parallel, one cluster each; every client on 15, a sample on the
//! others unless `PGTLS_PG_MATRIX=full`): the server presents
//! the chain before the switch, every client connects with psql; the server is switched
//! (`ssl_cert_file`/`ssl_key_file` rewritten, `pg_ctl reload`) and every client connects
//! again. pgtls's per-client outcome must be what psql did: verified/unverified for a TLS
//! session (`pg_stat_ssl.ssl`), plaintext for a session without TLS, and for a failure
//! exactly psql's messages after `connection to server at ... failed: `, attempt by
//! attempt (the TLS attempt's message, then or before it the server's refusal of the
//! plaintext one, which pgtls takes from the same pg_hba.conf).
//!
//! Then `rotation plan` is carried out on the clients' root files (each client has its
//! own copy): its first stage (the new CA added) must keep every client it names
//! connecting with the old chain and make it connect with the new one, and its last
//! stage (the old CA removed) must keep them connecting with the new chain; in each state
//! `rotation check` is run again and compared with psql the same way.
//!
//! With libpq 16+ two more clients use `sslcertmode=require`: in the first state the
//! server has no `ssl_ca_file` (it does not ask for a client certificate, and pgtls is
//! not told it does); from the plan on it has one and pgtls is run with
//! `--server-requests-cert`, so the client with a certificate gets in and the one without
//! is refused after authentication, each with psql's message.
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

/// The server presents `crt`/`key` of its data directory from now on.
fn switch_to(c: &Cluster, crt: &str, key: &str) {
    let from = c.log_len();
    c.append_conf(&format!(
        "ssl_cert_file = '{crt}'\nssl_key_file = '{key}'\n"
    ))
    .unwrap();
    c.reload().unwrap();
    let log = c.log_since(from);
    assert!(
        log.contains(&format!("parameter \"ssl_cert_file\" changed to \"{crt}\"")),
        "the server did not switch to {crt}: {log}"
    );
}

/// Every client's psql result, in order (run in parallel).
fn run_all(c: &Cluster, clients: &[(&str, String)], env: &[(&str, &str)]) -> Vec<Psql> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .iter()
            .map(|(_, conninfo)| scope.spawn(|| run_psql(c, conninfo, env)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Where pgtls's report and psql disagree (`sides`: which of before/after to compare),
/// with a table of every row for the test's output.
fn compare(
    report: &Value,
    clients: &[(&str, String)],
    psql: &[(&str, &[Psql])],
    table: &mut Vec<String>,
) -> Vec<String> {
    let rows = report["clients"].as_array().unwrap();
    assert_eq!(rows.len(), clients.len());
    let mut disagreements = Vec::new();
    for (i, (label, _)) in clients.iter().enumerate() {
        let row = &rows[i];
        assert_eq!(row["label"], *label);
        let mode = row["sslmode"].as_str();
        for (side, results) in psql {
            let (s, got) = (&row[*side], &results[i]);
            let want = expected(mode, s);
            table.push(format!(
                "{label:<20} {side:<6} pgtls {:<10} {:<9} psql {got:?}",
                s["outcome"].as_str().unwrap(),
                s["connects"].as_str().unwrap()
            ));
            let tls_kind_ok = *got != Psql::Tls || s["outcome"] != "fails";
            if want != *got || !tls_kind_ok {
                disagreements.push(format!("{label} {side}: pgtls {s} / psql {got:?}"));
            }
        }
    }
    disagreements
}

/// The clients a sampled version runs (every one on 15 or with `PGTLS_PG_MATRIX=full`).
const SAMPLE: &[&str] = &[
    "full-old",
    "full-ip-both",
    "ca-ip-old",
    "require-old",
    "prefer-old",
    "allow-plainok",
    "disable-app",
    "svc",
    "default",
    "certmode-cert",
    "certmode-nocert",
];

#[test]
fn rotation_check_agrees_with_psql_before_and_after_the_switch() {
    require_postgres().unwrap();
    let started = Instant::now();
    let versions = pgtls_testkit::pg_versions().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    fs::create_dir_all(&pki_dir).unwrap();
    let pki = Pki::make(&pki_dir);
    pki.client_leaf("app-client", "cca-new", "app");
    let results: Vec<(u32, usize, usize, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| {
                let pki = &pki;
                s.spawn(move || run_version(v, pki))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (v, clients, rows, secs) in &results {
        eprintln!("PostgreSQL {v}: {clients} clients, {rows} rows agree with psql; {secs:.1} s");
    }
    assert_eq!(results.len(), versions.len());
    eprintln!(
        "{} rows on {versions:?} in {:.1} s",
        results.iter().map(|r| r.2).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
}

/// The whole scenario on one server version: (version, clients, rows compared, seconds).
fn run_version(major: u32, pki: &Pki) -> (u32, usize, usize, f64) {
    let started = Instant::now();
    let full = pgtls_testkit::full_matrix(major).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t.join("home");
    let roots = t.join("roots");
    for d in [&home, &roots] {
        fs::create_dir_all(d).unwrap();
    }

    let c = Cluster::builder().version(major).init().unwrap();
    let libpq = c.client_build().major;
    let (libpq_s, major_s) = (libpq.to_string(), major.to_string());
    for (name, from, mode) in [
        ("before.crt", "before.pem", 0o644),
        ("before.key", "before-key.pem", 0o600),
        ("after.crt", "after.pem", 0o644),
        ("after.key", "after-key.pem", 0o600),
        ("client-ca.crt", "cca-new.crt", 0o644),
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
    // Each client's own root file, a copy of the old root, the new, or both.
    let root = |label: &str, of: &str| -> String {
        let p = roots.join(format!("{label}.crt"));
        fs::copy(pki.path(of), &p).unwrap();
        p.display().to_string()
    };
    let missing = roots.join("missing-full.crt").display().to_string();
    let base = format!("host=localhost hostaddr=127.0.0.1 port={port} dbname=postgres");
    let ip = format!("host=127.0.0.1 port={port} dbname=postgres user=app");
    let svc = t.join("services.conf");
    fs::write(
        &svc,
        format!(
            "[oldsvc]\nhost=localhost\nhostaddr=127.0.0.1\nport={port}\ndbname=postgres\nuser=app\nsslmode=verify-full\nsslrootcert={}\n",
            root("svc", "old.crt")
        ),
    )
    .unwrap();
    let mut clients: Vec<(&str, String)> = vec![
        (
            "full-old",
            format!(
                "{base} user=app sslmode=verify-full sslrootcert={}",
                root("full-old", "old.crt")
            ),
        ),
        (
            "full-both",
            format!(
                "{base} user=app sslmode=verify-full sslrootcert={}",
                root("full-both", "both.crt")
            ),
        ),
        (
            "full-new",
            format!(
                "{base} user=app sslmode=verify-full sslrootcert={}",
                root("full-new", "new.crt")
            ),
        ),
        (
            "full-ip-both",
            format!(
                "{ip} sslmode=verify-full sslrootcert={}",
                root("full-ip-both", "both.crt")
            ),
        ),
        (
            "ca-ip-old",
            format!(
                "{ip} sslmode=verify-ca sslrootcert={}",
                root("ca-ip-old", "old.crt")
            ),
        ),
        (
            "ca-ip-both",
            format!(
                "{ip} sslmode=verify-ca sslrootcert={}",
                root("ca-ip-both", "both.crt")
            ),
        ),
        (
            "ca-new",
            format!(
                "{base} user=app sslmode=verify-ca sslrootcert={}",
                root("ca-new", "new.crt")
            ),
        ),
        (
            "require-none",
            format!(
                "{base} user=app sslmode=require sslrootcert={}",
                roots.join("none.crt").display()
            ),
        ),
        (
            "require-old",
            format!(
                "{base} user=app sslmode=require sslrootcert={}",
                root("require-old", "old.crt")
            ),
        ),
        (
            "prefer-old",
            format!(
                "{base} user=app sslmode=prefer sslrootcert={}",
                root("prefer-old", "old.crt")
            ),
        ),
        (
            "prefer-old-plainok",
            format!(
                "{base} user=plainok sslmode=prefer sslrootcert={}",
                root("prefer-old-plainok", "old.crt")
            ),
        ),
        (
            "allow-old",
            format!(
                "{base} user=app sslmode=allow sslrootcert={}",
                root("allow-old", "old.crt")
            ),
        ),
        (
            "allow-plainok",
            format!(
                "{base} user=plainok sslmode=allow sslrootcert={}",
                root("allow-plainok", "old.crt")
            ),
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
                "postgresql://app@localhost:{port}/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
                root("uri-both", "both.crt")
            ),
        ),
    ];
    if libpq >= 16 {
        clients.push((
            "certmode-cert",
            format!(
                "{base} user=app sslmode=verify-full sslrootcert={} sslcertmode=require sslcert={} sslkey={}",
                root("certmode-cert", "both.crt"),
                pki.p("app-client.crt"),
                pki.p("app-client.key")
            ),
        ));
        clients.push((
            "certmode-nocert",
            format!(
                "{base} user=app sslmode=verify-full sslrootcert={} sslcertmode=require",
                root("certmode-nocert", "both.crt")
            ),
        ));
    }
    if !full {
        clients.retain(|(l, _)| SAMPLE.contains(l));
    }
    let has = |l: &str| clients.iter().any(|(x, _)| *x == l);
    let file = t.join("clients.tsv");
    let mut lines = String::from("# the clients of the rotation\n");
    for (label, conninfo) in &clients {
        lines.push_str(&format!("{label}\t{conninfo}\n"));
    }
    fs::write(&file, lines).unwrap();
    let hba = t.join("pg_hba.conf");
    fs::write(&hba, HBA).unwrap();
    let (h, s) = (home.display().to_string(), svc.display().to_string());
    let env = [
        ("HOME", h.as_str()),
        ("PGSERVICEFILE", s.as_str()),
        ("PGSYSCONFDIR", h.as_str()),
    ];
    let (before_pem, after_pem) = (pki.p("before.pem"), pki.p("after.pem"));
    let (file_s, hba_s) = (file.display().to_string(), hba.display().to_string());
    let requests_cert = std::cell::Cell::new(false);
    let rotation = |cmd: &str, extra: &[&str]| -> (Value, i32) {
        let mut args = vec![
            "rotation",
            cmd,
            "--chain-before",
            &before_pem,
            "--chain-after",
            &after_pem,
            "--clients",
            &file_s,
            "--hba",
            &hba_s,
            "--client-address",
            "127.0.0.1",
            "--json",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--pg-version", &libpq_s, "--server-version", &major_s]);
        if requests_cert.get() {
            args.push("--server-requests-cert");
        }
        let o = pgtls(&args, &env);
        let (out, err) = text(&o);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (v, o.status.code().unwrap())
    };
    let mut table = Vec::new();
    let mut disagreements = Vec::new();

    // The switch, with the clients as they are.
    let (report, code) = rotation("check", &[]);
    let before = run_all(&c, &clients, &env);
    switch_to(&c, "after.crt", "after.key");
    let after = run_all(&c, &clients, &env);
    disagreements.extend(compare(
        &report,
        &clients,
        &[("before", &before), ("after", &after)],
        &mut table,
    ));
    assert_eq!(code, 1);
    let rows = report["clients"].as_array().unwrap();
    let breaks: Vec<&str> = rows
        .iter()
        .filter(|r| r["change"] == "breaks")
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    // libpq 15 matches IP addresses against iPAddress subjectAltNames; libpq 14 (the psql
    // of 12 to 14) only against the DNS names and CN, so full-ip-both fails before too.
    let ip_san = libpq >= 15;
    assert!(
        breaks.contains(&"full-old") && breaks.contains(&"full-ip-both") == ip_san,
        "PostgreSQL {major}: {breaks:?} {}",
        table.join("\n")
    );
    for outcome in ["verified", "unverified", "fails"] {
        assert!(
            rows.iter()
                .any(|r| r["before"]["outcome"] == outcome || r["after"]["outcome"] == outcome),
            "no {outcome}"
        );
    }

    // From now on the server asks for client certificates (ssl_ca_file), and pgtls is told.
    if libpq >= 16 {
        let from = c.log_len();
        c.append_conf("ssl_ca_file = 'client-ca.crt'\n").unwrap();
        c.reload().unwrap();
        let log = c.log_since(from);
        assert!(
            log.contains("parameter \"ssl_ca_file\" changed"),
            "{major}: the server did not load ssl_ca_file: {log}"
        );
        requests_cert.set(true);
    }

    // The plan's first stage: the new CA into the root files it names.
    let new_ca = pki.p("new.crt");
    let (plan, _) = rotation("plan", &["--new-ca", &new_ca]);
    let new_pem = fs::read_to_string(pki.path("new.crt")).unwrap();
    let old_pem = fs::read_to_string(pki.path("old.crt")).unwrap();
    let mut edited = Vec::new();
    for p in plan["clients"].as_array().unwrap() {
        if p["need"] != "add-new-ca" && p["need"] != "host-not-covered" {
            continue;
        }
        let f = p["root_file"].as_str().unwrap();
        assert!(f.starts_with(&roots.display().to_string()), "{p}");
        let mut text = fs::read_to_string(f).unwrap_or_else(|_| old_pem.clone());
        text.push_str(&new_pem);
        fs::write(f, text).unwrap();
        edited.push(p["label"].as_str().unwrap().to_owned());
    }
    for l in [
        "full-old",
        "require-old",
        "prefer-old",
        "svc",
        "missing-full",
        "ca-ip-old",
    ]
    .into_iter()
    .filter(|l| has(l))
    {
        assert!(
            edited.iter().any(|e| e == l),
            "the plan does not edit {l}: {plan}"
        );
    }
    let (report, code) = rotation("check", &[]);
    let after_edit = run_all(&c, &clients, &env);
    switch_to(&c, "before.crt", "before.key");
    let before_edit = run_all(&c, &clients, &env);
    disagreements.extend(compare(
        &report,
        &clients,
        &[("before", &before_edit), ("after", &after_edit)],
        &mut table,
    ));
    let label_at = |l: &str| clients.iter().position(|(x, _)| *x == l).unwrap();
    for l in &edited {
        let i = label_at(l);
        let covered = plan["clients"][i]["need"] == "add-new-ca";
        // With the new CA added the old chain still gets in what got in, and the switch
        // changes nothing.
        let got_in = |p: &Psql| matches!(p, Psql::Tls | Psql::Plaintext);
        assert!(
            got_in(&before_edit[i]) || !got_in(&before[i]),
            "{l} with the new CA added, old chain: {:?}",
            before_edit[i]
        );
        if covered {
            assert_eq!(after_edit[i], before_edit[i], "{l} with the new CA added");
        }
    }
    // What is left failing is what the plan calls a problem: a host the new certificate
    // does not cover (with libpq 14 it failed before the switch already).
    assert_eq!(code, i32::from(ip_san));
    let still: Vec<&str> = report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["change"] == "breaks")
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    let want: &[&str] = if ip_san { &["full-ip-both"] } else { &[] };
    assert_eq!(still, want, "PostgreSQL {major}: {report}");
    assert!(
        plan["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("full-ip-both:"),
        "{plan}"
    );

    // The last stage: the old CA out of the files the plan names, once the server
    // presents the new chain; the old chain now fails for those clients.
    let mut removed = Vec::new();
    for p in plan["clients"].as_array().unwrap() {
        if p["remove_later"].as_array().is_none_or(Vec::is_empty) {
            continue;
        }
        let f = p["root_file"].as_str().unwrap();
        let text = fs::read_to_string(f).unwrap().replace(&old_pem, "");
        fs::write(f, text).unwrap();
        removed.push(p["label"].as_str().unwrap().to_owned());
    }
    assert!(removed.iter().any(|l| l == "full-old"), "{plan}");
    let (report, _) = rotation("check", &[]);
    let before_removal = run_all(&c, &clients, &env);
    switch_to(&c, "after.crt", "after.key");
    let after_removal = run_all(&c, &clients, &env);
    disagreements.extend(compare(
        &report,
        &clients,
        &[("before", &before_removal), ("after", &after_removal)],
        &mut table,
    ));
    for l in &removed {
        let i = label_at(l);
        if plan["clients"][i]["need"] != "host-not-covered" {
            assert_eq!(
                after_removal[i], after_edit[i],
                "{l} without the old CA, new chain"
            );
        }
    }

    for r in &table {
        eprintln!("pg{major} {r}");
    }
    assert!(
        disagreements.is_empty(),
        "PostgreSQL {major}: {disagreements:#?}"
    );
    // The suite is not vacuous: every kind of psql result happened.
    let all: Vec<&Psql> = before.iter().chain(&after).collect();
    assert!(all.iter().any(|p| **p == Psql::Tls), "{major}");
    assert!(all.iter().any(|p| **p == Psql::Plaintext), "{major}");
    assert!(
        all.iter()
            .any(|p| matches!(p, Psql::Failed(a) if a.len() == 2)),
        "{major}"
    );
    // allow, admitted without TLS: psql never used TLS, and the plan says so instead of
    // proposing the new CA.
    if has("allow-plainok") {
        let i = label_at("allow-plainok");
        assert_eq!(
            plan["clients"][i]["need"], "connects-without-tls",
            "PostgreSQL {major}: {plan}"
        );
        for r in [&before, &after, &before_edit, &after_edit] {
            assert_eq!(r[i], Psql::Plaintext, "PostgreSQL {major}");
        }
    }
    // sslcertmode=require: refused while the server does not ask, then the client with a
    // certificate gets in and the one without is refused, as psql said.
    if libpq >= 16 {
        let (i, j) = (label_at("certmode-cert"), label_at("certmode-nocert"));
        let refused = |m: &str| Psql::Failed(vec![m.to_owned()]);
        assert_eq!(
            before[i],
            refused("server did not request an SSL certificate")
        );
        assert_eq!(after_edit[i], Psql::Tls);
        assert_eq!(
            after_edit[j],
            refused("server accepted connection without a valid SSL certificate")
        );
    }
    (
        major,
        clients.len(),
        table.len(),
        started.elapsed().as_secs_f64(),
    )
}
