//! Version-specific TLS settings, live: each libpq 14 to 18 (`PGTLS_PG_VERSIONS`; 12 and 13
//! count as 14, whose libpq talks to them) against a server of the same version, one cluster
//! per version, psql of that version as the oracle, `pgtls verify server` (the contract) and
//! `pgtls_postgres::connect` (the Rust client) held to it:
//!
//! * `sslrootcert=system` (16+; before, a relative file named `system`): OpenSSL's default
//!   store, set with `SSL_CERT_FILE` or `SSL_CERT_DIR` (an openssl-made root, a hashed
//!   directory of it, an unrelated root), under every sslmode and the default.
//! * `ssl_min_protocol_version` / `ssl_max_protocol_version` (client, 13+): valid and invalid
//!   values, any case, bad ranges, against a server with and without
//!   `ssl_max_protocol_version = 'TLSv1.2'`; `pgtls probe` reports the protocol psql got.
//! * Server key-exchange groups and TLS 1.3 suites: `ssl_groups` and `ssl_tls13_ciphers`
//!   (18), `ssl_ecdh_curve` (before 18): psql, `pgtls probe` and `pgtls_postgres` connect or
//!   fail alike.
//! * `sslkeylogfile` (18): psql and `pgtls_postgres` both write NSS key log lines with the
//!   same labels, mode 0600; an unwritable path does not stop either.
//! * SNI (`sslsni`, 14+): what psql, `pgtls_postgres` and `pgtls probe` send, seen by a
//!   listener on 127.0.0.1 that reads the ClientHello, against `policy::sni_name`.
//! * `~` (14: the password database's home; 15+: `$HOME` first): libpq's default root file
//!   under `HOME` and under the passwd entry (libnss-wrapper gives psql and pgtls a passwd
//!   entry of our own), psql against `pgtls verify server`.
//!
//! On 15 every row runs; elsewhere (`PGTLS_PG_MATRIX=sample`) all but `sslmode=prefer` with
//! `sslrootcert=system` and `sslsni=1` (the default spelled out). Each
//! version prints its row counts; a version with no rows fails, and so does any difference
//! not listed in [`KNOWN`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pgtls_postgres::Options;
use pgtls_testkit::{Cluster, PgBuild};
use pgtls_verify::{Env, PgVersion};
use verify_common::{libpq_attempts, q};

const HOST: &str = "db.example.test";
const HBA: &str = "local all all trust\n\
                   hostnossl tlsonly all 127.0.0.1/32 reject\n\
                   hostssl all all 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 trust\n";
const SSL_QUERY: &str =
    "select ssl, coalesce(version, '') from pg_stat_ssl where pid = pg_backend_pid()";
/// libnss-wrapper's library (Debian `libnss-wrapper`).
const NSS_WRAPPER: &str = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so";

/// Differences that are deliberate, with the reason: (section, row key, reason). A listed
/// row that runs and agrees fails (the entry is stale).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "protocol",
        "server max TLSv1.2, client min TLSv1 max TLSv1",
        "rustls speaks TLS 1.2 and 1.3 only: pgtls_postgres refuses ssl_max_protocol_version=TLSv1 before connecting, where libpq tries and fails in the handshake",
    ),
    (
        "protocol",
        "server max -, client min TLSv1 max TLSv1",
        "rustls speaks TLS 1.2 and 1.3 only (as above)",
    ),
    (
        "sni",
        "host=0x7f.0.0.1 sslsni=(default)",
        "rustls takes no DNS name that ends in a numeric label: libpq sends SNI 0x7f.0.0.1, pgtls probe sends none, pgtls_postgres refuses (the host \"0x7f.0.0.1\" cannot be sent as a TLS server name (SNI); set sslsni=0)",
    ),
    (
        "sni",
        "host=0x7f.0.0.1 sslsni=1",
        "as host=0x7f.0.0.1 sslsni=(default)",
    ),
    (
        "groups",
        "ssl_groups=X448",
        "rustls (aws-lc-rs) has no X448 key exchange: psql connects, pgtls probe and pgtls_postgres cannot (a false refusal, never an accept)",
    ),
];

fn known(section: &str, key: &str) -> bool {
    KNOWN.iter().any(|(s, k, _)| *s == section && *k == key)
}

struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn ossl(d: &Path, args: &str) -> std::process::Output {
    pgtls_testkit::openssl(d, &args.split_whitespace().collect::<Vec<_>>())
        .unwrap_or_else(|e| panic!("openssl {args}: {e}"))
}

