//! Chain verdicts against `openssl verify` on the same files: the library
//! libpq links (OpenSSL 3.0 here) is the oracle. Fixtures come from
//! tests/fixtures/gen.sh (openssl CLI). Every case compares accept/reject and
//! the X509_V_ERR code and depth OpenSSL reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use pgtls_verify::{Env, Params, PgVersion, verify_server};

fn openssl_verify(
    dir: &Path,
    leaf: &str,
    untrusted: Option<&str>,
    cafile: &str,
    crl: Option<&str>,
    at: i64,
) -> Option<(u32, usize)> {
    let mut args: Vec<String> = vec![
        "verify".into(),
        "-purpose".into(),
        "sslserver".into(),
        "-auth_level".into(),
        "2".into(),
        "-attime".into(),
        at.to_string(),
        "-CAfile".into(),
        format!("{cafile}.pem"),
    ];
    if let Some(u) = untrusted {
        args.extend(["-untrusted".into(), u.into()]);
    }
    if let Some(c) = crl {
        args.extend(["-crl_check_all".into(), "-CRLfile".into(), c.into()]);
    }
    args.push(format!("{leaf}.pem"));
    let out = pgtls_testkit::openssl_raw(dir, &args).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        assert!(
            text.contains(": OK"),
            "openssl verify succeeded without OK: {text}"
        );
        return None;
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("error ") {
            let mut it = rest.split_whitespace();
            let code: u32 = it.next().unwrap().parse().unwrap();
            assert_eq!(it.next(), Some("at"));
            let depth: usize = it.next().unwrap().parse().unwrap();
            return Some((code, depth));
        }
    }
    panic!("cannot read openssl verify output: {text}");
}

#[test]
fn chain_verdicts_match_openssl_verify() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let cases = std::fs::read_to_string(dir.join("cases.tsv")).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut mismatches = Vec::new();
    let mut n = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, leaf, untrusted, cafile, crl, offset] = f[..] else {
            panic!("bad line {line}");
        };
        n += 1;
        let at = now + offset.parse::<i64>().unwrap();
        let mut chain_pem = std::fs::read(dir.join(format!("{leaf}.pem"))).unwrap();
        let untrusted_file = if untrusted == "-" {
            None
        } else {
            let mut u = Vec::new();
            for c in untrusted.split(',') {
                u.extend(std::fs::read(dir.join(format!("{c}.pem"))).unwrap());
            }
            chain_pem.extend(&u);
            let path = dir.join(format!("untrusted-{name}.pem"));
            std::fs::write(&path, &u).unwrap();
            Some(path.display().to_string())
        };
        let crl_path = (crl != "-").then(|| dir.join(crl).display().to_string());
        let want = openssl_verify(
            dir,
            leaf,
            untrusted_file.as_deref(),
            cafile,
            crl_path.as_deref(),
            at,
        );

        let chain = pgtls_verify::read_chain_pem(&chain_pem).unwrap();
        let mut params = Params::default();
        params.sslmode = Some("verify-ca".into());
        params.sslrootcert = Some(dir.join(format!("{cafile}.pem")));
        params.sslcrl = crl_path.as_ref().map(Into::into);
        let v = verify_server(
            &params,
            &Env::empty(),
            PgVersion::V15,
            &chain,
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(at).unwrap_or(0),
            )),
        )
        .unwrap();
        let got = v
            .hidden_reason()
            .map(|c| (c.reason.unwrap().code(), c.depth.unwrap()));
        if v.accepted() != want.is_none() || got != want {
            mismatches.push(format!(
                "{name}: openssl {want:?}, pgtls {got:?} (accept={}) {:?}",
                v.accepted(),
                v.message()
            ));
        }
        if v.accepted() {
            assert_eq!(v.message(), None);
        } else if got.is_some() {
            assert_eq!(v.message(), Some("SSL error: certificate verify failed"));
        }
    }
    assert!(n >= 30, "only {n} cases");
    assert!(
        mismatches.is_empty(),
        "{} of {n} cases differ from openssl verify:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn name_hashes_match_openssl() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    // A subject with several RDNs, odd spacing and case, and a multi-valued RDN.
    pgtls_testkit::openssl(
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
            "odd.key",
            "-out",
            "odd.pem",
            "-days",
            "1",
            "-multivalue-rdn",
            "-subj",
            "/C=DE/O=  Some   Org /OU=X+CN=Mixed Case Name/emailAddress=A@B.example",
        ],
    )
    .unwrap();
    for name in ["root", "int", "leaf", "leafv1", "self", "rsaroot", "odd"] {
        let der = pgtls_verify::read_chain_file(&dir.join(format!("{name}.pem")))
            .unwrap()
            .remove(0);
        let o = pgtls_testkit::openssl(
            dir,
            &["x509", "-hash", "-noout", "-in", &format!("{name}.pem")],
        )
        .unwrap();
        let want = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(
            format!(
                "{:08x}",
                pgtls_verify::certificate_subject_hash(&der).unwrap()
            ),
            want,
            "{name}"
        );
    }
    for crl in ["root-empty.crl", "int-empty.crl"] {
        let pem = std::fs::read_to_string(dir.join(crl)).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = decode_b64(&b64);
        let o = pgtls_testkit::openssl(dir, &["crl", "-hash", "-noout", "-in", crl]).unwrap();
        let want = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(
            format!("{:08x}", pgtls_verify::crl_issuer_hash(&der).unwrap()),
            want,
            "{crl}"
        );
    }
}

