//! The libpq features that came with a version, live against real psql/libpq 14 to 18 and
//! a server of the same version (`PGTLS_PG_VERSIONS`; 12 and 13 count as 14, whose libpq
//! talks to them):
//!
//! * `sslcertmode` (16+): every combination of sslmode (allow, prefer, require, verify-ca),
//!   sslcertmode, a client certificate or none, and a server that asks for one
//!   (`ssl_ca_file` set) or not, through psql and through `pgtls verify server`. On 16-18 the
//!   live outcome must also be the one recorded in `pgtls-verify/tests/sslcertmode.rs` (the
//!   table that test checks offline); before 16 both sides refuse the keyword.
//! * `sslnegotiation=direct` (17+): psql with direct TLS (ALPN `postgresql`) under every
//!   sslmode against `pgtls verify server --sslnegotiation direct`, and `pgtls probe --direct`
//!   against the same server: its capture says direct and ALPN `postgresql`, and its verdict
//!   per sslmode is psql's. Weak modes are refused before connecting; before 17 the keyword
//!   is refused; a 16 server does not speak direct TLS, and the probe says it failed.
//!
//! Each part prints its rows per version; a version with no rows fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgtls_testkit::Cluster;
use pgtls_testkit::pki::{Leaf, OpensslCa};
use verify_common::{HBA, TLS_ONLY_DB, libpq_attempts, q};

const HOST: &str = "db.example.test";
const QUERY: &str =
    "select ssl, coalesce(client_dn, '') from pg_stat_ssl where pid = pg_backend_pid()";

/// openssl-made files: a root, a server leaf for [`HOST`] under it, a client certificate
/// under it (the server's `ssl_ca_file` is the same root).
struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn pki() -> Pki {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-features-")
        .tempdir()
        .unwrap();
    let d = tmp.path().to_path_buf();
    let root = OpensslCa::root(&d, "root").unwrap();
    let san = format!("DNS:{HOST}");
    root.issue(
        "server",
        &format!("/CN={HOST}"),
        Leaf::Server(&[&san]),
        None,
    )
    .unwrap();
    root.issue("client", "/CN=postgres", Leaf::Client, None)
        .unwrap();
    let home = d.join("home");
    fs::create_dir_all(&home).unwrap();
    Pki {
        _tmp: tmp,
        dir: d,
        home,
    }
}

/// A cluster of `version` with ssl on (the server leaf), [`HBA`] and the tlsonly database.
fn cluster(version: u32, pki: &Pki) -> Cluster {
    let c = Cluster::builder().version(version).init().unwrap();
    c.copy_files(&pki.dir, &["server.crt", "server.key", "root.crt"], 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql(&format!("create database {TLS_ONLY_DB}")).unwrap();
    c
}

/// Sets `ssl_ca_file` (the server then asks for a client certificate) or clears it.
fn set_ca(c: &Cluster, ca: bool) {
    let v = if ca { "root.crt" } else { "" };
    c.write_file(
        "postgresql.auto.conf",
        format!("ssl_ca_file = '{v}'\n").as_bytes(),
        0o600,
    )
    .unwrap();
    c.reload().unwrap();
    assert_eq!(c.sql("show ssl_ca_file").unwrap().trim(), v);
}

/// psql's outcome: `TLS, certificate sent` / `TLS, no certificate sent` / `plaintext`, or
/// libpq's message for the attempt (allow's refused plaintext attempt dropped).
fn psql_outcome(c: &Cluster, conninfo: &str, home: &Path) -> String {
    let home = home.display().to_string();
    let out = verify_common::psql(
        c.client_build(),
        conninfo,
        &["-X", "-At", "-F", "|", "-c", QUERY],
        &[("HOME", home.as_str())],
    );
    if out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        return match text.split_once('|') {
            Some(("t", "")) => "TLS, no certificate sent".into(),
            Some(("t", _)) => "TLS, certificate sent".into(),
            Some(("f", _)) => "plaintext".into(),
            _ => format!("BROKEN: psql printed {text:?}"),
        };
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    libpq_attempts(&stderr)
        .into_iter()
        .find(|m| {
            !(m.starts_with("FATAL:  pg_hba.conf rejects connection")
                && m.contains("no encryption"))
        })
        .unwrap_or_else(|| format!("BROKEN: no message in {stderr:?}"))
}

/// `pgtls` with `args` (and `--json`): the outcome as [`psql_outcome`] words it, and the JSON.
fn pgtls_outcome(args: &[String], home: &Path) -> (String, serde_json::Value) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args).arg("--json").env("HOME", home);
    for v in verify_common::LIBPQ_ENV {
        c.env_remove(v);
    }
    let out = c.output().unwrap();
    let j: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(j) => j,
        Err(e) => {
            return (
                format!(
                    "BROKEN: pgtls exit {:?}, stdout not JSON ({e}): {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ),
                serde_json::Value::Null,
            );
        }
    };
    (verdict_words(&j), j)
}