/// openssl-made: `root` and `other` (unrelated) roots, a server leaf for [`HOST`] under
/// `root`, `certs/` holding `root` by its subject hash (a `SSL_CERT_DIR`), `empty/`, and
/// homes for the `~` rows.
fn pki() -> Pki {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-tlsfeat-")
        .tempdir()
        .unwrap();
    let d = tmp.path().to_path_buf();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        d.join("ext.cnf"),
        format!("[srv]\nsubjectAltName=DNS:{HOST}\n"),
    )
    .unwrap();
    for root in ["root", "other"] {
        ossl(
            &d,
            &format!(
                "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {root}.key \
                 -out {root}.crt -subj /CN=tlsfeat-{root} -days 30 \
                 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
            ),
        );
    }
    ossl(
        &d,
        &format!(
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
             -out server.csr -subj /CN={HOST}"
        ),
    );
    ossl(
        &d,
        "x509 -req -in server.csr -CA root.crt -CAkey root.key -CAcreateserial -out server.crt \
         -days 30 -extfile ext.cnf -extensions srv",
    );
    let hash = String::from_utf8(ossl(&d, "x509 -hash -noout -in root.crt").stdout).unwrap();
    for sub in [
        "certs",
        "empty",
        "envhome/.postgresql",
        "pwhome/.postgresql",
        "keys",
    ] {
        fs::create_dir_all(d.join(sub)).unwrap();
    }
    fs::copy(
        d.join("root.crt"),
        d.join("certs").join(format!("{}.0", hash.trim())),
    )
    .unwrap();
    // The `~` rows: $HOME holds the wrong root, the passwd entry's home the right one.
    fs::copy(d.join("other.crt"), d.join("envhome/.postgresql/root.crt")).unwrap();
    fs::copy(d.join("root.crt"), d.join("pwhome/.postgresql/root.crt")).unwrap();
    Pki { _tmp: tmp, dir: d }
}

/// A cluster of `version` with ssl on (the server leaf), [`HBA`] and the tlsonly database.
fn cluster(version: u32, pki: &Pki) -> Cluster {
    let c = Cluster::builder().version(version).init().unwrap();
    for f in ["server.crt", "server.key"] {
        c.write_file(f, &fs::read(pki.dir.join(f)).unwrap(), 0o600)
            .unwrap();
    }
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql("create database tlsonly").unwrap();
    c
}

/// Replaces `postgresql.auto.conf` with `settings` and reloads (ssl settings are SIGHUP).
fn set_server(c: &Cluster, settings: &[(&str, &str)]) {
    let text: String = settings
        .iter()
        .map(|(k, v)| format!("{k} = '{v}'\n"))
        .collect();
    c.write_file("postgresql.auto.conf", text.as_bytes(), 0o600)
        .unwrap();
    c.reload().unwrap();
    for (k, v) in settings {
        assert_eq!(
            c.sql(&format!("show {k}")).unwrap().trim(),
            *v,
            "{}",
            c.log()
        );
    }
}

/// psql's outcome: `TLS <version>` / `plaintext`, or libpq's first message (allow's refused
/// plaintext attempt dropped).
fn psql_outcome(client: &PgBuild, conninfo: &str, env: &[(&str, &str)]) -> String {
    let out = psql_cmd(client, conninfo, env).output().unwrap();
    outcome_of(&out)
}

fn psql_cmd(client: &PgBuild, conninfo: &str, env: &[(&str, &str)]) -> Command {
    let mut c = client.psql();
    c.arg("-d")
        .arg(conninfo)
        .args(["-X", "-At", "-F", " ", "-c", SSL_QUERY]);
    for v in verify_common::LIBPQ_ENV {
        c.env_remove(v);
    }
    for v in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "PGSSLMINPROTOCOLVERSION",
        "PGSSLMAXPROTOCOLVERSION",
    ] {
        c.env_remove(v);
    }
    c.env("PGCONNECT_TIMEOUT", "20");
    for (k, v) in env {
        if k.is_empty() {
            continue;
        }
        if v.is_empty() && *k == "HOME" {
            c.env(k, "");
        } else {
            c.env(k, v);
        }
    }
    c
}

