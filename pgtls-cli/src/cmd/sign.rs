//! `pgtls sign`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{Csr, CsrPolicy, CsrUsage, DistinguishedName, Error, Store, Validity};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::StoreArgs;
use crate::error::CliError;
use crate::output::{cert_json, label, print, read_file};
use crate::pki::{check_new, sans, write_cert_chain};
/// Which profile to sign with.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ProfileArg {
    /// PostgreSQL server: SANs, serverAuth.
    Server,
    /// PostgreSQL client: CN = role, clientAuth.
    Client,
}

/// `pgtls sign`
#[derive(Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The CSR (PEM or DER).
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// The profile.
    #[arg(long, value_enum)]
    pub(crate) profile: ProfileArg,
    /// Server names (DNS or IP) for the server profile; repeatable.
    #[arg(long)]
    pub(crate) host: Vec<String>,
    /// Copy the subject alternative names the CSR requests (DNS and IP only).
    #[arg(long)]
    pub(crate) copy_sans: bool,
    /// Replace the CSR's subject (openssl -subj form).
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) days: u32,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Write the certificate followed by the CA chain (without the root).
    #[arg(long)]
    pub(crate) full_chain: bool,
    /// Replace an existing file.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &SignArgs, now: OffsetDateTime) -> Result<(), CliError> {
    let store = a.store.open()?;
    let csr = Csr::from_pem_or_der(&read_file(&a.csr)?, &label(&a.csr))?;
    check_new(&[&a.out], a.force)?;
    let usage = match a.profile {
        ProfileArg::Server => CsrUsage::Server,
        ProfileArg::Client => CsrUsage::Client,
    };
    let mut policy = CsrPolicy::new(usage, Validity::days_from(now, a.days));
    policy.names = sans(&a.host)?;
    policy.copy_requested_names = a.copy_sans;
    if let Some(s) = &a.subject {
        policy.subject = Some(DistinguishedName::parse_openssl(s).map_err(Error::from)?);
    }
    if usage == CsrUsage::Server && policy.names.is_empty() && !a.copy_sans {
        return Err(CliError::Usage(
            "the server profile needs --host NAME or --copy-sans".to_owned(),
        ));
    }
    let cert = store.sign_csr(&csr, &policy, now)?;
    write_cert_chain(&a.out, &cert, &store, a.full_chain, a.force)?;
    let mut v = cert_json(&cert);
    v["file"] = json!(label(&a.out));
    print(
        a.json.on,
        &v,
        &format!(
            "signed {} serial {} -> {}\n",
            cert.subject(),
            cert.serial_hex(),
            a.out.display()
        ),
    )?;
    Ok(())
}
