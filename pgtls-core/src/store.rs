//! The CA store: a directory in the layout `openssl ca` uses.
//!
//! ```text
//! cacert.pem           the CA certificate           (openssl: certificate)
//! chain.pem            CA certificate + the ones above it (intermediate CAs only)
//! private/cakey.pem    the CA key, 0600             (openssl: private_key)
//! index.txt            the database                 (openssl: database)
//! index.txt.attr       unique_subject = no
//! serial               next serial for openssl ca   (pgtls draws random serials)
//! crlnumber            next CRL number, hex         (shared by both tools)
//! newcerts/<SERIAL>.pem every issued certificate    (openssl: new_certs_dir)
//! crl.pem              the last CRL                 (openssl: crl)
//! openssl.cnf          makes `openssl ca -config openssl.cnf -revoke/-gencrl` work here
//! ```
//!
//! Every mutation holds an exclusive `flock` on the store directory itself (so no lock
//! file appears and a failed operation leaves the directory unchanged), waiting up to
//! [`LOCK_WAIT`] for another writer; every write goes
//! to a temporary file in the same directory, is fsynced, renamed into place, and the
//! directory is fsynced; keys are created with mode 0600 before their first byte.
//!
//! # Crash safety
//!
//! An operation writes everything it needs to temporary files first (a full disk fails
//! here, before anything changed), then renames them into place in an order that makes
//! one rename the commit point:
//!
//! * issue (one certificate, or a batch of them under one lock): every certificate is
//!   signed first (an error here writes nothing); the certificates and the new
//!   `index.txt` are written to temporary files and made durable; every certificate is
//!   renamed to `.pgtls-pending-<SERIAL>.pem` in the store directory and the directory
//!   is fsynced once; then `index.txt` is replaced (**commit**: the whole batch is
//!   issued, or none of it), then the pending files are moved to `newcerts/<SERIAL>.pem`
//!   (one fsync of `newcerts/` and one of the store directory). Once the index is
//!   replaced the certificates are issued: should a move fail, the next writer (or
//!   [`DirStore::open`]) finishes it;
//! * CRL: `crlnumber` is advanced (**commit**: the number is used up), then `crl.pem` is
//!   replaced. A process killed in between leaves a gap in CRL numbers, never two
//!   different CRLs with one number;
//! * revoke: `index.txt` is replaced (one rename).
//!
//! How the temporaries are made durable: one or a few certificates are fsynced file by
//! file; a batch of 4 certificates or more is written without per-file
//! fsyncs and then flushed with one `syncfs(2)` of the store's file system (Linux; it
//! reports write-back errors since Linux 5.8), which costs one journal commit instead of
//! one per file. Either way nothing is renamed before everything is on disk.
//!
//! Whoever takes the lock next (any writer, and [`DirStore::open`] when the store is not
//! locked) removes temporaries of killed writers and finishes or rolls back a pending
//! issuance: moved into `newcerts/` when `index.txt` lists its serial, removed when it
//! does not (the certificate was never recorded nor returned). So a store killed at any
//! instant opens with an index that lists exactly the certificates in `newcerts/`.
//!
//! Creating a store in a directory that does not exist yet builds it complete under a
//! temporary name next to it (`.pgtls-tmp-create-*`, locked while it is filled) and
//! renames it into place; the next create removes what a killed one left.
//!
//! The write paths pass named crash points (`crash.rs`; compiled in only with the
//! test-only `crash-points` feature): `tests/store_crash_points.rs` aborts a process at
//! every pass of every point and checks that each operation was all or nothing.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::ca::Ca;
use crate::cert::Certificate;
use crate::crl::{Crl, CrlParams, RevocationReason, RevokedEntry};
use crate::csr::Csr;
use crate::error::Error;
use crate::key::{KeyPair, PublicKey};
use crate::params::CertificateParams;
use crate::profile::CsrPolicy;
use crate::serial::SerialNumber;

mod check;
pub use check::{StoreCheck, StoreProblem};

/// Prefix of the temporary files atomic writes rename into place.
const TEMP_PREFIX: &str = ".pgtls-tmp-";

/// Prefix of a certificate whose issuance has not finished (see the module docs).
const PENDING_PREFIX: &str = ".pgtls-pending-";

/// From this many certificates on, a batch issuance flushes its temporary files with one
/// `syncfs(2)` instead of one fsync per file (Linux only; see the module docs).
pub(crate) const SYNCFS_MIN: usize = 4;

/// The file names of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFiles {
    /// The store directory.
    pub dir: PathBuf,
    /// `cacert.pem`.
    pub cert: PathBuf,
    /// `chain.pem`.
    pub chain: PathBuf,
    /// `private/cakey.pem`.
    pub key: PathBuf,
    /// `index.txt`.
    pub index: PathBuf,
    /// `serial`.
    pub serial: PathBuf,
    /// `crlnumber`.
    pub crlnumber: PathBuf,
    /// `newcerts/`.
    pub newcerts: PathBuf,
    /// `crl.pem`.
    pub crl: PathBuf,
    /// `openssl.cnf`.
    pub openssl_cnf: PathBuf,
}

impl StoreFiles {
    /// The file names of a store in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            cert: dir.join("cacert.pem"),
            chain: dir.join("chain.pem"),
            key: dir.join("private").join("cakey.pem"),
            index: dir.join("index.txt"),
            serial: dir.join("serial"),
            crlnumber: dir.join("crlnumber"),
            newcerts: dir.join("newcerts"),
            crl: dir.join("crl.pem"),
            openssl_cnf: dir.join("openssl.cnf"),
        }
    }

    /// `newcerts/<SERIAL>.pem`.
    pub fn newcert(&self, serial: &SerialNumber) -> PathBuf {
        self.newcerts.join(format!("{}.pem", serial.to_hex()))
    }

    /// `.pgtls-pending-<SERIAL>.pem`: a certificate between its signature and the end of
    /// its issuance (see the module docs).
    pub fn pending(&self, serial: &SerialNumber) -> PathBuf {
        self.dir
            .join(format!("{PENDING_PREFIX}{}.pem", serial.to_hex()))
    }
}

