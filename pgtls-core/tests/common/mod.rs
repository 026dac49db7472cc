//! Helpers shared by the store tests (each test file uses some of them).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pgtls_core::StoreFiles;

/// The serials of the files in the store's `newcerts/` (file names without `.pem`;
/// anything else there shows up as itself, so a stray file makes comparisons fail).
pub(crate) fn newcert_serials(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(StoreFiles::in_dir(dir).newcerts)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".pem")
                .to_owned()
        })
        .collect()
}

/// Every file anywhere in the store whose name starts with `.pgtls-`: what a killed
/// writer leaves (temporaries, `.pgtls-pending-<SERIAL>.pem`), sorted.
pub(crate) fn store_leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".pgtls-"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
