//! The client certificate libpq loads and sends, and `sslcertmode`.
//!
//! `initialize_SSL` (fe-secure-openssl.c) loads the client certificate after
//! the root file: `sslcert` (or `$PGSSLCERT`, else
//! `~/.postgresql/postgresql.crt`); a file that does not exist (`ENOENT`,
//! `ENOTDIR`: a dangling symbolic link too) means "no certificate", any other
//! `stat` failure is an error. A certificate that exists needs its key:
//! `sslkey` (or `$PGSSLKEY`, else `~/.postgresql/postgresql.key`), which must
//! exist, be a regular file and not be readable by group or others. With
//! `sslcertmode=disable` (PostgreSQL 16+) nothing is loaded.
//!
//! libpq's certificate callback (`cert_cb`) runs only when the server sends a
//! CertificateRequest (PostgreSQL does when `ssl_ca_file` is set): it records
//! that a certificate was requested (`ssl_cert_requested`) and, if one is
//! loaded, that it was sent (`ssl_cert_sent`). With `sslcertmode=require`,
//! `check_expected_areq` (fe-auth.c) refuses the server's AuthenticationOk
//! when no certificate was requested (`server did not request an SSL
//! certificate`) or none was sent (`server accepted connection without a
//! valid SSL certificate`). Nothing in the handshake itself changes: the
//! refusal comes after authentication, in plaintext sessions too.
//!
//! Observed with psql of libpq 16.15, 17.11 and 18.6 against PostgreSQL 15
//! (see `tests/sslcertmode.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::policy::{Plan, Refusal};

/// libpq's `sslcertmode` (PostgreSQL 16+). Older libpq has no such option
/// and behaves as [`CertMode::Allow`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CertMode {
    /// Never send a client certificate, even when one is configured.
    Disable,
    /// Send the configured certificate if the server asks (the default).
    #[default]
    Allow,
    /// Refuse the session unless a certificate was requested and sent.
    Require,
}

impl CertMode {
    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Require => "require",
        }
    }
}

impl fmt::Display for CertMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertMode {
    type Err = ();

    /// libpq compares with `strcmp` (case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(Self::Disable),
            "allow" => Ok(Self::Allow),
            "require" => Ok(Self::Require),
            _ => Err(()),
        }
    }
}

/// The files libpq would try for the client certificate (pure: from
/// parameters, environment and home directory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCertPlan {
    /// The certificate file (`None`: `sslcertmode=disable`, or no `sslcert`
    /// and no home directory).
    pub cert: Option<PathBuf>,
    /// The key file (`None`: no `sslkey` and no home directory).
    pub key: Option<PathBuf>,
    /// `sslkey` names an OpenSSL engine key (`engine:key`, any colon), not a file.
    pub engine_key: bool,
}

/// libpq's refusal under `sslcertmode=require` when the server sent no CertificateRequest.
pub const NOT_REQUESTED_MESSAGE: &str = "server did not request an SSL certificate";
/// libpq's refusal under `sslcertmode=require` when it had no certificate to send.
pub const NOT_SENT_MESSAGE: &str = "server accepted connection without a valid SSL certificate";

/// What libpq loaded as its client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCert {
    /// No certificate will be sent.
    None {
        /// Why (for reports).
        detail: String,
    },
    /// A certificate is loaded and will be sent if the server asks.
    Loaded {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The subject of the first certificate, when it parses.
        subject: Option<String>,
    },
}

impl ClientCert {
    /// Whether a certificate will be sent when the server asks for one.
    pub fn is_loaded(&self) -> bool {
        matches!(self, Self::Loaded { .. })
    }

    /// One line for reports.
    pub fn detail(&self) -> String {
        match self {
            Self::None { detail } => detail.clone(),
            Self::Loaded {
                cert, key, subject, ..
            } => format!(
                "{} ({}) with key {}",
                cert.display(),
                subject.as_deref().unwrap_or("subject not parsed"),
                key.display()
            ),
        }
    }
}

fn refuse(message: String) -> Refusal {
    Refusal { message }
}

/// The text libpq prints for `errno` (strerror, without Rust's suffix).
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

