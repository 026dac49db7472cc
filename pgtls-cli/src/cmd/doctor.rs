//! `pgtls doctor`: converts the flags, calls [`pgtls_verify::doctor::diagnose`]
//! and prints the findings (one line each plus its fix, or `--json`).

use crate::args::{At, Json};
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_verify::doctor::{DoctorInput, Report, diagnose};

/// `pgtls doctor --pgdata DIR [--host NAME]... [--at TIME] [--json]`.
#[derive(Args)]
pub(crate) struct DoctorArgs {
    /// The data directory (as given to pg_ctl -D); its postgresql.conf is read with its
    /// includes and postgresql.auto.conf, as the server reads them.
    #[arg(long, value_name = "DIR")]
    pgdata: PathBuf,
    /// A host name clients connect with (checked against the server certificate as
    /// libpq's verify-full does); repeatable.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    #[command(flatten)]
    pub(crate) at: At,
    /// The directory the server is started from, for a relative hba_file / ident_file
    /// (default: assume the data directory, and say so).
    #[arg(long, value_name = "DIR")]
    server_cwd: Option<PathBuf>,
    /// The server's major version (12 to 18) whose rules apply; default: the one in the
    /// data directory's PG_VERSION (a server of another version refuses to start on it).
    #[arg(long = "pg-version", value_name = "PG_VERSION")]
    pg_version: Option<pgtls_hba::PgVersion>,
    #[command(flatten)]
    pub(crate) json: Json,
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let place = crate::output::place(f.file.as_deref(), f.line);
        out.push_str(&format!(
            "{}: {place}{} [{}]\n",
            f.severity.as_str(),
            f.message,
            f.code
        ));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == pgtls_verify::doctor::Severity::Error)
        .count();
    out.push_str(&format!(
        "{errors} error(s), {} finding(s) in all\n",
        report.findings.len()
    ));
    out
}

/// Runs `pgtls doctor`.
pub(crate) fn run(a: &DoctorArgs) -> Result<crate::Decided, CliError> {
    let at = a.at.seconds().map_err(CliError::BadInput)?;
    let mut input = DoctorInput::new(&a.pgdata, at);
    input.hosts.clone_from(&a.hosts);
    input.version = a.pg_version;
    input.server_cwd.clone_from(&a.server_cwd);
    let report = diagnose(&input);
    if a.json.on {
        match serde_json::to_string(&report) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                return Err(CliError::Other(e.to_string()));
            }
        }
    } else {
        out!("{}", text(&report));
    }
    if report.has_errors() {
        if let Some(f) = report
            .findings
            .iter()
            .find(|f| f.severity == pgtls_verify::doctor::Severity::Error)
        {
            eprintln!("pgtls: {}", f.message);
        }
        Ok(crate::Decided::Reject)
    } else {
        Ok(crate::Decided::Accept)
    }
}
