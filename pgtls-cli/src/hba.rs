//! `pgtls hba ...`: pg_hba.conf and pg_ident.conf as the server reads them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use pgtls_hba::{
    Decision, FsSource, HbaFile, HbaVerdict, IdentFile, PgVersion, Replication, Request,
    ServerNetwork, ServerSettings, ViewRow, evaluate,
};

/// `pgtls hba` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print pg_hba.conf as the `pg_hba_file_rules` view would show it.
    Rules(RulesArgs),
    /// Print pg_ident.conf as the `pg_ident_file_mappings` view would show it.
    Ident(IdentArgs),
    /// Evaluate one connection against pg_hba.conf as the server would.
    Check(CheckArgs),
    /// Find security problems in pg_hba.conf.
    Lint(LintArgs),
    /// Rewrite pg_hba.conf so that every TCP path requires TLS.
    EnforceTls(EnforceArgs),
    /// Print pg_hba.conf lines for a client-certificate policy.
    Policy(PolicyArgs),
    /// Ask pg_ident.conf whether a system user may log in as a PostgreSQL user.
    Map(MapArgs),
}

#[derive(Args)]
pub(crate) struct MapArgs {
    /// The pg_ident.conf file.
    file: PathBuf,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// The map name (from `map=`); omit for "no map" (names must be equal).
    #[arg(long)]
    map: Option<String>,
    /// The authenticated system user (certificate CN/DN, OS user, principal).
    #[arg(long)]
    system_user: String,
    /// The PostgreSQL user asked for.
    #[arg(long)]
    user: String,
    /// Roles the user belongs to (for `+group`, 16+; comma-separated).
    #[arg(long, value_delimiter = ',')]
    member_of: Vec<String>,
    /// Compare literal names case-insensitively (SSPI, krb_caseins_users).
    #[arg(long)]
    case_insensitive: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Output format of the view commands.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// One `row_to_json` object per line.
    Jsonl,
    /// Tab-separated, header first, psql text values.
    Tsv,
    /// An aligned table.
    Table,
}

/// An optional part of the server's build (`--build-without`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum BuildFeature {
    /// LDAP (`--with-ldap`): the `ldap` method.
    Ldap,
    /// PAM (`--with-pam`): the `pam` method.
    Pam,
    /// GSSAPI (`--with-gssapi`): the `gss` method and `hostgssenc`.
    Gss,
}

/// What the server binary was built without; the default is the
/// Debian/PGDG build (SSL, GSSAPI, PAM and LDAP).
#[derive(Args)]
pub(crate) struct BuildArgs {
    /// Parts the server was built without, comma-separated (ldap, pam, gss):
    /// their methods are `not supported by this build`, as in builds made
    /// without `--with-ldap` / `--with-pam` / `--with-gssapi`.
    #[arg(long, value_enum, value_delimiter = ',')]
    build_without: Vec<BuildFeature>,
}

impl BuildArgs {
    fn settings(&self, version: PgVersion, ssl: OnOff) -> ServerSettings {
        let mut s = ServerSettings::new(version, ssl == OnOff::On);
        for f in &self.build_without {
            match f {
                BuildFeature::Ldap => s.build.ldap = false,
                BuildFeature::Pam => s.build.pam = false,
                BuildFeature::Gss => s.build.gss = false,
            }
        }
        s
    }
}

/// `on` / `off`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

#[derive(Args)]
pub(crate) struct RulesArgs {
    /// The pg_hba.conf file.
    file: PathBuf,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    #[command(flatten)]
    build: BuildArgs,
    /// The server's `ssl` setting (PostgreSQL's default is off).
    #[arg(long, value_enum, default_value = "off")]
    ssl: OnOff,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Args)]
