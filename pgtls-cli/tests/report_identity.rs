//! The CLI's `--json` and the C ABI's `*_json` print the same reports: both call the
//! library's serializer, and this test holds them to it for the same inputs (certificate,
//! CSR, CRL, key, chain verdict, client decision, pg_hba decision, lint findings, store
//! entries). Each report's top-level keys are also those of its checked-in schema
//! (`docs/schemas/`), so the schema describes what is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

mod pki_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr;

use pki_support::{ok, p, pgtls};
use serde_json::Value;

/// A moment inside every certificate's validity, for `--at` and the C ABI's `now`.
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `pgtls ARGS` with libpq's environment cleared (no PGSSLMODE, no HOME and so no
/// ~/.postgresql), so it sees what the C ABI sees; its stdout parsed.
fn cli_json(args: &[&str], want_status: i32) -> Value {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k == "HOME" || k.starts_with("SSL_CERT") {
            c.env_remove(k);
        }
    }
    let o = c.args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(want_status),
        "pgtls {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("pgtls {args:?}: no JSON ({e}): {:?}", o.stdout))
}

/// Takes a `pgtls_buf` and returns its JSON.
fn buf_json(buf: *mut pgtls_ffi::pgtls_buf) -> Value {
    assert!(!buf.is_null());
    // SAFETY: a live buffer from pgtls, freed once here.
    unsafe {
        let bytes = std::slice::from_raw_parts(
            pgtls_ffi::pgtls_buf_data(buf),
            pgtls_ffi::pgtls_buf_len(buf),
        )
        .to_vec();
        pgtls_ffi::pgtls_buf_free(buf);
        serde_json::from_slice(&bytes).unwrap()
    }
}

fn ok_status(s: pgtls_ffi::pgtls_status, what: &str) {
    assert_eq!(s, pgtls_ffi::pgtls_status::Ok, "{what}");
}

/// The top-level keys of a report are the properties of its schema (for an array report:
/// those of its first element, against the item definition `def` or the one `items` names).
fn keys_match_schema(v: &Value, schema_file: &str) {
    keys_match_schema_def(v, schema_file, None);
}

fn keys_match_schema_def(v: &Value, schema_file: &str, def: Option<&str>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schemas")
        .join(schema_file);
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (object, schema) = match (v.as_array(), &schema.get("items")) {
        (Some(a), Some(items)) => {
            let Some(first) = a.first() else {
                panic!("{schema_file}: expected a non-empty array: {v}");
            };
            let name = def.map(str::to_owned).unwrap_or_else(|| {
                let reference = items["$ref"].as_str().unwrap_or_default();
                reference.rsplit('/').next().unwrap_or_default().to_owned()
            });
            (first, schema["$defs"][&name].clone())
        }
        _ => (v, schema),
    };
    object_keys_match(object, &schema, schema_file);
}

fn object_keys_match(v: &Value, schema: &Value, what: &str) {
    let mut want: Vec<&String> = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: no properties in {schema}"))
        .keys()
        .collect();
    let mut got: Vec<&String> = v.as_object().unwrap().keys().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{what}: printed keys vs schema");
}

struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Pki {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        ok(pgtls(&[
            "quickstart",
            "--dir",
            p(&dir),
            "--host",
            "db.example.com",
            "--role",
            "app",
            "--role",
            "ops",
        ]));
        // A revoked entry and a CRL that lists it.
        let ops = dir.join("clients/ops/postgresql.crt");
        ok(pgtls(&[
            "revoke",
            "--dir",
            p(&dir.join("ca")),
            "--cert",
            p(&ops),
            "--reason",
            "keyCompromise",
        ]));
        ok(pgtls(&["crl", "--dir", p(&dir.join("ca"))]));
        // A CSR with names, and its key.
        ok(pgtls(&[
            "csr",
            "--new-key",
            p(&tmp.path().join("csr.key")),
            "--subject",
            "/CN=replica.example.com",
            "--san",
            "DNS:replica.example.com",
            "--san",
            "IP:10.1.2.3",
            "--out",
            p(&tmp.path().join("req.csr")),
        ]));
        Self { _tmp: tmp, dir }
    }

    fn cli(&self, args: &[&str], status: i32) -> Value {
        cli_json(args, status)
    }

    fn tmp(&self) -> &Path {
        self.dir.parent().unwrap()
    }
}

