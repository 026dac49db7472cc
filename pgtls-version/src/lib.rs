//! pgtls-version: the PostgreSQL major version whose rules apply.
//!
//! PostgreSQL's behaviour changes between major versions on both sides of a
//! connection: the server's pg_hba.conf and pg_ident.conf (include directives
//! and regular expressions from 16, `oauth` from 18) and libpq's checks of the
//! server certificate (IP-address SANs from 14, `sslrootcert=system` from 16).
//! Every version-dependent decision in pgtls takes a [`PgVersion`]; this crate
//! holds only that type, so that `pgtls-hba`, `pgtls-verify` and their users
//! share it without depending on each other for it. It is re-exported as
//! `pgtls_hba::PgVersion`, `pgtls_verify::PgVersion` and `pgtls::PgVersion`.
//!
//! ```
//! use pgtls_version::PgVersion;
//!
//! let v: PgVersion = "16".parse().unwrap();
//! assert_eq!(v, PgVersion::V16);
//! assert!(v > PgVersion::V15);
//! assert_eq!(PgVersion::default(), PgVersion::V15);
//! assert_eq!(
//!     PgVersion::new(11).unwrap_err().to_string(),
//!     "unsupported PostgreSQL version 11: pgtls models 12 to 18"
//! );
//! ```

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL major version that pgtls models (12 to 18).
///
/// Behaviour differs between versions (for example `include` directives and
/// regular expressions in pg_hba.conf from 16, `sslrootcert=system` from 16,
/// IP-address SANs in libpq from 14), so every decision takes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgVersion(u8);

impl PgVersion {
    /// PostgreSQL 12.
    pub const V12: Self = Self(12);
    /// PostgreSQL 13.
    pub const V13: Self = Self(13);
    /// PostgreSQL 14.
    pub const V14: Self = Self(14);
    /// PostgreSQL 15, the version installed on the project's machines.
    pub const V15: Self = Self(15);
    /// PostgreSQL 16.
    pub const V16: Self = Self(16);
    /// PostgreSQL 17.
    pub const V17: Self = Self(17);
    /// PostgreSQL 18.
    pub const V18: Self = Self(18);
    /// The oldest version modelled.
    pub const OLDEST: Self = Self::V12;
    /// The newest version modelled.
    pub const NEWEST: Self = Self::V18;

    /// The version for a major number, if pgtls models it.
    pub fn new(major: u32) -> Result<Self, UnsupportedVersion> {
        match u8::try_from(major) {
            Ok(m) if (Self::OLDEST.0..=Self::NEWEST.0).contains(&m) => Ok(Self(m)),
            _ => Err(UnsupportedVersion(major)),
        }
    }

    /// The major version number.
    pub fn major(self) -> u32 {
        u32::from(self.0)
    }
}

impl Default for PgVersion {
    /// PostgreSQL 15.
    fn default() -> Self {
        Self::V15
    }
}

impl fmt::Display for PgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PgVersion {
    type Err = UnsupportedVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let major = s.trim().parse::<u32>().map_err(|_| UnsupportedVersion(0))?;
        Self::new(major)
    }
}

/// A PostgreSQL major version outside 12 to 18 (0 when the text was not a number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedVersion(pub u32);

impl fmt::Display for UnsupportedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unsupported PostgreSQL version {}: pgtls models {} to {}",
            self.0,
            PgVersion::OLDEST,
            PgVersion::NEWEST
        )
    }
}

impl std::error::Error for UnsupportedVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_enforced() {
        assert!(PgVersion::new(11).is_err());
        assert!(PgVersion::new(19).is_err());
        assert_eq!(PgVersion::new(16).unwrap(), PgVersion::V16);
        assert_eq!("17".parse::<PgVersion>().unwrap().major(), 17);
        assert!("x".parse::<PgVersion>().is_err());
        assert!(PgVersion::V14 < PgVersion::V15);
    }
}
