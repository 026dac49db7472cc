//! `pgtls doctor` against real PostgreSQL 15 data directories: for each fault kind a
//! data directory with that one fault, the real server behaving as the finding says
//! (refusing to start, refusing a client, or letting one in without TLS), and doctor
//! reporting exactly that fault as its only error. Quickstart's files (with `--owner`)
//! give no error and the server starts with them. Certificates come from the openssl CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtls_testkit::{Cluster, give_to_postgres, openssl, require_openssl, require_postgres};
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
    (
        o.status.code().unwrap(),
        v["findings"].as_array().unwrap().clone(),
    )
}

fn error_codes(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
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

/// A CA made with `openssl`, able to issue with `openssl ca` (any dates) and make CRLs.
struct Ca {
    dir: PathBuf,
    name: String,
}

const CA_CONF: &str = "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = NAME.index\nnew_certs_dir = .\n\
serial = NAME.serial\ncrlnumber = NAME.crlnumber\ndefault_md = sha256\npolicy = p\n\
default_crl_days = 30\nunique_subject = no\ncopy_extensions = copy\n[p]\ncommonName = supplied\n";

impl Ca {
    /// A root (no `parent`) or an intermediate CA called `name`, in `dir`.
    fn new(dir: &Path, name: &str, parent: Option<&Self>) -> Self {
        let ca = Self {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        };
        fs::write(dir.join(format!("{name}.index")), "").unwrap();
        fs::write(dir.join(format!("{name}.serial")), "1000\n").unwrap();
        fs::write(dir.join(format!("{name}.crlnumber")), "1000\n").unwrap();
        fs::write(
            dir.join(format!("{name}.cnf")),
            CA_CONF.replace("NAME", name),
        )
        .unwrap();
        let key = format!("{name}.key");
        let crt = format!("{name}.crt");
        let subj = format!("/CN={name}");
        let ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
        fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        match parent {
            None => {
                openssl(
                    dir,
                    &[
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                        "-keyout",
                        &key,
                        "-out",
                        &crt,
                        "-subj",
                        &subj,
                        "-days",
                        "3650",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign",
                    ],
                )
                .unwrap();
            }
            Some(p) => {
                let csr = format!("{name}.csr");
                openssl(
                    dir,
                    &[
                        "req",
                        "-new",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-nodes",
                        "-keyout",
                        &key,
                        "-out",
                        &csr,
                        "-subj",
                        &subj,
                    ],
                )
                .unwrap();
                p.sign(&csr, &crt, &format!("{name}.ext"), None);
            }
        }
        ca
    }

    fn crt(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    /// `openssl ca`: signs `csr` into `out` with the extensions in `ext`, for 365 days
    /// or between `dates` (`YYYYMMDDHHMMSSZ`).
    fn sign(&self, csr: &str, out: &str, ext: &str, dates: Option<(&str, &str)>) {
        let conf = format!("{}.cnf", self.name);
        let crt = format!("{}.crt", self.name);
        let key = format!("{}.key", self.name);
        let mut args = vec![
            "ca", "-batch", "-notext", "-config", &conf, "-cert", &crt, "-keyfile", &key, "-in",
            csr, "-out", out, "-extfile", ext,
        ];
        match dates {
            Some((from, to)) => args.extend(["-startdate", from, "-enddate", to]),
            None => args.extend(["-days", "365"]),
        }
        openssl(&self.dir, &args).unwrap();
    }

    /// A key and a certificate for `cn` (server when `server`, with SAN `localhost`).
    fn issue(&self, stem: &str, cn: &str, server: bool, dates: Option<(&str, &str)>) {
        let (key, csr, crt, ext) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.crt"),
            format!("{stem}.ext"),
        );
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={cn}"),
            ],
        )
        .unwrap();
        let ext_text = if server {
            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
        } else {
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
        };
        fs::write(self.dir.join(&ext), ext_text).unwrap();
        self.sign(&csr, &crt, &ext, dates);
    }

    /// A CRL of this CA (no revocations), PEM.
    fn crl(&self, out: &str) {
        let conf = format!("{}.cnf", self.name);
        let crt = format!("{}.crt", self.name);
        let key = format!("{}.key", self.name);
        openssl(
            &self.dir,
            &[
                "ca", "-gencrl", "-config", &conf, "-cert", &crt, "-keyfile", &key, "-out", out,
            ],
        )
        .unwrap();
    }
}

