//! `pgtls audit` and `pgtls probe`'s logins against real servers, one cluster per
//! PostgreSQL version (`PGTLS_PG_VERSIONS`; 15 runs every phase, the others the phases
//! whose rules differ between versions unless `PGTLS_PG_MATRIX=full`), reconfigured
//! with reloads; versions run in parallel. Certificates come from the openssl CLI.
//!
//! The oracles are the server and psql themselves:
//! * a hostssl-only pg_hba.conf: audit exits 0, pgtls's reading of the file is
//!   `pg_hba_file_rules` row for row, and probe's login without TLS gets exactly the
//!   FATAL psql prints under `sslmode=disable`;
//! * a `host ... trust` line with a psql session held open with `sslmode=disable`: audit
//!   exits 1 naming that session's application_name (the server's `pg_stat_ssl` says it
//!   is not TLS), and the line's witness connection really passes pg_hba.conf (psql gets
//!   past it); the same through a role that may read only `pg_hba_file_rules` (rules
//!   rebuilt from the view);
//! * `hostnossl ... trust`: probe's login without TLS gets a session, as psql does;
//! * `cert` lines: probe's certificate login succeeds where psql's does, and is refused
//!   with psql's message where psql's is;
//! * a role without privileges: audit names what it could not see;
//! * an expiring and an expired served chain: a warning, then an error;
//! * a connection audit cannot make: psql's message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pgtls_testkit::{Cluster, openssl};
use serde_json::Value;

