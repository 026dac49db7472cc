//! Argument groups shared by several commands (`#[command(flatten)]`).

use std::path::PathBuf;

use clap::Args;
use pgtls_core::{DirStore, PBKDF2_ITERATIONS};

use crate::error::CliError;
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
    pub(crate) fn get(&self) -> Result<Option<Vec<u8>>, CliError> {
        self.get_as("--passphrase")
    }

    /// The passphrase, errors naming the flags as `{flag}-file` / `{flag}-env`.
    pub(crate) fn get_as(&self, flag: &str) -> Result<Option<Vec<u8>>, CliError> {
        if let Some(f) = &self.passphrase_file {
            let text = std::fs::read(f).map_err(|e| CliError::io("cannot read", f, e))?;
            let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(Some(line.to_vec()));
        }
        if let Some(var) = &self.passphrase_env {
            return match std::env::var_os(var) {
                Some(v) => Ok(Some(v.into_encoded_bytes())),
                None => Err(CliError::Usage(format!(
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

/// `--dir` of an existing CA store.
#[derive(Args, Clone)]
pub(crate) struct StoreDir {
    /// The CA store directory.
    #[arg(long = "dir", id = "dir", value_name = "DIR")]
    pub(crate) path: PathBuf,
}

/// Store access shared by commands that use a CA store.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    #[command(flatten)]
    pub(crate) dir: StoreDir,
    /// Read the CA key passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_passphrase_file: Option<PathBuf>,
    /// Read the CA key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) ca_passphrase_env: Option<String>,
}

impl StoreArgs {
    pub(crate) fn open(&self) -> Result<DirStore, CliError> {
        let pass = Passphrase {
            passphrase_file: self.ca_passphrase_file.clone(),
            passphrase_env: self.ca_passphrase_env.clone(),
        }
        .get_as("--ca-passphrase")?;
        Ok(DirStore::open(&self.dir.path, pass.as_deref())?)
    }
}

/// `--json`, the same flag on every command that has it.
#[derive(Args, Clone, Copy)]
pub(crate) struct Json {
    /// Print JSON on stdout.
    #[arg(long = "json", id = "json")]
    pub(crate) on: bool,
}

/// `--pg-version`: which PostgreSQL major version's rules (libpq's or the server's) apply.
#[derive(Args, Clone, Copy)]
pub(crate) struct PgVersionArg {
    /// PostgreSQL major version whose rules apply (12 to 18).
    #[arg(
        long = "pg-version",
        id = "pg_version",
        value_name = "PG_VERSION",
        default_value = "15"
    )]
    pub(crate) version: pgtls_hba::PgVersion,
}

/// `--at`: the moment a decision is made for.
#[derive(Args, Clone)]
pub(crate) struct At {
    /// Evaluate at this time (RFC 3339, or seconds since the epoch) instead of now.
    #[arg(long = "at", id = "at", value_name = "TIME")]
    pub(crate) time: Option<String>,
}

impl At {
    /// Seconds since the epoch (negative before 1970), or now.
    pub(crate) fn seconds(&self) -> Result<i64, String> {
        let Some(s) = &self.time else {
            return Ok(time::OffsetDateTime::now_utc().unix_timestamp());
        };
        match s.parse::<i64>() {
            Ok(n) => Ok(n),
            Err(_) => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp())
                    .map_err(|e| format!("--at {s}: {e} (want RFC 3339 or epoch seconds)"))
            }
        }
    }

    /// The moment as pgtls-verify takes it (not before 1970), or now.
    pub(crate) fn unix_time(&self) -> Result<pgtls_verify::UnixTime, String> {
        if self.time.is_none() {
            return Ok(pgtls_verify::UnixTime::now());
        }
        let secs = self.seconds()?;
        let secs = u64::try_from(secs)
            .map_err(|_| format!("--at {}: before 1970", self.time.as_deref().unwrap_or("")))?;
        Ok(pgtls_verify::UnixTime::since_unix_epoch(
            std::time::Duration::from_secs(secs),
        ))
    }
}

/// A path flag whose empty value means "not set" (and overrides the environment), as
/// libpq takes an empty `sslrootcert`, `sslcrl`, `sslcrldir`, `sslcert`, `sslkey`.
pub(crate) fn path_or_empty(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// The trust libpq checks a server's chain against: `verify server` and `probe`.
#[derive(Args, Clone)]
pub(crate) struct Trust {
    /// Root certificate file, or `system` (PG16+). Default: $PGSSLROOTCERT, else ~/.postgresql/root.crt.
    #[arg(long, value_parser = path_or_empty)]
    pub(crate) sslrootcert: Option<PathBuf>,
    /// CRL file. Default: $PGSSLCRL, else ~/.postgresql/root.crl (when no --sslcrldir).
    #[arg(long, value_parser = path_or_empty)]
    pub(crate) sslcrl: Option<PathBuf>,
    /// CRL directory (OpenSSL hashed layout, PG14+). Default: $PGSSLCRLDIR.
    #[arg(long, value_parser = path_or_empty)]
    pub(crate) sslcrldir: Option<PathBuf>,
}

impl Trust {
    /// Sets the connection parameters these flags give (the others stay as they are).
    pub(crate) fn apply(&self, params: &mut pgtls_verify::Params) {
        params.sslrootcert.clone_from(&self.sslrootcert);
        params.sslcrl.clone_from(&self.sslcrl);
        params.sslcrldir.clone_from(&self.sslcrldir);
    }
}
