//! `pgtls issue client` with several roles (`--role` repeated, `--roles-file`) into
//! `--out-dir`: one batch, checked by openssl (every certificate verifies as an SSL
//! client against the CA, every key matches its certificate) and by `pgtls ca check`;
//! refusals happen before anything is issued; a write that fails after the commit names
//! the issued serials; a real PostgreSQL 15 accepts a batch-issued certificate with
//! `cert` authentication; the key-generation progress of an RSA batch shows on a
//! terminal (a pseudo-terminal from `script`), and never with `--json` or on a pipe.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pgtls_testkit::{Cluster, openssl, require_openssl, require_postgres};
use serde_json::Value;

mod pki_support;
use pki_support::{ok, p, pgtls};

fn new_ca(dir: &Path) {
    ok(pgtls(&[
        "ca",
        "create",
        "--dir",
        p(dir),
        "--cn",
        "Batch CA",
    ]));
}

fn index_lines(ca: &Path) -> Vec<String> {
    fs::read_to_string(ca.join("index.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn usage_error(args: &[&str], needles: &[&str]) {
    let o = pgtls(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
    }
}

#[test]
fn a_batch_verifies_with_openssl_and_leaves_a_clean_store() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    new_ca(&ca);
    let roles_file = tmp.path().join("roles.txt");
    let file_roles: Vec<String> = (0..11).map(|i| format!("svc_{i}")).collect();
    fs::write(
        &roles_file,
        format!(
            "# fleet roles\n\n{}\n   # indented comment\n  app with space  \n",
            file_roles.join("\n")
        ),
    )
    .unwrap();
    let out = tmp.path().join("clients");
    let v: Value = serde_json::from_str(&ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&ca),
        "--role",
        "first",
        "--roles-file",
        p(&roles_file),
        "--out-dir",
        p(&out),
        "--json",
    ])))
    .unwrap();
    let mut roles = vec!["first".to_owned()];
    roles.extend(file_roles);
    roles.push("app with space".to_owned());
    let issued = v["issued"].as_array().unwrap();
    assert_eq!(v["count"], roles.len());
    assert_eq!(issued.len(), roles.len());
    let index = index_lines(&ca);
    assert_eq!(index.len(), roles.len(), "{index:?}");
    let mut cert_files = Vec::new();
    for (r, e) in roles.iter().zip(issued) {
        assert_eq!(e["role"], r.as_str());
        let crt = out.join(format!("{r}.crt"));
        let key = out.join(format!("{r}.key"));
        assert_eq!(e["cert_file"], p(&crt));
        assert_eq!(e["key_file"], p(&key));
        let serial = e["serial"].as_str().unwrap();
        assert!(
            index.iter().any(|l| l.split('\t').nth(3) == Some(serial)),
            "{serial} not in index.txt"
        );
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            key.display()
        );
        // The key belongs to the certificate, and the CN is the role (openssl's view).
        let from_key = openssl(tmp.path(), &["pkey", "-in", p(&key), "-pubout"]).unwrap();
        let from_cert = openssl(
            tmp.path(),
            &[
                "x509",
                "-in",
                p(&crt),
                "-noout",
                "-pubkey",
                "-subject",
                "-nameopt",
                "RFC2253",
            ],
        )
        .unwrap();
        let cert_text = String::from_utf8_lossy(&from_cert.stdout);
        assert!(
            cert_text.starts_with(&*String::from_utf8_lossy(&from_key.stdout)),
            "{r}: the key does not match the certificate"
        );
        assert!(
            cert_text.contains(&format!("subject=CN={r}\n")),
            "{r}: {cert_text}"
        );
        cert_files.push(crt);
    }
    // Every certificate verifies as an SSL client certificate under the CA.
    let mut args = vec![
        "verify".to_owned(),
        "-CAfile".to_owned(),
        p(&ca.join("cacert.pem")).to_owned(),
        "-purpose".to_owned(),
        "sslclient".to_owned(),
    ];
    args.extend(cert_files.iter().map(|c| p(c).to_owned()));
    let o = openssl(tmp.path(), &args).unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": OK")).count(),
        roles.len(),
        "{text}"
    );
    // The store is clean (no problem but the missing CRL? none: no CRL yet is fine).
    let check: Value =
        serde_json::from_str(&ok(pgtls(&["ca", "check", "--dir", p(&ca), "--json"]))).unwrap();
    assert_eq!(check["indexed"], roles.len());
    assert_eq!(check["certificates"], roles.len());
    assert_eq!(check["problems"].as_array().unwrap().len(), 0);

    // The same batch again is refused (the files exist); with --force it is reissued.
    let again = [
        "issue",
        "client",
        "--dir",
        p(&ca),
        "--roles-file",
        p(&roles_file),
        "--out-dir",
        p(&out),
    ];
    let o = pgtls(&again);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("svc_0.crt"));
    assert_eq!(
        index_lines(&ca).len(),
        roles.len(),
        "a refused batch issued"
    );
    let mut forced = again.to_vec();
    forced.push("--force");
    let text = ok(pgtls(&forced));
    assert!(
        text.contains("issued 12 client certificate(s) in one batch"),
        "{text}"
    );
    assert_eq!(index_lines(&ca).len(), roles.len() + 12);
}

