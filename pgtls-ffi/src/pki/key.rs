//! Private keys: `pgtls_key`.

use pgtls_core::{KeyAlgorithm, KeyPair};

use super::core_error;

use crate::buf::pgtls_buf;
use crate::error::pgtls_error;
use crate::input::{Out, bytes, object, opt_text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A private key (with its public key). Functions: `pgtls_key_generate`,
/// `pgtls_key_parse`, `pgtls_key_to_pem`, `pgtls_key_public_to_pem`,
/// `pgtls_key_free`.
pub struct pgtls_key {
    pub(crate) key: KeyPair,
}

/// Generates a key. `algorithm` is one of `p256` (ECDSA P-256, the
/// default for `(NULL, 0)`), `p384`, `ed25519`, `rsa2048`, `rsa3072`, `rsa4096`.
/// The caller owns `*key_out` and frees it with `pgtls_key_free`.
///
/// # Safety
/// Inputs are `(ptr, len)` pairs as described in the header; pointers to
/// outputs are NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_key_generate(
    algorithm: *const u8,
    algorithm_len: usize,
    key_out: *mut *mut pgtls_key,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(key_out, "key_out")?;
        // SAFETY: per the function's contract.
        let alg = unsafe { opt_text(algorithm, algorithm_len, "algorithm") }?;
        let alg = match alg {
            Some(a) => a.parse::<KeyAlgorithm>().map_err(|e| core_error(&e))?,
            None => KeyAlgorithm::EcdsaP256,
        };
        let key = KeyPair::generate(alg).map_err(|e| core_error(&e))?;
        out.set(Box::new(pgtls_key { key }));
        Ok(())
    })
}

/// Parses a private key (PEM or DER; PKCS#8, PKCS#1 or SEC1; encrypted PKCS#8
/// with `passphrase`, `(NULL, 0)` for none).
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_key_parse(
    input: *const u8,
    input_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    key_out: *mut *mut pgtls_key,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(key_out, "key_out")?;
        // SAFETY: per the function's contract.
        let input = unsafe { bytes(input, input_len, "input") }?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pass = (!passphrase.is_null()).then_some(pass);
        let key = KeyPair::from_pem_or_der(input, pass, "key").map_err(|e| core_error(&e))?;
        out.set(Box::new(pgtls_key { key }));
        Ok(())
    })
}

/// Writes the private key as PKCS#8 PEM, encrypted with `passphrase` unless
/// it is `(NULL, 0)`. The buffer is zeroed when freed.
///
/// # Safety
/// As for `pgtls_key_generate`; `key` is a live key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_key_to_pem(
    key: *const pgtls_key,
    passphrase: *const u8,
    passphrase_len: usize,
    pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let out = Out::new(pem_out, "pem_out")?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pem = if passphrase.is_null() {
            key.key.to_pem()
        } else {
            key.key.to_encrypted_pem(pass).map_err(|e| core_error(&e))?
        };
        out.set(pgtls_buf::new(pem.into_bytes()));
        Ok(())
    })
}

/// Frees a key; NULL is a no-op.
///
/// # Safety
/// `key` is NULL or a key from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_key_free(key: *mut pgtls_key) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(key) });
}
