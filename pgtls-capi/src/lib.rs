//! libpgtls: the C library of pgtls.
//!
//! Every export is defined in pgtls-ffi (`#[no_mangle] extern "C"`, declared
//! in `include/pgtls.h`); this crate only links them into `libpgtls.so` and
//! `libpgtls.a`, so that the Rust library of the C ABI can be called
//! `pgtls_ffi` while the C library keeps its name. A cdylib exports the
//! `#[no_mangle]` functions of the crates it links, and nothing else
//! (`pgtls-ffi/tests/symbols.rs` checks the table against the header).

pub use pgtls_ffi::*;
