//! libpq's host-name check: `pgtls_leaf`.

use super::verify_error;

use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, major_version, object, text};
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
        match leaf.leaf.check(host, major_version(pg_version)?) {
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
