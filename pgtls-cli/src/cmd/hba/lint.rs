//! `pgtls hba lint`.

use crate::args::{Json, PgVersionArg};
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_hba::{FsSource, IdentFile};

use super::{BuildArgs, SslSetting, abs, load_hba, read};

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
    #[command(flatten)]
    pub(crate) ssl: SslSetting,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &LintArgs) -> Result<crate::Decided, CliError> {
    let hba = load_hba(&a.file, a.build.settings(a.pg.version, a.ssl.ssl)?)?;
    let ident = match &a.ident {
        None => None,
        Some(p) => Some(IdentFile::parse(
            &abs(p),
            &read(p)?,
            a.pg.version,
            &FsSource,
        )),
    };
    let findings = pgtls_hba::lint(&hba, ident.as_ref());
    if a.json.on {
        outln!("{}", pgtls_hba::report::findings_json(&findings));
    } else {
        for f in &findings {
            let w = f
                .witness
                .as_deref()
                .map(|w| format!(" [witness: {w}]"))
                .unwrap_or_default();
            outln!(
                "{}:{}: {}: {} ({}){w}",
                f.file,
                f.line,
                f.severity.as_str(),
                f.message,
                f.code
            );
        }
        if findings.is_empty() {
            outln!("no findings");
        }
    }
    Ok(
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
