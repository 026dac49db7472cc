#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pgtls_fuzz::checks::store_files(data));
