//! `pgtls ca import`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{DirStore, Error, KeyPair, Store};
use serde_json::json;

use crate::args::Passphrase;
use crate::error::CliError;
use crate::output::{cert_json, label, print, read_file};
/// `pgtls ca import`
#[derive(Args)]
pub(crate) struct CaImportArgs {
    /// The store directory to create.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// The CA certificate (PEM or DER).
    #[arg(long)]
    pub(crate) cert: PathBuf,
    /// The CA private key (PKCS#8, PKCS#1, SEC1; encrypted PKCS#8 with --passphrase-*).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// Certificates above the CA (intermediate CAs only), PEM.
    #[arg(long)]
    pub(crate) chain: Option<PathBuf>,
    /// Passphrase of the key; the store keeps the key encrypted with it.
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &CaImportArgs) -> Result<(), CliError> {
    let cert = pgtls_core::Certificate::from_pem_or_der(&read_file(&a.cert)?, &label(&a.cert))?;
    let pass = a.pass.get()?;
    let key = KeyPair::from_pem_or_der(&read_file(&a.key)?, pass.as_deref(), &label(&a.key))?;
    if !key.matches(cert.public_key()) {
        return Err(Error::KeyMismatch {
            key: label(&a.key),
            certificate: label(&a.cert),
        }
        .into());
    }
    let chain = match &a.chain {
        Some(f) => pgtls_core::Certificate::chain_from_pem_or_der(&read_file(f)?, &label(f))?,
        None => Vec::new(),
    };
    let ca = pgtls_core::Ca::from_parts(cert, key, chain, &label(&a.cert))?;
    let store = DirStore::create(&a.dir, ca, pass.as_deref())?;
    let c = store.ca().certificate();
    let mut v = cert_json(c);
    v["dir"] = json!(a.dir.display().to_string());
    print(
        a.json.on,
        &v,
        &format!("imported CA {} into {}\n", c.subject(), a.dir.display()),
    )?;
    Ok(())
}
