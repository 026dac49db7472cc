//! `pgtls hba ...`: pg_hba.conf and pg_ident.conf as the server reads them.

use crate::error::CliError;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use pgtls_hba::{FsSource, HbaFile, PgVersion, ServerSettings, ViewRow};

pub(crate) mod check;
pub(crate) mod enforce_tls;
pub(crate) mod ident;
pub(crate) mod lint;
pub(crate) mod map;
pub(crate) mod policy;
pub(crate) mod rules;

/// `pgtls hba` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print pg_hba.conf as the `pg_hba_file_rules` view would show it.
    Rules(rules::RulesArgs),
    /// Print pg_ident.conf as the `pg_ident_file_mappings` view would show it.
    Ident(ident::IdentArgs),
    /// Evaluate one connection against pg_hba.conf as the server would.
    Check(check::CheckArgs),
    /// Find security problems in pg_hba.conf.
    Lint(lint::LintArgs),
    /// Rewrite pg_hba.conf so that every TCP path requires TLS.
    EnforceTls(enforce_tls::EnforceArgs),
    /// Print pg_hba.conf lines for a client-certificate policy.
    Policy(policy::PolicyArgs),
    /// Ask pg_ident.conf whether a system user may log in as a PostgreSQL user.
    Map(map::MapArgs),
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

/// What the server binary was built without (the default is the Debian/PGDG
/// build: SSL, GSSAPI, PAM and LDAP), and the server settings other than
/// `ssl` that change how it reads pg_hba.conf.
#[derive(Args)]
pub(crate) struct BuildArgs {
    /// Parts the server was built without, comma-separated (ldap, pam, gss):
    /// their methods are `not supported by this build`, as in builds made
    /// without `--with-ldap` / `--with-pam` / `--with-gssapi`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) build_without: Vec<BuildFeature>,
    /// The server's `oauth_validator_libraries` (PostgreSQL 18; default ''):
    /// with it empty every `oauth` line is an error, with one library a line
    /// without `validator=` uses it, otherwise `validator=` must be listed.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub(crate) oauth_validator_libraries: String,
    /// The server's `db_user_namespace` (PostgreSQL 12 to 16; 17 removed it): with it
    /// on, `md5` lines are errors. (The server then also sees a connecting user's name
    /// as `user@database`: name the user in that form where a command asks for one.)
    #[arg(long, value_enum, default_value = "off")]
    pub(crate) db_user_namespace: OnOff,
}

impl BuildArgs {
    fn settings(&self, version: PgVersion, ssl: OnOff) -> Result<ServerSettings, CliError> {
        if self.db_user_namespace == OnOff::On && version >= PgVersion::V17 {
            return Err(CliError::Usage(format!(
                "--db-user-namespace on: PostgreSQL {version} has no db_user_namespace \
                 (removed in 17; the server refuses to start with it set)"
            )));
        }
        let mut s = ServerSettings::new(version, ssl == OnOff::On);
        s.db_user_namespace = self.db_user_namespace == OnOff::On;
        for f in &self.build_without {
            match f {
                BuildFeature::Ldap => s.build.ldap = false,
                BuildFeature::Pam => s.build.pam = false,
                BuildFeature::Gss => s.build.gss = false,
            }
        }
        s.oauth_validator_libraries
            .clone_from(&self.oauth_validator_libraries);
        Ok(s)
    }
}

/// `--ssl` of `hba rules` and `hba lint` (`hba check` derives its default from `--tls`).
#[derive(Args, Clone, Copy)]
pub(crate) struct SslSetting {
    /// The server's `ssl` setting. The default is PostgreSQL's, off, as for `hba check`
    /// of a connection without TLS; give `--ssl on` for a server with TLS (with off, no
    /// hostssl line can match).
    #[arg(long, value_enum, default_value = "off")]
    pub(crate) ssl: OnOff,
}

/// `on` / `off`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

pub(crate) fn run(cmd: Command) -> Result<crate::Decided, CliError> {
    match cmd {
        Command::Rules(a) => rules::run(&a),
        Command::Ident(a) => ident::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Lint(a) => lint::run(&a),
        Command::EnforceTls(a) => enforce_tls::run(&a),
        Command::Policy(a) => policy::run(&a),
        Command::Map(a) => map::run(&a),
    }
}

/// The absolute path the server would use as the file's name.
pub(crate) fn abs(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| {
        CliError::BadInput(format!(
            "could not open configuration file \"{}\": {e}",
            path.display()
        ))
    })
}

pub(crate) fn load_hba(path: &Path, settings: ServerSettings) -> Result<HbaFile, CliError> {
    let text = read(path)?;
    Ok(HbaFile::parse(&abs(path), &text, settings, &FsSource))
}

pub(crate) fn print_rows(rows: &[ViewRow], format: Format) -> Result<(), CliError> {
    match format {
        Format::Jsonl => {
            for r in rows {
                outln!("{}", r.to_json());
            }
        }
        Format::Tsv => {
            if let Some(first) = rows.first() {
                let head: Vec<&str> = first.columns.iter().map(|(k, _)| *k).collect();
                outln!("{}", head.join("\t"));
            }
            for r in rows {
                let vals: Vec<String> = r
                    .columns
                    .iter()
                    .map(|(_, v)| v.to_text().replace(['\t', '\n'], " "))
                    .collect();
                outln!("{}", vals.join("\t"));
            }
        }
        Format::Table => {
            let Some(first) = rows.first() else {
                outln!("(0 rows)");
                return Ok(());
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
            let line = |cells: &[String]| -> Result<(), CliError> {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(&width)
                    .map(|(c, w)| format!("{c:<w$}", w = *w))
                    .collect();
                outln!("{}", parts.join(" | ").trim_end());
                Ok(())
            };
            line(&head)?;
            let sep: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            outln!("{}", sep.join("-+-"));
            for row in &body {
                line(row)?;
            }
            // psql's footer: "(1 row)", "(2 rows)".
            let n = rows.len();
            outln!("({n} {})", if n == 1 { "row" } else { "rows" });
        }
    }
    Ok(())
}