/// A `verdict_json` object as [`psql_outcome`] words it.
fn verdict_words(j: &serde_json::Value) -> String {
    match j["verdict"].as_str() {
        Some("accept") if j["client_cert_sent"] == true => "TLS, certificate sent".into(),
        Some("accept") => "TLS, no certificate sent".into(),
        Some("reject") => j["message"]
            .as_str()
            .and_then(|m| m.lines().next())
            .unwrap_or("(no message)")
            .to_string(),
        other => format!("BROKEN: verdict {other:?}"),
    }
}

/// The table recorded in pgtls-verify/tests/sslcertmode.rs (libpq 16.15, 17.11, 18.6):
/// "sslmode sslcertmode cert requested" => outcome.
fn recorded_sslcertmode() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pgtls-verify/tests/sslcertmode.rs");
    let text = fs::read_to_string(&path).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let l = line.trim();
        let Some(row) = l.strip_prefix('"').and_then(|r| r.strip_suffix("\",")) else {
            continue;
        };
        if let Some((lhs, want)) = row.split_once(" => ") {
            let key = lhs.split_whitespace().collect::<Vec<_>>().join(" ");
            m.insert(key, want.to_string());
        }
    }
    assert!(
        m.len() >= 48,
        "{}: {} recorded rows",
        path.display(),
        m.len()
    );
    m
}

struct Tally {
    rows: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            rows: 0,
            wrong: Vec::new(),
        }
    }

    fn compare(&mut self, what: &str, libpq: &str, pgtls: &str) {
        self.rows += 1;
        if libpq.starts_with("BROKEN") || libpq != pgtls {
            let fa = if libpq.starts_with("TLS") || pgtls.starts_with("BROKEN") {
                ""
            } else if pgtls.starts_with("TLS") {
                " FALSE ACCEPT"
            } else {
                ""
            };
            self.wrong.push(format!(
                "{what}:{fa}\n      libpq: {libpq}\n      pgtls: {pgtls}"
            ));
        }
    }
}