fn ffi_inspect(file: &Path) -> Value {
    let data = std::fs::read(file).unwrap();
    let mut buf = ptr::null_mut();
    // SAFETY: (ptr, len) of live bytes; no passphrase; outputs writable.
    let s = unsafe {
        pgtls_ffi::pgtls_inspect_json(
            data.as_ptr(),
            data.len(),
            ptr::null(),
            0,
            &mut buf,
            ptr::null_mut(),
        )
    };
    ok_status(s, "pgtls_inspect_json");
    buf_json(buf)
}

/// `pgtls inspect F --json` prints one object for one item, an array for several; the C
/// ABI always an array.
fn cli_inspect(pki: &Pki, file: &Path) -> Value {
    match pki.cli(&["inspect", p(file), "--json"], 0) {
        Value::Array(a) => Value::Array(a),
        one => Value::Array(vec![one]),
    }
}

#[test]
fn inspection_reports_are_identical() {
    let pki = Pki::new();
    let files = [
        (pki.dir.join("server.crt"), "certificate"),
        (pki.dir.join("root.crt"), "certificate"),
        (pki.dir.join("ca/crl.pem"), "crl"),
        (pki.tmp().join("req.csr"), "csr"),
        (pki.tmp().join("csr.key"), "private_key"),
        (pki.dir.join("clients/app/postgresql.key"), "private_key"),
    ];
    for (f, kind) in &files {
        let cli = cli_inspect(&pki, f);
        let ffi = ffi_inspect(f);
        assert_eq!(cli, ffi, "{}", f.display());
        assert_eq!(cli[0]["kind"], *kind, "{}", f.display());
        assert_eq!(cli[0]["schema_version"], 1);
        let def = match *kind {
            "certificate" => "CertificateReport",
            "crl" => "CrlReport",
            "csr" => "CsrReport",
            _ => "KeyReport",
        };
        keys_match_schema_def(&cli, "inspection.json", Some(def));
    }
    // The CRL lists the revoked client with its reason, in RFC 3339.
    let crl = cli_inspect(&pki, &pki.dir.join("ca/crl.pem"));
    assert_eq!(crl[0]["revoked"][0]["reason"], "keyCompromise");
    assert!(
        crl[0]["revoked"][0]["revoked_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // pgtls_cert_to_json is the same certificate report.
    let pem = std::fs::read(pki.dir.join("server.crt")).unwrap();
    let mut cert = ptr::null_mut();
    let mut buf = ptr::null_mut();
    // SAFETY: live inputs, writable outputs; the certificate is freed once.
    unsafe {
        ok_status(
            pgtls_ffi::pgtls_cert_parse(pem.as_ptr(), pem.len(), &mut cert, ptr::null_mut()),
            "pgtls_cert_parse",
        );
        ok_status(
            pgtls_ffi::pgtls_cert_to_json(cert, &mut buf, ptr::null_mut()),
            "pgtls_cert_to_json",
        );
        pgtls_ffi::pgtls_cert_free(cert);
    }
    let one = buf_json(buf);
    assert_eq!(
        one,
        cli_inspect(&pki, &pki.dir.join("server.crt"))[0],
        "pgtls_cert_to_json"
    );
    keys_match_schema(&one, "certificate.json");
}

#[test]
fn store_entries_are_identical() {
    let pki = Pki::new();
    let ca = pki.dir.join("ca");
    let expiry = pki.cli(&["expiry", "--dir", p(&ca), "--json"], 0);
    keys_match_schema(&expiry, "expiry.json");
    let mut store = ptr::null_mut();
    let mut buf = ptr::null_mut();
    let dir = ca.to_str().unwrap();
    // SAFETY: live inputs, writable outputs; the store is freed once.
    unsafe {
        ok_status(
            pgtls_ffi::pgtls_store_open(
                dir.as_ptr(),
                dir.len(),
                ptr::null(),
                0,
                &mut store,
                ptr::null_mut(),
            ),
            "pgtls_store_open",
        );
        ok_status(
            pgtls_ffi::pgtls_store_entries_json(store, &mut buf, ptr::null_mut()),
            "pgtls_store_entries_json",
        );
        pgtls_ffi::pgtls_store_free(store);
    }
    let entries = buf_json(buf);
    keys_match_schema(&entries, "store-entries.json");
    // The expiry report's rows are the store entry reports plus the days left and the
    // expiry state.
    let rows: Vec<Value> = expiry["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let o = r.as_object_mut().unwrap();
            assert!(o.remove("days_left").unwrap().is_i64());
            assert!(o.remove("expiry").unwrap().is_string());
            r
        })
        .collect();
    assert_eq!(Value::Array(rows), entries);
    let statuses: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["valid", "valid", "revoked"], "{entries}");
}

