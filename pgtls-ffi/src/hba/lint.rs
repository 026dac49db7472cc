//! The linter's findings: `pgtls_lint`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::lint;

use super::{pgtls_hba, pgtls_ident};
use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, cstring, object};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

struct FindingStrings {
    line: u32,
    severity: pgtls_severity,
    code: CString,
    message: CString,
}

/// The linter's findings on a pg_hba.conf. Functions: `pgtls_hba_lint`,
/// `pgtls_lint_count`, `pgtls_lint_line`, `pgtls_lint_severity`,
/// `pgtls_lint_code`, `pgtls_lint_message`, `pgtls_lint_to_json`,
/// `pgtls_lint_free`.
pub struct pgtls_lint {
    findings: Vec<FindingStrings>,
    pub(crate) json: String,
}

/// Lints `hba`, checking `map=` names against `ident` when it is not NULL.
///
/// # Safety
/// `hba` is live, `ident` NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_lint(
    hba: *const pgtls_hba,
    ident: *const pgtls_ident,
    lint_out: *mut *mut pgtls_lint,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let hba = unsafe { object(hba, "hba") }?;
        // SAFETY: NULL or live, per the contract.
        let ident = unsafe { ident.as_ref() }.map(|i| &i.file);
        let out = Out::new(lint_out, "lint_out")?;
        let found = lint(&hba.file, ident);
        let json = ::pgtls_hba::report::findings_json(&found);
        let findings = found
            .iter()
            .map(|f| FindingStrings {
                line: f.line,
                severity: match f.severity {
                    ::pgtls_hba::Severity::Error => pgtls_severity::Error,
                    ::pgtls_hba::Severity::Warning => pgtls_severity::Warning,
                    _ => pgtls_severity::Info,
                },
                code: cstring(f.code),
                message: cstring(f.message.clone()),
            })
            .collect();
        out.set(Box::new(pgtls_lint { findings, json }));
        Ok(())
    })
}

/// The number of findings; 0 for NULL.
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_count(lint: *const pgtls_lint) -> usize {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { lint.as_ref() }.map_or(0, |l| l.findings.len())
    })
}

/// # Safety
/// `lint` is NULL or live.
unsafe fn finding<'a>(lint: *const pgtls_lint, index: usize) -> Option<&'a FindingStrings> {
    // SAFETY: NULL or live, per the caller.
    unsafe { lint.as_ref() }.and_then(|l| l.findings.get(index))
}

/// The line of finding `index` (0: the whole file, NULL or out of range).
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_line(lint: *const pgtls_lint, index: usize) -> u32 {
    // SAFETY: NULL or live, per the contract.
    boundary(0, || unsafe { finding(lint, index) }.map_or(0, |f| f.line))
}

/// How serious a lint finding is (`pgtls_lint_severity`). The values are
/// stable and ordered: a higher value is more serious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum pgtls_severity {
    /// No finding to read: the handle was NULL or the index out of range.
    Invalid = 0,
    /// Informational.
    Info = 1,
    /// Legal but risky or probably a mistake.
    Warning = 2,
    /// The server refuses the file, a login can never work, or a path is
    /// open without TLS.
    Error = 3,
}

/// The severity of finding `index`; `PGTLS_SEVERITY_INVALID` for NULL or
/// out of range.
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_severity(
    lint: *const pgtls_lint,
    index: usize,
) -> pgtls_severity {
    boundary(pgtls_severity::Invalid, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { finding(lint, index) }.map_or(pgtls_severity::Invalid, |f| f.severity)
    })
}

/// The stable code of finding `index` (`no-tls`, `trust-tcp`, ...); NULL for
/// NULL or out of range. Borrowed.
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_code(lint: *const pgtls_lint, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { finding(lint, index) }.map_or(std::ptr::null(), |f| f.code.as_ptr())
    })
}

/// The explanation of finding `index`; NULL for NULL or out of range. Borrowed.
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_message(
    lint: *const pgtls_lint,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { finding(lint, index) }.map_or(std::ptr::null(), |f| f.message.as_ptr())
    })
}

/// The findings as a JSON array of `{"schema_version", "file", "line",
/// "severity", "code", "message", "witness"}`, as `pgtls hba lint --json`
/// prints it (the library's report, `docs/schemas/`).
///
/// # Safety
/// `lint` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_to_json(
    lint: *const pgtls_lint,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let l = unsafe { object(lint, "lint") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(l.json.clone().into_bytes()));
        Ok(())
    })
}

/// Frees lint findings; NULL is a no-op.
///
/// # Safety
/// `lint` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_free(lint: *mut pgtls_lint) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(lint) });
}
