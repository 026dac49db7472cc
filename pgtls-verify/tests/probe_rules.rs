//! `probe::evaluate_modes` decides with `verify_server_handshake`'s rules: a direct-TLS
//! capture is judged with `sslnegotiation=direct`, a CertificateRequest with `sslcertmode`.
//!
//! Expected texts: psql of libpq 17.11 and 18.6 (`sslnegotiation=direct sslmode=prefer`,
//! and `allow`, `disable`) print `weak sslmode "prefer" may not be used with
//! sslnegotiation=direct (use "require", "verify-ca", or "verify-full")` before
//! connecting; libpq 16.15 refuses the option (`invalid connection option
//! "sslnegotiation"`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pgtls_verify::probe::{Capture, evaluate_modes};
use pgtls_verify::{
    Env, Params, PgVersion, ServerHandshake, SslMode, client_cert, verify_server_handshake,
};

fn now() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_secs()).unwrap()
}

fn capture(dir: &std::path::Path, direct: bool) -> Capture {
    let mut pem = std::fs::read(dir.join("leaf.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("int.pem")).unwrap());
    let mut c = Capture::default();
    c.chain = pgtls_verify::read_chain_pem(&pem).unwrap();
    c.direct = direct;
    c
}

#[test]
fn direct_tls_refuses_weak_modes_as_libpq_17_does() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let mut base = Params::default();
    base.host = Some("db.example.test".into());
    base.sslrootcert = Some(dir.join("root.pem"));
    let env = Env::empty();
    let mut rows = 0;
    for version in [
        PgVersion::V15,
        PgVersion::V16,
        PgVersion::V17,
        PgVersion::V18,
    ] {
        for direct in [false, true] {
            let cap = capture(dir, direct);
            let modes = evaluate_modes(
                &cap,
                &base,
                &env,
                version,
                pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                    u64::try_from(now()).unwrap_or(0),
                )),
            )
            .unwrap();
            assert_eq!(
                modes.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
                SslMode::ALL.to_vec()
            );
            for (mode, v) in &modes {
                rows += 1;
                let want: Option<String> = match (direct, version >= PgVersion::V17, mode) {
                    (true, false, _) => Some("invalid connection option \"sslnegotiation\"".into()),
                    (true, true, SslMode::Disable | SslMode::Allow | SslMode::Prefer) => {
                        Some(format!(
                            "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
                        ))
                    }
                    (_, _, SslMode::Disable) => Some(pgtls_verify::DISABLE_MESSAGE.into()),
                    _ => None,
                };
                assert_eq!(
                    v.message(),
                    want.as_deref(),
                    "{version} direct={direct} {mode}"
                );
                if direct && want.is_some() {
                    // Refused before connecting: no TLS, no plaintext.
                    assert!(
                        !v.tls && !v.plaintext_fallback,
                        "{version} direct={direct} {mode}: {v:?}"
                    );
                }
                // One code path: the same verdict as verify server with these parameters.
                let mut p = base.clone();
                p.sslmode = Some(mode.as_str().into());
                if direct {
                    p.sslnegotiation = Some("direct".into());
                }
                let same = verify_server_handshake(
                    &p,
                    &env,
                    version,
                    &cap.chain,
                    ServerHandshake::new(),
                    pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                        u64::try_from(now()).unwrap_or(0),
                    )),
                )
                .unwrap();
                assert_eq!(
                    same.message(),
                    v.message(),
                    "{version} direct={direct} {mode}"
                );
                assert_eq!(same.accepted(), v.accepted());
            }
        }
    }
    assert_eq!(rows, 4 * 2 * 6);
}

#[test]
fn a_certificate_request_in_the_capture_counts_for_sslcertmode() {
    let tmp = common::fixtures();
    let dir = tmp.path();
    let mut base = Params::default();
    base.host = Some("db.example.test".into());
    base.sslcertmode = Some("require".into());
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = Env::empty().with_var("HOME", home.to_str().unwrap());
    let mut cap = capture(dir, false);
    let modes = evaluate_modes(
        &cap,
        &base,
        &env,
        PgVersion::V17,
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now()).unwrap_or(0),
        )),
    )
    .unwrap();
    let require = |m: &[(SslMode, pgtls_verify::Verdict)]| {
        m.iter()
            .find(|(x, _)| *x == SslMode::Require)
            .map(|(_, v)| v.message().map(str::to_owned))
            .unwrap()
    };
    assert_eq!(
        require(&modes).as_deref(),
        Some(client_cert::NOT_REQUESTED_MESSAGE)
    );
    cap.client_ca_names = Some(Vec::new());
    let modes = evaluate_modes(
        &cap,
        &base,
        &env,
        PgVersion::V17,
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now()).unwrap_or(0),
        )),
    )
    .unwrap();
    assert_eq!(
        require(&modes).as_deref(),
        Some(client_cert::NOT_SENT_MESSAGE)
    );
}
