//! A reader that closes the pipe early (`pgtls ... | head -1`) ends pgtls with
//! SIGPIPE's conventional status, not a panic.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn closed_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg_hba.conf");
    let line = "host all all 10.0.0.0/8 scram-sha-256\n";
    std::fs::write(&file, line.repeat(20_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(["hba", "rules"])
        .arg(&file)
        .args(["--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one chunk, then close our end while pgtls is still writing.
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 512];
    let n = stdout.read(&mut buf).unwrap();
    assert!(n > 0);
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// A reader that is gone before pgtls writes anything: every command's first write
/// fails with EPIPE, and each ends quietly with 141, whatever it prints.
#[test]
fn stdout_closed_before_the_first_write() {
    let dir = tempfile::tempdir().unwrap();
    let hba = dir.path().join("pg_hba.conf");
    std::fs::write(&hba, "hostssl all all 10.0.0.0/8 cert\n").unwrap();
    let hba = hba.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["version"],
        &["hba", "rules", hba],
        &["hba", "lint", hba, "--json"],
        &["hba", "policy", "cert"],
        &[
            "hba",
            "check",
            hba,
            "--address",
            "10.1.2.3",
            "--tls",
            "--database",
            "d",
            "--user",
            "u",
        ],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_pgtls"))
            .args(*args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: stderr: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: stderr: {stderr}");
    }
}

/// Another write error on stdout (a full device) is not hidden: it is reported and
/// the command fails.
#[test]
fn stdout_write_error_is_reported() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(["hba", "policy", "cert"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot write to stdout"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
