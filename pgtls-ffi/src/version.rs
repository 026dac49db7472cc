//! Version macros in the header and the same numbers at run time, so a
//! binding can compare the header it was built with and the library it loaded.

use std::ffi::{CStr, c_char};

use crate::panic::boundary;

/// Major version of the pgtls header (a test ties it to Cargo.toml).
pub const PGTLS_VERSION_MAJOR: u32 = 0;
/// Minor version of the pgtls header.
pub const PGTLS_VERSION_MINOR: u32 = 1;
/// Patch version of the pgtls header.
pub const PGTLS_VERSION_PATCH: u32 = 0;
/// `(MAJOR << 16) | (MINOR << 8) | PATCH`, for `#if` comparisons.
pub const PGTLS_VERSION_NUMBER: u32 =
    (PGTLS_VERSION_MAJOR << 16) | (PGTLS_VERSION_MINOR << 8) | PGTLS_VERSION_PATCH;
/// The ABI generation of this header. It changes whenever an existing
/// function, type or status code changes meaning or signature. Before 1.0
/// there is no ABI promise and the shared library's SONAME carries the exact
/// version; compare with `pgtls_abi_version()` at load time.
///
/// * 1: pgtls 0.1.0.
/// * 2: verdicts and lint severities are enums (`pgtls_chain_outcome`,
///   `pgtls_client_outcome`, `pgtls_hba_outcome`, `pgtls_usermap_outcome`,
///   `pgtls_severity`) instead of strings and bools; `pgtls_hba_evaluate`
///   and `pgtls_ident_check_usermap` are gone (`pgtls_hba_evaluate_request`,
///   `pgtls_ident_usermap`, whose roles are now an array of names, not a
///   comma-separated text); `pgtls_ca_certificate` and
///   `pgtls_store_ca_certificate` return an owned copy; a host-name
///   mismatch is a verdict of `pgtls_leaf_check_host`, and the statuses
///   `PGTLS_STATUS_HOSTNAME_MISMATCH` (300) and `PGTLS_STATUS_CHAIN_REJECTED`
///   (301) are retired.
pub const PGTLS_ABI_VERSION: u32 = 2;

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// The library's version as "MAJOR.MINOR.PATCH": static, NUL-terminated, never
/// NULL (do not free).
#[unsafe(no_mangle)]
pub extern "C" fn pgtls_version() -> *const c_char {
    boundary(VERSION.as_ptr(), || VERSION.as_ptr())
}

/// The library's ABI generation, to compare with `PGTLS_ABI_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn pgtls_abi_version() -> u32 {
    boundary(PGTLS_ABI_VERSION, || PGTLS_ABI_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_follow_cargo_toml() {
        assert_eq!(
            PGTLS_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            PGTLS_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            PGTLS_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        assert_eq!(VERSION.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(PGTLS_VERSION_NUMBER >> 16, PGTLS_VERSION_MAJOR);
        assert_eq!((PGTLS_VERSION_NUMBER >> 8) & 0xff, PGTLS_VERSION_MINOR);
        assert_eq!(PGTLS_VERSION_NUMBER & 0xff, PGTLS_VERSION_PATCH);
    }
}
