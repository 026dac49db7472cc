//! Cleaning up after killed writers: stale temporaries, pending issuances, staging
//! directories of creates.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;

use super::atomic::{read, sync_parent};
use super::index::parse_index;
use super::layout::{PENDING_PREFIX, STAGING_PREFIX, StoreFiles, TEMP_PREFIX};
use crate::error::Error;
use crate::serial::SerialNumber;

/// Cleans up after writers that were killed (only called with the store lock held, so
/// no live writer owns anything here): removes their temporary files, and finishes a
/// pending issuance that `index.txt` records or removes one it does not.
pub(super) fn recover(files: &StoreFiles) -> Result<(), Error> {
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

/// Removes the temporary directories of creates that were killed next to a new store:
/// those nobody holds locked and that are not empty. A live create locks its directory
/// right after making it and writes nothing before, so an empty one may be a create
/// between those two steps and is left alone (it holds nothing). Best effort: what it
/// cannot remove stays harmless.
pub(super) fn remove_stale_staging(parent: &Path) {
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
