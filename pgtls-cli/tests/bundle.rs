//! `pgtls bundle merge|diff|inspect` on certificates and CRLs made by the openssl CLI
//! (`openssl req -x509`, `openssl ca`, `openssl ca -gencrl`): an old and a new root, an
//! intermediate, leaves, an expired CA, a CA re-keyed under the same name, CRLs with and
//! without authorityKeyIdentifier. The merged bundles are checked by openssl itself
//! (`openssl verify -CAfile merged`, with `-crl_check_all -CRLfile`), the listed fields
//! against `openssl x509` and `openssl crl`, and every subcommand's exit status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use pgtls_testkit::{openssl, openssl_raw, require_openssl};
use serde_json::Value;

mod pki_support;
use pki_support::{p, pgtls};

const CA_CONF: &str = "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = NAME.index\n\
new_certs_dir = NAME.new\nserial = NAME.serial\ncrlnumber = NAME.crlnumber\ndefault_md = sha256\n\
policy = p\ndefault_crl_days = 30\nunique_subject = no\n[p]\norganizationName = optional\ncommonName = supplied\n\
[aki]\nauthorityKeyIdentifier = keyid:always\n";

const CA_EXT: &str = "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

const LEAF_EXT: &str = "basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth,serverAuth\n\
subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

/// A CA made with openssl in `dir`: `NAME.key`, `NAME.crt`, and the `openssl ca`
/// database that issues and revokes with it and makes its CRLs.
struct Ca {
    dir: PathBuf,
    name: String,
}

fn ossl(dir: &Path, args: &[&str]) -> Output {
    openssl(dir, args).unwrap()
}

fn new_key_csr(dir: &Path, stem: &str, subject: &str) {
    ossl(
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
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.csr"),
            "-subj",
            subject,
        ],
    );
}

impl Ca {
    fn files(dir: &Path, name: &str) -> Self {
        fs::write(dir.join(format!("{name}.index")), "").unwrap();
        fs::write(dir.join(format!("{name}.serial")), "1000\n").unwrap();
        fs::write(dir.join(format!("{name}.crlnumber")), "1000\n").unwrap();
        fs::create_dir_all(dir.join(format!("{name}.new"))).unwrap();
        fs::write(
            dir.join(format!("{name}.cnf")),
            CA_CONF.replace("NAME", name),
        )
        .unwrap();
        fs::write(dir.join("ca.ext"), CA_EXT).unwrap();
        fs::write(dir.join("leaf.ext"), LEAF_EXT).unwrap();
        Self {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        }
    }

    /// A self-signed root (`openssl ca -selfsign`, so that its dates can be chosen).
    fn root(dir: &Path, name: &str, subject: &str, dates: Option<(&str, &str)>) -> Self {
        let ca = Self::files(dir, name);
        new_key_csr(dir, name, subject);
        let conf = format!("{name}.cnf");
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-selfsign",
            "-config",
            &conf,
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-out",
            &crt,
            "-extfile",
            "ca.ext",
        ];
        match dates {
            Some((from, to)) => args.extend(["-startdate", from, "-enddate", to]),
            None => args.extend(["-days", "3650"]),
        }
        ossl(dir, &args);
        ca
    }

    fn crt(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    /// Signs `stem.csr` into `stem.crt` with `ext` (a file in the directory).
    fn sign(&self, stem: &str, ext: &str) {
        let conf = format!("{}.cnf", self.name);
        let (crt, key) = (format!("{}.crt", self.name), format!("{}.key", self.name));
        ossl(
            &self.dir,
            &[
                "ca",
                "-batch",
                "-notext",
                "-config",
                &conf,
                "-cert",
                &crt,
                "-keyfile",
                &key,
                "-in",
                &format!("{stem}.csr"),
                "-out",
                &format!("{stem}.crt"),
                "-extfile",
                ext,
                "-days",
                "365",
            ],
        );
    }

    fn intermediate(&self, name: &str, subject: &str) -> Self {
        let ca = Self::files(&self.dir, name);
        new_key_csr(&self.dir, name, subject);
        self.sign(name, "ca.ext");
        ca
    }

    /// A leaf `stem.crt` (and `stem.key`) for `cn`.
    fn leaf(&self, stem: &str, cn: &str) -> PathBuf {
        new_key_csr(&self.dir, stem, &format!("/CN={cn}"));
        self.sign(stem, "leaf.ext");
        self.dir.join(format!("{stem}.crt"))
    }

    fn revoke(&self, crt: &Path) {
        let conf = format!("{}.cnf", self.name);
        let (ca, key) = (format!("{}.crt", self.name), format!("{}.key", self.name));
        ossl(
            &self.dir,
            &[
                "ca",
                "-config",
                &conf,
                "-cert",
                &ca,
                "-keyfile",
                &key,
                "-revoke",
                p(crt),
            ],
        );
    }

    /// A CRL into `out` (the next cRLNumber); `aki`: with an authorityKeyIdentifier;
    /// `this_update`: `YYYYMMDDHHMMSSZ`.
    fn crl(&self, out: &str, aki: bool, this_update: Option<&str>) -> PathBuf {
        let conf = format!("{}.cnf", self.name);
        let (crt, key) = (format!("{}.crt", self.name), format!("{}.key", self.name));
        let mut args = vec![
            "ca", "-gencrl", "-config", &conf, "-cert", &crt, "-keyfile", &key, "-out", out,
        ];
        if aki {
            args.extend(["-crlexts", "aki"]);
        }
        if let Some(t) = this_update {
            args.extend(["-crl_lastupdate", t]);
        }
        ossl(&self.dir, &args);
        self.dir.join(out)
    }

    fn set_crl_number(&self, hex: &str) {
        fs::write(
            self.dir.join(format!("{}.crlnumber", self.name)),
            format!("{hex}\n"),
        )
        .unwrap();
    }
}

