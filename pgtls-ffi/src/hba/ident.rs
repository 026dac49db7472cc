//! A parsed pg_ident.conf: `pgtls_ident`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::{IdentFile, NoSource};

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, bytes, major_version, object, opt_cstring, opt_ptr};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A parsed pg_ident.conf. Functions: `pgtls_ident_parse`,
/// `pgtls_ident_load_error`, `pgtls_ident_mappings_json`,
/// `pgtls_ident_usermap`, `pgtls_ident_free`.
pub struct pgtls_ident {
    pub(crate) file: IdentFile,
    pub(crate) load_error: Option<CString>,
}

/// Parses pg_ident.conf text as PostgreSQL `pg_version` would (no file
/// system: `@file` and `include` do not resolve).
///
/// # Safety
/// As for `pgtls_hba_parse`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_parse(
    text: *const u8,
    text_len: usize,
    pg_version: u32,
    ident_out: *mut *mut pgtls_ident,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(ident_out, "ident_out")?;
        // SAFETY: per the function's contract.
        let content = unsafe { bytes(text, text_len, "text") }?;
        let file = IdentFile::parse(
            "pg_ident.conf",
            content,
            major_version(pg_version)?,
            &NoSource,
        );
        let load_error = opt_cstring(file.load().err().map(|l| {
            format!(
                "{} (line {} of configuration file \"{}\")",
                l.result
                    .as_ref()
                    .err()
                    .map(|e| e.message.as_str())
                    .unwrap_or(""),
                l.line_number,
                l.file
            )
        }));
        out.set(Box::new(pgtls_ident { file, load_error }));
        Ok(())
    })
}

/// Why the server would refuse this pg_ident.conf; NULL when it loads. Borrowed.
///
/// # Safety
/// `ident` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_load_error(ident: *const pgtls_ident) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { ident.as_ref() }.map_or(std::ptr::null(), |i| opt_ptr(i.load_error.as_ref()))
    })
}

/// The rows of the `pg_ident_file_mappings` view, as a JSON array.
///
/// # Safety
/// `ident` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_mappings_json(
    ident: *const pgtls_ident,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ident = unsafe { object(ident, "ident") }?;
        let out = Out::new(json_out, "json_out")?;
        let rows: Vec<String> = ident.file.view_rows().iter().map(|r| r.to_json()).collect();
        out.set(pgtls_buf::new(format!("[{}]", rows.join(",")).into_bytes()));
        Ok(())
    })
}

///
/// # Safety
/// `ident` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_free(ident: *mut pgtls_ident) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(ident) });
}
