//! `pgtls revoke`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{Error, RevocationReason, SerialNumber, Store};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::StoreArgs;
use crate::error::{CliError, chain};
use crate::output::{label, print, read_file};
/// `pgtls revoke`
#[derive(Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Serial number (hex).
    #[arg(long, conflicts_with = "cert", required_unless_present = "cert")]
    pub(crate) serial: Option<String>,
    /// The certificate file to revoke.
    #[arg(long)]
    pub(crate) cert: Option<PathBuf>,
    /// Reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, AACompromise.
    #[arg(long)]
    pub(crate) reason: Option<String>,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &RevokeArgs, now: OffsetDateTime) -> Result<(), CliError> {
    let store = a.store.open()?;
    let reason = a
        .reason
        .as_deref()
        .map(str::parse::<RevocationReason>)
        .transpose()?;
    let entry = match (&a.serial, &a.cert) {
        (Some(s), _) => store.revoke(&SerialNumber::from_hex(s)?, reason, now)?,
        (None, Some(f)) => {
            let c = pgtls_core::Certificate::from_pem_or_der(&read_file(f)?, &label(f))?;
            match store.revoke_certificate(&c, reason, now) {
                Ok(entry) => entry,
                // The certificate file is the input: name it.
                Err(e @ (Error::NotIssuedByCa { .. } | Error::InvalidParameter { .. })) => {
                    return Err(CliError::Other(format!("{}: {}", f.display(), chain(&e))));
                }
                Err(e) => return Err(e.into()),
            }
        }
        (None, None) => return Err(CliError::Usage("give --serial or --cert".to_owned())),
    };
    let v = json!({
        "serial": entry.serial.to_hex(),
        "subject": entry.subject.to_openssl_oneline(),
        "reason": reason.map(|r| r.openssl_name()),
    });
    print(
        a.json.on,
        &v,
        &format!(
            "revoked {} ({}); run `pgtls crl --dir {}` to publish it\n",
            entry.serial,
            entry.subject.to_openssl_oneline(),
            a.store.dir.path.display()
        ),
    )?;
    Ok(())
}
