//! Inspection of PEM/DER input of any kind.

use super::core_error;

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, bytes};
use crate::panic::status;
use crate::status::pgtls_status;

/// Recognises every certificate, CSR, CRL and key in PEM or DER `input` and
/// describes them as a JSON array of the library's reports
/// (`docs/schemas/inspection.json`), each with a `kind` member
/// (`certificate`, `csr`, `crl`, `private_key`, `encrypted_private_key`,
/// `public_key`) and times in RFC 3339. Private keys are described, never
/// printed. `passphrase`
/// decrypts encrypted keys; `(NULL, 0)` for none.
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_inspect_json(
    input: *const u8,
    input_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(json_out, "json_out")?;
        // SAFETY: per the function's contract.
        let input = unsafe { bytes(input, input_len, "input") }?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pass = (!passphrase.is_null()).then_some(pass);
        let found = pgtls_core::inspect(input, pass, "input").map_err(|e| core_error(&e))?;
        out.set(pgtls_buf::new(
            pgtls_core::report::inspection_json(&found).into_bytes(),
        ));
        Ok(())
    })
}