fn ffi_verify_server(conninfo: &str, chain: &Path, now: i64) -> Value {
    let chain = std::fs::read(chain).unwrap();
    let mut v = ptr::null_mut();
    let mut buf = ptr::null_mut();
    // SAFETY: live inputs, writable outputs; the verdict is freed once.
    unsafe {
        ok_status(
            pgtls_ffi::pgtls_verify_server(
                conninfo.as_ptr(),
                conninfo.len(),
                chain.as_ptr(),
                chain.len(),
                15,
                now,
                &mut v,
                ptr::null_mut(),
            ),
            "pgtls_verify_server",
        );
        ok_status(
            pgtls_ffi::pgtls_verdict_to_json(v, &mut buf, ptr::null_mut()),
            "pgtls_verdict_to_json",
        );
        pgtls_ffi::pgtls_verdict_free(v);
    }
    buf_json(buf)
}

#[test]
fn chain_verdicts_are_identical() {
    let pki = Pki::new();
    let now = now_secs().to_string();
    let root = pki.dir.join("root.crt");
    let server = pki.dir.join("server.crt");
    // An accept, a host-name refusal, and a chain refusal (a root that did not sign it).
    let other = pki.dir.join("clients/app/postgresql.crt");
    let crl = pki.dir.join("ca/crl.pem");
    let cert = pki.dir.join("clients/app/postgresql.crt");
    let key = pki.dir.join("clients/app/postgresql.key");
    for (host, rootcert, want, status) in [
        ("db.example.com", &root, "accept", 0),
        ("other.example.com", &root, "reject", 1),
        ("db.example.com", &other, "reject", 1),
    ] {
        let cli = pki.cli(
            &[
                "verify",
                "server",
                "--sslmode",
                "verify-full",
                "--host",
                host,
                "--sslrootcert",
                p(rootcert),
                "--sslcrl",
                p(&crl),
                "--sslcert",
                p(&cert),
                "--sslkey",
                p(&key),
                "--chain",
                p(&server),
                "--at",
                &now,
                "--json",
            ],
            status,
        );
        // Every file named, so neither side looks for ~/.postgresql.
        let conninfo = format!(
            "sslmode=verify-full host={host} sslrootcert={} sslcrl={} sslcert={} sslkey={}",
            p(rootcert),
            p(&crl),
            p(&cert),
            p(&key)
        );
        let ffi = ffi_verify_server(&conninfo, &server, now.parse().unwrap());
        assert_eq!(cli, ffi, "{host} {}", rootcert.display());
        assert_eq!(cli["verdict"], want, "{cli}");
        let hidden = cli["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason_code"].is_u64() && c["reason"].is_string());
        assert_eq!(hidden, rootcert == &other, "{cli}");
        keys_match_schema(&cli, "verify-server-verdict.json");
    }
}

