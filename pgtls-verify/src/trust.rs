//! Loading trust anchors and CRLs as libpq does (`initialize_SSL`), and
//! evaluating a presented chain against them.

use std::fs;
use std::path::{Path, PathBuf};

use pgtls_hba::PgVersion;
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::cert::{Cert, Crl};
use crate::chain::{self, Purpose, Store};
use crate::hostname::{self, HostCheck};
use crate::outcome::{Check, Verdict};
use crate::policy::{self, Plan, Refusal, RootPlan};
use crate::sslmode::SslMode;
use pgtls_x509::pem::{X509InfoBlock as Block, read_x509_info};

/// OpenSSL's default `max_cert_list` (100 KiB): a larger Certificate message
/// aborts the handshake with `excessive message size`.
pub const MAX_CERT_LIST: usize = 100 * 1024;

/// The size of a TLS 1.3 Certificate message body carrying `chain`: context
/// and list length, then per entry a 3-byte length, the DER and 2 bytes of
/// (empty) extensions. OpenSSL compares it with `max_cert_list`.
pub(crate) fn certificate_message_size(chain: &[CertificateDer<'_>]) -> usize {
    chain
        .iter()
        .fold(4usize, |n, c| n.saturating_add(5).saturating_add(c.len()))
}

/// Parses DER certificates (leaf first), naming the index of one that does
/// not parse.
pub(crate) fn parse_chain(chain: &[CertificateDer<'_>]) -> Result<Vec<Cert>, crate::Error> {
    chain
        .iter()
        .enumerate()
        .map(|(i, der)| {
            Cert::from_der(der).map_err(|e| crate::Error::BadCertificate {
                index: i,
                reason: e,
            })
        })
        .collect()
}

/// How the root file was (or was not) used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootState {
    /// The chain is verified against these anchors.
    Loaded {
        /// Description (path or "system").
        from: String,
        /// Number of certificates loaded.
        certs: usize,
    },
    /// No root file: libpq does not verify the server certificate.
    Absent {
        /// The path libpq looked for, if any.
        path: Option<PathBuf>,
    },
}

/// The trust configuration libpq builds for one connection: the loaded root
/// file and CRLs, or nothing.
#[derive(Clone, Debug)]
pub struct TrustConfig {
    mode: SslMode,
    version: PgVersion,
    host: Option<String>,
    root: RootState,
    crl_detail: String,
    store: Option<Store>,
}

/// Why pgtls refuses a FIFO where libpq opens a file: OpenSSL's `fopen` blocks
/// until a writer opens it, so libpq's connection never completes.
pub(crate) const FIFO_REASON: &str = "is a FIFO: libpq blocks opening it (until a writer opens it), the connection does not complete";

/// Whether `path` (symlinks followed, as `fopen` does) is a FIFO.
pub(crate) fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Reads a CA file as `X509_load_cert_crl_file` does; `Err` holds OpenSSL's
/// reason string.
pub(crate) fn load_cert_crl_file(path: &Path) -> Result<(Vec<Cert>, Vec<Crl>), String> {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(21) => Vec::new(), // EISDIR: fopen works, reads nothing
        Err(e) => return Err(io_reason(&e)),
    };
    let blocks = read_x509_info(&data).map_err(|e| e.0.to_string())?;
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    for b in blocks {
        match b {
            Block::Certificate { der, trusted } => {
                let der = if trusted {
                    first_tlv(&der).unwrap_or(der)
                } else {
                    der
                };
                certs.push(Cert::from_der(&der).map_err(|_| asn1_reason(&der).to_string())?);
            }
            Block::Crl(der) => {
                crls.push(Crl::from_der(&der).map_err(|_| "nested asn1 error".to_string())?)
            }
        }
    }
    if certs.is_empty() && crls.is_empty() {
        return Err("no certificate or crl found".into());
    }
    Ok((certs, crls))
}

