//! `pgtls_postgres` connect with a bad root, CRL, certificate or key file, against psql of
//! the same conninfo and a real PostgreSQL server (each client version of
//! `PGTLS_PG_VERSIONS`; 12 and 13 count as 14). The inputs are those of
//! `pgtls-cli/tests/file_errors.rs` except mode 000 (this test connects in-process, as
//! whoever runs it, and root reads such files: that suite runs the shared verifier as an
//! unprivileged user). psql blocks opening a FIFO: such a run is ended after a few seconds
//! and counts as a refusal; pgtls-postgres must refuse (and must not block). Asserted per
//! row: both connect with the same `ssl`, or both refuse with the same first line (psql's
//! text after `failed: `). Fails when a version ran no rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pgtls_postgres::Options;
use pgtls_testkit::Cluster;
use pgtls_verify::{Env, PgVersion};

const MODES: [&str; 5] = ["allow", "prefer", "require", "verify-ca", "verify-full"];
const SSL_QUERY: &str =
    "select coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)";
const HBA: &str = "local all all trust\n\
                   hostnossl tlsonly all 127.0.0.1/32 reject\n\
                   hostssl all all 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 trust\n";

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    pgtls_testkit::openssl(dir, args).unwrap_or_else(|e| panic!("openssl {args:?}: {e}"))
}

/// One input: its id, its conninfo parameters, and whether it is a FIFO.
type Input = (String, Vec<(&'static str, String)>, bool);

/// Makes the certificates, and returns the inputs.
fn inputs(d: &Path) -> Vec<Input> {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=errpaths CA",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(d, &a);
    fs::write(
        d.join("ext.cnf"),
        "[srv]\nsubjectAltName=DNS:localhost\n[cli]\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    for (who, cn) in [("srv", "localhost"), ("cli", "postgres")] {
        let mut a = vec!["req"];
        a.extend(ec);
        let (key, csr, crt, subj) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.crt"),
            format!("/CN={cn}"),
        );
        a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(d, &a);
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "7",
                "-days",
                "30",
                "-out",
                &crt,
                "-extfile",
                "ext.cnf",
                "-extensions",
                who,
            ],
        );
    }
    fs::write(d.join("index.txt"), "").unwrap();
    fs::write(d.join("crlnumber"), "1000\n").unwrap();
    fs::write(
        d.join("ca.cnf"),
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\n\
         default_crl_days=30\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-out",
            "ca.crl",
        ],
    );
    let p = |n: &str| d.join(n).display().to_string();
    let mut v = Vec::new();
    for slot in ["sslrootcert", "sslcrl", "sslcert", "sslkey"] {
        let s = d.join(slot);
        fs::create_dir_all(s.join("dir")).unwrap();
        fs::write(s.join("empty"), "").unwrap();
        fs::write(s.join("garbage"), "not PEM\n").unwrap();
        std::os::unix::fs::symlink(s.join("nowhere"), s.join("dangling")).unwrap();
        let st = Command::new("mkfifo").arg(s.join("fifo")).status().unwrap();
        assert!(st.success());
        let mut kinds = vec!["missing", "dir", "empty", "garbage", "dangling", "fifo"];
        let wrong: &[(&str, &str)] = match slot {
            "sslrootcert" => &[("crl-only", "ca.crl")],
            "sslcrl" => &[("cert-only", "ca.crt")],
            "sslcert" => &[("key-only", "cli.key")],
            _ => &[("cert-only", "cli.crt"), ("other-key", "srv.key")],
        };
        for (k, src) in wrong {
            fs::copy(d.join(src), s.join(k)).unwrap();
            kinds.push(k);
        }
        for k in kinds {
            let f = s.join(k).display().to_string();
            if slot == "sslkey" && s.join(k).is_file() {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(s.join(k), fs::Permissions::from_mode(0o600)).unwrap();
            }
            let mut params = vec![(slot, f)];
            match slot {
                "sslrootcert" => {}
                "sslcrl" => params.insert(0, ("sslrootcert", p("ca.crt"))),
                "sslcert" => {
                    params.insert(0, ("sslrootcert", p("ca.crt")));
                    params.push(("sslkey", p("cli.key")));
                }
                _ => {
                    params.insert(0, ("sslrootcert", p("ca.crt")));
                    params.insert(1, ("sslcert", p("cli.crt")));
                }
            }
            v.push((format!("{slot}/{k}"), params, k == "fifo"));
        }
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d.join("cli.key"), fs::Permissions::from_mode(0o600)).unwrap();
    v
}

/// psql's verdict: Ok(ssl) or Err(first line after `failed: `); Err("(blocks)") when ended.
fn via_psql(c: &Cluster, conninfo: &str, home: &Path) -> Result<bool, String> {
    let b = c.client_build();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "2", "6"]).arg(b.bindir.join("psql"));
    b.set_env(&mut cmd);
    cmd.args(["-X", "-Atc", SSL_QUERY, "-d", conninfo])
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .env("HOME", home)
        .env("PGCONNECT_TIMEOUT", "20");
    let out = cmd.output().unwrap();
    if matches!(out.status.code(), Some(124 | 137)) {
        return Err("(blocks)".into());
    }
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim() == "t");
    }
    Err(first_attempt(&String::from_utf8_lossy(&out.stderr)))
}