/// Loads the client certificate as `initialize_SSL` does (after the root
/// file; the caller checks that first).
///
/// The key file's existence, type and permissions are checked, then its
/// contents: an unencrypted key must load (`SSL_use_PrivateKey_file`, PEM
/// then DER) and belong to the certificate. Encrypted keys are not decrypted
/// (KNOWN-DIVERGENCES.md).
///
/// # Errors
/// libpq's refusal: a certificate file that cannot be stat'ed or read (or is
/// a FIFO, which libpq blocks opening), a missing key, a key that is not a
/// regular file or is readable by others, that cannot be read, does not load
/// or is not the certificate's.
pub fn load(plan: &Plan) -> Result<ClientCert, Refusal> {
    if plan.certmode == CertMode::Disable {
        return Ok(ClientCert::None {
            detail: "sslcertmode=disable: no client certificate is sent".into(),
        });
    }
    let Some(cert) = &plan.client_cert.cert else {
        return Ok(ClientCert::None {
            detail: "no sslcert and no home directory: no client certificate".into(),
        });
    };
    if let Err(e) = std::fs::metadata(cert) {
        // ENOENT (2), ENOTDIR (20): go on without a certificate.
        if matches!(e.raw_os_error(), Some(2 | 20)) {
            return Ok(ClientCert::None {
                detail: format!("{} does not exist: no client certificate", cert.display()),
            });
        }
        return Err(refuse(format!(
            "could not open certificate file \"{}\": {}",
            cert.display(),
            strerror(&e)
        )));
    }
    let (subject, cert_der) = read_certificate(cert)?;
    let key = if plan.client_cert.engine_key {
        // ENGINE_by_id / ENGINE_load_private_key: not modelled.
        plan.client_cert.key.clone().unwrap_or_default()
    } else {
        let key = check_key(plan.client_cert.key.as_deref())?;
        check_key_contents(&key, &cert_der)?;
        key
    };
    Ok(ClientCert::Loaded {
        cert: cert.clone(),
        key,
        subject,
    })
}

/// `SSL_CTX_use_certificate_chain_file`: the first PEM certificate must be
/// there (else OpenSSL's `no start line`, also for a directory).
fn read_certificate(path: &Path) -> Result<(Option<String>, Vec<u8>), Refusal> {
    let fail = |reason: &str| {
        refuse(format!(
            "could not read certificate file \"{}\": {reason}",
            path.display()
        ))
    };
    if crate::trust::is_fifo(path) {
        return Err(fail(crate::trust::FIFO_REASON));
    }
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(21) => Vec::new(), // EISDIR: reads nothing
        Err(e) => return Err(fail(&strerror(&e))),
    };
    let blocks = pgtls_x509::pem::read_x509_info(&data).map_err(|e| fail(e.0))?;
    let first = blocks.into_iter().find_map(|b| match b {
        pgtls_x509::pem::X509InfoBlock::Certificate { der, .. } => Some(der),
        pgtls_x509::pem::X509InfoBlock::Crl(_) => None,
    });
    match first {
        Some(der) => Ok((crate::certificate_subject(&der), der)),
        None => Err(fail("no start line")),
    }
}

/// `SSL_use_PrivateKey_file(PEM)`, then `(ASN1)`, and OpenSSL's check that
/// the key is the certificate's. OpenSSL keeps one certificate/key slot per
/// key type: a key of the certificate's type that does not match fails with
/// `key values mismatch`; a key of another type goes to an empty slot and
/// `SSL_check_private_key` finds no certificate for it. An encrypted key
/// (PKCS#8 `ENCRYPTED PRIVATE KEY`, or `Proc-Type`/`DEK-Info` headers) is
/// not decrypted: it passes (KNOWN-DIVERGENCES.md).
fn check_key_contents(key: &Path, cert_der: &[u8]) -> Result<(), Refusal> {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let load_fail = |reason: &str| {
        refuse(format!(
            "could not load private key file \"{}\": {reason}",
            key.display()
        ))
    };
    let data = std::fs::read(key).map_err(|e| load_fail(&strerror(&e)))?;
    if let Ok(blocks) = pgtls_x509::pem::parse(&data) {
        let encrypted = blocks.iter().any(|b| {
            b.label == "ENCRYPTED PRIVATE KEY"
                || (b.has_headers
                    && matches!(b.label.as_str(), "RSA PRIVATE KEY" | "EC PRIVATE KEY"))
        });
        if encrypted {
            return Ok(());
        }
    }
    let der = PrivateKeyDer::from_pem_slice(&data)
        .ok()
        .or_else(|| PrivateKeyDer::try_from(data.clone()).ok())
        .ok_or_else(|| load_fail("unsupported"))?;
    let provider = crate::provider::crypto_provider();
    let signing = provider
        .key_provider
        .load_private_key(der)
        .map_err(|_| load_fail("unsupported"))?;
    let Some(key_spki) = signing.public_key() else {
        return Ok(()); // not comparable here: left to the handshake
    };
    let Ok(cert) = pgtls_x509::Certificate::from_der(cert_der) else {
        return Ok(()); // OpenSSL loaded it; pgtls's parser did not: not decided here
    };
    let cert_spki = &cert.public_key().der;
    if key_spki.as_ref() == cert_spki.as_slice() {
        return Ok(());
    }
    /// The AlgorithmIdentifier's OID of a SubjectPublicKeyInfo.
    fn alg(spki: &[u8]) -> Option<Vec<u8>> {
        let top = pgtls_x509::der::read_all(spki).ok()?;
        let parts = pgtls_x509::der::children(top.content).ok()?;
        let ai = pgtls_x509::der::children(parts.first()?.content).ok()?;
        Some(ai.first()?.raw.to_vec())
    }
    match (alg(key_spki.as_ref()), alg(cert_spki)) {
        (Some(k), Some(c)) if k != c => Err(refuse(format!(
            "certificate does not match private key file \"{}\": no certificate assigned",
            key.display()
        ))),
        _ => Err(load_fail("key values mismatch")),
    }
}

