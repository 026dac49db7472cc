//! The C ABI's certificate accessors and CA-store entry points fed arbitrary bytes:
//! `pgtls_cert_subject`, `pgtls_cert_issuer`, `pgtls_cert_san`, `pgtls_cert_to_pem`,
//! `pgtls_cert_to_json` on any certificate that parses, and `pgtls_store_open`,
//! `pgtls_store_sign_csr`, `pgtls_store_revoke`, `pgtls_store_generate_crl` and
//! `pgtls_store_entries_json` on a scratch store of the fixture CA, with the CSR,
//! usage, names and revocation reason taken from the input. Each answer must be
//! what the header documents, computed here through the Rust API. Called from
//! `ffi_bytes`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::ptr;

use pgtls::{
    pgtls_buf, pgtls_cert, pgtls_cert_free, pgtls_cert_issuer, pgtls_cert_san,
    pgtls_cert_san_count, pgtls_cert_serial, pgtls_cert_subject, pgtls_cert_to_json,
    pgtls_cert_to_pem, pgtls_error, pgtls_status, pgtls_store, pgtls_store_entries_json,
    pgtls_store_free, pgtls_store_generate_crl, pgtls_store_open, pgtls_store_revoke,
    pgtls_store_sign_csr,
};
use pgtls_core::{
    Certificate, Crl, Csr, CsrPolicy, CsrUsage, RevocationReason, SubjectAltName, Validity,
};

use super::cabi::{buf_bytes, c_form, c_text, opt_parts, take_error};
use super::core::{NOW, fixture, now};

/// Validity of every certificate the store signs here.
const DAYS: u32 = 30;
/// Certificates a scratch store holds before it is made afresh (each change rewrites
/// the index, so an ever-growing store would slow the fuzzer down).
const STORE_LIMIT: usize = 32;