/// The status column of `index.txt`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexStatus {
    /// `V`: valid.
    Valid,
    /// `R`: revoked.
    Revoked {
        /// Revocation time.
        at: OffsetDateTime,
        /// Reason, if recorded.
        reason: Option<RevocationReason>,
    },
    /// `E`: expired (written by `openssl ca -updatedb`).
    Expired,
}

/// One line of `index.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Status.
    pub status: IndexStatus,
    /// The certificate's notAfter.
    pub expires: OffsetDateTime,
    /// Serial number.
    pub serial: SerialNumber,
    /// The file name column (OpenSSL writes `unknown`).
    pub file: String,
    /// The subject in OpenSSL's one-line form (`/DC=org/CN=x`).
    pub subject: String,
    /// Extra revocation detail after the reason (hold instruction or compromise time),
    /// kept verbatim.
    extra: Option<String>,
}

impl IndexEntry {
    /// The entry of a newly issued (valid) certificate.
    fn issued(cert: &Certificate, serial: SerialNumber) -> Self {
        Self {
            status: IndexStatus::Valid,
            expires: cert.not_after(),
            serial,
            file: "unknown".to_owned(),
            subject: cert.subject().to_openssl_oneline(),
            extra: None,
        }
    }

    fn to_line(&self) -> String {
        let (flag, rev) = match self.status {
            IndexStatus::Valid => ("V", String::new()),
            IndexStatus::Expired => ("E", String::new()),
            IndexStatus::Revoked { at, reason } => {
                let mut r = format_index_time(at);
                if let Some(reason) = reason {
                    r.push(',');
                    r.push_str(reason.openssl_name());
                    if let Some(extra) = &self.extra {
                        r.push(',');
                        r.push_str(extra);
                    }
                }
                ("R", r)
            }
        };
        format!(
            "{flag}\t{}\t{rev}\t{}\t{}\t{}\n",
            format_index_time(self.expires),
            self.serial.to_hex(),
            self.file,
            self.subject
        )
    }
}

/// A CA store. The directory implementation is [`DirStore`]; a transactional
/// implementation on PostgreSQL can follow the same contract.
pub trait Store {
    /// The CA.
    fn ca(&self) -> &Ca;

    /// Every issued certificate's record.
    ///
    /// # Errors
    /// [`Error::StoreCorrupt`] for an unreadable index, [`Error::Io`].
    fn entries(&self) -> Result<Vec<IndexEntry>, Error>;

    /// Issues and records a certificate (a random serial unique in the store unless
    /// `params.serial` is set, in which case it must be unused).
    ///
    /// # Errors
    /// As [`Ca::issue`], plus [`Error::DuplicateSerial`], [`Error::StoreLocked`],
    /// [`Error::StoreCorrupt`], [`Error::Io`].
    fn issue(
        &self,
        params: &CertificateParams,
        subject_key: &PublicKey,
        now: OffsetDateTime,
    ) -> Result<Certificate, Error>;

    /// Issues and records several certificates at once, all or nothing: serials are
    /// unique in the store and within the batch (explicit `serial`s must be unused by
    /// both), every certificate is signed before anything is written, and one commit
    /// records them all. Returns the certificates in the order of `requests`.
    ///
    /// There is no default that loops over [`Store::issue`]: that would not be all or
    /// nothing.
    ///
    /// # Errors
    /// As [`Store::issue`]; on any error no certificate is issued.
    fn issue_batch(
        &self,
        requests: &[(CertificateParams, PublicKey)],
        now: OffsetDateTime,
    ) -> Result<Vec<Certificate>, Error>;

    /// Signs and records a CSR as `policy` says ([`CsrPolicy`]: the one CSR policy of
    /// pgtls, which the CLI and the C ABI map their arguments onto).
    ///
    /// # Errors
    /// As [`CsrPolicy::params`] and [`Store::issue`].
    fn sign_csr(
        &self,
        csr: &Csr,
        policy: &CsrPolicy,
        now: OffsetDateTime,
    ) -> Result<Certificate, Error> {
        self.issue(&policy.params(csr)?, csr.public_key(), now)
    }

    /// Marks a certificate revoked at `now`.
    ///
    /// # Errors
    /// [`Error::UnknownSerial`], [`Error::AlreadyRevoked`], [`Error::StoreLocked`],
    /// [`Error::StoreCorrupt`], [`Error::Io`].
    fn revoke(
        &self,
        serial: &SerialNumber,
        reason: Option<RevocationReason>,
        now: OffsetDateTime,
    ) -> Result<IndexEntry, Error>;

    /// Marks `cert` revoked at `now`: the certificate itself rather than its serial, so
    /// that a certificate of another CA that happens to share a serial is refused.
    /// `cert` must name this store's CA as its issuer and carry a signature the CA's
    /// key made; its serial must be recorded in the store.
    ///
    /// # Errors
    /// [`Error::NotIssuedByCa`] for a certificate of another CA,
    /// [`Error::InvalidParameter`] (field `serial`) for a serial that is not positive
    /// (no store records one), then as [`Store::revoke`].
    fn revoke_certificate(
        &self,
        cert: &Certificate,
        reason: Option<RevocationReason>,
        now: OffsetDateTime,
    ) -> Result<IndexEntry, Error> {
        let ca = self.ca().certificate();
        if cert.issuer() != ca.subject() || !cert.is_signed_by(ca) {
            return Err(Error::NotIssuedByCa {
                subject: cert.subject().to_string(),
                serial: cert.serial_hex(),
                ca: ca.subject().to_string(),
            });
        }
        let serial = cert.serial().ok_or_else(|| {
            Error::invalid(
                "serial",
                format!(
                    "{} is not positive, so no store records it",
                    cert.serial_hex()
                ),
            )
        })?;
        self.revoke(&serial, reason, now)
    }

