//! Checking a store at rest, and indexing certificates that its index lost.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::DirStore;
use super::atomic::{Prepared, read};
use super::index::{IndexEntry, IndexStatus, parse_index};
use super::layout::{OPENSSL_CNF_HEADER, PENDING_PREFIX, StoreFiles, TEMP_PREFIX, openssl_cnf};
use super::lock::lock;
use crate::cert::Certificate;
use crate::crl::Crl;
use crate::error::Error;
use crate::serial::SerialNumber;

/// Something [`DirStore::check`] found wrong in a store.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreProblem {
    /// A certificate in `newcerts/` that `index.txt` does not list: it cannot be revoked
    /// until it is indexed ([`DirStore::index_unindexed`]).
    Unindexed {
        /// The file.
        path: PathBuf,
        /// Its serial.
        serial: SerialNumber,
    },
    /// `index.txt` lists a serial whose `newcerts/` file is missing.
    Missing {
        /// The serial.
        serial: SerialNumber,
        /// The file that should hold it.
        path: PathBuf,
    },
    /// A file in `newcerts/` that is not a certificate of this CA, or that disagrees
    /// with its index entry.
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// What a killed writer left (a temporary file, or an issuance between its
    /// signature and its end); the next operation on the store cleans it up.
    Unfinished {
        /// The file.
        path: PathBuf,
    },
    /// The CA key is open to group or others, or the store directory or `private/` is
    /// writable by them.
    Permissions {
        /// The file or directory.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// Something wrong with `crl.pem`: not signed by the CA, a number not below
    /// `crlnumber`, expired, or missing revoked certificates.
    Crl {
        /// `crl.pem`.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The `openssl.cnf` pgtls wrote names another directory (the store was moved or
    /// restored elsewhere): `openssl ca -config` with it would work on that directory.
    /// [`DirStore::rewrite_openssl_cnf`] fixes it.
    OpensslCnf {
        /// `openssl.cnf`.
        path: PathBuf,
        /// The directory it names.
        names: PathBuf,
    },
}

impl fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unindexed { path, serial } => write!(
                f,
                "{}: certificate {} is not in index.txt (it cannot be revoked until \
                 `pgtls ca check --repair` indexes it)",
                path.display(),
                serial.to_hex()
            ),
            Self::Missing { serial, path } => write!(
                f,
                "index.txt lists serial {} but {} is missing",
                serial.to_hex(),
                path.display()
            ),
            Self::BadCertificate { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::Unfinished { path } => write!(
                f,
                "{}: left by a writer that was killed (the next operation on the store \
                 cleans it up)",
                path.display()
            ),
            Self::Permissions { path, mode } => {
                if *mode & 0o170000 == 0o040000 {
                    write!(
                        f,
                        "{}: mode {:04o} lets group or others replace the CA key (remove \
                         their write permission)",
                        path.display(),
                        mode & 0o7777
                    )
                } else {
                    write!(
                        f,
                        "{}: mode {:04o} lets group or others read the CA key (should be 0600)",
                        path.display(),
                        mode & 0o7777
                    )
                }
            }
            Self::Crl { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::OpensslCnf { path, names } => write!(
                f,
                "{}: names the store directory {}, not this one (moved or restored?): \
                 `openssl ca -config` would work on that directory; `pgtls ca check \
                 --repair` rewrites it",
                path.display(),
                names.display()
            ),
        }
    }
}

/// What [`DirStore::check`] saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreCheck {
    /// Entries in `index.txt`.
    pub indexed: usize,
    /// Of which revoked.
    pub revoked: usize,
    /// Certificates in `newcerts/`.
    pub certificates: usize,
    /// The number of `crl.pem`, if there is one.
    pub crl_number: Option<SerialNumber>,
    /// Everything wrong, in a stable order (the findings of one kind by file name).
    pub problems: Vec<StoreProblem>,
}

