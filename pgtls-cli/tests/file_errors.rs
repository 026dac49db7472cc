//! Differential suite for the file error paths of `pgtls verify server` against real libpq 14
//! to 18 (issue 16, "Also").
//!
//! For each libpq version (`PGTLS_PG_VERSIONS`; 12 and 13 count as 14), one PostgreSQL cluster
//! of that version serves an openssl-made certificate, and that version's psql connects to it
//! under the six sslmodes with one bad file at a time in `sslrootcert`, `sslcrl`, `sslcrldir`,
//! `sslcert` or `sslkey`: a directory where a file is expected (a file where a directory is),
//! a file of mode 000, an empty file, a file of the wrong kind (a CRL as root file, a
//! certificate as CRL file, a key as certificate, ...), a FIFO, a dangling symlink, a garbage
//! file, a missing file, and the good file as a baseline. Both psql and `pgtls` run as an
//! unprivileged user (`postgres`, through runuser, when the test runs as root: root reads a
//! mode-000 file). libpq's verdict (did a TLS session complete?) and the first line of its
//! message are compared with `pgtls verify server --pg-version N`, given the same parameters as
//! flags and, separately, as `--conninfo`. libpq blocks opening a FIFO (OpenSSL `fopen`s it and
//! nobody writes): such a psql run is ended after a few seconds and counts as a refusal without
//! a message (the connection never completes); pgtls must refuse, and must not block.
//! Listed divergences: testdata/verify/known-divergences-file-errors.json (every version) and
//! `known-divergences-file-errors-pgN.json`. The matrix is small, so every version runs all of
//! it; one line per version gives its counts, and a version that ran no rows fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtls_testkit::Cluster;
use pgtls_testkit::pki::{Leaf, OpensslCa, subject_hash};
use verify_common::{HBA, MODES, Outcome, Row, SSL_QUERY, TLS_ONLY_DB, libpq_attempts, q};

/// Seconds after which a blocked psql (or pgtls) run is ended (`timeout`). Only FIFO rows
/// reach it; it is not a measurement.
const BLOCK_LIMIT: &str = "6";

/// The parameter a row spoils.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Root,
    Crl,
    CrlDir,
    Cert,
    Key,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Self::Root => "sslrootcert",
            Self::Crl => "sslcrl",
            Self::CrlDir => "sslcrldir",
            Self::Cert => "sslcert",
            Self::Key => "sslkey",
        }
    }
}