/// The key checks of `initialize_SSL` before the key is read.
fn check_key(key: Option<&Path>) -> Result<PathBuf, Refusal> {
    use std::os::unix::fs::MetadataExt;
    let Some(key) = key else {
        // No key file name: no key is loaded, and SSL_check_private_key fails.
        return Err(refuse(
            "certificate does not match private key file \"\": no private key assigned".into(),
        ));
    };
    let meta = match std::fs::metadata(key) {
        Ok(m) => m,
        Err(e) if e.raw_os_error() == Some(2) => {
            return Err(refuse(format!(
                "certificate present, but not private key file \"{}\"",
                key.display()
            )));
        }
        Err(e) => {
            return Err(refuse(format!(
                "could not stat private key file \"{}\": {}",
                key.display(),
                strerror(&e)
            )));
        }
    };
    if !meta.is_file() {
        return Err(refuse(format!(
            "private key file \"{}\" is not a regular file",
            key.display()
        )));
    }
    let mode = meta.mode();
    let open = if meta.uid() == 0 {
        mode & 0o037 != 0 // S_IWGRP | S_IXGRP | S_IRWXO
    } else {
        mode & 0o077 != 0 // S_IRWXG | S_IRWXO
    };
    if open {
        return Err(refuse(format!(
            "private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
            key.display()
        )));
    }
    Ok(key.to_path_buf())
}

/// `check_expected_areq` at AuthenticationOk: under `sslcertmode=require`,
/// the session is refused unless the server asked for a certificate
/// (`requested`) and libpq sent one (`loaded`: a certificate is sent exactly
/// when one is loaded and the server asks).
///
/// # Errors
/// libpq's message for the refusal.
pub fn check_after_authentication(
    certmode: CertMode,
    requested: bool,
    loaded: bool,
) -> Result<(), &'static str> {
    if certmode != CertMode::Require {
        return Ok(());
    }
    if !requested {
        return Err(NOT_REQUESTED_MESSAGE);
    }
    if !loaded {
        return Err(NOT_SENT_MESSAGE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_libpqs() {
        for m in [CertMode::Disable, CertMode::Allow, CertMode::Require] {
            assert_eq!(m.as_str().parse::<CertMode>(), Ok(m));
        }
        assert!("Require".parse::<CertMode>().is_err());
        assert_eq!(CertMode::default(), CertMode::Allow);
    }

    #[test]
    fn the_check_after_authentication() {
        use CertMode::*;
        for requested in [false, true] {
            for loaded in [false, true] {
                assert_eq!(
                    check_after_authentication(Disable, requested, loaded),
                    Ok(())
                );
                assert_eq!(check_after_authentication(Allow, requested, loaded), Ok(()));
            }
        }
        assert_eq!(
            check_after_authentication(Require, false, true),
            Err(NOT_REQUESTED_MESSAGE)
        );
        assert_eq!(
            check_after_authentication(Require, false, false),
            Err(NOT_REQUESTED_MESSAGE)
        );
        assert_eq!(
            check_after_authentication(Require, true, false),
            Err(NOT_SENT_MESSAGE)
        );
        assert_eq!(check_after_authentication(Require, true, true), Ok(()));
    }
}
