//! The directory CA store: `pgtls_store`.

use std::path::Path;

use pgtls_core::{
    Ca, CertificateParams, Csr, CsrPolicy, CsrUsage, DirStore, RevocationReason, SerialNumber,
    Store,
};
use time::OffsetDateTime;

use super::{
    copy_key, core_error, names_list, pgtls_ca, pgtls_cert, pgtls_key, unix_time, validity,
};

use crate::buf::pgtls_buf;
use crate::error::{Error, pgtls_error};
use crate::input::{Out, bytes, object, opt_text, text};
use crate::panic::{boundary, status};
use crate::status::pgtls_status;

/// A CA store in a directory, in the layout `openssl ca` uses (`index.txt`,
/// `serial`, `crlnumber`, `newcerts/`, `private/`). Every change is locked
/// and written atomically; a change waits up to 10 seconds for another writer
/// (another process, or another handle on the same directory) before it fails
/// with `PGTLS_STATUS_STORE`. Functions: `pgtls_store_create`,
/// `pgtls_store_open`, `pgtls_store_ca_certificate`, `pgtls_store_issue_server`,
/// `pgtls_store_issue_client`, `pgtls_store_sign_csr`, `pgtls_store_revoke`,
/// `pgtls_store_generate_crl`, `pgtls_store_entries_json`, `pgtls_store_free`.
pub struct pgtls_store {
    pub(crate) store: DirStore,
}

impl pgtls_store {
    fn new(store: DirStore) -> Box<Self> {
        Box::new(Self { store })
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

/// A copy of the store's CA certificate, owned by the caller (free it with
/// `pgtls_cert_free`), as for `pgtls_ca_certificate`.
///
/// # Safety
/// `store` is NULL or a live store from pgtls; outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_store_ca_certificate(
    store: *const pgtls_store,
    cert_out: *mut *mut pgtls_cert,
    err_out: *mut *mut pgtls_error,
) -> pgtls_status {
    status(err_out, || {
        // SAFETY: per the function's contract.
        let store = unsafe { object(store, "store") }?;
        let out = Out::new(cert_out, "cert_out")?;
        out.set(pgtls_cert::new(store.store.ca().certificate().clone()));
        Ok(())
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
