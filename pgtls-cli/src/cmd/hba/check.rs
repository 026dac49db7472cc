//! `pgtls hba check`.

use crate::args::{Json, PgVersionArg};
use crate::error::CliError;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use pgtls_hba::{Decision, HbaVerdict, Replication, Request, ServerNetwork, evaluate};

use super::{BuildArgs, OnOff, load_hba};

/// `--replication` values.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReplArg {
    /// A physical walsender (`replication=true`).
    Physical,
    /// A logical walsender (`replication=database`).
    Logical,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("connection").required(true).args(["local", "address"])))]
pub(crate) struct CheckArgs {
    /// The pg_hba.conf file (`@file` references resolve next to it).
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// The server's `ssl` setting [default: on with --tls (a TLS connection needs it), else
    /// off, PostgreSQL's default].
    #[arg(long, value_enum)]
    pub(crate) ssl: Option<OnOff>,
    /// A Unix-socket connection.
    #[arg(long, conflicts_with = "address")]
    pub(crate) local: bool,
    /// The client's IP address (TCP).
    #[arg(long)]
    pub(crate) address: Option<IpAddr>,
    /// The connection uses TLS.
    #[arg(long)]
    pub(crate) tls: bool,
    /// The connection uses GSSAPI encryption.
    #[arg(long)]
    pub(crate) gss: bool,
    /// Requested database.
    #[arg(long)]
    pub(crate) database: String,
    /// Requested user.
    #[arg(long)]
    pub(crate) user: String,
    /// Roles the user belongs to, directly or not (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) member_of: Vec<String>,
    /// A replication connection.
    #[arg(long, value_enum)]
    pub(crate) replication: Option<ReplArg>,
    /// The client's host name as reverse-then-forward DNS gave it.
    #[arg(long)]
    pub(crate) client_hostname: Option<String>,
    /// The server's interface addresses as CIDRs (for samehost/samenet; comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) server_address: Vec<String>,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &CheckArgs) -> Result<crate::Decided, CliError> {
    let ssl = match (a.ssl, a.tls) {
        (Some(OnOff::Off), true) => {
            return Err(CliError::Usage(
                "--tls with --ssl off: a server with ssl = off accepts no TLS connection \
                 (it answers the SSLRequest with N), so no line can match one"
                    .to_owned(),
            ));
        }
        (Some(s), _) => s,
        (None, true) => OnOff::On,
        (None, false) => OnOff::Off,
    };
    let hba = load_hba(&a.file, a.build.settings(a.pg.version, ssl)?)?;
    let mut servers = Vec::with_capacity(a.server_address.len());
    for s in &a.server_address {
        let n = s
            .parse::<ServerNetwork>()
            .map_err(|e| CliError::Usage(format!("--server-address: {e}")))?;
        servers.push(n);
    }
    let base = match a.address {
        Some(ip) => Request::tcp(ip, &a.database, &a.user),
        None => Request::local(&a.database, &a.user),
    };
    let req = base
        .with_tls(a.tls)
        .with_gss(a.gss)
        .with_member_of(
            a.member_of
                .iter()
                .filter(|m| !m.is_empty())
                .cloned()
                .collect(),
        )
        .with_replication(match a.replication {
            None => Replication::None,
            Some(ReplArg::Physical) => Replication::Physical,
            Some(ReplArg::Logical) => Replication::Logical,
        })
        .with_client_hostname(a.client_hostname.clone())
        .with_server_networks(servers);
    let d: Decision = evaluate(&hba, &req);
    let verdict = d.verdict();
    let message = d.verdict_message();
    let method = d.method().map(|m| m.as_str());
    if a.json.on {
        outln!("{}", d.to_json());
    } else {
        if let Some(m) = message
            && verdict != HbaVerdict::Match
        {
            eprintln!("{m}");
        }
        if let Some(l) = &d.line {
            outln!(
                "line {} of \"{}\": {} (method {})",
                l.line_number,
                l.file,
                l.raw.trim(),
                method.unwrap_or("?")
            );
        } else if verdict == HbaVerdict::NoMatch {
            outln!("no line matches: implicit reject");
        }
    }
    Ok(crate::Decided::from(verdict))
}
