//! `pgtls hba ident`.

use crate::args::PgVersionArg;
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_hba::{FsSource, IdentFile};

use super::{Format, abs, print_rows, read};

#[derive(Args)]
pub(crate) struct IdentArgs {
    /// The pg_ident.conf file.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: Format,
}

pub(crate) fn run(a: &IdentArgs) -> Result<crate::Decided, CliError> {
    let text = read(&a.file)?;
    let f = IdentFile::parse(&abs(&a.file), &text, a.pg.version, &FsSource);
    print_rows(&f.view_rows(), a.format)?;
    Ok(crate::Decided::Accept)
}
