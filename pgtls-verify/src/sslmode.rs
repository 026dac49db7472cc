//! `sslmode` with libpq's exact spellings.

use std::fmt;
use std::str::FromStr;

/// libpq's `sslmode` (compared with `strcmp`: case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plaintext first, TLS if the server rejects it.
    Allow,
    /// TLS first, plaintext if TLS fails (the compiled default).
    Prefer,
    /// TLS only; verifies the chain only when a root file exists.
    Require,
    /// TLS only; a root file is mandatory and the chain is verified.
    VerifyCa,
    /// As verify-ca, plus the host-name check.
    VerifyFull,
}

impl SslMode {
    /// Every mode, weakest first.
    pub const ALL: [Self; 6] = [
        Self::Disable,
        Self::Allow,
        Self::Prefer,
        Self::Require,
        Self::VerifyCa,
        Self::VerifyFull,
    ];

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// `sslmode[0] == 'v'`: a missing root file is an error.
    pub fn is_verify(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }

    /// Whether a failed TLS attempt may fall back to (or start with) plaintext.
    pub fn allows_plaintext(self) -> bool {
        matches!(self, Self::Disable | Self::Allow | Self::Prefer)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `sslmode` value libpq does not know; `Display` is libpq's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid sslmode value: \"{0}\"")]
pub struct InvalidSslMode(pub String);

impl FromStr for SslMode {
    type Err = InvalidSslMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| InvalidSslMode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_exact() {
        for m in SslMode::ALL {
            assert_eq!(m.as_str().parse::<SslMode>().unwrap(), m);
        }
        let e = "Require".parse::<SslMode>().unwrap_err();
        assert_eq!(e.to_string(), "invalid sslmode value: \"Require\"");
        assert!("verify_full".parse::<SslMode>().is_err());
        assert!("".parse::<SslMode>().is_err());
    }
}
