//! The C ABI fed arbitrary bytes: every answer must be the Rust API's answer.

use std::ffi::CStr;
use std::ptr;

use super::cabi::{buf_bytes, c_form, c_text, take_error};

use pgtls_ffi::{
    pgtls_buf, pgtls_cert, pgtls_cert_free, pgtls_cert_is_ca, pgtls_cert_not_after,
    pgtls_cert_not_before, pgtls_cert_parse, pgtls_cert_san_count, pgtls_cert_serial, pgtls_error,
    pgtls_inspect_json, pgtls_key, pgtls_key_free, pgtls_key_parse, pgtls_status,
};

/// Arbitrary bytes through `pgtls_cert_parse` (and every accessor), `pgtls_key_parse`,
/// `pgtls_inspect_json`, `pgtls_ca_load` and the store's signing, revocation and CRL
/// entry points: success exactly when the Rust API succeeds, the same field values,
/// an error object with the status on failure, and `(NULL, n > 0)` refused as a NULL
/// argument.
pub fn ffi_bytes(data: &[u8]) {
    // --- certificates
    let rust = pgtls_core::Certificate::from_pem_or_der(data, "certificate");
    let mut cert: *mut pgtls_cert = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: (data, len) is a valid slice; out pointers are valid.
    let st = unsafe { pgtls_cert_parse(data.as_ptr(), data.len(), &mut cert, &mut err) };
    match (&rust, st) {
        (Ok(c), pgtls_status::Ok) => {
            assert!(!cert.is_null() && err.is_null());
            // SAFETY: cert is live until freed below.
            unsafe {
                let serial = CStr::from_ptr(pgtls_cert_serial(cert))
                    .to_string_lossy()
                    .into_owned();
                assert_eq!(serial, c.serial_hex());
                assert_eq!(pgtls_cert_not_after(cert), c.not_after().unix_timestamp());
                assert_eq!(pgtls_cert_not_before(cert), c.not_before().unix_timestamp());
                assert_eq!(pgtls_cert_is_ca(cert), c.constraints().is_ca);
                assert_eq!(pgtls_cert_san_count(cert), c.subject_alt_names().len());
                super::ffi_store::cert_accessors(cert, c);
                pgtls_cert_free(cert);
            }
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(cert.is_null(), "output written on failure");
            take_error(s, err, "ffi_bytes");
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- private keys
    let rust = pgtls_core::KeyPair::from_pem_or_der(data, None, "key");
    let mut key: *mut pgtls_key = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: as above; (NULL, 0) is "no passphrase".
    let st = unsafe {
        pgtls_key_parse(
            data.as_ptr(),
            data.len(),
            ptr::null(),
            0,
            &mut key,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(_), pgtls_status::Ok) => {
            assert!(!key.is_null() && err.is_null());
            // SAFETY: freed once.
            unsafe { pgtls_key_free(key) };
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(key.is_null(), "output written on failure");
            take_error(s, err, "ffi_bytes");
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- inspect
    let rust = pgtls_core::inspect(data, None, "input");
    let mut json: *mut pgtls_buf = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: as above.
    let st = unsafe {
        pgtls_inspect_json(
            data.as_ptr(),
            data.len(),
            ptr::null(),
            0,
            &mut json,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(items), pgtls_status::Ok) => {
            assert!(!json.is_null() && err.is_null());
            let text = buf_bytes(json);
            let v: serde_json::Value = serde_json::from_slice(&text).expect("inspect JSON parses");
            assert_eq!(
                v.as_array().map(Vec::len),
                Some(items.len()),
                "item count differs"
            );
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(json.is_null(), "output written on failure");
            take_error(s, err, "ffi_bytes");
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- (NULL, n > 0) is a NULL argument, never a read.
    if !data.is_empty() {
        let mut cert: *mut pgtls_cert = ptr::null_mut();
        let mut err: *mut pgtls_error = ptr::null_mut();
        // SAFETY: the library must not dereference NULL.
        let st = unsafe { pgtls_cert_parse(ptr::null(), data.len(), &mut cert, &mut err) };
        assert_eq!(st, pgtls_status::NullArgument);
        assert!(cert.is_null());
        take_error(st, err, "ffi_bytes");
    }

    // --- pgtls_ca_load (certificate, key and passphrase cut from the bytes)
    super::ffi_extra::ca_load(data);

    // --- pgtls_store_sign_csr, _revoke, _generate_crl (CSR, usage, names, reason
    // cut from the bytes)
    super::ffi_store::store_sign(data);
}

/// Verdicts through the C ABI equal the Rust API's:
/// * `pgtls_verify_server` (conninfo with the fixture root, every sslmode, any
///   PostgreSQL version, a fuzzer chain optionally behind a fixture-issued leaf)
///   vs `pgtls_verify::verify_server`: status, accept, tls, plaintext fallback and
///   message;
/// * `pgtls_hba_parse` + the request builder and `pgtls_hba_evaluate_request`
///   (generated rules and connection) vs `pgtls_hba::evaluate`: outcome, line,
///   method and message.
pub fn ffi_verdict(data: &[u8]) {
    use ::pgtls_hba::{HbaFile, Outcome, Replication, ServerSettings};
    use pgtls_ffi::{
        PGTLS_HBA_REQUEST_GSS, PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
        PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL, PGTLS_HBA_REQUEST_TLS, pgtls_hba as CHba,
        pgtls_hba_decision_free, pgtls_hba_decision_line, pgtls_hba_decision_message,
        pgtls_hba_decision_method, pgtls_hba_decision_outcome, pgtls_hba_free, pgtls_hba_parse,
        pgtls_verdict, pgtls_verdict_free, pgtls_verdict_message, pgtls_verdict_outcome,
        pgtls_verdict_plaintext_fallback, pgtls_verdict_tls, pgtls_verify_server,
    };

    use super::core::{NOW, fixture, now};
    use super::input::Reader;

    let mut r = Reader::new(data);
    let f = fixture();

    // ---- libpq verdicts
    let major = 12 + u32::from(r.u8() % 7);
    let version = pgtls_verify::PgVersion::new(major).expect("modelled version");
    let mode = r.pick(&[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ]);
    let host = r.pick(&["db.example.test", "127.0.0.1", "other.test"]);
    let crl = r.bool();
    let lead = r.bool();
    let mut chain_pem = r.bytes(255).to_vec();
    if lead {
        let params = pgtls_core::CertificateParams::server(
            &[pgtls_core::SubjectAltName::Dns(
                "db.example.test".to_owned(),
            )],
            None,
            pgtls_core::Validity::days_from(now(), 30),
        )
        .expect("params");
        let leaf =
            f.ca.issue(&params, &f.leaf_key.public_key(), now())
                .expect("leaf");
        let mut v = leaf.to_pem().into_bytes();
        v.extend_from_slice(&chain_pem);
        chain_pem = v;
    }
    let mut conninfo = format!(
        "host={host} sslmode={mode} sslrootcert='{}'",
        f.root.display()
    );
    if crl {
        conninfo.push_str(&format!(" sslcrl='{}'", f.crl.display()));
    }
    let rust = pgtls_verify::Params::parse_conninfo(&conninfo)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            let chain = pgtls_verify::read_chain_pem(&chain_pem).map_err(|e| e.to_string())?;
            pgtls_verify::verify_server(
                &p,
                &pgtls_verify::Env::empty(),
                version,
                &chain,
                pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                    u64::try_from(NOW).unwrap_or(0),
                )),
            )
            .map_err(|e| e.to_string())
        });
    let mut verdict: *mut pgtls_verdict = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: valid slices and out pointers.
    let st = unsafe {
        pgtls_verify_server(
            conninfo.as_ptr(),
            conninfo.len(),
            chain_pem.as_ptr(),
            chain_pem.len(),
            major,
            NOW,
            &mut verdict,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(v), pgtls_status::Ok) => {
            // SAFETY: verdict is live until freed.
            unsafe {
                assert_eq!(
                    pgtls_verdict_outcome(verdict) == pgtls_ffi::pgtls_chain_outcome::Accept,
                    v.accepted(),
                    "accept differs"
                );
                assert_ne!(
                    pgtls_verdict_outcome(verdict),
                    pgtls_ffi::pgtls_chain_outcome::Invalid
                );
                assert_eq!(pgtls_verdict_tls(verdict), v.tls, "tls differs");
                assert_eq!(
                    pgtls_verdict_plaintext_fallback(verdict),
                    v.plaintext_fallback
                );
                assert_eq!(
                    c_text(pgtls_verdict_message(verdict)),
                    v.message().map(c_form),
                    "message differs"
                );
                pgtls_verdict_free(verdict);
            }
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(verdict.is_null(), "output written on failure");
            take_error(s, err, "ffi_bytes");
        }
        (r, s) => panic!("pgtls_verify_server {s:?} but the Rust API {r:?} ({conninfo})"),
    }

    // ---- pg_hba.conf decisions
    let settings = ServerSettings::new(
        ::pgtls_hba::PgVersion::new(major).expect("modelled version"),
        r.bool(),
    );
    let n = 1 + r.below(6);
    let text: String = (0..n)
        .map(|_| super::hba::rule_line(&mut r) + "\n")
        .collect();
    let req = super::hba::request(&mut r);
    let file = HbaFile::parse(
        "pg_hba.conf",
        text.as_bytes(),
        settings.clone(),
        &::pgtls_hba::NoSource,
    );
    let d = ::pgtls_hba::evaluate(&file, &req);
    let mut hba: *mut CHba = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: valid slice and out pointers.
    let st = unsafe {
        pgtls_hba_parse(
            text.as_ptr(),
            text.len(),
            major,
            settings.ssl,
            &mut hba,
            &mut err,
        )
    };
    assert_eq!(
        st,
        pgtls_status::Ok,
        "pgtls_hba_parse failed on text the Rust parser models"
    );
    let mut flags = 0;
    if req.tls {
        flags |= PGTLS_HBA_REQUEST_TLS;
    }
    if req.gss {
        flags |= PGTLS_HBA_REQUEST_GSS;
    }
    flags |= match req.replication {
        Replication::Physical => PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL,
        Replication::Logical => PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
        _ => 0,
    };
    // The C ABI has no client host name or server addresses: compare only requests
    // that do not depend on them.
    let text_has_names =
        text.contains("samehost") || text.contains("samenet") || text.contains(".example.test");
    // SAFETY: hba is live.
    let (st, dec) = unsafe { super::cabi::evaluate_builder(hba, &req, flags) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_hba_evaluate_request failed");
    if !text_has_names {
        let want = match &d.outcome {
            Outcome::Matched { .. } if d.proceeds() => "match",
            Outcome::Matched { .. } => "reject",
            Outcome::NoMatch => "no-match",
            Outcome::NotLoaded { .. } => "not-loaded",
            _ => "undecided",
        };
        // SAFETY: dec is live until freed.
        unsafe {
            assert_eq!(
                super::cabi::hba_word(pgtls_hba_decision_outcome(dec)),
                want,
                "{text}{req:?}"
            );
            assert_eq!(pgtls_hba_decision_line(dec), d.line_number().unwrap_or(0));
            assert_eq!(
                c_text(pgtls_hba_decision_method(dec)),
                d.method().map(|m| m.as_str().to_owned())
            );
            if matches!(d.outcome, Outcome::Matched { .. } | Outcome::NoMatch) {
                assert_eq!(
                    c_text(pgtls_hba_decision_message(dec)),
                    d.message.as_deref().map(c_form)
                );
            }
        }
    }
    // SAFETY: freed once.
    unsafe { pgtls_hba_decision_free(dec) };

    // ---- the entry points added later, on the bytes left (older corpus files
    // end before this and read zeros here)
    super::ffi_extra::verdict_tail(&mut r, major, &text, &file, hba, &req);
    // SAFETY: freed once.
    unsafe { pgtls_hba_free(hba) };
}
