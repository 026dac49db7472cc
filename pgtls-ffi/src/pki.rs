//! pgtls-core through the C ABI: keys, a CA, the directory CA store (issue,
//! sign a CSR, revoke, CRL), certificates and inspection.

use std::ffi::{CString, c_char};
use std::path::Path;

use pgtls_core::{
    Ca, Certificate, CertificateParams, Csr, CsrPolicy, CsrUsage, DirStore, DistinguishedName,
    KeyAlgorithm, KeyPair, RevocationReason, SerialNumber, Store, SubjectAltName, Validity,
};
use time::OffsetDateTime;

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, object, opt_text, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// Maps a pgtls-core error to a status and its full message.
pub(crate) fn core_error(e: &pgtls_core::Error) -> Error {
    use pgtls_core::Error as E;
    let status = match e {
        E::Io { .. } => pgtls_status::Io,
        E::Malformed { expected, .. } => match *expected {
            "certificate" => pgtls_status::ParseCertificate,
            "private key" => pgtls_status::ParseKey,
            "certificate request" | "certificate signing request" => pgtls_status::ParseCsr,
            "CRL" => pgtls_status::ParseCrl,
            _ => pgtls_status::ParsePem,
        },
        E::LegacyEncryptedKey { .. }
        | E::PassphraseRequired { .. }
        | E::WrongPassphrase { .. }
        | E::UnsupportedKey { .. } => pgtls_status::ParseKey,
        E::BadSignature { .. } => pgtls_status::ParseCsr,
        E::KeyMismatch { .. } | E::NotCa { .. } => pgtls_status::WrongObject,
        E::InvalidParameter { .. } => pgtls_status::InvalidArgument,
        E::OutlivesIssuer { .. } | E::CaNotValid { .. } | E::Crypto { .. } => pgtls_status::Issue,
        E::StoreLocked { .. } | E::StoreCorrupt { .. } | E::NotAStore { .. } => pgtls_status::Store,
        E::UnknownSerial { .. } => pgtls_status::NotFound,
        E::FileExists { .. } | E::AlreadyRevoked { .. } | E::DuplicateSerial { .. } => {
            pgtls_status::AlreadyExists
        }
        _ => pgtls_status::Internal,
    };
    Error::from_std(status, e)
}

/// Seconds since the Unix epoch, as every `now` argument is given.
pub(crate) fn unix_time(secs: i64, what: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| {
        Error::new(
            pgtls_status::InvalidArgument,
            format!("{what}: {secs} is not a representable time"),
        )
    })
}

fn cstring(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|b| *b != 0);
    CString::new(v).unwrap_or_default()
}

/// A comma-separated list of host names / IP addresses.
fn names_list(list: &str) -> Result<Vec<SubjectAltName>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<SubjectAltName>().map_err(|e| core_error(&e)))
        .collect()
}

fn copy_key(key: &KeyPair) -> Result<KeyPair, Error> {
    KeyPair::from_pem_or_der(key.to_pkcs8_der(), None, "key").map_err(|e| core_error(&e))
}

// ---------------------------------------------------------------- keys

/// A private key (with its public key). Functions: `pgtls_key_generate`,
/// `pgtls_key_parse`, `pgtls_key_to_pem`, `pgtls_key_public_to_pem`,
/// `pgtls_key_free`.
pub struct pgtls_key {
    key: KeyPair,
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

// ---------------------------------------------------------- certificates

/// A parsed X.509 certificate with its fields ready for the getters.
/// Functions: `pgtls_cert_parse`, `pgtls_cert_subject`, `pgtls_cert_issuer`,
/// `pgtls_cert_serial`, `pgtls_cert_not_before`, `pgtls_cert_not_after`,
/// `pgtls_cert_is_ca`, `pgtls_cert_san_count`, `pgtls_cert_san`,
/// `pgtls_cert_to_pem`, `pgtls_cert_to_json`, `pgtls_cert_free`.
pub struct pgtls_cert {
    cert: Certificate,
    subject: CString,
    issuer: CString,
    serial: CString,
    sans: Vec<CString>,
}

impl pgtls_cert {
    pub(crate) fn new(cert: Certificate) -> Box<Self> {
        Box::new(Self {
            subject: cstring(cert.subject().to_string()),
            issuer: cstring(cert.issuer().to_string()),
            serial: cstring(cert.serial_hex()),
            sans: cert
                .subject_alt_names()
                .iter()
                .map(|s| cstring(s.to_string()))
                .collect(),
            cert,
        })
    }
}

/// Parses the first certificate of PEM or DER `input`.
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_parse(
    input: *const u8,
    input_len: usize,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(cert_out, "cert_out")?;
        // SAFETY: per the function's contract.
        let input = unsafe { bytes(input, input_len, "input") }?;
        let cert =
            Certificate::from_pem_or_der(input, "certificate").map_err(|e| core_error(&e))?;
        out.set(pgtls_cert::new(cert));
        Ok(())
    })
}