/// A certificate's accessors equal the Rust certificate's fields: subject, issuer
/// and serial as text (NULs dropped), every SAN in order and NULL past the last, the
/// PEM parsing back to the same DER, and the JSON naming the same subject, issuer,
/// serial, validity and SANs.
pub fn cert_accessors(cert: *const pgtls_cert, c: &Certificate) {
    // SAFETY: cert is live for the whole function (the caller frees it later).
    unsafe {
        assert_eq!(
            c_text(pgtls_cert_subject(cert)),
            Some(c_form(&c.subject().to_string())),
            "pgtls_cert_subject"
        );
        assert_eq!(
            c_text(pgtls_cert_issuer(cert)),
            Some(c_form(&c.issuer().to_string())),
            "pgtls_cert_issuer"
        );
        assert_eq!(c_text(pgtls_cert_serial(cert)), Some(c.serial_hex()));
        let sans = c.subject_alt_names();
        assert_eq!(pgtls_cert_san_count(cert), sans.len());
        for (i, s) in sans.iter().enumerate() {
            assert_eq!(
                c_text(pgtls_cert_san(cert, i)),
                Some(c_form(&s.to_string())),
                "pgtls_cert_san({i})"
            );
        }
        assert!(
            pgtls_cert_san(cert, sans.len()).is_null(),
            "SAN past the end"
        );
        assert!(pgtls_cert_subject(ptr::null()).is_null());
        assert!(pgtls_cert_san(ptr::null(), 0).is_null());
    }

    let mut pem: *mut pgtls_buf = ptr::null_mut();
    // SAFETY: live cert, valid out pointer.
    let st = unsafe { pgtls_cert_to_pem(cert, &mut pem, ptr::null_mut()) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_cert_to_pem");
    let back = Certificate::from_pem_or_der(&buf_bytes(pem), "pem").expect("PEM parses back");
    assert_eq!(
        back.der(),
        c.der(),
        "pgtls_cert_to_pem changed the certificate"
    );

    let mut json: *mut pgtls_buf = ptr::null_mut();
    // SAFETY: live cert, valid out pointer.
    let st = unsafe { pgtls_cert_to_json(cert, &mut json, ptr::null_mut()) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_cert_to_json");
    let v: serde_json::Value = serde_json::from_slice(&buf_bytes(json)).expect("JSON parses");
    assert_eq!(v["subject"], c.subject().to_string());
    assert_eq!(v["issuer"], c.issuer().to_string());
    assert_eq!(v["serial"], c.serial_hex());
    assert_eq!(
        v["not_before"],
        pgtls_core::report::format_time(c.not_before())
    );
    assert_eq!(
        v["not_after"],
        pgtls_core::report::format_time(c.not_after())
    );
    assert_eq!(v["is_ca"], c.constraints().is_ca);
    let want: Vec<String> = c
        .subject_alt_names()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(v["subject_alt_names"], serde_json::json!(want));

    // A NULL certificate or output is refused with an error object.
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: NULL must be refused without a read.
    let st = unsafe { pgtls_cert_to_pem(ptr::null(), &mut pem, &mut err) };
    assert_eq!(st, pgtls_status::NullArgument);
    take_error(st, err, "pgtls_cert_to_pem(NULL)");
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: a NULL output must be refused before any work.
    let st = unsafe { pgtls_cert_to_json(cert, ptr::null_mut(), &mut err) };
    assert_eq!(st, pgtls_status::NullArgument);
    take_error(st, err, "pgtls_cert_to_json(json_out NULL)");
}

/// The scratch store: its directory, the C handle and how many certificates it holds.
struct Scratch {
    dir: PathBuf,
    store: *mut pgtls_store,
    issued: usize,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: the handle came from pgtls_store_open and is freed once.
        unsafe { pgtls_store_free(self.store) };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// A fresh scratch store of the fixture CA, opened through `pgtls_store_open`.
fn new_scratch() -> Scratch {
    let dir = super::store::scratch_store("pgtls-fuzz-cstore-");
    let text = dir.to_str().expect("UTF-8 scratch path");
    let mut store: *mut pgtls_store = ptr::null_mut();
    // SAFETY: valid slices and out pointer.
    let st = unsafe {
        pgtls_store_open(
            text.as_ptr(),
            text.len(),
            ptr::null(),
            0,
            &mut store,
            ptr::null_mut(),
        )
    };
    assert_eq!(st, pgtls_status::Ok, "pgtls_store_open on a fresh store");
    Scratch {
        dir,
        store,
        issued: 0,
    }
}

/// CSR, usage, names and revocation reason.
pub type SignParts<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>, Option<&'a [u8]>);

/// The input cut into the `pgtls_store_sign_csr` and `pgtls_store_revoke` arguments:
/// the CSR is everything before the last `"\0sign:"`; after it come the usage, the
/// names and the revocation reason, separated by NUL bytes. Without the marker (or
/// for fields it leaves out) the usage is `server`, and names and reason are
/// `(NULL, 0)`.
pub fn sign_parts(data: &[u8]) -> SignParts<'_> {
    const MARK: &[u8] = b"\0sign:";
    let Some(i) = data.windows(MARK.len()).rposition(|w| w == MARK) else {
        return (data, b"server", None, None);
    };
    let mut fields = data[i + MARK.len()..].splitn(3, |b| *b == 0);
    let usage = fields.next().unwrap_or(b"server");
    (&data[..i], usage, fields.next(), fields.next())
}

/// What `pgtls_store_sign_csr` documents, through the Rust API: its arguments mapped
/// onto pgtls-core's one CSR policy (`CsrPolicy`, which decides the names and the role)
/// and signed by the fixture CA. The policy itself is the library's, so this checks the
/// C ABI against the library, not against a copy of the C ABI's own rules.
fn rust_sign(csr: &[u8], usage: &[u8], names: Option<&[u8]>) -> Result<Certificate, String> {
    let e = |e: pgtls_core::Error| e.to_string();
    let usage = match std::str::from_utf8(usage).map_err(|e| e.to_string())? {
        "server" => CsrUsage::Server,
        "client" => CsrUsage::Client,
        other => return Err(format!("usage {other:?}")),
    };
    let names = std::str::from_utf8(names.unwrap_or_default()).map_err(|e| e.to_string())?;
    let csr = Csr::from_pem_or_der(csr, "csr").map_err(e)?;
    let mut policy = CsrPolicy::new(usage, Validity::days_from(now(), DAYS));
    policy.names = names
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<SubjectAltName>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    if usage == CsrUsage::Client && !policy.names.is_empty() {
        return Err("names: a client certificate takes no names".to_owned());
    }
    policy.copy_requested_names = usage == CsrUsage::Server && policy.names.is_empty();
    fixture().ca.sign_csr(&csr, &policy, now()).map_err(e)
}

fn entries(store: *const pgtls_store) -> Vec<serde_json::Value> {
    let mut json: *mut pgtls_buf = ptr::null_mut();
    // SAFETY: live store, valid out pointer.
    let st = unsafe { pgtls_store_entries_json(store, &mut json, ptr::null_mut()) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_store_entries_json");
    let v: serde_json::Value = serde_json::from_slice(&buf_bytes(json)).expect("entries JSON");
    v.as_array().expect("entries array").clone()
}

/// `pgtls_store_sign_csr` succeeds exactly when [`rust_sign`] does, with the same
/// certificate but for the serial (subject, issuer, SANs, validity, key), recorded
/// in the index as one new valid entry; a failure has an error object, writes no
/// output and leaves the index as it was. After a signing, `pgtls_store_revoke` of
/// the new serial with the input's reason succeeds exactly when the reason is
/// `(NULL, 0)` or one OpenSSL's spelling names, a second revocation fails, and the
/// CRL that `pgtls_store_generate_crl` returns lists the serial with that reason.
pub fn store_sign(data: &[u8]) {
    let (csr, usage, names, reason) = sign_parts(data);
    let rust = rust_sign(csr, usage, names);
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.issued >= STORE_LIMIT) {
            *slot = None;
            *slot = Some(new_scratch());
        }
        let scratch = slot.as_mut().expect("scratch store");
        let store = scratch.store;
        let before = entries(store);
        let (n_ptr, n_len) = opt_parts(names);
        let mut cert: *mut pgtls_cert = ptr::null_mut();
        let mut err: *mut pgtls_error = ptr::null_mut();
        // SAFETY: live store, valid slices (or (NULL, 0)) and out pointers.
        let st = unsafe {
            pgtls_store_sign_csr(
                store,
                csr.as_ptr(),
                csr.len(),
                usage.as_ptr(),
                usage.len(),
                n_ptr,
                n_len,
                DAYS,
                NOW,
                &mut cert,
                &mut err,
            )
        };
        let got = match (&rust, st) {
            (Ok(want), pgtls_status::Ok) => {
                assert!(!cert.is_null() && err.is_null());
                scratch.issued += 1;
                let mut pem: *mut pgtls_buf = ptr::null_mut();
                // SAFETY: live cert, valid out pointer.
                let st = unsafe { pgtls_cert_to_pem(cert, &mut pem, ptr::null_mut()) };
                assert_eq!(st, pgtls_status::Ok);
                let got = Certificate::from_pem_or_der(&buf_bytes(pem), "signed").expect("PEM");
                cert_accessors(cert, &got);
                // SAFETY: freed once.
                unsafe { pgtls_cert_free(cert) };
                assert_eq!(got.subject().der(), want.subject().der(), "subject");
                assert_eq!(got.issuer().der(), want.issuer().der(), "issuer");
                assert_eq!(got.subject_alt_names(), want.subject_alt_names(), "SANs");
                assert_eq!(got.not_before(), want.not_before());
                assert_eq!(got.not_after(), want.not_after());
                assert_eq!(got.public_key(), want.public_key(), "public key");
                assert_eq!(got.constraints(), want.constraints(), "constraints");
                assert!(got.is_signed_by(fixture().ca.certificate()), "signature");
                got
            }
            (Err(_), s) if s != pgtls_status::Ok => {
                assert!(
                    cert.is_null(),
                    "pgtls_store_sign_csr: output written on failure"
                );
                take_error(s, err, "pgtls_store_sign_csr");
                assert_eq!(entries(store), before, "a failed signing changed the index");
                return;
            }
            (r, s) => panic!(
                "pgtls_store_sign_csr {s:?} but the Rust API {:?}",
                r.as_ref().map(|_| ())
            ),
        };
        let after = entries(store);
        assert_eq!(after.len(), before.len() + 1, "one new index entry");
        let serial = got.serial_hex();
        let entry = after
            .iter()
            .find(|e| e["serial"] == serial.as_str())
            .expect("the new serial is in the index");
        assert_eq!(entry["status"], "valid");
        revoke(store, &serial, reason);
    });
}