pub(crate) struct IdentArgs {
    /// The pg_ident.conf file.
    file: PathBuf,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

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
    file: PathBuf,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    #[command(flatten)]
    build: BuildArgs,
    /// The server's `ssl` setting [default: on with --tls (a TLS connection needs it), else
    /// off, PostgreSQL's default].
    #[arg(long, value_enum)]
    ssl: Option<OnOff>,
    /// A Unix-socket connection.
    #[arg(long, conflicts_with = "address")]
    local: bool,
    /// The client's IP address (TCP).
    #[arg(long)]
    address: Option<IpAddr>,
    /// The connection uses TLS.
    #[arg(long)]
    tls: bool,
    /// The connection uses GSSAPI encryption.
    #[arg(long)]
    gss: bool,
    /// Requested database.
    #[arg(long)]
    database: String,
    /// Requested user.
    #[arg(long)]
    user: String,
    /// Roles the user belongs to, directly or not (comma-separated).
    #[arg(long, value_delimiter = ',')]
    member_of: Vec<String>,
    /// A replication connection.
    #[arg(long, value_enum)]
    replication: Option<ReplArg>,
    /// The client's host name as reverse-then-forward DNS gave it.
    #[arg(long)]
    client_hostname: Option<String>,
    /// The server's interface addresses as CIDRs (for samehost/samenet; comma-separated).
    #[arg(long, value_delimiter = ',')]
    server_address: Vec<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct LintArgs {
    /// The pg_hba.conf file.
    file: PathBuf,
    /// pg_ident.conf, to check `map=` names.
    #[arg(long)]
    ident: Option<PathBuf>,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    #[command(flatten)]
    build: BuildArgs,
    /// The server's `ssl` setting.
    #[arg(long, value_enum, default_value = "on")]
    ssl: OnOff,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct EnforceArgs {
    /// The pg_hba.conf file.
    file: PathBuf,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// Print what changed as JSON instead of the new file.
    #[arg(long)]
    json: bool,
}

/// Client-certificate policies.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PolicyArg {
    /// `cert`: the certificate alone authenticates (CN = user, or a map).
    Cert,
    /// scram-sha-256 plus `clientcert=verify-ca`.
    VerifyCa,
    /// scram-sha-256 plus `clientcert=verify-full`.
    VerifyFull,
}

#[derive(Args)]
pub(crate) struct PolicyArgs {
    /// The policy.
    #[arg(value_enum)]
    policy: PolicyArg,
    /// Database field.
    #[arg(long, default_value = "all")]
    database: String,
    /// User field.
    #[arg(long, default_value = "all")]
    user: String,
    /// Address field (CIDR, host name, all, samehost, samenet).
    #[arg(long, default_value = "all")]
    address: String,
    /// pg_ident.conf map for the certificate name.
    #[arg(long)]
    map: Option<String>,
}

pub(crate) fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Rules(a) => rules(&a),
        Command::Ident(a) => ident(&a),
        Command::Check(a) => check(&a),
        Command::Lint(a) => lint(&a),
        Command::EnforceTls(a) => enforce(&a),
        Command::Policy(a) => policy(&a),
        Command::Map(a) => map(&a),
    }
}

/// The absolute path the server would use as the file's name.
fn abs(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn read(path: &Path) -> Result<Vec<u8>, ExitCode> {
    std::fs::read(path).map_err(|e| {
        eprintln!(
            "could not open configuration file \"{}\": {e}",
            path.display()
        );
        ExitCode::from(crate::EXIT_USAGE)
    })
}

fn load_hba(path: &Path, settings: ServerSettings) -> Result<HbaFile, ExitCode> {
    let text = read(path)?;
    Ok(HbaFile::parse(&abs(path), &text, settings, &FsSource))
}

fn print_rows(rows: &[ViewRow], format: Format) {
    match format {
        Format::Jsonl => {
            for r in rows {
                println!("{}", r.to_json());
            }
        }
        Format::Tsv => {
            if let Some(first) = rows.first() {
                let head: Vec<&str> = first.columns.iter().map(|(k, _)| *k).collect();
                println!("{}", head.join("\t"));
            }
            for r in rows {
                let vals: Vec<String> = r
                    .columns
                    .iter()
                    .map(|(_, v)| v.to_text().replace(['\t', '\n'], " "))
                    .collect();
                println!("{}", vals.join("\t"));
            }
        }
        Format::Table => {
            let Some(first) = rows.first() else {
                println!("(0 rows)");
                return;
            };
            let head: Vec<String> = first.columns.iter().map(|(k, _)| (*k).to_owned()).collect();
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.columns
                        .iter()
                        .map(|(_, v)| v.to_text().replace('\n', "\\n"))
                        .collect()
                })
                .collect();
            let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
            for row in &body {
                for (w, c) in width.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &[String]| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(&width)
                    .map(|(c, w)| format!("{c:<w$}", w = *w))
                    .collect();
                println!("{}", parts.join(" | ").trim_end());
            };
            line(&head);
            let sep: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            println!("{}", sep.join("-+-"));
            for row in &body {
                line(row);
            }
            // psql's footer: "(1 row)", "(2 rows)".
            let n = rows.len();
            println!("({n} {})", if n == 1 { "row" } else { "rows" });
        }
    }
}

