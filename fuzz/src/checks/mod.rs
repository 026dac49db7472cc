//! Fuzz checks: one function per target, `fn(&[u8])`, panicking on a property failure.
//!
//! Shared by the cargo-fuzz binaries (fuzz/fuzz_targets/) and the replay test in the
//! main workspace, which iterates [`TARGETS`] over fuzz/regressions/<target>/.

pub mod cabi;
pub mod core;
pub mod ffi;
pub mod ffi_extra;
pub mod ffi_store;
pub mod hba;
pub mod input;
pub mod store;
pub mod verify;

pub use self::core::{cert_issue, crl_parse, csr_sign, key_load};
pub use self::ffi::{ffi_bytes, ffi_verdict};
pub use self::hba::{hba_eval, hba_parse, ident_parse};
pub use self::store::store_files;
pub use self::verify::{chain_verify, conninfo, hostname};

/// A fuzz check.
pub type Check = fn(&[u8]);

/// Every target: its name (the cargo-fuzz binary, the corpus and regression directory)
/// and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("hba_parse", hba_parse),
    ("ident_parse", ident_parse),
    ("hba_eval", hba_eval),
    ("conninfo", conninfo),
    ("hostname", hostname),
    ("chain_verify", chain_verify),
    ("csr_sign", csr_sign),
    ("crl_parse", crl_parse),
    ("key_load", key_load),
    ("ffi_bytes", ffi_bytes),
    ("cert_issue", cert_issue),
    ("ffi_verdict", ffi_verdict),
    ("store_files", store_files),
];
