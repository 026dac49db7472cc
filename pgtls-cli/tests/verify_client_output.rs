//! `pgtls verify client` output (issue 14): the text output shows the OpenSSL reason the
//! JSON has (with a hint for the CRL traps), and a `map=` line without `--ident` is bad
//! usage instead of a prediction made with an empty map. Certificates from
//! testdata/verify/gen.sh (openssl-made).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn text_output_shows_the_hidden_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    verify_common::generate(d).unwrap();
    // Two CAs in ssl_ca_file, a CRL for the root only: the intermediate has none
    // (PostgreSQL checks every level), and an expired-at-`--at` CRL.
    for (crl, at, reason) in [
        ("client/root.crl", None, "unable to get certificate CRL"),
        (
            "client/crl.pem",
            Some("2090-06-01T00:00:00Z"),
            "CRL has expired",
        ),
    ] {
        let (ca, crl, cert) = (
            d.join("client/ca-bundle.pem"),
            d.join(crl),
            d.join("clients/alice-via-int/chain.pem"),
        );
        let mut args = vec![
            "verify",
            "client",
            "--hba-line",
            "hostssl all all all cert",
            "--ssl-ca-file",
            s(&ca),
            "--ssl-crl-file",
            s(&crl),
            "--user",
            "alice",
            "--cert",
            s(&cert),
        ];
        if let Some(t) = at {
            args.extend(["--at", t]);
        }
        let mut j = args.clone();
        j.push("--json");
        let o = run(&j);
        assert_eq!(o.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let reasons: Vec<&str> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["reason"].as_str())
            .collect();
        assert_eq!(reasons, [reason], "{v}");
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("hidden reason: {reason}")), "{err}");
        assert!(err.contains("pgtls: hint: "), "{err}");
    }
}

#[test]
fn map_line_without_ident_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    verify_common::generate(d).unwrap();
    let empty = d.join("empty-ident");
    std::fs::write(&empty, "").unwrap();
    let ident = d.join("ident");
    std::fs::write(&ident, "m alice alice\n").unwrap();
    let base = |ident: Option<&Path>| {
        let mut a = vec![
            "verify".to_owned(),
            "client".into(),
            "--hba-line".into(),
            "hostssl all all all cert map=m".into(),
            "--ssl-ca-file".into(),
            s(&d.join("client/ca.pem")).into(),
            "--user".into(),
            "alice".into(),
            "--cert".into(),
            s(&d.join("clients/alice/chain.pem")).into(),
        ];
        if let Some(i) = ident {
            a.extend(["--ident".to_owned(), s(i).to_owned()]);
        }
        a
    };
    let runs = |a: Vec<String>| run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let o = runs(base(None));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--ident") && err.contains("map=m"), "{err}");
    assert!(o.stdout.is_empty());
    // An explicitly empty file is what the server with no mapping has: refused.
    let o = runs(base(Some(&empty)));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no match in usermap \"m\""));
    let o = runs(base(Some(&ident)));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Without map= no ident file is needed.
    let mut a = base(None);
    a[3] = "hostssl all all all cert".into();
    assert_eq!(runs(a).status.code(), Some(0));
}
