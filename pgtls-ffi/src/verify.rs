//! pgtls-verify through the C ABI: what libpq decides about a server's
//! certificate chain under an sslmode.

use std::ffi::{CStr, CString, c_char};

use ::pgtls_verify::{Env, Params, Verdict, read_chain_pem, verify_server};
use serde_json::{Value, json};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::hba::{cstring, version};
use crate::input::{Out, bytes, object, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

fn verify_error(e: &::pgtls_verify::Error) -> Error {
    use ::pgtls_verify::Error as E;
    let status = match e {
        E::Read { .. } => pgtls_status::Io,
        E::Pem { .. } => pgtls_status::ParsePem,
        E::NoCertificate { .. } | E::BadCertificate { .. } => pgtls_status::ParseCertificate,
        E::Invalid { .. } => pgtls_status::InvalidArgument,
        _ => pgtls_status::Internal,
    };
    Error::from_std(status, e)
}

/// libpq's verdict on a server certificate chain. Functions:
/// `pgtls_verdict_accept`, `pgtls_verdict_tls`, `pgtls_verdict_message`,
/// `pgtls_verdict_reason`, `pgtls_verdict_reason_code`,
/// `pgtls_verdict_plaintext_fallback`, `pgtls_verdict_to_json`,
/// `pgtls_verdict_free`.
pub struct pgtls_verdict {
    verdict: Verdict,
    message: Option<CString>,
    reason: Option<CString>,
    reason_code: u32,
}

fn verdict_json(v: &Verdict) -> Value {
    json!({
        "verdict": if v.accept { "accept" } else { "reject" },
        "message": v.message,
        "tls": v.tls,
        "plaintext_fallback": v.plaintext_fallback,
        "checks": v.checks.iter().map(|c| json!({
            "name": c.name,
            "passed": c.passed,
            "detail": c.detail,
            "reason": c.reason.map(|r| r.text()),
            "reason_code": c.reason.map(|r| r.code()),
            "depth": c.depth,
            "subject": c.subject,
        })).collect::<Vec<_>>(),
    })
}

/// What libpq would decide when a server presents `chain_pem` (PEM
/// certificates, leaf first, as the server sends them) for a connection
/// described by `conninfo` (libpq keywords or a `postgresql://` URI:
/// `sslmode`, `host`, `hostaddr`, `sslrootcert`, `sslcrl`, `sslcrldir`,
/// `sslsni`, ...; files named there are read) under PostgreSQL `pg_version`'s
/// libpq at `now` (Unix seconds). The process environment (`PGSSLMODE`, ...)
/// and `~/.postgresql` are not consulted: put everything in `conninfo`.
///
/// A refusal is a successful call whose verdict does not accept; the call
/// fails only for input pgtls cannot evaluate.
///
/// # Safety
/// Inputs are `(ptr, len)` pairs as described in the header; pointers to
/// outputs are NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verify_server(
    conninfo: *const u8,
    conninfo_len: usize,
    chain_pem: *const u8,
    chain_pem_len: usize,
    pg_version: u32,
    now: i64,
    verdict_out: *mut *mut pgtls_verdict,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(verdict_out, "verdict_out")?;
        // SAFETY: per the function's contract.
        let conninfo = unsafe { text(conninfo, conninfo_len, "conninfo") }?;
        // SAFETY: per the function's contract.
        let chain = unsafe { bytes(chain_pem, chain_pem_len, "chain_pem") }?;
        let version = version(pg_version)?;
        let params = Params::parse_conninfo(conninfo)
            .map_err(|e| Error::from_std(pgtls_status::ParseValue, &e))?;
        let chain = read_chain_pem(chain).map_err(|e| verify_error(&e))?;
        let v = verify_server(&params, &Env::empty(), version, &chain, now)
            .map_err(|e| verify_error(&e))?;
        let hidden = v.hidden_reason().and_then(|c| c.reason);
        out.set(Box::new(pgtls_verdict {
            message: v.message.clone().map(cstring),
            reason: hidden.map(|r| cstring(r.text())),
            reason_code: hidden.map_or(0, |r| r.code()),
            verdict: v,
        }));
        Ok(())
    })
}

/// Whether libpq would complete a TLS session; false for NULL.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_accept(verdict: *const pgtls_verdict) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }.is_some_and(|v| v.verdict.accept)
    })
}

/// Whether libpq would use TLS at all with these settings; false for NULL.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_tls(verdict: *const pgtls_verdict) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }.is_some_and(|v| v.verdict.tls)
    })
}

/// For sslmode `allow`/`prefer`: whether libpq would fall back to plaintext
/// after the refused TLS attempt; false for NULL.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_plaintext_fallback(verdict: *const pgtls_verdict) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }.is_some_and(|v| v.verdict.plaintext_fallback)
    })
}

/// libpq's message for a refusal (as `PQerrorMessage` shows it after the
/// `connection to server ... failed: ` prefix); NULL when accepted or for
/// NULL. Borrowed from `verdict`.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_message(verdict: *const pgtls_verdict) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }
            .and_then(|v| v.message.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

/// The reason OpenSSL hides behind `certificate verify failed` (its
/// `X509_verify_cert_error_string` text, such as `certificate has expired`);
/// NULL when the refusal was not a chain failure. Borrowed.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_reason(verdict: *const pgtls_verdict) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }
            .and_then(|v| v.reason.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

/// OpenSSL's `X509_V_ERR_*` number of the hidden reason; 0 when there is none.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_reason_code(verdict: *const pgtls_verdict) -> u32 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }.map_or(0, |v| v.reason_code)
    })
}

/// The verdict as JSON, as `pgtls verify server --json` prints it:
/// `{"verdict": "accept"|"reject", "message", "tls", "plaintext_fallback",
/// "checks": [{"name", "passed", "detail", "reason", "reason_code", "depth",
/// "subject"}]}`.
///
/// # Safety
/// `verdict` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_to_json(
    verdict: *const pgtls_verdict,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let v = unsafe { object(verdict, "verdict") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(
            verdict_json(&v.verdict).to_string().into_bytes(),
        ));
        Ok(())
    })
}

/// Frees a verdict; NULL is a no-op.
///
/// # Safety
/// `verdict` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_free(verdict: *mut pgtls_verdict) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(verdict) });
}
