//! `pgtls rotation check` and `pgtls rotation plan`: converts the flags, calls
//! [`pgtls_verify::rotation`] and prints its report (a table and a summary line, or
//! `--json`).
//!
//! # Exit status
//! - `check`: 0 when no client goes from getting in to failing, 1 when one does (the
//!   first line on stderr names them), 2 for bad usage (a bad line of the clients file is
//!   named `FILE:LINE`);
//! - `plan`: 0 when the plan carried out leaves nothing broken, 1 when something would
//!   still break (listed under `problems`), 2 for bad usage.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pgtls_hba::{FsSource, HbaFile, ServerSettings};
use pgtls_verify::rotation::{
    self, CheckReport, ClientCaInput, ClientReport, Connects, PlaintextRules, PlanReport,
    SideReport, Switch,
};
use pgtls_verify::{CertificateDer, Env};

use crate::args::{At, Json, PgVersionArg};
use crate::error::CliError;

/// `pgtls rotation` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// What each client does with the server presenting the chain before and after the
    /// switch: verified, unverified (TLS without a chain check) or fails.
    Check(CheckArgs),
    /// The staged order of the rotation: which client needs which change before the
    /// switch, which do not verify, and the server's client-CA overlap.
    Plan(PlanArgs),
}

/// The inputs `check` and `plan` share.
#[derive(Args)]
pub(crate) struct SwitchArgs {
    /// The PEM chain the server presents before the switch, leaf first.
    #[arg(long, value_name = "FILE")]
    chain_before: PathBuf,
    /// The PEM chain the server presents after the switch, leaf first.
    #[arg(long, value_name = "FILE")]
    chain_after: PathBuf,
    /// The clients: one per line, LABEL<TAB>CONNINFO (a conninfo string or URI), optionally
    /// <TAB>driver=pgjdbc|node-postgres|pgx|sqlx; `#` lines are comments. They are
    /// evaluated in this process's environment (PGSSLMODE, HOME, PGSERVICEFILE, ...).
    #[arg(long, value_name = "FILE")]
    clients: PathBuf,
    /// The server's pg_hba.conf: says whether a plaintext session (allow, prefer,
    /// disable) gets in.
    #[arg(long, value_name = "FILE", requires = "client_address")]
    hba: Option<PathBuf>,
    /// The address the server sees the clients connect from (with --hba).
    #[arg(long, value_name = "IP", requires = "hba")]
    client_address: Option<IpAddr>,
    /// The server asks for a client certificate (a CertificateRequest: PostgreSQL does
    /// when ssl_ca_file is set), before and after the switch; as `verify server`'s flag,
    /// it decides `sslcertmode=require` (PG16+). Default: it does not.
    #[arg(long)]
    server_requests_cert: bool,
    /// The server's PostgreSQL major version, for --hba's decisions and messages (12 and
    /// 13 say `SSL off` where later servers say `no encryption`), when it is not the
    /// clients' libpq version (--pg-version, the default; psql 14 talks to 12 and 13).
    #[arg(long, value_name = "PG_VERSION", requires = "hba")]
    server_version: Option<pgtls_hba::PgVersion>,
    #[command(flatten)]
    pg: PgVersionArg,
    #[command(flatten)]
    at: At,
    #[command(flatten)]
    json: Json,
}

/// `pgtls rotation check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    switch: SwitchArgs,
}

