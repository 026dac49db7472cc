//! `pgtls hba enforce-tls`.

use crate::args::PgVersionArg;
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_hba::ServerSettings;

use super::load_hba;

#[derive(Args)]
pub(crate) struct EnforceArgs {
    /// The pg_hba.conf file.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    /// Print what changed as JSON instead of the new file.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(a: &EnforceArgs) -> Result<crate::Decided, CliError> {
    let hba = load_hba(&a.file, ServerSettings::new(a.pg.version, true))?;
    let result = pgtls_hba::enforce_tls(&hba);
    if a.json {
        let changes: Vec<serde_json::Value> = result
            .changes
            .iter()
            .map(|c| serde_json::json!({"line": c.line, "action": c.action, "text": c.text}))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"changes": changes, "text": result.text})
        );
    } else {
        out!("{}", result.text);
    }
    Ok(crate::Decided::Accept)
}