/// # Safety
/// `cert` is NULL or live.
unsafe fn cert_str(
    cert: *const pgtls_cert,
    field: impl Fn(&pgtls_cert) -> &CString,
) -> *const c_char {
    // SAFETY: NULL or live, per the caller.
    unsafe { cert.as_ref() }.map_or(std::ptr::null(), |c| field(c).as_ptr())
}

/// The subject in RFC 4514 form (`CN=db.example.com,O=Example`).
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_subject(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.subject)
    })
}

/// The issuer in RFC 4514 form.
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_issuer(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.issuer)
    })
}

/// The serial number in upper-case hexadecimal.
/// NUL-terminated, borrowed from `cert` (valid until it is freed); NULL when
/// `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_serial(cert: *const pgtls_cert) -> *const c_char {
    // SAFETY: NULL or live, per the contract.
    boundary(std::ptr::null(), || unsafe {
        cert_str(cert, |c| &c.serial)
    })
}

/// Start of validity, seconds since the Unix epoch; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_not_before(cert: *const pgtls_cert) -> i64 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.cert.not_before().unix_timestamp())
    })
}

/// End of validity, seconds since the Unix epoch; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_not_after(cert: *const pgtls_cert) -> i64 {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.cert.not_after().unix_timestamp())
    })
}

/// Whether basic constraints say `CA:TRUE`; false when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_is_ca(cert: *const pgtls_cert) -> bool {
    boundary(false, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.is_some_and(|c| c.cert.constraints().is_ca)
    })
}

/// The number of subject alternative names; 0 when `cert` is NULL.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_san_count(cert: *const pgtls_cert) -> usize {
    boundary(0, || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }.map_or(0, |c| c.sans.len())
    })
}

/// Subject alternative name number `index` as `DNS:name`, `IP:address`,
/// `email:...` or `URI:...`; NULL when `cert` is NULL or `index` is out of
/// range. Borrowed from `cert`.
///
/// # Safety
/// `cert` is NULL or a live certificate from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_san(cert: *const pgtls_cert, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { cert.as_ref() }
            .and_then(|c| c.sans.get(index))
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// The certificate as PEM.
///
/// # Safety
/// `cert` is NULL or live; `pem_out` and `err_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_to_pem(
    cert: *const pgtls_cert,
    pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let cert = unsafe { object(cert, "cert") }?;
        let out = Out::new(pem_out, "pem_out")?;
        out.set(pgtls_buf::new(cert.cert.to_pem().into_bytes()));
        Ok(())
    })
}

/// The certificate's report as a JSON object, as `pgtls inspect --json`
/// prints a certificate (the library's report, `docs/schemas/`):
/// `schema_version`, `kind` (`certificate`), `subject`, `issuer`, `serial`,
/// `version`, `not_before`, `not_after` (RFC 3339, UTC), `key_type`,
/// `key_bits`, `subject_alt_names`, `is_ca`, `path_len`, `key_usage`,
/// `extended_key_usage`, `subject_key_identifier`,
/// `authority_key_identifier`, `self_issued`, `sha256_fingerprint`,
/// `extensions`.
///
/// # Safety
/// As for `pgtls_cert_to_pem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_to_json(
    cert: *const pgtls_cert,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let cert = unsafe { object(cert, "cert") }?;
        let out = Out::new(json_out, "json_out")?;
        out.set(pgtls_buf::new(
            pgtls_core::report::to_json(&cert.cert.report()).into_bytes(),
        ));
        Ok(())
    })
}

/// Frees a certificate; NULL is a no-op.
///
/// # Safety
/// `cert` is NULL or a certificate from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_cert_free(cert: *mut pgtls_cert) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(cert) });
}

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

