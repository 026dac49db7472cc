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
