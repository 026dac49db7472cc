//! Client certificates, encrypted keys, `sslcertmode`, channel binding, service
//! files and the password file: the same conninfo (and environment) through
//! `pgtls_postgres::connect` and through psql, against a real PostgreSQL
//! (pgtls-testkit's clusters; certificates made with the openssl CLI by
//! `tests/fixtures/gen.sh`).
//!
//! Asserted per row, as in `psql_differential.rs`: both connect or both refuse;
//! a session is TLS in one exactly when it is in the other; refusals have
//! psql's message (the first line of the error's Display is psql's text after
//! `failed: `, the whole of it libpq's `PQerrorMessage`). Each test fails if it
//! ran no rows, or saw no contrast, and prints its counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pgtls_postgres::Options;
use pgtls_testkit::Cluster;
use pgtls_verify::{Env, PgVersion};

const SSL_QUERY: &str =
    "select coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)";

fn fixtures() -> tempfile::TempDir {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let gen_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gen.sh");
    let out = std::process::Command::new("bash")
        .arg(gen_sh)
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gen.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmp
}

/// Ok(ssl in use) or Err(the message after `psql: error: `).
type Outcome = Result<bool, String>;

fn via_psql(c: &Cluster, conninfo: &str, env: &[(String, String)]) -> Outcome {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // -w: never prompt for a password (there is no terminal anyway).
    let out = c
        .psql(&["-X", "-w", "-Atc", SSL_QUERY], conninfo, &env)
        .unwrap();
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim() == "t");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    // libpq's warnings (the password file's) come first, on their own lines.
    let at = err
        .find("psql: error: ")
        .unwrap_or_else(|| panic!("psql stderr without its prefix: {err}"));
    let text = err.get(at + "psql: error: ".len()..).unwrap_or_default();
    Err(text.trim_end_matches('\n').to_string())
}

async fn via_pgtls(
    conninfo: &str,
    env: &[(String, String)],
    version: PgVersion,
) -> (Outcome, Option<String>) {
    let mut e = Env::empty().with_var("PGCONNECT_TIMEOUT", "10");
    for (k, v) in env {
        e = e.with_var(k, v);
    }
    match Options::new()
        .pg_version(version)
        .env(e)
        .connect(conninfo)
        .await
    {
        Ok((client, connection)) => {
            let task = tokio::spawn(connection);
            let row = client.query_one(SSL_QUERY, &[]).await.unwrap();
            drop(client);
            task.await.unwrap().unwrap();
            (Ok(row.get::<_, bool>(0)), None)
        }
        Err(e) => (Err(e.libpq_message()), Some(e.to_string())),
    }
}

/// psql's text after the first `failed: ` (or all of it when there is none).
fn after_failed(text: &str) -> &str {
    let first = text.lines().next().unwrap_or_default();
    if first.starts_with("connection to server") {
        text.split_once(" failed: ").map_or(text, |(_, r)| r)
    } else {
        text
    }
}

/// One suite's rows and their comparison.
struct Suite {
    name: &'static str,
    version: PgVersion,
    rt: tokio::runtime::Runtime,
    rows: usize,
    both_ok: usize,
    both_refused: usize,
    false_accepts: Vec<String>,
    false_rejects: Vec<String>,
    downgrades: Vec<String>,
    message_diffs: Vec<String>,
    refusals: std::collections::BTreeSet<String>,
}

impl Suite {
    fn new(name: &'static str, version: PgVersion) -> Self {
        Self {
            name,
            version,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            rows: 0,
            both_ok: 0,
            both_refused: 0,
            false_accepts: Vec::new(),
            false_rejects: Vec::new(),
            downgrades: Vec::new(),
            message_diffs: Vec::new(),
            refusals: Default::default(),
        }
    }

    /// Runs one conninfo with this environment (HOME always given) through both.
    fn row(&mut self, c: &Cluster, label: &str, conninfo: &str, env: &[(&str, &str)]) -> Outcome {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want = via_psql(c, conninfo, &env);
        let (got, display) = self.rt.block_on(via_pgtls(conninfo, &env, self.version));
        let shown_env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let label = format!("[{label}] {conninfo} (env {})", shown_env.join(" "));
        self.rows += 1;
        match (&want, &got) {
            (Ok(w), Ok(g)) => {
                self.both_ok += 1;
                if w != g {
                    self.downgrades
                        .push(format!("{label}: psql ssl={w}, pgtls ssl={g}"));
                }
            }
            (Err(w), Err(g)) => {
                self.both_refused += 1;
                self.refusals.insert(after_failed(w).to_string());
                let first_ok = display.as_deref().and_then(|d| d.lines().next())
                    == after_failed(w).lines().next();
                if w != g || !first_ok {
                    self.message_diffs.push(format!(
                        "{label}:\n  psql:  {w:?}\n  pgtls: {g:?}\n  display: {display:?}"
                    ));
                }
            }
            (Err(w), Ok(g)) => self.false_accepts.push(format!(
                "{label}: psql refused ({w:?}), pgtls connected (ssl={g})"
            )),
            (Ok(w), Err(g)) => self.false_rejects.push(format!(
                "{label}: psql connected (ssl={w}), pgtls refused ({g:?})"
            )),
        }
        want
    }

