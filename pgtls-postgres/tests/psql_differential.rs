//! The same conninfo through `pgtls_postgres::connect` and through psql (libpq 15)
//! against a real PostgreSQL 15 (pgtls-testkit), for every sslmode x server
//! certificate (good SAN, CN-only, wrong host, expired, untrusted, revoked with a
//! CRL) x `ssl = on/off` x host forms (name + hostaddr, IP as host, hostaddr only)
//! x root file given or not x pg_hba.conf accepting TLS and plaintext, plaintext
//! only, TLS only (libpq's prefer/allow fallbacks, observed with `pg_stat_ssl`).
//!
//! Asserted per row: both connect or both refuse; a session is TLS in one exactly
//! when it is in the other (no downgrade); refusals have psql's message, the first
//! line of the error's Display being psql's text after `failed: `, and the whole
//! of it libpq's `PQerrorMessage`. The suite fails if it ran no rows, and prints
//! the counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{SSL_QUERY, after_failed, fixtures};
use pgtls_testkit::Cluster;
use pgtls_verify::PgVersion;

/// What a client saw: Ok(ssl in use) or Err(the message after `psql: error: `).
type Outcome = Result<bool, String>;

/// The shared `common::via_psql` (the cluster's psql 15), as TLS in use or the refusal.
fn via_psql(c: &Cluster, conninfo: &str, home: &Path) -> Outcome {
    let env = [("HOME".to_string(), home.display().to_string())];
    common::via_psql(c, None, conninfo, &env, SSL_QUERY).map(|v| v == "true")
}

/// The shared `common::via_pgtls` (libpq 15's rules), as TLS in use or the refusal.
async fn via_pgtls(conninfo: &str, home: &Path) -> (Outcome, Option<String>) {
    let env = [("HOME".to_string(), home.display().to_string())];
    let (o, d) = common::via_pgtls(conninfo, &env, PgVersion::V15, SSL_QUERY, None).await;
    (o.map(|v| v == "true"), d)
}

#[derive(Default)]
struct Tally {
    rows: usize,
    both_ok: usize,
    both_refused: usize,
    false_accepts: Vec<String>,
    false_rejects: Vec<String>,
    downgrades: Vec<String>,
    message_diffs: Vec<String>,
    /// psql's distinct refusals (text after `failed: `, all lines) and fallbacks seen.
    refusals: std::collections::BTreeSet<String>,
    /// `prefer` sessions that fell back to plaintext on a server with TLS, and
    /// `allow` sessions that went on to TLS (both sides agreeing).
    prefer_fallbacks: usize,
    allow_upgrades: usize,
}

