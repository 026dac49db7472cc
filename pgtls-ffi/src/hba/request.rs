//! A connection attempt to evaluate: `pgtls_hba_request`.

use ::pgtls_hba::{Replication, Request, ServerNetwork, evaluate};

use super::{decision, pgtls_hba, pgtls_hba_decision};
use crate::error::{Error, pgtls_error};
use crate::input::{Out, object, opt_text, text};
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

/// A connection attempt to evaluate with `pgtls_hba_evaluate_request`, the
/// one way to evaluate a connection: the database, the user, the client's
/// address (none: a Unix-domain socket), TLS / GSS encryption /
/// replication flags, the roles the user belongs to (one name per call, so
/// a name may hold commas), whether the role exists, the client's host name
/// (for host-name records) and the server's interface addresses (for
/// `samehost`/`samenet`). Built with `pgtls_hba_request_new` and the
/// `pgtls_hba_request_set_*` / `pgtls_hba_request_add_*` setters; freed with
/// `pgtls_hba_request_free`. A setter that fails leaves the request as it
/// was.
pub struct pgtls_hba_request {
    pub(crate) req: Request,
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
/// wins). The request is not consumed. A refusal (`reject` record, no
/// match, a file that does not load) is a decision, not a failed call.
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