// ------------------------------------------------------------------ CA

/// A certificate authority in memory (certificate, key and the
/// certificates above it). Functions: `pgtls_ca_create_root`,
/// `pgtls_ca_load`, `pgtls_ca_create_intermediate`, `pgtls_ca_certificate`,
/// `pgtls_ca_chain_to_pem`, `pgtls_ca_free`; put it in a directory store
/// with `pgtls_store_create` to issue from it.
pub struct pgtls_ca {
    ca: Ca,
    cert: Box<pgtls_cert>,
}

fn validity(days: u32, now: OffsetDateTime) -> Validity {
    Validity::days_from(now, days)
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
        let cert = pgtls_cert::new(ca.certificate().clone());
        out.set(Box::new(pgtls_ca { ca, cert }));
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
        let cert = pgtls_cert::new(ca.certificate().clone());
        out.set(Box::new(pgtls_ca { ca, cert }));
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
        let cert = pgtls_cert::new(new.certificate().clone());
        out.set(Box::new(pgtls_ca { ca: new, cert }));
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

/// The CA's certificate, borrowed from `ca`; NULL when `ca` is NULL.
///
/// # Safety
/// `ca` is NULL or a live CA from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_ca_certificate(ca: *const pgtls_ca) -> *const pgtls_cert {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { ca.as_ref() }.map_or(std::ptr::null(), |c| &*c.cert as *const pgtls_cert)
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

// --------------------------------------------------------------- store

/// A CA store in a directory, in the layout `openssl ca` uses (`index.txt`,
/// `serial`, `crlnumber`, `newcerts/`, `private/`). Every change is locked
/// and written atomically; a change waits up to 10 seconds for another writer
/// (another process, or another handle on the same directory) before it fails
/// with `PGTLS_STATUS_STORE`. Functions: `pgtls_store_create`,
/// `pgtls_store_open`, `pgtls_store_ca_certificate`, `pgtls_store_issue_server`,
/// `pgtls_store_issue_client`, `pgtls_store_sign_csr`, `pgtls_store_revoke`,
/// `pgtls_store_generate_crl`, `pgtls_store_entries_json`, `pgtls_store_free`.
pub struct pgtls_store {
    store: DirStore,
    cert: Box<pgtls_cert>,
}

impl pgtls_store {
    fn new(store: DirStore) -> Box<Self> {
        let cert = pgtls_cert::new(store.ca().certificate().clone());
        Box::new(Self { store, cert })
    }
}

unsafe fn path_arg<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a Path, Error> {
    // SAFETY: forwarded from the caller.
    let p = unsafe { text(ptr, len, what) }?;
    if p.is_empty() {
        return Err(Error::new(
            pgtls_status::InvalidArgument,
            format!("{what} is empty"),
        ));
    }
    Ok(Path::new(p))
}

/// Creates a store in directory `dir` (created if missing) for a copy of
/// `ca`; the CA key is written encrypted with `passphrase` unless it is
/// `(NULL, 0)`.
///
/// # Safety
/// As for `pgtls_key_generate`; `ca` is a live CA.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_create(
    dir: *const u8,
    dir_len: usize,
    ca: *const pgtls_ca,
    passphrase: *const u8,
    passphrase_len: usize,
    store_out: *mut *mut pgtls_store,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(store_out, "store_out")?;
        // SAFETY: per the function's contract.
        let dir = unsafe { path_arg(dir, dir_len, "dir") }?;
        // SAFETY: per the function's contract.
        let ca = unsafe { object(ca, "ca") }?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pass = (!passphrase.is_null()).then_some(pass);
        // A `pgtls_ca` is always made with its key in memory.
        let key = ca.ca.key().ok_or_else(|| {
            core_error(&pgtls_core::Error::InvalidParameter {
                field: "ca",
                reason: "the CA's key is not in memory".to_owned(),
            })
        })?;
        let copy = Ca::from_parts(
            ca.ca.certificate().clone(),
            copy_key(key)?,
            ca.ca.chain().to_vec(),
            "CA certificate",
        )
        .map_err(|e| core_error(&e))?;
        let store = DirStore::create(dir, copy, pass).map_err(|e| core_error(&e))?;
        out.set(pgtls_store::new(store));
        Ok(())
    })
}

