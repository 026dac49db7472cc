//! The shared library exports exactly the `pgtls_` functions the header
//! declares, and nothing else; and the library unwinds (panics are caught).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The directory holding the libpgtls.so / libpgtls.a cargo built for these
/// tests (next to the test executable).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

fn exported() -> BTreeSet<String> {
    let lib = lib_dir().join("libpgtls.so");
    assert!(lib.exists(), "{} was not built", lib.display());
    let out = Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(&lib)
        .output()
        .unwrap_or_else(|e| panic!("nm: {e}; install binutils (apt-get install binutils)"));
    assert!(
        out.status.success(),
        "nm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn declared() -> BTreeSet<String> {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/pgtls.h"))
            .unwrap();
    let mut names = BTreeSet::new();
    for line in header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
    {
        let Some(before) = line.split('(').next().filter(|_| line.contains('(')) else {
            continue;
        };
        let name = before.rsplit([' ', '*']).next().unwrap_or_default();
        if name.starts_with("pgtls_") {
            names.insert(name.to_owned());
        }
    }
    names
}

#[test]
fn only_pgtls_symbols_are_exported() {
    let exported = exported();
    let foreign: Vec<_> = exported
        .iter()
        .filter(|s| !s.starts_with("pgtls_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "exports without the pgtls_ prefix: {foreign:?}"
    );
    assert!(exported.contains("pgtls_version"), "{exported:?}");
}

#[test]
fn exports_match_the_header() {
    let exported = exported();
    let declared = declared();
    assert!(declared.len() > 5, "header parse found {declared:?}");
    let missing: Vec<_> = declared.difference(&exported).collect();
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "declared in pgtls.h but not exported: {missing:?}"
    );
    assert!(
        undeclared.is_empty(),
        "exported but not in pgtls.h: {undeclared:?}"
    );
}

#[test]
fn no_profile_aborts_on_panic() {
    // catch_unwind is inert under panic = "abort"; every export relies on it.
    let root =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let aborting: Vec<_> = root
        .lines()
        .filter(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l.starts_with("panic=") && !l.starts_with("panic=\"unwind\"")
        })
        .collect();
    assert!(
        aborting.is_empty(),
        "a profile sets {aborting:?}; pgtls-ffi needs panic = \"unwind\""
    );
}

#[test]
fn a_panic_inside_an_export_is_caught() {
    let mut err: *mut pgtls_ffi::pgtls_error = std::ptr::null_mut();
    // SAFETY: `err` is a valid slot for one pointer.
    let status = unsafe { pgtls_ffi::pgtls_testing_panic(&mut err) };
    assert_eq!(status, pgtls_ffi::pgtls_status::Panic);
    assert!(!err.is_null());
    // SAFETY: `err` came from pgtls and is freed once.
    unsafe {
        let msg = std::ffi::CStr::from_ptr(pgtls_ffi::pgtls_error_message(err));
        assert!(
            msg.to_string_lossy().contains("pgtls_testing_panic"),
            "{msg:?}"
        );
        assert_eq!(
            pgtls_ffi::pgtls_error_status(err),
            pgtls_ffi::pgtls_status::Panic
        );
        pgtls_ffi::pgtls_error_free(err);
    }
}

#[test]
fn every_export_runs_inside_the_panic_boundary() {
    // Every source file, in src/ and its module directories.
    let mut files = Vec::new();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut unguarded = Vec::new();
    let mut count = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for chunk in text.split("extern \"C\" fn ").skip(1) {
            count += 1;
            let name: String = chunk.chars().take_while(|c| *c != '(').collect();
            let body = chunk.split_once("{\n").map(|(_, b)| b).unwrap_or_default();
            let first = body
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("//"))
                .unwrap_or_default();
            let guarded = ["status(", "boundary(", "crate::panic::boundary("]
                .iter()
                .any(|p| first.starts_with(p));
            if !guarded {
                unguarded.push(format!("{}: {name}: {first}", path.display()));
            }
        }
    }
    assert!(count > 50, "found only {count} exports");
    assert!(
        unguarded.is_empty(),
        "exports whose body does not start in the boundary: {unguarded:#?}"
    );
}