    fn finish(self) {
        println!(
            "{}: rows {}: both connected {}, both refused {}; agreements {}; false accepts {}, downgrades {}, false rejects {}, message differences {}",
            self.name,
            self.rows,
            self.both_ok,
            self.both_refused,
            self.rows
                - self.false_accepts.len()
                - self.downgrades.len()
                - self.false_rejects.len()
                - self.message_diffs.len(),
            self.false_accepts.len(),
            self.downgrades.len(),
            self.false_rejects.len(),
            self.message_diffs.len()
        );
        println!("distinct refusals ({}):", self.refusals.len());
        for r in &self.refusals {
            println!("  {r:?}");
        }
        for l in self
            .false_accepts
            .iter()
            .chain(&self.downgrades)
            .chain(&self.false_rejects)
            .chain(&self.message_diffs)
        {
            println!("{l}");
        }
        assert!(self.rows > 0, "{}: ran no rows", self.name);
        assert!(
            self.both_ok > 0 && self.both_refused > 0,
            "{}: no contrast in the rows",
            self.name
        );
        assert!(
            self.false_accepts.is_empty(),
            "false accepts: {:#?}",
            self.false_accepts
        );
        assert!(
            self.downgrades.is_empty(),
            "downgrades: {:#?}",
            self.downgrades
        );
        assert!(
            self.false_rejects.is_empty(),
            "false rejects: {:#?}",
            self.false_rejects
        );
        assert!(
            self.message_diffs.is_empty(),
            "messages differ: {:#?}",
            self.message_diffs
        );
    }
}

fn copy(from: &Path, to: &Path, mode: u32) {
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, owner: &str) {
    let st = std::process::Command::new("chown")
        .arg(owner)
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "chown {owner} {}", path.display());
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap()
}

/// A cluster with TLS (good.pem for db.example.test / 127.0.0.1), asking for
/// client certificates under the fixtures' root, passwords stored as SCRAM.
fn tls_cluster(dir: &Path, version: u32) -> Cluster {
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let c = Cluster::builder().version(version).init().unwrap();
    c.write_file("server.crt", &read("good.pem"), 0o644)
        .unwrap();
    c.write_file("server.key", &read("good.key"), 0o600)
        .unwrap();
    c.write_file("ca.pem", &read("root.pem"), 0o644).unwrap();
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.pem'\npassword_encryption = 'scram-sha-256'\n",
    )
    .unwrap();
    let c = c.start_initialized().unwrap();
    c.sql("alter role postgres password 'secret'; create role alice login password 'alicepw'")
        .unwrap();
    c
}

/// One client-side case: label, the conninfo's certificate part, HOME, extra environment.
type Client<'a> = (&'a str, String, &'a str, Vec<(&'a str, String)>);

