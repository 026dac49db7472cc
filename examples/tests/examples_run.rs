//! The examples run end to end, and their answers are checked with openssl.

use std::process::Command;

#[test]
fn issue_certs_then_explain_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_issue_certs"))
        .arg(dir.path())
        .args(["db.example.com", "app"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("would accept"));

    // An independent check of what the example wrote.
    let root = dir.path().join("root.crt");
    let verify = Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-crl_check", "-CAfile"])
        .arg(&root)
        .arg("-CRLfile")
        .arg(dir.path().join("root.crl"))
        .arg(dir.path().join("server.crt"))
        .output()
        .expect("openssl CLI (apt-get install openssl)");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_explain_sslmode"))
        .arg(dir.path().join("server.crt"))
        .arg("other.example.com")
        .arg(&root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verify-ca: TLS session completes"), "{text}");
    assert!(
        text.contains(
            "verify-full: refused: server certificate for \"db.example.com\" does not match host name \"other.example.com\""
        ),
        "{text}"
    );

    let hba = dir.path().join("pg_hba.conf");
    std::fs::write(&hba, "local all all peer\nhostnossl all all 0.0.0.0/0 reject\nhostssl all all 0.0.0.0/0 scram-sha-256\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_check_hba"))
        .arg(&hba)
        .args(["db", "alice", "10.0.0.5", "tls"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("line 3 matches"), "{text}");
}

/// The deadpool-postgres example against a real server whose certificate
/// `issue_certs` made: four pooled sessions over TLS under verify-full, and
/// the wrong host name refused with libpq's text.
#[test]
fn pool_connects_with_verify_full() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_issue_certs"))
        .arg(dir.path())
        .args(["db.example.com", "postgres"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    let c = pgtls_testkit::Cluster::init().unwrap();
    c.write_file("server.crt", &read("server.crt"), 0o644)
        .unwrap();
    c.write_file("server.key", &read("server.key"), 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    let root = dir.path().join("root.crt");
    let run = |host: &str| {
        Command::new(env!("CARGO_BIN_EXE_pool"))
            .arg(format!(
                "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
                c.port(),
                root.display()
            ))
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let out = run("db.example.com");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": ssl true TLSv1.3").count(), 4, "{stdout}");
    let out = run("other.example.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "wrong host accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(
            "server certificate for \"db.example.com\" does not match host name \"other.example.com\""
        ),
        "{stderr}"
    );
}
