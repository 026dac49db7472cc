//! pgtls-hba through the C ABI: pg_hba.conf and pg_ident.conf as the server
//! reads them, their rows as the `pg_hba_file_rules` / `pg_ident_file_mappings`
//! views show them, evaluation of a connection, and the linter.

use std::ffi::{CString, c_char};

use ::pgtls_hba::{
    Decision, FsSource, HbaFile, HbaVerdict, IdentFile, NoSource, PgVersion, Replication, Request,
    ServerNetwork, ServerSettings, Source, UsermapOutcome, evaluate, lint,
};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, OutValue, bytes, object, opt_text, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// The connection uses TLS (`hostssl` lines match).
pub const PGTLS_HBA_REQUEST_TLS: u32 = 1;
/// The connection uses GSSAPI encryption (`hostgssenc` lines match).
pub const PGTLS_HBA_REQUEST_GSS: u32 = 2;
/// A physical replication connection (`replication=true`).
pub const PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL: u32 = 4;
/// A logical replication connection (`replication=database`).
pub const PGTLS_HBA_REQUEST_REPLICATION_LOGICAL: u32 = 8;
const REQUEST_FLAGS: u32 = PGTLS_HBA_REQUEST_TLS
    | PGTLS_HBA_REQUEST_GSS
    | PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL
    | PGTLS_HBA_REQUEST_REPLICATION_LOGICAL;

pub(crate) fn version(major: u32) -> Result<PgVersion, Error> {
    PgVersion::new(major).map_err(|e| Error::from_std(pgtls_status::InvalidArgument, &e))
}

pub(crate) fn cstring(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|b| *b != 0);
    CString::new(v).unwrap_or_default()
}

fn opt_cstring(s: Option<impl Into<Vec<u8>>>) -> Option<CString> {
    s.map(cstring)
}

fn opt_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |c| c.as_ptr())
}

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
/// `pgtls_hba_line_method`, `pgtls_hba_rules_json`, `pgtls_hba_evaluate`,
/// `pgtls_hba_evaluate_request`, `pgtls_hba_lint`, `pgtls_hba_free`.
pub struct pgtls_hba {
    file: HbaFile,
    load_error: Option<CString>,
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
    let settings = ServerSettings::new(version(pg_version)?, ssl);
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

// ----------------------------------------------------------- evaluation

/// What the server decides for one connection at the pg_hba stage.
/// Functions: `pgtls_hba_decision_verdict`, `pgtls_hba_decision_line`,
/// `pgtls_hba_decision_method`, `pgtls_hba_decision_message`,
/// `pgtls_hba_decision_to_json`, `pgtls_hba_decision_free`.
pub struct pgtls_hba_decision {
    verdict: &'static std::ffi::CStr,
    line: Option<u32>,
    method: Option<CString>,
    message: Option<CString>,
    /// The decision, for the JSON (made only when asked for: most callers
    /// of the evaluation never want it).
    decision: Decision,
}

fn decision(d: Decision) -> Box<pgtls_hba_decision> {
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

fn check_flags(flags: u32) -> Result<Replication, Error> {
    if flags & !REQUEST_FLAGS != 0 {
        return Err(Error::new(
            pgtls_status::InvalidArgument,
            format!("flags: unknown bits {:#x}", flags & !REQUEST_FLAGS),
        ));
    }
    match (
        flags & PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL != 0,
        flags & PGTLS_HBA_REQUEST_REPLICATION_LOGICAL != 0,
    ) {
        (false, false) => Ok(Replication::None),
        (true, false) => Ok(Replication::Physical),
        (false, true) => Ok(Replication::Logical),
        (true, true) => Err(Error::new(
            pgtls_status::InvalidArgument,
            "flags: physical and logical replication together",
        )),
    }
}

fn parse_ip(a: &str, what: &str) -> Result<std::net::IpAddr, Error> {
    a.parse().map_err(|_| {
        Error::new(
            pgtls_status::ParseValue,
            format!("{what} {a:?} is not an IP address"),
        )
    })
}

/// A connection attempt to evaluate with `pgtls_hba_evaluate_request`: what
/// `pgtls_hba_evaluate` takes, plus the client's host name (for host-name
/// records), the server's interface addresses (for `samehost`/`samenet`)
/// and whether the role exists. Built with `pgtls_hba_request_new` and the
/// `pgtls_hba_request_set_*` / `pgtls_hba_request_add_*` setters; freed with
/// `pgtls_hba_request_free`. A setter that fails leaves the request as it
/// was.
pub struct pgtls_hba_request {
    req: Request,
}

/// A new request: a Unix-socket connection of `user` to `database`, no TLS,
/// no role memberships, the role exists, no client host name, no server
/// addresses. The caller owns `*request_out`.
///
/// # Safety
/// As for `pgtls_hba_parse`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_new(
    database: *const u8,
    database_len: usize,
    user: *const u8,
    user_len: usize,
    request_out: *mut *mut pgtls_hba_request,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(request_out, "request_out")?;
        // SAFETY: per the function's contract.
        let database = unsafe { text(database, database_len, "database") }?;
        // SAFETY: per the function's contract.
        let user = unsafe { text(user, user_len, "user") }?;
        out.set(Box::new(pgtls_hba_request {
            req: Request::local(database, user),
        }));
        Ok(())
    })
}

