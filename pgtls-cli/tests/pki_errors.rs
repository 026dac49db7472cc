//! Bad input gives a typed error that names the file, exit status 1 (2 for bad usage),
//! and leaves the store exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pgtls_testkit::{openssl, require_openssl};

mod pki_support;
use pki_support::{ok, p, pgtls};

/// Every file under `dir` with its mode and contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
                out.insert(e.path(), (meta.permissions().mode(), Vec::new()));
            } else {
                out.insert(
                    e.path(),
                    (meta.permissions().mode(), fs::read(e.path()).unwrap()),
                );
            }
        }
    }
    out
}

/// Runs `args`, expects exit status `code`, a stderr naming `names`, and an unchanged store.
fn fails(store: &Path, args: &[&str], code: i32, names: &[&str]) -> String {
    let before = snapshot(store);
    let o = pgtls(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    for n in names {
        assert!(
            err.contains(n),
            "{args:?}: stderr does not name {n:?}: {err}"
        );
    }
    assert!(snapshot(store) == before, "{args:?} changed the store");
    err
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    store: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let store = dir.join("store");
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&store),
        "--cn",
        "Errors CA",
    ]));
    Fixture {
        _tmp: tmp,
        dir,
        store,
    }
}

fn sign_args<'a>(f: &'a Fixture, csr: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "sign",
        "--dir",
        p(&f.store),
        "--csr",
        csr,
        "--profile",
        "client",
        "--out",
        out,
    ]
}

#[test]
fn bad_csr_inputs() {
    require_openssl().unwrap();
    let f = fixture();
    let d = &f.dir;
    let out = d.join("out.crt");
    ok(pgtls(&[
        "csr",
        "--new-key",
        p(&d.join("k.pem")),
        "--subject",
        "/CN=app",
        "--out",
        p(&d.join("good.csr")),
    ]));
    let good = fs::read_to_string(d.join("good.csr")).unwrap();

    let truncated = d.join("truncated.csr");
    fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    fails(
        &f.store,
        &sign_args(&f, p(&truncated), p(&out)),
        1,
        &["truncated.csr"],
    );

    let garbage = d.join("garbage.der");
    fs::write(&garbage, b"\x30\x82\x01\x00garbage garbage").unwrap();
    fails(
        &f.store,
        &sign_args(&f, p(&garbage), p(&out)),
        1,
        &["garbage.der"],
    );

    let text = d.join("text.csr");
    fs::write(&text, "hello\n").unwrap();
    fails(
        &f.store,
        &sign_args(&f, p(&text), p(&out)),
        1,
        &["text.csr"],
    );

    // Flip a byte of the signature: the CSR still parses, its signature does not verify.
    openssl(
        d,
        &[
            "req", "-in", "good.csr", "-outform", "DER", "-out", "good.der",
        ],
    )
    .unwrap();
    let mut der = fs::read(d.join("good.der")).unwrap();
    let n = der.len();
    der[n - 3] ^= 0x01;
    let broken = d.join("broken.der");
    fs::write(&broken, &der).unwrap();
    let err = fails(
        &f.store,
        &sign_args(&f, p(&broken), p(&out)),
        1,
        &["broken.der", "signature does not verify"],
    );
    assert!(!err.contains("panicked"));
    assert!(!out.exists());

    // And the good one signs.
    ok(pgtls(&sign_args(&f, p(&d.join("good.csr")), p(&out))));
    openssl(
        d,
        &["verify", "-CAfile", p(&f.store.join("cacert.pem")), p(&out)],
    )
    .unwrap();
}