#[test]
fn refusals_come_before_anything_is_issued() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    new_ca(&ca);
    let out = tmp.path().join("out");
    let d = p(&ca);
    let o = p(&out);
    let roles = tmp.path().join("roles.txt");
    let r = p(&roles);

    fs::write(&roles, "a\n# b\nbad/role\n").unwrap();
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--roles-file",
            r,
            "--out-dir",
            o,
        ],
        &[&format!("{r}:3"), "bad/role"],
    );
    fs::write(&roles, "a\nb\n\nc\nb\n").unwrap();
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--roles-file",
            r,
            "--out-dir",
            o,
        ],
        &[&format!("{r}:5"), &format!("{r}:2")],
    );
    fs::write(&roles, "# nobody\n\n").unwrap();
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--roles-file",
            r,
            "--out-dir",
            o,
        ],
        &["no roles"],
    );
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--role",
            "a",
            "--role",
            "..",
            "--out-dir",
            o,
        ],
        &["\"..\""],
    );
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--role",
            "a",
            "--role",
            "a",
            "--out-dir",
            o,
        ],
        &["already in the batch"],
    );
    // Several roles need --out-dir, and --out-cert/--out-key take one role.
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--role",
            "a",
            "--role",
            "b",
            "--out-cert",
            "x.crt",
            "--out-key",
            "x.key",
        ],
        &["--out-dir"],
    );
    usage_error(
        &["issue", "client", "--dir", d, "--roles-file", r],
        &["--out-dir"],
    );
    usage_error(
        &[
            "issue",
            "client",
            "--dir",
            d,
            "--role",
            "a",
            "--role",
            "b",
            "--san",
            "a.example",
            "--out-dir",
            o,
        ],
        &["--san"],
    );
    // An existing output file of the last role: nothing is issued, nothing written.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("c.key"), b"keep me").unwrap();
    let res = pgtls(&[
        "issue",
        "client",
        "--dir",
        d,
        "--role",
        "a",
        "--role",
        "b",
        "--role",
        "c",
        "--out-dir",
        o,
    ]);
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("c.key"));
    assert_eq!(fs::read(out.join("c.key")).unwrap(), b"keep me");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 1, "files were written");
    assert!(
        index_lines(&ca).is_empty(),
        "a refused batch issued certificates"
    );
    // One role into --out-dir is a batch of one.
    let text = ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        d,
        "--role",
        "solo",
        "--out-dir",
        o,
    ]));
    assert!(text.contains("issued 1 client certificate(s)"), "{text}");
    assert!(out.join("solo.crt").is_file() && out.join("solo.key").is_file());
    assert_eq!(index_lines(&ca).len(), 1);
}

#[test]
fn a_write_failing_after_the_commit_names_the_issued_serials() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    new_ca(&ca);
    let out = tmp.path().join("out");
    // b.crt is a non-empty directory: --force skips the existence check, and replacing
    // it fails only when the batch is already issued.
    fs::create_dir_all(out.join("b.crt")).unwrap();
    fs::write(out.join("b.crt").join("x"), b"x").unwrap();
    let res = pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&ca),
        "--role",
        "a",
        "--role",
        "b",
        "--role",
        "c",
        "--out-dir",
        p(&out),
        "--force",
    ]);
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    let index = index_lines(&ca);
    assert_eq!(index.len(), 3, "the batch was not issued: {err}");
    for line in &index {
        let serial = line.split('\t').nth(3).unwrap();
        assert!(err.contains(serial), "serial {serial} not named: {err}");
    }
    assert!(
        err.contains("a serial") && err.contains("(written)"),
        "{err}"
    );
    assert!(err.contains("c serial") && err.contains("NOT"), "{err}");
    assert!(err.contains("pgtls revoke"), "{err}");
    assert!(out.join("a.crt").is_file());
}