/// A fresh cluster (not started) with a root CA and a server certificate in its data
/// directory, `ssl = on`, and a pg_hba.conf that needs TLS for TCP.
fn tls_cluster() -> (Cluster, Ca) {
    require_postgres().unwrap();
    require_openssl().unwrap();
    let c = Cluster::init().unwrap();
    let data = c.data_dir();
    let ca = Ca::new(&data, "root", None);
    ca.issue("server", "localhost", true, None);
    fs::set_permissions(
        data.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    give_to_postgres(&data).unwrap();
    c.append_conf("ssl = on\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        .unwrap();
    (c, ca)
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
    require_postgres().unwrap();
    let c = Cluster::init().unwrap();
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
    fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
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
    ca.issue("other", "other", true, None);
    let data = c.data_dir();
    fs::copy(data.join("other.key"), data.join("server.key")).unwrap();
    give_to_postgres(&data.join("server.key")).unwrap();
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
        "localhost",
        true,
        Some(("20200101000000Z", "20200201000000Z")),
    );
    give_to_postgres(&c.data_dir()).unwrap();
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
    ca.issue("server", "localhost", true, None);
    give_to_postgres(&c.data_dir()).unwrap();
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
    let inter = Ca::new(&data, "inter", Some(&root));
    inter.issue("client", "postgres", false, None);
    let bundle = format!(
        "{}{}",
        fs::read_to_string(inter.crt()).unwrap(),
        fs::read_to_string(root.crt()).unwrap()
    );
    fs::write(data.join("ca-bundle.crt"), bundle).unwrap();
    // Only the intermediate's CRL: the root's level has none.
    inter.crl("crl.pem");
    fs::set_permissions(
        data.join("client.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    give_to_postgres(&data).unwrap();
    c.append_conf("ssl_ca_file = 'ca-bundle.crt'\nssl_crl_file = 'crl.pem'\n")
        .unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert\n")
        .unwrap();
    let f = only_error(&data, &[], "crl-missing");
    assert!(f["message"].as_str().unwrap().contains("CN=root"), "{f}");
    let client = format!(
        "sslmode=require sslcert={} sslkey={}",
        data.join("client.crt").display(),
        data.join("client.key").display()
    );
    let c = c.start_initialized().unwrap();
    let o = psql_ok(&c, &client);
    assert!(!o.status.success(), "admitted without the root's CRL");
    assert!(
        c.log().contains("unable to get certificate CRL")
            || c.log().contains("certificate verify failed"),
        "{}\n{}",
        stderr(&o),
        c.log()
    );
    // With the root's CRL as well, the same client gets in and doctor is content.
    root.crl("root.crl");
    let both = format!(
        "{}{}",
        fs::read_to_string(data.join("crl.pem")).unwrap(),
        fs::read_to_string(data.join("root.crl")).unwrap()
    );
    fs::write(data.join("crl.pem"), both).unwrap();
    give_to_postgres(&data).unwrap();
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
    fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
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
    root.issue("client", "postgres", false, None);
    fs::set_permissions(
        data.join("client.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    give_to_postgres(&data).unwrap();
    c.append_conf("ssl_ca_file = 'root.crt'\n").unwrap();
    c.write_hba("local all all trust\nhostssl all all 127.0.0.1/32 cert map=nomap\n")
        .unwrap();
    c.write_ident("othermap postgres postgres\n").unwrap();
    let f = only_error(&data, &[], "hba-missing-map");
    assert_eq!(f["line"], 2);
    let client = format!(
        "sslmode=require sslcert={} sslkey={}",
        data.join("client.crt").display(),
        data.join("client.key").display()
    );
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
    fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
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
