//! `pgtls csr`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{Csr, DistinguishedName, Error, KeyPair, write_public_file};
use serde_json::{Value, json};

use crate::args::{KeyOptions, Passphrase};
use crate::error::CliError;
use crate::output::{label, print, read_file};
use crate::pki::{check_new, generate_key, sans, write_key};
/// `pgtls csr`
#[derive(Args)]
pub(crate) struct CsrArgs {
    /// Existing private key; without it a new key is written to --new-key.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// Where to write a new key (when --key is not given).
    #[arg(long)]
    pub(crate) new_key: Option<PathBuf>,
    /// Subject in openssl -subj form, e.g. "/CN=db.example.com".
    #[arg(long)]
    pub(crate) subject: String,
    /// Subject alternative name to request (DNS name or IP); repeatable.
    #[arg(long)]
    pub(crate) san: Vec<String>,
    /// Where to write the CSR (PEM).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) key_options: KeyOptions,
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &CsrArgs) -> Result<(), CliError> {
    let subject = DistinguishedName::parse_openssl(&a.subject).map_err(Error::from)?;
    let names = sans(&a.san)?;
    let key = match (&a.key, &a.new_key) {
        (Some(k), None) => {
            KeyPair::from_pem_or_der(&read_file(k)?, a.pass.get()?.as_deref(), &label(k))?
        }
        (None, Some(nk)) => {
            check_new(&[nk, &a.out], a.force)?;
            let k = generate_key(&a.key_options, a.json.on)?;
            write_key(nk, &k, &a.key_options, &a.pass, a.force)?;
            k
        }
        _ => {
            return Err(CliError::Usage(
                "give exactly one of --key FILE or --new-key FILE".to_owned(),
            ));
        }
    };
    check_new(&[&a.out], a.force)?;
    let csr = Csr::create(&subject, &names, &key)?;
    write_public_file(&a.out, csr.to_pem().as_bytes(), a.force)?;
    let mut v =
        serde_json::to_value(pgtls_core::report::CsrReport::from(&csr)).unwrap_or(Value::Null);
    v["file"] = json!(label(&a.out));
    print(a.json.on, &v, &format!("wrote CSR {}\n", a.out.display()))?;
    Ok(())
}
