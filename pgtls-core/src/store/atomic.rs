//! Atomic, durable writes: temporaries in the target's directory, fsync (or one
//! `syncfs(2)` for a batch), rename, directory fsync.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::layout::TEMP_PREFIX;
use super::lock::StoreLock;
use crate::error::Error;

/// From this many certificates on, a batch issuance flushes its temporary files with one
/// `syncfs(2)` instead of one fsync per file (Linux only; see the module docs).
pub(crate) const SYNCFS_MIN: usize = 4;

/// Whether a batch of `certificates` flushes its temporaries with one `syncfs(2)`.
pub(super) fn use_syncfs(certificates: usize) -> bool {
    cfg!(target_os = "linux") && certificates >= SYNCFS_MIN
}

/// Flushes the file system holding the store (the lock's directory descriptor, opened
/// before the temporaries were written, so a write-back error on them is reported).
pub(super) fn sync_file_system(lock: &StoreLock, dir: &Path) -> Result<(), Error> {
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

pub(super) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io("cannot read", path, e))
}

pub(super) fn mkdir(dir: &Path, mode: u32) -> Result<(), Error> {
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

pub(super) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync directory", dir, e))
}

pub(super) fn sync_parent(path: &Path) -> Result<(), Error> {
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
pub(super) struct Prepared {
    tmp: tempfile::NamedTempFile,
    dir: PathBuf,
}

impl Prepared {
    /// Writes `bytes` to a new temporary file in `dir` (mode 0600 from its creation),
    /// fsyncs it and sets `mode`.
    pub(super) fn new(dir: &Path, bytes: &[u8], mode: u32) -> Result<Self, Error> {
        Self::write(dir, bytes, mode, true)
    }

    /// As [`Prepared::new`], without the fsync when `sync` is false (the caller makes
    /// the file durable another way before renaming it).
    pub(super) fn write(dir: &Path, bytes: &[u8], mode: u32, sync: bool) -> Result<Self, Error> {
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
    pub(super) fn commit(self, path: &Path, overwrite: bool) -> Result<(), Error> {
        let dir = self.dir.clone();
        self.rename(path, overwrite)?;
        crate::crash::hit("tmp.renamed");
        if path.parent() != Some(dir.as_path()) {
            sync_dir(&dir)?;
        }
        sync_parent(path)
    }

    /// Renames the file to `path` (without clobbering unless `overwrite`); no fsync.
    pub(super) fn rename(self, path: &Path, overwrite: bool) -> Result<(), Error> {
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