fn decode_b64(s: &str) -> Vec<u8> {
    let out = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    out.stdout
}

/// `sslcrldir`: a hashed directory as `openssl verify -CApath` reads it.
#[test]
fn crl_directories_match_openssl_capath() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let hash = |crl: &str| {
        let o = pgtls_testkit::openssl(dir, &["crl", "-hash", "-noout", "-in", crl]).unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // (case, [(crl file, name in the directory: "" = its hash + ".r0")])
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("both", &[("root-empty.crl", ""), ("int-empty.crl", "")]),
        ("root-only", &[("root-empty.crl", "")]),
        (
            "leaf-revoked",
            &[("root-empty.crl", ""), ("int-revokes-leaf.crl", "")],
        ),
        (
            "misnamed",
            &[("root-empty.crl", ""), ("int-empty.crl", "0badbeef.r0")],
        ),
        ("gap", &[("root-empty.crl", ""), ("int-empty.crl", "r1")]),
        ("empty-dir", &[]),
    ];
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut chain = pgtls_verify::read_chain_file(&dir.join("leaf.pem")).unwrap();
    chain.extend(pgtls_verify::read_chain_file(&dir.join("int.pem")).unwrap());
    let mut mismatches = Vec::new();
    for (name, files) in cases {
        let d = dir.join(format!("crldir-{name}"));
        std::fs::create_dir(&d).unwrap();
        for (crl, target) in *files {
            let target = match *target {
                "" => format!("{}.r0", hash(crl)),
                "r1" => format!("{}.r1", hash(crl)),
                t => t.to_string(),
            };
            std::fs::copy(dir.join(crl), d.join(target)).unwrap();
        }
        let args = [
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            "root.pem",
            "-CApath",
            d.to_str().unwrap(),
            "-crl_check_all",
            "-untrusted",
            "int.pem",
            "leaf.pem",
        ];
        let o = pgtls_testkit::openssl_raw(dir, &args).unwrap();
        let text =
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
        let want: Option<u32> = if o.status.success() {
            None
        } else {
            text.lines().find_map(|l| {
                l.strip_prefix("error ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|c| c.parse().ok())
            })
        };
        let mut p = Params::default();
        p.sslmode = Some("verify-ca".into());
        p.sslrootcert = Some(dir.join("root.pem"));
        p.sslcrldir = Some(d.clone());
        let v = verify_server(
            &p,
            &Env::empty(),
            PgVersion::V15,
            &chain,
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        )
        .unwrap();
        let got = v.hidden_reason().and_then(|c| c.reason).map(|r| r.code());
        if got != want || v.accepted() != want.is_none() {
            mismatches.push(format!("{name}: openssl {want:?} pgtls {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
