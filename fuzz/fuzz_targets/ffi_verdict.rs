#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pgtls_fuzz::checks::ffi_verdict(data));