/// # Safety
/// `request` is NULL or live and not used elsewhere during the call.
unsafe fn request_mut<'a>(request: *mut pgtls_hba_request) -> Result<&'a mut Request, Error> {
    // SAFETY: NULL or live and unaliased, per the caller.
    unsafe { request.as_mut() }
        .map(|r| &mut r.req)
        .ok_or_else(|| Error::null("request"))
}

/// Sets the client's IP address (a TCP connection); `(NULL, 0)` makes it a
/// Unix-domain socket connection again. A zone (`fe80::1%eth0`) is not
/// accepted: give the bare address.
///
/// # Safety
/// As for `pgtls_hba_parse`; `request` is live and not used by another
/// thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_set_address(
    request: *mut pgtls_hba_request,
    address: *const u8,
    address_len: usize,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        // SAFETY: per the function's contract.
        let address = unsafe { opt_text(address, address_len, "address") }?;
        req.address = address.map(|a| parse_ip(a, "address")).transpose()?;
        Ok(())
    })
}

/// Sets the `PGTLS_HBA_REQUEST_*` flags (TLS, GSS encryption, replication),
/// replacing the previous ones.
///
/// # Safety
/// `request` is live and not used by another thread during the call;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_set_flags(
    request: *mut pgtls_hba_request,
    flags: u32,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        let replication = check_flags(flags)?;
        req.tls = flags & PGTLS_HBA_REQUEST_TLS != 0;
        req.gss = flags & PGTLS_HBA_REQUEST_GSS != 0;
        req.replication = replication;
        Ok(())
    })
}

/// Adds a role `user` belongs to, directly or not (for `+role` and
/// `samerole` entries). The name is taken as it is (no splitting at commas,
/// no trimming); it must not be empty.
///
/// # Safety
/// As for `pgtls_hba_request_set_address`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_add_role(
    request: *mut pgtls_hba_request,
    role: *const u8,
    role_len: usize,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        // SAFETY: per the function's contract.
        let role = unsafe { text(role, role_len, "role") }?;
        if role.is_empty() {
            return Err(Error::new(pgtls_status::InvalidArgument, "role is empty"));
        }
        req.member_of.push(role.to_owned());
        Ok(())
    })
}

/// Whether the role `user` exists (default true). A role that does not exist
/// matches only `all`, its own name and regular expressions, as in the
/// server.
///
/// # Safety
/// As for `pgtls_hba_request_set_flags`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_set_user_exists(
    request: *mut pgtls_hba_request,
    exists: bool,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        req.user_exists = exists;
        Ok(())
    })
}

