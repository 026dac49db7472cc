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

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn auth(code: i32, rest: &[u8]) -> Vec<u8> {
    let mut b = code.to_be_bytes().to_vec();
    b.extend_from_slice(rest);
    msg(b'R', &b)
}

fn error(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (t, v) in fields {
        b.push(*t);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
    }
    b.push(0);
    msg(b'E', &b)
}

/// The startup answers are classified by the protocol's message types; the live suite
/// (pgtls-cli tests/audit_live.rs) checks the same against real servers.
#[test]
fn startup_answers_are_classified() {
    use pgtls_verify::probe::{AuthRequest, PlaintextAnswer, Severity, read_startup_answer};
    let hba =
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", no encryption";
    let cases: Vec<(Vec<u8>, PlaintextAnswer, Severity)> = vec![
        (
            error(&[
                (b'S', "FATAL"),
                (b'V', "FATAL"),
                (b'C', "28000"),
                (b'M', hba),
            ]),
            PlaintextAnswer::Refused {
                error: pgtls_verify::probe::ServerError::default(),
                by_hba: true,
                text: format!("FATAL:  {hba}"),
            },
            Severity::Info,
        ),
        (
            [
                auth(0, &[]),
                msg(b'S', b"a\0b\0"),
                msg(b'K', &[0; 8]),
                msg(b'Z', b"I"),
            ]
            .concat(),
            PlaintextAnswer::LoggedIn,
            Severity::Error,
        ),
        (
            auth(10, b"SCRAM-SHA-256\0\0"),
            PlaintextAnswer::Authentication {
                request: AuthRequest::Sasl {
                    mechanisms: vec!["SCRAM-SHA-256".into()],
                },
            },
            Severity::Error,
        ),
        (
            auth(5, &[1, 2, 3, 4]),
            PlaintextAnswer::Authentication {
                request: AuthRequest::Md5Password,
            },
            Severity::Error,
        ),
        (
            [
                auth(0, &[]),
                error(&[
                    (b'S', "FATAL"),
                    (b'C', "28000"),
                    (b'M', "role \"u\" does not exist"),
                ]),
            ]
            .concat(),
            PlaintextAnswer::AuthenticatedThenRefused {
                error: pgtls_verify::probe::ServerError::default(),
                text: "FATAL:  role \"u\" does not exist".into(),
            },
            Severity::Error,
        ),
        (
            error(&[
                (b'S', "FATAL"),
                (b'C', "53300"),
                (b'M', "sorry, too many clients already"),
            ]),
            PlaintextAnswer::Refused {
                error: pgtls_verify::probe::ServerError::default(),
                by_hba: false,
                text: "FATAL:  sorry, too many clients already".into(),
            },
            Severity::Warning,
        ),
    ];
    for (bytes, want, severity) in cases {
        let got = read_startup_answer(&mut std::io::Cursor::new(bytes)).unwrap();
        // The error fields are compared through their libpq text.
        let strip = |a: &PlaintextAnswer| {
            let mut v = serde_json::to_value(a).unwrap();
            v.as_object_mut().unwrap().remove("error");
            v
        };
        assert_eq!(strip(&got), strip(&want));
        assert_eq!(got.finding("u", "d").severity, severity, "{got:?}");
    }
    // A server that hangs up mid-answer is an I/O error, not a classification.
    assert!(read_startup_answer(&mut std::io::Cursor::new(auth(0, &[]))).is_err());
}