fn outcome_of(out: &std::process::Output) -> String {
    if out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        return match text.split_once(' ') {
            Some(("t", v)) => format!("TLS {v}"),
            None if text == "f" => "plaintext".into(),
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

/// `pgtls verify server --conninfo CI --pg-version V --chain server.crt`: `TLS` or the
/// refusal's first line.
fn verify_outcome(pki: &Pki, version: u32, conninfo: &str, env: &[(&str, &str)]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(["verify", "server", "--conninfo", conninfo]).args([
        "--pg-version",
        &version.to_string(),
        "--chain",
        &pki.path("server.crt"),
    ]);
    for v in verify_common::LIBPQ_ENV {
        c.env_remove(v);
    }
    for v in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "PGSSLMINPROTOCOLVERSION",
        "PGSSLMAXPROTOCOLVERSION",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        if !k.is_empty() {
            c.env(k, v);
        }
    }
    let out = c.output().unwrap();
    match out.status.code() {
        Some(0) => "TLS".into(),
        Some(1) => String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or("(no message)")
            .to_string(),
        other => format!(
            "BROKEN: pgtls exit {other:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// `pgtls_postgres::connect` with `env` as its environment, on a thread of its own (a
/// blocked read must not hang the test): `TLS <version>` / `plaintext` / the first line.
fn pg_outcome(version: u32, conninfo: &str, env: Env) -> String {
    let (tx, rx) = mpsc::channel();
    let ci = conninfo.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(async {
            let v = PgVersion::new(version).unwrap();
            match Options::new().pg_version(v).env(env).connect(&ci).await {
                Ok((client, connection)) => {
                    let task = tokio::spawn(connection);
                    let row = client.query_one(SSL_QUERY, &[]).await;
                    drop(client);
                    let _ = task.await;
                    match row {
                        Ok(r) if r.get::<_, bool>(0) => format!("TLS {}", r.get::<_, String>(1)),
                        Ok(_) => "plaintext".to_string(),
                        Err(e) => format!("BROKEN: query: {e}"),
                    }
                }
                Err(e) => {
                    // psql's text after `connection to server at ... failed: `, as for psql.
                    let m = e.libpq_message();
                    libpq_attempts(&m)
                        .into_iter()
                        .find(|m| {
                            !(m.starts_with("FATAL:  pg_hba.conf rejects connection")
                                && m.contains("no encryption"))
                        })
                        .unwrap_or_else(|| "(no message)".to_string())
                }
            }
        });
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| "BROKEN: pgtls-postgres blocked".into())
}

/// The environment [`pg_outcome`] gets: HOME, the given variables, the passwd home.
fn env_of(home: &Path, vars: &[(&str, &str)]) -> Env {
    let mut e = Env::empty()
        .with_var("HOME", &home.display().to_string())
        .with_var("PGCONNECT_TIMEOUT", "20")
        .with_passwd_home(Some(home.to_path_buf()));
    for (k, v) in vars {
        if !k.is_empty() {
            e = e.with_var(k, v);
        }
    }
    e
}

/// `pgtls probe 127.0.0.1:PORT --host H --sslrootcert root --json`: the JSON, or the error.
fn probe(pki: &Pki, port: u16, version: u32, host: &str) -> Result<serde_json::Value, String> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(["probe", &format!("127.0.0.1:{port}"), "--host", host])
        .args(["--sslrootcert", &pki.path("root.crt")])
        .args(["--pg-version", &version.to_string(), "--json"]);
    for v in verify_common::LIBPQ_ENV {
        c.env_remove(v);
    }
    c.env("HOME", pki.dir.join("empty"));
    let out = c.output().unwrap();
    if out.status.success() {
        serde_json::from_slice(&out.stdout).map_err(|e| format!("probe JSON: {e}"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

struct Tally {
    section: &'static str,
    rows: usize,
    known: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn new(section: &'static str) -> Self {
        Self {
            section,
            rows: 0,
            known: 0,
            wrong: Vec::new(),
        }
    }

    /// One row: `libpq` is psql's outcome; each `(who, outcome)` must equal it.
    fn row(&mut self, version: u32, key: &str, libpq: &str, others: &[(&str, &str)]) {
        self.rows += 1;
        if std::env::var_os("PGTLS_TLSFEAT_VERBOSE").is_some() {
            println!("libpq {version}: {}: {key}: {libpq}", self.section);
        }
        let differs: Vec<_> = others
            .iter()
            .filter(|(_, o)| libpq.starts_with("BROKEN") || o != &libpq)
            .collect();
        if differs.is_empty() {
            if known(self.section, key) {
                self.wrong.push(format!(
                    "libpq {version}: {}: {key}: listed in KNOWN but agrees now: remove the entry",
                    self.section
                ));
            }
            return;
        }
        if known(self.section, key) {
            self.known += 1;
            return;
        }
        let mut msg = format!(
            "libpq {version}: {}: {key}:\n      psql: {libpq}",
            self.section
        );
        for (who, o) in differs {
            let fa = if o.starts_with("TLS") && !libpq.starts_with("TLS") {
                " FALSE ACCEPT"
            } else {
                ""
            };
            msg.push_str(&format!("\n      {who}:{fa} {o}"));
        }
        self.wrong.push(msg);
    }

    /// The oracle did what the row is for (a setup that silently tests nothing fails).
    fn expect(&mut self, version: u32, what: &str, ok: bool, got: &str) {
        if !ok {
            self.wrong.push(format!(
                "libpq {version}: {}: {what}, but psql gave {got:?}",
                self.section
            ));
        }
    }

    fn report(&self, version: u32, out: &mut Vec<String>) -> String {
        out.extend(self.wrong.iter().cloned());

        if self.rows == 0 {
            out.push(format!("libpq {version}: {}: no rows", self.section));
        }
        format!(
            "{} {} rows ({} known, {} differ)",
            self.section,
            self.rows,
            self.known,
            self.wrong.len()
        )
    }
}

/// `sslrootcert=system` (16+), a relative file name before.
fn system_roots(c: &Cluster, pki: &Pki, version: u32, t: &mut Tally) {
    let client = c.client_build();
    let home = pki.dir.join("empty");
    let stores: [(&str, [(&str, String); 2]); 3] = [
        (
            "SSL_CERT_FILE=root",
            [("SSL_CERT_FILE", pki.path("root.crt")), ("", String::new())],
        ),
        (
            "SSL_CERT_DIR=hashed root",
            [
                ("SSL_CERT_FILE", pki.path("empty/none.pem")),
                ("SSL_CERT_DIR", pki.path("certs")),
            ],
        ),
        (
            "SSL_CERT_FILE=other root",
            [
                ("SSL_CERT_FILE", pki.path("other.crt")),
                ("SSL_CERT_DIR", pki.path("empty")),
            ],
        ),
    ];
    for (store, vars) in &stores {
        let mut env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let home_s = home.display().to_string();
        env.push(("HOME", &home_s));
        for mode in ["", "verify-full", "verify-ca", "require", "prefer"] {
            // The sample (off 15): `prefer` refuses as `require` does.
            if mode == "prefer" && !pgtls_testkit::full_matrix(version).unwrap() {
                continue;
            }
            for host in [HOST, "other.example.test"] {
                let mut ci = format!(
                    "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
                     sslrootcert=system gssencmode=disable",
                    c.port()
                );
                if !mode.is_empty() {
                    ci.push_str(&format!(" sslmode={mode}"));
                }
                let libpq = psql_outcome(client, &ci, &env);
                if *store != "SSL_CERT_FILE=other root" && host == HOST && mode == "verify-full" {
                    let want = if version >= 16 {
                        "TLS TLSv1.3"
                    } else {
                        "root certificate file \"system\" does not exist"
                    };
                    t.expect(
                        version,
                        &format!("{store}: verify-full must give {want:?}"),
                        libpq == want,
                        &libpq,
                    );
                }
                let ours = verify_outcome(pki, version, &ci, &env);
                let pg = pg_outcome(version, &ci, env_of(&home, &env));
                // verify server says TLS without the protocol version.
                let ours = if ours == "TLS" && libpq.starts_with("TLS") {
                    libpq.clone()
                } else {
                    ours
                };
                t.row(
                    version,
                    &format!(
                        "{store} sslmode={} host={host}",
                        if mode.is_empty() { "(default)" } else { mode }
                    ),
                    &libpq,
                    &[("pgtls verify server", &ours), ("pgtls_postgres", &pg)],
                );
            }
        }
    }
}

/// Client `ssl_min/max_protocol_version` against a server with and without a TLS 1.2 cap.
fn protocol_bounds(c: &Cluster, pki: &Pki, version: u32, t: &mut Tally, probes: &mut usize) {
    let client = c.client_build();
    let home = pki.dir.join("empty");
    let home_s = home.display().to_string();
    let env = [("HOME", home_s.as_str())];
    let bounds: &[(Option<&str>, Option<&str>)] = &[
        (None, None),
        (Some("TLSv1.3"), None),
        (Some("tlsv1.3"), None),
        (None, Some("TLSv1.2")),
        (Some("TLSv1.2"), Some("TLSv1.2")),
        (Some("TLSv1.3"), Some("TLSv1.2")),
        (Some("TLSv1"), Some("TLSv1")),
        (Some("bogus"), None),
        (None, Some("TLSv1.4")),
        (Some(""), None),
    ];
    for server_max in ["", "TLSv1.2"] {
        set_server(c, &[("ssl_max_protocol_version", server_max)]);
        for (min, max) in bounds {
            let mut ci = format!(
                "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
                 sslmode=verify-full sslrootcert={} gssencmode=disable",
                c.port(),
                q(&pki.path("root.crt"))
            );
            if let Some(m) = min {
                ci.push_str(&format!(" ssl_min_protocol_version={}", q(m)));
            }
            if let Some(m) = max {
                ci.push_str(&format!(" ssl_max_protocol_version={}", q(m)));
            }
            let libpq = psql_outcome(client, &ci, &env);
            let pg = pg_outcome(version, &ci, env_of(&home, &[]));
            let key = format!(
                "server max {}, client min {} max {}",
                if server_max.is_empty() {
                    "-"
                } else {
                    server_max
                },
                min.map_or("-", |m| if m.is_empty() { "''" } else { m }),
                max.unwrap_or("-")
            );
            // verify server judges the chain: a refusal in the handshake (protocol versions)
            // is beyond it, so it is compared where libpq refuses before connecting or
            // connects.
            let ours = verify_outcome(pki, version, &ci, &env);
            let mut others = vec![("pgtls_postgres", pg.as_str())];
            let ours_shown;
            if !libpq.starts_with("SSL error") {
                ours_shown = if ours == "TLS" && libpq.starts_with("TLS") {
                    libpq.clone()
                } else {
                    ours
                };
                others.push(("pgtls verify server", &ours_shown));
            }
            t.row(version, &key, &libpq, &others);
        }
        // The probe reports the protocol the server chose for psql's default bounds.
        let want = psql_outcome(
            client,
            &format!(
                "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
                 sslmode=require gssencmode=disable",
                c.port()
            ),
            &env,
        );
        let got = match probe(pki, c.port(), version, HOST) {
            Ok(j) => format!(
                "TLS {}",
                j["protocol"]
                    .as_str()
                    .unwrap_or("?")
                    .replace("TLSv1_", "TLSv1.")
            ),
            Err(e) => format!("probe failed: {e}"),
        };
        *probes += 1;
        t.row(
            version,
            &format!("probe protocol, server max {server_max:?}"),
            &want,
            &[("pgtls probe", &got)],
        );
    }
    set_server(c, &[]);
}

/// Key-exchange groups and TLS 1.3 suites the server is limited to.
fn groups_and_suites(c: &Cluster, pki: &Pki, version: u32, t: &mut Tally) {
    let client = c.client_build();
    let home = pki.dir.join("empty");
    let home_s = home.display().to_string();
    let env = [("HOME", home_s.as_str())];
    let settings: Vec<(&str, &str)> = if version >= 18 {
        vec![
            ("ssl_groups", "secp521r1"),
            ("ssl_groups", "secp384r1"),
            ("ssl_groups", "X25519"),
            ("ssl_groups", "prime256v1:X25519"),
            ("ssl_groups", "X448"),
            ("ssl_tls13_ciphers", "TLS_AES_256_GCM_SHA384"),
            ("ssl_tls13_ciphers", "TLS_CHACHA20_POLY1305_SHA256"),
            ("ssl_tls13_ciphers", "TLS_AES_128_CCM_SHA256"),
        ]
    } else {
        vec![
            ("ssl_ecdh_curve", "secp521r1"),
            ("ssl_ecdh_curve", "secp384r1"),
        ]
    };
    for (name, value) in settings {
        set_server(c, &[(name, value)]);
        let ci = format!(
            "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
             sslmode=verify-full sslrootcert={} gssencmode=disable",
            c.port(),
            q(&pki.path("root.crt"))
        );
        let libpq = psql_outcome(client, &ci, &env);
        let pg = pg_outcome(version, &ci, env_of(&home, &[]));
        // The probe: a capture whose verify-full verdict is psql's.
        let pr = match probe(pki, c.port(), version, HOST) {
            Ok(j) => j["sslmodes"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["sslmode"] == "verify-full"))
                .map_or_else(
                    || "probe: no verify-full row".to_string(),
                    |r| match r["verdict"].as_str() {
                        Some("accept") => format!(
                            "TLS {}",
                            j["protocol"]
                                .as_str()
                                .unwrap_or("?")
                                .replace("TLSv1_", "TLSv1.")
                        ),
                        _ => r["message"].as_str().unwrap_or("?").to_string(),
                    },
                ),
            Err(e) => format!("probe failed: {}", e.lines().next().unwrap_or("")),
        };
        // A failed handshake: the texts differ between OpenSSL and rustls; both must fail.
        let norm = |s: &str| {
            if s.starts_with("TLS") {
                s.to_string()
            } else {
                "handshake fails".to_string()
            }
        };
        let l = norm(&libpq);
        if value == "secp521r1" {
            t.expect(
                version,
                "psql must connect to a secp521r1-only server",
                l.starts_with("TLS"),
                &l,
            );
        }
        t.row(
            version,
            &format!("{name}={value}"),
            &l,
            &[("pgtls_postgres", &norm(&pg)), ("pgtls probe", &norm(&pr))],
        );
    }
    set_server(c, &[]);
}

/// The labels of an NSS key log file, and its mode; checks each line's shape.
fn keylog(path: &Path) -> Result<(BTreeSet<String>, u32), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let mut labels = BTreeSet::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if f.len() != 3 || f[1].len() != 64 || !hex(f[1]) || !hex(f[2]) {
            return Err(format!(
                "{}: not an NSS key log line: {l:?}",
                path.display()
            ));
        }
        labels.insert(f[0].to_string());
    }
    Ok((labels, mode))
}

/// `sslkeylogfile` (18): both clients write the same labels, 0600.
fn keylogfile(c: &Cluster, pki: &Pki, version: u32, t: &mut Tally) {
    let client = c.client_build();
    let home = pki.dir.join("empty");
    let home_s = home.display().to_string();
    let env = [("HOME", home_s.as_str())];
    for server_max in ["", "TLSv1.2"] {
        set_server(c, &[("ssl_max_protocol_version", server_max)]);
        let tag = if server_max.is_empty() {
            "tls13"
        } else {
            "tls12"
        };
        let (lp, ours) = (
            pki.dir.join(format!("keys/psql-{tag}.log")),
            pki.dir.join(format!("keys/pgtls-{tag}.log")),
        );
        let ci = |file: &Path| {
            format!(
                "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
                 sslmode=verify-full sslrootcert={} gssencmode=disable sslkeylogfile={}",
                c.port(),
                q(&pki.path("root.crt")),
                q(&file.display().to_string())
            )
        };
        let libpq = psql_outcome(client, &ci(&lp), &env);
        let pg = pg_outcome(version, &ci(&ours), env_of(&home, &[]));
        let verify = verify_outcome(pki, version, &ci(&ours), &env);
        let verify = if verify == "TLS" && libpq.starts_with("TLS") {
            libpq.clone()
        } else {
            verify
        };
        let show = |r: Result<(BTreeSet<String>, u32), String>| match r {
            Ok((labels, mode)) => format!(
                "{} (mode {mode:o})",
                labels.into_iter().collect::<Vec<_>>().join(",")
            ),
            Err(e) => e,
        };
        let (a, b) = (show(keylog(&lp)), show(keylog(&ours)));
        let want = if server_max.is_empty() {
            "CLIENT_TRAFFIC_SECRET_0"
        } else {
            "CLIENT_RANDOM"
        };
        t.expect(
            version,
            &format!("psql's key log must hold {want}"),
            a.contains(want),
            &a,
        );
        t.row(
            version,
            &format!("sslkeylogfile, server max {server_max:?}"),
            &libpq,
            &[("pgtls_postgres", &pg), ("pgtls verify server", &verify)],
        );
        t.row(
            version,
            &format!("sslkeylogfile labels, server max {server_max:?}"),
            &a,
            &[("pgtls_postgres", &b)],
        );
    }
    set_server(c, &[]);
    // A file that cannot be opened: libpq warns and connects; so must pgtls_postgres.
    let bad = pki.dir.join("keys/missing-dir/k.log");
    let ci = format!(
        "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
         sslmode=verify-full sslrootcert={} gssencmode=disable sslkeylogfile={}",
        c.port(),
        q(&pki.path("root.crt")),
        q(&bad.display().to_string())
    );
    let out = psql_cmd(client, &ci, &env).output().unwrap();
    let libpq = outcome_of(&out);
    let warned =
        String::from_utf8_lossy(&out.stderr).contains("could not open SSL key logging file");
    let pg = pg_outcome(version, &ci, env_of(&home, &[]));
    t.row(
        version,
        "sslkeylogfile unwritable",
        &libpq,
        &[("pgtls_postgres", &pg)],
    );
    if !warned {
        t.wrong.push(format!(
            "libpq {version}: sslkeylogfile unwritable: psql gave no warning: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
}

/// What a ClientHello carried.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hello {
    sni: Option<String>,
}

/// A listener on 127.0.0.1 that answers libpq's SSLRequest with `S` (or takes a direct
/// ClientHello), reads the ClientHello, reports its server_name and closes.
struct Tap {
    port: u16,
    rx: mpsc::Receiver<Result<Hello, String>>,
}

impl Tap {
    fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let r = s
                    .map_err(|e| e.to_string())
                    .and_then(|mut s| read_hello(&mut s));
                // `pgtls probe` first tries a login without TLS (a plain StartupMessage):
                // no ClientHello, nothing to report about SNI.
                if r.as_ref().is_err_and(|e| e == PLAINTEXT_STARTUP) {
                    continue;
                }
                if tx.send(r).is_err() {
                    return;
                }
            }
        });
        Self { port, rx }
    }

    /// The hello of the connection a client just made (the client has finished).
    fn take(&self) -> Result<Hello, String> {
        self.rx
            .recv_timeout(Duration::from_secs(3))
            .map_err(|_| "no connection reached the listener".to_string())?
    }
}

/// What [`read_hello`] says of a protocol 3.0 StartupMessage (a login without TLS).
const PLAINTEXT_STARTUP: &str = "a StartupMessage without SSLRequest";

fn read_hello(s: &mut TcpStream) -> Result<Hello, String> {
    let e = |e: std::io::Error| e.to_string();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(e)?;
    let mut head = [0u8; 5];
    s.read_exact(&mut head[..1]).map_err(e)?;
    if head[0] != 0x16 {
        // A startup-phase packet: length, then the request code.
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).map_err(e)?;
        let code = u32::from_be_bytes([rest[3], rest[4], rest[5], rest[6]]);
        if code == 196_608 {
            return Err(PLAINTEXT_STARTUP.to_string());
        }
        if code != 80_877_103 {
            return Err(format!("not an SSLRequest: code {code}"));
        }
        s.write_all(b"S").map_err(e)?;
        s.read_exact(&mut head).map_err(e)?;
    } else {
        s.read_exact(&mut head[1..]).map_err(e)?;
    }
    if head[0] != 0x16 {
        return Err(format!("not a TLS handshake record: {head:?}"));
    }
    let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).map_err(e)?;
    parse_client_hello(&body).ok_or_else(|| "malformed ClientHello".to_string())
}