/// Sets the client's host name as the server resolved it (reverse lookup
/// confirmed by a forward lookup), for records whose address is a host name;
/// `(NULL, 0)`: no name (such records do not match).
///
/// # Safety
/// As for `pgtls_hba_request_set_address`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_set_client_hostname(
    request: *mut pgtls_hba_request,
    hostname: *const u8,
    hostname_len: usize,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        // SAFETY: per the function's contract.
        let name = unsafe { opt_text(hostname, hostname_len, "hostname") }?;
        req.client_hostname = name.map(str::to_owned);
        Ok(())
    })
}

/// Adds one of the server's interface addresses, as `address` or
/// `address/prefix-length` (CIDR; without a prefix the address alone), for
/// `samehost` and `samenet` records.
///
/// # Safety
/// As for `pgtls_hba_request_set_address`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_add_server_address(
    request: *mut pgtls_hba_request,
    cidr: *const u8,
    cidr_len: usize,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let req = unsafe { request_mut(request) }?;
        // SAFETY: per the function's contract.
        let cidr = unsafe { text(cidr, cidr_len, "server address") }?;
        let network = cidr
            .parse::<ServerNetwork>()
            .map_err(|e| Error::new(pgtls_status::ParseValue, format!("server address: {e}")))?;
        req.server_addresses.push(network.into());
        Ok(())
    })
}

/// Frees a request; NULL is a no-op.
///
/// # Safety
/// `request` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_request_free(request: *mut pgtls_hba_request) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(request) });
}

/// Evaluates `request` against `hba` as the server would (first match
/// wins), like `pgtls_hba_evaluate` with every field of the request. The
/// request is not consumed.
///
/// # Safety
/// `hba` and `request` are live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_hba_evaluate_request(
    hba: *const pgtls_hba,
    request: *const pgtls_hba_request,
    decision_out: *mut *mut pgtls_hba_decision,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let hba = unsafe { object(hba, "hba") }?;
        // SAFETY: per the function's contract.
        let request = unsafe { object(request, "request") }?;
        let out = Out::new(decision_out, "decision_out")?;
        out.set(decision(evaluate(&hba.file, &request.req)));
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

// ------------------------------------------------------------------ lint

struct FindingStrings {
    line: u32,
    severity: &'static std::ffi::CStr,
    code: CString,
    message: CString,
}

/// The linter's findings on a pg_hba.conf. Functions: `pgtls_hba_lint`,
/// `pgtls_lint_count`, `pgtls_lint_line`, `pgtls_lint_severity`,
/// `pgtls_lint_code`, `pgtls_lint_message`, `pgtls_lint_to_json`,
/// `pgtls_lint_free`.
pub struct pgtls_lint {
    findings: Vec<FindingStrings>,
    json: String,
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
                severity: match f.severity.as_str() {
                    "error" => c"error",
                    "warning" => c"warning",
                    _ => c"info",
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

/// `"error"`, `"warning"` or `"info"`; NULL for NULL or out of range. Static.
///
/// # Safety
/// `lint` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_lint_severity(
    lint: *const pgtls_lint,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { finding(lint, index) }.map_or(std::ptr::null(), |f| f.severity.as_ptr())
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

// ----------------------------------------------------------------- ident

/// A parsed pg_ident.conf. Functions: `pgtls_ident_parse`,
/// `pgtls_ident_load_error`, `pgtls_ident_mappings_json`,
/// `pgtls_ident_check_usermap`, `pgtls_ident_usermap`, `pgtls_ident_free`.
pub struct pgtls_ident {
    pub(crate) file: IdentFile,
    load_error: Option<CString>,
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
        let file = IdentFile::parse("pg_ident.conf", content, version(pg_version)?, &NoSource);
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

/// Whether `system_user` may log in as `pg_user` through `map` (`(NULL, 0)`
/// or empty: no map, the names must be equal). Writes the answer to
/// `*allowed_out`: false both when the server refuses and when pgtls cannot
/// decide; `pgtls_ident_usermap` tells those apart.
///
/// # Safety
/// As for `pgtls_hba_parse`; `ident` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_check_usermap(
    ident: *const pgtls_ident,
    map: *const u8,
    map_len: usize,
    system_user: *const u8,
    system_user_len: usize,
    pg_user: *const u8,
    pg_user_len: usize,
    allowed_out: *mut bool,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ident = unsafe { object(ident, "ident") }?;
        let out = OutValue::new(allowed_out, "allowed_out")?;
        // SAFETY: per the function's contract.
        let map = unsafe { opt_text(map, map_len, "map") }?;
        // SAFETY: per the function's contract.
        let system_user = unsafe { text(system_user, system_user_len, "system_user") }?;
        // SAFETY: per the function's contract.
        let pg_user = unsafe { text(pg_user, pg_user_len, "pg_user") }?;
        let d = ident
            .file
            .check_usermap(map, system_user, pg_user, &[], false);
        out.set(d.allowed());
        Ok(())
    })
}

