//! Bad input gives libpq's error (checked against OpenSSL's own reason for
//! the same file) or a clear pgtls error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pgtls_verify::{Env, Params, PgVersion, verify_server};
use proptest::prelude::*;

/// The reason of the first error OpenSSL reports loading `file` as a CA file.
fn openssl_load_reason(dir: &Path, file: &Path) -> String {
    let out = pgtls_testkit::openssl_raw(
        dir,
        &[
            "verify".as_ref(),
            "-CAfile".as_ref(),
            file.as_os_str(),
            "leaf.pem".as_ref(),
        ],
    )
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains(":error:"))
        .unwrap_or_else(|| panic!("no error from openssl: {err}"));
    // pid:error:code:library:function:REASON:file:line:
    line.split(':').nth(5).unwrap().to_string()
}

fn verdict(
    mode: &str,
    root: &Path,
    chain: &[pgtls_verify::CertificateDer<'_>],
) -> pgtls_verify::Verdict {
    let mut p = Params::default();
    p.sslmode = Some(mode.into());
    p.sslrootcert = Some(root.to_path_buf());
    p.host = Some("db.example.test".into());
    verify_server(
        &p,
        &Env::empty(),
        PgVersion::V15,
        chain,
        pgtls_verify::UnixTime::now(),
    )
    .unwrap()
}

#[test]
fn unusable_root_files_fail_in_every_tls_mode_with_openssls_reason() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let chain = pgtls_verify::read_chain_file(&dir.join("leaf.pem")).unwrap();
    std::fs::write(dir.join("empty.pem"), b"").unwrap();
    std::fs::write(dir.join("garbage.pem"), b"hello world\n").unwrap();
    std::fs::write(
        dir.join("badb64.pem"),
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("badder.pem"),
        b"-----BEGIN CERTIFICATE-----\nTWFu\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("notseq.pem"),
        b"-----BEGIN CERTIFICATE-----\nAgEA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("adir")).unwrap();
    for name in [
        "empty.pem",
        "garbage.pem",
        "badb64.pem",
        "badder.pem",
        "notseq.pem",
        "adir",
    ] {
        let path = dir.join(name);
        let reason = openssl_load_reason(dir, &path);
        let want = format!(
            "could not read root certificate file \"{}\": {reason}",
            path.display()
        );
        for mode in ["allow", "prefer", "require", "verify-ca", "verify-full"] {
            let v = verdict(mode, &path, &chain);
            assert!(!v.accepted(), "{name} {mode} accepted");
            assert_eq!(v.message(), Some(want.as_str()), "{name} under {mode}");
        }
    }
    // A missing file: an error only for verify-*.
    let missing = dir.join("missing.pem");
    assert!(verdict("require", &missing, &chain).accepted());
    let v = verdict("verify-ca", &missing, &chain);
    assert!(v.message().unwrap().starts_with(&format!(
        "root certificate file \"{}\" does not exist\n",
        missing.display()
    )));
}

#[test]
fn non_utf8_names_long_chains_and_broken_chains() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    // A root file whose name is not UTF-8.
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"root-\xff.pem"));
    std::fs::copy(dir.join("root.pem"), &odd).unwrap();
    let mut chain = pgtls_verify::read_chain_file(&dir.join("leaf.pem")).unwrap();
    chain.extend(pgtls_verify::read_chain_file(&dir.join("int.pem")).unwrap());
    assert!(verdict("verify-full", &odd, &chain).accepted());
    let missing_odd: PathBuf = dir.join(std::ffi::OsStr::from_bytes(b"gone-\xfe.pem"));
    assert!(!verdict("verify-ca", &missing_odd, &chain).accepted());

    // An absurdly long chain: over OpenSSL's 100 KiB certificate-list limit.
    let int = chain[1].clone();
    let mut long = chain.clone();
    long.extend(std::iter::repeat_n(int.clone(), 400));
    let v = verdict("verify-ca", &dir.join("root.pem"), &long);
    assert_eq!(v.message(), Some("SSL error: excessive message size"));
    // Long but under the limit: repeated certificates do not loop.
    let mut medium = chain.clone();
    medium.extend(std::iter::repeat_n(int, 100));
    assert!(verdict("verify-ca", &dir.join("root.pem"), &medium).accepted());

    // Broken chain input is a pgtls error, not a panic.
    assert!(pgtls_verify::read_chain_pem(b"").is_err());
    assert!(pgtls_verify::read_chain_pem(b"garbage").is_err());
    let mut p = Params::default();
    p.sslmode = Some("require".into());
    let e = verify_server(
        &p,
        &Env::empty(),
        PgVersion::V15,
        &[pgtls_verify::CertificateDer::from(
            b"\x30\x03\x02\x01\x00".to_vec(),
        )],
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(0).unwrap_or(0),
        )),
    )
    .unwrap_err();
    assert!(e.to_string().contains("could not be parsed"), "{e}");
    assert!(
        verify_server(
            &p,
            &Env::empty(),
            PgVersion::V15,
            &[],
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(0).unwrap_or(0)
            ))
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), text in ".{0,80}") {
        let _ = pgtls_verify::read_chain_pem(&data);
        let _ = pgtls_verify::certificate_subject(&data);
        let _ = pgtls_hba::inet::inet_aton(text.as_bytes());
        let _ = pgtls_verify::hostname::host_kind(&data);
        let _ = Params::parse_conninfo(&text);
        let mut p = Params::default();
        p.sslmode = Some("require".into());
        let _ = verify_server(&p, &Env::empty(), PgVersion::V15, &[pgtls_verify::CertificateDer::from(data)], pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(0).unwrap_or(0))));
    }
}
