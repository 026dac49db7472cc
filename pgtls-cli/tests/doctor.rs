//! `pgtls doctor` against real PostgreSQL data directories: for each fault kind a data
//! directory with that one fault, the real server behaving as the finding says (refusing to
//! start, refusing a client, or letting one in without TLS, or over a protocol below the
//! floor), and doctor reporting exactly that fault as its only error. Quickstart's files
//! (with `--owner`) give no error and the server starts with them. The faults on PostgreSQL
//! 15; what differs between versions on every version of `PGTLS_PG_VERSIONS`
//! ([`version_dependent_rules`]). Certificates come from the openssl CLI
//! (`pgtls_testkit::pki`). The longer tests print their wall time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use pgtls_testkit::pki::{Leaf, OpensslCa, openssl_time};
use pgtls_testkit::{
    Cluster, full_matrix, give_to_postgres, pg_versions, require_openssl, require_postgres,
};
use serde_json::Value;

fn pgtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs doctor with `--json`; returns (exit code, findings).
fn doctor(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["doctor", "--pgdata", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = pgtls(&args);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor JSON: {e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert_eq!(v["schema_version"], 1);
    keys_match_schema(&v);
    (
        o.status.code().unwrap(),
        v["findings"].as_array().unwrap().clone(),
    )
}

/// The report's keys, and every finding's, are the properties of the checked-in schema
/// (`docs/schemas/doctor-report.json`, held to the serializer by tests/report_schemas.rs),
/// its required ones included; each severity is one the schema lists.
fn keys_match_schema(v: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/doctor-report.json");
    let schema: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let check = |obj: &Value, schema: &Value, what: &str| {
        let mut got: Vec<&str> = obj
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{what}: {obj}");
        for r in schema["required"].as_array().unwrap() {
            assert!(!obj[r.as_str().unwrap()].is_null(), "{what}: no {r}: {obj}");
        }
    };
    check(v, &schema, "doctor report");
    let severities: Vec<&Value> = schema["$defs"]["Severity"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["const"])
        .collect();
    for f in v["findings"].as_array().unwrap() {
        check(f, &schema["$defs"]["Finding"], "doctor finding");
        assert!(severities.contains(&&f["severity"]), "{f}");
    }
}

fn codes(findings: &[Value], severity: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn error_codes(findings: &[Value]) -> Vec<String> {
    codes(findings, "error")
}

/// Asserts that doctor exits 1 with `code` as its only kind of error; returns that finding.
fn only_error(dir: &Path, extra: &[&str], code: &str) -> Value {
    let (rc, findings) = doctor(dir, extra);
    let codes = error_codes(&findings);
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c == code),
        "want only {code}, got {findings:#?}"
    );
    assert_eq!(rc, 1);
    findings.into_iter().find(|f| f["code"] == code).unwrap()
}

/// Asserts that doctor exits 0 without any error; returns the findings.
fn no_error(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let (rc, f) = doctor(dir, extra);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    assert_eq!(rc, 0);
    f
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap()
}

/// Prints a test's wall time (the suite's cost is watched: the CI budget).
struct Timer(&'static str, Instant);

impl Timer {
    fn start(name: &'static str) -> Self {
        Self(name, Instant::now())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        println!("{}: {:.1} s", self.0, self.1.elapsed().as_secs_f64());
    }
}

/// Makes the files in the data directory the server's (after openssl wrote some).
fn own(c: &Cluster) {
    give_to_postgres(&c.data_dir()).unwrap();
}

/// A fresh cluster (not started) of `version` with a root CA and a server certificate in
/// its data directory, `ssl = on`, and a pg_hba.conf that needs TLS for TCP.
fn tls_cluster_of(version: u32) -> (Cluster, OpensslCa) {
    require_openssl().unwrap();
    let c = Cluster::builder().version(version).init().unwrap();
    let ca = OpensslCa::root(&c.data_dir(), "root").unwrap();
    ca.issue(
        "server",
        "/CN=localhost",
        Leaf::Server(&["DNS:localhost", "IP:127.0.0.1"]),
        None,
    )
    .unwrap();
    own(&c);
    c.append_conf("ssl = on\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        .unwrap();
    (c, ca)
}

/// [`tls_cluster_of`] PostgreSQL 15.
fn tls_cluster() -> (Cluster, OpensslCa) {
    require_postgres().unwrap();
    tls_cluster_of(15)
}

/// A client certificate for the role `postgres` from `ca` (in the data directory);
/// returns the conninfo part that sends it.
fn client_cert(c: &Cluster, ca: &OpensslCa) -> String {
    ca.issue("client", "/CN=postgres", Leaf::Client, None)
        .unwrap();
    own(c);
    let data = c.data_dir();
    format!(
        "sslmode=require sslcert={} sslkey={}",
        data.join("client.crt").display(),
        data.join("client.key").display()
    )
}

/// An OpenSSL configuration that lowers the client's security level to 0 and its
/// minimum to TLSv1, so that it offers TLS 1.0/1.1 (OpenSSL 3 refuses them otherwise).
fn seclevel0_conf(dir: &Path) -> String {
    let p = dir.join("openssl-seclevel0.cnf");
    fs::write(
        &p,
        "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sd\n\
         [sd]\nCipherString = DEFAULT:@SECLEVEL=0\nMinProtocol = TLSv1\n",
    )
    .unwrap();
    p.display().to_string()
}

/// psql over TLS 1.1 only, with the client's security level at 0: the protocol
/// version the session got (`TLSv1.1`), or libpq's message.
fn tls11_client(c: &Cluster, conf: &str) -> Result<String, String> {
    let o = c
        .psql(
            &[
                "-X",
                "-Atc",
                "select version from pg_stat_ssl where pid = pg_backend_pid()",
            ],
            &conninfo(
                c,
                "sslmode=require ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1",
            ),
            &[("OPENSSL_CONF", conf)],
        )
        .unwrap();
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
    } else {
        Err(stderr(&o))
    }
}

/// Whether the server build links OpenSSL 3 (which refuses TLS 1.0/1.1 above security
/// level 0) rather than 1.1.1.
fn server_on_openssl3(c: &Cluster) -> bool {
    let mut ldd = Command::new("ldd");
    ldd.arg(c.server_build().bindir.join("postgres"));
    c.server_build().set_env(&mut ldd);
    let o = ldd.output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    match (text.contains("libssl.so.3"), text.contains("libssl.so.1.1")) {
        (true, false) => true,
        (false, true) => false,
        _ => panic!("which OpenSSL does the server link? ldd says: {text}"),
    }
}

fn conninfo(c: &Cluster, rest: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres {rest}",
        c.port()
    )
}

fn psql_ok(c: &Cluster, rest: &str) -> Output {
    c.psql(&["-X", "-Atc", "select 1"], &conninfo(c, rest), &[])
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(pgtls(&["doctor"]).status.code(), Some(2));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    assert_eq!(
        pgtls(&["doctor", "--pgdata", d, "--at", "yesterday"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_missing_data_directory_is_an_error_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let (rc, f) = doctor(&tmp.path().join("nope"), &[]);
    assert_eq!(rc, 1);
    assert_eq!(error_codes(&f), ["data-dir"]);
    assert!(f[0]["line"].is_null());
    assert!(f[0]["fix"].is_string());
}

#[test]
fn a_good_tls_cluster_has_no_error_and_starts() {
    let (c, _ca) = tls_cluster();
    let (rc, f) = doctor(&c.data_dir(), &["--host", "localhost"]);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    assert_eq!(rc, 0);
    let c = c.start_initialized().unwrap();
    let root = c.data_dir().join("root.crt");
    let o = psql_ok(
        &c,
        &format!("sslmode=verify-full sslrootcert={}", root.display()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Text output: one line per finding, then the count.
    let o = pgtls(&["doctor", "--pgdata", c.data_dir().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 error(s)"));
}

#[test]
fn quickstart_output_has_no_error_and_the_server_starts_with_it() {
    // 15, and 12: the one version whose default ssl_min_protocol_version (TLSv1) doctor
    // refuses, so quickstart's own line for it is what keeps this clean there. Every chosen
    // version with PGTLS_PG_MATRIX=full.
    let chosen = pg_versions().unwrap();
    let versions: Vec<u32> = chosen
        .into_iter()
        .filter(|&v| v == 12 || v == 15 || full_matrix(v).unwrap())
        .collect();
    assert!(
        !versions.is_empty(),
        "PGTLS_PG_VERSIONS leaves no version for this test"
    );
    for v in versions {
        quickstart_output_on(v);
        println!("PostgreSQL {v}: quickstart's files: doctor clean, server started, login held");
    }
}

fn quickstart_output_on(version: u32) {
    let c = Cluster::builder().version(version).init().unwrap();
    let qs = c.data_dir().join("tls");
    let o = pgtls(&[
        "quickstart",
        "--dir",
        qs.to_str().unwrap(),
        "--host",
        "localhost",
        "--role",
        "app",
        "--owner",
        "postgres",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut conf = String::new();
    for (k, val) in v["postgresql_conf"].as_object().unwrap() {
        conf.push_str(&format!("{k} = '{}'\n", val.as_str().unwrap()));
    }
    c.append_conf(&conf).unwrap();
    c.write_hba(&format!(
        "local all all trust\n{}\n",
        v["pg_hba"].as_str().unwrap()
    ))
    .unwrap();
    let (rc, f) = doctor(&c.data_dir(), &["--host", "localhost"]);
    // Not even a warning: only information.
    assert!(f.iter().all(|f| f["severity"] == "info"), "{f:#?}");
    assert_eq!(rc, 0);
    let c = c.start_initialized().unwrap();
    c.sql("CREATE ROLE app LOGIN").unwrap();
    let client = &v["clients"][0]["conninfo"];
    let o = c
        .psql(
            &["-X", "-Atc", "select 1"],
            &format!("{} port={}", client.as_str().unwrap(), c.port()),
            &[],
        )
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn ssl_off_lets_no_tls_client_in_and_is_an_error() {
    let (c, _ca) = tls_cluster();
    c.append_conf("ssl = off\n").unwrap();
    let f = only_error(&c.data_dir(), &[], "ssl-off");
    assert!(f["line"].is_number(), "{f}");
    let c = c.start_initialized().unwrap();
    let o = psql_ok(&c, "sslmode=require");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("server does not support SSL, but SSL was required"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn key_readable_by_others_stops_the_server() {
    let (c, _ca) = tls_cluster();
    let key = c.data_dir().join("server.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let f = only_error(&c.data_dir(), &[], "key-mode");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("group or world access")
    );
    let e = c.start_initialized().unwrap_err();
    assert!(
        e.contains("private key file \"server.key\" has group or world access"),
        "{e}"
    );
}

#[test]
fn key_owned_by_another_user_stops_the_server() {
    let (c, _ca) = tls_cluster();
    let key = c.data_dir().join("server.key");
    // Owned by nobody (not the server's user, not root).
    let st = Command::new("chown")
        .arg("nobody")
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    only_error(&c.data_dir(), &[], "key-owner");
    let e = c.start_initialized().unwrap_err();
    assert!(
        e.contains("must be owned by the database user or root"),
        "{e}"
    );
}

#[test]
fn a_missing_certificate_stops_the_server() {
    let (c, _ca) = tls_cluster();
    fs::remove_file(c.data_dir().join("server.crt")).unwrap();
    let f = only_error(&c.data_dir(), &[], "cert-missing");
    assert!(f["message"].as_str().unwrap().contains("relative"), "{f}");
    let e = c.start_initialized().unwrap_err();
    assert!(
        e.contains("could not load server certificate file \"server.crt\""),
        "{e}"
    );
}

#[test]
fn a_key_that_does_not_match_stops_the_server() {
    let (c, ca) = tls_cluster();
    ca.issue("other", "/CN=other", Leaf::Server(&[]), None)
        .unwrap();
    let data = c.data_dir();
    fs::copy(data.join("other.key"), data.join("server.key")).unwrap();
    own(&c);
    only_error(&data, &[], "key-mismatch");
    let e = c.start_initialized().unwrap_err();
    assert!(
        e.contains("could not load private key file \"server.key\": key values mismatch"),
        "{e}"
    );
}

#[test]
fn an_expired_certificate_is_refused_by_verifying_clients() {
    let (c, ca) = tls_cluster();
    ca.issue(
        "server",
        "/CN=localhost",
        Leaf::Server(&["DNS:localhost"]),
        Some(("20200101000000Z", "20200201000000Z")),
    )
    .unwrap();
    own(&c);
    only_error(&c.data_dir(), &[], "cert-expired");
    // Before its end doctor has nothing to say about it.
    let (_, f) = doctor(&c.data_dir(), &["--at", "2020-01-15T00:00:00Z"]);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    let c = c.start_initialized().unwrap();
    let root = c.data_dir().join("root.crt");
    let o = psql_ok(
        &c,
        &format!("sslmode=verify-ca sslrootcert={}", root.display()),
    );
    assert!(!o.status.success());
    // libpq hides the reason (certificate has expired) behind this text.
    assert!(
        stderr(&o).contains("SSL error: certificate verify failed"),
        "{}",
        stderr(&o)
    );
    // The same server with a current certificate is accepted by the same client.
    ca.issue(
        "server",
        "/CN=localhost",
        Leaf::Server(&["DNS:localhost"]),
        None,
    )
    .unwrap();
    own(&c);
    let c = c.restart().unwrap();
    let o = psql_ok(
        &c,
        &format!("sslmode=verify-ca sslrootcert={}", root.display()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_host_line_lets_a_client_in_without_tls() {
    let (c, _ca) = tls_cluster();
    c.write_hba("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhostssl all all 127.0.0.1/32 trust\n")
        .unwrap();
    let f = only_error(&c.data_dir(), &[], "hba-no-tls");
    assert_eq!(f["line"], 2);
    let c = c.start_initialized().unwrap();
    c.sql("ALTER ROLE postgres PASSWORD 'pw'").unwrap();
    let o = c
        .psql(
            &[
                "-X",
                "-Atc",
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ],
            &conninfo(&c, "sslmode=disable"),
            &[("PGPASSWORD", "pw")],
        )
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "f");
}

#[test]
fn a_missing_crl_for_one_ca_level_refuses_client_certificates() {
    let (c, root) = tls_cluster();
    let data = c.data_dir();
    let inter = root.intermediate("inter", None).unwrap();
    let client = client_cert(&c, &inter);
    let bundle = format!("{}{}", inter.pem().unwrap(), root.pem().unwrap());
    fs::write(data.join("ca-bundle.crt"), bundle).unwrap();
    // Only the intermediate's CRL: the root's level has none.
    inter.crl("crl.pem", None).unwrap();
    own(&c);
    c.append_conf("ssl_ca_file = 'ca-bundle.crt'\nssl_crl_file = 'crl.pem'\n")
        .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let f = only_error(&data, &[], "crl-missing");
    assert!(message(&f).contains("CN=root"), "{f}");
    let c = c.start_initialized().unwrap();
    let before = c.log_len();
    let o = psql_ok(&c, &client);
    assert!(!o.status.success(), "admitted without the root's CRL");
    // PostgreSQL 15 logs only "certificate verify failed"; the alert is OpenSSL's for
    // X509_V_ERR_UNABLE_TO_GET_CRL.
    assert!(stderr(&o).contains("alert unknown ca"), "{}", stderr(&o));
    c.wait_for_log(before, "certificate verify failed").unwrap();
    // With the root's CRL as well, the same client gets in and doctor is content.
    root.crl("root.crl", None).unwrap();
    let both = format!(
        "{}{}",
        fs::read_to_string(data.join("crl.pem")).unwrap(),
        fs::read_to_string(data.join("root.crl")).unwrap()
    );
    fs::write(data.join("crl.pem"), both).unwrap();
    own(&c);
    let (rc, f) = doctor(&data, &[]);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    assert_eq!(rc, 0);
    let c = c.restart().unwrap();
    let o = psql_ok(&c, &client);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_conf_syntax_error_stops_the_server() {
    let (c, _ca) = tls_cluster();
    // Unquoted file names with a dot are a syntax error for the server.
    c.append_conf("ssl_cert_file = server.crt\n").unwrap();
    let f = only_error(&c.data_dir(), &[], "conf-error");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("near token \"server.crt\""),
        "{f}"
    );
    let e = c.start_initialized().unwrap_err();
    assert!(e.contains("near token \"server.crt\""), "{e}");
}

#[test]
fn cert_lines_without_ssl_ca_file_refuse_clients() {
    let (c, _ca) = tls_cluster();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let f = only_error(&c.data_dir(), &[], "cert-without-ca");
    assert_eq!(f["line"], 2);
    let c = c.start_initialized().unwrap();
    let o = psql_ok(&c, "sslmode=require");
    assert!(
        stderr(&o).contains(
            "client certificates can only be checked if a root certificate store is available"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn host_names_not_in_the_certificate() {
    let (c, _ca) = tls_cluster();
    let f = only_error(
        &c.data_dir(),
        &["--host", "db.example.com"],
        "host-not-covered",
    );
    assert!(f["message"].as_str().unwrap().contains("db.example.com"));
    let c = c.start_initialized().unwrap();
    let root = c.data_dir().join("root.crt");
    let o = c
        .psql(
            &["-X", "-Atc", "select 1"],
            &format!(
                "host=db.example.com hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
                c.port(),
                root.display()
            ),
            &[],
        )
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("does not match host name"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_key_owned_by_root_with_group_read_is_accepted() {
    let (c, _ca) = tls_cluster();
    let key = c.data_dir().join("server.key");
    let st = Command::new("chown")
        .arg("root")
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    // Group read needs the server in the file's group to read it at all.
    let st = Command::new("chgrp")
        .arg("postgres")
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let (rc, f) = doctor(&c.data_dir(), &[]);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    assert_eq!(rc, 0);
    c.start_initialized().unwrap();
}

#[test]
fn a_map_absent_from_pg_ident_refuses_the_client() {
    let (c, root) = tls_cluster();
    let data = c.data_dir();
    let client = client_cert(&c, &root);
    c.append_conf("ssl_ca_file = 'root.crt'\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert map=nomap\n")
        .unwrap();
    c.write_ident("othermap postgres postgres\n").unwrap();
    let f = only_error(&data, &[], "hba-missing-map");
    assert_eq!(f["line"], 2);
    let c = c.start_initialized().unwrap();
    let o = psql_ok(&c, &client);
    assert!(
        stderr(&o).contains("certificate authentication failed for user \"postgres\""),
        "{}",
        stderr(&o)
    );
    // With the map defined the same client gets in.
    c.write_ident("nomap postgres postgres\n").unwrap();
    c.reload().unwrap();
    let (rc, f) = doctor(&data, &[]);
    assert_eq!(error_codes(&f), Vec::<String>::new(), "{f:#?}");
    assert_eq!(rc, 0);
    let o = psql_ok(&c, &client);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn data_directory_moves_the_ssl_files_but_not_pg_hba() {
    // The Debian layout: postgresql.conf and pg_hba.conf in one directory, the data in
    // another (data_directory), with the ssl_* files relative to the data.
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("conf");
    let data = tmp.path().join("data");
    fs::create_dir(&conf).unwrap();
    fs::create_dir(&data).unwrap();
    fs::set_permissions(&data, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(
        conf.join("postgresql.conf"),
        format!("data_directory = '{}'\nssl = on\n", data.display()),
    )
    .unwrap();
    fs::write(conf.join("pg_hba.conf"), "local all all peer\n").unwrap();
    fs::write(conf.join("pg_ident.conf"), "").unwrap();
    let (rc, f) = doctor(&conf, &[]);
    assert_eq!(rc, 1);
    assert!(f.iter().any(|f| f["code"] == "data-directory"), "{f:#?}");
    let missing = f.iter().find(|f| f["code"] == "cert-missing").unwrap();
    let want = data.join("server.crt");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains(want.to_str().unwrap()),
        "{missing}"
    );
    // pg_hba.conf was found next to postgresql.conf (no hba-unreadable).
    assert!(!f.iter().any(|f| f["code"] == "hba-unreadable"), "{f:#?}");
}

/// `ssl_min_protocol_version` below TLSv1.2 is an error (below the floor) whatever OpenSSL
/// does with it, and doctor says what that is: a server on OpenSSL 3 (PostgreSQL 15 here)
/// still refuses a TLS 1.1 client at its default security level, and lets it in once
/// `ssl_ciphers` lowers the level to 0; back at TLSv1.2 the same client is refused.
#[test]
fn protocol_below_tls12_and_the_tls11_client_it_lets_in() {
    let _t = Timer::start("protocol_below_tls12_and_the_tls11_client_it_lets_in");
    let (c, _ca) = tls_cluster();
    let conf = seclevel0_conf(&c.socket_dir());
    let data = c.data_dir();
    c.append_conf("ssl_min_protocol_version = 'TLSv1.1'\n")
        .unwrap();
    let f = only_error(&data, &[], "protocol-floor");
    assert!(f["line"].is_number(), "{f}");
    assert!(message(&f).contains("OpenSSL 3 refuses them"), "{f}");
    let c = c.start_initialized().unwrap();
    let openssl3 = server_on_openssl3(&c);
    let got = tls11_client(&c, &conf);
    if openssl3 {
        let e = got.expect_err("OpenSSL 3 at security level 1 let a TLS 1.1 client in");
        // The backend writes its log line as it exits, possibly after the client saw
        // the alert: wait for it rather than read the log once.
        if let Err(log) = c.wait_for_log(0, "no suitable signature algorithm") {
            panic!("{e}\n{log}");
        }
    } else {
        assert_eq!(got.as_deref(), Ok("TLSv1.1"));
    }
    c.append_conf("ssl_ciphers = 'DEFAULT:@SECLEVEL=0'\n")
        .unwrap();
    let f = only_error(&data, &[], "protocol-floor");
    assert!(
        message(&f).contains("clients get in over TLS 1.0/1.1"),
        "{f}"
    );
    c.reload().unwrap();
    assert_eq!(tls11_client(&c, &conf).as_deref(), Ok("TLSv1.1"));
    // At the floor the same client is refused, and doctor has no error.
    c.append_conf("ssl_min_protocol_version = 'TLSv1.2'\n")
        .unwrap();
    no_error(&data, &[]);
    c.reload().unwrap();
    let e = tls11_client(&c, &conf).unwrap_err();
    assert!(e.contains("SSL error"), "{e}");
}

/// Settings the server refuses at startup, each alone in postgresql.auto.conf: doctor's
/// one error names it, and the real server does not start (and logs why).
#[test]
fn settings_that_stop_the_server() {
    let _t = Timer::start("settings_that_stop_the_server");
    let (c, _ca) = tls_cluster();
    let data = c.data_dir();
    let rows: &[(&str, &str, &str)] = &[
        (
            "ssl_min_protocol_version = ''",
            "protocol-invalid",
            "invalid value for parameter \"ssl_min_protocol_version\": \"\"",
        ),
        (
            "ssl_min_protocol_version = 'TLSv1.4'",
            "protocol-invalid",
            "invalid value for parameter \"ssl_min_protocol_version\": \"TLSv1.4\"",
        ),
        (
            "ssl_max_protocol_version = 'TLSv1.1'",
            "protocol-range",
            "could not set SSL protocol version range",
        ),
        (
            "sslmode = 'require'",
            "conf-parameter",
            "unrecognized configuration parameter \"sslmode\"",
        ),
        (
            "ssl_groups = 'X25519'",
            "conf-parameter",
            "unrecognized configuration parameter \"ssl_groups\"",
        ),
        (
            "ssl_library = 'OpenSSL'",
            "conf-parameter",
            "parameter \"ssl_library\" cannot be changed",
        ),
        (
            "ssl_renegotiation_limit = 512",
            "conf-parameter",
            "outside the valid range for parameter \"ssl_renegotiation_limit\"",
        ),
    ];
    let mut c = c;
    for (line, code, logged) in rows {
        c.write_file(
            "postgresql.auto.conf",
            format!("{line}\n").as_bytes(),
            0o600,
        )
        .unwrap();
        let f = only_error(&data, &[], code);
        assert!(message(&f).contains(logged), "{line}: {f}");
        assert_eq!(f["line"], 1, "{f}");
        let e = c.try_start().expect_err(line);
        assert!(e.contains(logged), "{line}: {e}");
    }
    // Without them it starts.
    c.write_file("postgresql.auto.conf", b"", 0o600).unwrap();
    no_error(&data, &[]);
    c.try_start().unwrap();
}

/// The CRL faults, one at a time on one server (reloaded between them), for a client
/// certificate under `cert` authentication: a CRL within its renewal window is a warning
/// and the client gets in; an expired CRL, and a CRL signed by another key under the CA's
/// name, are errors and the client is refused for exactly that reason; a current CRL
/// lets it in again.
#[test]
fn crl_expiring_expired_and_not_signed_by_its_ca() {
    let _t = Timer::start("crl_expiring_expired_and_not_signed_by_its_ca");
    let (c, root) = tls_cluster();
    let data = c.data_dir();
    let client = client_cert(&c, &root);
    let day = 86_400;
    // thisUpdate 28 days ago, nextUpdate in 2 days: due (a third of 30 days is 10).
    root.crl(
        "root.crl",
        Some((&openssl_time(-28 * day), &openssl_time(2 * day))),
    )
    .unwrap();
    own(&c);
    c.append_conf("ssl_ca_file = 'root.crt'\nssl_crl_file = 'root.crl'\n")
        .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let f = no_error(&data, &[]);
    assert_eq!(codes(&f, "warning"), ["crl-expiring"], "{f:#?}");
    let c = c.start_initialized().unwrap();
    let o = psql_ok(&c, &client);
    assert!(o.status.success(), "{}", stderr(&o));

    // PostgreSQL 15 logs only "certificate verify failed" (16 adds the reason); the
    // client's alert is the one OpenSSL sends for the reason (ssl_verify_alarm_type).
    let refused = |alert: &str| {
        c.reload().unwrap();
        let before = c.log_len();
        let o = psql_ok(&c, &client);
        assert!(!o.status.success(), "admitted ({alert})");
        assert!(stderr(&o).contains(alert), "{}", stderr(&o));
        c.wait_for_log(before, "could not accept SSL connection")
            .unwrap();
    };
    root.crl(
        "root.crl",
        Some((&openssl_time(-60 * day), &openssl_time(-30 * day))),
    )
    .unwrap();
    own(&c);
    let f = only_error(&data, &[], "crl-expired");
    assert!(message(&f).contains("CRL has expired"), "{f}");
    refused("alert certificate expired");

    let other = tempfile::tempdir().unwrap();
    let impostor = root.impostor(other.path()).unwrap();
    impostor.crl("bad.crl", None).unwrap();
    fs::copy(other.path().join("bad.crl"), data.join("root.crl")).unwrap();
    own(&c);
    let f = only_error(&data, &[], "crl-bad-signature");
    assert!(message(&f).contains("CRL signature failure"), "{f}");
    refused("alert decrypt error");

    root.crl("root.crl", None).unwrap();
    own(&c);
    let f = no_error(&data, &[]);
    assert!(codes(&f, "warning").is_empty(), "{f:#?}");
    c.reload().unwrap();
    let o = psql_ok(&c, &client);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A server certificate that ends after its CA: an error before the CA ends (from then
/// on verifying clients refuse) and after it; the real client refuses the server once
/// the CA has ended, while one that does not verify still connects.
#[test]
fn a_server_certificate_that_outlives_its_ca() {
    let _t = Timer::start("a_server_certificate_that_outlives_its_ca");
    require_postgres().unwrap();
    require_openssl().unwrap();
    let c = Cluster::init().unwrap();
    let data = c.data_dir();
    let root =
        OpensslCa::root_between(&data, "oldroot", ("20200101000000Z", "20200601000000Z")).unwrap();
    root.issue(
        "server",
        "/CN=localhost",
        Leaf::Server(&["DNS:localhost"]),
        Some(("20200101000000Z", "20300101000000Z")),
    )
    .unwrap();
    // The served chain is complete (leaf and CA), so only the dates are at fault.
    let chain = format!(
        "{}{}",
        fs::read_to_string(data.join("server.crt")).unwrap(),
        root.pem().unwrap()
    );
    fs::write(data.join("server.crt"), chain).unwrap();
    own(&c);
    c.append_conf("ssl = on\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        .unwrap();
    let f = only_error(
        &data,
        &["--at", "2020-03-01T00:00:00Z"],
        "cert-outlives-issuer",
    );
    assert!(message(&f).contains("from then on"), "{f}");
    let f = only_error(&data, &[], "cert-outlives-issuer");
    assert!(message(&f).contains("refuse the server now"), "{f}");
    let c = c.start_initialized().unwrap();
    let o = psql_ok(
        &c,
        &format!("sslmode=verify-ca sslrootcert={}", root.crt().display()),
    );
    assert!(!o.status.success(), "verified a chain whose CA has ended");
    assert!(
        stderr(&o).contains("certificate verify failed"),
        "{}",
        stderr(&o)
    );
    let o = psql_ok(&c, "sslmode=require");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The chain the server sends, root -> intermediate -> leaf: with `ssl_cert_file`
/// holding the leaf and the root but not the intermediate (which is in `ssl_ca_file`), a
/// verify-full client that has only the root refuses, one that has the intermediate too
/// gets in; with the leaf alone OpenSSL builds the chain from `ssl_ca_file` and the
/// root-only client gets in; with the leaf alone and no `ssl_ca_file` doctor cannot tell
/// an intermediate from a root the clients trust and warns.
#[test]
fn a_served_chain_without_the_intermediate() {
    let _t = Timer::start("a_served_chain_without_the_intermediate");
    require_postgres().unwrap();
    require_openssl().unwrap();
    let c = Cluster::init().unwrap();
    let data = c.data_dir();
    let root = OpensslCa::root(&data, "root").unwrap();
    let inter = root.intermediate("inter", None).unwrap();
    inter
        .issue(
            "leaf",
            "/CN=localhost",
            Leaf::Server(&["DNS:localhost", "IP:127.0.0.1"]),
            None,
        )
        .unwrap();
    let leaf = fs::read_to_string(data.join("leaf.crt")).unwrap();
    let (root_pem, inter_pem) = (root.pem().unwrap(), inter.pem().unwrap());
    fs::write(data.join("ca.crt"), format!("{inter_pem}{root_pem}")).unwrap();
    fs::write(data.join("server.crt"), format!("{leaf}{root_pem}")).unwrap();
    fs::copy(data.join("leaf.key"), data.join("server.key")).unwrap();
    own(&c);
    c.append_conf("ssl = on\nssl_ca_file = 'ca.crt'\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        .unwrap();
    let f = only_error(&data, &[], "chain-incomplete");
    assert!(message(&f).contains("CN=inter"), "{f}");
    let c = c.start_initialized().unwrap();
    let both = c.socket_dir().join("inter-and-root.crt");
    fs::write(&both, format!("{inter_pem}{root_pem}")).unwrap();
    let verify = |rootfile: &Path| {
        psql_ok(
            &c,
            &format!("sslmode=verify-full sslrootcert={}", rootfile.display()),
        )
    };
    let o = verify(&root.crt());
    assert!(!o.status.success(), "verified without the intermediate");
    assert!(
        stderr(&o).contains("certificate verify failed"),
        "{}",
        stderr(&o)
    );
    let o = verify(&both);
    assert!(o.status.success(), "{}", stderr(&o));

    // The leaf alone: the server sends the chain OpenSSL builds from ssl_ca_file.
    fs::write(data.join("server.crt"), &leaf).unwrap();
    own(&c);
    no_error(&data, &[]);
    c.reload().unwrap();
    let o = verify(&root.crt());
    assert!(o.status.success(), "{}", stderr(&o));

    // The leaf alone and no ssl_ca_file: nothing to build the chain from.
    c.append_conf("ssl_ca_file = ''\n").unwrap();
    let f = no_error(&data, &[]);
    let warnings = codes(&f, "warning");
    assert!(
        warnings.contains(&"chain-unknown-issuer".to_owned()),
        "{f:#?}"
    );
    c.reload().unwrap();
    let o = verify(&root.crt());
    assert!(!o.status.success(), "verified without the intermediate");
    let o = verify(&both);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// What differs between versions, on each version of `PGTLS_PG_VERSIONS` (all of it: it is
/// what differs), with doctor taking the version from `PG_VERSION`: `ssl_crl_dir` (14+) and
/// `ssl_groups` (18+) stop an older server, and doctor says so; `ssl_min_protocol_version`
/// unset is TLSv1 on 12 (an error, and a TLS 1.1 client gets in) and TLSv1.2 from 13 (the
/// same client is refused). `ssl_ciphers` is at security level 0 throughout, so that the
/// outcome does not depend on the server's OpenSSL (12 and 13 are built with 1.1.1).
#[test]
fn version_dependent_rules() {
    let _t = Timer::start("version_dependent_rules");
    let versions = pg_versions().unwrap();
    assert!(!versions.is_empty(), "no version to run");
    let (mut versions_run, mut list_rows) = (0, 0);
    for v in versions {
        let started = Instant::now();
        let (mut c, _ca) = tls_cluster_of(v);
        let data = c.data_dir();
        let conf = seclevel0_conf(&c.socket_dir());
        versions_run += 1;
        fs::create_dir(data.join("crl")).unwrap();
        own(&c);
        c.append_conf("ssl_ciphers = 'DEFAULT:@SECLEVEL=0'\n")
            .unwrap();
        c.write_file(
            "postgresql.auto.conf",
            b"ssl_crl_dir = 'crl'\nssl_groups = 'prime256v1'\n",
            0o600,
        )
        .unwrap();
        let floor = v == 12;
        let mut want = Vec::new();
        if v < 14 {
            want.push("conf-parameter");
        }
        if v < 18 {
            want.push("conf-parameter");
        }
        if floor {
            want.push("protocol-floor");
        }
        let (rc, f) = doctor(&data, &[]);
        let mut got = error_codes(&f);
        got.sort();
        assert_eq!(got, want, "PostgreSQL {v}: {f:#?}");
        assert_eq!(rc, i32::from(!want.is_empty()), "PostgreSQL {v}");
        if floor {
            let p = f.iter().find(|f| f["code"] == "protocol-floor").unwrap();
            assert!(
                message(p).contains("PostgreSQL 12's default is TLSv1"),
                "{p}"
            );
        }
        let start = c.try_start();
        let refused_start = v < 18;
        match &start {
            Ok(()) => assert!(!refused_start, "PostgreSQL {v} started with ssl_groups"),
            Err(e) => {
                assert!(refused_start, "PostgreSQL {v}: {e}");
                for (name, since) in [("ssl_crl_dir", 14), ("ssl_groups", 18)] {
                    let said =
                        e.contains(&format!("unrecognized configuration parameter \"{name}\""));
                    assert_eq!(said, v < since, "PostgreSQL {v}, {name}: {e}");
                }
                c.write_file("postgresql.auto.conf", b"", 0o600).unwrap();
                let (_, f) = doctor(&data, &[]);
                let want: Vec<&str> = if floor {
                    vec!["protocol-floor"]
                } else {
                    vec![]
                };
                assert_eq!(error_codes(&f), want, "PostgreSQL {v}: {f:#?}");
                c.try_start().unwrap();
            }
        }
        let tls11 = tls11_client(&c, &conf);
        if floor {
            assert_eq!(tls11.as_deref(), Ok("TLSv1.1"), "PostgreSQL {v}");
        } else {
            assert!(tls11.is_err(), "PostgreSQL {v} let a TLS 1.1 client in");
        }
        // Doctor under another version's rules: that server refuses this data directory.
        let other = if v == 15 { "16" } else { "15" };
        let (rc, f) = doctor(&data, &["--pg-version", other]);
        assert_eq!(rc, 1);
        let m = f.iter().find(|f| f["code"] == "pg-version-mismatch");
        let m = m.unwrap_or_else(|| panic!("PostgreSQL {v} under {other}'s rules: {f:#?}"));
        assert!(
            message(m).contains(&format!("PostgreSQL version {v},")),
            "{m}"
        );
        println!(
            "PostgreSQL {v}: doctor errors {got:?}; started with ssl_crl_dir/ssl_groups: {}; TLS 1.1 client: {}; {:.1} s",
            start.is_ok(),
            match &tls11 {
                Ok(p) => format!("in over {p}"),
                Err(_) => "refused".into(),
            },
            started.elapsed().as_secs_f64()
        );
        c.stop().unwrap();
        let (n, outcomes) = list_rows_on(v, &mut c);
        list_rows += n;
        println!("{outcomes}");
    }
    println!("version_dependent_rules: {versions_run} versions, {list_rows} OpenSSL list rows");
}

/// What the server does with a setting of an OpenSSL list at startup.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// It starts.
    Starts,
    /// It refuses to start and logs this (doctor's message quotes it too).
    Refuses(&'static str),
}

/// One value of an OpenSSL list: the `postgresql.auto.conf` lines, the versions it
/// concerns, doctor's finding (`None`: none of these codes and no error; a code ending
/// in `-invalid` is an error, the others warnings), what a server on OpenSSL 3 and one on
/// OpenSSL 1.1.1 do, and whether it runs on every version it concerns (what differs
/// between versions or OpenSSLs) or only where the whole matrix runs.
struct ListRow {
    lines: &'static str,
    versions: std::ops::RangeInclusive<u32>,
    code: Option<&'static str>,
    openssl3: Start,
    openssl111: Start,
    everywhere: bool,
}

const NO_TLS12_CIPHER: &str = "could not set the cipher list (no valid ciphers available)";
const NO_TLS12_CIPHER_18: &str =
    "could not set the TLSv1.2 cipher list (no valid ciphers available)";
const NO_GROUPS: &str = "could not set group names specified in ssl_groups";

fn list_rows() -> Vec<ListRow> {
    use Start::{Refuses, Starts};
    let row = |lines, versions, code, openssl3, openssl111, everywhere| ListRow {
        lines,
        versions,
        code,
        openssl3,
        openssl111,
        everywhere,
    };
    vec![
        // ssl_ecdh_curve before 18: one curve's short name, as OBJ_sn2nid takes it.
        row(
            "ssl_ecdh_curve = 'P-256'",
            12..=17,
            Some("ecdh-curve-invalid"),
            Refuses("ECDH: unrecognized curve name: P-256"),
            Refuses("ECDH: unrecognized curve name: P-256"),
            true,
        ),
        row(
            "ssl_ecdh_curve = 'X25519'",
            12..=17,
            Some("ecdh-curve-invalid"),
            Refuses("ECDH: could not create key"),
            Refuses("ECDH: could not create key"),
            false,
        ),
        row(
            "ssl_ecdh_curve = 'prime256v1:secp384r1'",
            12..=17,
            Some("ecdh-curve-invalid"),
            Refuses("ECDH: unrecognized curve name: prime256v1:secp384r1"),
            Refuses("ECDH: unrecognized curve name: prime256v1:secp384r1"),
            false,
        ),
        row(
            "ssl_ecdh_curve = 'secp384r1'",
            12..=17,
            None,
            Starts,
            Starts,
            false,
        ),
        // ssl_groups (18): a list; ssl_ecdh_curve is its old name and the later line wins.
        row(
            "ssl_groups = 'X25519:nope'",
            18..=18,
            Some("groups-invalid"),
            Refuses(NO_GROUPS),
            Refuses(NO_GROUPS),
            true,
        ),
        row(
            "ssl_groups = ''",
            18..=18,
            Some("groups-invalid"),
            Refuses(NO_GROUPS),
            Refuses(NO_GROUPS),
            true,
        ),
        row(
            "ssl_groups = 'prime256v1:'",
            18..=18,
            Some("groups-invalid"),
            Refuses(NO_GROUPS),
            Refuses(NO_GROUPS),
            true,
        ),
        row(
            "ssl_ecdh_curve = 'prime256v1'\nssl_groups = 'nope'",
            18..=18,
            Some("groups-invalid"),
            Refuses(NO_GROUPS),
            Refuses(NO_GROUPS),
            true,
        ),
        row(
            "ssl_groups = 'nope'\nssl_ecdh_curve = 'X25519:P-256'",
            18..=18,
            None,
            Starts,
            Starts,
            true,
        ),
        row(
            "ssl_groups = 'ffdhe2048'",
            18..=18,
            Some("groups-openssl"),
            Starts,
            Refuses(NO_GROUPS),
            true,
        ),
        // ssl_ciphers, every version: a syntax error stops every server...
        row(
            "ssl_ciphers = 'HIGH:!'",
            12..=17,
            Some("ciphers-invalid"),
            Refuses(NO_TLS12_CIPHER),
            Refuses(NO_TLS12_CIPHER),
            false,
        ),
        row(
            "ssl_ciphers = 'DEFAULT:@SECLEVEL=x'",
            18..=18,
            Some("ciphers-invalid"),
            Refuses(NO_TLS12_CIPHER_18),
            Refuses(NO_TLS12_CIPHER_18),
            true,
        ),
        // ...a list that selects nothing stops one on OpenSSL 3; OpenSSL 1.1.1 of 2018
        // starts, and refuses every TLS 1.2 client (checked below)...
        row(
            "ssl_ciphers = 'high'",
            12..=17,
            Some("ciphers-invalid"),
            Refuses(NO_TLS12_CIPHER),
            Starts,
            true,
        ),
        row(
            "ssl_ciphers = 'high'",
            18..=18,
            Some("ciphers-invalid"),
            Refuses(NO_TLS12_CIPHER_18),
            Starts,
            true,
        ),
        // ...ciphers OpenSSL 3 left out depend on the server's OpenSSL...
        row(
            "ssl_ciphers = 'MEDIUM'",
            12..=17,
            Some("ciphers-openssl"),
            Refuses(NO_TLS12_CIPHER),
            Starts,
            true,
        ),
        // ...names no cipher has are ignored...
        row(
            "ssl_ciphers = 'nope:HIGH'",
            12..=18,
            Some("ciphers-ignored"),
            Starts,
            Starts,
            false,
        ),
        // ...and the default, as written out, is fine.
        row(
            "ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL'",
            12..=18,
            None,
            Starts,
            Starts,
            false,
        ),
        // ssl_tls13_ciphers (18): unknown names are dropped; none left stops the server.
        row(
            "ssl_tls13_ciphers = 'nope'",
            18..=18,
            Some("tls13-ciphers-invalid"),
            Refuses("could not set the TLSv1.3 cipher suites (no valid ciphers available)"),
            Refuses("could not set the TLSv1.3 cipher suites (no valid ciphers available)"),
            true,
        ),
        row(
            "ssl_tls13_ciphers = 'nope:TLS_AES_256_GCM_SHA384'",
            18..=18,
            Some("tls13-ciphers-ignored"),
            Starts,
            Starts,
            true,
        ),
        row(
            "ssl_tls13_ciphers = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'",
            18..=18,
            None,
            Starts,
            Starts,
            false,
        ),
    ]
}

/// The codes of the OpenSSL-list findings.
const LIST_CODES: [&str; 9] = [
    "ecdh-curve-invalid",
    "groups-invalid",
    "groups-openssl",
    "ciphers-invalid",
    "ciphers-openssl",
    "ciphers-ignored",
    "tls13-ciphers-invalid",
    "tls13-ciphers-openssl",
    "tls13-ciphers-ignored",
];

/// The rows of [`list_rows`] on a (stopped) cluster of [`tls_cluster_of`] `v`, one
/// value at a time in `postgresql.auto.conf`: doctor's finding, then the real server
/// started with the value. Returns the rows run and their outcomes.
fn list_rows_on(v: u32, c: &mut Cluster) -> (usize, String) {
    let started = Instant::now();
    // 12's default minimum is TLSv1 (an error of its own).
    c.append_conf("ssl_min_protocol_version = 'TLSv1.2'\n")
        .unwrap();
    let data = c.data_dir();
    let openssl3 = server_on_openssl3(c);
    let full = full_matrix(v).unwrap();
    let mut ran = 0;
    let mut outcomes = Vec::new();
    for r in list_rows() {
        if !r.versions.contains(&v) || !(r.everywhere || full) {
            continue;
        }
        ran += 1;
        let what = format!("PostgreSQL {v}, {}", r.lines.replace('\n', "; "));
        let start = if openssl3 { r.openssl3 } else { r.openssl111 };
        c.write_file(
            "postgresql.auto.conf",
            format!("{}\n", r.lines).as_bytes(),
            0o600,
        )
        .unwrap();
        let last_line = r.lines.lines().count();
        match r.code {
            Some(code) if code.ends_with("-invalid") => {
                let f = only_error(&data, &[], code);
                assert_eq!(f["line"], last_line, "{what}: {f}");
                if let Start::Refuses(logged) = r.openssl3 {
                    assert!(message(&f).contains(logged), "{what}: {f}");
                }
            }
            Some(code) => {
                let f = no_error(&data, &[]);
                let w = f.iter().find(|f| f["code"] == code);
                let w = w.unwrap_or_else(|| panic!("{what}: no {code}: {f:#?}"));
                assert_eq!(w["severity"], "warning", "{what}: {w}");
                let said = if code.ends_with("-openssl") {
                    "depends on the server's OpenSSL"
                } else {
                    "without a word"
                };
                assert!(message(w).contains(said), "{what}: {w}");
            }
            None => {
                let f = no_error(&data, &[]);
                assert!(
                    !f.iter()
                        .any(|f| LIST_CODES.contains(&f["code"].as_str().unwrap())),
                    "{what}: {f:#?}"
                );
            }
        }
        match (start, c.try_start()) {
            (Start::Starts, Ok(())) => {
                if r.code == Some("ciphers-invalid") {
                    // OpenSSL 1.1.1 started with no TLS 1.2 cipher: TLS 1.2 clients
                    // are refused, TLS 1.3 ones get in.
                    let o = psql_ok(c, "sslmode=require ssl_max_protocol_version=TLSv1.2");
                    assert!(!o.status.success(), "{what}: a TLS 1.2 client got in");
                    assert!(stderr(&o).contains("SSL error"), "{what}: {}", stderr(&o));
                    let o = psql_ok(c, "sslmode=require");
                    assert!(o.status.success(), "{what}: {}", stderr(&o));
                }
                c.stop().unwrap();
                outcomes.push(format!("{}: starts", r.lines.replace('\n', "; ")));
            }
            (Start::Refuses(logged), Err(e)) => {
                let fatal = format!("FATAL:  {logged}");
                assert!(e.contains(&fatal), "{what}: want {fatal:?}: {e}");
                outcomes.push(format!("{}: refused", r.lines.replace('\n', "; ")));
            }
            (want, got) => panic!("{what}: want {want:?}, the server: {got:?}"),
        }
    }
    assert!(ran > 0, "PostgreSQL {v}: no row ran");
    let lib = if openssl3 {
        "OpenSSL 3"
    } else {
        "OpenSSL 1.1.1"
    };
    (
        ran,
        format!(
            "PostgreSQL {v} ({lib}), OpenSSL lists: {ran} rows, {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            outcomes.join(", ")
        ),
    )
}
