//! libpq's host-name check: `pgtls_leaf`.

use super::verify_error;

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, OutValue, bytes, major_version, object, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A server certificate parsed once for libpq's host-name check. Functions:
/// `pgtls_leaf_parse`, `pgtls_leaf_check_host`, `pgtls_leaf_free`.
pub struct pgtls_leaf {
    pub(crate) leaf: ::pgtls_verify::hostname::Leaf,
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
/// connection parameter, as PostgreSQL `pg_version`'s libpq does it. The
/// answer is a verdict, not a status: `*matches_out` is true when a name
/// matches and false when none does; then, when `message_out` is not NULL,
/// `*message_out` receives libpq's message (it is set to NULL on a match).
/// The call fails only when it cannot answer (NULL, bad UTF-8, unknown
/// version).
///
/// # Safety
/// As for `pgtls_verify_server`; `leaf` is live; `matches_out` is NULL or
/// writable; `message_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_leaf_check_host(
    leaf: *const pgtls_leaf,
    host: *const u8,
    host_len: usize,
    pg_version: u32,
    matches_out: *mut bool,
    message_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let leaf = unsafe { object(leaf, "leaf") }?;
        let matches = OutValue::new(matches_out, "matches_out")?;
        // SAFETY: per the function's contract.
        let host = unsafe { text(host, host_len, "host") }?;
        let message = match leaf.leaf.check(host, major_version(pg_version)?) {
            ::pgtls_verify::hostname::HostCheck::Match(_) => None,
            ::pgtls_verify::hostname::HostCheck::Reject(message) => Some(message),
        };
        matches.set(message.is_none());
        if !message_out.is_null() {
            let buf = message.map_or(std::ptr::null_mut(), |m| {
                Box::into_raw(pgtls_buf::new(m.into_bytes()))
            });
            // SAFETY: not NULL, and writable per the contract.
            unsafe { message_out.write(buf) };
        }
        Ok(())
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