impl DirStore {
    /// Checks a store at rest without its CA key (no passphrase needed) and without
    /// changing it: every index entry has its certificate, signed by the CA, with the
    /// serial and expiry of the entry; every certificate in `newcerts/` is indexed; no
    /// killed writer left anything; the CA key is closed to group and others and
    /// they cannot write to the directories holding it; `crl.pem` is signed by the CA, numbered below `crlnumber`, not expired at
    /// `now`, and lists every revoked certificate.
    ///
    /// # Errors
    /// What stops the check itself: [`Error::NotAStore`], an unreadable CA certificate
    /// ([`Error::Malformed`]), [`Error::StoreCorrupt`] for `index.txt` or `crlnumber`,
    /// [`Error::Io`].
    pub fn check(files: &StoreFiles, now: OffsetDateTime) -> Result<StoreCheck, Error> {
        for (path, what) in [
            (&files.cert, "no CA certificate cacert.pem"),
            (&files.index, "no index.txt"),
        ] {
            if !path.is_file() {
                return Err(Error::NotAStore {
                    path: files.dir.clone(),
                    reason: what.to_owned(),
                });
            }
        }
        let ca = Certificate::from_pem_or_der(&read(&files.cert)?, &label(&files.cert))?;
        let index = parse_index(&read(&files.index)?, &files.index)?;
        let mut out = StoreCheck {
            indexed: index.len(),
            revoked: index
                .iter()
                .filter(|e| matches!(e.status, IndexStatus::Revoked { .. }))
                .count(),
            ..StoreCheck::default()
        };
        let mut problems = Vec::new();

        let on_disk = newcerts(files)?;
        out.certificates = on_disk.len();
        let by_serial: HashMap<&SerialNumber, &IndexEntry> =
            index.iter().map(|e| (&e.serial, e)).collect();
        for (serial, path) in &on_disk {
            match check_certificate(path, serial, &ca) {
                Err(reason) => problems.push(StoreProblem::BadCertificate {
                    path: path.clone(),
                    reason,
                }),
                Ok(cert) => match by_serial.get(serial) {
                    None => problems.push(StoreProblem::Unindexed {
                        path: path.clone(),
                        serial: serial.clone(),
                    }),
                    Some(e) if e.expires != cert.not_after() => {
                        problems.push(StoreProblem::BadCertificate {
                            path: path.clone(),
                            reason: format!(
                                "expires {} but index.txt says {}",
                                cert.not_after(),
                                e.expires
                            ),
                        });
                    }
                    Some(_) => {}
                },
            }
        }
        let on_disk_serials: HashSet<&SerialNumber> = on_disk.iter().map(|(s, _)| s).collect();
        for e in &index {
            if !on_disk_serials.contains(&e.serial) {
                problems.push(StoreProblem::Missing {
                    serial: e.serial.clone(),
                    path: files.newcert(&e.serial),
                });
            }
        }

        let mut leftovers: Vec<PathBuf> = fs::read_dir(&files.dir)
            .map_err(|e| Error::io("cannot list", &files.dir, e))?
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with(TEMP_PREFIX) || n.starts_with(PENDING_PREFIX)
            })
            .map(|e| e.path())
            .collect();
        leftovers.sort();
        problems.extend(
            leftovers
                .into_iter()
                .map(|path| StoreProblem::Unfinished { path }),
        );

        // The key must be closed to group and others; the directories that hold it
        // must not let them replace it (openssl's own layouts leave private/ 0755).
        for (path, forbidden) in permission_rules(files) {
            if let Ok(meta) = fs::symlink_metadata(&path) {
                let mode = meta.permissions().mode();
                if mode & forbidden != 0 {
                    problems.push(StoreProblem::Permissions { path, mode });
                }
            }
        }

        if files.crl.is_file() {
            let crl_problem = |reason: String| StoreProblem::Crl {
                path: files.crl.clone(),
                reason,
            };
            match Crl::from_pem_or_der(&read(&files.crl)?, &label(&files.crl)) {
                Err(e) => problems.push(crl_problem(e.to_string())),
                Ok(crl) => {
                    out.crl_number = crl.crl_number().cloned();
                    check_crl(files, &crl, &ca, &index, now, &mut |r| {
                        problems.push(crl_problem(r));
                    })?;
                }
            }
        } else if out.revoked > 0 {
            problems.push(StoreProblem::Crl {
                path: files.crl.clone(),
                reason: format!(
                    "missing, yet index.txt has {} revoked certificate(s): no server knows \
                     of them; run `pgtls crl`",
                    out.revoked
                ),
            });
        }
        if let Some(names) = foreign_openssl_cnf(files)? {
            problems.push(StoreProblem::OpensslCnf {
                path: files.openssl_cnf.clone(),
                names,
            });
        }
        out.problems = problems;
        Ok(out)
    }

    /// Removes the permission bits [`StoreProblem::Permissions`] reports: group and
    /// other access to the CA key, group and other write on `private/` and the store
    /// directory. Symbolic links are left alone (changing one would change its target).
    /// Returns the paths changed.
    ///
    /// # Errors
    /// [`Error::Io`] when a mode cannot be changed.
    pub fn tighten_permissions(files: &StoreFiles) -> Result<Vec<PathBuf>, Error> {
        let mut changed = Vec::new();
        for (path, forbidden) in permission_rules(files) {
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode();
            if meta.file_type().is_symlink() || mode & forbidden == 0 {
                continue;
            }
            fs::set_permissions(
                &path,
                fs::Permissions::from_mode(mode & 0o7777 & !forbidden),
            )
            .map_err(|source| Error::Io {
                action: "cannot change the mode of",
                path: path.clone(),
                source,
            })?;
            changed.push(path);
        }
        Ok(changed)
    }

    /// Rewrites the `openssl.cnf` pgtls generated when it names another directory
    /// ([`StoreProblem::OpensslCnf`]); leaves any other `openssl.cnf` alone. Returns
    /// whether it rewrote it.
    ///
    /// # Errors
    /// [`Error::StoreLocked`], [`Error::Io`].
    pub fn rewrite_openssl_cnf(files: &StoreFiles) -> Result<bool, Error> {
        let _lock = lock(files)?;
        if foreign_openssl_cnf(files)?.is_none() {
            return Ok(false);
        }
        let text = openssl_cnf(&files.dir, &files.openssl_cnf);
        Prepared::new(&files.dir, text.as_bytes(), 0o644)?.commit(&files.openssl_cnf, true)?;
        Ok(true)
    }

    /// Indexes every certificate in `newcerts/` that `index.txt` does not list and that
    /// this store's CA signed, as valid (it exists, so it may be in use: once indexed it
    /// can be revoked). Takes the store lock, which also cleans up after killed writers.
    /// Returns the new entries; certificates that are not the CA's are left alone.
    ///
    /// # Errors
    /// [`Error::StoreLocked`], [`Error::StoreCorrupt`], [`Error::Malformed`] for the
    /// CA certificate, [`Error::Io`].
    pub fn index_unindexed(files: &StoreFiles) -> Result<Vec<IndexEntry>, Error> {
        let _lock = lock(files)?;
        let ca = Certificate::from_pem_or_der(&read(&files.cert)?, &label(&files.cert))?;
        let mut index = parse_index(&read(&files.index)?, &files.index)?;
        let known: HashSet<SerialNumber> = index.iter().map(|e| e.serial.clone()).collect();
        let mut added = Vec::new();
        for (serial, path) in newcerts(files)? {
            if known.contains(&serial) {
                continue;
            }
            if let Ok(cert) = check_certificate(&path, &serial, &ca) {
                added.push(IndexEntry::issued(&cert, serial));
            }
        }
        if !added.is_empty() {
            index.extend(added.iter().cloned());
            let mut text = String::new();
            for e in &index {
                text.push_str(&e.to_line());
            }
            Prepared::new(&files.dir, text.as_bytes(), 0o644)?.commit(&files.index, true)?;
        }
        Ok(added)
    }
}