fn pgtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .env_remove("PGSSLMODE")
        .env_remove("PGUSER")
        .env_remove("PGDATABASE")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON: {e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// openssl-made files: a root CA (`root.crt`), server certificates for 127.0.0.1
/// valid a year (`server`), 10 days (`soon`) and expired in 2020 (`old`), and client
/// certificates for `postgres` (`alice` has another CN).
struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

const CA_CONF: &str = "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = index.txt\nnew_certs_dir = .\n\
serial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n";

fn pki() -> Pki {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-audit-")
        .tempdir()
        .unwrap();
    let d = tmp.path().to_path_buf();
    let ossl = |args: &str| {
        openssl(&d, &args.split_whitespace().collect::<Vec<_>>()).unwrap();
    };
    fs::write(d.join("ca.cnf"), CA_CONF).unwrap();
    fs::write(d.join("index.txt"), "").unwrap();
    fs::write(d.join("serial"), "1000\n").unwrap();
    fs::write(
        d.join("srv.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    fs::write(
        d.join("cli.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    ossl(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
         -out root.crt -subj /CN=audit-root -days 3650 \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
    );
    for (name, cn, ext, dates) in [
        ("server", "127.0.0.1", "srv.ext", "-days 365"),
        ("soon", "127.0.0.1", "srv.ext", "-days 10"),
        (
            "old",
            "127.0.0.1",
            "srv.ext",
            "-startdate 20200101000000Z -enddate 20200201000000Z",
        ),
        ("client", "postgres", "cli.ext", "-days 365"),
        ("alice", "alice", "cli.ext", "-days 365"),
    ] {
        ossl(&format!(
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {name}.key \
             -out {name}.csr -subj /CN={cn}"
        ));
        ossl(&format!(
            "ca -batch -notext -config ca.cnf -cert root.crt -keyfile root.key -in {name}.csr \
             -out {name}.crt -extfile {ext} {dates}"
        ));
        fs::set_permissions(
            d.join(format!("{name}.key")),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
    }
    Pki { _tmp: tmp, dir: d }
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

const HBA_TLS_ONLY: &str = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
const HBA_HOST_TRUST: &str =
    "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n";
const HBA_NOSSL_TRUST: &str = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 trust\n";
const HBA_CERT: &str = "local all all trust\nhostssl all all 127.0.0.1/32 cert\n";

fn cluster(version: u32, pki: &Pki) -> Cluster {
    let c = Cluster::builder().version(version).init().unwrap();
    for f in [
        "server.crt",
        "server.key",
        "soon.crt",
        "soon.key",
        "old.crt",
        "old.key",
        "root.crt",
    ] {
        c.write_file(f, &fs::read(pki.dir.join(f)).unwrap(), 0o600)
            .unwrap();
    }
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    c.write_hba(HBA_TLS_ONLY).unwrap();
    c.start_initialized().unwrap()
}

fn set_hba(c: &Cluster, text: &str) {
    c.write_hba(text).unwrap();
    c.reload().unwrap();
}

/// Sets ssl_cert_file/ssl_key_file (and ssl_ca_file) through postgresql.auto.conf.
fn set_auto(c: &Cluster, stem: &str, ca: bool) {
    let ca = if ca { "root.crt" } else { "" };
    c.write_file(
        "postgresql.auto.conf",
        format!(
            "ssl_cert_file = '{stem}.crt'\nssl_key_file = '{stem}.key'\nssl_ca_file = '{ca}'\n"
        )
        .as_bytes(),
        0o600,
    )
    .unwrap();
    c.reload().unwrap();
    assert_eq!(
        c.sql("show ssl_cert_file").unwrap().trim(),
        format!("{stem}.crt")
    );
}

fn tcp(c: &Cluster, rest: &str) -> String {
    format!("host=127.0.0.1 port={} dbname=postgres {rest}", c.port())
}

/// `pgtls audit --conninfo ... --json`: (exit code, report).
fn audit(c: &Cluster, conninfo_rest: &str) -> (i32, Value) {
    let conninfo = tcp(c, conninfo_rest);
    let o = pgtls(&["audit", "--conninfo", &conninfo, "--json"]);
    let code = o.status.code().unwrap();
    let v = json(&o);
    assert_eq!(v["schema_version"], 1);
    if code == 1 {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("pgtls: "), "{err}");
    }
    (code, v)
}

fn codes(v: &Value, severity: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn finding<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))
}

/// A psql session held open (`select pg_sleep(120)`) with `conninfo`; waits until the
/// server lists it under `app`.
fn hold(c: &Cluster, conninfo: &str, app: &str) -> Child {
    let mut cmd = c.client_build().psql();
    cmd.arg("-X")
        .arg("-d")
        .arg(format!("{conninfo} application_name={app}"))
        .args(["-c", "select pg_sleep(120)"])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let n = c
            .sql(&format!(
                "select count(*) from pg_stat_activity where application_name = '{app}'"
            ))
            .unwrap();
        if n.trim() == "1" {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "the psql session {app} did not appear: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ends a [`hold`] session: its psql (by the child's pid) and its backend (which sleeps
/// on, not noticing the closed socket), then waits until the server no longer lists it.
fn end(c: &Cluster, mut child: Child, app: &str) {
    let _ = child.kill();
    let _ = child.wait();
    c.sql(&format!(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = '{app}'"
    ))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let n = c
            .sql(&format!(
                "select count(*) from pg_stat_activity where application_name = '{app}'"
            ))
            .unwrap();
        if n.trim() == "0" {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the session {app} did not end");
}

/// psql's message after `psql: error: ` (sslmode and the rest as given), or `None` when
/// it connects; with the `ssl` column of its session.
fn psql(c: &Cluster, conninfo: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let o = c
        .psql(
            &[
                "-X",
                "-At",
                "-c",
                "select ssl::text || ' ' || coalesce(client_dn, '') from pg_stat_ssl where pid = pg_backend_pid()",
            ],
            conninfo,
            env,
        )
        .unwrap();
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
    } else {
        let e = String::from_utf8_lossy(&o.stderr);
        Err(e
            .strip_prefix("psql: error: ")
            .unwrap_or(&e)
            .trim_end()
            .to_owned())
    }
}

/// The part of libpq's message after `... failed: `.
fn after_failed(m: &str) -> &str {
    m.split_once("failed: ").map_or(m, |(_, r)| r)
}

fn probe(c: &Cluster, extra: &[&str]) -> (i32, Value) {
    let target = format!("127.0.0.1:{}", c.port());
    let mut args = vec!["probe", target.as_str(), "--json"];
    args.extend_from_slice(extra);
    let o = pgtls(&args);
    (o.status.code().unwrap(), json(&o))
}

/// Every phase for one version; returns the rows it checked.
fn run_version(version: u32, pki: &Pki) -> Vec<String> {
    let full = pgtls_testkit::full_matrix(version).unwrap();
    let t0 = Instant::now();
    let mut c = cluster(version, pki);
    let mut rows = Vec::new();
    let mut row = |what: &str| rows.push(format!("{version}: {what}"));

    // 1. hostssl only: nothing without TLS.
    let (code, v) = audit(&c, "user=postgres sslmode=require");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["connection"]["transport"], "tls");
    assert_eq!(v["hba"]["source"], "file");
    assert_eq!(v["hba"]["view_agrees"], true, "{v:#}");
    assert_eq!(v["hba"]["rules"], 2);
    assert_eq!(v["sessions"]["tcp_no_tls"], 0);
    assert!(
        codes(&v, "info").contains(&"hba-tls-required".to_owned()),
        "{v:#}"
    );
    assert_eq!(v["chain"][0]["validity"], "valid");
    assert_eq!(v["chain"][0]["subject"], "CN=127.0.0.1");
    row("hostssl only: exit 0, file = pg_hba_file_rules");
    // probe: the login without TLS is refused with psql's FATAL.
    let oracle = psql(&c, &tcp(&c, "user=postgres sslmode=disable"), &[]).unwrap_err();
    let (code, pv) = probe(&c, &["--user", "postgres", "--dbname", "postgres"]);
    assert_eq!(code, 0, "{pv:#}");
    assert_eq!(pv["plaintext"]["outcome"], "refused", "{pv:#}");
    assert_eq!(pv["plaintext"]["by_hba"], true);
    assert_eq!(pv["plaintext"]["text"], after_failed(&oracle), "{pv:#}");
    assert_eq!(pv["findings"][0]["code"], "plaintext-refused");
    row("probe without TLS refused as psql is");

    // 1b. Files the rules name: an @file, and from 16 an include_dir whose file has a
    // line without TLS; the audit reads them too, the server's view agrees, and the
    // finding names the included file.
    c.write_file("users.txt", b"postgres\nviewer\n", 0o600)
        .unwrap();
    let mut hba = "local all all trust\nhostssl all @users.txt 127.0.0.1/32 trust\n".to_owned();
    if version >= 16 {
        let d = c.data_dir().join("conf.d");
        fs::create_dir_all(&d).unwrap();
        pgtls_testkit::give_to_postgres(&d).unwrap();
        c.write_file(
            "conf.d/10-open.conf",
            b"# open\nhost all all 127.0.0.1/32 scram-sha-256\n",
            0o600,
        )
        .unwrap();
        hba.push_str("include_dir conf.d\n");
    }
    set_hba(&c, &hba);
    let (code, v) = audit(&c, "user=postgres sslmode=require");
    assert_eq!(v["hba"]["source"], "file");
    assert_eq!(v["hba"]["view_agrees"], true, "{v:#}");
    if version >= 16 {
        assert_eq!(code, 1, "{v:#}");
        let f = finding(&v, "hba-no-tls");
        assert!(
            f["file"]
                .as_str()
                .unwrap()
                .ends_with("/conf.d/10-open.conf"),
            "{f}"
        );
        assert_eq!(f["line"], 2);
        assert_eq!(v["hba"]["rules"], 3);
        row("include_dir and @file read through the server; the finding names the included file");
    } else {
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["hba"]["rules"], 2);
        row("@file read through the server");
    }

    // 2. a `host ... trust` line and a session without TLS held open.
    set_hba(&c, HBA_HOST_TRUST);
    let app = format!("pgtls_plain_{version}");
    let plain = hold(&c, &tcp(&c, "user=postgres sslmode=disable"), &app);
    let pid: i32 = c
        .sql(&format!(
            "select pid from pg_stat_ssl join pg_stat_activity using (pid) where application_name = '{app}' and not ssl"
        ))
        .unwrap()
        .trim()
        .parse()
        .expect("the server sees the held session without TLS");
    let (code, v) = audit(&c, "user=postgres sslmode=require");
    assert_eq!(code, 1, "{v:#}");
    let s = v["sessions"]["not_tls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["application_name"] == app.as_str())
        .unwrap_or_else(|| panic!("{app} not listed: {v:#}"));
    assert_eq!(s["transport"], "tcp-no-tls");
    assert_eq!(s["pid"], pid);
    assert_eq!(s["client_addr"], "127.0.0.1");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "session-no-tls" && f["message"].as_str().unwrap().contains(&app)),
        "{v:#}"
    );
    let f = finding(&v, "hba-no-tls");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["line"], 3);
    let witness = f["witness"].as_str().unwrap();
    // The witness passes pg_hba.conf on the real server: psql without TLS as the
    // witness's user and database gets past it (trust: in, or refused for a role or
    // database that does not exist; never pg_hba.conf's refusal).
    let field = |k: &str| {
        witness
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };
    assert!(witness.starts_with("host 127.0.0.1 no-tls "), "{witness}");
    let answer = psql(
        &c,
        &format!(
            "host=127.0.0.1 port={} sslmode=disable user={} dbname={}",
            c.port(),
            field("user"),
            field("database")
        ),
        &[],
    );
    assert!(
        answer.as_ref().is_ok_and(|s| s.starts_with("false"))
            || answer.as_ref().is_err_and(|e| !e.contains("pg_hba.conf")),
        "witness {witness}: {answer:?}"
    );
    row("host trust + plaintext session: exit 1, session and witness named");
    // The text output names the session too.
    let o = pgtls(&[
        "audit",
        "--conninfo",
        &tcp(&c, "user=postgres sslmode=require"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&app) && out.contains("witness: host 127.0.0.1 no-tls"),
        "{out}"
    );
    if full {
        // The rules rebuilt from pg_hba_file_rules, by a role that may read the view
        // and the settings but no file.
        c.sql(
            "create role viewer login; grant pg_read_all_settings, pg_read_all_stats to viewer; \
             grant select on pg_hba_file_rules to viewer; \
             grant execute on function pg_hba_file_rules() to viewer",
        )
        .unwrap();
        let (code, v) = audit(&c, "user=viewer sslmode=require");
        assert_eq!(code, 1, "{v:#}");
        assert_eq!(v["hba"]["source"], "view", "{v:#}");
        assert_eq!(v["hba"]["rules"], 3);
        let f = finding(&v, "hba-no-tls");
        assert_eq!(f["line"], 3);
        assert!(f["witness"].as_str().unwrap().contains("no-tls"));
        assert!(
            finding(&v, "session-no-tls")["message"]
                .as_str()
                .unwrap()
                .contains(&app)
        );
        row("rules rebuilt from pg_hba_file_rules: the same line and witness");
    }
    end(&c, plain, &app);

    // 3. hostnossl trust: the probe's login without TLS gets a session, as psql's does.
    set_hba(&c, HBA_NOSSL_TRUST);
    assert_eq!(
        psql(&c, &tcp(&c, "user=postgres sslmode=disable"), &[]),
        Ok("false".into())
    );
    let (code, pv) = probe(&c, &["--user", "postgres", "--dbname", "postgres"]);
    assert_eq!(code, 0);
    assert_eq!(pv["plaintext"]["outcome"], "logged-in", "{pv:#}");
    let f = &pv["findings"][0];
    assert_eq!(
        (&f["code"], &f["severity"]),
        (&"plaintext-accepted".into(), &"error".into())
    );
    row("probe without TLS accepted as psql is");

    // 4. certificate logins.
    set_hba(&c, HBA_CERT);
    set_auto(&c, "server", true);
    for (stem, user) in [("client", "postgres"), ("alice", "postgres")] {
        let (crt, key) = (
            pki.path(&format!("{stem}.crt")),
            pki.path(&format!("{stem}.key")),
        );
        let oracle = psql(
            &c,
            &tcp(
                &c,
                &format!("user={user} sslmode=require sslcert={crt} sslkey={key}"),
            ),
            &[],
        );
        let (code, pv) = probe(&c, &["--user", user, "--sslcert", &crt, "--sslkey", &key]);
        let login = pv["findings"].as_array().unwrap().last().unwrap();
        match &oracle {
            Ok(ssl) => {
                assert_eq!(ssl, "true /CN=postgres");
                assert_eq!(code, 0, "{pv:#}");
                assert_eq!(pv["login"]["outcome"], "logged-in");
                assert_eq!(pv["login"]["session"]["client_dn"], "/CN=postgres");
                assert_eq!(login["code"], "cert-login-ok", "{pv:#}");
                // The same login with the keywords given as --conninfo.
                let conninfo = format!("user={user} sslcert={crt} sslkey={key}");
                let (code, pv2) = probe(&c, &["--conninfo", &conninfo]);
                assert_eq!(code, 0, "{pv2:#}");
                assert_eq!(pv2["login"], pv["login"]);
                if version >= 16 {
                    // 16+ names the method and the certificate's identity (its DN).
                    assert_eq!(pv["login"]["session"]["system_user"], "cert:CN=postgres");
                }
            }
            Err(m) => {
                assert_eq!(code, 1, "{pv:#}");
                assert_eq!(login["code"], "cert-login-refused");
                assert_eq!(pv["login"]["message"], after_failed(m), "{pv:#}");
            }
        }
        row(&format!("certificate login with {stem}: as psql"));
    }
    // The login without TLS on this file: pg_hba.conf's refusal.
    let (_, pv) = probe(&c, &["--user", "postgres"]);
    assert_eq!(pv["plaintext"]["by_hba"], true);
    set_auto(&c, "server", false);

    if !full {
        c.stop().unwrap();
        println!(
            "PostgreSQL {version}: {} rows in {:?}",
            rows.len(),
            t0.elapsed()
        );
        return rows;
    }

    // 5. A role without privileges, while another role's TLS session is open.
    set_hba(&c, HBA_TLS_ONLY);
    c.sql("create role auditor login").unwrap();
    let other = hold(
        &c,
        &tcp(&c, "user=postgres sslmode=require"),
        "pgtls_tls_session",
    );
    let (code, v) = audit(&c, "user=auditor sslmode=require");
    assert_eq!(code, 0, "{v:#}");
    assert!(codes(&v, "info").contains(&"auditor-privileges".to_owned()));
    assert!(
        codes(&v, "warning").contains(&"hba-unavailable".to_owned()),
        "{v:#}"
    );
    assert!(
        codes(&v, "warning").contains(&"session-unknown".to_owned()),
        "{v:#}"
    );
    let what: Vec<&str> = v["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["what"].as_str().unwrap())
        .collect();
    for w in [
        "pg_hba_file_rules",
        "pg_settings.ssl_ciphers",
        "pg_settings.ssl_min_protocol_version",
        "pg_settings.hba_file",
        "pg_stat_ssl.ssl, pg_stat_activity.client_addr",
    ] {
        assert!(what.contains(&w), "{w} not in {what:?}");
    }
    let view = v["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["what"] == "pg_hba_file_rules")
        .unwrap();
    assert!(
        view["reason"]
            .as_str()
            .unwrap()
            .contains("permission denied for view pg_hba_file_rules"),
        "{view}"
    );
    end(&c, other, "pgtls_tls_session");
    row("non-superuser: what it cannot see is named");

    // 6. The served chain: expiring (warning), expired (error).
    set_auto(&c, "soon", false);
    let (code, v) = audit(&c, "user=postgres sslmode=require");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["chain"][0]["validity"], "expiring");
    let days = v["chain"][0]["days_left"].as_i64().unwrap();
    assert!((9..=10).contains(&days), "{days}");
    assert_eq!(finding(&v, "chain-expiring")["severity"], "warning");
    set_auto(&c, "old", false);
    let (code, v) = audit(&c, "user=postgres sslmode=require");
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(finding(&v, "chain-expired")["severity"], "error");
    assert_eq!(v["chain"][0]["not_after"], "2020-02-01T00:00:00Z");
    row("expiring chain: warning; expired: error");

    // 7. Connections audit cannot make: psql's message, exit 1.
    for rest in [
        "user=postgres sslmode=disable",
        "user=postgres sslmode=verify-full",
    ] {
        let conninfo = tcp(&c, rest);
        let oracle = psql(&c, &conninfo, &[("HOME", "/nonexistent")]).unwrap_err();
        let libpq = c.client_build().major.to_string();
        let o = pgtls(&["audit", "--conninfo", &conninfo, "--pg-version", &libpq]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.trim_end().strip_prefix("pgtls: error: "),
            Some(oracle.as_str())
        );
        row(&format!("refused connection ({rest}): psql's message"));
    }
    c.stop().unwrap();
    println!(
        "PostgreSQL {version}: {} rows in {:?}",
        rows.len(),
        t0.elapsed()
    );
    rows
}

#[test]
fn audit_and_probe_against_real_servers() {
    pgtls_testkit::require_postgres().unwrap();
    let versions = pgtls_testkit::pg_versions().unwrap();
    let pki = pki();
    let t0 = Instant::now();
    let rows: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|v| {
                let pki = &pki;
                s.spawn(move || run_version(*v, pki))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for r in &rows {
        println!("{r}");
    }
    assert!(rows.len() >= versions.len() * 6, "{rows:?}");
    println!("{} rows on {versions:?} in {:?}", rows.len(), t0.elapsed());
}

#[test]
fn usage_errors_exit_2() {
    let o = pgtls(&["audit"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pgtls(&["probe", "127.0.0.1:1", "--conninfo", "postgresql://x"]);
    assert_eq!(o.status.code(), Some(2));
}
