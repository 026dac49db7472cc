//! Builds and runs every consumer of the C ABI against the libpgtls.so /
//! libpgtls.a cargo built for these tests (with the `test-hooks` feature),
//! through `scripts/test-ffi.sh`: the C example and test suite under
//! AddressSanitizer + UndefinedBehaviorSanitizer, the Python ctypes bindings,
//! the Go cgo bindings and the PostgreSQL extension (built and loaded on
//! every PostgreSQL version with server headers: 14 to 18; 12 and 13 are
//! reported as not run). A missing tool (gcc,
//! pkg-config, python3, go, pg_config) fails the test with the package to
//! install. The valgrind run takes minutes and is left to
//! `scripts/test-ffi.sh valgrind` (and `cargo test -- --ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap.

use std::path::PathBuf;
use std::process::Command;

fn lib_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(consumer: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/test-ffi.sh"))
        .arg("--lib-dir")
        .arg(lib_dir())
        .arg(consumer)
        .output()
        .expect("bash is needed to run scripts/test-ffi.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/test-ffi.sh {consumer} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(&format!("passed: {consumer}")),
        "no pass line:\n{stdout}\n{stderr}"
    );
    stdout.into_owned()
}

#[test]
fn c_example_and_suite_under_sanitizers() {
    run("c");
}

#[test]
fn python_ctypes_bindings() {
    run("python");
}

#[test]
fn go_cgo_bindings() {
    run("go");
}

/// The extension is built and run on every selected version
/// (`PGTLS_PG_VERSIONS`) that has server headers; 12 and 13 have none and
/// must be reported as not run, never left out silently.
#[test]
fn postgresql_extension() {
    let stdout = run("pg-extension");
    let versions = pgtls_testkit::pg_versions().unwrap();
    let mut ran = 0;
    for major in versions {
        let prefix = format!("pg-extension: PostgreSQL {major} ");
        let prefix_gap = format!("pg-extension: PostgreSQL {major}: NOT RUN: ");
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&prefix) || l.starts_with(&prefix_gap))
            .unwrap_or_else(|| panic!("no line for PostgreSQL {major}:\n{stdout}"));
        if major <= 13 {
            assert!(line.starts_with(&prefix_gap), "{line}");
            continue;
        }
        let count: u32 = line
            .strip_suffix(" assertions passed")
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no assertion count: {line}"));
        assert!(
            count >= 10,
            "PostgreSQL {major} ran only {count} assertions: {line}"
        );
        ran += 1;
    }
    assert!(ran > 0, "no version ran the extension:\n{stdout}");
}

#[test]
#[ignore = "minutes under valgrind; run by scripts/test-ffi.sh valgrind"]
fn c_suite_under_valgrind() {
    run("valgrind");
}

#[test]
fn c_suite_calls_every_export() {
    // The C suite is the place where every export meets NULL, empty,
    // truncated and garbage input: make sure none is left out.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let header = std::fs::read_to_string(root.join("include/pgtls.h")).unwrap();
    let suite = std::fs::read_to_string(root.join("examples/c/test_ffi.c")).unwrap();
    let missing: Vec<&str> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.contains('('))
        .filter_map(|l| l.split('(').next()?.rsplit([' ', '*']).next())
        .filter(|name| name.starts_with("pgtls_"))
        .filter(|name| !suite.contains(&format!("{name}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "examples/c/test_ffi.c never calls {missing:?}"
    );
}
