//! The checked-in include/pgtls.h is what cbindgen makes of this crate, and
//! it compiles as C99 and as C++ with warnings as errors.
//!
//! `PGTLS_BLESS=1 cargo test -p pgtls-ffi --test header` rewrites the header.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/pgtls.h")
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .unwrap();
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_current() {
    let fresh = generate();
    let path = header_path();
    if std::env::var_os("PGTLS_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        let first = current
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(current.lines().count().min(fresh.lines().count()));
        panic!(
            "{} is stale (first difference at line {}); regenerate it with \
             PGTLS_BLESS=1 cargo test -p pgtls-ffi --test header",
            path.display(),
            first + 1
        );
    }
}

#[test]
fn header_declares_every_status_code() {
    let header = std::fs::read_to_string(header_path()).unwrap();
    for s in pgtls_ffi::pgtls_status::ALL {
        let code = *s as u32;
        let needle = format!(" = {code},");
        assert!(
            header
                .lines()
                .any(|l| l.trim_start().starts_with("PGTLS_STATUS_") && l.ends_with(&needle)),
            "status {code} ({s:?}) missing from the header"
        );
    }
    let declared = header
        .lines()
        .filter(|l| l.trim_start().starts_with("PGTLS_STATUS_") && l.contains(" = "))
        .count();
    assert_eq!(
        declared,
        pgtls_ffi::pgtls_status::ALL.len(),
        "pgtls_status::ALL misses a variant"
    );
}

fn require(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is needed to compile the header: apt-get install {package}"
    );
}

fn compile(tool: &str, std: &str, source: &Path, dir: &Path, extra: &[&str]) {
    let out = Command::new(tool)
        .arg(format!("-std={std}"))
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only"])
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("../include"))
        .arg(source)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} -std={std} rejects pgtls.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn header_compiles_as_c99_and_cxx() {
    require("gcc", "gcc");
    require("g++", "g++");
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("h.c");
    std::fs::write(
        &c,
        "#include <pgtls.h>\n#include <pgtls.h>\n\
         #if !PGTLS_VERSION_CHECK(0, 0, 0)\n#error version check\n#endif\n\
         int main(void) { return (int)PGTLS_STATUS_OK; }\n",
    )
    .unwrap();
    compile("gcc", "c99", &c, dir.path(), &[]);
    compile("gcc", "c99", &c, dir.path(), &["-DPGTLS_TEST_HOOKS"]);
    compile("gcc", "c11", &c, dir.path(), &[]);
    let cc = dir.path().join("h.cc");
    std::fs::copy(&c, &cc).unwrap();
    compile("g++", "c++11", &cc, dir.path(), &[]);
    compile("g++", "c++17", &cc, dir.path(), &["-DPGTLS_TEST_HOOKS"]);
}

#[test]
fn version_macros_follow_cargo_toml() {
    let header = std::fs::read_to_string(header_path()).unwrap();
    for (name, value) in [
        ("PGTLS_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("PGTLS_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PGTLS_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define {name} {value}");
        assert!(header.lines().any(|l| l == line), "header lacks `{line}`");
    }
}