/// The CAs most tests use: two roots, an intermediate under the new one, a leaf under
/// each, in a fresh directory.
struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    old: Ca,
    new: Ca,
    inter: Ca,
    old_leaf: PathBuf,
    new_leaf: PathBuf,
}

fn world() -> World {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let old = Ca::root(&dir, "old", "/O=Example/CN=Old CA", None);
    let new = Ca::root(&dir, "new", "/O=Example/CN=New CA", None);
    let inter = new.intermediate("inter", "/O=Example/CN=New Intermediate");
    let old_leaf = old.leaf("oldleaf", "db.old.example");
    let new_leaf = inter.leaf("newleaf", "db.new.example");
    World {
        _tmp: tmp,
        dir,
        old,
        new,
        inter,
        old_leaf,
        new_leaf,
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = pgtls(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, Value) {
    let (rc, out, err) = run(args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}{err}"));
    (rc, v)
}

fn cat(parts: &[&Path]) -> String {
    parts
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
}

/// The same PEM with CRLF line ends, the body re-wrapped at 76 columns with trailing
/// blanks, and text around it.
fn reformatted(pem: &str) -> String {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    let mut out = String::from("Bag Attributes: from some export tool\r\n");
    out.push_str("-----BEGIN CERTIFICATE-----\r\n");
    for chunk in body.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str("  \r\n");
    }
    out.push_str("-----END CERTIFICATE-----\r\n\r\ntrailing words\r\n");
    out
}

fn openssl_verify(ca_file: &Path, extra: &[&str], cert: &Path) -> (bool, String) {
    let mut args = vec!["verify", "-CAfile", p(ca_file)];
    args.extend(extra);
    args.push(p(cert));
    let o = openssl_raw(Path::new("."), &args).unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn subjects(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn merge_dedups_by_der_keeps_order_and_openssl_verifies_with_the_result() {
    let w = world();
    let d = &w.dir;
    // The new root and its intermediate in one file; the old root again, reformatted.
    let new_file = d.join("new-bundle.pem");
    fs::write(&new_file, cat(&[&w.new.crt(), &w.inter.crt()])).unwrap();
    let again = d.join("old-again.pem");
    fs::write(
        &again,
        reformatted(&fs::read_to_string(w.old.crt()).unwrap()),
    )
    .unwrap();
    let out = d.join("merged.pem");
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&new_file),
        p(&again),
        "-o",
        p(&out),
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(
        subjects(&v["certificates"]),
        [
            "O=Example, CN=Old CA",
            "O=Example, CN=New CA",
            "O=Example, CN=New Intermediate"
        ]
    );
    let dups = v["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{v}");
    assert_eq!(dups[0]["duplicate"]["file"], p(&again));
    assert_eq!(dups[0]["duplicate"]["block"], 1);
    assert_eq!(dups[0]["duplicate"]["line"], 2);
    assert_eq!(dups[0]["first"]["file"], p(&w.old.crt()));
    assert_eq!(v["output"], p(&out));
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");

    // openssl reads the merged file as a root file: both chains verify, in both orders
    // of the inputs, and a certificate of neither CA does not.
    let (ok, text) = openssl_verify(&out, &[], &w.old_leaf);
    assert!(ok, "{text}");
    let (ok, text) = openssl_verify(&out, &[], &w.new_leaf);
    assert!(ok, "{text}");
    let stranger = Ca::root(d, "stranger", "/CN=Stranger CA", None).leaf("s", "s");
    let (ok, text) = openssl_verify(&out, &[], &stranger);
    assert!(!ok, "{text}");
    // Only the old root: the new chain fails (the test can fail).
    let (ok, _) = openssl_verify(&w.old.crt(), &[], &w.new_leaf);
    assert!(!ok);
    // openssl sees exactly three certificates in it.
    let o = ossl(d, &["storeutl", "-noout", "-certs", p(&out)]);
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("Total found: 3"), "{listing}");

    // Human output: the counts and the duplicate with its place.
    let out2 = d.join("merged2.pem");
    let (rc, text, _) = run(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&again),
        "-o",
        p(&out2),
    ]);
    assert_eq!(rc, 0);
    assert!(
        text.contains("1 certificate(s), 0 CRL(s) from 2 input(s)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: PEM block 1 (line 2) repeats", p(&again))),
        "{text}"
    );
}

