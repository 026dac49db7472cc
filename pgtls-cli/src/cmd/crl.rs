//! `pgtls crl`.

use crate::args::Json;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{Store, write_public_file};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::StoreArgs;
use crate::error::CliError;
use crate::output::{fmt_time, label, print};
/// `pgtls crl`
#[derive(Args)]
pub(crate) struct CrlArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Days until nextUpdate (after it, PostgreSQL rejects every client certificate).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) days: u32,
    /// Also write the CRL here (the store keeps it in crl.pem).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &CrlArgs, now: OffsetDateTime) -> Result<(), CliError> {
    let store = a.store.open()?;
    let next = now + time::Duration::days(i64::from(a.days));
    let crl = store.generate_crl(next, now)?;
    if let Some(out) = &a.out {
        write_public_file(out, crl.to_pem().as_bytes(), true)?;
    }
    let v = json!({
        "file": label(&store.files().crl),
        "crl_number": crl.crl_number().map(|n| n.to_hex()),
        "this_update": fmt_time(crl.this_update()),
        "next_update": crl.next_update().map(fmt_time),
        "revoked": crl.entries().len(),
    });
    print(
        a.json.on,
        &v,
        &format!(
            "wrote CRL number {} with {} revoked certificate(s) to {}; next update {}\n\
             (install it as ssl_crl_file and reload PostgreSQL before then)\n",
            crl.crl_number().map(|n| n.to_hex()).unwrap_or_default(),
            crl.entries().len(),
            store.files().crl.display(),
            fmt_time(next)
        ),
    )?;
    Ok(())
}
