//! `pgtls hba map`.

use crate::args::{Json, PgVersionArg};
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_hba::{FsSource, IdentFile};

use super::{abs, read};

#[derive(Args)]
pub(crate) struct MapArgs {
    /// The pg_ident.conf file.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    /// The map name (from `map=`); omit for "no map" (names must be equal).
    #[arg(long)]
    pub(crate) map: Option<String>,
    /// The authenticated system user (certificate CN/DN, OS user, principal).
    #[arg(long)]
    pub(crate) system_user: String,
    /// The PostgreSQL user asked for.
    #[arg(long)]
    pub(crate) user: String,
    /// Roles the user belongs to (for `+group`, 16+; comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) member_of: Vec<String>,
    /// Compare literal names case-insensitively (SSPI, krb_caseins_users).
    #[arg(long)]
    pub(crate) case_insensitive: bool,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &MapArgs) -> Result<crate::Decided, CliError> {
    let text = read(&a.file)?;
    let f = IdentFile::parse(&abs(&a.file), &text, a.pg.version, &FsSource);
    if let Err(l) = f.load() {
        let why = l
            .result
            .as_ref()
            .err()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        eprintln!(
            "{} (line {} of \"{}\"): pg_ident.conf would not load; no map matches",
            why, l.line_number, l.file
        );
    }
    let members: Vec<String> = a
        .member_of
        .iter()
        .filter(|m| !m.is_empty())
        .cloned()
        .collect();
    let d = f.check_usermap(
        a.map.as_deref(),
        &a.system_user,
        &a.user,
        &members,
        a.case_insensitive,
    );
    let decided = crate::Decided::from(&d.outcome);
    let verdict = match decided {
        crate::Decided::Accept => "allowed",
        crate::Decided::Reject => "denied",
        _ => "undecided",
    };
    let reason = match &d.outcome {
        pgtls_hba::UsermapOutcome::Unsupported(why) => Some(why.clone()),
        _ => d.log.clone(),
    };
    if a.json.on {
        outln!(
            "{}",
            serde_json::json!({
                "verdict": verdict,
                "file": d.line.as_ref().map(|l| l.0.clone()),
                "line": d.line.as_ref().map(|l| l.1),
                "message": reason,
            })
        );
    } else {
        if let Some((file, line)) = &d.line {
            outln!("{verdict} by line {line} of \"{file}\"");
        } else {
            outln!("{verdict}");
        }
        if decided != crate::Decided::Accept
            && let Some(r) = &reason
        {
            eprintln!("{r}");
        }
    }
    Ok(decided)
}
