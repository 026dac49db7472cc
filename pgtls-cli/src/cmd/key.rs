//! `pgtls key`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use crate::args::{KeyOptions, Passphrase};
use crate::error::CliError;
use crate::output::{label, print};
use crate::pki::{check_new, generate_key, write_key};
/// `pgtls key`
#[derive(Args)]
pub(crate) struct KeyArgs {
    /// Where to write the key (created 0600).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) key: KeyOptions,
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &KeyArgs) -> Result<(), CliError> {
    check_new(&[&a.out], a.force)?;
    let k = generate_key(&a.key, a.json.on)?;
    write_key(&a.out, &k, &a.key, &a.pass, a.force)?;
    let mut v = serde_json::to_value(pgtls_core::report::KeyReport::private(&k, a.key.encrypt))
        .unwrap_or(Value::Null);
    v["file"] = json!(label(&a.out));
    print(
        a.json.on,
        &v,
        &format!("wrote {} key {}\n", k.key_type(), a.out.display()),
    )?;
    Ok(())
}