    /// Generates, records and returns a CRL of every revoked certificate, with the next
    /// CRL number, `thisUpdate = now` and `next_update`.
    ///
    /// # Errors
    /// As [`Ca::sign_crl`], plus the store errors.
    fn generate_crl(&self, next_update: OffsetDateTime, now: OffsetDateTime) -> Result<Crl, Error>;

    /// A certificate issued by this store.
    ///
    /// # Errors
    /// [`Error::UnknownSerial`], [`Error::Malformed`], [`Error::Io`].
    fn certificate(&self, serial: &SerialNumber) -> Result<Certificate, Error>;
}

/// A CA store in a directory, in `openssl ca`'s layout.
#[derive(Debug)]
pub struct DirStore {
    files: StoreFiles,
    ca: Ca,
}

/// An exclusive lock on the store directory, released on drop.
struct StoreLock {
    dir: File,
}

impl DirStore {
    /// Creates a store in `dir` (created if missing) for `ca`. The CA key is written
    /// encrypted when `passphrase` is given. Refuses when the directory already holds a
    /// CA key or an index.
    ///
    /// A missing `dir` is built complete under a temporary name next to it
    /// (`.pgtls-tmp-create-*`) and renamed into place, so a create that fails or is
    /// killed leaves no store behind; the next create removes a killed one's leftovers.
    /// An existing directory is filled in place, `index.txt` last.
    ///
    /// # Errors
    /// [`Error::FileExists`], [`Error::Io`].
    pub fn create(dir: &Path, ca: Ca, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        Self::create_with_iterations(dir, ca, passphrase, crate::key::PBKDF2_ITERATIONS)
    }

    /// As [`DirStore::create`], encrypting the CA key (when `passphrase` is given) with
    /// `iterations` PBKDF2 rounds.
    ///
    /// # Errors
    /// As [`DirStore::create`].
    pub fn create_with_iterations(
        dir: &Path,
        ca: Ca,
        passphrase: Option<&[u8]>,
        iterations: u32,
    ) -> Result<Self, Error> {
        let files = StoreFiles::in_dir(dir);
        for existing in [&files.key, &files.index, &files.cert] {
            if existing.exists() {
                return Err(Error::FileExists {
                    path: existing.clone(),
                });
            }
        }
        if dir.is_dir() {
            // An existing directory (perhaps a mount point, or with permissions the
            // operator chose) is filled in place; `index.txt` comes last, so a store is
            // never seen half made, but a kill can leave files that stop a second try.
            let _lock = lock(&files)?;
            populate(&files, &files.dir, &ca, passphrase, iterations)?;
            return Ok(Self { files, ca });
        }
        // A new directory is built under a temporary name next to it and renamed into
        // place: a killed or failing create leaves no store and nothing that stops the
        // next try (which removes what a killed one left).
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dir.file_name().ok_or_else(|| Error::NotAStore {
            path: dir.to_path_buf(),
            reason: "not a directory name".to_owned(),
        })?;
        mkdir(parent, 0o755)?;
        let parent_abs = parent
            .canonicalize()
            .map_err(|e| Error::io("cannot resolve", parent, e))?;
        remove_stale_staging(parent);
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(parent)
            .map_err(|e| Error::io("cannot create a temporary directory in", parent, e))?;
        // Locked while it is being filled, so that a concurrent create leaves it alone.
        let staged = StoreFiles::in_dir(staging.path());
        let lock = File::open(&staged.dir)
            .and_then(|f| f.try_lock().map_err(std::io::Error::from).map(|()| f))
            .map_err(|e| Error::io("cannot lock", &staged.dir, e))?;
        fs::set_permissions(&staged.dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("cannot set permissions on", &staged.dir, e))?;
        populate(&staged, &parent_abs.join(name), &ca, passphrase, iterations)?;
        sync_dir(&staged.dir)?;
        crate::crash::hit("create.staged");
        // From here the directory is no longer removed when `staging` is dropped.
        let staged_path = staging.keep();
        if let Err(e) = fs::rename(&staged_path, dir) {
            let _ = fs::remove_dir_all(&staged_path);
            return Err(if dir.exists() {
                Error::FileExists {
                    path: dir.to_path_buf(),
                }
            } else {
                Error::io("cannot rename a new store to", dir, e)
            });
        }
        sync_parent(dir)?;
        drop(lock);
        Ok(Self { files, ca })
    }

    /// Opens an existing store (made by pgtls or by `openssl ca`), loading the CA key with
    /// `passphrase` if it is encrypted, and checking that `index.txt` parses.
    ///
    /// # Errors
    /// [`Error::NotAStore`], [`Error::StoreCorrupt`], the key errors of
    /// [`KeyPair::from_pem_or_der`], [`Error::KeyMismatch`], [`Error::NotCa`].
    pub fn open(dir: &Path, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        let files = StoreFiles::in_dir(dir);
        for (path, what) in [
            (&files.cert, "no CA certificate cacert.pem"),
            (&files.key, "no CA key private/cakey.pem"),
            (&files.index, "no index.txt"),
        ] {
            if !path.is_file() {
                return Err(Error::NotAStore {
                    path: dir.to_path_buf(),
                    reason: what.to_owned(),
                });
            }
        }
        let cert_label = files.cert.display().to_string();
        let cert = Certificate::from_pem_or_der(&read(&files.cert)?, &cert_label)?;
        let key_label = files.key.display().to_string();
        let key = KeyPair::from_pem_or_der(&read(&files.key)?, passphrase, &key_label)?;
        if !key.matches(cert.public_key()) {
            return Err(Error::KeyMismatch {
                key: key_label,
                certificate: cert_label,
            });
        }
        let chain = if files.chain.is_file() {
            let label = files.chain.display().to_string();
            let mut all = Certificate::chain_from_pem_or_der(&read(&files.chain)?, &label)?;
            if all.first() == Some(&cert) {
                all.remove(0);
            }
            all
        } else {
            Vec::new()
        };
        let ca = Ca::from_parts(cert, key, chain, &cert_label)?;
        let store = Self { files, ca };
        store.read_index()?;
        // Finish what a killed writer left, unless a live writer holds the lock (it
        // does the same when it is done).
        try_lock(&store.files)?;
        Ok(store)
    }

