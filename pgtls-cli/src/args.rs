//! Argument groups shared by several commands (`#[command(flatten)]`).

use std::path::PathBuf;

use clap::Args;
use pgtls_core::{DirStore, PBKDF2_ITERATIONS};

use crate::error::Failure;
/// Passphrase sources (never on the command line itself).
#[derive(Args, Clone, Default)]
pub(crate) struct Passphrase {
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) passphrase_env: Option<String>,
}

impl Passphrase {
    pub(crate) fn get(&self) -> Result<Option<Vec<u8>>, Failure> {
        self.get_as("--passphrase")
    }

    /// The passphrase, errors naming the flags as `{flag}-file` / `{flag}-env`.
    pub(crate) fn get_as(&self, flag: &str) -> Result<Option<Vec<u8>>, Failure> {
        if let Some(f) = &self.passphrase_file {
            let text = std::fs::read(f).map_err(|e| Failure::io("cannot read", f, e))?;
            let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(Some(line.to_vec()));
        }
        if let Some(var) = &self.passphrase_env {
            return match std::env::var_os(var) {
                Some(v) => Ok(Some(v.into_encoded_bytes())),
                None => Err(Failure::Usage(format!(
                    "{flag}-env {var}: the variable is not set"
                ))),
            };
        }
        Ok(None)
    }
}

/// Options shared by commands that write keys.
#[derive(Args, Clone)]
pub(crate) struct KeyOptions {
    /// Key type: p256, p384, ed25519, rsa2048, rsa3072, rsa4096.
    #[arg(long = "key-type", default_value = "p256")]
    pub(crate) key_type: String,
    /// Encrypt written private keys with the passphrase from --passphrase-file/-env.
    #[arg(long)]
    pub(crate) encrypt: bool,
    /// PBKDF2 iterations for encrypted keys.
    #[arg(long, default_value_t = PBKDF2_ITERATIONS, hide = true)]
    pub(crate) kdf_iterations: u32,
}

/// Store access shared by commands that use a CA store.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// The CA store directory.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// Read the CA key passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_passphrase_file: Option<PathBuf>,
    /// Read the CA key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) ca_passphrase_env: Option<String>,
}

impl StoreArgs {
    pub(crate) fn open(&self) -> Result<DirStore, Failure> {
        let pass = Passphrase {
            passphrase_file: self.ca_passphrase_file.clone(),
            passphrase_env: self.ca_passphrase_env.clone(),
        }
        .get_as("--ca-passphrase")?;
        Ok(DirStore::open(&self.dir, pass.as_deref())?)
    }
}