/// The paths whose modes the check looks at, with the bits they must not have.
fn permission_rules(files: &StoreFiles) -> [(PathBuf, u32); 3] {
    [
        (files.key.clone(), 0o077),
        (files.dir.join("private"), 0o022),
        (files.dir.clone(), 0o022),
    ]
}

/// The directory a pgtls-generated `openssl.cnf` names when that is not `files.dir`
/// (None: it names this store, or there is no such file, or someone else wrote it).
fn foreign_openssl_cnf(files: &StoreFiles) -> Result<Option<PathBuf>, Error> {
    if !files.openssl_cnf.is_file() {
        return Ok(None);
    }
    let text = read(&files.openssl_cnf)?;
    let text = String::from_utf8_lossy(&text);
    if !text.starts_with(OPENSSL_CNF_HEADER) {
        return Ok(None);
    }
    let Some(named) = text
        .lines()
        .find_map(|l| l.strip_prefix("dir = "))
        .map(PathBuf::from)
    else {
        return Ok(None);
    };
    let here = files
        .dir
        .canonicalize()
        .map_err(|e| Error::io("cannot resolve", &files.dir, e))?;
    match named.canonicalize() {
        Ok(there) if there == here => Ok(None),
        _ => Ok(Some(named)),
    }
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

/// The `<SERIAL>.pem` files of `newcerts/`, by serial.
fn newcerts(files: &StoreFiles) -> Result<Vec<(SerialNumber, PathBuf)>, Error> {
    let mut out = Vec::new();
    if !files.newcerts.is_dir() {
        return Ok(out);
    }
    for e in fs::read_dir(&files.newcerts)
        .map_err(|e| Error::io("cannot list", &files.newcerts, e))?
        .flatten()
    {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some(hex) = name.strip_suffix(".pem") else {
            continue;
        };
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        if let Ok(serial) = SerialNumber::from_hex(hex) {
            out.push((serial, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The certificate in `path`, if it is a whole certificate of `serial` signed by `ca`.
fn check_certificate(
    path: &Path,
    serial: &SerialNumber,
    ca: &Certificate,
) -> Result<Certificate, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let cert = Certificate::from_pem_or_der(&bytes, &label(path)).map_err(|e| e.to_string())?;
    if cert.serial().as_ref() != Some(serial) {
        return Err(format!(
            "holds serial {}, not the {} of its name",
            cert.serial_hex(),
            serial.to_hex()
        ));
    }
    if !cert.is_signed_by(ca) {
        return Err("not signed by this store's CA".to_owned());
    }
    Ok(cert)
}

fn check_crl(
    files: &StoreFiles,
    crl: &Crl,
    ca: &Certificate,
    index: &[IndexEntry],
    now: OffsetDateTime,
    problem: &mut dyn FnMut(String),
) -> Result<(), Error> {
    if !crl.is_signed_by(ca) {
        problem("not signed by this store's CA".to_owned());
        return Ok(());
    }
    if files.crlnumber.is_file() {
        let text = read(&files.crlnumber)?;
        let text = String::from_utf8_lossy(&text);
        let next = SerialNumber::from_hex(text.trim()).map_err(|_| Error::StoreCorrupt {
            path: files.crlnumber.clone(),
            line: 1,
            reason: format!("{:?} is not a positive hexadecimal number", text.trim()),
        })?;
        match crl.crl_number() {
            None => problem("has no CRL number".to_owned()),
            Some(n) if n >= &next => problem(format!(
                "number {} is not below crlnumber {} (the next CRL would repeat it)",
                n.to_hex(),
                next.to_hex()
            )),
            Some(_) => {}
        }
    }
    if let Some(next_update) = crl.next_update()
        && next_update < now
    {
        problem(format!(
            "expired at {next_update} (nextUpdate): the server and libpq reject every \
             certificate of this CA while it is installed; run `pgtls crl`"
        ));
    }
    let missing: Vec<String> = index
        .iter()
        .filter(|e| matches!(e.status, IndexStatus::Revoked { .. }) && !crl.is_revoked(&e.serial))
        .map(|e| e.serial.to_hex())
        .collect();
    if !missing.is_empty() {
        problem(format!(
            "does not list {} revoked certificate(s) of index.txt ({}); run `pgtls crl`",
            missing.len(),
            missing.join(", ")
        ));
    }
    Ok(())
}
