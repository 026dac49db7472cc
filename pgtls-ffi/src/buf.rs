//! Bytes pgtls hands out: PEM, DER, JSON, messages.

use std::sync::atomic::{Ordering, compiler_fence};

use crate::panic::boundary;

/// An owned byte buffer made by pgtls (PEM, DER, JSON text). Read it with
/// `pgtls_buf_data` and `pgtls_buf_len`; free it with `pgtls_buf_free`, never
/// with `free()` (do not mix allocators). The bytes are followed by a NUL
/// that `pgtls_buf_len` does not count, so text can be printed directly.
/// Freeing overwrites the contents with zeros (buffers may hold private keys).
pub struct pgtls_buf {
    /// The contents followed by one NUL byte.
    bytes: Vec<u8>,
}

impl pgtls_buf {
    pub(crate) fn new(mut bytes: Vec<u8>) -> Box<Self> {
        bytes.push(0);
        Box::new(Self { bytes })
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.split_last().map(|(_, b)| b).unwrap_or_default()
    }
}

impl Drop for pgtls_buf {
    fn drop(&mut self) {
        for b in self.bytes.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
        compiler_fence(Ordering::SeqCst);
    }
}

/// The first byte of the buffer (followed by a NUL after `pgtls_buf_len`
/// bytes); NULL when `buf` is NULL. Valid until the buffer is freed.
///
/// # Safety
/// `buf` is NULL or a live buffer from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_buf_data(buf: *const pgtls_buf) -> *const u8 {
    boundary(std::ptr::null(), || {
        // SAFETY: NULL or a live buffer, as the caller promised.
        match unsafe { buf.as_ref() } {
            Some(b) => b.bytes.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The number of bytes in the buffer (without the trailing NUL); 0 for NULL.
///
/// # Safety
/// `buf` is NULL or a live buffer from pgtls.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_buf_len(buf: *const pgtls_buf) -> usize {
    boundary(0, || {
        // SAFETY: NULL or a live buffer, as the caller promised.
        unsafe { buf.as_ref() }.map_or(0, |b| b.as_slice().len())
    })
}

/// Zeroes and frees a buffer; NULL is a no-op.
///
/// # Safety
/// `buf` is NULL or a buffer from pgtls not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pgtls_buf_free(buf: *mut pgtls_buf) {
    // SAFETY: ownership comes back from the caller, as promised.
    boundary((), || unsafe { crate::input::free(buf) });
}