    /// Reads and checks the `index.txt` of the store described by `files` without
    /// opening the store (no CA key needed): for reports.
    ///
    /// # Errors
    /// [`Error::StoreCorrupt`], [`Error::Io`].
    pub fn read_entries(files: &StoreFiles) -> Result<Vec<IndexEntry>, Error> {
        parse_index(&read(&files.index)?, &files.index)
    }

    /// The file names.
    pub fn files(&self) -> &StoreFiles {
        &self.files
    }

    /// The last CRL written to `crl.pem`, if any.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Io`].
    pub fn current_crl(&self) -> Result<Option<Crl>, Error> {
        if !self.files.crl.is_file() {
            return Ok(None);
        }
        let label = self.files.crl.display().to_string();
        Crl::from_pem_or_der(&read(&self.files.crl)?, &label).map(Some)
    }

    fn read_index(&self) -> Result<Vec<IndexEntry>, Error> {
        let text = read(&self.files.index)?;
        parse_index(&text, &self.files.index)
    }

    fn write_index(&self, entries: &[IndexEntry]) -> Result<(), Error> {
        self.prepare_index(entries)?.commit(&self.files.index, true)
    }

    fn prepare_index(&self, entries: &[IndexEntry]) -> Result<Prepared, Error> {
        self.prepare_index_synced(entries, true)
    }

    fn prepare_index_synced(&self, entries: &[IndexEntry], sync: bool) -> Result<Prepared, Error> {
        let mut text = String::with_capacity(entries.len() * 120);
        for e in entries {
            text.push_str(&e.to_line());
        }
        Prepared::write(&self.files.dir, text.as_bytes(), 0o644, sync)
    }

    /// The issuance protocol of the module docs, for one certificate or many.
    fn issue_all(
        &self,
        requests: &[(&CertificateParams, &PublicKey)],
        now: OffsetDateTime,
    ) -> Result<Vec<Certificate>, Error> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let lock = lock(&self.files)?;
        let mut entries = self.read_index()?;
        let mut used: HashSet<SerialNumber> = entries.iter().map(|e| e.serial.clone()).collect();
        let duplicate = |s: &SerialNumber| Error::DuplicateSerial {
            serial: s.to_hex(),
            path: self.files.index.clone(),
        };
        // Explicit serials first, so that a random one never takes a serial asked for
        // later in the batch.
        for (params, _) in requests {
            if let Some(s) = &params.serial
                && (self.files.newcert(s).exists() || !used.insert(s.clone()))
            {
                return Err(duplicate(s));
            }
        }
        // Sign everything before writing anything.
        let mut issued = Vec::with_capacity(requests.len());
        for (params, subject_key) in requests {
            let serial = match &params.serial {
                Some(s) => s.clone(),
                None => loop {
                    let s = SerialNumber::random()?;
                    if !self.files.newcert(&s).exists() && used.insert(s.clone()) {
                        break s;
                    }
                },
            };
            let mut p = (*params).clone();
            p.serial = Some(serial.clone());
            let cert = self.ca.issue(&p, subject_key, now)?;
            entries.push(IndexEntry::issued(&cert, serial.clone()));
            issued.push((serial, cert));
        }
        // Everything is written to temporaries and made durable before anything is
        // renamed (a full disk fails here and changes nothing). The temporaries live in
        // the store directory, so the stale-temporary sweep never has to list newcerts/.
        let syncfs = use_syncfs(issued.len());
        let mut cert_files = Vec::with_capacity(issued.len());
        for (_, cert) in &issued {
            cert_files.push(Prepared::write(
                &self.files.dir,
                cert.to_pem().as_bytes(),
                0o644,
                !syncfs,
            )?);
        }
        let index_file = self.prepare_index_synced(&entries, !syncfs)?;
        if syncfs {
            sync_file_system(&lock, &self.files.dir)?;
        }
        // Pending names, then one directory fsync; undone if anything fails before the
        // commit (not recorded, so not issued; the next writer would undo them too).
        let mut pending = Vec::with_capacity(issued.len());
        let staged = cert_files
            .into_iter()
            .zip(&issued)
            .try_for_each(|(file, (serial, _))| {
                let path = self.files.pending(serial);
                file.rename(&path, false)?;
                pending.push(path);
                crate::crash::hit("issue.staged");
                Ok(())
            })
            .and_then(|()| sync_dir(&self.files.dir))
            .and_then(|()| index_file.rename(&self.files.index, true));
        if let Err(e) = staged {
            for p in &pending {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
        // Committed. The rename must be durable before the certificates are handed out.
        sync_dir(&self.files.dir)?;
        crate::crash::hit("issue.committed");
        // Should a move fail, the next operation on the store finishes it: the
        // certificates are issued either way.
        let moved = pending.iter().zip(&issued).all(|(p, (serial, _))| {
            let moved = fs::rename(p, self.files.newcert(serial)).is_ok();
            crate::crash::hit("issue.moved");
            moved
        });
        if moved {
            let _ = sync_dir(&self.files.newcerts).and_then(|()| sync_dir(&self.files.dir));
        }
        drop(lock);
        Ok(issued.into_iter().map(|(_, c)| c).collect())
    }
}

/// Whether a batch of `certificates` flushes its temporaries with one `syncfs(2)`.
fn use_syncfs(certificates: usize) -> bool {
    cfg!(target_os = "linux") && certificates >= SYNCFS_MIN
}

/// Flushes the file system holding the store (the lock's directory descriptor, opened
/// before the temporaries were written, so a write-back error on them is reported).
fn sync_file_system(lock: &StoreLock, dir: &Path) -> Result<(), Error> {
    sync_file_system_of(&lock.dir, dir)
}

/// `syncfs(2)` of the file system of `fd` (which names `dir`). Since Linux 5.8 it reports
/// write-back errors that happened after `fd` was opened.
#[cfg(target_os = "linux")]
fn sync_file_system_of(fd: &File, dir: &Path) -> Result<(), Error> {
    rustix::fs::syncfs(fd).map_err(|e| Error::io("cannot sync the file system of", dir, e.into()))
}

/// Never called: `use_syncfs` is false off Linux.
#[cfg(not(target_os = "linux"))]
fn sync_file_system_of(_fd: &File, _dir: &Path) -> Result<(), Error> {
    Ok(())
}

impl Store for DirStore {
    fn ca(&self) -> &Ca {
        &self.ca
    }

