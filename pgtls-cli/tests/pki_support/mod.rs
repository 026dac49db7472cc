//! What the PKI command tests share: running `pgtls` and reading its output.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `pgtls` binary under test.
pub(crate) fn pgtls(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .output()
        .unwrap()
}

/// Its stdout, after asserting that it succeeded (both streams shown otherwise).
pub(crate) fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "pgtls failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A path as a `&str` argument.
pub(crate) fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}