#[test]
fn merge_refuses_a_leaf_unless_allowed_and_warns_on_an_expired_ca() {
    let w = world();
    let d = &w.dir;
    let mixed = d.join("mixed.pem");
    fs::write(&mixed, cat(&[&w.new.crt(), &w.old_leaf])).unwrap();
    let out = d.join("out.pem");
    let (rc, _, err) = run(&["bundle", "merge", p(&w.old.crt()), p(&mixed), "-o", p(&out)]);
    assert_eq!(rc, 1, "{err}");
    assert!(
        err.contains(&format!("{}: PEM block 2", p(&mixed)))
            && err.contains("CN=db.old.example is not a CA certificate")
            && err.contains("--allow-leaf"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written after a refusal");
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&mixed),
        "-o",
        p(&out),
        "--allow-leaf",
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["certificates"].as_array().unwrap().len(), 3);
    assert_eq!(v["certificates"][2]["ca"], false);
    assert_eq!(v["warnings"][0]["code"], "not-ca");
    assert_eq!(v["warnings"][0]["at"]["block"], 2);

    // An expired root: kept, with a warning (JSON and stderr).
    let expired = Ca::root(
        d,
        "expired",
        "/CN=Expired CA",
        Some(("20200101000000Z", "20210101000000Z")),
    );
    let out2 = d.join("out2.pem");
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&expired.crt()),
        "-o",
        p(&out2),
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v}");
    assert_eq!(warnings[0]["code"], "certificate-expired");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("2021-01-01T00:00:00Z")
    );
    assert_eq!(v["certificates"][1]["validity"], "expired");
    let out3 = d.join("out3.pem");
    let (rc, _, err) = run(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&expired.crt()),
        "-o",
        p(&out3),
    ]);
    assert_eq!(rc, 0);
    assert!(
        err.contains("pgtls: warning:") && err.contains("CN=Expired CA expired"),
        "{err}"
    );
    // At a time when it was valid, no warning.
    let out4 = d.join("out4.pem");
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&expired.crt()),
        "-o",
        p(&out4),
        "--at",
        "2020-06-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(rc, 0);
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn merge_keeps_the_newest_crl_per_issuer_and_openssl_then_sees_the_revocation() {
    let w = world();
    let d = &w.dir;
    let first = w.old.crl("old-1000.crl", false, None);
    w.old.revoke(&w.old_leaf);
    let second = w.old.crl("old-1001.crl", false, None);
    let new_crl = w.new.crl("new.crl", true, None);
    let inter_crl = w.inter.crl("inter.crl", true, None);
    let cas = d.join("cas.pem");
    let (rc, _, err) = run(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&w.new.crt()),
        p(&w.inter.crt()),
        "-o",
        p(&cas),
    ]);
    assert_eq!(rc, 0, "{err}");
    // The newer CRL last, then first: the newest (1001) is kept either way, in the
    // place where its issuer first appears.
    for order in [
        [&first, &new_crl, &second, &inter_crl],
        [&second, &new_crl, &first, &inter_crl],
    ] {
        let out = d.join("crls.pem");
        let mut args = vec!["bundle", "merge"];
        args.extend(order.iter().map(|f| p(f)));
        args.extend(["-o", p(&out), "--force", "--json"]);
        let (rc, v) = json(&args);
        assert_eq!(rc, 0, "{v}");
        let crls = v["crls"].as_array().unwrap();
        let numbers: Vec<&str> = crls
            .iter()
            .map(|c| c["crl_number"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, ["1001", "1000", "1000"], "{v}");
        assert_eq!(crls[0]["issuer"], "O=Example, CN=Old CA");
        assert_eq!(crls[0]["revoked_count"], 1);
        let sup = v["superseded_crls"].as_array().unwrap();
        assert_eq!(sup.len(), 1, "{v}");
        assert_eq!(sup[0]["dropped"]["file"], p(&first));
        assert_eq!(sup[0]["kept"]["file"], p(&second));
        // Old CA's CRLs have no authorityKeyIdentifier and no CA certificate came
        // with them: told by name, and said so.
        assert_eq!(v["warnings"][0]["code"], "crl-issuer-by-name", "{v}");

        // openssl with the merged CRLs: the revoked leaf is refused, the other passes.
        let crl_args = ["-crl_check_all", "-CRLfile", p(&out)];
        let (ok, text) = openssl_verify(&cas, &crl_args, &w.old_leaf);
        assert!(!ok && text.contains("certificate revoked"), "{text}");
        let (ok, text) = openssl_verify(&cas, &crl_args, &w.new_leaf);
        assert!(ok, "{text}");
    }
    // Keeping the older CRL instead would have let the revoked leaf through: the
    // check above can fail.
    let (ok, text) = openssl_verify(&cas, &["-crl_check", "-CRLfile", p(&first)], &w.old_leaf);
    assert!(ok, "{text}");

    // With the CA certificates among the inputs, the CRLs' issuer is proven by
    // signature: no warning.
    let out = d.join("all.pem");
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&cas),
        p(&first),
        p(&second),
        "-o",
        p(&out),
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["crls"].as_array().unwrap().len(), 1);
    let (ok, text) = openssl_verify(&out, &["-crl_check"], &w.old_leaf);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

