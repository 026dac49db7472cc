//! Shared by the integration tests: the openssl-made fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// Runs tests/fixtures/gen.sh (openssl CLI) into a fresh temporary directory.
pub(crate) fn fixtures() -> tempfile::TempDir {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let gen_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gen.sh");
    let out = std::process::Command::new("bash")
        .arg(gen_sh)
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gen.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmp
}
