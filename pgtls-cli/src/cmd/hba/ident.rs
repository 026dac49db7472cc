//! `pgtls hba ident`.

use crate::args::PgVersionArg;
use std::path::PathBuf;
use std::process::ExitCode;

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

pub(crate) fn run(a: &IdentArgs) -> ExitCode {
    let text = match read(&a.file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let f = IdentFile::parse(&abs(&a.file), &text, a.pg.version, &FsSource);
    print_rows(&f.view_rows(), a.format);
    ExitCode::SUCCESS
}
