//! `pgtls hba policy`.

use crate::error::CliError;

use clap::{Args, ValueEnum};

/// Client-certificate policies.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PolicyArg {
    /// `cert`: the certificate alone authenticates (CN = user, or a map).
    Cert,
    /// scram-sha-256 plus `clientcert=verify-ca`.
    VerifyCa,
    /// scram-sha-256 plus `clientcert=verify-full`.
    VerifyFull,
}

#[derive(Args)]
pub(crate) struct PolicyArgs {
    /// The policy.
    #[arg(value_enum)]
    pub(crate) policy: PolicyArg,
    /// Database field.
    #[arg(long, default_value = "all")]
    pub(crate) database: String,
    /// User field.
    #[arg(long, default_value = "all")]
    pub(crate) user: String,
    /// Address field (CIDR, host name, all, samehost, samenet).
    #[arg(long, default_value = "all")]
    pub(crate) address: String,
    /// pg_ident.conf map for the certificate name.
    #[arg(long)]
    pub(crate) map: Option<String>,
}

pub(crate) fn run(a: &PolicyArgs) -> Result<crate::Decided, CliError> {
    let p = match a.policy {
        PolicyArg::Cert => pgtls_hba::CertPolicy::Cert,
        PolicyArg::VerifyCa => pgtls_hba::CertPolicy::PasswordVerifyCa,
        PolicyArg::VerifyFull => pgtls_hba::CertPolicy::PasswordVerifyFull,
    };
    match pgtls_hba::policy_lines(p, &a.database, &a.user, &a.address, a.map.as_deref()) {
        Ok(lines) => {
            for l in lines {
                outln!("{l}");
            }
            Ok(crate::Decided::Accept)
        }
        Err(e) => Err(CliError::Usage(e.to_string())),
    }
}
