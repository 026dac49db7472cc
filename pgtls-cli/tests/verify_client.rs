//! Differential suite for `pgtls verify client` against real PostgreSQL servers 12 to 18
//! (`PGTLS_PG_VERSIONS`), each spoken to by its own psql/libpq (14 for 12 and 13).
//!
//! The client certificates of `testdata/verify/gen.sh` (openssl-made) log in with psql
//! (sslmode=require) under pg_hba.conf lines with `cert`, `clientname=DN`, `map=` (pg_ident.conf
//! with literal, quoted-DN and regex entries), `clientcert=verify-ca|verify-full` on trust and
//! scram-sha-256, and plain `trust`, as several users, with the server's CRL given as a file,
//! as a hashed directory, or not at all, and with the client intermediate in `ssl_ca_file`.
//! The server's outcome (connected, or the message the
//! client printed after `failed: `) is compared with `pgtls verify client` given the same
//! line, ident file, CA, CRL, user and certificate chain, with `--pg-version N`. Listed
//! divergences (testdata/verify/known-divergences-client.json for every version,
//! known-divergences-client-pgN.json for one) must still diverge.
//!
//! Versions: `clientname=` lines and `ssl_crl_dir` exist from 14 and are left out before. On
//! 15 (and everywhere with `PGTLS_PG_MATRIX=full`) the whole matrix runs; elsewhere every
//! certificate on every line but as fewer users ([`SAMPLE_USERS`]), and in the phases after
//! the first only the `trust` line as alice. One line per version gives its counts; a version
//! that ran no rows fails, and so does any false accept.
//!
//! [`ident_fallback_reaches_at_file_and_include_lines`]: the pg_ident fallback past a line
//! pgtls cannot evaluate in general, into `@file` and `include` lines, on 15 and 16.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod verify_common;

use std::fs;
use std::path::{Path, PathBuf};

use pgtls_testkit::Cluster;
use verify_common::{Counts, Outcome, Row, brief, libpq_attempts, q, run_pgtls};

/// (label, database, the rest of the hostssl line after the address).
const LINES: &[(&str, &str, &str)] = &[
    ("cert", "db_cert", "cert"),
    ("cert-map", "db_cert_map", "cert map=cnmap"),
    ("cert-regex-map", "db_cert_rx", "cert map=rxmap"),
    ("cert-dn-map", "db_cert_dn", "cert clientname=DN map=dnmap"),
    ("cert-dn", "db_cert_dn_nomap", "cert clientname=DN"),
    ("cert-cn-explicit", "db_cert_cn", "cert clientname=CN"),
    (
        "scram-verify-full",
        "db_scram_full",
        "scram-sha-256 clientcert=verify-full",
    ),
    (
        "scram-verify-ca",
        "db_scram_ca",
        "scram-sha-256 clientcert=verify-ca",
    ),
    (
        "trust-verify-full",
        "db_trust_full",
        "trust clientcert=verify-full",
    ),
    (
        "trust-verify-full-dn",
        "db_trust_full_dn",
        "trust clientcert=verify-full clientname=DN",
    ),
    (
        "trust-verify-ca",
        "db_trust_ca",
        "trust clientcert=verify-ca",
    ),
    ("trust", "db_trust", "trust"),
];

/// Lines that need PostgreSQL 14 (`clientname=`).
fn line_exists(version: u32, rest: &str) -> bool {
    version >= 14 || !rest.contains("clientname=")
}

/// The roles of the sample (off 15): the CN of most certificates, and the whole DN.
const SAMPLE_USERS: &[&str] = &["alice", "CN=alice,O=pgtls-verifydiff"];

/// Lines tried again in the other phases (the CA and CRL settings only matter in the
/// handshake, which does not depend on the line).
const CRL_PHASE_LINES: &[&str] = &["cert", "trust"];

