//! pgtls-verify through the C ABI: what libpq decides about a server's
//! certificate chain under an sslmode.

use std::ffi::{CStr, CString, c_char};

use ::pgtls_verify::{Env, Params, Verdict, read_chain_pem, verify_server};

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
        E::NoCertificate { .. } | E::BadCertificate { .. } | E::NoServerCertificate => {
            pgtls_status::ParseCertificate
        }
        E::Invalid { .. } | E::IdentNeeded { .. } => pgtls_status::InvalidArgument,
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

/// Whether libpq would complete a TLS session; false for NULL.
///
/// # Safety
/// `verdict` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_verdict_accept(verdict: *const pgtls_verdict) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { verdict.as_ref() }.is_some_and(|v| v.verdict.accepted())
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

// ------------------------------------------------------------- host names

/// A server certificate parsed once for libpq's host-name check. Functions:
/// `pgtls_leaf_parse`, `pgtls_leaf_check_host`, `pgtls_leaf_free`.
pub struct pgtls_leaf {
    leaf: ::pgtls_verify::hostname::Leaf,
}

/// Parses a server certificate (PEM: the first certificate; or DER) for
/// host-name checks.
///
/// # Safety
/// As for `pgtls_verify_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_leaf_parse(
    input: *const u8,
    input_len: usize,
    leaf_out: *mut *mut pgtls_leaf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(leaf_out, "leaf_out")?;
        // SAFETY: per the function's contract.
        let input = unsafe { bytes(input, input_len, "input") }?;
        let mut chain =
            ::pgtls_verify::read_chain_pem_or_der(input).map_err(|e| verify_error(&e))?;
        let der = chain.swap_remove(0);
        let leaf = ::pgtls_verify::hostname::Leaf::from_der(&der).map_err(|e| verify_error(&e))?;
        out.set(Box::new(pgtls_leaf { leaf }));
        Ok(())
    })
}

/// libpq's `sslmode=verify-full` name check of `leaf` against the `host`
/// connection parameter, as PostgreSQL `pg_version`'s libpq does it:
/// `PGTLS_STATUS_OK` when a name matches, `PGTLS_STATUS_HOSTNAME_MISMATCH`
/// when none does, with libpq's message in the error object.
///
/// # Safety
/// As for `pgtls_verify_server`; `leaf` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_leaf_check_host(
    leaf: *const pgtls_leaf,
    host: *const u8,
    host_len: usize,
    pg_version: u32,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let leaf = unsafe { object(leaf, "leaf") }?;
        // SAFETY: per the function's contract.
        let host = unsafe { text(host, host_len, "host") }?;
        match leaf.leaf.check(host, version(pg_version)?) {
            ::pgtls_verify::hostname::HostCheck::Match(_) => Ok(()),
            ::pgtls_verify::hostname::HostCheck::Reject(message) => {
                Err(Error::new(pgtls_status::HostnameMismatch, message))
            }
        }
    })
}

/// Frees a leaf; NULL is a no-op.
///
/// # Safety
/// `leaf` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_leaf_free(leaf: *mut pgtls_leaf) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(leaf) });
}

// ------------------------------------------------ server-side client certs

/// What the PostgreSQL server decides about a TLS client's certificate.
/// Functions: `pgtls_verify_client`, `pgtls_client_decision_accept`,
/// `pgtls_client_decision_verdict`, `pgtls_client_decision_undecided`,
/// `pgtls_client_decision_message`, `pgtls_client_decision_log`,
/// `pgtls_client_decision_to_json`, `pgtls_client_decision_free`.
pub struct pgtls_client_decision {
    accept: bool,
    undecided: Option<CString>,
    message: Option<CString>,
    log: Option<CString>,
    json: String,
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
    ident: *const crate::hba::pgtls_ident,
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
        let mut tls = ::pgtls_verify::server::ServerTls::new(ca, version(pg_version)?);
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
            accept: d.accepted(),
            undecided: d.undecided().map(cstring),
            message: d.message().map(cstring),
            log: d.log().map(cstring),
            json,
        }));
        Ok(())
    })
}

/// Whether the server authenticates the client (for password methods: the
/// certificate part passes); false for NULL, for a refusal and for an
/// undecided verdict (tell those two apart with
/// `pgtls_client_decision_verdict`).
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_accept(
    decision: *const pgtls_client_decision,
) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.is_some_and(|d| d.accept)
    })
}

/// `"accept"`, `"reject"` (the server refuses) or `"undecided"` (pgtls
/// cannot decide the way the server would, for example a pg_ident.conf
/// regular expression it cannot evaluate faithfully: the server might accept
/// or refuse). Only `"accept"` means the server accepts; `"undecided"` is
/// never an acceptance, and `pgtls_client_decision_accept` is false for it.
/// Static; NULL for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_client_decision_verdict(
    decision: *const pgtls_client_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        match unsafe { decision.as_ref() } {
            None => std::ptr::null(),
            Some(d) if d.accept => c"accept".as_ptr(),
            Some(d) if d.undecided.is_some() => c"undecided".as_ptr(),
            Some(_) => c"reject".as_ptr(),
        }
    })
}

/// Why pgtls cannot decide (the verdict is `"undecided"`); NULL when it
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

/// `now` (seconds since the Unix epoch, as C passes it) as a time; a moment before
/// 1970 is not one libpq can be asked about.
fn unix_time(now: i64) -> Result<rustls_pki_types::UnixTime, Error> {
    let secs = u64::try_from(now).map_err(|_| {
        Error::new(
            pgtls_status::InvalidArgument,
            format!("now: {now} is before 1970"),
        )
    })?;
    Ok(rustls_pki_types::UnixTime::since_unix_epoch(
        std::time::Duration::from_secs(secs),
    ))
}