    fn entries(&self) -> Result<Vec<IndexEntry>, Error> {
        self.read_index()
    }

    fn issue(
        &self,
        params: &CertificateParams,
        subject_key: &PublicKey,
        now: OffsetDateTime,
    ) -> Result<Certificate, Error> {
        let mut certs = self.issue_all(&[(params, subject_key)], now)?;
        certs.pop().ok_or_else(|| Error::StoreCorrupt {
            path: self.files.index.clone(),
            line: 0,
            reason: "a batch of one issued nothing".to_owned(),
        })
    }

    fn issue_batch(
        &self,
        requests: &[(CertificateParams, PublicKey)],
        now: OffsetDateTime,
    ) -> Result<Vec<Certificate>, Error> {
        let refs: Vec<(&CertificateParams, &PublicKey)> =
            requests.iter().map(|(p, k)| (p, k)).collect();
        self.issue_all(&refs, now)
    }

    fn revoke(
        &self,
        serial: &SerialNumber,
        reason: Option<RevocationReason>,
        now: OffsetDateTime,
    ) -> Result<IndexEntry, Error> {
        let _lock = lock(&self.files)?;
        let mut entries = self.read_index()?;
        let entry = entries
            .iter_mut()
            .find(|e| &e.serial == serial)
            .ok_or_else(|| Error::UnknownSerial {
                serial: serial.to_hex(),
                path: self.files.index.clone(),
            })?;
        if matches!(entry.status, IndexStatus::Revoked { .. }) {
            return Err(Error::AlreadyRevoked {
                serial: serial.to_hex(),
                path: self.files.index.clone(),
            });
        }
        entry.status = IndexStatus::Revoked {
            at: now.replace_nanosecond(0).unwrap_or(now),
            reason,
        };
        let updated = entry.clone();
        self.write_index(&entries)?;
        Ok(updated)
    }

    fn generate_crl(&self, next_update: OffsetDateTime, now: OffsetDateTime) -> Result<Crl, Error> {
        let _lock = lock(&self.files)?;
        let entries = self.read_index()?;
        let number = if self.files.crlnumber.is_file() {
            let text = read(&self.files.crlnumber)?;
            let text = String::from_utf8_lossy(&text);
            SerialNumber::from_hex(text.trim()).map_err(|_| Error::StoreCorrupt {
                path: self.files.crlnumber.clone(),
                line: 1,
                reason: format!("{:?} is not a positive hexadecimal number", text.trim()),
            })?
        } else {
            SerialNumber::from_bytes(&[1])?
        };
        let revoked = entries
            .iter()
            .filter_map(|e| match e.status {
                IndexStatus::Revoked { at, reason } => Some(RevokedEntry {
                    serial: e.serial.clone(),
                    revoked_at: at,
                    reason: reason.filter(|r| *r != RevocationReason::Unspecified),
                }),
                _ => None,
            })
            .collect();
        let params = CrlParams {
            this_update: now.replace_nanosecond(0).unwrap_or(now),
            next_update,
            crl_number: number.clone(),
            revoked,
        };
        let crl = self.ca.sign_crl(&params)?;
        let crl_file = Prepared::new(&self.files.dir, crl.to_pem().as_bytes(), 0o644)?;
        let number_file = Prepared::new(
            &self.files.dir,
            format!("{}\n", number.next()?.to_hex()).as_bytes(),
            0o644,
        )?;
        // The number is used up first: a kill between the two renames leaves a gap in
        // CRL numbers, never a second, different CRL with the same number.
        number_file.commit(&self.files.crlnumber, true)?;
        crate::crash::hit("crl.numbered");
        crl_file.commit(&self.files.crl, true)?;
        Ok(crl)
    }