/// `pgtls rotation plan`.
#[derive(Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    switch: SwitchArgs,
    /// The new CA certificate(s) clients are to trust (PEM). Default: the self-signed
    /// certificates of --chain-after.
    #[arg(long, value_name = "FILE")]
    new_ca: Option<PathBuf>,
    /// A CRL file (PEM or DER) of the new CA; repeatable. A client whose CRL file has no
    /// CRL of the new CA (libpq checks one for every CA level once a CRL loads) is then
    /// told to add it, the proposal checked; without it such a client is a problem.
    #[arg(long, value_name = "FILE")]
    new_crl: Vec<PathBuf>,
    /// The server's current client CA (its ssl_ca_file, PEM), for the client-certificate
    /// side of the plan.
    #[arg(long, value_name = "FILE", requires = "client_ca_new")]
    client_ca_old: Option<PathBuf>,
    /// The new client CA's certificate(s) (PEM).
    #[arg(long, value_name = "FILE", requires = "client_ca_old")]
    client_ca_new: Option<PathBuf>,
    /// A CRL file (PEM or DER) of a client CA, old or new; repeatable. Given any, the
    /// server is taken to have a CRL configured (every CA level then needs one).
    #[arg(long, value_name = "FILE", requires = "client_ca_old")]
    client_crl: Vec<PathBuf>,
}

pub(crate) fn run(cmd: Command) -> Result<crate::Decided, CliError> {
    match cmd {
        Command::Check(a) => run_check(&a),
        Command::Plan(a) => run_plan(&a),
    }
}

/// What both commands read.
struct Inputs {
    before: Vec<CertificateDer<'static>>,
    after: Vec<CertificateDer<'static>>,
    clients: Vec<rotation::Client>,
    hba: Option<HbaFile>,
    env: Env,
    now: pgtls_verify::UnixTime,
}

fn read_inputs(a: &SwitchArgs) -> Result<Inputs, CliError> {
    let now = a.at.unix_time().map_err(CliError::BadInput)?;
    let before = pgtls_verify::read_chain_file(&a.chain_before)
        .map_err(|e| CliError::bad_input(format!("--chain-before: {e}")))?;
    let after = pgtls_verify::read_chain_file(&a.chain_after)
        .map_err(|e| CliError::bad_input(format!("--chain-after: {e}")))?;
    let clients = rotation::read_clients_file(&a.clients).map_err(|e| {
        if e.line == 0 {
            CliError::BadInput(format!("--clients {}: {}", e.file, e.reason))
        } else {
            CliError::Usage(e.to_string())
        }
    })?;
    let hba = match &a.hba {
        Some(p) => {
            let bytes = crate::output::read_file(p)?;
            let hba = HbaFile::parse(
                &p.display().to_string(),
                &bytes,
                ServerSettings::new(a.server_version.unwrap_or(a.pg.version), true),
                &FsSource,
            );
            if let Some(e) = hba.load_error() {
                return Err(CliError::bad_input(format!(
                    "--hba {}: the server would not load it: {e}",
                    p.display()
                )));
            }
            Some(hba)
        }
        None => None,
    };
    Ok(Inputs {
        before,
        after,
        clients,
        hba,
        env: Env::from_process(),
        now,
    })
}

fn switch<'a>(i: &'a Inputs, a: &SwitchArgs) -> Switch<'a> {
    let mut sw = Switch::new(&i.before, &i.after, &i.env, i.now);
    sw.version = a.pg.version;
    sw.server = pgtls_verify::ServerHandshake::new().requesting_client_cert(a.server_requests_cert);
    if let (Some(hba), Some(addr)) = (&i.hba, a.client_address) {
        sw.plaintext = Some(PlaintextRules::new(hba, addr));
    }
    sw
}

fn run_check(a: &CheckArgs) -> Result<crate::Decided, CliError> {
    let inputs = read_inputs(&a.switch)?;
    let sw = switch(&inputs, &a.switch);
    let report = rotation::check(&inputs.clients, &sw).map_err(CliError::bad_input)?;
    if a.switch.json.on {
        outln!("{}", pgtls_verify::report::to_json(&report));
    } else {
        out!("{}", check_text(&report, sw.plaintext.is_some()));
    }
    if report.breaks() {
        let names: Vec<&str> = report
            .clients
            .iter()
            .filter(|c| c.change == rotation::Change::Breaks)
            .map(|c| c.label.as_str())
            .collect();
        eprintln!(
            "pgtls: {} client(s) fail after the switch: {}",
            names.len(),
            names.join(", ")
        );
        Ok(crate::Decided::Reject)
    } else {
        Ok(crate::Decided::Accept)
    }
}

