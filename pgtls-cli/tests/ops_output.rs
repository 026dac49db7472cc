//! Issue 14's output bugs of the PKI commands, each reproduced as the newcomer hit it
//! (a fresh `pgtls quickstart` store), with the behaviour now expected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Output;

mod pki_support;
use pki_support::{ok, p, pgtls};

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn quickstart(dir: &Path) {
    ok(pgtls(&[
        "quickstart",
        "--dir",
        p(dir),
        "--host",
        "localhost",
        "--role",
        "app",
    ]));
}

/// `crl --days 0` (and any other zero validity) is bad usage naming the flag; nothing is written.
#[test]
fn zero_days_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let ca = dir.join("ca");
    let before = fs::read(ca.join("crl.pem")).unwrap();
    let o = pgtls(&["crl", "--dir", p(&ca), "--days", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--days"), "{}", err(&o));
    assert_eq!(fs::read(ca.join("crl.pem")).unwrap(), before);
    for flag in ["--days", "--ca-days", "--crl-days"] {
        let d = tmp.path().join(flag.trim_start_matches('-'));
        let o = pgtls(&[
            "quickstart",
            "--dir",
            p(&d),
            "--host",
            "localhost",
            "--role",
            "app",
            flag,
            "0",
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", err(&o));
        assert!(err(&o).contains(flag), "{flag}: {}", err(&o));
        assert!(!d.exists(), "{flag}");
    }
    let o = pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&tmp.path().join("c")),
        "--days",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--days"), "{}", err(&o));
}