/// One bad (or good) input: the parameters of a probe, all of them absolute paths.
struct Input {
    id: String,
    params: Vec<(&'static str, String)>,
    fifo: bool,
}

/// The certificates and the bad files, in `dir`.
struct Files {
    dir: PathBuf,
    srv_crt: PathBuf,
    srv_key: PathBuf,
    inputs: Vec<Input>,
    home: PathBuf,
}

fn make_files(dir: &Path) -> Files {
    pgtls_testkit::require_openssl().unwrap();
    let ca = OpensslCa::root(dir, "ca").unwrap();
    ca.issue(
        "srv",
        "/CN=localhost",
        Leaf::Server(&["DNS:localhost", "IP:127.0.0.1"]),
        None,
    )
    .unwrap();
    ca.issue("cli", "/CN=postgres", Leaf::Client, None).unwrap();
    // The CA's CRL, revoking nothing, and a CRL directory in OpenSSL's hashed layout.
    ca.crl("ca.crl", None).unwrap();
    let hash = subject_hash(dir, "ca.crl", true).unwrap();
    fs::create_dir_all(dir.join("crldir")).unwrap();
    fs::copy(dir.join("ca.crl"), dir.join(format!("crldir/{hash}.r0"))).unwrap();

    // The bad files, one set per slot (each slot has its own, so a FIFO is never shared).
    let p = |n: &str| dir.join(n).display().to_string();
    let bad = dir.join("bad");
    fs::create_dir_all(&bad).unwrap();
    let mut mode000 = Vec::new();
    let mut kinds_for = |slot: Slot| -> Vec<(String, String, bool)> {
        let s = bad.join(slot.name());
        fs::create_dir_all(&s).unwrap();
        let f = |n: &str| s.join(n).display().to_string();
        let mut v: Vec<(String, String, bool)> = Vec::new();
        let good = match slot {
            Slot::Root => p("ca.crt"),
            Slot::Crl => p("ca.crl"),
            Slot::CrlDir => p("crldir"),
            Slot::Cert => p("cli.crt"),
            Slot::Key => p("cli.key"),
        };
        v.push(("good".into(), good.clone(), false));
        v.push(("missing".into(), f("missing"), false));
        std::os::unix::fs::symlink(s.join("nowhere"), s.join("dangling")).unwrap();
        v.push(("dangling-symlink".into(), f("dangling"), false));
        let fifo = s.join("fifo");
        let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(st.success(), "mkfifo {}", fifo.display());
        v.push(("fifo".into(), f("fifo"), true));
        if slot == Slot::CrlDir {
            // A file where a directory is expected, an empty directory, one of mode 000.
            fs::copy(dir.join("ca.crl"), s.join("file")).unwrap();
            v.push(("a-file".into(), f("file"), false));
            fs::create_dir_all(s.join("empty")).unwrap();
            v.push(("empty-dir".into(), f("empty"), false));
            let d = s.join("mode000");
            fs::create_dir_all(&d).unwrap();
            fs::copy(
                dir.join(format!("crldir/{hash}.r0")),
                d.join(format!("{hash}.r0")),
            )
            .unwrap();
            mode000.push(d);
            v.push(("mode000".into(), f("mode000"), false));
            return v;
        }
        fs::create_dir_all(s.join("dir")).unwrap();
        v.push(("directory".into(), f("dir"), false));
        let m = s.join("mode000");
        fs::copy(&good, &m).unwrap();
        mode000.push(m);
        v.push(("mode000".into(), f("mode000"), false));
        fs::write(s.join("empty"), "").unwrap();
        v.push(("empty".into(), f("empty"), false));
        fs::write(s.join("garbage"), "this is not PEM\n").unwrap();
        v.push(("garbage".into(), f("garbage"), false));
        let wrong: &[(&str, &str)] = match slot {
            Slot::Root => &[("crl-only", "ca.crl"), ("key-only", "cli.key")],
            Slot::Crl => &[("cert-only", "ca.crt"), ("other-cert-only", "srv.crt")],
            Slot::Cert => &[("key-only", "cli.key"), ("crl-only", "ca.crl")],
            Slot::Key => &[("cert-only", "cli.crt"), ("other-key", "srv.key")],
            Slot::CrlDir => &[],
        };
        for (name, src) in wrong {
            let t = s.join(name);
            fs::copy(dir.join(src), &t).unwrap();
            v.push(((*name).into(), t.display().to_string(), false));
        }
        v
    };
    let mut inputs = Vec::new();
    for slot in [Slot::Root, Slot::Crl, Slot::CrlDir, Slot::Cert, Slot::Key] {
        for (kind, path, fifo) in kinds_for(slot) {
            // The other parameters good: the root file for the CRL slots, the certificate
            // with the key and the other way round.
            let mut params = vec![(slot.name(), path)];
            match slot {
                Slot::Root => {}
                Slot::Crl | Slot::CrlDir => params.insert(0, ("sslrootcert", p("ca.crt"))),
                Slot::Cert => {
                    params.insert(0, ("sslrootcert", p("ca.crt")));
                    params.push(("sslkey", p("cli.key")));
                }
                Slot::Key => {
                    params.insert(0, ("sslrootcert", p("ca.crt")));
                    params.insert(1, ("sslcert", p("cli.crt")));
                }
            }
            inputs.push(Input {
                id: format!("{}/{kind}", slot.name()),
                params,
                fifo,
            });
        }
    }
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();
    pgtls_testkit::give_to_postgres(dir).unwrap();
    // Key files 0600, so that their contents are what libpq judges (the permission rule is
    // checked in pgtls-verify/tests/sslcertmode.rs).
    for e in fs::read_dir(bad.join("sslkey")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::set_permissions(e.path(), fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    for m in &mode000 {
        fs::set_permissions(m, fs::Permissions::from_mode(0o000)).unwrap();
    }
    // libpq's key-permission rule (T3.8, the same in fe-secure-openssl.c of 14.3+ and every
    // later branch): a key owned by the reader must be 0600 or less; one owned by root may
    // also be group-readable (0640). The runs are unprivileged (postgres when we are root),
    // so the root-owned keys are readable through their group `postgres`.
    let modes = bad.join("sslkey-mode");
    fs::create_dir_all(&modes).unwrap();
    let mut key_modes: Vec<(String, u32, bool)> = [0o400, 0o640, 0o644, 0o604, 0o660, 0o610]
        .iter()
        .map(|m| (format!("own-{m:04o}"), *m, false))
        .collect();
    if is_root() {
        for m in [0o600, 0o640, 0o440, 0o644, 0o660, 0o650, 0o641] {
            key_modes.push((format!("root-{m:04o}"), m, true));
        }
    }
    for (name, m, root_owned) in key_modes {
        let t = modes.join(&name);
        fs::copy(dir.join("cli.key"), &t).unwrap();
        let owner = if root_owned {
            "root:postgres"
        } else if is_root() {
            "postgres:postgres"
        } else {
            ""
        };
        if !owner.is_empty() {
            let st = Command::new("chown").arg(owner).arg(&t).status().unwrap();
            assert!(st.success(), "chown {owner} {}", t.display());
        }
        fs::set_permissions(&t, fs::Permissions::from_mode(m)).unwrap();
        inputs.push(Input {
            id: format!("sslkey/mode-{name}"),
            params: vec![
                ("sslrootcert", p("ca.crt")),
                ("sslcert", p("cli.crt")),
                ("sslkey", t.display().to_string()),
            ],
            fifo: false,
        });
    }
    Files {
        dir: dir.to_path_buf(),
        srv_crt: dir.join("srv.crt"),
        srv_key: dir.join("srv.key"),
        inputs,
        home,
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `program` as an unprivileged user (`postgres` when we are root) with only `env` in
/// its environment, ended after [`BLOCK_LIMIT`] seconds (exit 124).
fn run_unprivileged(program: &Path, args: &[String], env: &[(&str, String)]) -> Output {
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "/usr/bin/env", "-i"]);
        for (k, v) in env {
            c.arg(format!("{k}={v}"));
        }
        c
    } else {
        let mut c = Command::new("/usr/bin/env");
        c.arg("-i");
        for (k, v) in env {
            c.arg(format!("{k}={v}"));
        }
        c
    };
    c.args(["/usr/bin/timeout", "-k", "2", BLOCK_LIMIT]);
    c.arg(program).args(args);
    c.output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

fn base_env(files: &Files) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", files.home.display().to_string()),
        ("PATH", "/usr/bin:/bin".into()),
    ]
}

/// psql of `c`'s client build against `db`: Ok(ssl column) or Err(stderr), or None when it
/// blocked.
fn psql(
    c: &Cluster,
    files: &Files,
    input: &Input,
    mode: &str,
    db: &str,
) -> Option<Result<String, String>> {
    let mut ci = format!(
        "host=localhost hostaddr=127.0.0.1 port={} dbname={db} user=postgres sslmode={mode}",
        c.port()
    );
    for (k, v) in &input.params {
        ci.push_str(&format!(" {k}={}", q(v)));
    }
    let b = c.client_build();
    let mut env = base_env(files);
    env.push(("PGCONNECT_TIMEOUT", "20".into()));
    if let Some(l) = &b.libdir {
        env.push(("LD_LIBRARY_PATH", l.display().to_string()));
    }
    let args: Vec<String> = ["-X", "-At", "-d", &ci, "-c", SSL_QUERY]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = run_unprivileged(&b.bindir.join("psql"), &args, &env);
    if out.status.code() == Some(124) || out.status.code() == Some(137) {
        return None;
    }
    Some(if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn oracle(c: &Cluster, files: &Files, input: &Input, mode: &str) -> (Outcome, String) {
    let db = if mode == "disable" {
        "postgres"
    } else {
        TLS_ONLY_DB
    };
    match psql(c, files, input, mode, db) {
        None => (Outcome::Reject(None), "libpq blocks".into()),
        Some(Ok(ssl)) if mode == "disable" && ssl == "f" => {
            (Outcome::Reject(None), "plaintext session".into())
        }
        Some(Ok(ssl)) if mode != "disable" && ssl == "t" => (Outcome::Accept, "TLS session".into()),
        Some(Ok(ssl)) => (
            Outcome::Broken(format!("{db} answered ssl={ssl}")),
            String::new(),
        ),
        Some(Err(stderr)) => {
            let msg = libpq_attempts(&stderr).into_iter().find(|m| {
                !(m.starts_with("FATAL:  pg_hba.conf rejects connection")
                    && m.contains("no encryption"))
            });
            let detail = format!("stderr: {:?}", stderr.trim());
            (Outcome::Reject(msg), detail)
        }
    }
}

/// `pgtls verify server` with the input as flags (`conninfo` false) or as `--conninfo`.
fn pgtls(
    files: &Files,
    input: &Input,
    mode: &str,
    version: u32,
    conninfo: bool,
) -> (Outcome, String) {
    let mut args: Vec<String> = vec!["verify".into(), "server".into()];
    if conninfo {
        let mut ci = format!("host=localhost hostaddr=127.0.0.1 sslmode={mode}");
        for (k, v) in &input.params {
            ci.push_str(&format!(" {k}={}", q(v)));
        }
        args.extend(["--conninfo".into(), ci]);
    } else {
        args.extend(
            [
                "--host",
                "localhost",
                "--hostaddr",
                "127.0.0.1",
                "--sslmode",
                mode,
            ]
            .map(String::from),
        );
        for (k, v) in &input.params {
            args.extend([format!("--{k}"), v.clone()]);
        }
    }
    args.extend([
        "--pg-version".into(),
        version.to_string(),
        "--chain".into(),
        files.srv_crt.display().to_string(),
    ]);
    let out = run_unprivileged(
        Path::new(env!("CARGO_BIN_EXE_pgtls")),
        &args,
        &base_env(files),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let first = stderr.lines().next().map(str::to_string);
    let outcome = match out.status.code() {
        Some(0) => Outcome::Accept,
        Some(1) => Outcome::Reject(first),
        Some(124 | 137) => Outcome::Broken("pgtls blocked".into()),
        other => Outcome::Broken(format!(
            "exit {other:?}: {}",
            stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        )),
    };
    (outcome, stderr)
}

fn run_version(version: u32, files: &Files) -> (String, verify_common::Counts) {
    let c = Cluster::builder().version(version).init().unwrap();
    assert_eq!(c.client_build().major, version, "libpq {version}");
    c.write_file("srv.crt", &fs::read(&files.srv_crt).unwrap(), 0o600)
        .unwrap();
    c.write_file("srv.key", &fs::read(&files.srv_key).unwrap(), 0o600)
        .unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'srv.crt'\nssl_key_file = 'srv.key'\n")
        .unwrap();
    c.write_hba(HBA).unwrap();
    let c = c.start_initialized().unwrap();
    c.sql(&format!("create database {TLS_ONLY_DB}")).unwrap();

    let probes: Vec<(&Input, &str)> = files
        .inputs
        .iter()
        .flat_map(|i| MODES.iter().map(move |m| (i, *m)))
        .collect();
    let row = |(input, mode): &(&Input, &str), conninfo_too: bool| -> Vec<Row> {
        let (o, od) = oracle(&c, files, input, mode);
        let mut rows = Vec::new();
        for (variant, ci) in [("flags", false), ("conninfo", true)] {
            if ci && !conninfo_too {
                continue;
            }
            let (g, gd) = pgtls(files, input, mode, version, ci);
            rows.push(Row {
                id: format!("{}/{variant}", input.id),
                mode: mode.to_string(),
                oracle: o.clone(),
                pgtls: g,
                detail: format!("{od} | pgtls stderr: {:?}", gd.lines().next().unwrap_or("")),
            });
        }
        rows
    };
    // FIFO probes each in a thread of their own (libpq blocks on them until ended); the rest
    // three at a time (psql runs mostly wait on the server).
    let (fifo, plain): (Vec<_>, Vec<_>) = probes.into_iter().partition(|(i, _)| i.fifo);
    let chunk = plain.len().div_ceil(3).max(1);
    let rows: Vec<Row> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for p in &fifo {
            handles.push(s.spawn(|| row(p, true)));
        }
        for part in plain.chunks(chunk) {
            handles.push(s.spawn(|| part.iter().flat_map(|p| row(p, true)).collect()));
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let divergences =
        verify_common::known_divergences_for("known-divergences-file-errors", version);
    let (report, table, counts) =
        verify_common::reconcile(&rows, &divergences, "file-error", 10, false);
    let path =
        verify_common::write_results(&format!("file_errors-pg{version}-results.tsv"), &table);
    println!(
        "libpq {version}: {} inputs x {} sslmodes, {}; results in {}",
        files.inputs.len(),
        MODES.len(),
        counts.show(),
        path.display()
    );
    let report = if report.is_empty() {
        report
    } else {
        format!(
            "libpq {version}:\n{report}\n(all rows: {})\n",
            path.display()
        )
    };
    (report, counts)
}

#[test]
fn file_error_paths_agree_with_libpq_every_version() {
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-errpaths-")
        .tempdir()
        .unwrap();
    let files = make_files(tmp.path());
    assert!(
        files.inputs.len() >= 40,
        "only {} inputs",
        files.inputs.len()
    );
    let _ = &files.dir;
    let mut failures = String::new();
    for version in verify_common::client_versions() {
        let start = std::time::Instant::now();
        let (report, counts) = run_version(version, &files);
        println!("libpq {version}: {:.0?}", start.elapsed());
        failures.push_str(&report);
        if counts.rows == 0 {
            failures.push_str(&format!("libpq {version}: the suite ran no rows\n"));
        }
    }
    // Let the temporary directory go even with mode-000 entries in it.
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("u+rwx")
        .arg(tmp.path())
        .status();
    assert!(failures.is_empty(), "{failures}");
}