#[test]
fn conflicting_crls_of_one_issuer_are_an_error() {
    let w = world();
    let d = &w.dir;
    let a = w.old.crl("a.crl", false, None);
    w.old.revoke(&w.old_leaf);
    w.old.set_crl_number("1000");
    let b = w.old.crl("b.crl", false, None);
    let out = d.join("out.pem");
    let (rc, _, err) = run(&["bundle", "merge", p(&a), p(&b), "-o", p(&out)]);
    assert_eq!(rc, 1, "{err}");
    assert!(
        err.contains("conflicting CRLs of O=Example, CN=Old CA")
            && err.contains(p(&a))
            && err.contains(p(&b))
            && err.contains("the same cRLNumber with different contents"),
        "{err}"
    );
    assert!(!out.exists());
    // A higher cRLNumber with an earlier thisUpdate.
    w.old.set_crl_number("2000");
    let late = w.old.crl("late.crl", false, Some("20300101000000Z"));
    let early = w.old.crl("early.crl", false, Some("20250101000000Z"));
    let (rc, _, err) = run(&["bundle", "merge", p(&late), p(&early), "-o", p(&out)]);
    assert_eq!(rc, 1, "{err}");
    assert!(
        err.contains("the higher cRLNumber has the earlier thisUpdate"),
        "{err}"
    );
    // The very same CRL twice is a duplicate, not a conflict.
    let (rc, v) = json(&["bundle", "merge", p(&a), p(&a), "-o", p(&out), "--json"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["duplicates"][0]["kind"], "crl");
}

#[test]
fn crls_of_a_ca_rekeyed_under_the_same_name() {
    let w = world();
    let d = &w.dir;
    // A second "Old CA" with its own key, as after a re-key that kept the name.
    let rekeyed = Ca::root(d, "rekeyed", "/O=Example/CN=Old CA", None);
    rekeyed.set_crl_number("3000");
    let old_crl = w.old.crl("old.crl", false, None);
    let rekeyed_crl = rekeyed.crl("rekeyed.crl", false, None);
    let out = d.join("out.pem");
    // CRLs alone, without key identifiers: one CA as far as can be told (a warning).
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&old_crl),
        p(&rekeyed_crl),
        "-o",
        p(&out),
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["crls"].as_array().unwrap().len(), 1);
    assert_eq!(v["warnings"][0]["code"], "crl-issuer-by-name");
    // With both CA certificates: each CRL is verified by its own CA, both are kept.
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&w.old.crt()),
        p(&rekeyed.crt()),
        p(&old_crl),
        p(&rekeyed_crl),
        "-o",
        p(&out),
        "--force",
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["crls"].as_array().unwrap().len(), 2, "{v}");
    assert!(v["superseded_crls"].as_array().unwrap().is_empty());
    // With key identifiers on two of them, the one without cannot be placed.
    let old_aki = w.old.crl("old-aki.crl", true, None);
    let rekeyed_aki = rekeyed.crl("rekeyed-aki.crl", true, None);
    let (rc, _, err) = run(&[
        "bundle",
        "merge",
        p(&old_aki),
        p(&rekeyed_aki),
        p(&old_crl),
        "-o",
        p(&d.join("x.pem")),
    ]);
    assert_eq!(rc, 1, "{err}");
    assert!(
        err.contains(&format!("{}: PEM block 1", p(&old_crl)))
            && err.contains("no authorityKeyIdentifier"),
        "{err}"
    );
    // The two with key identifiers alone are two issuers.
    let (rc, v) = json(&[
        "bundle",
        "merge",
        p(&old_aki),
        p(&rekeyed_aki),
        "-o",
        p(&d.join("y.pem")),
        "--json",
    ]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["crls"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_inputs_are_typed_errors_naming_file_and_block() {
    let w = world();
    let d = &w.dir;
    let cert = fs::read_to_string(w.old.crt()).unwrap();
    let key = fs::read_to_string(d.join("old.key")).unwrap();
    let csr = fs::read_to_string(d.join("oldleaf.csr")).unwrap();
    let broken =
        format!("{cert}-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n");
    let lines_before = cert.lines().count();
    let not_a_cert =
        format!("{cert}-----BEGIN CERTIFICATE-----\nTWFu\n-----END CERTIFICATE-----\n");
    let cases: Vec<(&str, Vec<u8>, Vec<String>)> = vec![
        ("empty", Vec::new(), vec!["not a PEM bundle".into()]),
        (
            "garbage",
            b"hello, world\n".to_vec(),
            vec!["not a PEM bundle".into(), "no PEM block found".into()],
        ),
        (
            "binary",
            vec![0xff, 0xfe, 0x00, 0x13],
            vec!["not a PEM bundle".into()],
        ),
        (
            "der-garbage",
            vec![0x30, 0x03, 0x02, 0x01, 0x01],
            vec!["(DER): not a valid certificate".into()],
        ),
        (
            "broken-base64",
            broken.into_bytes(),
            vec![
                format!("PEM block 2 (line {})", lines_before + 1),
                "invalid base64".into(),
            ],
        ),
        (
            "not-a-cert",
            not_a_cert.into_bytes(),
            vec!["PEM block 2".into(), "not a valid certificate".into()],
        ),
        (
            "unterminated",
            format!("{cert}-----BEGIN CERTIFICATE-----\nTWFu\n").into_bytes(),
            vec!["PEM block 2".into(), "has no END line".into()],
        ),
        (
            "with-key",
            format!("{cert}{key}").into_bytes(),
            vec![
                format!("PEM block 2 (line {})", lines_before + 1),
                "a private key (PRIVATE KEY)".into(),
                "must never hold a key".into(),
            ],
        ),
        (
            "with-csr",
            format!("{cert}{csr}").into_bytes(),
            vec!["PEM block 2".into(), "a CERTIFICATE REQUEST block".into()],
        ),
    ];
    let out = d.join("out.pem");
    fs::write(&out, "previous contents\n").unwrap();
    for (name, bytes, needles) in &cases {
        let f = d.join(name);
        fs::write(&f, bytes).unwrap();
        for args in [
            vec![
                "bundle",
                "merge",
                p(&w.new.crt()),
                p(&f),
                "-o",
                p(&out),
                "--force",
            ],
            vec!["bundle", "inspect", p(&f)],
            vec!["bundle", "diff", p(&w.new.crt()), p(&f)],
            vec!["bundle", "diff", p(&f), p(&w.new.crt()), "--json"],
        ] {
            let (rc, stdout, err) = run(&args);
            assert_eq!(rc, 2, "{name} {args:?}: {err}");
            assert!(stdout.is_empty(), "{name} {args:?}: {stdout}");
            assert!(
                err.starts_with(&format!("pgtls: error: {}", p(&f))),
                "{name}: {err}"
            );
            for n in needles {
                assert!(
                    err.contains(n.as_str()),
                    "{name} {args:?}: {n:?} not in {err}"
                );
            }
            assert!(!err.contains("MIIB"), "no key or block text echoed: {err}");
        }
        // The output was left as it was.
        assert_eq!(fs::read_to_string(&out).unwrap(), "previous contents\n");
    }
    // A missing input is bad input too (diff's 1 means only "different").
    let (rc, _, err) = run(&["bundle", "diff", p(&w.new.crt()), p(&d.join("nope"))]);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn merge_writes_atomically_and_only_over_an_existing_file_with_force() {
    let w = world();
    let d = &w.dir;
    let out_dir = d.join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("root.crt");
    fs::write(&out, "keep me\n").unwrap();
    let (rc, _, err) = run(&["bundle", "merge", p(&w.old.crt()), "-o", p(&out)]);
    assert_eq!(rc, 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), "keep me\n");
    // The output may be one of the inputs: read first, then replaced whole.
    fs::copy(w.old.crt(), &out).unwrap();
    let (rc, _, err) = run(&[
        "bundle",
        "merge",
        p(&out),
        p(&w.new.crt()),
        "-o",
        p(&out),
        "--force",
    ]);
    assert_eq!(rc, 0, "{err}");
    let (rc, v) = json(&["bundle", "inspect", p(&out), "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(
        subjects(&v["certificates"]),
        ["O=Example, CN=Old CA", "O=Example, CN=New CA"]
    );
    let names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["root.crt"], "no temporary file left");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // Usage: no -o.
    let (rc, _, _) = run(&["bundle", "merge", p(&w.old.crt())]);
    assert_eq!(rc, 2);
}

#[test]
fn diff_lists_added_removed_kept_and_exits_by_whether_they_differ() {
    let w = world();
    let d = &w.dir;
    let old_bundle = d.join("old-bundle.pem");
    fs::write(&old_bundle, cat(&[&w.old.crt(), &w.inter.crt()])).unwrap();
    let new_bundle = d.join("new-bundle.pem");
    fs::write(&new_bundle, cat(&[&w.inter.crt(), &w.new.crt()])).unwrap();
    let (rc, v) = json(&["bundle", "diff", p(&old_bundle), p(&new_bundle), "--json"]);
    assert_eq!(rc, 1, "{v}");
    assert_eq!(v["same"], false);
    let names = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("added"), ["O=Example, CN=New CA"]);
    assert_eq!(names("removed"), ["O=Example, CN=Old CA"]);
    assert_eq!(names("kept"), ["O=Example, CN=New Intermediate"]);
    assert_eq!(v["added"][0]["at"]["file"], p(&new_bundle));
    assert_eq!(v["added"][0]["at"]["block"], 2);
    let (rc, text, _) = run(&["bundle", "diff", p(&old_bundle), p(&new_bundle)]);
    assert_eq!(rc, 1);
    assert!(
        text.contains("+ certificate O=Example, CN=New CA"),
        "{text}"
    );
    assert!(
        text.contains("- certificate O=Example, CN=Old CA"),
        "{text}"
    );
    assert!(
        text.contains("1 added, 1 removed, 1 kept: different"),
        "{text}"
    );
    // The same certificates in another order, one repeated and reformatted: the same.
    let shuffled = d.join("shuffled.pem");
    let inter = fs::read_to_string(w.inter.crt()).unwrap();
    fs::write(
        &shuffled,
        format!(
            "{}{}{}",
            reformatted(&inter),
            fs::read_to_string(w.old.crt()).unwrap(),
            inter
        ),
    )
    .unwrap();
    let (rc, v) = json(&["bundle", "diff", p(&old_bundle), p(&shuffled), "--json"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["same"], true);
    assert_eq!(v["kept"].as_array().unwrap().len(), 2);
    // CRLs are entries too.
    let crl = w.old.crl("old.crl", false, None);
    let with_crl = d.join("with-crl.pem");
    fs::write(&with_crl, cat(&[&old_bundle, &crl])).unwrap();
    let (rc, v) = json(&["bundle", "diff", p(&old_bundle), p(&with_crl), "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["added"][0]["kind"], "crl");
    assert_eq!(v["added"][0]["name"], "O=Example, CN=Old CA");
}

/// `openssl x509 -noout OPTION` of a certificate, the text after `=` (or the whole line).
fn x509_field(cert: &Path, option: &str) -> String {
    let o = ossl(Path::new("."), &["x509", "-noout", option, "-in", p(cert)]);
    let s = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    s.split_once('=').map_or(s.clone(), |(_, v)| v.to_owned())
}

/// The value line of an extension as `openssl x509 -ext NAME` prints it (`None`: the
/// certificate does not have it).
fn x509_ext(cert: &Path, ext: &str) -> Option<String> {
    let o = ossl(
        Path::new("."),
        &["x509", "-noout", "-ext", ext, "-in", p(cert)],
    );
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines()
        .nth(1)
        .map(|l| l.trim().trim_start_matches("keyid:").to_owned())
}

#[test]
fn inspect_lists_what_openssl_reads() {
    let w = world();
    let d = &w.dir;
    let crl = w.inter.crl("inter.crl", true, None);
    let bundle = d.join("bundle.pem");
    fs::write(
        &bundle,
        cat(&[
            &w.old.crt(),
            &w.inter.crt(),
            &w.old_leaf,
            &crl,
            &w.old.crt(),
        ]),
    )
    .unwrap();
    let (rc, v) = json(&["bundle", "inspect", p(&bundle), "--json"]);
    assert_eq!(rc, 0, "{v}");
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 4);
    for (entry, file, ca, self_signed) in [
        (&certs[0], w.old.crt(), true, true),
        (&certs[1], w.inter.crt(), true, false),
        (&certs[2], w.old_leaf.clone(), false, false),
    ] {
        assert_eq!(
            entry["serial"].as_str().unwrap(),
            x509_field(&file, "-serial")
        );
        let o = ossl(
            Path::new("."),
            &["x509", "-noout", "-fingerprint", "-sha256", "-in", p(&file)],
        );
        let fp = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        assert_eq!(
            entry["sha256_fingerprint"].as_str().unwrap(),
            fp.split_once('=').unwrap().1
        );
        let ski = x509_ext(&file, "subjectKeyIdentifier");
        assert!(ski.is_some());
        assert_eq!(
            entry["subject_key_identifier"].as_str().map(str::to_owned),
            ski
        );
        assert_eq!(
            entry["authority_key_identifier"]
                .as_str()
                .map(str::to_owned),
            x509_ext(&file, "authorityKeyIdentifier"),
            "{entry}"
        );
        assert_eq!(entry["ca"], ca, "{entry}");
        assert_eq!(entry["self_signed"], self_signed, "{entry}");
        assert_eq!(entry["validity"], "valid");
        // notAfter as openssl prints it, in RFC 3339.
        let not_after = x509_field(&file, "-enddate");
        let t = time::PrimitiveDateTime::parse(
            not_after.trim_end_matches(" GMT"),
            time::macros::format_description!(
                "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
            ),
        )
        .unwrap()
        .assume_utc();
        assert_eq!(
            entry["not_after"].as_str().unwrap(),
            pgtls_core::report::format_time(t)
        );
    }
    assert_eq!(certs[3]["block"], 5);
    let dups = v["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["first"]["block"], 1);
    assert_eq!(dups[0]["duplicate"]["block"], 5);
    let crls = v["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 1);
    assert_eq!(crls[0]["issuer"], "O=Example, CN=New Intermediate");
    assert_eq!(crls[0]["crl_number"], "1000");
    assert_eq!(crls[0]["block"], 4);
    let o = ossl(d, &["crl", "-noout", "-crlnumber", "-in", p(&crl)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("crlNumber=0x1000"));
    assert_eq!(
        crls[0]["authority_key_identifier"],
        certs[1]["subject_key_identifier"]
    );
    assert!(v["directory"].is_null());
    // Human text.
    let (rc, text, _) = run(&["bundle", "inspect", p(&bundle)]);
    assert_eq!(rc, 0);
    assert!(text.contains("4 certificate(s), 1 CRL(s)"), "{text}");
    assert!(text.contains("CA           yes, self-signed"), "{text}");
    assert!(text.contains("CA           no"), "{text}");
}

#[test]
fn inspect_dir_shows_what_chains_by_verified_signature() {
    let w = world();
    let d = &w.dir;
    // A forger: the old CA's name, another key.
    let forger = Ca::root(d, "forger", "/O=Example/CN=Old CA", None);
    let forged = forger.leaf("forged", "db.old.example");
    let old_crl = w.old.crl("old.crl", false, None);
    let forged_crl = forger.crl("forged.crl", false, None);
    let bundle = d.join("bundle.pem");
    fs::write(&bundle, cat(&[&w.old.crt(), &w.new.crt()])).unwrap();
    let scan = d.join("scan");
    fs::create_dir(&scan).unwrap();
    for (from, to) in [
        (&w.old_leaf, "a-old-leaf.crt"),
        (&w.new_leaf, "b-new-leaf.crt"),
        (&w.inter.crt(), "c-inter.crt"),
        (&forged, "d-forged.crt"),
        (&old_crl, "e-old.crl"),
        (&forged_crl, "f-forged.crl"),
        (&d.join("oldleaf.key"), "g-old-leaf.key"),
    ] {
        fs::copy(from, scan.join(to)).unwrap();
    }
    fs::write(scan.join("h-notes.txt"), "not a certificate\n").unwrap();
    // A leaf and its key in one file: the key is passed over, the leaf read.
    fs::write(
        scan.join("i-combined.pem"),
        cat(&[&w.new_leaf, &d.join("newleaf.key")]),
    )
    .unwrap();
    std::os::unix::fs::symlink(w.new.crt(), scan.join("j-link.0")).unwrap();
    let (rc, v) = json(&["bundle", "inspect", p(&bundle), "--dir", p(&scan), "--json"]);
    assert_eq!(rc, 0, "{v}");
    let dir = &v["directory"];
    let entries = dir["entries"].as_array().unwrap();
    let by_file = |f: &str| -> &Value {
        entries
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(f))
            .unwrap_or_else(|| panic!("{f} not in {dir}"))
    };
    let anchors = |f: &str| -> Vec<(String, Vec<String>)> {
        by_file(f)["chains_to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["anchor_subject"].as_str().unwrap().to_owned(),
                    l["through"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let old = "O=Example, CN=Old CA".to_owned();
    let new = "O=Example, CN=New CA".to_owned();
    let inter = "O=Example, CN=New Intermediate".to_owned();
    assert_eq!(anchors("a-old-leaf.crt"), [(old.clone(), vec![])]);
    assert_eq!(
        anchors("b-new-leaf.crt"),
        [(new.clone(), vec![inter.clone()])]
    );
    assert_eq!(anchors("c-inter.crt"), [(new.clone(), vec![])]);
    // Same issuer name, other key: chains to nothing.
    assert!(anchors("d-forged.crt").is_empty(), "{dir}");
    assert!(anchors("f-forged.crl").is_empty(), "{dir}");
    assert_eq!(by_file("e-old.crl")["kind"], "crl");
    assert_eq!(anchors("e-old.crl"), [(old, vec![])]);
    assert_eq!(anchors("i-combined.pem"), [(new.clone(), vec![inter])]);
    assert_eq!(by_file("j-link.0")["in_bundle"], true);
    assert_eq!(anchors("j-link.0"), [(new, vec![])]);
    let skipped: Vec<&str> = dir["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2, "{dir}");
    assert!(skipped[0].ends_with("g-old-leaf.key") && skipped[1].ends_with("h-notes.txt"));
    // What pgtls says chains, openssl verifies, and what it says does not, openssl refuses.
    let (ok, text) = openssl_verify(&bundle, &[], &forged);
    assert!(!ok, "{text}");
    let (ok, text) = openssl_verify(&bundle, &["-untrusted", p(&w.inter.crt())], &w.new_leaf);
    assert!(ok, "{text}");
    // Human text groups by bundle certificate.
    let (rc, text, _) = run(&["bundle", "inspect", p(&bundle), "--dir", p(&scan)]);
    assert_eq!(rc, 0);
    assert!(
        text.contains("certificate CN=db.new.example through O=Example, CN=New Intermediate"),
        "{text}"
    );
    assert!(
        text.contains("chains to no certificate of the bundle:"),
        "{text}"
    );
    // A directory that cannot be read is bad input.
    let (rc, _, err) = run(&["bundle", "inspect", p(&bundle), "--dir", p(&d.join("nope"))]);
    assert_eq!(rc, 2, "{err}");
}
