//! libpq's verdict on a server's chain: `pgtls_verdict`.

use std::ffi::{CStr, CString, c_char};

use ::pgtls_verify::{Env, Params, Verdict, read_chain_pem, verify_server};

use super::{unix_time, verify_error};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, cstring, major_version, object, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// libpq's verdict on a server certificate chain. Functions:
/// `pgtls_verdict_outcome`, `pgtls_verdict_tls`, `pgtls_verdict_message`,
/// `pgtls_verdict_reason`, `pgtls_verdict_reason_code`,
/// `pgtls_verdict_plaintext_fallback`, `pgtls_verdict_to_json`,
/// `pgtls_verdict_free`.
pub struct pgtls_verdict {
    pub(crate) verdict: Verdict,
    pub(crate) message: Option<CString>,
    pub(crate) reason: Option<CString>,
    pub(crate) reason_code: u32,
}

/// What libpq would decide when a server presents `chain_pem` (PEM
/// certificates, leaf first, as the server sends them) for a connection
/// described by `conninfo` (libpq keywords or a `postgresql://` URI:
/// `sslmode`, `host`, `hostaddr`, `sslrootcert`, `sslcrl`, `sslcrldir`,
/// `sslsni`, ...; files named there are read) under PostgreSQL `pg_version`'s
/// libpq at `now` (Unix seconds). The process environment (`PGSSLMODE`, ...)
/// and `~/.postgresql` are not consulted: put everything in `conninfo`.
///
/// A refusal is a verdict (`PGTLS_CHAIN_OUTCOME_REJECT`) of a successful
/// call; the call fails only for input pgtls cannot evaluate.
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
        let version = major_version(pg_version)?;
        let params = Params::parse_conninfo(conninfo)
            .map_err(|e| Error::from_std(pgtls_status::ParseValue, &e))?;
        let chain = read_chain_pem(chain).map_err(|e| verify_error(&e))?;
        let v = verify_server(&params, &Env::empty(), version, &chain, unix_time(now)?)
            .map_err(|e| verify_error(&e))?;
        let hidden = v.hidden_reason().and_then(|c| c.reason);
        out.set(Box::new(pgtls_verdict {
            message: v.message().map(cstring),
            reason: hidden.map(|r| cstring(r.text())),
            reason_code: hidden.map_or(0, |r| r.code()),
            verdict: v,
        }));
        Ok(())
    })
}

/// libpq's answer on a server's certificate chain (`pgtls_verdict_outcome`).
/// The values are stable: never renumbered, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum pgtls_chain_outcome {
    /// No verdict to read: the handle was NULL (a caller bug). Never an
    /// acceptance.
    Invalid = 0,
    /// libpq would complete the TLS session.
    Accept = 1,
    /// libpq refuses (see `pgtls_verdict_message`).
    Reject = 2,
}

/// libpq's answer: `PGTLS_CHAIN_OUTCOME_ACCEPT` or `_REJECT`;
/// `PGTLS_CHAIN_OUTCOME_INVALID` for NULL.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_outcome(
    verdict: *const pgtls_verdict,
) -> pgtls_chain_outcome {
    boundary(pgtls_chain_outcome::Invalid, || {
        // SAFETY: NULL or live, per the contract.
        match unsafe { verdict.as_ref() }.map(|v| &v.verdict.outcome) {
            None => pgtls_chain_outcome::Invalid,
            Some(::pgtls_verify::ClientOutcome::Accept) => pgtls_chain_outcome::Accept,
            Some(_) => pgtls_chain_outcome::Reject,
        }
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
/// `{"schema_version", "verdict": "accept"|"reject", "message", "tls",
/// "plaintext_fallback", "client_cert_sent", "checks": [{"name", "passed",
/// "detail", "reason", "reason_code", "depth", "subject"}]}`, as `pgtls verify
/// server --json` prints it (the library's report, `docs/schemas/`).
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
        out.set(pgtls_buf::new(v.verdict.to_json().into_bytes()));
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
