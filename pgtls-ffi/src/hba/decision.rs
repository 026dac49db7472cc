//! The pg_hba stage's decision: `pgtls_hba_decision`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::{Decision, HbaVerdict};

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, object, opt_cstring, opt_ptr};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// What the server decides for one connection at the pg_hba stage.
/// Functions: `pgtls_hba_decision_outcome`, `pgtls_hba_decision_line`,
/// `pgtls_hba_decision_method`, `pgtls_hba_decision_message`,
/// `pgtls_hba_decision_to_json`, `pgtls_hba_decision_free`.
pub struct pgtls_hba_decision {
    pub(crate) outcome: pgtls_hba_outcome,
    pub(crate) line: Option<u32>,
    pub(crate) method: Option<CString>,
    pub(crate) message: Option<CString>,
    /// The decision, for the JSON (made only when asked for: most callers
    /// of the evaluation never want it).
    pub(crate) decision: Decision,
}

pub(super) fn decision(d: Decision) -> Box<pgtls_hba_decision> {
    let outcome = match d.verdict() {
        HbaVerdict::Match => pgtls_hba_outcome::Match,
        HbaVerdict::Reject => pgtls_hba_outcome::Reject,
        HbaVerdict::NoMatch => pgtls_hba_outcome::NoMatch,
        HbaVerdict::NotLoaded => pgtls_hba_outcome::NotLoaded,
        _ => pgtls_hba_outcome::Undecided,
    };
    Box::new(pgtls_hba_decision {
        outcome,
        line: d.line_number(),
        method: opt_cstring(d.method().map(|m| m.as_str())),
        message: opt_cstring(d.verdict_message()),
        decision: d,
    })
}

/// What the server decides for a connection at the pg_hba stage
/// (`pgtls_hba_decision_outcome`). The values are stable: never renumbered,
/// never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum pgtls_hba_outcome {
    /// No decision to read: the handle was NULL (a caller bug).
    Invalid = 0,
    /// A record matched with a method other than `reject`: the connection
    /// proceeds to authentication with `pgtls_hba_decision_method`.
    Match = 1,
    /// A `reject` record matched.
    Reject = 2,
    /// No record matched: the server refuses.
    NoMatch = 3,
    /// The file would not load (the server keeps its previous rules).
    NotLoaded = 4,
    /// pgtls cannot evaluate a record's regular expression the way
    /// PostgreSQL would: the server might match that record or not.
    Undecided = 5,
}

/// The decision: one of `PGTLS_HBA_OUTCOME_*`; `PGTLS_HBA_OUTCOME_INVALID`
/// for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_decision_outcome(
    decision: *const pgtls_hba_decision,
) -> pgtls_hba_outcome {
    boundary(pgtls_hba_outcome::Invalid, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(pgtls_hba_outcome::Invalid, |d| d.outcome)
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
