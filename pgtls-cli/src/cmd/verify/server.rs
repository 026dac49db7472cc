//! `pgtls verify server`.

use crate::args::{At, Json, PgVersionArg, Trust};
use crate::error::CliError;
use std::path::PathBuf;

use clap::Args;
use pgtls_verify::{Env, Params, Verdict};
use serde_json::json;

use super::verdict_json;
use crate::args::path_or_empty;

/// `pgtls verify server`.
#[derive(Args)]
pub(crate) struct ServerArgs {
    /// sslmode (default: $PGSSLMODE, else prefer; verify-full with sslrootcert=system on 16+).
    #[arg(long)]
    pub(crate) sslmode: Option<String>,
    /// The host parameter (the name verify-full checks).
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// The hostaddr parameter.
    #[arg(long)]
    pub(crate) hostaddr: Option<String>,
    #[command(flatten)]
    pub(crate) trust: Trust,
    /// sslnegotiation (PG17+).
    #[arg(long)]
    pub(crate) sslnegotiation: Option<String>,
    /// sslcertmode (PG16+): disable, allow (default: $PGSSLCERTMODE, else allow) or require.
    #[arg(long)]
    pub(crate) sslcertmode: Option<String>,
    /// Client certificate file. Default: $PGSSLCERT, else ~/.postgresql/postgresql.crt
    /// (a file that does not exist means no certificate).
    #[arg(long, value_parser = path_or_empty)]
    pub(crate) sslcert: Option<PathBuf>,
    /// Client key file. Default: $PGSSLKEY, else ~/.postgresql/postgresql.key.
    #[arg(long, value_parser = path_or_empty)]
    pub(crate) sslkey: Option<PathBuf>,
    /// The server asks for a client certificate (a CertificateRequest: PostgreSQL
    /// does when ssl_ca_file is set). Default: it does not.
    #[arg(long)]
    pub(crate) server_requests_cert: bool,
    /// A conninfo string or postgresql:// URI; explicit flags override it.
    #[arg(long)]
    pub(crate) conninfo: Option<String>,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    /// PEM chain as the server sends it, leaf first.
    #[arg(long, required_unless_present = "chains", conflicts_with = "chains")]
    pub(crate) chain: Option<PathBuf>,
    /// Several chains, each evaluated with the same flags: one verdict per chain, in
    /// order (with --json one object per line). Exit 0 when every chain is accepted.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub(crate) chains: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) at: At,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: ServerArgs) -> Result<crate::Decided, CliError> {
    let conninfo = match &a.conninfo {
        Some(c) => match Params::parse_conninfo(c) {
            Ok(p) => p,
            Err(e) => return Err(CliError::bad_input(format!("--conninfo: {e}"))),
        },
        None => Params::default(),
    };
    let mut flags = Params::default();
    flags.sslmode.clone_from(&a.sslmode);
    flags.host.clone_from(&a.host);
    flags.hostaddr.clone_from(&a.hostaddr);
    a.trust.apply(&mut flags);
    flags.sslnegotiation.clone_from(&a.sslnegotiation);
    flags.sslcertmode.clone_from(&a.sslcertmode);
    flags.sslcert.clone_from(&a.sslcert);
    flags.sslkey.clone_from(&a.sslkey);
    // Explicit flags override the conninfo.
    let mut params = conninfo.overlay(&flags);
    let now = a.at.unix_time().map_err(CliError::bad_input)?;
    let env = Env::from_process();
    // The service file fills what neither the flags nor the conninfo set; a lookup that
    // fails is libpq failing to connect.
    if let Err(e) = params.apply_service(&env, a.pg.version) {
        if a.json.on {
            outln!("{}", Verdict::refused_without_tls(e.to_string()).to_json());
        }
        eprintln!("{e}");
        return Ok(crate::Decided::Reject);
    }
    let server =
        pgtls_verify::ServerHandshake::new().requesting_client_cert(a.server_requests_cert);
    let decide = |file: &std::path::Path| -> Result<Verdict, String> {
        let chain = pgtls_verify::read_chain_file(file).map_err(|e| e.to_string())?;
        pgtls_verify::verify_server_handshake(&params, &env, a.pg.version, &chain, server, now)
            .map_err(|e| e.to_string())
    };
    let Some(one) = &a.chain else {
        return batch(&a.chains, decide, a.json.on);
    };
    match decide(one) {
        Ok(v) => report(&v, a.json.on),
        Err(e) => Err(CliError::bad_input(e)),
    }
}

/// `--chains`: every chain's verdict in order; exit 0 when all are accepted, 1 when any
/// is refused, 2 when one cannot be read (checked before anything is printed).
fn batch(
    files: &[PathBuf],
    decide: impl Fn(&std::path::Path) -> Result<Verdict, String>,
    json: bool,
) -> Result<crate::Decided, CliError> {
    let mut verdicts = Vec::with_capacity(files.len());
    for f in files {
        match decide(f) {
            Ok(v) => verdicts.push(v),
            Err(e) => return Err(CliError::bad_input(e)),
        }
    }
    for (f, v) in files.iter().zip(&verdicts) {
        if json {
            let mut j = verdict_json(v);
            j["chain"] = json!(f.display().to_string());
            outln!("{j}");
        } else if v.accepted() {
            outln!("{}: accept", f.display());
        } else {
            outln!(
                "{}: reject: {}",
                f.display(),
                v.message().unwrap_or("rejected")
            );
        }
    }
    match verdicts.iter().find(|v| !v.accepted()) {
        None => Ok(crate::Decided::Accept),
        Some(v) => {
            eprintln!("{}", v.message().unwrap_or("rejected"));
            Ok(crate::Decided::from(v))
        }
    }
}

fn report(v: &Verdict, json: bool) -> Result<crate::Decided, CliError> {
    if json {
        outln!("{}", verdict_json(v));
    } else if v.accepted() {
        outln!("accept");
        for c in &v.checks {
            let mark = match c.passed {
                Some(true) => "ok  ",
                Some(false) => "FAIL",
                None => "-   ",
            };
            outln!("  {mark} {:<9} {}", c.name, c.detail);
        }
    }
    if !v.accepted() {
        eprintln!("{}", v.message().unwrap_or("rejected"));
        if !json {
            super::print_hidden_reasons(&v.checks, false);
            if v.plaintext_fallback {
                eprintln!("pgtls: under this sslmode libpq would then connect without TLS");
            }
        }
    }
    Ok(crate::Decided::from(v))
}