fn ffi_verify_client(
    line: &str,
    ca: &Path,
    ident: Option<&str>,
    user: &str,
    cert: &Path,
    now: i64,
) -> Value {
    let ca = ca.to_str().unwrap();
    let chain = std::fs::read(cert).unwrap();
    let mut d = ptr::null_mut();
    let mut buf = ptr::null_mut();
    let mut id = ptr::null_mut();
    // SAFETY: live inputs, writable outputs; the decision and the ident file are freed once.
    unsafe {
        if let Some(text) = ident {
            ok_status(
                pgtls_ffi::pgtls_ident_parse(
                    text.as_ptr(),
                    text.len(),
                    15,
                    &mut id,
                    ptr::null_mut(),
                ),
                "pgtls_ident_parse",
            );
        }
        ok_status(
            pgtls_ffi::pgtls_verify_client(
                line.as_ptr(),
                line.len(),
                ca.as_ptr(),
                ca.len(),
                ptr::null(),
                0,
                id,
                user.as_ptr(),
                user.len(),
                chain.as_ptr(),
                chain.len(),
                15,
                now,
                &mut d,
                ptr::null_mut(),
            ),
            "pgtls_verify_client",
        );
        ok_status(
            pgtls_ffi::pgtls_client_decision_to_json(d, &mut buf, ptr::null_mut()),
            "pgtls_client_decision_to_json",
        );
        pgtls_ffi::pgtls_client_decision_free(d);
        pgtls_ffi::pgtls_ident_free(id);
    }
    buf_json(buf)
}

#[test]
fn client_decisions_are_identical() {
    let pki = Pki::new();
    let now = now_secs().to_string();
    let root = pki.dir.join("root.crt");
    let app = pki.dir.join("clients/app/postgresql.crt");
    // A back-reference pgtls cannot run as PostgreSQL's regex engine does: undecided.
    let ident = "m /^(a)\\1?pp$ app\n";
    let ident_file = pki.tmp().join("pg_ident.conf");
    std::fs::write(&ident_file, ident).unwrap();
    let plain = "hostssl all all 0.0.0.0/0 cert";
    let mapped = "hostssl all all 0.0.0.0/0 cert map=m";
    for (line, user, want, status) in [
        (plain, "app", "accept", 0),
        (plain, "ops", "reject", 1),
        (mapped, "app", "undecided", 4),
    ] {
        let mut args = vec![
            "verify",
            "client",
            "--hba-line",
            line,
            "--ssl-ca-file",
            p(&root),
            "--user",
            user,
            "--cert",
            p(&app),
            "--at",
            &now,
            "--json",
        ];
        let with_ident = line == mapped;
        if with_ident {
            args.extend(["--ident", p(&ident_file)]);
        }
        let cli = pki.cli(&args, status);
        let ffi = ffi_verify_client(
            line,
            &root,
            with_ident.then_some(ident),
            user,
            &app,
            now.parse().unwrap(),
        );
        assert_eq!(cli, ffi, "{line} {user}");
        assert_eq!(cli["verdict"], want, "{cli}");
        assert_eq!(cli["undecided"].is_string(), want == "undecided", "{cli}");
        keys_match_schema(&cli, "verify-client-decision.json");
    }
}

const HBA: &str = "\
local   all  all                 peer
hostssl all  app  10.0.0.0/8     cert
host    all  all  10.0.0.0/8     reject
hostssl all  all  0.0.0.0/0      trust
";

fn ffi_hba(path: &Path) -> *mut pgtls_ffi::pgtls_hba {
    let path = path.to_str().unwrap();
    let mut hba = ptr::null_mut();
    // SAFETY: live inputs, writable outputs.
    let s = unsafe {
        pgtls_ffi::pgtls_hba_read_file(
            path.as_ptr(),
            path.len(),
            15,
            true,
            &mut hba,
            ptr::null_mut(),
        )
    };
    ok_status(s, "pgtls_hba_read_file");
    hba
}

