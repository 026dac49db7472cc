//! The `verify server` flag contracts beyond the differential suites: an empty
//! `--sslrootcert ''`, `--sslcrl ''`, `--sslcrldir ''` means "not set" and overrides the
//! environment, exactly as the same empty value in `--conninfo` does (which
//! `verify_server.rs` checks against psql), and `--chains FILE...` gives each chain the
//! verdict a single `--chain` run gives it, in order. Certificates from the openssl CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

use std::path::Path;
use std::process::{Command, Output};

fn pgtls(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args).env("HOME", home);
    for v in [
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGSSLCRL",
        "PGSSLCRLDIR",
        "PGSSLCERT",
        "PGSSLKEY",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn openssl(dir: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    pgtls_testkit::openssl(dir, &args).unwrap();
}

/// A root, a leaf for db.test signed by it, and an unrelated self-signed certificate.
fn fixtures(d: &Path) {
    openssl(
        d,
        "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key",
    );
    openssl(
        d,
        "req -new -x509 -key ca.key -subj /CN=FlagsRoot -days 30 -out root.pem \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign",
    );
    openssl(
        d,
        "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key",
    );
    openssl(d, "req -new -key leaf.key -subj /CN=db.test -out leaf.csr");
    std::fs::write(d.join("ext.cnf"), "subjectAltName = DNS:db.test\n").unwrap();
    openssl(
        d,
        "x509 -req -in leaf.csr -CA root.pem -CAkey ca.key -set_serial 7 -days 30 \
         -extfile ext.cnf -out leaf.pem",
    );
    openssl(
        d,
        "req -new -x509 -key leaf.key -subj /CN=other -days 30 -out other.pem",
    );
}

fn same(a: &Output, b: &Output, what: &str) {
    assert_eq!(a.status.code(), b.status.code(), "{what}: exit status");
    assert_eq!(
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout),
        "{what}: stdout"
    );
    assert_eq!(
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr),
        "{what}: stderr"
    );
}

#[test]
fn empty_flag_values_mean_not_set_as_in_conninfo() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fixtures(d);
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let root = d.join("root.pem").display().to_string();
    let chain = d.join("leaf.pem").display().to_string();
    let bogus = d.join("missing.crl").display().to_string();
    let mut rows = 0;
    // (flag, the environment it must override, extra flags)
    let cases: [(&str, (&str, &str), Vec<&str>); 3] = [
        ("sslrootcert", ("PGSSLROOTCERT", root.as_str()), vec![]),
        (
            "sslcrl",
            ("PGSSLCRL", bogus.as_str()),
            vec!["--sslrootcert", &root],
        ),
        (
            "sslcrldir",
            ("PGSSLCRLDIR", bogus.as_str()),
            vec!["--sslrootcert", &root],
        ),
    ];
    for (flag, env, extra) in &cases {
        for mode in ["require", "verify-ca", "verify-full"] {
            let mut by_flag = vec![
                "verify",
                "server",
                "--json",
                "--sslmode",
                mode,
                "--host",
                "db.test",
                "--chain",
                &chain,
            ];
            by_flag.extend(extra.iter().copied());
            let long = format!("--{flag}");
            by_flag.extend([long.as_str(), ""]);
            let conninfo = format!("{flag}=''");
            let mut by_conninfo = vec![
                "verify",
                "server",
                "--json",
                "--sslmode",
                mode,
                "--host",
                "db.test",
                "--chain",
                &chain,
                "--conninfo",
                &conninfo,
            ];
            by_conninfo.extend(extra.iter().copied());
            let a = pgtls(&home, &[*env], &by_flag);
            let b = pgtls(&home, &[*env], &by_conninfo);
            assert_ne!(
                a.status.code(),
                Some(2),
                "--{flag} '' is not a usage error: {a:?}"
            );
            same(&a, &b, &format!("--{flag} '' under {mode}"));
            rows += 1;
        }
    }
    // The empty value really overrides: with PGSSLROOTCERT naming the right root,
    // `--sslrootcert ''` falls back to ~/.postgresql/root.crt, which does not exist.
    let out = pgtls(
        &home,
        &[("PGSSLROOTCERT", root.as_str())],
        &[
            "verify",
            "server",
            "--sslmode",
            "verify-ca",
            "--chain",
            &chain,
            "--sslrootcert",
            "",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".postgresql/root.crt"), "{err}");
    assert_eq!(rows, 9);
}

#[test]
fn chains_batch_gives_each_chain_its_single_verdict_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fixtures(d);
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let root = d.join("root.pem").display().to_string();
    let files: Vec<String> = ["leaf.pem", "other.pem", "leaf.pem"]
        .iter()
        .map(|f| d.join(f).display().to_string())
        .collect();
    let base = [
        "verify",
        "server",
        "--json",
        "--sslmode",
        "verify-full",
        "--host",
        "db.test",
        "--sslrootcert",
        &root,
    ];
    let mut args: Vec<&str> = base.to_vec();
    args.push("--chains");
    args.extend(files.iter().map(String::as_str));
    let batch = pgtls(&home, &[], &args);
    assert_eq!(
        batch.status.code(),
        Some(1),
        "one chain is refused: {batch:?}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&batch.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());
    for (line, file) in lines.iter().zip(&files) {
        let mut single: Vec<&str> = base.to_vec();
        single.extend(["--chain", file.as_str()]);
        let one = pgtls(&home, &[], &single);
        let mut want: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&one.stdout).trim()).unwrap();
        want["chain"] = serde_json::json!(file);
        assert_eq!(line, &want, "{file}");
    }
    assert_eq!(lines[0]["verdict"], "accept");
    assert_eq!(lines[1]["verdict"], "reject");
    // All accepted: exit 0.
    let mut ok: Vec<&str> = base.to_vec();
    ok.extend(["--chains", files[0].as_str(), files[2].as_str()]);
    assert_eq!(pgtls(&home, &[], &ok).status.code(), Some(0));
    // --chain and --chains together are a usage error.
    let mut both: Vec<&str> = base.to_vec();
    both.extend(["--chain", files[0].as_str(), "--chains", files[1].as_str()]);
    assert_eq!(pgtls(&home, &[], &both).status.code(), Some(2));
}