fn rules(a: &RulesArgs) -> ExitCode {
    let hba = match load_hba(&a.file, a.build.settings(a.pg_version, a.ssl)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    print_rows(&hba.view_rows(), a.format);
    ExitCode::SUCCESS
}

fn ident(a: &IdentArgs) -> ExitCode {
    let text = match read(&a.file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let f = IdentFile::parse(&abs(&a.file), &text, a.pg_version, &FsSource);
    print_rows(&f.view_rows(), a.format);
    ExitCode::SUCCESS
}

fn check(a: &CheckArgs) -> ExitCode {
    let ssl = match (a.ssl, a.tls) {
        (Some(OnOff::Off), true) => {
            eprintln!(
                "--tls with --ssl off: a server with ssl = off accepts no TLS connection \
                 (it answers the SSLRequest with N), so no line can match one"
            );
            return ExitCode::from(crate::EXIT_USAGE);
        }
        (Some(s), _) => s,
        (None, true) => OnOff::On,
        (None, false) => OnOff::Off,
    };
    let hba = match load_hba(&a.file, a.build.settings(a.pg_version, ssl)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let mut servers = Vec::with_capacity(a.server_address.len());
    for s in &a.server_address {
        match s.parse::<ServerNetwork>() {
            Ok(n) => servers.push(n),
            Err(e) => {
                eprintln!("--server-address: {e}");
                return ExitCode::from(crate::EXIT_USAGE);
            }
        }
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
    if a.json {
        println!("{}", d.to_json());
    } else {
        if let Some(m) = message
            && verdict != HbaVerdict::Match
        {
            eprintln!("{m}");
        }
        if let Some(l) = &d.line {
            println!(
                "line {} of \"{}\": {} (method {})",
                l.line_number,
                l.file,
                l.raw.trim(),
                method.unwrap_or("?")
            );
        } else if verdict == HbaVerdict::NoMatch {
            println!("no line matches: implicit reject");
        }
    }
    crate::exit_code(verdict)
}

fn lint(a: &LintArgs) -> ExitCode {
    let hba = match load_hba(&a.file, a.build.settings(a.pg_version, a.ssl)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let ident = match &a.ident {
        None => None,
        Some(p) => match read(p) {
            Ok(t) => Some(IdentFile::parse(&abs(p), &t, a.pg_version, &FsSource)),
            Err(c) => return c,
        },
    };
    let findings = pgtls_hba::lint(&hba, ident.as_ref());
    if a.json {
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

fn enforce(a: &EnforceArgs) -> ExitCode {
    let hba = match load_hba(&a.file, ServerSettings::new(a.pg_version, true)) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let result = pgtls_hba::enforce_tls(&hba);
    if a.json {
        let changes: Vec<serde_json::Value> = result
            .changes
            .iter()
            .map(|c| serde_json::json!({"line": c.line, "action": c.action, "text": c.text}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"changes": changes, "text": result.text})
        );
    } else {
        print!("{}", result.text);
    }
    ExitCode::SUCCESS
}

fn policy(a: &PolicyArgs) -> ExitCode {
    let p = match a.policy {
        PolicyArg::Cert => pgtls_hba::CertPolicy::Cert,
        PolicyArg::VerifyCa => pgtls_hba::CertPolicy::PasswordVerifyCa,
        PolicyArg::VerifyFull => pgtls_hba::CertPolicy::PasswordVerifyFull,
    };
    match pgtls_hba::policy_lines(p, &a.database, &a.user, &a.address, a.map.as_deref()) {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pgtls: {e}");
            ExitCode::from(crate::EXIT_USAGE)
        }
    }
}

fn map(a: &MapArgs) -> ExitCode {
    let text = match read(&a.file) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let f = IdentFile::parse(&abs(&a.file), &text, a.pg_version, &FsSource);
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
    if a.json {
        println!(
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
            println!("{verdict} by line {line} of \"{file}\"");
        } else {
            println!("{verdict}");
        }
        if decided != crate::Decided::Accept
            && let Some(r) = &reason
        {
            eprintln!("{r}");
        }
    }
    crate::exit_code(decided)
}