/// Client certificates and keys: `cert` authentication, `clientcert=verify-full`
/// and `verify-ca` with SCRAM, missing/wrong/unreadable/too-open keys, encrypted
/// keys with `sslpassword`, the `~/.postgresql` defaults and `PGSSLCERT`/`PGSSLKEY`.
#[test]
fn client_certificates_agree_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let c = tls_cluster(dir, 15);
    let port = c.port();
    let root = dir.join("root.pem").display().to_string();
    let f = |n: &str| dir.join(n).display().to_string();

    // Key files with chosen owners and modes.
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let k = |n: &str| keys.join(n).display().to_string();
    copy(&dir.join("client.key"), &keys.join("root-0600.key"), 0o600);
    copy(&dir.join("client.key"), &keys.join("root-0640.key"), 0o640);
    copy(&dir.join("client.key"), &keys.join("root-0644.key"), 0o644);
    copy(&dir.join("client.key"), &keys.join("root-0660.key"), 0o660);
    copy(&dir.join("client.key"), &keys.join("root-0604.key"), 0o604);
    let root_user = is_root();
    if root_user {
        // Owned by someone else (root can read it whatever the mode): libpq's
        // rule for non-root owners applies (0600 or less).
        for (n, m) in [("other-0600.key", 0o600), ("other-0640.key", 0o640)] {
            copy(&dir.join("client.key"), &keys.join(n), m);
            chown(&keys.join(n), "postgres");
        }
    }
    std::fs::create_dir_all(keys.join("dir.key")).unwrap();

    // Homes: empty, and one with ~/.postgresql/postgresql.{crt,key}.
    let empty_home = dir.join("home-empty");
    std::fs::create_dir_all(&empty_home).unwrap();
    let home = dir.join("home-cert");
    std::fs::create_dir_all(home.join(".postgresql")).unwrap();
    copy(
        &dir.join("client.pem"),
        &home.join(".postgresql/postgresql.crt"),
        0o644,
    );
    copy(
        &dir.join("client.key"),
        &home.join(".postgresql/postgresql.key"),
        0o600,
    );
    let empty_home = empty_home.display().to_string();
    let home = home.display().to_string();

    let hbas = [
        (
            "cert",
            "hostssl all all 127.0.0.1/32 cert\nhostnossl all all 127.0.0.1/32 reject\n",
        ),
        (
            "scram+verify-full",
            "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n",
        ),
        (
            "scram+verify-ca",
            "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca\n",
        ),
        (
            "trust (no cert needed)",
            "host all all 127.0.0.1/32 trust\n",
        ),
    ];
    // (label, client-cert part of the conninfo, HOME, extra env)
    let mut clients: Vec<Client<'_>> = vec![
        ("none", String::new(), &empty_home, vec![]),
        (
            "good",
            format!("sslcert={} sslkey={}", f("client.pem"), f("client.key")),
            &empty_home,
            vec![],
        ),
        ("home defaults", String::new(), &home, vec![]),
        (
            "PGSSLCERT/PGSSLKEY",
            String::new(),
            &empty_home,
            vec![
                ("PGSSLCERT", f("client.pem")),
                ("PGSSLKEY", f("client.key")),
            ],
        ),
        (
            "alice's cert",
            format!("sslcert={} sslkey={}", f("alice.pem"), f("alice.key")),
            &empty_home,
            vec![],
        ),
        (
            "untrusted cert",
            format!(
                "sslcert={} sslkey={}",
                f("client-untrusted.pem"),
                f("client-untrusted.key")
            ),
            &empty_home,
            vec![],
        ),
        (
            "missing sslcert file (ignored)",
            format!("sslcert={} sslkey={}", f("nope.pem"), f("client.key")),
            &empty_home,
            vec![],
        ),
        (
            "missing key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("nope.key")),
            &empty_home,
            vec![],
        ),
        (
            "sslcert without sslkey, no default key",
            format!("sslcert={}", f("client.pem")),
            &empty_home,
            vec![],
        ),
        (
            "wrong key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("other.key")),
            &empty_home,
            vec![],
        ),
        (
            "RSA key for an EC certificate",
            format!("sslcert={} sslkey={}", f("client.pem"), f("other-rsa.key")),
            &empty_home,
            vec![],
        ),
        (
            "expired cert",
            format!(
                "sslcert={} sslkey={}",
                f("client-expired.pem"),
                f("client-expired.key")
            ),
            &empty_home,
            vec![],
        ),
        (
            "key is a directory",
            format!("sslcert={} sslkey={}", f("client.pem"), k("dir.key")),
            &empty_home,
            vec![],
        ),
        (
            "key not a key",
            format!("sslcert={} sslkey={}", f("client.pem"), f("client.pem")),
            &empty_home,
            vec![],
        ),
    ];
    for n in [
        "root-0600.key",
        "root-0640.key",
        "root-0644.key",
        "root-0660.key",
        "root-0604.key",
        "other-0600.key",
        "other-0640.key",
    ] {
        if !root_user && n.starts_with("other-") {
            continue;
        }
        clients.push((
            n,
            format!("sslcert={} sslkey={}", f("client.pem"), k(n)),
            &empty_home,
            vec![],
        ));
    }
    for key in ["client-p8enc.key", "client-legacy.key"] {
        for (pl, pw) in [
            ("right", " sslpassword=s3cret"),
            ("wrong", " sslpassword=nope"),
            ("absent", ""),
            ("empty", " sslpassword=''"),
        ] {
            clients.push((
                match (key, pl) {
                    (_, "right") => key,
                    ("client-p8enc.key", "wrong") => "PKCS#8, wrong password",
                    ("client-p8enc.key", "absent") => "PKCS#8, no sslpassword",
                    ("client-p8enc.key", _) => "PKCS#8, empty sslpassword",
                    (_, "wrong") => "traditional, wrong password",
                    (_, "absent") => "traditional, no sslpassword",
                    _ => "traditional, empty sslpassword",
                },
                format!("sslcert={} sslkey={}{pw}", f("client.pem"), f(key)),
                &empty_home,
                vec![],
            ));
        }
    }
    let modes = [
        ("prefer", String::new()),
        ("require", String::new()),
        (
            "verify-full",
            format!("host=db.example.test sslrootcert={root}"),
        ),
    ];
    let mut s = Suite::new("client certificates", PgVersion::V15);
    for (hba_name, hba) in hbas {
        c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
        c.reload().unwrap();
        for (cl_name, cl, h, extra) in &clients {
            for (mode, more) in &modes {
                for (user, pw) in [("postgres", "secret"), ("alice", "alicepw")] {
                    let ci = format!(
                        "hostaddr=127.0.0.1 {more} port={port} user={user} password={pw} dbname=postgres sslmode={mode} {cl}"
                    );
                    let mut env: Vec<(&str, &str)> = vec![("HOME", h)];
                    for (k, v) in extra {
                        env.push((k, v.as_str()));
                    }
                    let _ = s.row(&c, &format!("hba {hba_name}, client {cl_name}"), &ci, &env);
                }
            }
        }
    }
    s.finish();
}
