//! `pgtls hba lint`.

use crate::args::{Json, PgVersionArg};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pgtls_hba::{FsSource, IdentFile};

use super::{BuildArgs, OnOff, abs, load_hba, read};

#[derive(Args)]
pub(crate) struct LintArgs {
    /// The pg_hba.conf file.
    pub(crate) file: PathBuf,
    /// pg_ident.conf, to check `map=` names.
    #[arg(long)]
    pub(crate) ident: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// The server's `ssl` setting.
    #[arg(long, value_enum, default_value = "on")]
    pub(crate) ssl: OnOff,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &LintArgs) -> ExitCode {
    let hba = match load_hba(&a.file, a.build.settings(a.pg.version, a.ssl)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let ident = match &a.ident {
        None => None,
        Some(p) => match read(p) {
            Ok(t) => Some(IdentFile::parse(&abs(p), &t, a.pg.version, &FsSource)),
            Err(c) => return c,
        },
    };
    let findings = pgtls_hba::lint(&hba, ident.as_ref());
    if a.json.on {
        println!("{}", pgtls_hba::report::findings_json(&findings));
    } else {
        for f in &findings {
            let w = f
                .witness
                .as_deref()
                .map(|w| format!(" [witness: {w}]"))
                .unwrap_or_default();
            println!(
                "{}:{}: {}: {} ({}){w}",
                f.file,
                f.line,
                f.severity.as_str(),
                f.message,
                f.code
            );
        }
        if findings.is_empty() {
            println!("no findings");
        }
    }
    crate::exit_code(
        if findings
            .iter()
            .any(|f| f.severity == pgtls_hba::Severity::Error)
        {
            crate::Decided::Reject
        } else {
            crate::Decided::Accept
        },
    )
}
