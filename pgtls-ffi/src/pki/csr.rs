//! Certificate signing requests.

use pgtls_core::{Csr, DistinguishedName};

use super::{core_error, names_list, pgtls_key};

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, object, text};
use crate::panic::status;
use crate::status::pgtls_status;

/// Creates a certificate signing request for `key` with `subject` (OpenSSL
/// slash form) and comma-separated requested `names` (`(NULL, 0)`: none),
/// as PEM.
///
/// # Safety
/// As for `pgtls_key_generate`; `key` is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_csr_create(
    subject: *const u8,
    subject_len: usize,
    names: *const u8,
    names_len: usize,
    key: *const pgtls_key,
    csr_pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(csr_pem_out, "csr_pem_out")?;
        // SAFETY: per the function's contract.
        let subject = unsafe { text(subject, subject_len, "subject") }?;
        // SAFETY: per the function's contract.
        let names = names_list(unsafe { text(names, names_len, "names") }?)?;
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let dn = DistinguishedName::parse_openssl(subject)
            .map_err(|e| core_error(&::pgtls_core::Error::from(e)))?;
        let csr = Csr::create(&dn, &names, &key.key).map_err(|e| core_error(&e))?;
        out.set(pgtls_buf::new(csr.to_pem().into_bytes()));
        Ok(())
    })
}
