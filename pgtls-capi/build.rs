//! Sets the shared library's SONAME to the exact version (no ABI promise
//! before 1.0).

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpgtls.so.{version}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
