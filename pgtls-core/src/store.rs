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
//! # Code layout
//!
//! `store/layout.rs` names the files and writes a new store's; `store/index.rs` is the
//! `index.txt` codec (the only code that knows its text: [`IndexEntry`] is typed);
//! `store/lock.rs` the lock; `store/recovery.rs` the clean-up after killed writers;
//! `store/atomic.rs` the durable writes; `store/check.rs` [`DirStore::check`]. This file
//! holds the [`Store`] trait and [`DirStore`]'s operations.
//!
//! The write paths pass named crash points (`crash.rs`; compiled in only with the
//! test-only `crash-points` feature): `tests/store_crash_points.rs` aborts a process at
//! every pass of every point and checks that each operation was all or nothing.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use time::OffsetDateTime;

use crate::ca::Ca;
use crate::cert::Certificate;
use crate::crl::{Crl, CrlParams, RevocationReason, RevokedEntry};
use crate::csr::Csr;
use crate::error::Error;
use crate::key::{KeyPair, PublicKey};
use crate::params::CertificateParams;
use crate::profile::CsrPolicy;
use crate::serial::SerialNumber;

mod atomic;
mod check;
mod index;
mod layout;
mod lock;
mod recovery;

pub use atomic::{NewFile, write_files, write_key_file, write_public_file};
use atomic::{Prepared, mkdir, read, sync_dir, sync_file_system, sync_parent, use_syncfs};
pub use check::{StoreCheck, StoreProblem};
use index::parse_index;
pub use index::{IndexEntry, IndexStatus};
pub use layout::StoreFiles;
use layout::{STAGING_PREFIX, populate};
pub use lock::LOCK_WAIT;
use lock::{lock, try_lock};
use recovery::remove_stale_staging;

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
        if ca.key().is_none() {
            return Err(Error::invalid(
                "CA key",
                "a directory store keeps its CA key in private/cakey.pem, and this CA's key is \
                 not in memory",
            ));
        }
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
            serial: s.clone(),
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
                serial: serial.clone(),
                path: self.files.index.clone(),
            })?;
        if matches!(entry.status, IndexStatus::Revoked { .. }) {
            return Err(Error::AlreadyRevoked {
                serial: serial.clone(),
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
                serial: serial.clone(),
                path: self.files.newcerts.clone(),
            });
        }
        Certificate::from_pem_or_der(&read(&path)?, &path.display().to_string())
    }
}
