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
