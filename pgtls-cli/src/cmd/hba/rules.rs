//! `pgtls hba rules`.

use crate::args::PgVersionArg;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{BuildArgs, Format, OnOff, load_hba, print_rows};

#[derive(Args)]
pub(crate) struct RulesArgs {
    /// The pg_hba.conf file.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// The server's `ssl` setting (PostgreSQL's default is off).
    #[arg(long, value_enum, default_value = "off")]
    pub(crate) ssl: OnOff,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

pub(crate) fn run(a: &RulesArgs) -> ExitCode {
    let hba = match load_hba(&a.file, a.build.settings(a.pg.version, a.ssl)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    print_rows(&hba.view_rows(), a.format);
    ExitCode::SUCCESS
}
