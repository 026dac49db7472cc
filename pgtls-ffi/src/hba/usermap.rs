//! The user-map decision: `pgtls_usermap_decision`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::UsermapOutcome;

use super::pgtls_ident;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, cstring, object, opt_cstring, opt_ptr, opt_text, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// What `pgtls_ident_usermap` decided: the verdict, the deciding line, the
/// server's log text and, when pgtls cannot decide, why. Functions:
/// `pgtls_usermap_decision_outcome`, `pgtls_usermap_decision_line`,
/// `pgtls_usermap_decision_log`, `pgtls_usermap_decision_undecided`,
/// `pgtls_usermap_decision_free`.
pub struct pgtls_usermap_decision {
    pub(crate) outcome: pgtls_usermap_outcome,
    pub(crate) line: u32,
    pub(crate) log: Option<CString>,
    pub(crate) undecided: Option<CString>,
}

/// Whether `system_user` may log in as `pg_user` through `map` (`(NULL, 0)`
/// or empty: no map), where the roles `pg_user` belongs to (for `+role`
/// entries, PostgreSQL 16+) are the `role_count` names `roles[i]` of
/// `role_lens[i]` bytes, each taken as it is (a name may hold commas; an
/// empty name is `PGTLS_STATUS_INVALID_ARGUMENT`; `(NULL, NULL, 0)`: none),
/// and `case_insensitive` is the SSPI / `krb_caseins_users` comparison.
/// "pgtls cannot decide" (a regular expression it cannot evaluate the way
/// the server does) is told apart from a refusal: see
/// `pgtls_usermap_decision_outcome`. A refusal is a decision, not a failed
/// call.
///
/// # Safety
/// As for `pgtls_hba_parse`; `ident` is live; when `role_count > 0`, `roles`
/// and `role_lens` point to `role_count` readable elements and each
/// `(roles[i], role_lens[i])` is a valid input pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_usermap(
    ident: *const pgtls_ident,
    map: *const u8,
    map_len: usize,
    system_user: *const u8,
    system_user_len: usize,
    pg_user: *const u8,
    pg_user_len: usize,
    roles: *const *const u8,
    role_lens: *const usize,
    role_count: usize,
    case_insensitive: bool,
    decision_out: *mut *mut pgtls_usermap_decision,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ident = unsafe { object(ident, "ident") }?;
        let out = Out::new(decision_out, "decision_out")?;
        // SAFETY: per the function's contract.
        let map = unsafe { opt_text(map, map_len, "map") }?;
        // SAFETY: per the function's contract.
        let system_user = unsafe { text(system_user, system_user_len, "system_user") }?;
        // SAFETY: per the function's contract.
        let pg_user = unsafe { text(pg_user, pg_user_len, "pg_user") }?;
        // SAFETY: per the function's contract.
        let roles = unsafe { role_list(roles, role_lens, role_count) }?;
        let d = ident
            .file
            .check_usermap(map, system_user, pg_user, &roles, case_insensitive);
        let (outcome, undecided) = match &d.outcome {
            UsermapOutcome::Allowed => (pgtls_usermap_outcome::Allowed, None),
            UsermapOutcome::Denied => (pgtls_usermap_outcome::Denied, None),
            UsermapOutcome::Error => (pgtls_usermap_outcome::Error, None),
            UsermapOutcome::Unsupported(why) => {
                (pgtls_usermap_outcome::Undecided, Some(cstring(why.clone())))
            }
            _ => (
                pgtls_usermap_outcome::Undecided,
                Some(cstring(
                    "an outcome this version of pgtls-ffi does not know",
                )),
            ),
        };
        out.set(Box::new(pgtls_usermap_decision {
            outcome,
            line: d.line.as_ref().map_or(0, |(_, n)| *n),
            log: opt_cstring(d.log),
            undecided,
        }));
        Ok(())
    })
}

/// What a user-map lookup decides (`pgtls_usermap_decision_outcome`). The
/// values are stable: never renumbered, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum pgtls_usermap_outcome {
    /// No decision to read: the handle was NULL (a caller bug). Never an
    /// acceptance.
    Invalid = 0,
    /// The system user may log in as the PostgreSQL user.
    Allowed = 1,
    /// No line allows it.
    Denied = 2,
    /// A line hit a regular-expression error: the server stops there and
    /// refuses.
    Error = 3,
    /// pgtls cannot decide the way the server would (see
    /// `pgtls_usermap_decision_undecided`); never an acceptance.
    Undecided = 4,
}

/// The decision: one of `PGTLS_USERMAP_OUTCOME_*`;
/// `PGTLS_USERMAP_OUTCOME_INVALID` for NULL. Only `_ALLOWED` lets the user in.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_outcome(
    decision: *const pgtls_usermap_decision,
) -> pgtls_usermap_outcome {
    boundary(pgtls_usermap_outcome::Invalid, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(pgtls_usermap_outcome::Invalid, |d| d.outcome)
    })
}

/// The line of pg_ident.conf that decided; 0 when none did (no map, nothing
/// matched) or for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_line(
    decision: *const pgtls_usermap_decision,
) -> u32 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(0, |d| d.line)
    })
}

/// What the server logs when it refuses; NULL otherwise. Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_log(
    decision: *const pgtls_usermap_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| opt_ptr(d.log.as_ref()))
    })
}

/// Why pgtls cannot decide (the outcome is `PGTLS_USERMAP_OUTCOME_UNDECIDED`); NULL otherwise.
/// Borrowed.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_undecided(
    decision: *const pgtls_usermap_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| opt_ptr(d.undecided.as_ref()))
    })
}

/// Frees a usermap decision; NULL is a no-op.
///
/// # Safety
/// `decision` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_free(decision: *mut pgtls_usermap_decision) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(decision) });
}

/// The `count` role names of `(ptrs[i], lens[i])`, each non-empty UTF-8.
///
/// # Safety
/// When `count > 0` and the arrays are not NULL, they hold `count` readable
/// elements, each pair a valid input.
unsafe fn role_list(
    ptrs: *const *const u8,
    lens: *const usize,
    count: usize,
) -> Result<Vec<String>, Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptrs.is_null() || lens.is_null() {
        return Err(Error::new(
            pgtls_status::NullArgument,
            format!("roles or role_lens is NULL with role_count {count}"),
        ));
    }
    if isize::try_from(count).is_err() {
        return Err(Error::new(
            pgtls_status::InvalidArgument,
            format!("role_count {count} is too large"),
        ));
    }
    // SAFETY: non-NULL, `count` readable elements per the caller.
    let (ptrs, lens) = unsafe {
        (
            std::slice::from_raw_parts(ptrs, count),
            std::slice::from_raw_parts(lens, count),
        )
    };
    ptrs.iter()
        .zip(lens)
        .enumerate()
        .map(|(i, (p, n))| {
            let what = format!("roles[{i}]");
            // SAFETY: a valid input pair per the caller.
            let role = unsafe { text(*p, *n, &what) }?;
            if role.is_empty() {
                return Err(Error::new(
                    pgtls_status::InvalidArgument,
                    format!("{what} is empty"),
                ));
            }
            Ok(role.to_owned())
        })
        .collect()
}
