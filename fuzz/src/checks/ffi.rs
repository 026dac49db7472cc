//! The C ABI fed arbitrary bytes: every answer must be the Rust API's answer.

use std::ffi::CStr;
use std::ptr;

use pgtls::{
    pgtls_buf, pgtls_buf_data, pgtls_buf_free, pgtls_buf_len, pgtls_cert, pgtls_cert_free,
    pgtls_cert_is_ca, pgtls_cert_not_after, pgtls_cert_not_before, pgtls_cert_parse,
    pgtls_cert_san_count, pgtls_cert_serial, pgtls_error, pgtls_error_free, pgtls_error_message,
    pgtls_error_status, pgtls_inspect_json, pgtls_key, pgtls_key_free, pgtls_key_parse,
    pgtls_status,
};

/// Checks the error object of a failed call and frees it.
fn take_error(status: pgtls_status, err: *mut pgtls_error) {
    assert!(!err.is_null(), "{status:?} without an error object");
    // SAFETY: err is a live error object returned by the library.
    let (s, msg) = unsafe { (pgtls_error_status(err), pgtls_error_message(err)) };
    assert_eq!(
        s, status,
        "error object status differs from the return value"
    );
    assert!(!msg.is_null(), "error without message");
    // SAFETY: NUL-terminated string borrowed from err.
    let text = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    assert!(!text.is_empty(), "empty error message");
    // SAFETY: err came from the library and is freed once.
    unsafe { pgtls_error_free(err) };
}

fn buf_bytes(buf: *mut pgtls_buf) -> Vec<u8> {
    // SAFETY: buf is a live buffer from the library.
    let (data, len) = unsafe { (pgtls_buf_data(buf), pgtls_buf_len(buf)) };
    let v = if len == 0 {
        Vec::new()
    } else {
        // SAFETY: the library guarantees (data, len) is readable while buf lives.
        unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
    };
    // SAFETY: freed once.
    unsafe { pgtls_buf_free(buf) };
    v
}

/// Arbitrary bytes through `pgtls_cert_parse`, `pgtls_key_parse` and
/// `pgtls_inspect_json`: success exactly when the Rust API succeeds, the same field
/// values, an error object with the status on failure, and `(NULL, n > 0)` refused
/// as a NULL argument.
pub fn ffi_bytes(data: &[u8]) {
    // --- certificates
    let rust = pgtls_core::Certificate::from_pem_or_der(data, "certificate");
    let mut cert: *mut pgtls_cert = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: (data, len) is a valid slice; out pointers are valid.
    let st = unsafe { pgtls_cert_parse(data.as_ptr(), data.len(), &mut cert, &mut err) };
    match (&rust, st) {
        (Ok(c), pgtls_status::Ok) => {
            assert!(!cert.is_null() && err.is_null());
            // SAFETY: cert is live until freed below.
            unsafe {
                let serial = CStr::from_ptr(pgtls_cert_serial(cert))
                    .to_string_lossy()
                    .into_owned();
                assert_eq!(serial, c.serial_hex());
                assert_eq!(pgtls_cert_not_after(cert), c.not_after().unix_timestamp());
                assert_eq!(pgtls_cert_not_before(cert), c.not_before().unix_timestamp());
                assert_eq!(pgtls_cert_is_ca(cert), c.constraints().is_ca);
                assert_eq!(pgtls_cert_san_count(cert), c.subject_alt_names().len());
                pgtls_cert_free(cert);
            }
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(cert.is_null(), "output written on failure");
            take_error(s, err);
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- private keys
    let rust = pgtls_core::KeyPair::from_pem_or_der(data, None, "key");
    let mut key: *mut pgtls_key = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: as above; (NULL, 0) is "no passphrase".
    let st = unsafe {
        pgtls_key_parse(
            data.as_ptr(),
            data.len(),
            ptr::null(),
            0,
            &mut key,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(_), pgtls_status::Ok) => {
            assert!(!key.is_null() && err.is_null());
            // SAFETY: freed once.
            unsafe { pgtls_key_free(key) };
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(key.is_null(), "output written on failure");
            take_error(s, err);
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- inspect
    let rust = pgtls_core::inspect(data, None, "input");
    let mut json: *mut pgtls_buf = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: as above.
    let st = unsafe {
        pgtls_inspect_json(
            data.as_ptr(),
            data.len(),
            ptr::null(),
            0,
            &mut json,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(items), pgtls_status::Ok) => {
            assert!(!json.is_null() && err.is_null());
            let text = buf_bytes(json);
            let v: serde_json::Value = serde_json::from_slice(&text).expect("inspect JSON parses");
            assert_eq!(
                v.as_array().map(Vec::len),
                Some(items.len()),
                "item count differs"
            );
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(json.is_null(), "output written on failure");
            take_error(s, err);
        }
        (r, s) => panic!(
            "C ABI {s:?} but Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }

    // --- (NULL, n > 0) is a NULL argument, never a read.
    if !data.is_empty() {
        let mut cert: *mut pgtls_cert = ptr::null_mut();
        let mut err: *mut pgtls_error = ptr::null_mut();
        // SAFETY: the library must not dereference NULL.
        let st = unsafe { pgtls_cert_parse(ptr::null(), data.len(), &mut cert, &mut err) };
        assert_eq!(st, pgtls_status::NullArgument);
        assert!(cert.is_null());
        take_error(st, err);
    }
}