/// Opens an existing store (made by pgtls or by `openssl ca`), decrypting
/// the CA key with `passphrase` unless it is `(NULL, 0)`.
///
/// # Safety
/// As for `pgtls_key_generate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_open(
    dir: *const u8,
    dir_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    store_out: *mut *mut pgtls_store,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        let out = Out::new(store_out, "store_out")?;
        // SAFETY: per the function's contract.
        let dir = unsafe { path_arg(dir, dir_len, "dir") }?;
        // SAFETY: per the function's contract.
        let pass = unsafe { bytes(passphrase, passphrase_len, "passphrase") }?;
        let pass = (!passphrase.is_null()).then_some(pass);
        let store = DirStore::open(dir, pass).map_err(|e| core_error(&e))?;
        out.set(pgtls_store::new(store));
        Ok(())
    })
}

/// The store's CA certificate, borrowed from `store`; NULL for NULL.
///
/// # Safety
/// `store` is NULL or a live store from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_ca_certificate(
    store: *const pgtls_store,
) -> *const pgtls_cert {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or live, per the contract.
        unsafe { store.as_ref() }.map_or(std::ptr::null(), |s| &*s.cert as *const pgtls_cert)
    })
}

fn issue(
    store: &pgtls_store,
    params: &CertificateParams,
    key: &pgtls_key,
    now: OffsetDateTime,
) -> Result<Box<pgtls_cert>, Error> {
    let cert = store
        .store
        .issue(params, &key.key.public_key(), now)
        .map_err(|e| core_error(&e))?;
    Ok(pgtls_cert::new(cert))
}

/// Issues and records a PostgreSQL server certificate for the public half
/// of `key`: `names` is a comma-separated list of DNS names and IP
/// addresses (the first also becomes the CN), valid `days` from `now`.
///
/// # Safety
/// As for `pgtls_key_generate`; `store` and `key` are live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_issue_server(
    store: *const pgtls_store,
    names: *const u8,
    names_len: usize,
    key: *const pgtls_key,
    days: u32,
    now: i64,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let out = Out::new(cert_out, "cert_out")?;
        // SAFETY: per the function's contract.
        let names = names_list(unsafe { text(names, names_len, "names") }?)?;
        let now = unix_time(now, "now")?;
        let params = CertificateParams::server(&names, None, validity(days, now))
            .map_err(|e| core_error(&e))?;
        out.set(issue(store, &params, key, now)?);
        Ok(())
    })
}

/// Issues and records a PostgreSQL client certificate whose CN is the
/// database role `role`, for the public half of `key`.
///
/// # Safety
/// As for `pgtls_store_issue_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_issue_client(
    store: *const pgtls_store,
    role: *const u8,
    role_len: usize,
    key: *const pgtls_key,
    days: u32,
    now: i64,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        // SAFETY: per the function's contract.
        let key = unsafe { object(key, "key") }?;
        let out = Out::new(cert_out, "cert_out")?;
        // SAFETY: per the function's contract.
        let role = unsafe { text(role, role_len, "role") }?;
        let now = unix_time(now, "now")?;
        let params =
            CertificateParams::client(role, validity(days, now)).map_err(|e| core_error(&e))?;
        out.set(issue(store, &params, key, now)?);
        Ok(())
    })
}

