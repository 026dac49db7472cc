//! `pgtls verify server` and `sslcertmode` (PG16+): the client-certificate flags
//! `--sslcert`, `--sslkey`, `--server-requests-cert`, and the same settings through
//! `--conninfo`. The expected outcomes are libpq 16.15/17.11/18.6's (psql against a real
//! server, recorded in pgtls-verify/tests/sslcertmode.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Runs pgtls with HOME = `home` and no PG* variables: (exit code, stdout, stderr).
fn pgtls(args: &[&str], home: &Path) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args).env("HOME", home);
    for v in [
        "PGSSLMODE",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLCERTMODE",
        "PGSSLROOTCERT",
    ] {
        c.env_remove(v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sslcertmode_require_needs_a_requested_and_sent_certificate() {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ossl = |args: &str| {
        pgtls_testkit::openssl(d, &args.split_whitespace().collect::<Vec<_>>()).unwrap();
    };
    ossl(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
         -out server.crt -subj /CN=db.example.test -days 30",
    );
    ossl(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key \
         -out client.crt -subj /CN=alice -days 30",
    );
    std::fs::set_permissions(d.join("client.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let chain = d.join("server.crt").display().to_string();
    let cert = d.join("client.crt").display().to_string();
    let key = d.join("client.key").display().to_string();
    let base = [
        "verify",
        "server",
        "--chain",
        chain.as_str(),
        "--host",
        "db.example.test",
        "--pg-version",
        "17",
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        pgtls(&a, &home)
    };
    let first = |s: &str| s.lines().next().unwrap_or_default().to_string();

    // Issue 16: no client certificate, server does not ask (PostgreSQL's default).
    let (code, _, err) = run(&["--sslmode", "require", "--sslcertmode", "require"]);
    assert_eq!(
        (code, first(&err)),
        (1, "server did not request an SSL certificate".into())
    );
    let (code, _, err) = run(&["--conninfo", "sslmode=require sslcertmode=require"]);
    assert_eq!(
        (code, first(&err)),
        (1, "server did not request an SSL certificate".into())
    );
    // The server asks, libpq has nothing to send.
    let (code, _, err) = run(&[
        "--sslmode",
        "require",
        "--sslcertmode",
        "require",
        "--server-requests-cert",
    ]);
    assert_eq!(
        (code, first(&err)),
        (
            1,
            "server accepted connection without a valid SSL certificate".into()
        )
    );
    // A certificate, and the server asks: accepted, and sent.
    let (code, out, err) = run(&[
        "--sslmode",
        "require",
        "--sslcertmode",
        "require",
        "--server-requests-cert",
        "--sslcert",
        &cert,
        "--sslkey",
        &key,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["verdict"], "accept");
    assert_eq!(j["client_cert_sent"], true);
    // The same through --conninfo.
    let ci = format!("sslmode=require sslcertmode=require sslcert={cert} sslkey={key}");
    let (code, _, err) = run(&["--conninfo", &ci, "--server-requests-cert"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["--conninfo", &ci]);
    assert_eq!(
        (code, first(&err)),
        (1, "server did not request an SSL certificate".into())
    );
    // allow and disable never refuse on the client's side; disable sends nothing.
    for cm in ["allow", "disable"] {
        let (code, out, err) = run(&[
            "--sslmode",
            "require",
            "--sslcertmode",
            cm,
            "--server-requests-cert",
            "--sslcert",
            &cert,
            "--sslkey",
            &key,
            "--json",
        ]);
        assert_eq!(code, 0, "{cm}: {err}");
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(j["client_cert_sent"], cm == "allow", "{cm}");
    }
    // prefer: no plaintext fallback is claimed under sslcertmode=require.
    let (code, out, _) = run(&["--sslmode", "prefer", "--sslcertmode", "require", "--json"]);
    assert_eq!(code, 1);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["plaintext_fallback"], false);
    // A certificate without its key: libpq's refusal before the handshake.
    let (code, _, err) = run(&["--sslmode", "require", "--sslcert", &cert]);
    let home_key = home.join(".postgresql/postgresql.key");
    assert_eq!(
        (code, first(&err)),
        (
            1,
            format!(
                "certificate present, but not private key file \"{}\"",
                home_key.display()
            )
        )
    );
    // libpq 15 has no sslcertmode.
    let (code, _, err) = pgtls(
        &[
            "verify",
            "server",
            "--chain",
            &chain,
            "--sslmode",
            "require",
            "--sslcertmode",
            "require",
            "--pg-version",
            "15",
        ],
        &home,
    );
    assert_eq!(
        (code, first(&err)),
        (1, "invalid connection option \"sslcertmode\"".into())
    );
}
