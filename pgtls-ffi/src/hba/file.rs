//! A parsed pg_hba.conf: `pgtls_hba`.

use std::ffi::{CString, c_char};

use ::pgtls_hba::{FsSource, HbaFile, NoSource, ServerSettings, Source};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, cstring, major_version, object, opt_cstring, opt_ptr, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

struct LineStrings {
    number: u32,
    raw: CString,
    error: Option<CString>,
    conn_type: Option<CString>,
    method: Option<CString>,
}

/// A parsed pg_hba.conf: every record with its own result, like the
/// `pg_hba_file_rules` view. Functions: `pgtls_hba_parse`, `pgtls_hba_read_file`,
/// `pgtls_hba_load_error`, `pgtls_hba_line_count`, `pgtls_hba_line_number`,
/// `pgtls_hba_line_text`, `pgtls_hba_line_error`, `pgtls_hba_line_type`,
/// `pgtls_hba_line_method`, `pgtls_hba_rules_json`,
/// `pgtls_hba_evaluate_request`, `pgtls_hba_lint`, `pgtls_hba_free`.
pub struct pgtls_hba {
    pub(crate) file: HbaFile,
    pub(crate) load_error: Option<CString>,
    lines: Vec<LineStrings>,
}

impl pgtls_hba {
    fn new(file: HbaFile) -> Box<Self> {
        let lines = file
            .lines()
            .iter()
            .map(|l| LineStrings {
                number: l.line_number,
                raw: cstring(l.raw.clone()),
                error: opt_cstring(l.result.as_ref().err().map(|e| e.message.clone())),
                conn_type: opt_cstring(l.rule().map(|r| r.conn_type.as_str())),
                method: opt_cstring(l.rule().map(|r| r.method.as_str())),
            })
            .collect();
        Box::new(Self {
            load_error: opt_cstring(file.load_error()),
            lines,
            file,
        })
    }
}

fn parse_hba(
    name: &str,
    content: &[u8],
    pg_version: u32,
    ssl: bool,
    source: &dyn Source,
) -> Result<Box<pgtls_hba>, Error> {
    let settings = ServerSettings::new(major_version(pg_version)?, ssl);
    Ok(pgtls_hba::new(HbaFile::parse(
        name, content, settings, source,
    )))
}

/// Parses pg_hba.conf text as PostgreSQL `pg_version` (12 to 18) would with
/// `ssl` on or off. `@file` and `include` directives do not resolve (there
/// is no file system); use `pgtls_hba_read_file` for that. Lines with errors
/// do not make the call fail: see `pgtls_hba_load_error` and
/// `pgtls_hba_line_error`.
///
/// # Safety
/// Inputs are `(ptr, len)` pairs as described in the header; pointers to
/// outputs are NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_parse(
    text: *const u8,
    text_len: usize,
    pg_version: u32,
    ssl: bool,
    hba_out: *mut *mut pgtls_hba,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(hba_out, "hba_out")?;
        // SAFETY: per the function's contract.
        let content = unsafe { bytes(text, text_len, "text") }?;
        out.set(parse_hba(
            "pg_hba.conf",
            content,
            pg_version,
            ssl,
            &NoSource,
        )?);
        Ok(())
    })
}

/// Reads and parses the pg_hba.conf at `path`, resolving `@file` and
/// `include*` directives against the file system as the server would.
///
/// # Safety
/// As for `pgtls_hba_parse`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_read_file(
    path: *const u8,
    path_len: usize,
    pg_version: u32,
    ssl: bool,
    hba_out: *mut *mut pgtls_hba,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(hba_out, "hba_out")?;
        // SAFETY: per the function's contract.
        let path = unsafe { text(path, path_len, "path") }?;
        let content = std::fs::read(path).map_err(|e| {
            Error::new(
                pgtls_status::Io,
                format!("could not open file \"{path}\": {e}"),
            )
        })?;
        out.set(parse_hba(path, &content, pg_version, ssl, &FsSource)?);
        Ok(())
    })
}

/// Why the server would refuse to load this file (it keeps its previous
/// rules), with the line and file; NULL when it loads. Borrowed from `hba`.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_load_error(hba: *const pgtls_hba) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { hba.as_ref() }.map_or(std::ptr::null(), |h| opt_ptr(h.load_error.as_ref()))
    })
}

/// The number of records (after continuation lines are joined, including
/// included files); 0 for NULL.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_count(hba: *const pgtls_hba) -> usize {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { hba.as_ref() }.map_or(0, |h| h.lines.len())
    })
}

/// # Safety
/// `hba` is NULL or live.
unsafe fn line<'a>(hba: *const pgtls_hba, index: usize) -> Option<&'a LineStrings> {
    // SAFETY: NULL or live, per the caller.
    unsafe { hba.as_ref() }.and_then(|h| h.lines.get(index))
}

/// The line number of record `index` in its file; 0 for NULL or an index
/// out of range.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_number(hba: *const pgtls_hba, index: usize) -> u32 {
    // SAFETY: NULL or live, per the contract.
    boundary(0, || unsafe { line(hba, index) }.map_or(0, |l| l.number))
}

/// The text of record `index`; NULL for NULL or out of range. Borrowed.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_text(hba: *const pgtls_hba, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { line(hba, index) }.map_or(std::ptr::null(), |l| l.raw.as_ptr())
    })
}

/// The error of record `index` as the server logs it; NULL when the record is
/// valid (or for NULL / out of range). Borrowed.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_error(
    hba: *const pgtls_hba,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { line(hba, index) }.map_or(std::ptr::null(), |l| opt_ptr(l.error.as_ref()))
    })
}

/// The connection type (`local`, `host`, `hostssl`, ...) of valid record
/// `index`; NULL for an invalid record, NULL or out of range. Borrowed.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_type(hba: *const pgtls_hba, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { line(hba, index) }.map_or(std::ptr::null(), |l| opt_ptr(l.conn_type.as_ref()))
    })
}

/// The authentication method (`scram-sha-256`, `cert`, ...) of valid record
/// `index`; NULL for an invalid record, NULL or out of range. Borrowed.
///
/// # Safety
/// `hba` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_line_method(
    hba: *const pgtls_hba,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { line(hba, index) }.map_or(std::ptr::null(), |l| opt_ptr(l.method.as_ref()))
    })
}

/// The rows the server's `pg_hba_file_rules` view would show, as a JSON
/// array of objects (one per record, columns as `row_to_json` prints them).
///
/// # Safety
/// `hba` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_rules_json(
    hba: *const pgtls_hba,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let hba = unsafe { object(hba, "hba") }?;
        let out = Out::new(json_out, "json_out")?;
        let rows: Vec<String> = hba.file.view_rows().iter().map(|r| r.to_json()).collect();
        out.set(pgtls_buf::new(format!("[{}]", rows.join(",")).into_bytes()));
        Ok(())
    })
}

/// Frees a parsed pg_hba.conf; NULL is a no-op.
///
/// # Safety
/// `hba` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_free(hba: *mut pgtls_hba) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(hba) });
}