#[test]
fn postgres_accepts_a_batch_issued_client_certificate() {
    require_postgres().unwrap();
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    new_ca(&ca);
    let srv = tmp.path().join("server");
    ok(pgtls(&[
        "issue",
        "server",
        "--dir",
        p(&ca),
        "--host",
        "127.0.0.1",
        "--out-cert",
        p(&srv.with_extension("crt")),
        "--out-key",
        p(&srv.with_extension("key")),
    ]));
    let out = tmp.path().join("clients");
    ok(pgtls(&[
        "issue",
        "client",
        "--dir",
        p(&ca),
        "--role",
        "alice",
        "--role",
        "bob",
        "--out-dir",
        p(&out),
    ]));
    let c = Cluster::init().unwrap();
    for (name, file, mode) in [
        ("server.crt", srv.with_extension("crt"), 0o644),
        ("server.key", srv.with_extension("key"), 0o600),
        ("root.crt", ca.join("cacert.pem"), 0o644),
    ] {
        c.write_file(name, &fs::read(file).unwrap(), mode).unwrap();
    }
    c.append_conf(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         ssl_ca_file = 'root.crt'\n",
    )
    .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    c.sql("create role alice login; create role bob login")
        .unwrap();
    // libpq refuses a key readable by others; the batch wrote it 0600.
    let conninfo = |cert_of: &str, user: &str| {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=verify-full \
             sslrootcert={} sslcert={} sslkey={}",
            c.port(),
            p(&ca.join("cacert.pem")),
            p(&out.join(format!("{cert_of}.crt"))),
            p(&out.join(format!("{cert_of}.key"))),
        )
    };
    let sql = ["-X", "-At", "-c", "select current_user"];
    let o = c.psql(&sql, &conninfo("bob", "bob"), &[]).unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "bob");
    // bob's certificate does not log in as alice.
    let o = c.psql(&sql, &conninfo("bob", "alice"), &[]).unwrap();
    assert!(!o.status.success(), "bob's certificate logged in as alice");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("certificate authentication failed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `pgtls ARGS` under a pseudo-terminal (`script` from util-linux): what the
/// terminal showed, stdout and stderr together.
fn on_a_terminal(args: &[&str]) -> String {
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v script"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "script is missing: apt-get install bsdutils");
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_pgtls"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let o = std::process::Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{args:?}: {text}");
    text
}

#[test]
fn batch_progress_on_a_terminal_only_and_never_with_json() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    new_ca(&ca);
    let batch = |out: &str, json: bool| {
        let mut a = vec![
            "issue".to_owned(),
            "client".to_owned(),
            "--dir".to_owned(),
            p(&ca).to_owned(),
            "--role".to_owned(),
            "r1".to_owned(),
            "--role".to_owned(),
            "r2".to_owned(),
            "--out-dir".to_owned(),
            p(&tmp.path().join(out)).to_owned(),
            "--key-type".to_owned(),
            "rsa3072".to_owned(),
        ];
        if json {
            a.push("--json".to_owned());
        }
        a
    };
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // A terminal: n/N on one line, rewritten, then ended before the report.
    let shown = on_a_terminal(&refs(&batch("tty", false)));
    let line = "\rgenerating rsa3072 keys: 0/2\rgenerating rsa3072 keys: 1/2\rgenerating rsa3072 keys: 2/2\r\n";
    assert!(shown.starts_with(line), "{shown:?}");
    assert!(
        shown.contains("issued 2 client certificate(s)"),
        "{shown:?}"
    );
    // --json on a terminal: the JSON only.
    let shown = on_a_terminal(&refs(&batch("tty-json", true)));
    assert!(!shown.contains("generating"), "{shown:?}");
    let v: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(v["count"], 2);
    // Not a terminal: nothing on stderr.
    let o = pgtls(&refs(&batch("pipe", false)));
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