#[test]
fn sslcertmode_live_every_version() {
    let pki = pki();
    let recorded = recorded_sslcertmode();
    let mut failures = String::new();
    for version in verify_common::client_versions() {
        let start = std::time::Instant::now();
        let c = cluster(version, &pki);
        let mut t = Tally::new();
        let mut recorded_rows = 0;
        for requested in [false, true] {
            set_ca(&c, requested);
            for mode in ["allow", "prefer", "require", "verify-ca"] {
                for certmode in ["disable", "allow", "require", "bogus"] {
                    for cert in [false, true] {
                        let mut ci = format!(
                            "host={HOST} hostaddr=127.0.0.1 port={} user=postgres sslmode={mode} \
                             sslcertmode={certmode} sslrootcert={}",
                            c.port(),
                            q(&pki.path("root.crt"))
                        );
                        let mut args: Vec<String> = [
                            "verify",
                            "server",
                            "--host",
                            HOST,
                            "--hostaddr",
                            "127.0.0.1",
                            "--sslmode",
                            mode,
                            "--sslcertmode",
                            certmode,
                            "--sslrootcert",
                        ]
                        .map(String::from)
                        .to_vec();
                        args.push(pki.path("root.crt"));
                        if cert {
                            ci.push_str(&format!(
                                " sslcert={} sslkey={}",
                                q(&pki.path("client.crt")),
                                q(&pki.path("client.key"))
                            ));
                            args.extend([
                                "--sslcert".into(),
                                pki.path("client.crt"),
                                "--sslkey".into(),
                                pki.path("client.key"),
                            ]);
                        }
                        if requested {
                            args.push("--server-requests-cert".into());
                        }
                        args.extend([
                            "--pg-version".into(),
                            version.to_string(),
                            "--chain".into(),
                            pki.path("server.crt"),
                        ]);
                        let key = format!(
                            "{mode} {certmode} {} {}",
                            if cert { "given" } else { "none" },
                            if requested { "yes" } else { "no" }
                        );
                        let libpq =
                            psql_outcome(&c, &format!("{ci} dbname={TLS_ONLY_DB}"), &pki.home);
                        let (ours, j) = pgtls_outcome(&args, &pki.home);
                        t.compare(&format!("libpq {version}: {key}"), &libpq, &ours);
                        if version >= 16 && certmode != "bogus" {
                            let want = recorded.get(&key).unwrap_or_else(|| {
                                panic!("no recorded row for {key:?} in sslcertmode.rs")
                            });
                            recorded_rows += 1;
                            if &libpq != want {
                                t.wrong.push(format!(
                                    "libpq {version}: {key}: live {libpq:?}, recorded in pgtls-verify/tests/sslcertmode.rs {want:?}"
                                ));
                            }
                        }
                        // Plaintext allowed (database postgres): prefer falls back exactly
                        // when pgtls says so, and no mode falls back under sslcertmode=require.
                        if mode == "prefer" || mode == "allow" {
                            let plain =
                                psql_outcome(&c, &format!("{ci} dbname=postgres"), &pki.home);
                            t.rows += 1;
                            if version >= 16 && certmode == "require" && plain == "plaintext" {
                                t.wrong.push(format!(
                                    "libpq {version}: {key}: a plaintext session under sslcertmode=require (the oracle's assumption)"
                                ));
                            }
                            let fell_back = plain == "plaintext";
                            if mode == "prefer" && j["plaintext_fallback"] != fell_back {
                                t.wrong.push(format!(
                                    "libpq {version}: {key}: plaintext allowed gave {plain:?}, pgtls plaintext_fallback={}",
                                    j["plaintext_fallback"]
                                ));
                            }
                        }
                    }
                }
            }
        }
        println!(
            "libpq {version}: sslcertmode {} rows ({recorded_rows} against the recorded table), {} differ, {:.0?}",
            t.rows,
            t.wrong.len(),
            start.elapsed()
        );
        if t.rows == 0 {
            failures.push_str(&format!("libpq {version}: no rows\n"));
        }
        for w in &t.wrong {
            failures.push_str(w);
            failures.push('\n');
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// `pgtls probe --direct` against the cluster: (exit code, JSON or stderr).
fn probe(c: &Cluster, version: u32, pki: &Pki, host: &str, direct: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args(["probe", &format!("127.0.0.1:{}", c.port())])
        .args(["--host", host, "--sslrootcert", &pki.path("root.crt")])
        .args(["--pg-version", &version.to_string(), "--json"]);
    if direct {
        cmd.arg("--direct");
    }
    for v in verify_common::LIBPQ_ENV {
        cmd.env_remove(v);
    }
    cmd.env("HOME", &pki.home);
    let out = cmd.output().unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn sslnegotiation_direct_live_every_version() {
    let pki = pki();
    let mut failures = String::new();
    for version in verify_common::client_versions() {
        let start = std::time::Instant::now();
        let c = cluster(version, &pki);
        let mut t = Tally::new();
        let mut probe_rows = 0;
        for (neg, host) in [
            ("direct", HOST),
            ("direct", "other.example.test"),
            ("postgres", HOST),
            ("bogus", HOST),
        ] {
            let mut libpq_by_mode = BTreeMap::new();
            for mode in [
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
            ] {
                // disable speaks plaintext, which tlsonly refuses: it goes to postgres.
                let db = if mode == "disable" {
                    "postgres"
                } else {
                    TLS_ONLY_DB
                };
                let ci = format!(
                    "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname={db} \
                     sslmode={mode} sslnegotiation={neg} sslrootcert={}",
                    c.port(),
                    q(&pki.path("root.crt"))
                );
                let mut libpq = psql_outcome(&c, &ci, &pki.home);
                // disable: a plaintext session is libpq's "no TLS", which pgtls reports as a
                // refusal with its own text.
                if mode == "disable" && libpq == "plaintext" {
                    libpq = pgtls_verify::DISABLE_MESSAGE.to_string();
                }
                let args: Vec<String> = [
                    "verify",
                    "server",
                    "--host",
                    host,
                    "--hostaddr",
                    "127.0.0.1",
                    "--sslmode",
                    mode,
                    "--sslnegotiation",
                    neg,
                    "--sslrootcert",
                    &pki.path("root.crt"),
                    "--pg-version",
                    &version.to_string(),
                    "--chain",
                    &pki.path("server.crt"),
                ]
                .map(String::from)
                .to_vec();
                let (ours, _) = pgtls_outcome(&args, &pki.home);
                t.compare(
                    &format!("libpq {version}: sslnegotiation={neg} sslmode={mode} host={host}"),
                    &libpq,
                    &ours,
                );
                libpq_by_mode.insert(mode.to_string(), libpq);
            }
            if neg != "direct" || version < 17 {
                continue;
            }
            // The probe speaks direct TLS to the same server: its verdicts are psql's.
            let (code, text) = probe(&c, version, &pki, host, true);
            if code != 0 {
                t.wrong.push(format!(
                    "libpq {version}: probe --direct failed (exit {code}): {text}"
                ));
                continue;
            }
            let j: serde_json::Value = serde_json::from_str(&text).unwrap();
            if j["negotiation"] != "direct" || j["alpn"] != "postgresql" {
                t.wrong.push(format!(
                    "libpq {version}: probe --direct captured negotiation {} alpn {}",
                    j["negotiation"], j["alpn"]
                ));
            }
            for row in j["sslmodes"].as_array().unwrap() {
                let mode = row["sslmode"].as_str().unwrap();
                probe_rows += 1;
                t.compare(
                    &format!("probe --direct --pg-version {version} host={host} sslmode={mode}"),
                    &libpq_by_mode[mode],
                    &verdict_words(row),
                );
            }
        }
        // Before 17 the server does not speak direct TLS: the probe must say it failed.
        if version < 17 {
            let (code, text) = probe(&c, version, &pki, HOST, true);
            t.rows += 1;
            if code == 0 {
                t.wrong.push(format!(
                    "probe --direct against a PostgreSQL {version} server claims a capture: {text}"
                ));
            }
        }
        println!(
            "libpq {version}: sslnegotiation {} rows ({probe_rows} from probe --direct), {} differ, {:.0?}",
            t.rows,
            t.wrong.len(),
            start.elapsed()
        );
        if t.rows == 0 {
            failures.push_str(&format!("libpq {version}: no rows\n"));
        }
        for w in &t.wrong {
            failures.push_str(w);
            failures.push('\n');
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// Connection keywords that came with a version: each in a conninfo string, psql of each
/// libpq version refuses it as `invalid connection option "K"` or not, and
/// `pgtls verify server --conninfo ... --pg-version N` must say the same (a keyword libpq
/// refuses, pgtls accepting it, would be a false accept).
#[test]
fn conninfo_keywords_every_version() {
    const KEYWORDS: &[&str] = &[
        "sslmode",
        "channel_binding",
        "sslpassword",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "sslcrldir",
        "sslsni",
        "sslcertmode",
        "require_auth",
        "gssdelegation",
        "load_balance_hosts",
        "sslnegotiation",
        "min_protocol_version",
        "max_protocol_version",
        "sslkeylogfile",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
        "scram_client_key",
        "scram_server_key",
    ];
    let pki = pki();
    let mut failures = String::new();
    for version in verify_common::client_versions() {
        let client = pgtls_testkit::PgBuild::client(version).unwrap();
        let mut rows = 0;
        let mut refused = 0;
        for k in KEYWORDS {
            let unknown = format!("invalid connection option \"{k}\"");
            let ci = format!("host=/nonexistent port=1 {k}=x");
            let out = verify_common::psql(&client, &ci, &["-X", "-c", "select 1"], &[]);
            let libpq = String::from_utf8_lossy(&out.stderr).contains(&unknown);
            let args: Vec<String> = [
                "verify",
                "server",
                "--conninfo",
                &format!("host={HOST} sslmode=require {k}=x"),
                "--pg-version",
                &version.to_string(),
                "--chain",
                &pki.path("server.crt"),
            ]
            .map(String::from)
            .to_vec();
            let (ours, _) = pgtls_outcome(&args, &pki.home);
            rows += 1;
            refused += usize::from(libpq);
            if libpq != (ours == unknown) {
                failures.push_str(&format!(
                    "libpq {version}: {k}: libpq {} it, pgtls says {ours:?}\n",
                    if libpq { "refuses" } else { "knows" }
                ));
            }
        }
        println!("libpq {version}: conninfo keywords {rows} rows, {refused} unknown to this libpq");
        if rows == 0 {
            failures.push_str(&format!("libpq {version}: no rows\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