/// The server_name extension of a ClientHello handshake message (RFC 8446 4.1.2, RFC 6066 3).
fn parse_client_hello(b: &[u8]) -> Option<Hello> {
    let mut i = 0usize;
    let take = |i: &mut usize, n: usize| -> Option<&[u8]> {
        let s = b.get(*i..*i + n)?;
        *i += n;
        Some(s)
    };
    let u16_at = |s: &[u8]| usize::from(u16::from_be_bytes([s[0], s[1]]));
    if take(&mut i, 1)? != [1] {
        return None;
    }
    take(&mut i, 3)?; // length
    take(&mut i, 2 + 32)?; // legacy_version, random
    let sid = usize::from(take(&mut i, 1)?[0]);
    take(&mut i, sid)?;
    let cs = u16_at(take(&mut i, 2)?);
    take(&mut i, cs)?;
    let comp = usize::from(take(&mut i, 1)?[0]);
    take(&mut i, comp)?;
    let ext_len = u16_at(take(&mut i, 2)?);
    let end = i + ext_len;
    let mut sni = None;
    while i + 4 <= end {
        let ty = u16_at(take(&mut i, 2)?);
        let n = u16_at(take(&mut i, 2)?);
        let data = take(&mut i, n)?;
        if ty == 0 && data.len() >= 5 && data[2] == 0 {
            let nl = u16_at(&data[3..5]);
            sni = Some(String::from_utf8_lossy(data.get(5..5 + nl)?).into_owned());
        }
    }
    Some(Hello { sni })
}