fn read_certs(flag: &str, p: &Path) -> Result<Vec<CertificateDer<'static>>, CliError> {
    pgtls_verify::read_chain_file(p).map_err(|e| CliError::bad_input(format!("{flag}: {e}")))
}

fn run_plan(a: &PlanArgs) -> Result<crate::Decided, CliError> {
    let inputs = read_inputs(&a.switch)?;
    let sw = switch(&inputs, &a.switch);
    let given = match &a.new_ca {
        Some(p) => read_certs("--new-ca", p)?,
        None => Vec::new(),
    };
    let new_ca = rotation::new_ca_certificates(&given, &inputs.after)
        .map_err(|e| CliError::bad_input(format!("--new-ca: {e}")))?;
    if new_ca.is_empty() {
        return Err(CliError::Usage(
            "--new-ca FILE is needed: --chain-after sends no self-signed certificate, so the new CA clients are to trust is not known".into(),
        ));
    }
    let client_ca = match (&a.client_ca_old, &a.client_ca_new) {
        (Some(old), Some(new)) => {
            let mut ca = ClientCaInput::default();
            ca.old_ca = read_certs("--client-ca-old", old)?;
            ca.new_ca = read_certs("--client-ca-new", new)?;
            for f in &a.client_crl {
                let bytes = crate::output::read_file(f)?;
                let crls = rotation::read_crls(&bytes).map_err(|e| {
                    CliError::bad_input(format!("--client-crl {}: {e}", f.display()))
                })?;
                for (i, der) in crls.into_iter().enumerate() {
                    let name = if i == 0 {
                        f.display().to_string()
                    } else {
                        format!("{} (CRL {})", f.display(), i + 1)
                    };
                    ca.crls.push((name, der));
                }
            }
            Some(ca)
        }
        _ => None,
    };
    let mut new_crls = Vec::new();
    for f in &a.new_crl {
        let bytes = crate::output::read_file(f)?;
        new_crls.extend(
            rotation::read_crls(&bytes)
                .map_err(|e| CliError::bad_input(format!("--new-crl {}: {e}", f.display())))?,
        );
    }
    let report =
        rotation::plan_with_new_crls(&inputs.clients, &sw, &new_ca, &new_crls, client_ca.as_ref())
            .map_err(CliError::bad_input)?;
    if a.switch.json.on {
        outln!("{}", pgtls_verify::report::to_json(&report));
    } else {
        out!("{}", plan_text(&report));
    }
    if report.has_problems() {
        if let Some(p) = report.problems.first() {
            eprintln!("pgtls: {p}");
        }
        Ok(crate::Decided::Reject)
    } else {
        Ok(crate::Decided::Accept)
    }
}

/// A table: columns padded to their widest cell, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let w = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn side_cell(s: &SideReport, hba: bool) -> String {
    let mut t = s.outcome.as_str().to_owned();
    if s.fallback.is_some() {
        t.push_str("+plaintext");
    }
    if hba {
        t.push_str(match s.connects {
            Connects::Tls => " -> tls",
            Connects::Plaintext => " -> plaintext",
            Connects::No => " -> no",
            Connects::Unknown => " -> ?",
            _ => "",
        });
    }
    t
}

fn label_cell(c: &ClientReport) -> String {
    if c.modelled.is_some() {
        format!("{}*", c.label)
    } else {
        c.label.clone()
    }
}

