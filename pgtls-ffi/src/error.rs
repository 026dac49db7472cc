//! The owned error object written to the optional last parameter `err_out`.

use std::ffi::{CString, c_char};

use crate::status::pgtls_status;

/// What went wrong in one call: a status code and a message with context
/// (file, line, field). Created by pgtls and handed to the caller through the
/// optional last parameter `pgtls_error **err_out` of a failing call; the
/// caller owns it and frees it with `pgtls_error_free`.
///
/// There is no "last error" per thread: Go may run two consecutive cgo calls
/// of one goroutine on different OS threads.
///
/// Functions: `pgtls_error_status`, `pgtls_error_message`, `pgtls_error_free`.
pub struct pgtls_error {
    status: pgtls_status,
    message: CString,
}

impl pgtls_error {
    #[cfg(test)]
    pub(crate) fn message_text(&self) -> String {
        self.message.to_string_lossy().into_owned()
    }
}

/// The failure of an export before it becomes a [`pgtls_error`].
#[derive(Debug)]
pub(crate) struct Error {
    status: pgtls_status,
    message: String,
}

impl Error {
    pub(crate) fn new(status: pgtls_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer where `what` was required.
    pub(crate) fn null(what: &str) -> Self {
        Self::new(pgtls_status::NullArgument, format!("{what} is NULL"))
    }

    /// From a library error: its `Display` and every `source()` below it.
    pub(crate) fn from_std(status: pgtls_status, e: &dyn std::error::Error) -> Self {
        let mut message = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            message.push_str(": ");
            message.push_str(&c.to_string());
            cause = c.source();
        }
        Self::new(status, message)
    }

    pub(crate) fn status(&self) -> pgtls_status {
        self.status
    }

    /// Writes a new error object to `err_out` unless it is NULL.
    pub(crate) fn write_to(self, err_out: *mut *mut pgtls_error) {
        if err_out.is_null() {
            return;
        }
        let message = CString::new(self.message.replace('\0', "\\0")).unwrap_or_default();
        let object = Box::new(pgtls_error {
            status: self.status,
            message,
        });
        // SAFETY: the caller promised `err_out` is NULL (checked above) or
        // valid for writing one pointer.
        unsafe { err_out.write(Box::into_raw(object)) };
    }
}

/// The status of an error object; `PGTLS_STATUS_NULL_ARGUMENT` for NULL.
///
/// # Safety
/// `err` is NULL or a live object from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_error_status(err: *const pgtls_error) -> pgtls_status {
    crate::panic::boundary(pgtls_status::Panic, || {
        // SAFETY: NULL or a live object from pgtls, as the caller promised.
        match unsafe { err.as_ref() } {
            Some(e) => e.status,
            None => pgtls_status::NullArgument,
        }
    })
}

/// The message of an error object, NUL-terminated, with context such as the
/// line number. Valid until the object is freed; NULL when `err` is NULL.
///
/// # Safety
/// `err` is NULL or a live object from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_error_message(err: *const pgtls_error) -> *const c_char {
    crate::panic::boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live object from pgtls, as the caller promised.
        match unsafe { err.as_ref() } {
            Some(e) => e.message.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// Frees an error object; NULL is a no-op.
///
/// # Safety
/// `err` is NULL or an object from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_error_free(err: *mut pgtls_error) {
    crate::panic::boundary((), || {
        if !err.is_null() {
            // SAFETY: the caller hands back ownership of a Box from `write_to`.
            drop(unsafe { Box::from_raw(err) });
        }
    });
}
