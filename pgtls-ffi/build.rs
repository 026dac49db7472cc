//! Tells dependents (`links = "pgtls"`: `DEP_PGTLS_INCLUDE`) where the
//! checked-in header is. The C library itself, with its SONAME, is built by
//! pgtls-capi.

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo:include={manifest}/../include");
    println!("cargo:rerun-if-changed=build.rs");
}