#[test]
fn bad_store_states() {
    require_openssl().unwrap();
    let f = fixture();
    let d = &f.dir;
    let issue = |name: &str| -> Vec<String> {
        [
            "issue",
            "client",
            "--dir",
            p(&f.store),
            "--role",
            "app",
            "--out-cert",
            p(&d.join(format!("{name}.crt"))),
            "--out-key",
            p(&d.join(format!("{name}.key"))),
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let run = |name: &str, code: i32, names: &[&str]| {
        let args = issue(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&f.store, &args, code, names);
        assert!(!d.join(format!("{name}.key")).exists());
    };

    // Locked by another process (here: this test holding the directory's flock).
    let lock = fs::File::open(&f.store).unwrap();
    lock.try_lock().unwrap();
    run("locked", 1, &["locked", p(&f.store)]);
    lock.unlock().unwrap();
    drop(lock);

    // Corrupt index.txt: the error names the file and the line.
    let index = f.store.join("index.txt");
    let good_index = fs::read(&index).unwrap();
    ok(pgtls(
        &issue("first")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
    let mut bad = fs::read(&index).unwrap();
    bad.extend_from_slice(b"V\tnot-a-time\t\t01\tunknown\t/CN=x\n");
    fs::write(&index, &bad).unwrap();
    run("corrupt", 1, &["index.txt:2", "expiry"]);
    fs::write(&index, b"V\t361231235959Z\t\t0A\tunknown").unwrap();
    run("truncated", 1, &["index.txt:1"]);
    fs::write(&index, &good_index).unwrap();

    // A CA key that does not belong to the CA certificate.
    let key = f.store.join("private/cakey.pem");
    let good_key = fs::read(&key).unwrap();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            p(&key),
        ],
    )
    .unwrap();
    run(
        "mismatch",
        1,
        &["cakey.pem", "does not match", "cacert.pem"],
    );
    // Garbage instead of a key.
    fs::write(
        &key,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    run("garbage", 1, &["cakey.pem"]);
    fs::write(&key, &good_key).unwrap();

    // Truncated CA certificate.
    let cert = f.store.join("cacert.pem");
    let good_cert = fs::read(&cert).unwrap();
    fs::write(&cert, &good_cert[..good_cert.len() - 40]).unwrap();
    run("cert", 1, &["cacert.pem"]);
    fs::write(&cert, &good_cert).unwrap();

    // Revoking what is not there, and a certificate of another CA.
    fails(
        &f.store,
        &["revoke", "--dir", p(&f.store), "--serial", "0BADC0DE"],
        1,
        &["0BADC0DE", "index.txt"],
    );
    let other = d.join("other");
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&other),
        "--cn",
        "Other",
    ]));
    fails(
        &f.store,
        &[
            "revoke",
            "--dir",
            p(&f.store),
            "--cert",
            p(&other.join("cacert.pem")),
        ],
        1,
        &["cacert.pem"],
    );

    // Keys are never overwritten without --force.
    fails(
        &f.store,
        &issue("first")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        1,
        &["first.crt", "--force"],
    );

    // Usage errors exit 2.
    fails(
        &f.store,
        &[
            "issue",
            "client",
            "--dir",
            p(&f.store),
            "--role",
            "x",
            "--out-cert",
            "a",
            "--out-key",
            "b",
            "--key-type",
            "dsa",
        ],
        2,
        &["dsa"],
    );
    fails(
        &f.store,
        &["revoke", "--dir", p(&f.store), "--serial", "xyz"],
        2,
        &["xyz"],
    );
    fails(&f.store, &["revoke", "--dir", p(&f.store)], 2, &[]);
}

#[test]
fn wrong_passphrase_for_an_encrypted_ca_key() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let store = d.join("store");
    fs::write(d.join("pass"), "correct horse\n").unwrap();
    fs::write(d.join("wrong"), "battery staple\n").unwrap();
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&store),
        "--cn",
        "Encrypted",
        "--encrypt",
        "--passphrase-file",
        p(&d.join("pass")),
        "--kdf-iterations",
        "2048",
    ]));
    let key = store.join("private/cakey.pem");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = openssl(
        d,
        &[
            "pkey",
            "-in",
            p(&key),
            "-passin",
            "pass:correct horse",
            "-check",
            "-noout",
        ],
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));
    let args = |pass: &str| {
        vec![
            "issue".to_owned(),
            "server".into(),
            "--dir".into(),
            p(&store).into(),
            "--host".into(),
            "db".into(),
            "--out-cert".into(),
            p(&d.join("s.crt")).into(),
            "--out-key".into(),
            p(&d.join("s.key")).into(),
            "--ca-passphrase-file".into(),
            p(&d.join(pass)).into(),
        ]
    };
    let wrong = args("wrong");
    fails(
        &store,
        &wrong.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        &["cakey.pem", "wrong passphrase"],
    );
    let none: Vec<&str> = wrong.iter().take(10).map(String::as_str).collect();
    fails(&store, &none, 1, &["cakey.pem", "passphrase is required"]);
    let right = args("pass");
    ok(pgtls(&right.iter().map(String::as_str).collect::<Vec<_>>()));
    openssl(
        d,
        &[
            "verify",
            "-CAfile",
            p(&store.join("cacert.pem")),
            "-purpose",
            "sslserver",
            p(&d.join("s.crt")),
        ],
    )
    .unwrap();
}