/// The message of the first attempt that is not allow's/prefer's plaintext attempt (which
/// the hba line rejects): the text after `failed: `, or the first line when there is none.
fn first_attempt(text: &str) -> String {
    for line in text.lines() {
        let line = line.strip_prefix("psql: error: ").unwrap_or(line);
        let msg = match line.split_once(" failed: ") {
            Some((head, m)) if head.starts_with("connection to server") => m,
            _ if !line.trim().is_empty() => line,
            _ => continue,
        };
        if msg.starts_with("FATAL:  pg_hba.conf rejects connection")
            && msg.contains("no encryption")
        {
            continue;
        }
        return msg.to_string();
    }
    String::new()
}

/// pgtls-postgres's verdict, on a thread of its own (a blocked read must not hang the test).
fn via_pgtls(conninfo: &str, home: &Path, version: u32) -> Result<bool, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (ci, home) = (conninfo.to_string(), home.display().to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(async {
            let env = Env::empty()
                .with_var("HOME", &home)
                .with_var("PGCONNECT_TIMEOUT", "20");
            let v = PgVersion::new(version).unwrap();
            match Options::new().pg_version(v).env(env).connect(&ci).await {
                Ok((client, connection)) => {
                    let task = tokio::spawn(connection);
                    let row = client.query_one(SSL_QUERY, &[]).await.unwrap();
                    drop(client);
                    let _ = task.await;
                    Ok(row.get::<_, bool>(0))
                }
                Err(e) => Err(first_attempt(&e.libpq_message())),
            }
        });
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(15))
        .unwrap_or_else(|_| Err("(pgtls-postgres blocked)".into()))
}

#[test]
fn connect_file_errors_agree_with_psql_every_version() {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inputs = inputs(d);
    let home = d.join("home");
    fs::create_dir_all(&home).unwrap();
    let mut versions: Vec<u32> = pgtls_testkit::pg_versions()
        .unwrap()
        .into_iter()
        .map(pgtls_testkit::client_major)
        .collect();
    versions.dedup();
    let mut failures = Vec::new();
    for version in versions {
        let c = Cluster::builder().version(version).init().unwrap();
        c.write_file("srv.crt", &fs::read(d.join("srv.crt")).unwrap(), 0o600)
            .unwrap();
        c.write_file("srv.key", &fs::read(d.join("srv.key")).unwrap(), 0o600)
            .unwrap();
        c.append_conf("ssl = on\nssl_cert_file = 'srv.crt'\nssl_key_file = 'srv.key'\n")
            .unwrap();
        c.write_hba(HBA).unwrap();
        let c = c.start_initialized().unwrap();
        c.sql("create database tlsonly").unwrap();
        let (mut rows, mut agree, mut accepts) = (0, 0, 0);
        let work: Vec<_> = inputs
            .iter()
            .flat_map(|(id, params, fifo)| MODES.iter().map(move |m| (id, params, *fifo, *m)))
            .collect();
        // FIFO rows each on a thread of their own (psql blocks on them until ended), the
        // rest four at a time.
        let (fifo_rows, plain): (Vec<_>, Vec<_>) = work.into_iter().partition(|w| w.2);
        let mut parts: Vec<Vec<_>> = fifo_rows.into_iter().map(|w| vec![w]).collect();
        parts.extend(plain.chunks(plain.len().div_ceil(4)).map(<[_]>::to_vec));
        let results: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = parts
                .iter()
                .map(|part| {
                    let (c, home) = (&c, &home);
                    s.spawn(move || {
                        part.iter()
                            .map(|(id, params, fifo, mode)| {
                                let mut ci = format!(
                                    "host=localhost hostaddr=127.0.0.1 port={} dbname=tlsonly \
                                     user=postgres sslmode={mode}",
                                    c.port()
                                );
                                for (k, v) in params.iter() {
                                    ci.push_str(&format!(" {k}='{v}'"));
                                }
                                let psql = via_psql(c, &ci, home);
                                let ours = via_pgtls(&ci, home, version);
                                (format!("{id} sslmode={mode}"), *fifo, psql, ours)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for (id, fifo, psql, ours) in results {
            rows += 1;
            if psql.is_ok() {
                accepts += 1;
            }
            let ok = match (&psql, &ours) {
                (Ok(a), Ok(b)) => a == b,
                // psql blocked: any refusal of pgtls-postgres agrees.
                (Err(a), Err(b)) if fifo && a == "(blocks)" => !b.contains("blocked"),
                (Err(a), Err(b)) => a == b,
                _ => false,
            };
            if ok {
                agree += 1;
            } else {
                failures.push(format!(
                    "libpq {version} {id}\n    psql:           {psql:?}\n    pgtls-postgres: {ours:?}"
                ));
            }
        }
        println!(
            "libpq {version}: {rows} rows, {agree} agree, {accepts} accepted by psql, {} differ",
            rows - agree
        );
        assert!(rows > 0 && accepts > 0, "libpq {version}: a vacuous run");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