/// The first error OpenSSL's DER decoder raises for undecodable `der`
/// (`ASN1_get_object` checks the header and length before `asn1_check_tlen`
/// checks the tag); deeper failures are reported as `nested asn1 error`.
fn asn1_reason(der: &[u8]) -> &'static str {
    let Some(&len_byte) = der.get(1) else {
        return "header too long";
    };
    let (hdr, len) = if len_byte < 0x80 {
        (2usize, usize::from(len_byte))
    } else {
        let n = usize::from(len_byte & 0x7f);
        if n == 0 || der.len() < 2 + n {
            return "header too long";
        }
        let mut l = 0usize;
        for i in 0..n {
            l = l
                .saturating_mul(256)
                .saturating_add(usize::from(der.get(2 + i).copied().unwrap_or(0)));
        }
        (2 + n, l)
    };
    if len > der.len().saturating_sub(hdr) {
        return "too long";
    }
    if der.first() != Some(&0x30) {
        return "wrong tag";
    }
    "nested asn1 error"
}

/// The first DER element of `b` (a TRUSTED CERTIFICATE is a certificate plus aux data).
fn first_tlv(b: &[u8]) -> Option<Vec<u8>> {
    pgtls_x509::der::read(b).ok().map(|(t, _)| t.raw.to_vec())
}

/// The text libpq prints for a system error (strerror, without Rust's suffix).
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

/// An OpenSSL hashed directory as `X509_LOOKUP_hash_dir` serves it: for a
/// name hash `h`, the files `h.0`, `h.1`, ... (certificates) and `h.r0`,
/// `h.r1`, ... (CRLs) up to the first missing number. An object is kept when
/// its subject (certificate) or issuer (CRL) name hashes to `h`, the name the
/// lookup asked for.
pub(crate) fn load_hash_dir(dir: &Path) -> (Vec<Cert>, Vec<Crl>) {
    use std::collections::BTreeSet;
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return (certs, crls);
    };
    let names: BTreeSet<String> = rd
        .filter_map(|e| {
            e.ok()
                .and_then(|e| e.file_name().to_str().map(str::to_string))
        })
        .collect();
    let mut hashes: BTreeSet<(String, bool)> = BTreeSet::new();
    for name in &names {
        let Some((hash, suffix)) = name.split_once('.') else {
            continue;
        };
        if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        match suffix.strip_prefix('r') {
            Some("0") => {
                hashes.insert((hash.to_string(), true));
            }
            None if suffix == "0" => {
                hashes.insert((hash.to_string(), false));
            }
            _ => {}
        }
    }
    for (hash, is_crl) in hashes {
        let Ok(h) = u32::from_str_radix(&hash, 16) else {
            continue;
        };
        for n in 0.. {
            let file = if is_crl {
                format!("{hash}.r{n}")
            } else {
                format!("{hash}.{n}")
            };
            if !names.contains(&file) {
                break;
            }
            let Ok((c, r)) = load_cert_crl_file(&dir.join(&file)) else {
                continue;
            };
            if is_crl {
                crls.extend(r.into_iter().filter(|x| x.issuer().hash() == h));
            } else {
                certs.extend(c.into_iter().filter(|x| x.subject_hash() == h));
            }
        }
    }
    (certs, crls)
}