/// What `pgtls_ident_usermap` decided: the verdict, the deciding line, the
/// server's log text and, when pgtls cannot decide, why. Functions:
/// `pgtls_usermap_decision_verdict`, `pgtls_usermap_decision_line`,
/// `pgtls_usermap_decision_log`, `pgtls_usermap_decision_undecided`,
/// `pgtls_usermap_decision_free`.
pub struct pgtls_usermap_decision {
    verdict: &'static std::ffi::CStr,
    line: u32,
    log: Option<CString>,
    undecided: Option<CString>,
}

/// `pgtls_ident_check_usermap` with the whole answer: whether `system_user`
/// may log in as `pg_user` through `map` (`(NULL, 0)` or empty: no map),
/// where `member_of` is a comma-separated list of the roles `pg_user`
/// belongs to (for `+role` entries, PostgreSQL 16+; `(NULL, 0)`: none) and
/// `case_insensitive` is the SSPI / `krb_caseins_users` comparison.
/// Unlike `pgtls_ident_check_usermap`, "pgtls cannot decide" (a regular
/// expression it cannot evaluate the way the server does) is told apart
/// from a refusal: see `pgtls_usermap_decision_verdict`.
///
/// # Safety
/// As for `pgtls_hba_parse`; `ident` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_usermap(
    ident: *const pgtls_ident,
    map: *const u8,
    map_len: usize,
    system_user: *const u8,
    system_user_len: usize,
    pg_user: *const u8,
    pg_user_len: usize,
    member_of: *const u8,
    member_of_len: usize,
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
        let member_of = unsafe { text(member_of, member_of_len, "member_of") }?;
        let roles: Vec<String> = member_of
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        let d = ident
            .file
            .check_usermap(map, system_user, pg_user, &roles, case_insensitive);
        let (verdict, undecided) = match &d.outcome {
            UsermapOutcome::Allowed => (c"allowed", None),
            UsermapOutcome::Denied => (c"denied", None),
            UsermapOutcome::Error => (c"error", None),
            UsermapOutcome::Unsupported(why) => (c"undecided", Some(cstring(why.clone()))),
            _ => (
                c"undecided",
                Some(cstring(
                    "an outcome this version of pgtls-ffi does not know",
                )),
            ),
        };
        out.set(Box::new(pgtls_usermap_decision {
            verdict,
            line: d.line.as_ref().map_or(0, |(_, n)| *n),
            log: opt_cstring(d.log),
            undecided,
        }));
        Ok(())
    })
}

/// `"allowed"`, `"denied"` (no line allows it), `"error"` (a line hit a
/// regular-expression error: the server stops there and refuses) or
/// `"undecided"` (pgtls cannot decide the way the server would; never an
/// acceptance). Static; NULL for NULL.
///
/// # Safety
/// `decision` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_usermap_decision_verdict(
    decision: *const pgtls_usermap_decision,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { decision.as_ref() }.map_or(std::ptr::null(), |d| d.verdict.as_ptr())
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

/// Why pgtls cannot decide (the verdict is `"undecided"`); NULL otherwise.
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

/// Frees a parsed pg_ident.conf; NULL is a no-op.
///
/// # Safety
/// `ident` is NULL or from pgtls and not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ident_free(ident: *mut pgtls_ident) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(ident) });
}
