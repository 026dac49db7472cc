//! Role names that need quoting (`ops team`, the keyword `all`, `a,b`) in `pgtls
//! quickstart`'s pg_hba.conf line and client conninfo strings, checked against a real
//! PostgreSQL 15 and psql: the line loads and names exactly those roles, and each printed
//! connection (the JSON conninfo through libpq, the text's `psql ...` line through sh)
//! logs in as its role.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::process::{Command, Output};

use pgtls_testkit::{Cluster, require_openssl, require_postgres};

mod pki_support;
use pki_support::{ok, pgtls};

const ROLES: [&str; 6] = ["app", "ops team", "all", "a,b", "Admin", "q\"t"];
const WHO: &str = "select current_user from pg_stat_ssl where pid = pg_backend_pid() and ssl";

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quickstart_quotes_role_names_for_the_server_and_libpq() {
    require_postgres().unwrap();
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut args = vec![
        "quickstart",
        "--dir",
        dir.to_str().unwrap(),
        "--host",
        "localhost",
        "--host",
        "127.0.0.1",
    ];
    for r in ROLES {
        args.extend(["--role", r]);
    }
    args.push("--json");
    let v: serde_json::Value = serde_json::from_str(&ok(pgtls(&args))).unwrap();
    let hba_line = v["pg_hba"].as_str().unwrap().to_owned();
    assert_eq!(
        hba_line,
        r#"hostssl all app,"ops team","all","a,b",Admin,"q""t" all cert"#
    );
    let sql: Vec<String> = v["sql"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sql.len(), ROLES.len());
    // The text output prints the same line and one psql command per role.
    args.pop();
    args.push("--force");
    let text = ok(pgtls(&args));
    assert!(text.lines().any(|l| l == hba_line), "{text}");
    let psql_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("psql ")).collect();
    assert_eq!(psql_lines.len(), ROLES.len(), "{text}");
    let v: serde_json::Value = serde_json::from_str(&ok(pgtls(&{
        let mut a = args.clone();
        a.push("--json");
        a
    })))
    .unwrap();

    let c = Cluster::init().unwrap();
    for (name, mode) in [
        ("server.crt", 0o644),
        ("server.key", 0o600),
        ("root.crt", 0o644),
        ("root.crl", 0o644),
    ] {
        c.write_file(name, &fs::read(dir.join(name)).unwrap(), mode)
            .unwrap();
    }
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'root.crt'\nssl_crl_file = 'root.crl'\n",
    )
    .unwrap();
    c.write_hba(&format!("local all all trust\n{hba_line}\n"))
        .unwrap();
    let c = c.start_initialized().unwrap();
    // The printed CREATE ROLE statements, then two roles the line must not admit.
    c.sql(&sql.join(" ")).unwrap();
    c.sql("create role a login; create role other login")
        .unwrap();

    let clients = v["clients"].as_array().unwrap();
    assert_eq!(clients.len(), ROLES.len());
    for (client, role) in clients.iter().zip(ROLES) {
        assert_eq!(client["role"], role);
        let conninfo = format!(
            "{} hostaddr=127.0.0.1 port={}",
            client["conninfo"].as_str().unwrap(),
            c.port()
        );
        let o = c.psql(&["-X", "-At", "-c", WHO], &conninfo, &[]).unwrap();
        assert!(o.status.success(), "{role}: {conninfo}: {}", err(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), role);
    }
    // The text's psql lines, run by a shell as printed (host and port from the environment).
    let bindir = c.client_build().bindir.clone();
    for (line, role) in psql_lines.iter().zip(ROLES) {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{line} -X -At -c '{WHO}'"))
            .env(
                "PATH",
                format!("{}:{}", bindir.display(), std::env::var("PATH").unwrap()),
            )
            .env("PGHOSTADDR", "127.0.0.1")
            .env("PGPORT", c.port().to_string())
            .env("PGCONNECT_TIMEOUT", "10");
        for var in ["PGSSLMODE", "PGUSER", "PGDATABASE", "PGSERVICE", "PGHOST"] {
            cmd.env_remove(var);
        }
        c.client_build().set_env(&mut cmd);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{line}: {}", err(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), role, "{line}");
    }
    // "all" names the role all, not every user; "a,b" is one role, not a and b.
    for (cert_of, user) in [("all", "other"), ("a,b", "a")] {
        let d = dir.join("clients").join(cert_of);
        let conninfo = pgtls_verify::conninfo_string([
            ("host", "localhost"),
            ("hostaddr", "127.0.0.1"),
            ("port", c.port().to_string().as_str()),
            ("user", user),
            ("dbname", "postgres"),
            ("sslmode", "verify-full"),
            ("sslrootcert", d.join("root.crt").to_str().unwrap()),
            ("sslcert", d.join("postgresql.crt").to_str().unwrap()),
            ("sslkey", d.join("postgresql.key").to_str().unwrap()),
        ]);
        let o = c.psql(&["-X", "-c", "select 1"], &conninfo, &[]).unwrap();
        assert!(
            !o.status.success(),
            "{user} got in with the certificate of {cert_of}"
        );
        assert!(
            err(&o).contains("no pg_hba.conf entry"),
            "{user}: {}",
            err(&o)
        );
    }
}

#[test]
fn quickstart_refuses_a_role_no_pg_hba_token_can_name() {
    let tmp = tempfile::tempdir().unwrap();
    let o = pgtls(&[
        "quickstart",
        "--dir",
        tmp.path().join("d").to_str().unwrap(),
        "--host",
        "localhost",
        "--role",
        "/x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("--role") && err(&o).contains("regular expression"),
        "{}",
        err(&o)
    );
    assert!(!tmp.path().join("d").exists());
}

/// `--owner postgres` gives server.key to the server's OS user: a real PostgreSQL 15
/// starts with the printed ssl_key_file; without it (a root-owned key) it does not.
#[test]
fn quickstart_owner_lets_the_server_read_its_key() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    require_postgres().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let start = |dir: &std::path::Path| {
        let c = Cluster::init().unwrap();
        c.append_conf(&format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ))
        .unwrap();
        c.start_initialized()
    };
    let owned = tmp.path().join("owned");
    let mut args = vec![
        "quickstart",
        "--dir",
        owned.to_str().unwrap(),
        "--host",
        "localhost",
    ];
    args.extend(["--role", "app", "--owner", "postgres"]);
    let out = ok(pgtls(&args));
    assert!(out.contains("server.key is owned by postgres"), "{out}");
    let meta = fs::metadata(owned.join("server.key")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    let c = start(&owned).unwrap();
    assert_eq!(c.sql("show ssl").unwrap().trim(), "on");
    drop(c);
    if meta.uid() != 0 && nix_is_root() {
        let plain = tmp.path().join("plain");
        ok(pgtls(&[
            "quickstart",
            "--dir",
            plain.to_str().unwrap(),
            "--host",
            "localhost",
            "--role",
            "app",
        ]));
        let Err(e) = start(&plain) else {
            panic!("the server read a key owned by root, mode 0600");
        };
        assert!(
            e.contains("Permission denied") || e.contains("private key"),
            "{e}"
        );
    }
    let o = pgtls(&[
        "quickstart",
        "--dir",
        tmp.path().join("x").to_str().unwrap(),
        "--host",
        "h",
        "--role",
        "a",
        "--owner",
        "no-such-user-pgtls",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--owner no-such-user-pgtls"),
        "{}",
        err(&o)
    );
}

fn nix_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