const IDENT: &str = "# MAPNAME SYSTEM-USERNAME PG-USERNAME\n\
                     cnmap alice alice\n\
                     cnmap alice bob\n\
                     cnmap Alice alice\n\
                     cnmap erin erin\n\
                     cnmap \"dave, jr\" carol\n\
                     rxmap /^(alice|carol)$ \\1\n\
                     rxmap \"/^dave, (.*)$\" bob\n\
                     dnmap \"CN=carol,OU=db,O=pgtls-verifydiff,C=DE\" carol\n\
                     dnmap \"CN=alice,O=pgtls-verifydiff\" alice\n\
                     dnmap \"/^CN=dave\\\\, jr,O=pgtls-verifydiff$\" bob\n\
                     dnmap \"/^UID=e1\\\\+CN=erin,\" erin\n\
                     dnmap \"CN=jos\\C3\\A9,O=pgtls-verifydiff\" carol\n\
                     cnmap josé carol\n";

/// Roles (all with password "pw" for the scram lines).
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "erin",
    "CN=alice,O=pgtls-verifydiff",
];

/// One server configuration: file names in the data directory ("" = unset) and the same files
/// as pgtls gets them.
struct Phase {
    name: &'static str,
    ssl_ca_file: &'static str,
    ssl_crl_file: &'static str,
    ssl_crl_dir: &'static str,
    ca: PathBuf,
    crl_file: Option<PathBuf>,
    crl_dir: Option<PathBuf>,
}

struct Client {
    name: String,
    /// PEM chain as the client sends it (leaf first); None: no certificate.
    chain: Option<PathBuf>,
    key: Option<PathBuf>,
}

struct Probe<'a> {
    id: String,
    client: &'a Client,
    db: &'static str,
    line: String,
    user: &'static str,
    crl_file: Option<PathBuf>,
    crl_dir: Option<PathBuf>,
}

fn oracle(c: &Cluster, p: &Probe<'_>, home: &Path) -> (Outcome, String) {
    let mut ci = format!(
        "host=127.0.0.1 port={} dbname={} user={} sslmode=require",
        c.port(),
        p.db,
        q(p.user)
    );
    if let (Some(crt), Some(key)) = (&p.client.chain, &p.client.key) {
        ci.push_str(&format!(
            " sslcert={} sslkey={}",
            q(&crt.display().to_string()),
            q(&key.display().to_string())
        ));
    }
    let home = home.display().to_string();
    let out = verify_common::psql(
        c.client_build(),
        &ci,
        &["-X", "-At", "-c", "select 1"],
        &[("HOME", home.as_str()), ("PGPASSWORD", "pw")],
    );
    if out.status.success() {
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            (Outcome::Accept, "connected".into())
        } else {
            (Outcome::Broken(brief(&out)), String::new())
        }
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = libpq_attempts(&stderr).into_iter().next();
        (Outcome::Reject(msg), brief(&out))
    }
}

fn pgtls(p: &Probe<'_>, ident: &Path, ca: &Path, home: &Path, version: u32) -> (Outcome, String) {
    let mut args: Vec<String> = vec![
        "verify".into(),
        "client".into(),
        "--hba-line".into(),
        p.line.clone(),
        "--ident".into(),
        ident.display().to_string(),
        "--ssl-ca-file".into(),
        ca.display().to_string(),
    ];
    if let Some(f) = &p.crl_file {
        args.extend(["--ssl-crl-file".into(), f.display().to_string()]);
    }
    if let Some(d) = &p.crl_dir {
        args.extend(["--ssl-crl-dir".into(), d.display().to_string()]);
    }
    args.extend(["--user".into(), p.user.to_string()]);
    if let Some(chain) = &p.client.chain {
        args.extend(["--cert".into(), chain.display().to_string()]);
    }
    args.extend(["--pg-version".into(), version.to_string()]);
    run_pgtls(&args, home, &[])
}