    fn certificate(&self, serial: &SerialNumber) -> Result<Certificate, Error> {
        let path = self.files.newcert(serial);
        if !path.is_file() {
            return Err(Error::UnknownSerial {
                serial: serial.to_hex(),
                path: self.files.newcerts.clone(),
            });
        }
        Certificate::from_pem_or_der(&read(&path)?, &path.display().to_string())
    }
}

/// How long a writer waits for the store's lock before it gives up with
/// [`Error::StoreLocked`]. Another process's issuance holds the lock for milliseconds
/// (a large batch for a few seconds); and in a multi-threaded program, a child process
/// that another thread is starting shares the lock of the moment between its fork and
/// its exec, so a writer that gave up at once would fail now and then for no reason.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the store's lock, waiting up to [`LOCK_WAIT`] for another writer, then
/// cleans up after killed writers.
fn lock(files: &StoreFiles) -> Result<StoreLock, Error> {
    // Back off from 1 ms to 100 ms; the waits add up to LOCK_WAIT (no clock read).
    let mut waited = std::time::Duration::ZERO;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        if let Some(lock) = try_lock(files)? {
            return Ok(lock);
        }
        if waited >= LOCK_WAIT {
            return Err(Error::StoreLocked {
                path: files.dir.clone(),
                lock: files.dir.clone(),
            });
        }
        std::thread::sleep(pause);
        waited += pause;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

/// Takes the store's lock if it is free (then cleans up after killed writers).
fn try_lock(files: &StoreFiles) -> Result<Option<StoreLock>, Error> {
    let dir = File::open(&files.dir).map_err(|e| Error::io("cannot open", &files.dir, e))?;
    match dir.try_lock() {
        Ok(()) => {
            let lock = StoreLock { dir };
            recover(files)?;
            Ok(Some(lock))
        }
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", &files.dir, e)),
    }
}

/// Cleans up after writers that were killed (only called with the store lock held, so
/// no live writer owns anything here): removes their temporary files, and finishes a
/// pending issuance that `index.txt` records or removes one it does not.
fn recover(files: &StoreFiles) -> Result<(), Error> {
    let entries = fs::read_dir(&files.dir).map_err(|e| Error::io("cannot list", &files.dir, e))?;
    let mut pending = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) {
            // Harmless if it fails: the next writer tries again.
            let _ = fs::remove_file(e.path());
        } else if let Some(hex) = name
            .strip_prefix(PENDING_PREFIX)
            .and_then(|n| n.strip_suffix(".pem"))
        {
            let serial = SerialNumber::from_hex(hex).map_err(|_| Error::StoreCorrupt {
                path: e.path(),
                line: 0,
                reason: "an unfinished issuance whose name is not a serial number".to_owned(),
            })?;
            pending.push((serial, e.path()));
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    let index: HashSet<SerialNumber> = parse_index(&read(&files.index)?, &files.index)?
        .into_iter()
        .map(|e| e.serial)
        .collect();
    for (serial, path) in pending {
        if index.contains(&serial) {
            move_pending(&path, &files.newcert(&serial))?;
            crate::crash::hit("recover.moved");
        } else {
            fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            sync_parent(&path)?;
        }
    }
    Ok(())
}

/// Moves a recorded certificate from its pending name into `newcerts/`.
fn move_pending(pending: &Path, newcert: &Path) -> Result<(), Error> {
    if newcert.exists() {
        if read(newcert)? != read(pending)? {
            return Err(Error::StoreCorrupt {
                path: newcert.to_path_buf(),
                line: 0,
                reason: format!(
                    "differs from the unfinished issuance {} of the same serial",
                    pending.display()
                ),
            });
        }
        fs::remove_file(pending).map_err(|e| Error::io("cannot remove", pending, e))?;
    } else {
        fs::rename(pending, newcert).map_err(|e| Error::io("cannot move", pending, e))?;
        sync_parent(newcert)?;
    }
    sync_parent(pending)
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io("cannot read", path, e))
}

/// How every `openssl.cnf` pgtls writes begins (so that it never rewrites another).
const OPENSSL_CNF_HEADER: &str = "# Generated by pgtls:";

/// Name prefix of a store being created (a directory next to the new store).
const STAGING_PREFIX: &str = ".pgtls-tmp-create-";

/// Writes a new store's files into `files.dir` (which exists), `index.txt` last;
/// `final_dir` is where the store will live, for `openssl.cnf`.
fn populate(
    files: &StoreFiles,
    final_dir: &Path,
    ca: &Ca,
    passphrase: Option<&[u8]>,
    iterations: u32,
) -> Result<(), Error> {
    mkdir(&files.dir.join("private"), 0o700)?;
    mkdir(&files.newcerts, 0o755)?;
    let key_pem = match passphrase {
        Some(p) => ca.key().to_encrypted_pem_with_iterations(p, iterations)?,
        None => ca.key().to_pem(),
    };
    write_new_secret(&files.key, key_pem.as_bytes())?;
    write_atomic(
        &files.cert,
        ca.certificate().to_pem().as_bytes(),
        0o644,
        false,
    )?;
    if !ca.chain().is_empty() {
        let mut chain = ca.certificate().to_pem();
        for c in ca.chain() {
            chain.push_str(&c.to_pem());
        }
        write_atomic(&files.chain, chain.as_bytes(), 0o644, false)?;
    }
    write_atomic(
        &files.dir.join("index.txt.attr"),
        b"unique_subject = no\n",
        0o644,
        false,
    )?;
    let serial = SerialNumber::random()?;
    write_atomic(
        &files.serial,
        format!("{}\n", serial.to_hex()).as_bytes(),
        0o644,
        false,
    )?;
    write_atomic(&files.crlnumber, b"01\n", 0o644, false)?;
    write_atomic(
        &files.openssl_cnf,
        openssl_cnf(final_dir, &StoreFiles::in_dir(final_dir).openssl_cnf).as_bytes(),
        0o644,
        false,
    )?;
    write_atomic(&files.index, b"", 0o644, false)
}

/// Removes the temporary directories of creates that were killed next to a new store:
/// those nobody holds locked and that are not empty. A live create locks its directory
/// right after making it and writes nothing before, so an empty one may be a create
/// between those two steps and is left alone (it holds nothing). Best effort: what it
/// cannot remove stays harmless.
fn remove_stale_staging(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(STAGING_PREFIX)
            || !e.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let path = e.path();
        let unlocked = File::open(&path).is_ok_and(|f| f.try_lock().is_ok());
        let filled = fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some());
        if unlocked && filled {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn mkdir(dir: &Path, mode: u32) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    // Created with `mode` already (less the umask), so `private/` is never
    // open to others, not even for an instant; then set exactly.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| Error::io("cannot create directory", dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("cannot set permissions on", dir, e))?;
    sync_parent(dir)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync directory", dir, e))
}

fn sync_parent(path: &Path) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync directory", parent, e))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (mode
/// 0600 from its creation), fsync, chmod to `mode`, rename (or link without clobbering
/// when `overwrite` is false), fsync the directory.
///
/// # Errors
/// [`Error::FileExists`] when `overwrite` is false and `path` exists, [`Error::Io`].
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !overwrite && path.exists() {
        return Err(Error::FileExists {
            path: path.to_path_buf(),
        });
    }
    Prepared::new(dir, bytes, mode)?.commit(path, overwrite)
}

/// A file written and fsynced under a temporary name, waiting to be renamed into place
/// (removed if dropped before).
struct Prepared {
    tmp: tempfile::NamedTempFile,
    dir: PathBuf,
}

