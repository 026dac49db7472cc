//! `pgtls man [--out DIR]`: manual pages generated from the clap definitions
//! (clap_mangen): the top page on stdout, or one page per command and subcommand
//! (`pgtls.1`, `pgtls-bundle.1`, `pgtls-bundle-merge.1`, ...) written into DIR.

use std::path::PathBuf;

use clap::Args;
use clap_mangen::Man;

use crate::error::CliError;

/// `pgtls man`
#[derive(Args)]
pub(crate) struct ManArgs {
    /// Write one page per command and subcommand into DIR (created if missing; pages
    /// there are replaced) instead of printing the top page.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Every page of `cmd` and its subcommands (hidden ones aside): file name and roff text.
fn pages(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), CliError> {
    let man = Man::new(cmd.clone());
    let mut text = Vec::new();
    man.render(&mut text)
        .map_err(|e| CliError::Other(format!("cannot render the manual page: {e}")))?;
    out.push((man.get_filename(), text));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub, out)?;
    }
    Ok(())
}

/// Prints or writes the pages of `cmd` (the whole `pgtls` command).
pub(crate) fn run(a: &ManArgs, cmd: clap::Command) -> Result<(), CliError> {
    // No `help` pseudo-command in the pages; build() names the subcommands
    // `pgtls-ca-create` and so on.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut all = Vec::new();
    pages(&cmd, &mut all)?;
    let Some(dir) = &a.out else {
        let top = all.first().map(|(_, t)| t.as_slice()).unwrap_or_default();
        use std::io::Write as _;
        return std::io::stdout()
            .lock()
            .write_all(top)
            .map_err(CliError::Stdout);
    };
    std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
    for (name, text) in &all {
        pgtls_core::write_public_file(&dir.join(name), text, true)?;
    }
    outln!("wrote {} manual pages into {}", all.len(), dir.display());
    Ok(())
}
