//! Status codes: the first thing every fallible export returns.

/// The status of a call: `PGTLS_STATUS_OK` (0) or what went wrong.
///
/// In C this is a `uint32_t` (`typedef uint32_t pgtls_status`), so new codes
/// never change the ABI. Numbers are never reused or renumbered; a retired
/// code stays here as a "Reserved" comment. Codes come in bands: 1xx
/// arguments, 2xx parsing, 3xx reserved (verification refusals were codes
/// before ABI 2; they are verdicts now), 4xx certificate authority and
/// store, 9xx internal.
///
/// A status says whether the call produced its answer, never what the
/// answer is: a function that decides (`pgtls_verify_server`,
/// `pgtls_verify_client`, `pgtls_leaf_check_host`,
/// `pgtls_hba_evaluate_request`, `pgtls_ident_usermap`) returns
/// `PGTLS_STATUS_OK` with its decision (including "no" and "cannot
/// decide") in an outcome enum; a status other than OK means there is no
/// decision. A function that acts (load, issue, sign, revoke) fails with a
/// status when its inputs cannot do it, for example `PGTLS_STATUS_WRONG_OBJECT`
/// for a key that does not belong to a CA certificate. `pgtls_status_str` gives a fixed text for each.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum pgtls_status {
    /// Success; outputs were written.
    Ok = 0,

    /// A required pointer was NULL, or a `(NULL, n > 0)` input was given.
    NullArgument = 100,
    /// A text input was not valid UTF-8.
    InvalidUtf8 = 101,
    /// An integer or text argument is outside the accepted set (unknown
    /// sslmode, version, flag bits, out-of-range time).
    InvalidArgument = 102,
    /// An index was past the end of a list.
    IndexOutOfRange = 103,
    /// The object handed in cannot do this (for example a key where a
    /// certificate is needed).
    WrongObject = 104,

    /// PEM framing was not as expected (no block, wrong label).
    ParsePem = 200,
    /// A certificate did not parse.
    ParseCertificate = 201,
    /// A certificate signing request did not parse or its signature is bad.
    ParseCsr = 202,
    /// A private key did not parse.
    ParseKey = 203,
    /// A certificate revocation list did not parse.
    ParseCrl = 204,
    /// pg_hba.conf text has an error (the file would not load).
    ParseHba = 205,
    /// pg_ident.conf text has an error.
    ParseIdent = 206,
    /// A name, address or parameter value did not parse.
    ParseValue = 207,

    // 300 (host name mismatch) and 301 (chain rejected): reserved, retired
    // in ABI 2. A refusal is a verdict of a successful call, never a status.
    /// Issuing, signing or key generation failed.
    Issue = 400,
    /// Reading or writing the CA store failed (I/O).
    Io = 401,
    /// The CA store is malformed or locked.
    Store = 402,
    /// The serial number or certificate is not in the store.
    NotFound = 403,
    /// The object already exists (store directory, revoked serial).
    AlreadyExists = 404,

    /// An internal error in pgtls (a bug).
    Internal = 900,
    /// pgtls panicked; the panic was caught at the boundary (a bug).
    Panic = 901,
}

impl pgtls_status {
    /// Every status, for tests that walk the table.
    pub const ALL: &'static [Self] = &[
        Self::Ok,
        Self::NullArgument,
        Self::InvalidUtf8,
        Self::InvalidArgument,
        Self::IndexOutOfRange,
        Self::WrongObject,
        Self::ParsePem,
        Self::ParseCertificate,
        Self::ParseCsr,
        Self::ParseKey,
        Self::ParseCrl,
        Self::ParseHba,
        Self::ParseIdent,
        Self::ParseValue,
        Self::Issue,
        Self::Io,
        Self::Store,
        Self::NotFound,
        Self::AlreadyExists,
        Self::Internal,
        Self::Panic,
    ];

    /// The fixed, NUL-terminated text of a status.
    pub(crate) fn text(self) -> &'static std::ffi::CStr {
        match self {
            Self::Ok => c"ok",
            Self::NullArgument => c"null argument",
            Self::InvalidUtf8 => c"invalid UTF-8",
            Self::InvalidArgument => c"invalid argument",
            Self::IndexOutOfRange => c"index out of range",
            Self::WrongObject => c"wrong kind of object",
            Self::ParsePem => c"PEM parse error",
            Self::ParseCertificate => c"certificate parse error",
            Self::ParseCsr => c"certificate signing request parse error",
            Self::ParseKey => c"private key parse error",
            Self::ParseCrl => c"CRL parse error",
            Self::ParseHba => c"pg_hba.conf error",
            Self::ParseIdent => c"pg_ident.conf error",
            Self::ParseValue => c"value parse error",
            Self::Issue => c"issuance failed",
            Self::Io => c"I/O error",
            Self::Store => c"CA store error",
            Self::NotFound => c"not found",
            Self::AlreadyExists => c"already exists",
            Self::Internal => c"internal error",
            Self::Panic => c"panic caught at the pgtls boundary",
        }
    }
}

impl TryFrom<u32> for pgtls_status {
    type Error = u32;

    fn try_from(code: u32) -> Result<Self, u32> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| *s as u32 == code)
            .ok_or(code)
    }
}

/// The fixed text of a status code: never NULL, NUL-terminated, static
/// (do not free). Unknown codes give `"unknown status"`.
#[unsafe(no_mangle)]
pub extern "C" fn pgtls_status_str(status: u32) -> *const std::ffi::c_char {
    crate::panic::boundary(c"unknown status".as_ptr(), || {
        match pgtls_status::try_from(status) {
            Ok(s) => s.text(),
            Err(_) => c"unknown status",
        }
        .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in pgtls_status::ALL {
            assert!(seen.insert(*s as u32), "duplicate code {}", *s as u32);
            assert_eq!(pgtls_status::try_from(*s as u32), Ok(*s));
            assert!(!s.text().is_empty());
        }
        assert_eq!(pgtls_status::try_from(1), Err(1));
    }
}
