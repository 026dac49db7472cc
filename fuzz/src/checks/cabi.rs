//! What every C ABI check needs: error objects, buffers and borrowed strings.

use std::ffi::CStr;

use pgtls_ffi::{
    pgtls_buf, pgtls_buf_data, pgtls_buf_free, pgtls_buf_len, pgtls_error, pgtls_error_free,
    pgtls_error_message, pgtls_error_status, pgtls_status,
};

/// Checks the error object of a failed call (status equal to the return value, a
/// non-empty message) and frees it. `what` names the call in a failure.
pub fn take_error(status: pgtls_status, err: *mut pgtls_error, what: &str) {
    assert!(!err.is_null(), "{what}: {status:?} without an error object");
    // SAFETY: err is a live error object returned by the library.
    let (s, msg) = unsafe { (pgtls_error_status(err), pgtls_error_message(err)) };
    assert_eq!(
        s, status,
        "{what}: error object status differs from the return value"
    );
    assert!(!msg.is_null(), "{what}: error without message");
    // SAFETY: NUL-terminated string borrowed from err.
    let empty = unsafe { CStr::from_ptr(msg) }.to_bytes().is_empty();
    assert!(!empty, "{what}: empty error message");
    // SAFETY: err came from the library and is freed once.
    unsafe { pgtls_error_free(err) };
}

/// The bytes of a buffer from the library, which is freed.
pub fn buf_bytes(buf: *mut pgtls_buf) -> Vec<u8> {
    assert!(!buf.is_null(), "NULL buffer");
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

/// A string borrowed from a live object (lossy UTF-8); `None` for NULL.
pub fn c_text(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: NULL or a NUL-terminated string borrowed from a live object.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The text as the C ABI shows it (NUL bytes dropped to make a C string).
pub fn c_form(s: &str) -> String {
    s.replace('\0', "")
}

/// `(ptr, len)` of optional bytes or text: `(NULL, 0)` for `None`.
pub fn opt_parts<T: AsRef<[u8]> + ?Sized>(b: Option<&T>) -> (*const u8, usize) {
    b.map_or((std::ptr::null(), 0), |b| {
        let b = b.as_ref();
        (b.as_ptr(), b.len())
    })
}

/// The report's word for a `pgtls_hba_outcome` (what `"verdict"` says in the JSON).
pub fn hba_word(o: pgtls_ffi::pgtls_hba_outcome) -> &'static str {
    use pgtls_ffi::pgtls_hba_outcome as O;
    match o {
        O::Match => "match",
        O::Reject => "reject",
        O::NoMatch => "no-match",
        O::NotLoaded => "not-loaded",
        O::Undecided => "undecided",
        O::Invalid => "invalid",
    }
}

/// The report's word for a `pgtls_usermap_outcome`.
pub fn usermap_word(o: pgtls_ffi::pgtls_usermap_outcome) -> &'static str {
    use pgtls_ffi::pgtls_usermap_outcome as O;
    match o {
        O::Allowed => "allowed",
        O::Denied => "denied",
        O::Error => "error",
        O::Undecided => "undecided",
        O::Invalid => "invalid",
    }
}

/// The report's word for a `pgtls_client_outcome`.
pub fn client_word(o: pgtls_ffi::pgtls_client_outcome) -> &'static str {
    use pgtls_ffi::pgtls_client_outcome as O;
    match o {
        O::Accept => "accept",
        O::Reject => "reject",
        O::Undecided => "undecided",
        O::Invalid => "invalid",
    }
}

/// Evaluates `req` through the request builder (the C ABI's one way to
/// evaluate a connection) with the given `PGTLS_HBA_REQUEST_*` flags: the
/// address, the flags and every non-empty role; the other fields keep the
/// builder's defaults. Returns the status and the decision (NULL on failure).
///
/// # Safety
/// `hba` is live.
pub unsafe fn evaluate_builder(
    hba: *const pgtls_ffi::pgtls_hba,
    req: &::pgtls_hba::Request,
    flags: u32,
) -> (pgtls_status, *mut pgtls_ffi::pgtls_hba_decision) {
    use pgtls_ffi::*;
    let mut request: *mut pgtls_hba_request = std::ptr::null_mut();
    let mut dec: *mut pgtls_hba_decision = std::ptr::null_mut();
    let addr = req.address.map(|a| a.to_string());
    let (ap, al) = opt_parts(addr.as_deref());
    // SAFETY: valid slices and out pointers; the request is freed once.
    unsafe {
        let mut st = pgtls_hba_request_new(
            req.database.as_ptr(),
            req.database.len(),
            req.user.as_ptr(),
            req.user.len(),
            &mut request,
            std::ptr::null_mut(),
        );
        if st == pgtls_status::Ok {
            st = pgtls_hba_request_set_address(request, ap, al, std::ptr::null_mut());
        }
        if st == pgtls_status::Ok {
            st = pgtls_hba_request_set_flags(request, flags, std::ptr::null_mut());
        }
        for role in req.member_of.iter().filter(|r| !r.is_empty()) {
            if st == pgtls_status::Ok {
                st = pgtls_hba_request_add_role(
                    request,
                    role.as_ptr(),
                    role.len(),
                    std::ptr::null_mut(),
                );
            }
        }
        if st == pgtls_status::Ok {
            st = pgtls_hba_evaluate_request(hba, request, &mut dec, std::ptr::null_mut());
        }
        pgtls_hba_request_free(request);
        (st, dec)
    }
}
