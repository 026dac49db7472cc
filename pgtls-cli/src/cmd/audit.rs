//! `pgtls audit`: connects with [`pgtls_postgres::audit`] (libpq's connection
//! semantics), which reads the server's facts and has
//! [`pgtls_verify::audit::evaluate`] judge them; prints the report.

use clap::Args;
use pgtls_verify::audit::{HbaSource, Report, Transport, Validity};
use pgtls_verify::doctor::Severity;

use crate::args::{At, Json, PgVersionArg};
use crate::error::CliError;

/// `pgtls audit --conninfo CONNINFO [--at TIME] [--pg-version N] [--json]`.
#[derive(Args)]
pub(crate) struct AuditArgs {
    /// How to connect, as psql takes it (a conninfo string or URI; service files, the
    /// PG* variables and the password file as libpq reads them): a superuser, or a role
    /// with pg_read_all_settings, pg_read_all_stats and pg_read_server_files. Use
    /// sslmode=require or stronger, so that the served chain is seen.
    #[arg(long, value_name = "CONNINFO")]
    conninfo: String,
    #[command(flatten)]
    at: At,
    /// The libpq whose connection rules apply (keywords, defaults, messages); the
    /// server's own version is read from the server.
    #[command(flatten)]
    pg: PgVersionArg,
    #[command(flatten)]
    json: Json,
}

fn transport(t: Transport) -> &'static str {
    match t {
        Transport::Tls => "TLS",
        Transport::TcpNoTls => "TCP without TLS",
        Transport::UnixSocket => "Unix-domain socket",
        _ => "unknown",
    }
}

fn opt(s: Option<&str>) -> &str {
    s.unwrap_or("?")
}

fn text(r: &Report) -> String {
    let mut o = String::new();
    let s = &r.server;
    let role = if s.superuser {
        "superuser".to_owned()
    } else {
        format!(
            "pg_read_all_settings: {}, pg_read_all_stats: {}, pg_read_server_files: {}",
            s.read_all_settings, s.read_all_stats, s.read_server_files
        )
    };
    o.push_str(&format!(
        "server: PostgreSQL {} (rules of {}), audited as \"{}\" ({role})\n",
        s.version, s.modelled_as, s.user
    ));
    let c = &r.connection;
    o.push_str(&format!(
        "connection: {}{} to {} port {}, backend pid {}\n",
        transport(c.transport),
        c.protocol
            .as_deref()
            .map_or_else(String::new, |p| format!(" ({p})")),
        c.address.as_deref().or(c.host.as_deref()).unwrap_or("?"),
        c.port,
        c.pid
    ));
    o.push_str("settings:\n");
    for st in &r.settings {
        let place = match (&st.file, st.line) {
            (Some(f), Some(l)) => format!(" ({f}:{l})"),
            _ => st
                .source
                .as_deref()
                .map_or_else(String::new, |s| format!(" ({s})")),
        };
        match &st.setting {
            Some(v) => o.push_str(&format!("  {} = '{v}'{place}\n", st.name)),
            None => o.push_str(&format!("  {} = (not shown to this role)\n", st.name)),
        }
    }
    let ss = &r.sessions;
    if ss.available {
        o.push_str(&format!(
            "sessions: {} TLS, {} TCP without TLS, {} Unix-domain socket, {} unknown, {} server processes\n",
            ss.tls, ss.tcp_no_tls, ss.unix_socket, ss.unknown, ss.background
        ));
        for x in &ss.not_tls {
            o.push_str(&format!(
                "  pid {} user {} database {} from {}{} application_name {:?}: {}{}\n",
                x.pid,
                opt(x.user.as_deref()),
                opt(x.database.as_deref()),
                opt(x.client_addr.as_deref()),
                x.client_port
                    .filter(|p| *p >= 0)
                    .map_or_else(String::new, |p| format!(" port {p}")),
                x.application_name.as_deref().unwrap_or(""),
                transport(x.transport),
                if x.own { " (this audit)" } else { "" }
            ));
        }
    } else {
        o.push_str("sessions: not available\n");
    }
    let source = match r.hba.source {
        HbaSource::File => "the file",
        HbaSource::View => "pg_hba_file_rules",
        _ => "unavailable",
    };
    o.push_str(&format!(
        "pg_hba.conf{}: {} rule(s) from {source}: {}\n",
        r.hba
            .file
            .as_deref()
            .map_or_else(String::new, |f| format!(" ({f})")),
        r.hba.rules,
        r.hba.note
    ));
    if !r.chain.is_empty() {
        o.push_str("served chain:\n");
        for cc in &r.chain {
            let v = match cc.validity {
                Validity::Valid => "valid",
                Validity::Expiring => "EXPIRING",
                Validity::Expired => "EXPIRED",
                Validity::NotYetValid => "NOT YET VALID",
                _ => "unparsable",
            };
            o.push_str(&format!(
                "  {}: {} until {}, {} day(s) left: {v}\n",
                cc.depth,
                opt(cc.subject.as_deref()),
                opt(cc.not_after.as_deref()),
                cc.days_left.unwrap_or(0),
            ));
        }
    }
    if !r.unavailable.is_empty() {
        o.push_str("not available:\n");
        for u in &r.unavailable {
            o.push_str(&format!("  {}: {}\n", u.what, u.reason));
        }
    }
    o.push_str("findings:\n");
    for f in &r.findings {
        let place = crate::output::place(f.file.as_deref(), f.line);
        o.push_str(&format!(
            "  {}: {place}{} [{}]\n",
            f.severity.as_str(),
            f.message,
            f.code
        ));
        if let Some(w) = &f.witness {
            o.push_str(&format!("    witness: {w}\n"));
        }
        if let Some(fix) = &f.fix {
            o.push_str(&format!("    fix: {fix}\n"));
        }
    }
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    o.push_str(&format!(
        "{errors} error(s), {} finding(s) in all\n",
        r.findings.len()
    ));
    o
}

/// A current-thread tokio runtime for the library's connection.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start the I/O runtime: {e}")))
}

/// Runs `pgtls audit`.
pub(crate) fn run(a: &AuditArgs) -> Result<crate::Decided, CliError> {
    let now = a.at.seconds().map_err(CliError::Usage)?;
    let opts = pgtls_postgres::Options::new().pg_version(a.pg.version);
    let report = runtime()?
        .block_on(pgtls_postgres::audit::audit(&opts, &a.conninfo, now))
        .map_err(|e| CliError::Other(e.libpq_message()))?;
    if a.json.on {
        outln!("{}", report.to_json());
    } else {
        out!("{}", text(&report));
    }
    if report.has_errors() {
        if let Some(f) = report
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
        {
            eprintln!("pgtls: {}", f.message);
        }
        Ok(crate::Decided::Reject)
    } else {
        Ok(crate::Decided::Accept)
    }
}