#[test]
fn connect_agrees_with_psql() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fx = fixtures();
    let dir = fx.path();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let c = Cluster::init().unwrap();
    c.write_file("server.crt", &read("good.pem"), 0o644)
        .unwrap();
    c.write_file("server.key", &read("good.key"), 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    let port = c.port();
    let root = dir.join("root.pem").display().to_string();
    let crl = dir.join("crl.pem").display().to_string();

    let hba_variants = [
        ("any", "host all all 127.0.0.1/32 trust\n"),
        ("nossl", "hostnossl all all 127.0.0.1/32 trust\n"),
        ("ssl", "hostssl all all 127.0.0.1/32 trust\n"),
    ];
    let certs = [
        "good",
        "cnonly",
        "wronghost",
        "expired",
        "untrusted",
        "revoked",
        "ssl-off",
    ];
    let forms = [
        "host=db.example.test hostaddr=127.0.0.1",
        "host=127.0.0.1",
        "hostaddr=127.0.0.1",
    ];
    let modes = [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];
    let mut t = Tally::default();
    for (hba_name, hba) in hba_variants {
        c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
        for cert in certs {
            if cert == "ssl-off" {
                c.append_conf("ssl = off\n").unwrap();
            } else {
                c.append_conf("ssl = on\n").unwrap();
                c.write_file("server.crt", &read(&format!("{cert}.pem")), 0o644)
                    .unwrap();
                c.write_file("server.key", &read(&format!("{cert}.key")), 0o600)
                    .unwrap();
            }
            c.reload().unwrap();
            // The root file and CRL cases: with the root (and the CRL for
            // "revoked"), and with neither (no ~/.postgresql/root.crt) under the
            // permissive pg_hba.conf only.
            let mut trust = vec![format!("sslrootcert={root}")];
            if cert == "revoked" {
                trust = vec![format!("sslrootcert={root} sslcrl={crl}")];
            }
            if hba_name == "any" {
                trust.push(String::new());
            }
            for tr in &trust {
                for form in forms {
                    for mode in modes {
                        let ci = format!(
                            "{form} port={port} user=postgres dbname=postgres sslmode={mode} {tr}"
                        );
                        let label = format!("[hba {hba_name}, cert {cert}] {ci}");
                        let want = via_psql(&c, &ci, &home);
                        let (got, display) = rt.block_on(via_pgtls(&ci, &home));
                        t.rows += 1;
                        match (&want, &got) {
                            (Ok(w), Ok(g)) => {
                                t.both_ok += 1;
                                if mode == "prefer" && cert != "ssl-off" && !*w && !*g {
                                    t.prefer_fallbacks += 1;
                                }
                                if mode == "allow" && *w && *g {
                                    t.allow_upgrades += 1;
                                }
                                if w != g {
                                    t.downgrades
                                        .push(format!("{label}: psql ssl={w}, pgtls ssl={g}"));
                                }
                            }
                            (Err(w), Err(g)) => {
                                t.both_refused += 1;
                                t.refusals.insert(after_failed(w).to_string());
                                let first_ok = display.as_deref().and_then(|d| d.lines().next())
                                    == after_failed(w).lines().next();
                                if w != g || !first_ok {
                                    t.message_diffs.push(format!(
                                        "{label}:\n  psql:  {w:?}\n  pgtls: {g:?}\n  display: {display:?}"
                                    ));
                                }
                            }
                            (Err(w), Ok(g)) => t.false_accepts.push(format!(
                                "{label}: psql refused ({w:?}), pgtls connected (ssl={g})"
                            )),
                            (Ok(w), Err(g)) => t.false_rejects.push(format!(
                                "{label}: psql connected (ssl={w}), pgtls refused ({g:?})"
                            )),
                        }
                    }
                }
            }
        }
    }
    println!(
        "rows {}: both connected {}, both refused {}; false accepts {}, downgrades {}, false rejects {}, message differences {}",
        t.rows,
        t.both_ok,
        t.both_refused,
        t.false_accepts.len(),
        t.downgrades.len(),
        t.false_rejects.len(),
        t.message_diffs.len()
    );
    println!(
        "prefer fallbacks to plaintext {}, allow upgrades to TLS {}",
        t.prefer_fallbacks, t.allow_upgrades
    );
    println!("distinct refusals ({}):", t.refusals.len());
    for r in &t.refusals {
        println!("  {r:?}");
    }
    for l in t
        .false_accepts
        .iter()
        .chain(&t.downgrades)
        .chain(&t.false_rejects)
        .chain(&t.message_diffs)
    {
        println!("{l}");
    }
    assert!(t.rows > 0, "the differential suite ran no rows");
    assert!(
        t.both_ok > 0 && t.both_refused > 0,
        "no contrast in the rows"
    );
    assert!(t.prefer_fallbacks > 0, "no prefer fallback was observed");
    assert!(t.allow_upgrades > 0, "no allow upgrade was observed");
    assert!(
        t.false_accepts.is_empty(),
        "false accepts: {:#?}",
        t.false_accepts
    );
    assert!(t.downgrades.is_empty(), "downgrades: {:#?}", t.downgrades);
    assert!(
        t.false_rejects.is_empty(),
        "false rejects: {:#?}",
        t.false_rejects
    );
    assert!(
        t.message_diffs.is_empty(),
        "messages differ: {:#?}",
        t.message_diffs
    );
}
