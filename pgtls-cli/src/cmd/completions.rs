//! `pgtls completions SHELL`: the shell completion script, generated from the clap
//! definitions (clap_complete), on stdout.

use clap::Args;
use clap_complete::Shell;

use crate::error::CliError;

/// `pgtls completions`
#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// Prints the completion script of `cmd` (the whole `pgtls` command) for the shell.
pub(crate) fn run(a: &CompletionsArgs, mut cmd: clap::Command) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "pgtls", &mut script);
    use std::io::Write as _;
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(CliError::Stdout)
}