/// Points the server at the phase's CA and CRL settings and reloads; checks it took them.
fn configure(c: &Cluster, ph: &Phase) -> Result<(), String> {
    let before = c.log_len();
    let mut want = vec![
        ("ssl_ca_file", ph.ssl_ca_file),
        ("ssl_crl_file", ph.ssl_crl_file),
    ];
    // ssl_crl_dir came in 14.
    if c.version() >= 14 {
        want.push(("ssl_crl_dir", ph.ssl_crl_dir));
    }
    let conf: String = want.iter().map(|(k, v)| format!("{k} = '{v}'\n")).collect();
    c.write_file("postgresql.auto.conf", conf.as_bytes(), 0o600)?;
    c.reload()?;
    let log = c.log_since(before);
    if log.contains("SSL configuration was not reloaded") || log.contains("could not load") {
        return Err(format!("server did not take {conf:?}:\n{log}"));
    }
    for (k, v) in want {
        let shown = c.sql(&format!("show {k}"))?;
        if shown.trim() != v {
            return Err(format!("server shows {k} = {shown:?} after setting {v:?}"));
        }
    }
    Ok(())
}

/// Runs the oracle and pgtls on every probe, three at a time (psql mostly waits on the server).
fn run_all(c: &Cluster, probes: &[Probe<'_>], ident: &Path, ca: &Path, home: &Path) -> Vec<Row> {
    let chunk = probes.len().div_ceil(3).max(1);
    let version = c.version();
    std::thread::scope(|s| {
        let handles: Vec<_> = probes
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|p| {
                            let (o, od) = oracle(c, p, home);
                            let (g, gd) = pgtls(p, ident, ca, home, version);
                            Row {
                                id: p.id.clone(),
                                mode: "require".into(),
                                oracle: o,
                                pgtls: g,
                                detail: format!(
                                    "line={:?} {od} | pgtls stderr: {:?}",
                                    p.line,
                                    gd.lines().next().unwrap_or("")
                                ),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// The certificates and files every version's run uses (made once).
struct Inputs {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    clients: Vec<Client>,
    home: PathBuf,
    ident: PathBuf,
    ca: PathBuf,
    crl_file: PathBuf,
    crl_dir: PathBuf,
}

fn inputs() -> Inputs {
    let tmp = tempfile::Builder::new()
        .prefix("pgtls-verifydiff-client-")
        .tempdir()
        .unwrap();
    let out = tmp.path().join("cases");
    verify_common::generate(&out).unwrap();
    let mut clients: Vec<Client> = verify_common::read_tsv(&out.join("clients.tsv"))
        .into_iter()
        .map(|f| {
            assert_eq!(f.len(), 3, "clients.tsv line: {f:?}");
            Client {
                name: f[0].clone(),
                chain: Some(out.join(&f[1])),
                key: Some(out.join(&f[2])),
            }
        })
        .collect();
    // The first client's chain padded with copies of the CA certificate past OpenSSL's
    // default max_cert_list (100 KiB): the server refuses the Certificate message unread.
    let padded = out.join("padded-chain.pem");
    {
        let first = clients.first().expect("clients.tsv lists clients");
        let mut pem = fs::read(first.chain.as_ref().unwrap()).unwrap();
        let ca_pem = fs::read(out.join("client/ca.pem")).unwrap();
        while pem.len() < 160 * 1024 {
            pem.extend_from_slice(&ca_pem);
        }
        fs::write(&padded, pem).unwrap();
        let key = first.key.clone();
        clients.push(Client {
            name: "padded-past-max-cert-list".into(),
            chain: Some(padded),
            key,
        });
    }
    clients.push(Client {
        name: "no-cert".into(),
        chain: None,
        key: None,
    });
    let home = out.join("homes/empty");
    fs::create_dir_all(&home).unwrap();
    let ident = out.join("pg_ident.conf");
    fs::write(&ident, IDENT).unwrap();
    let ca = out.join("client/ca.pem");
    let crl_file = out.join("client/crl.pem");
    let crl_dir = out.join("client/crldir");
    Inputs {
        _tmp: tmp,
        out,
        clients,
        home,
        ident,
        ca,
        crl_file,
        crl_dir,
    }
}

/// Runs the suite against a server of `version`: the report (empty = pass) and the counts.
fn run_version(version: u32, inp: &Inputs) -> (String, Counts) {
    let full = pgtls_testkit::full_matrix(version).unwrap();
    let Inputs {
        out,
        clients,
        home,
        ident,
        ca,
        crl_file,
        crl_dir,
        ..
    } = inp;
    let (out, home, ident, ca) = (out.as_path(), home.as_path(), ident.as_path(), ca.as_path());
    let lines: Vec<&(&str, &'static str, &str)> =
        LINES.iter().filter(|l| line_exists(version, l.2)).collect();
    let users: &[&'static str] = if full { USERS } else { SAMPLE_USERS };
    let c = Cluster::builder().version(version).init().unwrap();
    let read = |p: &Path| fs::read(p).unwrap();
    c.write_file(
        "server.crt",
        &read(&out.join("cases/chain-direct/chain.pem")),
        0o600,
    )
    .unwrap();
    c.write_file(
        "server.key",
        &read(&out.join("cases/chain-direct/key.pem")),
        0o600,
    )
    .unwrap();
    c.write_file("client-ca.pem", &read(ca), 0o600).unwrap();
    let ca_bundle = out.join("client/ca-bundle.pem");
    c.write_file("client-ca-bundle.pem", &read(&ca_bundle), 0o600)
        .unwrap();
    c.write_file("client-crl.pem", &read(crl_file), 0o600)
        .unwrap();
    c.write_file(
        "client-root.crl",
        &read(&out.join("client/root.crl")),
        0o600,
    )
    .unwrap();
    let dd = c.data_dir().join("client-crldir");
    fs::create_dir_all(&dd).unwrap();
    for e in fs::read_dir(crl_dir).unwrap() {
        let e = e.unwrap();
        // Hash links are symlinks to files in the same directory: copy their contents.
        fs::write(dd.join(e.file_name()), read(&e.path())).unwrap();
    }
    pgtls_testkit::give_to_postgres(&dd).unwrap();
    c.append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'client-ca.pem'\n")
        .unwrap();
    let mut hba = String::from("local all all trust\n");
    for (_, db, rest) in &lines {
        hba.push_str(&format!("hostssl {db} all 127.0.0.1/32 {rest}\n"));
    }
    c.write_hba(&hba).unwrap();
    c.write_ident(IDENT).unwrap();
    let c = c.start_initialized().unwrap();
    for (_, db, _) in &lines {
        c.sql(&format!("create database {db}")).unwrap();
    }
    for u in USERS {
        // 12 and 13 store new passwords as md5 by default, which scram-sha-256 lines refuse.
        c.sql(&format!(
            "set password_encryption = 'scram-sha-256'; create role \"{}\" login password 'pw'",
            u.replace('"', "\"\"")
        ))
        .unwrap();
    }

    let phase = |name, ssl_ca_file, ssl_crl_file, ssl_crl_dir, crl_file, crl_dir| Phase {
        name,
        ssl_ca_file,
        ssl_crl_file,
        ssl_crl_dir,
        ca: if ssl_ca_file == "client-ca.pem" {
            ca.to_path_buf()
        } else {
            ca_bundle.clone()
        },
        crl_file,
        crl_dir,
    };
    let phases = [
        phase(
            "crl-file",
            "client-ca.pem",
            "client-crl.pem",
            "",
            Some(crl_file.clone()),
            None,
        ),
        // Only the root's CRL: CRL_CHECK_ALL wants one for the intermediate too.
        phase(
            "crl-root-only",
            "client-ca.pem",
            "client-root.crl",
            "",
            Some(out.join("client/root.crl")),
            None,
        ),
        phase(
            "crl-dir",
            "client-ca.pem",
            "",
            "client-crldir",
            None,
            Some(crl_dir.clone()),
        ),
        phase("no-crl", "client-ca.pem", "", "", None, None),
        // The intermediate in ssl_ca_file: clients need not send it.
        phase("ca-bundle", "client-ca-bundle.pem", "", "", None, None),
    ];
    let mut rows = Vec::new();
    for ph in &phases {
        let phase = ph.name;
        if !ph.ssl_crl_dir.is_empty() && version < 14 {
            continue;
        }
        if let Err(e) = configure(&c, ph) {
            rows.push(Row {
                id: format!("{phase}/server"),
                mode: "require".into(),
                oracle: Outcome::Broken(e),
                pgtls: Outcome::Broken("not run".into()),
                detail: String::new(),
            });
            continue;
        }
        let probe = |i: usize, label: &str, db: &'static str, rest: &str, user| {
            let cl = &clients[i];
            Probe {
                id: format!("{}/{phase}/{label}/user={user}", cl.name),
                client: cl,
                db,
                line: format!("hostssl {db} all 127.0.0.1/32 {rest}"),
                user,
                crl_file: ph.crl_file.clone(),
                crl_dir: ph.crl_dir.clone(),
            }
        };
        // Step 1: each certificate on the `trust` line as alice. A certificate the handshake
        // refuses (a message that is not a FATAL from authentication) is refused the same way
        // on every line, so step 2 tries it as one user only.
        let (tl, tdb, trest) = LINES.iter().find(|l| l.0 == "trust").unwrap();
        let first: Vec<Probe<'_>> = clients
            .iter()
            .enumerate()
            .map(|(i, _)| probe(i, tl, tdb, trest, USERS[0]))
            .collect();
        let first_rows = run_all(&c, &first, ident, &ph.ca, home);
        let refused_at_handshake: Vec<&str> = clients
            .iter()
            .zip(&first_rows)
            .filter(
                |(_, r)| matches!(&r.oracle, Outcome::Reject(Some(m)) if !m.starts_with("FATAL:")),
            )
            .map(|(cl, _)| cl.name.as_str())
            .collect();
        let mut probes = Vec::new();
        for (i, cl) in clients.iter().enumerate() {
            for (label, db, rest) in &lines {
                if phase != "crl-file" && !CRL_PHASE_LINES.contains(label) {
                    continue;
                }
                // Off 15, the later phases only try the `trust` line (step 1).
                if phase != "crl-file" && !full {
                    continue;
                }
                for user in users {
                    let done = *label == "trust" && user == &USERS[0];
                    let redundant =
                        user != &USERS[0] && refused_at_handshake.contains(&cl.name.as_str());
                    if !done && !redundant {
                        probes.push(probe(i, label, db, rest, user));
                    }
                }
            }
        }
        rows.extend(first_rows);
        rows.extend(run_all(&c, &probes, ident, &ph.ca, home));
    }

    // Last: a pg_ident.conf that does not load (one regex line does not compile), read at
    // startup. The server then keeps no maps at all, so every map= line refuses whatever
    // the good lines say; pgtls, given the same file, must refuse the same way. (After a
    // reload the server would keep the previous file, a state pgtls cannot see.)
    let bad = format!("{IDENT}rxmap /^(alice$ alice\n");
    let bad_ident = out.join("pg_ident-unloadable.conf");
    fs::write(&bad_ident, &bad).unwrap();
    c.write_ident(&bad).unwrap();
    let before = c.log_len();
    let c = c.restart().unwrap();
    let log = c.log_since(before);
    assert!(
        log.contains("invalid regular expression"),
        "the server loaded the broken pg_ident.conf without complaint:\n{log}"
    );
    let no_crl = phases.iter().find(|p| p.name == "no-crl").unwrap();
    configure(&c, no_crl).unwrap();
    let mut probes = Vec::new();
    for cl in clients.iter().filter(|cl| cl.chain.is_some()) {
        for (label, db, rest) in lines.iter().filter(|l| l.2.contains("map=")) {
            for user in users {
                probes.push(Probe {
                    id: format!("{}/unloadable-ident/{label}/user={user}", cl.name),
                    client: cl,
                    db,
                    line: format!("hostssl {db} all 127.0.0.1/32 {rest}"),
                    user,
                    crl_file: None,
                    crl_dir: None,
                });
            }
        }
    }
    let bad_rows = run_all(&c, &probes, &bad_ident, &no_crl.ca, home);
    // Not a test that passes by refusing everything for another reason: with the good
    // file, some of these probes log in (checked against the server above).
    assert!(
        rows.iter()
            .any(|r| r.id.contains("/crl-file/cert-map/") && r.oracle == Outcome::Accept),
        "no probe logged in through cnmap with the loadable pg_ident.conf"
    );
    assert!(
        bad_rows.iter().all(|r| r.oracle != Outcome::Accept),
        "the server accepted a map= login with an unloadable pg_ident.conf"
    );
    rows.extend(bad_rows);

    let divergences = verify_common::known_divergences_for("known-divergences-client", version);
    let min_each = if full { 100 } else { 20 };
    let (report, table, counts) =
        verify_common::reconcile(&rows, &divergences, "client", min_each, !full);
    let path =
        verify_common::write_results(&format!("verify_client-pg{version}-results.tsv"), &table);
    let report = if report.is_empty() {
        report
    } else {
        format!(
            "PostgreSQL {version}:\n{report}\n(all {} probes with the server's and pgtls's results: {})\n",
            rows.len(),
            path.display()
        )
    };
    println!(
        "PostgreSQL {version} (psql/libpq {}): {} client certificates, {} lines ({}), {}; results in {}",
        c.client_build().major,
        clients.len(),
        lines.len(),
        if full { "full matrix" } else { "sample" },
        counts.show(),
        path.display()
    );
    (report, counts)
}

#[test]
fn pgtls_verify_client_agrees_with_postgres_every_version() {
    let inp = inputs();
    let mut failures = String::new();
    for version in pgtls_testkit::pg_versions().unwrap() {
        let start = std::time::Instant::now();
        let (report, counts) = run_version(version, &inp);
        println!("PostgreSQL {version}: {:.0?}", start.elapsed());
        failures.push_str(&report);
        if counts.rows == 0 {
            failures.push_str(&format!("PostgreSQL {version}: the suite ran no rows\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The pg_ident fallback (`IdentFile::decide_usermap`): a map whose first line is a
/// regular expression pgtls cannot evaluate in general, but that certainly does not match
/// these system users, so the server goes on with the next lines of the map, which come
/// from `@file` (a one-token file, every version) and from an `include`d file (16+). For
/// each client certificate and user, the real server's outcome (PostgreSQL 15 and 16, every
/// version with `PGTLS_PG_MATRIX=full`) and `pgtls verify client`'s must be the same, and
/// pgtls must decide every row.
#[test]
fn ident_fallback_reaches_at_file_and_include_lines() {
    use pgtls_testkit::pki::{Leaf, OpensslCa};
    let start = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ca = OpensslCa::root(d, "root").unwrap();
    let home = d.join("home");
    fs::create_dir_all(&home).unwrap();
    // (CN, user, allowed by): the line that lets it in, or None.
    let rows: &[(&str, &str, Option<&str>)] = &[
        ("carol", "carol", Some("include")),
        ("dave-cert", "dave", Some("@file")),
        ("erin", "erin", Some("regex")),
        ("carol", "dave", None),
        ("zed", "zed", None),
    ];
    for (cn, _, _) in rows {
        if !d.join(format!("{cn}.crt")).exists() {
            ca.issue(cn, &format!("/CN={cn}"), Leaf::Client, None)
                .unwrap();
        }
    }
    let versions: Vec<u32> = pgtls_testkit::pg_versions()
        .unwrap()
        .into_iter()
        .filter(|v| *v == 15 || *v == 16 || pgtls_testkit::full_matrix(*v).unwrap())
        .collect();
    let mut ran = 0;
    let mut failures = Vec::new();
    for v in versions {
        let with_include = v >= 16;
        let c = Cluster::builder().version(v).init().unwrap();
        let data = c.data_dir();
        c.copy_files(d, &["root.crt"], 0o600).unwrap();
        let ident = format!(
            "fm \"/^(a|ab)(c|bcd)?$\" \\1\n{}fm @sysusers.txt dave\nfm \"/^(erin)$\" \\1\n",
            if with_include {
                "include ident-extra.conf\n"
            } else {
                "fm carol carol\n"
            }
        );
        c.write_ident(&ident).unwrap();
        c.write_file("ident-extra.conf", b"fm carol carol\n", 0o600)
            .unwrap();
        c.write_file("sysusers.txt", b"dave-cert\n", 0o600).unwrap();
        // The first line is one pgtls-hba's check_usermap declines for these system users
        // (group 1 depends on the matching semantics), so every row goes through the
        // fallback past it.
        let pgv = pgtls_hba::PgVersion::new(v).unwrap();
        let ident_path = data.join("pg_ident.conf");
        let parsed = pgtls_hba::IdentFile::parse(
            &ident_path.display().to_string(),
            ident.as_bytes(),
            pgv,
            &pgtls_hba::FsSource,
        );
        for (cn, user, _) in rows {
            assert!(
                matches!(
                    parsed
                        .check_usermap(Some("fm"), cn, user, &[], false)
                        .outcome,
                    pgtls_hba::UsermapOutcome::Unsupported(_)
                ),
                "CN={cn}: the first line no longer needs the fallback: {:?}",
                parsed.check_usermap(Some("fm"), cn, user, &[], false)
            );
        }
        c.append_conf("ssl = on\nssl_cert_file = 'root.crt'\nssl_ca_file = 'root.crt'\n")
            .unwrap();
        // The server's own certificate: any; the root's key and certificate will do.
        c.copy_files(d, &["root.key"], 0o600).unwrap();
        c.append_conf("ssl_key_file = 'root.key'\n").unwrap();
        let line = "hostssl all all 127.0.0.1/32 cert map=fm";
        c.write_hba(&format!("local all all trust\n{line}\n"))
            .unwrap();
        let c = c.start_initialized().unwrap();
        c.sql("create role carol login; create role dave login; create role erin login; create role zed login")
            .unwrap();
        for (cn, user, by) in rows {
            let crt = d.join(format!("{cn}.crt"));
            let key = d.join(format!("{cn}.key"));
            let ci = format!(
                "host=127.0.0.1 port={} dbname=postgres user={user} sslmode=require sslcert={} sslkey={}",
                c.port(),
                q(&crt.display().to_string()),
                q(&key.display().to_string())
            );
            let home_s = home.display().to_string();
            let out = verify_common::psql(
                c.client_build(),
                &ci,
                &["-X", "-At", "-c", "select 1"],
                &[("HOME", home_s.as_str())],
            );
            let server = if out.status.success() {
                Outcome::Accept
            } else {
                let stderr = String::from_utf8_lossy(&out.stderr);
                Outcome::Reject(libpq_attempts(&stderr).into_iter().next())
            };
            let args: Vec<String> = [
                "verify",
                "client",
                "--hba-line",
                line,
                "--ident",
                &data.join("pg_ident.conf").display().to_string(),
                "--ssl-ca-file",
                &d.join("root.crt").display().to_string(),
                "--user",
                user,
                "--cert",
                &crt.display().to_string(),
                "--pg-version",
                &v.to_string(),
            ]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
            let (mine, _) = run_pgtls(&args, &home, &[]);
            ran += 1;
            let expected = if by.is_some() {
                Outcome::Accept
            } else {
                Outcome::Reject(Some(format!(
                    "FATAL:  certificate authentication failed for user \"{user}\""
                )))
            };
            if server != expected || !verify_common::agree(&server, &mine) {
                failures.push(format!(
                    "PostgreSQL {v}, CN={cn} as {user} (via {by:?}): server {}, pgtls {}",
                    server.show(),
                    mine.show()
                ));
            }
        }
        println!(
            "PostgreSQL {v}: {} ident fallback rows ({})",
            rows.len(),
            if with_include {
                "@file and include"
            } else {
                "@file"
            }
        );
    }
    println!("ident fallback: {ran} rows in {:.1?}", start.elapsed());
    assert!(ran > 0, "the ident fallback test ran no rows");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