impl Prepared {
    /// Writes `bytes` to a new temporary file in `dir` (mode 0600 from its creation),
    /// fsyncs it and sets `mode`.
    fn new(dir: &Path, bytes: &[u8], mode: u32) -> Result<Self, Error> {
        Self::write(dir, bytes, mode, true)
    }

    /// As [`Prepared::new`], without the fsync when `sync` is false (the caller makes
    /// the file durable another way before renaming it).
    fn write(dir: &Path, bytes: &[u8], mode: u32, sync: bool) -> Result<Self, Error> {
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
        tmp.write_all(bytes)
            .and_then(|()| {
                if sync {
                    tmp.as_file().sync_all()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| Error::io("cannot write", tmp.path().to_path_buf(), e))?;
        crate::crash::hit("tmp.written");
        if mode != 0o600 {
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("cannot set permissions on", tmp.path().to_path_buf(), e))?;
        }
        Ok(Self {
            tmp,
            dir: dir.to_path_buf(),
        })
    }

    /// Renames the file to `path` (without clobbering unless `overwrite`) and fsyncs the
    /// directories involved.
    fn commit(self, path: &Path, overwrite: bool) -> Result<(), Error> {
        let dir = self.dir.clone();
        self.rename(path, overwrite)?;
        crate::crash::hit("tmp.renamed");
        if path.parent() != Some(dir.as_path()) {
            sync_dir(&dir)?;
        }
        sync_parent(path)
    }

    /// Renames the file to `path` (without clobbering unless `overwrite`); no fsync.
    fn rename(self, path: &Path, overwrite: bool) -> Result<(), Error> {
        if overwrite {
            self.tmp
                .persist(path)
                .map_err(|e| Error::io("cannot replace", path, e.error))?;
        } else {
            self.tmp.persist_noclobber(path).map_err(|e| {
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::FileExists {
                        path: path.to_path_buf(),
                    }
                } else {
                    Error::io("cannot create", path, e.error)
                }
            })?;
        }
        Ok(())
    }
}

/// Writes a secret (a private key) to a new file created with mode 0600 before the first
/// byte; never overwrites.
///
/// # Errors
/// [`Error::FileExists`], [`Error::Io`].
pub(crate) fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::FileExists {
                    path: path.to_path_buf(),
                }
            } else {
                Error::io("cannot create", path, e)
            }
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io("cannot write", path, e))?;
    sync_parent(path)
}

/// Writes a private key file: 0600, atomically; replaces an existing file only when
/// `overwrite` is set.
///
/// # Errors
/// [`Error::FileExists`], [`Error::Io`].
pub fn write_key_file(path: &Path, pem: &[u8], overwrite: bool) -> Result<(), Error> {
    if overwrite {
        write_atomic(path, pem, 0o600, true)
    } else {
        write_new_secret(path, pem)
    }
}

/// Writes a public file (certificate, CRL, CSR) atomically with mode 0644.
///
/// # Errors
/// [`Error::FileExists`] when `overwrite` is false and the file exists, [`Error::Io`].
pub fn write_public_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), Error> {
    write_atomic(path, bytes, 0o644, overwrite)
}

/// One file for [`write_files`].
#[derive(Clone, Copy, Debug)]
pub struct NewFile<'a> {
    /// Where to write it.
    pub path: &'a Path,
    /// Its contents.
    pub bytes: &'a [u8],
    /// A private key: mode 0600 (from the creation of its temporary); otherwise 0644.
    pub secret: bool,
}

