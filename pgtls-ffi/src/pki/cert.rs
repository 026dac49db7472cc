//! Certificates: `pgtls_cert`, always owned by the caller.

use std::ffi::{CString, c_char};

use pgtls_core::Certificate;

use super::core_error;

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, bytes, cstring, object};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A parsed X.509 certificate with its fields ready for the getters.
/// Functions: `pgtls_cert_parse`, `pgtls_cert_subject`, `pgtls_cert_issuer`,
/// `pgtls_cert_serial`, `pgtls_cert_not_before`, `pgtls_cert_not_after`,
/// `pgtls_cert_is_ca`, `pgtls_cert_san_count`, `pgtls_cert_san`,
/// `pgtls_cert_to_pem`, `pgtls_cert_to_json`, `pgtls_cert_free`.
pub struct pgtls_cert {
    pub(crate) cert: Certificate,
    pub(crate) subject: CString,
    pub(crate) issuer: CString,
    pub(crate) serial: CString,
    pub(crate) sans: Vec<CString>,
}

impl pgtls_cert {
    pub(crate) fn new(cert: Certificate) -> Box<Self> {
        Box::new(Self {
            subject: cstring(cert.subject().to_string()),
            issuer: cstring(cert.issuer().to_string()),
            serial: cstring(cert.serial_hex()),
            sans: cert
                .subject_alt_names()
                .iter()
                .map(|s| cstring(s.to_string()))
                .collect(),
            cert,
        })
    }
}

/// Parses the first certificate of PEM or DER `input`.
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_parse(
    input: *const u8,
    input_len: usize,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(cert_out, "cert_out")?;
        // SAFETY: per the function's contract.
        let input = unsafe { bytes(input, input_len, "input") }?;
        let cert =
            Certificate::from_pem_or_der(input, "certificate").map_err(|e| core_error(&e))?;
        out.set(pgtls_cert::new(cert));
        Ok(())
    })
}

/// # Safety
/// `cert` is NULL or live.
unsafe fn cert_str(
    cert: *const pgtls_cert,
    field: impl Fn(&pgtls_cert) -> &CString,
) -> *const c_char {
    // SAFETY: NULL or live, per the caller.
    unsafe { cert.as_ref() }.map_or(std::ptr::null(), |c| field(c).as_ptr())
}

/// The subject in RFC 4514 form (`CN=db.example.com,O=Example`).
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_subject(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.subject)
    })
}

/// The issuer in RFC 4514 form.
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_issuer(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.issuer)
    })
}

/// The serial number in upper-case hexadecimal.
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_serial(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.serial)
    })
}

/// Start of validity, seconds since the Unix epoch; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_not_before(cert: *const pgtls_cert) -> i64 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.cert.not_before().unix_timestamp())
    })
}

/// End of validity, seconds since the Unix epoch; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_not_after(cert: *const pgtls_cert) -> i64 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.cert.not_after().unix_timestamp())
    })
}

/// Whether basic constraints say `CA:TRUE`; false when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_is_ca(cert: *const pgtls_cert) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.is_some_and(|c| c.cert.constraints().is_ca)
    })
}

/// The number of subject alternative names; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_san_count(cert: *const pgtls_cert) -> usize {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.sans.len())
    })
}

/// Subject alternative name number `index` as `DNS:name`, `IP:address`,
/// `email:...` or `URI:...`; NULL when `cert` is NULL or `index` is out of
/// range. Borrowed from `cert`.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_san(cert: *const pgtls_cert, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }
            .and_then(|c| c.sans.get(index))
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// The certificate as PEM.
///
/// # Safety
/// `cert` is NULL or live; `pem_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_to_pem(
    cert: *const pgtls_cert,
    pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let cert = unsafe { object(cert, "cert") }?;
        let out = Out::new(pem_out, "pem_out")?;
        out.set(pgtls_buf::new(cert.cert.to_pem().into_bytes()));
        Ok(())
    })
}

/// The certificate's report as a JSON object, as `pgtls inspect --json`
/// prints a certificate (the library's report, `docs/schemas/`):
/// `schema_version`, `kind` (`certificate`), `subject`, `issuer`, `serial`,
/// `version`, `not_before`, `not_after` (RFC 3339, UTC), `key_type`,
/// `key_bits`, `subject_alt_names`, `is_ca`, `path_len`, `key_usage`,
/// `extended_key_usage`, `subject_key_identifier`,
/// `authority_key_identifier`, `self_issued`, `sha256_fingerprint`,
/// `extensions`.
///
/// # Safety
/// As for `pgtls_cert_to_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_to_json(
    cert: *const pgtls_cert,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let cert = unsafe { object(cert, "cert") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(
            pgtls_core::report::to_json(&cert.cert.report()).into_bytes(),
        ));
        Ok(())
    })
}

/// Frees a certificate; NULL is a no-op.
///
/// # Safety
/// `cert` is NULL or a certificate from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_free(cert: *mut pgtls_cert) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(cert) });
}