/// SNI: psql, pgtls_postgres and (default sslsni) `pgtls probe` against the tap.
fn sni(pki: &Pki, version: u32, t: &mut Tally) {
    let client = PgBuild::client(version).unwrap();
    let tap = Tap::start();
    let home = pki.dir.join("empty");
    let home_s = home.display().to_string();
    let env = [("HOME", home_s.as_str())];
    let show = |h: Result<Hello, String>| match h {
        Ok(Hello { sni: Some(n) }) => format!("SNI {n}"),
        Ok(Hello { sni: None }) => "no SNI".to_string(),
        Err(e) => format!("BROKEN: {e}"),
    };
    let pgv = PgVersion::new(version).unwrap();
    for host in [HOST, "127.0.0.1", "127.1", "0x7f.0.0.1", "localhost", "::1"] {
        for sslsni in [None, Some("0"), Some("1"), Some("yes")] {
            // The sample (off 15): `sslsni=1` is the default.
            if sslsni == Some("1") && !pgtls_testkit::full_matrix(version).unwrap() {
                continue;
            }
            let mut ci = format!(
                "host={host} hostaddr=127.0.0.1 port={} user=postgres sslmode=require gssencmode=disable",
                tap.port
            );
            if let Some(v) = sslsni {
                ci.push_str(&format!(" sslsni={v}"));
            }
            while tap.rx.try_recv().is_ok() {}
            let _ = psql_cmd(&client, &ci, &env).output().unwrap();
            let libpq = show(tap.take());
            if host == HOST && sslsni.is_none() {
                t.expect(
                    version,
                    "the listener must see SNI db.example.test",
                    libpq == format!("SNI {HOST}"),
                    &libpq,
                );
            }
            let _ = pg_outcome(version, &ci, env_of(&home, &[]));
            let pg = show(tap.take());
            let model = match pgtls_verify::policy::sni_name(Some(host), sslsni, &Env::empty(), pgv)
            {
                Some(n) => format!("SNI {n}"),
                None => "no SNI".to_string(),
            };
            let mut others = vec![("policy::sni_name", model), ("pgtls_postgres", pg)];
            if sslsni.is_none() {
                let _ = probe(pki, tap.port, version, host);
                others.push(("pgtls probe", show(tap.take())));
            }
            let others: Vec<(&str, &str)> = others.iter().map(|(a, b)| (*a, b.as_str())).collect();
            t.row(
                version,
                &format!("host={host} sslsni={}", sslsni.unwrap_or("(default)")),
                &libpq,
                &others,
            );
        }
    }
}