impl TrustConfig {
    /// Builds what `initialize_SSL` builds for `plan`: reads the root file
    /// (or the system store) and the CRLs.
    ///
    /// # Errors
    /// libpq's refusal: a missing root file under verify-*, an unreadable root
    /// file in any mode.
    pub fn load(plan: &Plan, env: &crate::params::Env) -> Result<Self, Refusal> {
        let mut cfg = Self {
            mode: plan.mode,
            version: plan.version,
            host: plan.host.clone(),
            root: RootState::Absent { path: None },
            crl_detail: "CRL checking off: no root file loaded".into(),
            store: None,
        };
        match &plan.root {
            RootPlan::System => {
                let file = env
                    .var("SSL_CERT_FILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/usr/lib/ssl/cert.pem"));
                let (mut certs, _) = load_cert_crl_file(&file).unwrap_or_default();
                if let Some(dir) = env.var("SSL_CERT_DIR") {
                    for d in dir.split(':') {
                        certs.extend(load_hash_dir(Path::new(d)).0);
                    }
                }
                cfg.root = RootState::Loaded {
                    from: format!("system ({})", file.display()),
                    certs: certs.len(),
                };
                cfg.crl_detail = "CRL parameters are ignored with sslrootcert=system".into();
                cfg.store = Some(Store {
                    trusted: certs,
                    crls: Vec::new(),
                    crl_check: false,
                });
            }
            RootPlan::File(path) if fs::metadata(path).is_ok() => {
                if is_fifo(path) {
                    return Err(Refusal {
                        message: format!(
                            "could not read root certificate file \"{}\": {FIFO_REASON}",
                            path.display()
                        ),
                    });
                }
                let (mut trusted, mut crls) =
                    load_cert_crl_file(path).map_err(|reason| Refusal {
                        message: format!(
                            "could not read root certificate file \"{}\": {reason}",
                            path.display()
                        ),
                    })?;
                cfg.root = RootState::Loaded {
                    from: path.display().to_string(),
                    certs: trusted.len(),
                };
                // X509_STORE_load_locations(store, file, dir): the file first; its
                // failure (missing, unreadable, no objects) leaves CRL checking off.
                let mut crl_check = false;
                let mut detail = String::new();
                let file_ok = match &plan.crl.file {
                    // X509_load_cert_crl_file fopens it too: libpq blocks.
                    Some(f) if is_fifo(f) => {
                        return Err(Refusal {
                            message: format!(
                                "could not read CRL file \"{}\": {FIFO_REASON}",
                                f.display()
                            ),
                        });
                    }
                    Some(f) => match load_cert_crl_file(f) {
                        Ok((c, r)) => {
                            detail = format!("{} CRL(s) from {}", r.len(), f.display());
                            trusted.extend(c);
                            crls.extend(r);
                            true
                        }
                        Err(e) => {
                            detail =
                                format!("{} not loaded ({e}): CRL checking stays off", f.display());
                            false
                        }
                    },
                    None => true,
                };
                if file_ok && (plan.crl.file.is_some() || plan.crl.dir.is_some()) {
                    if let Some(d) = &plan.crl.dir {
                        let (c, r) = load_hash_dir(d);
                        if !detail.is_empty() {
                            detail.push_str("; ");
                        }
                        detail.push_str(&format!(
                            "{} CRL(s) from directory {}",
                            r.len(),
                            d.display()
                        ));
                        trusted.extend(c);
                        crls.extend(r);
                    }
                    crl_check = true;
                    detail.push_str(": CRL_CHECK|CRL_CHECK_ALL on");
                }
                if detail.is_empty() {
                    detail = "no CRL configured".into();
                }
                cfg.crl_detail = detail;
                cfg.store = Some(Store {
                    trusted,
                    crls,
                    crl_check,
                });
            }
            other => {
                if plan.mode.is_verify() {
                    return Err(Refusal {
                        message: policy::missing_root_message(other, plan.version),
                    });
                }
                cfg.root = RootState::Absent {
                    path: match other {
                        RootPlan::File(p) => Some(p.clone()),
                        _ => None,
                    },
                };
            }
        }
        Ok(cfg)
    }

    /// This configuration with `add` put into the trust store and the certificates
    /// equal to one of `remove` taken out (a root file edited as a rotation plan
    /// proposes). Without a store (no root file: no verification) the store is made
    /// of `add`, as a root file created with them would be.
    pub(crate) fn with_anchors(mut self, add: &[Cert], remove: &[Cert]) -> Self {
        let store = self.store.get_or_insert_with(Store::default);
        store
            .trusted
            .retain(|c| !remove.iter().any(|r| r.der() == c.der()));
        for c in add {
            if !store.trusted.iter().any(|t| t.der() == c.der()) {
                store.trusted.push(c.clone());
            }
        }
        let from = match &self.root {
            RootState::Loaded { from, .. } => format!("{from} (edited)"),
            RootState::Absent { path } => path.as_ref().map_or_else(
                || "a new root file".to_owned(),
                |p| format!("{} (created)", p.display()),
            ),
        };
        self.root = RootState::Loaded {
            from,
            certs: store.trusted.len(),
        };
        self
    }

    /// This configuration with `crls` added to the store's CRLs (a CRL file given more
    /// CRLs, as a rotation plan proposes); CRL checking stays as libpq configured it.
    pub(crate) fn with_crls(mut self, crls: &[Crl]) -> Self {
        if let Some(store) = self.store.as_mut() {
            for c in crls {
                if !store.crls.iter().any(|x| x.der() == c.der()) {
                    store.crls.push(c.clone());
                }
            }
        }
        self
    }

    /// The configuration a root file made of `anchors` alone gives (no CRL), for a
    /// plan whose root file does not exist.
    pub(crate) fn from_anchors(plan: &Plan, anchors: &[Cert]) -> Self {
        Self {
            mode: plan.mode,
            version: plan.version,
            host: plan.host.clone(),
            root: RootState::Absent {
                path: match &plan.root {
                    RootPlan::File(p) => Some(p.clone()),
                    _ => None,
                },
            },
            crl_detail: "no CRL configured".into(),
            store: None,
        }
        .with_anchors(anchors, &[])
    }

    /// The trust-store certificates a verification of `chain` at `now` uses (its
    /// anchor, and any store certificate on the way); none when it does not verify.
    pub(crate) fn anchors_used(&self, chain: &[Cert], now: i64) -> Vec<Cert> {
        self.store
            .as_ref()
            .and_then(|s| chain::store_path(chain, s, Purpose::SslServer, now))
            .unwrap_or_default()
    }

    /// How the root file was used.
    pub fn root(&self) -> &RootState {
        &self.root
    }

    /// Whether the chain is verified at all.
    pub fn verifies_chain(&self) -> bool {
        self.store.is_some()
    }

    /// The TLS attempt's verdict for a server presenting `chain` (DER, leaf
    /// first, as sent) at `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// A certificate pgtls cannot parse.
    pub fn evaluate(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Verdict, crate::Error> {
        self.evaluate_host(chain, now, self.host.as_deref())
    }

    /// As [`TrustConfig::evaluate`], with `host` as the name verify-full
    /// checks instead of the plan's `host` (`None`: no host name, which
    /// verify-full refuses as libpq does).
    ///
    /// # Errors
    /// A certificate pgtls cannot parse.
    pub fn evaluate_host(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
        host: Option<&str>,
    ) -> Result<Verdict, crate::Error> {
        let now = crate::unix_secs(now);
        let mut checks = Vec::new();
        let size = certificate_message_size(chain);
        if size > MAX_CERT_LIST {
            checks.push(Check::fail(
                "handshake",
                format!("Certificate message of {size} bytes exceeds OpenSSL's max_cert_list ({MAX_CERT_LIST})"),
            ));
            return Ok(Verdict::reject(
                "SSL error: excessive message size",
                true,
                checks,
            ));
        }
        let certs = parse_chain(chain)?;
        let Some(leaf) = certs.first() else {
            return Err(crate::Error::NoServerCertificate);
        };
        match &self.root {
            RootState::Loaded { from, certs } => {
                checks.push(Check::pass(
                    "root",
                    format!("{certs} certificate(s) loaded from {from}"),
                ));
                checks.push(Check::pass("crl", self.crl_detail.clone()));
            }
            RootState::Absent { path } => {
                let p = path
                    .as_ref()
                    .map(|p| format!("root file {} does not exist", p.display()))
                    .unwrap_or_else(|| "no home directory and no sslrootcert".into());
                checks.push(Check::skip(
                    "root",
                    format!("{p}: the server certificate is not verified"),
                ));
            }
        }
        if let Some(store) = &self.store {
            match chain::verify(&certs, store, Purpose::SslServer, now) {
                Ok(links) => {
                    let path: Vec<String> = links.iter().map(|l| l.subject.clone()).collect();
                    checks.push(Check::pass(
                        "chain",
                        format!("verified: {}", path.join(" <- ")),
                    ));
                }
                Err(f) => {
                    checks.push(Check::chain_failure("chain", f));
                    return Ok(Verdict::reject(
                        "SSL error: certificate verify failed",
                        true,
                        checks,
                    ));
                }
            }
        } else {
            checks.push(Check::skip("chain", "not verified (no root file)"));
        }
        if self.mode == SslMode::VerifyFull {
            let host = host.unwrap_or("");
            match hostname::check(leaf, host.as_bytes(), self.version) {
                HostCheck::Match(n) => checks.push(Check::pass(
                    "hostname",
                    format!("\"{host}\" matches \"{n}\""),
                )),
                HostCheck::Reject(msg) => {
                    checks.push(Check::fail("hostname", msg.clone()));
                    return Ok(Verdict::reject(msg, true, checks));
                }
            }
        } else {
            checks.push(Check::skip(
                "hostname",
                format!("not checked under sslmode={}", self.mode),
            ));
        }
        Ok(Verdict::accepting(checks))
    }
}