/// Writes many files durably at a fraction of the cost of writing them one by one (the
/// output of a batch issuance): every file goes to a temporary next to its target (mode
/// 0600 from its creation), all are made durable together (one `syncfs(2)` from 4 files
/// on, on Linux; one fsync each otherwise), then renamed into place in order (without
/// clobbering an existing file unless `overwrite`), then every directory involved is
/// fsynced once. A failure while writing the temporaries (a full disk) leaves every
/// target untouched; a failure while renaming leaves the files before it in place (the
/// caller can tell which by reading them back).
///
/// # Errors
/// [`Error::FileExists`] when `overwrite` is false and a target exists, [`Error::Io`].
pub fn write_files(files: &[NewFile<'_>], overwrite: bool) -> Result<(), Error> {
    let parent = |p: &Path| match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !overwrite && let Some(f) = files.iter().find(|f| f.path.exists()) {
        return Err(Error::FileExists {
            path: f.path.to_path_buf(),
        });
    }
    let syncfs = use_syncfs(files.len());
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in files {
        let dir = parent(f.path);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    // Opened before the first write, so that syncfs reports any write-back error of
    // the files written after (errors are sampled when a descriptor is opened).
    let fds = if syncfs {
        dirs.iter()
            .map(|d| File::open(d).map_err(|e| Error::io("cannot open", d, e)))
            .collect::<Result<Vec<File>, Error>>()?
    } else {
        Vec::new()
    };
    let mut staged = Vec::with_capacity(files.len());
    for f in files {
        let mode = if f.secret { 0o600 } else { 0o644 };
        staged.push(Prepared::write(&parent(f.path), f.bytes, mode, !syncfs)?);
    }
    for (fd, d) in fds.iter().zip(&dirs) {
        sync_file_system_of(fd, d)?;
    }
    // The renames that succeeded are made durable even when a later one fails.
    let renamed = staged
        .into_iter()
        .zip(files)
        .try_for_each(|(tmp, f)| tmp.rename(f.path, overwrite));
    let synced = dirs.iter().try_for_each(|d| sync_dir(d));
    renamed.and(synced)
}

fn parse_index(text: &[u8], path: &Path) -> Result<Vec<IndexEntry>, Error> {
    let corrupt = |line: usize, reason: String| Error::StoreCorrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(text).map_err(|_| corrupt(0, "not UTF-8 text".to_owned()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(corrupt(
            text.lines().count(),
            "the last line is not terminated (truncated file?)".to_owned(),
        ));
    }
    let mut out: Vec<IndexEntry> = Vec::new();
    let mut seen: HashSet<SerialNumber> = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        let [flag, exp, rev, serial, file, subject] = fields.as_slice() else {
            return Err(corrupt(
                no,
                format!("expected 6 tab-separated fields, found {}", fields.len()),
            ));
        };
        let expires =
            parse_index_time(exp).ok_or_else(|| corrupt(no, format!("bad expiry time {exp:?}")))?;
        let serial = SerialNumber::from_hex(serial)
            .ok()
            .filter(|_| serial.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| corrupt(no, format!("bad serial {serial:?}")))?;
        let mut extra = None;
        let status = match *flag {
            "V" | "E" if !rev.is_empty() => {
                return Err(corrupt(
                    no,
                    "revocation field set on a non-revoked entry".to_owned(),
                ));
            }
            "V" => IndexStatus::Valid,
            "E" => IndexStatus::Expired,
            "R" => {
                let mut parts = rev.splitn(3, ',');
                let at = parts
                    .next()
                    .and_then(parse_index_time)
                    .ok_or_else(|| corrupt(no, format!("bad revocation time {rev:?}")))?;
                let reason = match parts.next() {
                    None => None,
                    Some(r) => Some(
                        r.parse::<RevocationReason>()
                            .map_err(|_| corrupt(no, format!("unknown revocation reason {r:?}")))?,
                    ),
                };
                extra = parts.next().map(str::to_owned);
                IndexStatus::Revoked { at, reason }
            }
            other => {
                return Err(corrupt(
                    no,
                    format!("unknown status {other:?} (expected V, R or E)"),
                ));
            }
        };
        if !seen.insert(serial.clone()) {
            return Err(corrupt(
                no,
                format!("serial {} appears twice", serial.to_hex()),
            ));
        }
        out.push(IndexEntry {
            status,
            expires,
            serial,
            file: (*file).to_owned(),
            subject: (*subject).to_owned(),
            extra,
        });
    }
    Ok(out)
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950-2049) or `YYYYMMDDHHMMSSZ`.
fn parse_index_time(s: &str) -> Option<OffsetDateTime> {
    let digits = s.strip_suffix('Z')?;
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u32>().ok());
    let (year, rest) = match digits.len() {
        12 => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        14 => (num(0..4)?, 4),
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(num(rest..rest + 2)?).ok()?).ok()?;
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        month,
        u8::try_from(num(rest + 2..rest + 4)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(num(rest + 4..rest + 6)?).ok()?,
        u8::try_from(num(rest + 6..rest + 8)?).ok()?,
        u8::try_from(num(rest + 8..rest + 10)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn format_index_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    let (hh, mm, ss) = (t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y % 100)
    } else {
        format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z")
    }
}

fn openssl_cnf(dir: &Path, cnf: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    format!(
        "{OPENSSL_CNF_HEADER} lets `openssl ca -config {cnf}` work on this store\n\
         # (for example `-revoke newcerts/SERIAL.pem -crl_reason keyCompromise` or `-gencrl`).\n\
         # The directory below is absolute; regenerate this file if you move the store.\n\
         [ ca ]\n\
         default_ca = pgtls_ca\n\
         \n\
         [ pgtls_ca ]\n\
         dir = {dir}\n\
         certs = $dir\n\
         new_certs_dir = $dir/newcerts\n\
         database = $dir/index.txt\n\
         serial = $dir/serial\n\
         crlnumber = $dir/crlnumber\n\
         certificate = $dir/cacert.pem\n\
         private_key = $dir/private/cakey.pem\n\
         crl = $dir/crl.pem\n\
         default_md = default\n\
         default_days = 365\n\
         default_crl_days = 30\n\
         unique_subject = no\n\
         preserve = yes\n\
         copy_extensions = none\n\
         policy = pgtls_policy\n\
         x509_extensions = pgtls_leaf\n\
         crl_extensions = pgtls_crl\n\
         \n\
         [ pgtls_policy ]\n\
         commonName = supplied\n\
         \n\
         [ pgtls_leaf ]\n\
         basicConstraints = critical, CA:FALSE\n\
         subjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid\n\
         \n\
         [ pgtls_crl ]\n\
         authorityKeyIdentifier = keyid:always\n",
        cnf = cnf.display(),
        dir = dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lines_round_trip() {
        let text = "V\t361231235959Z\t\t0A1B\tunknown\t/DC=org/DC=example/CN=a\n\
                    R\t20510101000000Z\t240102030405Z,keyCompromise\t0C\tunknown\t/CN=b\n\
                    R\t361231235959Z\t240102030405Z\t0D\tunknown\t/CN=c\n";
        let entries = parse_index(text.as_bytes(), Path::new("index.txt")).unwrap();
        let back: String = entries.iter().map(IndexEntry::to_line).collect();
        assert_eq!(back, text);
    }

    #[test]
    fn index_errors_name_the_line() {
        for (bad, line) in [
            ("V\t361231235959Z\t\t0A\tunknown\n", 1),
            (
                "V\t361231235959Z\t\t0A\tunknown\t/CN=a\nX\t361231235959Z\t\t0B\tunknown\t/CN=b\n",
                2,
            ),
            ("V\t3612312359Z\t\t0A\tunknown\t/CN=a\n", 1),
            ("V\t361231235959Z\t\tZZ\tunknown\t/CN=a\n", 1),
            (
                "R\t361231235959Z\t240102030405Z,nonsense\t0A\tunknown\t/CN=a\n",
                1,
            ),
            (
                "V\t361231235959Z\t\t0A\tunknown\t/CN=a\nV\t361231235959Z\t\t0A\tunknown\t/CN=a\n",
                2,
            ),
            ("V\t361231235959Z\t\t0A\tunknown\t/CN=a", 1),
        ] {
            match parse_index(bad.as_bytes(), Path::new("index.txt")) {
                Err(Error::StoreCorrupt { line: l, .. }) => assert_eq!(l, line, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
