//! `pgtls hba rules`.

use crate::args::PgVersionArg;
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;

use super::{BuildArgs, Format, SslSetting, load_hba, print_rows};

#[derive(Args)]
pub(crate) struct RulesArgs {
    /// The pg_hba.conf file.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    #[command(flatten)]
    pub(crate) ssl: SslSetting,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

pub(crate) fn run(a: &RulesArgs) -> Result<crate::Decided, CliError> {
    let hba = load_hba(&a.file, a.build.settings(a.pg.version, a.ssl.ssl)?)?;
    print_rows(&hba.view_rows(), a.format)?;
    Ok(crate::Decided::Accept)
}
