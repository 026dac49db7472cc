//! The pg_hba stage's decision: `pgtls_hba_decision`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::{Decision, HbaVerdict, Request, evaluate};

use super::{PGTLS_HBA_REQUEST_GSS, PGTLS_HBA_REQUEST_TLS, check_flags, parse_ip, pgtls_hba};
use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, object, opt_cstring, opt_ptr, opt_text, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// What the server decides for one connection at the pg_hba stage.
/// Functions: `pgtls_hba_decision_verdict`, `pgtls_hba_decision_line`,
/// `pgtls_hba_decision_method`, `pgtls_hba_decision_message`,
/// `pgtls_hba_decision_to_json`, `pgtls_hba_decision_free`.
pub struct pgtls_hba_decision {
    pub(crate) verdict: &'static std::ffi::CStr,
    pub(crate) line: Option<u32>,
    pub(crate) method: Option<CString>,
    pub(crate) message: Option<CString>,
    /// The decision, for the JSON (made only when asked for: most callers
    /// of the evaluation never want it).
    pub(crate) decision: Decision,
}

pub(super) fn decision(d: Decision) -> Box<pgtls_hba_decision> {
    let verdict = match d.verdict() {
        HbaVerdict::Match => c"match",
        HbaVerdict::Reject => c"reject",
        HbaVerdict::NoMatch => c"no-match",
        HbaVerdict::NotLoaded => c"not-loaded",
        _ => c"undecided",
    };
    Box::new(pgtls_hba_decision {
        verdict,
        line: d.line_number(),
        method: opt_cstring(d.method().map(|m| m.as_str())),
        message: opt_cstring(d.verdict_message()),
        decision: d,
    })
}

/// Evaluates a connection against `hba` as the server would: first match
/// wins. `address` is the client's IP address, `(NULL, 0)` for a Unix-domain
/// socket. `flags` is a combination of `PGTLS_HBA_REQUEST_*`. `member_of` is
/// a comma-separated list of the roles `user` belongs to (`(NULL, 0)`: none).
/// Records naming a host name, `samehost` or `samenet` never match here:
/// `pgtls_hba_evaluate_request` takes the client's host name and the
/// server's addresses.
///
/// # Safety
/// As for `pgtls_hba_parse`; `hba` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_evaluate(
    hba: *const pgtls_hba,
    address: *const u8,
    address_len: usize,
    database: *const u8,
    database_len: usize,
    user: *const u8,
    user_len: usize,
    member_of: *const u8,
    member_of_len: usize,
    flags: u32,
    decision_out: *mut *mut pgtls_hba_decision,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let hba = unsafe { object(hba, "hba") }?;
        let out = Out::new(decision_out, "decision_out")?;
        // SAFETY: per the function's contract.
        let address = unsafe { opt_text(address, address_len, "address") }?;
        // SAFETY: per the function's contract.
        let database = unsafe { text(database, database_len, "database") }?;
        // SAFETY: per the function's contract.
        let user = unsafe { text(user, user_len, "user") }?;
        // SAFETY: per the function's contract.
        let member_of = unsafe { text(member_of, member_of_len, "member_of") }?;
        let replication = check_flags(flags)?;
        let req = match address {
            None => Request::local(database, user),
            Some(a) => {
                let ip = parse_ip(a, "address")?;
                Request::tcp(ip, database, user)
            }
        };
        let roles = member_of
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        let req = req
            .with_tls(flags & PGTLS_HBA_REQUEST_TLS != 0)
            .with_gss(flags & PGTLS_HBA_REQUEST_GSS != 0)
            .with_replication(replication)
            .with_member_of(roles);
        out.set(decision(evaluate(&hba.file, &req)));
        Ok(())
    })
}

/// `"match"` (a record matched with a method other than `reject`),
/// `"reject"` (a `reject` record), `"no-match"`, `"not-loaded"` (the file
/// would not load) or `"undecided"` (pgtls cannot evaluate a record's regular
/// expression the way PostgreSQL would). Static; NULL for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_verdict(
    decision: *const pgtls_hba_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| d.verdict.as_ptr())
    })
}

/// The line number of the matched record; 0 when none matched or for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_line(decision: *const pgtls_hba_decision) -> u32 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(0, |d| d.line.unwrap_or(0))
    })
}

/// The method of the matched record; NULL when none matched. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_method(
    decision: *const pgtls_hba_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| opt_ptr(d.method.as_ref()))
    })
}

/// The server's message when it refuses here (`pg_hba.conf rejects
/// connection ...`, `no pg_hba.conf entry for ...`, or the load error);
/// NULL when the connection proceeds. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_message(
    decision: *const pgtls_hba_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| opt_ptr(d.message.as_ref()))
    })
}

/// The decision as JSON: `{"schema_version", "verdict", "line", "method",
/// "message"}`, as `pgtls hba check --json` prints it (the library's report,
/// `docs/schemas/`).
///
/// # Safety
/// `decision` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_to_json(
    decision: *const pgtls_hba_decision,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let d = unsafe { object(decision, "decision") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(d.decision.to_json().into_bytes()));
        Ok(())
    })
}

/// Frees a decision; NULL is a no-op.
///
/// # Safety
/// `decision` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_free(decision: *mut pgtls_hba_decision) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(decision) });
}
