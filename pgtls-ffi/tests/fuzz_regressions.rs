//! Replays every input under `fuzz/regressions/<target>/` (crashes and property
//! violations the fuzzers found, kept after the fix) and every committed seed under
//! `fuzz/corpus/<target>/` through the same checks the fuzz targets run
//! (`fuzz/src/checks/`, compiled into this test with `#[path]`).
//!
//! Fails when `fuzz/regressions/` or a target's directory is missing, or when a
//! target has no seed at all, so the replay can never pass by finding nothing.
//! It lives in pgtls-ffi because that crate depends on all three library crates and
//! is the C ABI the `ffi_bytes` target drives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/src/checks/mod.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the directory must exist and be committed)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n == ".gitkeep" || n == "README.md")
        })
        .collect();
    v.sort();
    v
}

fn replay(kind: &str, only_seeds: bool) -> usize {
    let mut total = 0;
    for (target, check) in checks::TARGETS {
        let dir = fuzz_dir().join(kind).join(target);
        let mut inputs = files(&dir);
        if only_seeds {
            inputs.retain(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            });
            assert!(!inputs.is_empty(), "{}: no seed-* file", dir.display());
        }
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(
                r.is_ok(),
                "{target}: {} fails its check again",
                input.display()
            );
            total += 1;
        }
    }
    total
}

#[test]
fn regression_corpus_replays_clean() {
    let dir = fuzz_dir().join("regressions");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    let n = replay("regressions", false);
    eprintln!("replayed {n} regression inputs");
}

#[test]
fn seed_corpus_replays_clean() {
    let n = replay("corpus", true);
    assert!(n >= checks::TARGETS.len());
}

#[test]
fn every_fuzz_target_is_listed() {
    // A target added to fuzz/Cargo.toml but not to TARGETS would never be replayed.
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "pgtls-fuzz")
        .collect();
    let listed: Vec<&str> = checks::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(bins, listed, "fuzz/Cargo.toml [[bin]]s vs checks::TARGETS");
}