#[test]
fn hba_decisions_and_lint_findings_are_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pg_hba.conf");
    std::fs::write(&file, HBA).unwrap();
    let broken = tmp.path().join("broken.conf");
    std::fs::write(&broken, "hostssl all all 10.0.0.0/33 cert\n").unwrap();
    // match, reject, no-match (no TLS from outside 10/8 on the hostssl lines), not-loaded.
    for (f, address, tls, user, want, status) in [
        (&file, "10.1.1.1", true, "app", "match", 0),
        (&file, "10.1.1.1", false, "app", "reject", 1),
        (&file, "192.0.2.1", false, "app", "no-match", 1),
        (&broken, "10.1.1.1", true, "app", "not-loaded", 3),
    ] {
        let mut args = vec![
            "hba",
            "check",
            p(f),
            "--ssl",
            "on",
            "--address",
            address,
            "--database",
            "db",
            "--user",
            user,
            "--json",
        ];
        if tls {
            args.push("--tls");
        }
        let cli = cli_json(&args, status);
        let hba = ffi_hba(f);
        let mut req = ptr::null_mut();
        let mut d = ptr::null_mut();
        let mut buf = ptr::null_mut();
        // SAFETY: live handles and inputs, writable outputs; each handle freed once.
        unsafe {
            ok_status(
                pgtls_ffi::pgtls_hba_request_new(
                    "db".as_ptr(),
                    2,
                    user.as_ptr(),
                    user.len(),
                    &mut req,
                    ptr::null_mut(),
                ),
                "pgtls_hba_request_new",
            );
            ok_status(
                pgtls_ffi::pgtls_hba_request_set_address(
                    req,
                    address.as_ptr(),
                    address.len(),
                    ptr::null_mut(),
                ),
                "pgtls_hba_request_set_address",
            );
            let flags = if tls {
                pgtls_ffi::PGTLS_HBA_REQUEST_TLS
            } else {
                0
            };
            ok_status(
                pgtls_ffi::pgtls_hba_request_set_flags(req, flags, ptr::null_mut()),
                "pgtls_hba_request_set_flags",
            );
            ok_status(
                pgtls_ffi::pgtls_hba_evaluate_request(hba, req, &mut d, ptr::null_mut()),
                "pgtls_hba_evaluate_request",
            );
            ok_status(
                pgtls_ffi::pgtls_hba_decision_to_json(d, &mut buf, ptr::null_mut()),
                "pgtls_hba_decision_to_json",
            );
            pgtls_ffi::pgtls_hba_decision_free(d);
            pgtls_ffi::pgtls_hba_request_free(req);
            pgtls_ffi::pgtls_hba_free(hba);
        }
        let ffi = buf_json(buf);
        assert_eq!(cli, ffi, "{address} tls={tls}");
        assert_eq!(cli["verdict"], want, "{cli}");
        keys_match_schema(&cli, "hba-check-decision.json");
    }

    // Lint: the same findings, file names and witnesses included.
    // trust over TCP is an error finding: exit 1.
    let cli = cli_json(&["hba", "lint", p(&file), "--ssl", "on", "--json"], 1);
    let hba = ffi_hba(&file);
    let mut lint = ptr::null_mut();
    let mut buf = ptr::null_mut();
    // SAFETY: live handles, writable outputs; each freed once.
    unsafe {
        ok_status(
            pgtls_ffi::pgtls_hba_lint(hba, ptr::null(), &mut lint, ptr::null_mut()),
            "pgtls_hba_lint",
        );
        ok_status(
            pgtls_ffi::pgtls_lint_to_json(lint, &mut buf, ptr::null_mut()),
            "pgtls_lint_to_json",
        );
        pgtls_ffi::pgtls_lint_free(lint);
        pgtls_ffi::pgtls_hba_free(hba);
    }
    let ffi = buf_json(buf);
    assert_eq!(cli, ffi);
    assert!(!cli.as_array().unwrap().is_empty(), "no findings: {cli}");
    keys_match_schema(&cli, "hba-lint-findings.json");
}