/// Signs a certificate signing request (PEM or DER; its signature is checked)
/// and records the certificate, with pgtls-core's one CSR policy (`CsrPolicy`):
/// the subject is kept byte for byte; `usage` is `"server"` or `"client"`;
/// `names` (comma-separated) are the subject alternative names. For a server,
/// `(NULL, 0)` names take the DNS and IP names the CSR requests (never its
/// e-mail or URI names), and at least one name is needed. A client's role is
/// its subject's first commonName, which must be there; for a client `names`
/// must be empty (`PGTLS_STATUS_INVALID_ARGUMENT` otherwise).
///
/// # Safety
/// As for `pgtls_store_issue_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_sign_csr(
    store: *const pgtls_store,
    csr: *const u8,
    csr_len: usize,
    usage: *const u8,
    usage_len: usize,
    names: *const u8,
    names_len: usize,
    days: u32,
    now: i64,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        let out = Out::new(cert_out, "cert_out")?;
        // SAFETY: per the function's contract.
        let csr = unsafe { bytes(csr, csr_len, "csr") }?;
        // SAFETY: per the function's contract.
        let usage = unsafe { text(usage, usage_len, "usage") }?;
        // SAFETY: per the function's contract.
        let names = unsafe { text(names, names_len, "names") }?;
        let now = unix_time(now, "now")?;
        let csr = Csr::from_pem_or_der(csr, "csr").map_err(|e| core_error(&e))?;
        let usage = match usage {
            "server" => CsrUsage::Server,
            "client" => CsrUsage::Client,
            other => {
                return Err(Error::new(
                    pgtls_status::InvalidArgument,
                    format!("usage {other:?}: expected \"server\" or \"client\""),
                ));
            }
        };
        let mut policy = CsrPolicy::new(usage, validity(days, now));
        policy.names = names_list(names)?;
        if usage == CsrUsage::Client && !policy.names.is_empty() {
            return Err(Error::new(
                pgtls_status::InvalidArgument,
                "names: a client certificate takes no names",
            ));
        }
        // (NULL, 0) names: a server certificate takes the DNS and IP names the CSR
        // requests.
        policy.copy_requested_names = usage == CsrUsage::Server && policy.names.is_empty();
        let cert = store
            .store
            .sign_csr(&csr, &policy, now)
            .map_err(|e| core_error(&e))?;
        out.set(pgtls_cert::new(cert));
        Ok(())
    })
}

/// Marks the certificate with serial `serial` (hexadecimal) revoked at
/// `now`, with `reason` in OpenSSL's spelling (`keyCompromise`,
/// `superseded`, ...; `(NULL, 0)` for none).
///
/// # Safety
/// As for `pgtls_store_issue_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_revoke(
    store: *const pgtls_store,
    serial: *const u8,
    serial_len: usize,
    reason: *const u8,
    reason_len: usize,
    now: i64,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        // SAFETY: per the function's contract.
        let serial = unsafe { text(serial, serial_len, "serial") }?;
        // SAFETY: per the function's contract.
        let reason = unsafe { opt_text(reason, reason_len, "reason") }?;
        let now = unix_time(now, "now")?;
        let serial = SerialNumber::from_hex(serial).map_err(|e| core_error(&e))?;
        let reason = reason
            .map(str::parse::<RevocationReason>)
            .transpose()
            .map_err(|e| core_error(&e))?;
        store
            .store
            .revoke(&serial, reason, now)
            .map_err(|e| core_error(&e))?;
        Ok(())
    })
}

/// Generates, records and returns (PEM) a CRL of every revoked certificate,
/// with the next CRL number, thisUpdate `now` and nextUpdate `next_update`
/// (both Unix seconds).
///
/// # Safety
/// As for `pgtls_store_issue_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_generate_crl(
    store: *const pgtls_store,
    next_update: i64,
    now: i64,
    crl_pem_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        let out = Out::new(crl_pem_out, "crl_pem_out")?;
        let next = unix_time(next_update, "next_update")?;
        let now = unix_time(now, "now")?;
        let crl = store
            .store
            .generate_crl(next, now)
            .map_err(|e| core_error(&e))?;
        out.set(pgtls_buf::new(crl.to_pem().into_bytes()));
        Ok(())
    })
}

/// The store's index as a JSON array of `{"schema_version", "serial",
/// "subject", "status" ("valid", "revoked", "expired"), "expires",
/// "revoked_at", "reason"}` (times in RFC 3339; the library's report,
/// `docs/schemas/store-entries.json`).
///
/// # Safety
/// As for `pgtls_store_issue_server`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_entries_json(
    store: *const pgtls_store,
    json_out: *mut *mut pgtls_buf,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        let out = Out::new(json_out, "json_out")?;
        let entries = store.store.entries().map_err(|e| core_error(&e))?;
        out.set(pgtls_buf::new(
            pgtls_core::report::store_entries_json(&entries).into_bytes(),
        ));
        Ok(())
    })
}

/// Frees a store handle (the directory stays); NULL is a no-op.
///
/// # Safety
/// `store` is NULL or a store from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_free(store: *mut pgtls_store) {
    // SAFETY: ownership comes back from the caller.
    boundary((), || unsafe { crate::input::free(store) });
}

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
