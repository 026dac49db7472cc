//! The server's decision on a client certificate: `pgtls_client_decision`.

use std::ffi::{CStr, CString, c_char};

use ::pgtls_verify::read_chain_pem;

use super::{unix_time, verify_error};
use crate::hba::pgtls_ident;

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, bytes, cstring, major_version, object, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// What the PostgreSQL server decides about a TLS client's certificate.
/// Functions: `pgtls_verify_client`, `pgtls_client_decision_outcome`,
/// `pgtls_client_decision_undecided`,
/// `pgtls_client_decision_message`, `pgtls_client_decision_log`,
/// `pgtls_client_decision_to_json`, `pgtls_client_decision_free`.
pub struct pgtls_client_decision {
    pub(crate) outcome: pgtls_client_outcome,
    pub(crate) undecided: Option<CString>,
    pub(crate) message: Option<CString>,
    pub(crate) log: Option<CString>,
    pub(crate) json: String,
}

/// What the server decides for a TLS client presenting `client_chain_pem`
/// (PEM, leaf first; `(NULL, 0)`: no certificate) and asking to log in as
/// `user`, when `hba_line` is the pg_hba.conf line the connection matches;
/// the server's `ssl_ca_file` and optional `ssl_crl_file` (`(NULL, 0)`:
/// none) are paths; `ident` is the server's pg_ident.conf, NULL only when
/// the line has no `map=` (with `map=`, NULL is `PGTLS_STATUS_INVALID_ARGUMENT`:
/// the server always reads its file; pass an empty one for none).
///
/// # Safety
/// As for `pgtls_verify_server`; `ident` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verify_client(
    hba_line: *const u8,
    hba_line_len: usize,
    ssl_ca_file: *const u8,
    ssl_ca_file_len: usize,
    ssl_crl_file: *const u8,
    ssl_crl_file_len: usize,
    ident: *const pgtls_ident,
    user: *const u8,
    user_len: usize,
    client_chain_pem: *const u8,
    client_chain_pem_len: usize,
    pg_version: u32,
    now: i64,
    decision_out: *mut *mut pgtls_client_decision,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(decision_out, "decision_out")?;
        // SAFETY: per the function's contract.
        let line = unsafe { text(hba_line, hba_line_len, "hba_line") }?;
        // SAFETY: per the function's contract.
        let ca = unsafe { text(ssl_ca_file, ssl_ca_file_len, "ssl_ca_file") }?;
        // SAFETY: per the function's contract.
        let crl =
            unsafe { crate::input::opt_text(ssl_crl_file, ssl_crl_file_len, "ssl_crl_file") }?;
        // SAFETY: NULL or live, per the contract.
        let ident = unsafe { ident.as_ref() }.map(|i| &i.file);
        // SAFETY: per the function's contract.
        let user = unsafe { text(user, user_len, "user") }?;
        // SAFETY: per the function's contract.
        let chain = unsafe { bytes(client_chain_pem, client_chain_pem_len, "client_chain_pem") }?;
        let mut tls = ::pgtls_verify::server::ServerTls::new(ca, major_version(pg_version)?);
        tls.ssl_crl_file = crl.map(Into::into);
        let chain = if chain.is_empty() {
            None
        } else {
            Some(read_chain_pem(chain).map_err(|e| verify_error(&e))?)
        };
        let d = ::pgtls_verify::server::decide_client(
            &tls,
            line,
            ident,
            user,
            chain.as_deref(),
            unix_time(now)?,
        )
        .map_err(|e| verify_error(&e))?;
        let json = d.to_json();
        out.set(Box::new(pgtls_client_decision {
            // Never an acceptance pgtls cannot prove.
            outcome: match &d.outcome {
                ::pgtls_verify::server::ServerOutcome::Accept => pgtls_client_outcome::Accept,
                ::pgtls_verify::server::ServerOutcome::Reject { .. } => {
                    pgtls_client_outcome::Reject
                }
                _ => pgtls_client_outcome::Undecided,
            },
            undecided: d.undecided().map(cstring),
            message: d.message().map(cstring),
            log: d.log().map(cstring),
            json,
        }));
        Ok(())
    })
}

/// What the server decides about a client's certificate
/// (`pgtls_client_decision_outcome`). The values are stable: never
/// renumbered, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum pgtls_client_outcome {
    /// No decision to read: the handle was NULL (a caller bug). Never an
    /// acceptance.
    Invalid = 0,
    /// The server authenticates the client (for password methods: the
    /// certificate part passes).
    Accept = 1,
    /// The server refuses (see `pgtls_client_decision_message`).
    Reject = 2,
    /// pgtls cannot decide the way the server would (for example a
    /// pg_ident.conf regular expression it cannot evaluate faithfully): the
    /// server might accept or refuse. Never an acceptance; see
    /// `pgtls_client_decision_undecided`.
    Undecided = 3,
}

/// The server's decision: `PGTLS_CLIENT_OUTCOME_ACCEPT`, `_REJECT` or
/// `_UNDECIDED`; `PGTLS_CLIENT_OUTCOME_INVALID` for NULL. Only `_ACCEPT`
/// means the server accepts.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_outcome(
    decision: *const pgtls_client_decision,
) -> pgtls_client_outcome {
    boundary(pgtls_client_outcome::Invalid, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(pgtls_client_outcome::Invalid, |d| d.outcome)
    })
}

/// Why pgtls cannot decide (the outcome is `PGTLS_CLIENT_OUTCOME_UNDECIDED`); NULL when it
/// decided (accept or reject) or for NULL. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_undecided(
    decision: *const pgtls_client_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }
            .and_then(|d| d.undecided.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

/// For a refusal: what the client sees (`FATAL:  ...` or the TLS alert as
/// libpq prints it); for an undecided verdict, pgtls's explanation (`pgtls
/// cannot decide ...`); NULL when accepted or for NULL. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_message(
    decision: *const pgtls_client_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }
            .and_then(|d| d.message.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

/// What the server logs when it says more than the client sees; NULL
/// otherwise. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_log(
    decision: *const pgtls_client_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }
            .and_then(|d| d.log.as_deref())
            .map_or(std::ptr::null(), CStr::as_ptr)
    })
}

/// The decision as JSON, as `pgtls verify client --json` prints it (the
/// library's report, `docs/schemas/`): `{"schema_version", "verdict",
/// "message", "log", "undecided", "peer_cn", "peer_dn", "checks"}`.
/// `"verdict"` is `"accept"`, `"reject"` or `"undecided"` (schema version 1;
/// pgtls 0.1.0 said `"reject"` for an undecided case); `"undecided"` is the
/// reason string when pgtls cannot decide, null otherwise.
///
/// # Safety
/// `decision` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_to_json(
    decision: *const pgtls_client_decision,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let d = unsafe { object(decision, "decision") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(d.json.clone().into_bytes()));
        Ok(())
    })
}

/// Frees a client decision; NULL is a no-op.
///
/// # Safety
/// `decision` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_free(decision: *mut pgtls_client_decision) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(decision) });
}