fn check_text(r: &CheckReport, hba: bool) -> String {
    let mut rows = vec![
        ["CLIENT", "DRIVER", "SSLMODE", "BEFORE", "AFTER", "CHANGE"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for c in &r.clients {
        rows.push(vec![
            label_cell(c),
            c.driver.as_str().to_owned(),
            c.sslmode.clone().unwrap_or_else(|| "-".into()),
            side_cell(&c.before, hba),
            side_cell(&c.after, hba),
            c.change.as_str().to_owned(),
        ]);
    }
    let mut out = table(&rows);
    for c in &r.clients {
        for (when, s) in [("before", &c.before), ("after", &c.after)] {
            if let Some(m) = &s.message {
                let m = m.replace('\n', " ");
                match &s.reason {
                    Some(reason) => {
                        out.push_str(&format!("  {} {when}: {m} ({reason})\n", c.label))
                    }
                    None => out.push_str(&format!("  {} {when}: {m}\n", c.label)),
                }
            }
            if let Some(p) = &s.plaintext
                && let Some(m) = &p.message
            {
                out.push_str(&format!("  {} {when}, plaintext: FATAL:  {m}\n", c.label));
            }
        }
    }
    if r.clients.iter().any(|c| c.modelled.is_some()) {
        out.push_str("  * modelled from that driver's documentation, not run:\n");
        let mut seen = Vec::new();
        for c in &r.clients {
            if let Some(m) = c.modelled
                && !seen.contains(&m)
            {
                seen.push(m);
                out.push_str(&format!("    {}: {m}\n", c.driver));
            }
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "{} client(s): {} fail after the switch, {} weaken, {} recover; {} connect without verification after it\n",
        s.clients, s.breaks, s.weakens, s.recovers, s.unprotected_after
    ));
    out
}

fn plan_text(r: &PlanReport) -> String {
    let mut out = format!("new CA: {}\n", r.new_ca.join("; "));
    for st in &r.stages {
        out.push_str(&format!("stage {}: {}\n", st.step, st.title));
        for a in &st.actions {
            out.push_str(&format!("  - {a}\n"));
        }
    }
    let mut rows = vec![
        [
            "CLIENT", "DRIVER", "SSLMODE", "BEFORE", "AFTER", "NEEDS", "VERIFIES",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for c in &r.clients {
        let need = serde_json::to_value(c.need)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let verifies = match (c.verifies, c.checks_host) {
            (true, true) => "chain+host",
            (true, false) => "chain",
            (false, _) => "no",
        };
        rows.push(vec![
            if c.modelled.is_some() {
                format!("{}*", c.label)
            } else {
                c.label.clone()
            },
            c.driver.as_str().to_owned(),
            c.sslmode.clone().unwrap_or_else(|| "-".into()),
            c.before.as_str().to_owned(),
            c.after.as_str().to_owned(),
            need,
            verifies.to_owned(),
        ]);
    }
    out.push_str(&table(&rows));
    for c in &r.clients {
        out.push_str(&format!("  {}: {}\n", c.label, c.action));
    }
    if r.clients.iter().any(|c| c.modelled.is_some()) {
        out.push_str("  * modelled from that driver's documentation, not run\n");
    }
    if !r.unverified.is_empty() {
        out.push_str(&format!(
            "without verification after the switch (would not notice an impostor): {}\n",
            r.unverified.join(", ")
        ));
    }
    if let Some(cc) = &r.client_certificates {
        out.push_str("client certificates: ssl_ca_file during the overlap:\n");
        for e in &cc.ssl_ca_file {
            let crl = serde_json::to_value(e.crl)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} ({}): CRL {crl}{}\n",
                e.subject,
                e.from,
                e.crl_source
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ));
        }
        if cc.crl_configured {
            out.push_str(&format!(
                "  ssl_crl_file bundles: {}\n",
                cc.ssl_crl_file.join(", ")
            ));
        }
    }
    for p in &r.problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    let needing = r
        .clients
        .iter()
        .filter(|c| {
            matches!(
                c.need,
                rotation::Need::AddNewCa
                    | rotation::Need::AddNewCaAndCrl
                    | rotation::Need::AddNewCaToSystemStore
            )
        })
        .count();
    out.push_str(&format!(
        "{} client(s): {needing} need the new CA before the switch, {} without verification, {} problem(s)\n",
        r.clients.len(),
        r.unverified.len(),
        r.problems.len()
    ));
    out
}
