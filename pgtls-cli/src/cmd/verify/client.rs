//! `pgtls verify client`.

use crate::args::{At, Json, PgVersionArg};
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_verify::server::ServerOutcome;

/// `pgtls verify client`.
#[derive(Args)]
pub(crate) struct ClientArgs {
    /// The pg_hba.conf line the connection matches.
    #[arg(long)]
    pub(crate) hba_line: String,
    /// The server's pg_ident.conf (its ident_file); required when --hba-line has map=
    /// (pgtls does not guess the file: an empty map would predict refusals).
    #[arg(long)]
    pub(crate) ident: Option<PathBuf>,
    /// The server's ssl_ca_file.
    #[arg(long)]
    pub(crate) ssl_ca_file: PathBuf,
    /// The server's ssl_crl_file.
    #[arg(long)]
    pub(crate) ssl_crl_file: Option<PathBuf>,
    /// The server's ssl_crl_dir (PG14+).
    #[arg(long)]
    pub(crate) ssl_crl_dir: Option<PathBuf>,
    /// The role the client asks to log in as.
    #[arg(long)]
    pub(crate) user: String,
    /// The client's certificate chain (PEM, leaf first); none: no certificate.
    #[arg(long)]
    pub(crate) cert: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) at: At,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: ClientArgs) -> Result<crate::Decided, CliError> {
    let now = a.at.unix_time().map_err(CliError::bad_input)?;
    let ident = match &a.ident {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => Some(pgtls_hba::IdentFile::parse(
                &p.display().to_string(),
                &bytes,
                a.pg.version,
                &pgtls_hba::FsSource,
            )),
            Err(e) => return Err(CliError::bad_input(format!("{}: {e}", p.display()))),
        },
        None => None,
    };
    let chain = match &a.cert {
        Some(p) => match pgtls_verify::read_chain_file(p) {
            Ok(c) => Some(c),
            Err(e) => return Err(CliError::bad_input(e)),
        },
        None => None,
    };
    let mut tls = pgtls_verify::server::ServerTls::new(a.ssl_ca_file.clone(), a.pg.version);
    tls.ssl_crl_file = a.ssl_crl_file.clone();
    tls.ssl_crl_dir = a.ssl_crl_dir.clone();
    let d = match pgtls_verify::server::decide_client(
        &tls,
        &a.hba_line,
        ident.as_ref(),
        &a.user,
        chain.as_deref(),
        now,
    ) {
        Ok(d) => d,
        Err(e @ pgtls_verify::Error::IdentNeeded { .. }) => {
            return Err(CliError::bad_input(format!("--ident FILE is needed: {e}")));
        }
        Err(e) => return Err(CliError::bad_input(e)),
    };
    if a.json.on {
        outln!("{}", d.to_json());
    } else if d.accepted() {
        outln!("accept");
        for c in &d.checks {
            outln!("  {:<16} {}", c.name, c.detail);
        }
    }
    match &d.outcome {
        ServerOutcome::Accept => {}
        ServerOutcome::Undecided { message, .. } => {
            eprintln!("pgtls: undecided: {message}");
        }
        ServerOutcome::Reject { message, log } => {
            eprintln!("{message}");
            if !a.json.on {
                if let Some(l) = log {
                    eprintln!("pgtls: server log: {l}");
                }
                // The reason OpenSSL gives, which neither the client nor the log shows.
                super::print_hidden_reasons(&d.checks, true);
            }
        }
        _ => {}
    }
    Ok(crate::Decided::from(&d))
}