fn revoke(store: *mut pgtls_store, serial: &str, reason: Option<&[u8]>) {
    let want = match reason {
        None => Ok(None),
        Some(r) => std::str::from_utf8(r)
            .map_err(|e| e.to_string())
            .and_then(|r| r.parse::<RevocationReason>().map_err(|e| e.to_string()))
            .map(Some),
    };
    let (r_ptr, r_len) = opt_parts(reason);
    let call = || {
        let mut err: *mut pgtls_error = ptr::null_mut();
        // SAFETY: live store, valid slices (or (NULL, 0)) and out pointer.
        let st = unsafe {
            pgtls_store_revoke(
                store,
                serial.as_ptr(),
                serial.len(),
                r_ptr,
                r_len,
                NOW,
                &mut err,
            )
        };
        (st, err)
    };
    let before = entries(store);
    let (st, err) = call();
    let want = match (want, st) {
        (Ok(w), pgtls_status::Ok) => w,
        (Err(_), s) if s != pgtls_status::Ok => {
            take_error(s, err, "pgtls_store_revoke");
            assert_eq!(
                entries(store),
                before,
                "a failed revocation changed the index"
            );
            return;
        }
        (w, s) => panic!("pgtls_store_revoke {s:?} but the reason parses as {w:?}"),
    };
    let (st, err) = call();
    assert_ne!(st, pgtls_status::Ok, "a second revocation succeeded");
    take_error(st, err, "pgtls_store_revoke (again)");

    let mut pem: *mut pgtls_buf = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: live store, valid out pointers.
    let st = unsafe { pgtls_store_generate_crl(store, NOW + 86_400, NOW, &mut pem, &mut err) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_store_generate_crl");
    let crl = Crl::from_pem_or_der(&buf_bytes(pem), "crl").expect("the CRL parses");
    assert!(
        crl.is_signed_by(fixture().ca.certificate()),
        "CRL signature"
    );
    let listed = crl
        .entries()
        .iter()
        .find(|e| e.serial.to_hex() == serial)
        .expect("the revoked serial is on the CRL");
    // As `openssl ca`, the CRL leaves out the reason code `unspecified` (RFC 5280:
    // SHOULD be absent).
    let want = want.filter(|r| *r != RevocationReason::Unspecified);
    assert_eq!(listed.reason, want, "reason on the CRL");
}
