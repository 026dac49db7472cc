//! The boundary every export runs inside: panics are caught here, so the host
//! process (a PostgreSQL backend, a Go or Python program) never dies from
//! pgtls. This needs `panic = "unwind"`, the default, which no profile of the
//! workspace may change (a test reads Cargo.toml).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, pgtls_error};
use crate::status::pgtls_status;

/// Runs `body`; a panic gives `default` (NULL, 0, false) instead.
pub(crate) fn boundary<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

/// Runs a fallible `body` and turns its outcome into a status. On failure
/// (including a caught panic) an error object is written to `err_out` when
/// it is not NULL; on success `*err_out` is left untouched.
pub(crate) fn status(
    err_out: *mut *mut pgtls_error,
    body: impl FnOnce() -> Result<(), Error>,
) -> pgtls_status {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return pgtls_status::Ok,
        Ok(Err(e)) => e,
        Err(payload) => Error::new(
            pgtls_status::Panic,
            format!("pgtls panicked: {}", payload_text(payload.as_ref())),
        ),
    };
    let code = error.status();
    // Writing the error object must not unwind either.
    let _ = catch_unwind(AssertUnwindSafe(|| error.write_to(err_out)));
    code
}

fn payload_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

/// Panics inside the boundary, for tests that prove the built library
/// catches panics: returns `PGTLS_STATUS_PANIC` and, when `err_out` is not
/// NULL, an error object whose message contains the panic text.
///
/// Only present when pgtls is built with the `test-hooks` feature.
///
/// # Safety
/// `err_out` is NULL or points to writable storage for one pointer.
#[cfg(feature = "test-hooks")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_testing_panic(err_out: *mut *mut pgtls_error) -> pgtls_status {
    status(err_out, || panic!("pgtls_testing_panic was called"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status_and_an_error_object() {
        let mut err: *mut pgtls_error = std::ptr::null_mut();
        let s = status(&mut err, || panic!("boom {}", 42));
        assert_eq!(s, pgtls_status::Panic);
        assert!(!err.is_null());
        // SAFETY: `err` was just written by `status` and is freed once.
        let e = unsafe { Box::from_raw(err) };
        assert!(e.message_text().contains("boom 42"), "{}", e.message_text());
        assert_eq!(boundary(7, || panic!("x")), 7);
    }
}