/// `~`: libpq's default root file under `$HOME` (the wrong root) and under the passwd
/// entry's home (the right one), psql and `pgtls verify server` with the same wrapped
/// passwd database.
fn home_directory(c: &Cluster, pki: &Pki, version: u32, t: &mut Tally) {
    assert!(
        Path::new(NSS_WRAPPER).exists(),
        "{NSS_WRAPPER} is missing: apt-get install libnss-wrapper (or bash scripts/install-deps.sh)"
    );
    let uid = fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    let passwd = pki.dir.join("passwd");
    let group = pki.dir.join("group");
    fs::write(
        &passwd,
        format!(
            "tester:x:{uid}:{uid}:tester:{}:/bin/sh\n",
            pki.path("pwhome")
        ),
    )
    .unwrap();
    fs::write(&group, format!("tester:x:{uid}:\n")).unwrap();
    let (p, g) = (passwd.display().to_string(), group.display().to_string());
    let envhome = pki.path("envhome");
    for home in [Some(envhome.as_str()), Some(""), None] {
        let mut env = vec![
            ("LD_PRELOAD", NSS_WRAPPER),
            ("NSS_WRAPPER_PASSWD", p.as_str()),
            ("NSS_WRAPPER_GROUP", g.as_str()),
        ];
        let ci = format!(
            "host={HOST} hostaddr=127.0.0.1 port={} user=postgres dbname=tlsonly \
             sslmode=verify-ca gssencmode=disable",
            c.port()
        );
        let mut psql = psql_cmd(c.client_build(), &ci, &[]);
        let mut verify = Command::new(env!("CARGO_BIN_EXE_pgtls"));
        verify.args(["verify", "server", "--conninfo", &ci]).args([
            "--pg-version",
            &version.to_string(),
            "--chain",
            &pki.path("server.crt"),
        ]);
        for v in verify_common::LIBPQ_ENV {
            verify.env_remove(v);
        }
        for cmd in [&mut psql, &mut verify] {
            match home {
                Some(h) => {
                    cmd.env("HOME", h);
                }
                None => {
                    cmd.env_remove("HOME");
                }
            }
            for (k, v) in &env {
                cmd.env(k, v);
            }
        }
        env.clear();
        let libpq = outcome_of(&psql.output().unwrap());
        if home.is_some_and(|h| !h.is_empty()) {
            // 14 reads the passwd entry (the right root), 15+ $HOME (the wrong one).
            let ok = (version == 14) == libpq.starts_with("TLS");
            t.expect(
                version,
                "libpq 14 must take the passwd entry's home, 15+ $HOME",
                ok,
                &libpq,
            );
        }
        let out = verify.output().unwrap();
        let ours = match out.status.code() {
            Some(0) if libpq.starts_with("TLS") => libpq.clone(),
            Some(0) => "TLS".into(),
            Some(1) => String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            other => format!(
                "BROKEN: exit {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        };
        t.row(
            version,
            &format!(
                "HOME={} passwd home=pwhome",
                match home {
                    Some("") => "''",
                    Some(_) => "envhome",
                    None => "(unset)",
                }
            ),
            &libpq,
            &[("pgtls verify server", &ours)],
        );
    }
}

#[test]
fn tls_features_live_every_version() {
    let pki = pki();
    let mut failures = Vec::new();
    for version in verify_common::client_versions() {
        let start = Instant::now();
        let c = cluster(version, &pki);
        let mut parts = Vec::new();
        let mut t = Tally::new("system roots");
        system_roots(&c, &pki, version, &mut t);
        parts.push(t.report(version, &mut failures));
        let mut t = Tally::new("protocol");
        let mut probes = 0;
        protocol_bounds(&c, &pki, version, &mut t, &mut probes);
        parts.push(t.report(version, &mut failures));
        let mut t = Tally::new("groups");
        groups_and_suites(&c, &pki, version, &mut t);
        parts.push(t.report(version, &mut failures));
        if version >= 18 {
            let mut t = Tally::new("keylog");
            keylogfile(&c, &pki, version, &mut t);
            parts.push(t.report(version, &mut failures));
        }
        let mut t = Tally::new("sni");
        sni(&pki, version, &mut t);
        parts.push(t.report(version, &mut failures));
        let mut t = Tally::new("home");
        home_directory(&c, &pki, version, &mut t);
        parts.push(t.report(version, &mut failures));
        println!(
            "libpq {version}: {} ({probes} probes), {:.0?}",
            parts.join(", "),
            start.elapsed()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
