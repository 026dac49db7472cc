//! A certificate authority in memory: `pgtls_ca`.

use pgtls_core::{Ca, Certificate, CertificateParams, DistinguishedName, KeyPair};

use super::{copy_key, core_error, pgtls_cert, pgtls_key, unix_time, validity};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, object, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A certificate authority in memory (certificate, key and the
/// certificates above it). Functions: `pgtls_ca_create_root`,
/// `pgtls_ca_load`, `pgtls_ca_create_intermediate`, `pgtls_ca_certificate`,
/// `pgtls_ca_chain_to_pem`, `pgtls_ca_free`; put it in a directory store
/// with `pgtls_store_create` to issue from it.
pub struct pgtls_ca {
    pub(crate) ca: Ca,
}

/// Creates a self-signed root CA with `subject` in OpenSSL's slash form
/// (`/O=Example/CN=Example CA`), a copy of `key`, `days` of validity from
/// `now` (Unix seconds) and a path length (`path_len < 0`: none).
///
/// # Safety
/// As for `pgtls_key_generate`; `key` is a live key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_create_root(
    subject: *const u8,
    subject_len: usize,
    key: *const pgtls_key,
    days: u32,
    path_len: i32,
    now: i64,
    ca_out: *mut *mut pgtls_ca,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(ca_out, "ca_out")?;
        // SAFETY: per the function's contract.
        let subject = unsafe { text(subject, subject_len, "subject") }?;
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let now = unix_time(now, "now")?;
        let path_len = path_len_arg(path_len)?;
        let dn = DistinguishedName::parse_openssl(subject)
            .map_err(|e| core_error(&::pgtls_core::Error::from(e)))?;
        let params = CertificateParams::ca(dn, validity(days, now), path_len);
        let ca = Ca::create_root(&params, copy_key(&key.key)?).map_err(|e| core_error(&e))?;
        out.set(Box::new(pgtls_ca { ca }));
        Ok(())
    })
}

fn path_len_arg(path_len: i32) -> Result<Option<u8>, Error> {
    match path_len {
        n if n < 0 => Ok(None),
        n => u8::try_from(n).map(Some).map_err(|_| {
            Error::new(
                pgtls_status::InvalidArgument,
                format!("path_len {n} is above 255"),
            )
        }),
    }
}

/// Loads an existing CA, for example one made by `openssl req -x509` or by
/// `pgtls ca init`: `cert_pem` is the CA certificate (PEM or DER), in PEM
/// optionally followed by the certificates above it (for an intermediate
/// CA, as in a `chain.pem`); `key_pem` is its private key (PKCS#8, SEC1 or
/// PKCS#1 PEM, or DER), decrypted with `passphrase` unless that is
/// `(NULL, 0)`. The subject is kept byte for byte. Fails with
/// `PGTLS_STATUS_WRONG_OBJECT` when the key does not belong to the
/// certificate or the certificate is not a CA. Issue from the loaded CA
/// through a store (`pgtls_store_create`) or make an intermediate under it
/// (`pgtls_ca_create_intermediate`).
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_load(
    cert_pem: *const u8,
    cert_pem_len: usize,
    key_pem: *const u8,
    key_pem_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    ca_out: *mut *mut pgtls_ca,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(ca_out, "ca_out")?;
        // SAFETY: per the function's contract.
        let cert = unsafe { bytes(cert_pem, cert_pem_len, "cert_pem") }?;
        // SAFETY: per the function's contract.
        let key = unsafe { bytes(key_pem, key_pem_len, "key_pem") }?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pass = (!passphrase.is_null()).then_some(pass);
        let mut certs = Certificate::chain_from_pem_or_der(cert, "CA certificate")
            .map_err(|e| core_error(&e))?
            .into_iter();
        let cert = certs.next().ok_or_else(|| {
            Error::new(
                pgtls_status::ParseCertificate,
                "CA certificate: no certificate",
            )
        })?;
        let key = KeyPair::from_pem_or_der(key, pass, "CA key").map_err(|e| core_error(&e))?;
        let ca = Ca::from_parts(cert, key, certs.collect(), "CA certificate")
            .map_err(|e| core_error(&e))?;
        out.set(Box::new(pgtls_ca { ca }));
        Ok(())
    })
}

/// Creates an intermediate CA under `ca`: a CA certificate for a copy of
/// `key` with `subject` (OpenSSL's slash form), `days` of validity from
/// `now` and a path length (`path_len < 0`: none), signed by `ca`. The new
/// CA's chain is `ca`'s certificate followed by `ca`'s chain. Fails when
/// `ca` has `pathlen:0`, is not valid at `now`, or would expire before the
/// new certificate.
///
/// # Safety
/// As for `pgtls_key_generate`; `ca` and `key` are live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_create_intermediate(
    ca: *const pgtls_ca,
    subject: *const u8,
    subject_len: usize,
    key: *const pgtls_key,
    days: u32,
    path_len: i32,
    now: i64,
    ca_out: *mut *mut pgtls_ca,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ca = unsafe { object(ca, "ca") }?;
        let out = Out::new(ca_out, "ca_out")?;
        // SAFETY: per the function's contract.
        let subject = unsafe { text(subject, subject_len, "subject") }?;
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let now = unix_time(now, "now")?;
        let path_len = path_len_arg(path_len)?;
        let dn = DistinguishedName::parse_openssl(subject)
            .map_err(|e| core_error(&::pgtls_core::Error::from(e)))?;
        let params = CertificateParams::ca(dn, validity(days, now), path_len);
        let new = ca
            .ca
            .create_intermediate(&params, copy_key(&key.key)?, now)
            .map_err(|e| core_error(&e))?;
        out.set(Box::new(pgtls_ca { ca: new }));
        Ok(())
    })
}

/// The CA's certificate followed by the certificates above it (none for a
/// root), as PEM: what a server's `ssl_cert_file` appends after its own
/// certificate when this CA is an intermediate.
///
/// # Safety
/// `ca` is NULL or live; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_chain_to_pem(
    ca: *const pgtls_ca,
    pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ca = unsafe { object(ca, "ca") }?;
        let out = Out::new(pem_out, "pem_out")?;
        out.set(pgtls_buf::new(ca.ca.chain_pem().into_bytes()));
        Ok(())
    })
}

/// A copy of the CA's certificate, owned by the caller (free it with
/// `pgtls_cert_free`): every `pgtls_cert` pgtls hands out is the caller's,
/// so no certificate is ever borrowed from another handle.
///
/// # Safety
/// `ca` is NULL or a live CA from pgtls; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_certificate(
    ca: *const pgtls_ca,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let ca = unsafe { object(ca, "ca") }?;
        let out = Out::new(cert_out, "cert_out")?;
        out.set(pgtls_cert::new(ca.ca.certificate().clone()));
        Ok(())
    })
}

/// Frees a CA; NULL is a no-op.
///
/// # Safety
/// `ca` is NULL or a CA from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_free(ca: *mut pgtls_ca) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(ca) });
}
