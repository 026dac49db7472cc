//! Connection types, authentication methods and the build the server was compiled with.

use std::fmt;

use crate::PgVersion;

/// The first field of a pg_hba.conf record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnType {
    /// `local`: Unix-domain sockets.
    Local,
    /// `host`: TCP, with or without TLS or GSS encryption.
    Host,
    /// `hostssl`: TCP with TLS.
    HostSsl,
    /// `hostnossl`: TCP without TLS.
    HostNoSsl,
    /// `hostgssenc`: TCP with GSSAPI encryption.
    HostGssEnc,
    /// `hostnogssenc`: TCP without GSSAPI encryption.
    HostNoGssEnc,
}

impl ConnType {
    /// The keyword as written in pg_hba.conf and shown in the view.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Host => "host",
            Self::HostSsl => "hostssl",
            Self::HostNoSsl => "hostnossl",
            Self::HostGssEnc => "hostgssenc",
            Self::HostNoGssEnc => "hostnogssenc",
        }
    }

    /// The exact (case-sensitive) keyword, as `parse_hba_line` compares it.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "local" => Self::Local,
            "host" => Self::Host,
            "hostssl" => Self::HostSsl,
            "hostnossl" => Self::HostNoSsl,
            "hostgssenc" => Self::HostGssEnc,
            "hostnogssenc" => Self::HostNoGssEnc,
            _ => return None,
        })
    }

    /// Whether this type matches TCP connections.
    pub fn is_tcp(self) -> bool {
        self != Self::Local
    }
}

impl fmt::Display for ConnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentication method (a closed set: anything else is an invalid line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `trust`
    Trust,
    /// `reject`
    Reject,
    /// `md5`
    Md5,
    /// `password`
    Password,
    /// `scram-sha-256`
    ScramSha256,
    /// `gss`
    Gss,
    /// `sspi`
    Sspi,
    /// `ident`
    Ident,
    /// `peer`
    Peer,
    /// `pam`
    Pam,
    /// `bsd`
    Bsd,
    /// `ldap`
    Ldap,
    /// `cert`
    Cert,
    /// `radius`
    Radius,
    /// `oauth` (18+)
    Oauth,
}

impl AuthMethod {
    /// The name as written and as `hba_authname` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trust => "trust",
            Self::Reject => "reject",
            Self::Md5 => "md5",
            Self::Password => "password",
            Self::ScramSha256 => "scram-sha-256",
            Self::Gss => "gss",
            Self::Sspi => "sspi",
            Self::Ident => "ident",
            Self::Peer => "peer",
            Self::Pam => "pam",
            Self::Bsd => "bsd",
            Self::Ldap => "ldap",
            Self::Cert => "cert",
            Self::Radius => "radius",
            Self::Oauth => "oauth",
        }
    }

    /// The exact method name for `version` (`oauth` only from 18).
    pub fn from_name(s: &str, version: PgVersion) -> Option<Self> {
        Some(match s {
            "trust" => Self::Trust,
            "reject" => Self::Reject,
            "md5" => Self::Md5,
            "password" => Self::Password,
            "scram-sha-256" => Self::ScramSha256,
            "gss" => Self::Gss,
            "sspi" => Self::Sspi,
            "ident" => Self::Ident,
            "peer" => Self::Peer,
            "pam" => Self::Pam,
            "bsd" => Self::Bsd,
            "ldap" => Self::Ldap,
            "cert" => Self::Cert,
            "radius" => Self::Radius,
            "oauth" if version >= PgVersion::V18 => Self::Oauth,
            _ => return None,
        })
    }

    /// Whether the method sends a password the client typed (trust, reject and
    /// certificate- or OS-based methods do not).
    pub fn uses_password(self) -> bool {
        matches!(
            self,
            Self::Md5
                | Self::Password
                | Self::ScramSha256
                | Self::Pam
                | Self::Bsd
                | Self::Ldap
                | Self::Radius
        )
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server binary was built with; decides "not supported by this build".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Build {
    /// `USE_SSL` (OpenSSL).
    pub ssl: bool,
    /// `ENABLE_GSS`.
    pub gss: bool,
    /// `ENABLE_SSPI` (Windows only).
    pub sspi: bool,
    /// `USE_PAM`.
    pub pam: bool,
    /// `USE_BSD_AUTH` (OpenBSD).
    pub bsd: bool,
    /// `USE_LDAP`.
    pub ldap: bool,
}

impl Default for Build {
    /// The Debian/PGDG Linux build: SSL, GSSAPI, PAM and LDAP; no SSPI, no BSD auth.
    fn default() -> Self {
        Self {
            ssl: true,
            gss: true,
            sspi: false,
            pam: true,
            bsd: false,
            ldap: true,
        }
    }
}

impl Build {
    /// Whether `method` is compiled in.
    pub fn supports(&self, method: AuthMethod) -> bool {
        match method {
            AuthMethod::Gss => self.gss,
            AuthMethod::Sspi => self.sspi,
            AuthMethod::Pam => self.pam,
            AuthMethod::Bsd => self.bsd,
            AuthMethod::Ldap => self.ldap,
            AuthMethod::Cert => self.ssl,
            _ => true,
        }
    }
}

/// `clientcert=` on a hostssl line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum ClientCert {
    /// No client certificate check (the default).
    #[default]
    Off,
    /// `verify-ca`: the certificate must chain to the server's CA.
    VerifyCa,
    /// `verify-full`: also the certificate's name must match the user (or the map).
    VerifyFull,
}

/// `clientname=`: which certificate name `cert` and `verify-full` compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum ClientName {
    /// The subject's common name (the default).
    #[default]
    Cn,
    /// The whole subject DN in RFC 2253 form.
    Dn,
}
