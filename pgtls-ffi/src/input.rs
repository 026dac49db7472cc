//! Checked conversions of what C hands in, and of what goes back out.

use crate::error::Error;
use crate::status::pgtls_status;

/// Borrows `(ptr, len)`: `(NULL, 0)` is empty, `(NULL, n > 0)` an error.
///
/// # Safety
/// When `ptr` is not NULL it points to `len` readable bytes that stay valid
/// and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::new(
                pgtls_status::NullArgument,
                format!("{what} is NULL with length {len}"),
            ))
        };
    }
    if isize::try_from(len).is_err() {
        return Err(Error::new(
            pgtls_status::InvalidArgument,
            format!("{what}: length {len} is too large"),
        ));
    }
    // SAFETY: non-NULL, length fits isize, readable for `len` bytes per the
    // caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `(ptr, len)` as UTF-8 text.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { bytes(ptr, len, what) }?;
    std::str::from_utf8(b).map_err(|e| {
        Error::new(
            pgtls_status::InvalidUtf8,
            format!("{what} is not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })
}

/// Like [`text`], but `(NULL, 0)` means "not given".
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn opt_text<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, len, what) }.map(Some)
}

/// Borrows an object handle, which must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live object that outlives `'a`.
pub(crate) unsafe fn object<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: NULL or live, as the caller promised.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::null(what))
}

/// An output slot, checked before any work is done; written with [`Out::set`]
/// only once everything succeeded.
pub(crate) struct Out<T>(*mut *mut T);

impl<T> Out<T> {
    /// Fails when `ptr` is NULL.
    pub(crate) fn new(ptr: *mut *mut T, what: &str) -> Result<Self, Error> {
        if ptr.is_null() {
            Err(Error::null(what))
        } else {
            Ok(Self(ptr))
        }
    }

    /// Hands `value` to the caller.
    pub(crate) fn set(self, value: Box<T>) {
        // SAFETY: checked non-NULL in `new`; the caller promised it is valid
        // for writing one pointer.
        unsafe { self.0.write(Box::into_raw(value)) };
    }
}

/// A plain output (integer, flag), checked like [`Out`].
pub(crate) struct OutValue<T>(*mut T);

impl<T> OutValue<T> {
    /// Fails when `ptr` is NULL.
    pub(crate) fn new(ptr: *mut T, what: &str) -> Result<Self, Error> {
        if ptr.is_null() {
            Err(Error::null(what))
        } else {
            Ok(Self(ptr))
        }
    }

    /// Writes `value`.
    pub(crate) fn set(self, value: T) {
        // SAFETY: checked non-NULL in `new`; the caller promised it is valid
        // and aligned for writing one `T`.
        unsafe { self.0.write(value) };
    }
}

/// Takes back and drops an object handed out with `Box::into_raw`.
///
/// # Safety
/// `ptr` is NULL or came from `Box::<T>::into_raw` and is not used again.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: per the caller's promise.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Text handed back to C: interior NULs (which C cannot see past) dropped.
pub(crate) fn cstring(s: impl Into<Vec<u8>>) -> std::ffi::CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|b| *b != 0);
    std::ffi::CString::new(v).unwrap_or_default()
}

/// [`cstring`] of an optional text.
pub(crate) fn opt_cstring(s: Option<impl Into<Vec<u8>>>) -> Option<std::ffi::CString> {
    s.map(cstring)
}

/// A borrowed pointer to an optional text; NULL for none.
pub(crate) fn opt_ptr(s: Option<&std::ffi::CString>) -> *const std::ffi::c_char {
    s.map_or(std::ptr::null(), |c| c.as_ptr())
}

/// A PostgreSQL major version as C passes it (12 to 18).
pub(crate) fn major_version(major: u32) -> Result<::pgtls_hba::PgVersion, Error> {
    ::pgtls_hba::PgVersion::new(major)
        .map_err(|e| Error::from_std(pgtls_status::InvalidArgument, &e))
}
