//! The store's lock: an exclusive `flock` on the store directory.

use std::fs::{self, File};

use super::layout::StoreFiles;
use super::recovery::recover;
use crate::error::Error;

/// An exclusive lock on the store directory, released on drop.
pub(super) struct StoreLock {
    pub(super) dir: File,
}

/// How long a writer waits for the store's lock before it gives up with
/// [`Error::StoreLocked`]. Another process's issuance holds the lock for milliseconds
/// (a large batch for a few seconds); and in a multi-threaded program, a child process
/// that another thread is starting shares the lock of the moment between its fork and
/// its exec, so a writer that gave up at once would fail now and then for no reason.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the store's lock, waiting up to [`LOCK_WAIT`] for another writer, then
/// cleans up after killed writers.
pub(super) fn lock(files: &StoreFiles) -> Result<StoreLock, Error> {
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
pub(super) fn try_lock(files: &StoreFiles) -> Result<Option<StoreLock>, Error> {
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
