//! Feature `audit`: the facts `pgtls audit` and `pgtls probe` need from a live
//! server, read over a connection made as psql makes it ([`crate::connect`]'s
//! sequence). The decisions are pgtls-verify's ([`pgtls_verify::audit`],
//! [`pgtls_verify::probe`]); this module only asks the server.
//!
//! ```no_run
//! # async fn run() -> Result<(), pgtls_postgres::Error> {
//! let opts = pgtls_postgres::Options::new();
//! let now = 1_800_000_000;
//! let report = pgtls_postgres::audit::audit(&opts, "host=db.example.com user=postgres sslmode=require", now).await?;
//! if report.has_errors() { eprintln!("a client gets in without TLS"); }
//! # Ok(()) }
//! ```
//!
//! Needs a tokio runtime (the connection is spawned on it; a current-thread
//! runtime is enough).

use pgtls_verify::audit::{
    AuditInput, EXTRA_SETTINGS, FileError, Report, SessionRow, SettingRow, Wanted, evaluate,
};
use pgtls_verify::probe::CertLogin;
use tokio_postgres::Client;

use crate::{Error, Options};

/// The server's error as libpq prints it, or the client-side error.
fn text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => crate::db_text(db),
        None => e.to_string(),
    }
}

/// A connection whose future runs on the runtime, with what its attempt saw.
struct Opened {
    client: Client,
    tls: crate::tls::State,
    unix: bool,
    host: Option<String>,
    addr: Option<std::net::IpAddr>,
    port: u16,
}

/// Connects (libpq's sequence) and spawns the connection on the current runtime.
async fn open(opts: &Options, conninfo: &str) -> Result<Opened, Error> {
    let s = opts.settings(conninfo)?;
    let crate::Connected {
        client,
        connection,
        tls,
        unix,
        host,
        addr,
        port,
    } = crate::connect_observed(&s).await?;
    tokio::spawn(async move {
        // The session ends when the client is dropped; its error is of no use then.
        let _ = connection.await;
    });
    Ok(Opened {
        client,
        tls,
        unix,
        host,
        addr,
        port,
    })
}

/// Reads every fact of an [`AuditInput`] over `conninfo`, judged at `now`
/// (seconds since the epoch).
///
/// What the role may not see is recorded with the server's message (the
/// report lists it as unavailable); only a failed connection, or a failure
/// of the first query (version, role, privileges), is an error.
///
/// # Errors
/// The connection's refusal with libpq's text, or the first query's failure.
pub async fn gather(opts: &Options, conninfo: &str, now: i64) -> Result<AuditInput, Error> {
    let c = open(opts, conninfo).await?;
    let client = &c.client;
    let mut input = AuditInput::new(now);
    let facts = client
        .query_one(
            "select current_setting('server_version'), current_setting('server_version_num')::int4, \
             current_user::text, (select rolsuper from pg_roles where rolname = current_user), \
             pg_has_role('pg_read_all_settings', 'USAGE'), pg_has_role('pg_read_all_stats', 'USAGE'), \
             pg_has_role('pg_read_server_files', 'USAGE'), pg_backend_pid(), \
             extract(epoch from pg_conf_load_time())::float8",
            &[],
        )
        .await
        .map_err(|e| Error::option(format!("pgtls-postgres: the audit's first query failed: {}", text(&e))))?;
    input.server_version = facts.get(0);
    input.server_version_num = u32::try_from(facts.get::<_, i32>(1)).unwrap_or(0);
    input.user = facts.get(2);
    input.superuser = facts.get::<_, Option<bool>>(3).unwrap_or(false);
    input.read_all_settings = facts.get(4);
    input.read_all_stats = facts.get(5);
    input.read_server_files = facts.get(6);
    input.backend_pid = facts.get(7);
    input.conf_load_time = facts.get(8);
    input.connection.tls = c.tls.established;
    input.connection.unix_socket = c.unix;
    input.connection.host.clone_from(&c.host);
    input.connection.address = c.addr.map(|a| a.to_string());
    input.connection.port = c.port;
    input.connection.protocol.clone_from(&c.tls.protocol);
    input.connection.chain.clone_from(&c.tls.peer_chain);

    let extra: Vec<&str> = EXTRA_SETTINGS.to_vec();
    input.settings = client
        .query(
            "select name, setting, source, sourcefile, sourceline from pg_settings \
             where name like 'ssl%' or name = any($1::text[]) order by name",
            &[&extra],
        )
        .await
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let mut s = SettingRow::new(r.get::<_, String>(0), String::new());
                    s.setting = r.get(1);
                    s.source = r.get(2);
                    s.sourcefile = r.get(3);
                    s.sourceline = r.get(4);
                    s
                })
                .collect()
        })
        .map_err(|e| text(&e));

    input.sessions = client
        .query(
            "select a.pid, a.usename::text, a.datname::text, host(a.client_addr), a.client_port, \
             a.application_name, a.backend_type, s.ssl, s.version, s.cipher, s.client_dn, g.encrypted \
             from pg_stat_activity a left join pg_stat_ssl s on s.pid = a.pid \
             left join pg_stat_gssapi g on g.pid = a.pid order by a.pid",
            &[],
        )
        .await
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let mut s = SessionRow::new(r.get(0));
                    s.user = r.get(1);
                    s.database = r.get(2);
                    s.client_addr = r.get(3);
                    s.client_port = r.get(4);
                    s.application_name = r.get(5);
                    s.backend_type = r.get(6);
                    s.ssl = r.get(7);
                    s.tls_version = r.get(8);
                    s.cipher = r.get(9);
                    s.client_dn = r.get(10);
                    s.gss_encrypted = r.get(11);
                    s
                })
                .collect()
        })
        .map_err(|e| text(&e));

    input.hba_rules = client
        .query("select row_to_json(r)::text from pg_hba_file_rules r", &[])
        .await
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .map_err(|e| text(&e));

    // The files, and what they name, until nothing new is wanted (bounded: an
    // include loop is the parser's to report, not a reason to read forever).
    for _ in 0..32 {
        let wanted = input.files_wanted();
        if wanted.is_empty() {
            break;
        }
        for w in wanted {
            match w {
                Wanted::File(path) => {
                    let got = client
                        .query_one("select pg_read_binary_file($1::text)", &[&path])
                        .await
                        .map(|r| r.get::<_, Vec<u8>>(0))
                        .map_err(|e| file_error(&e));
                    input.files.insert_file(path, got);
                }
                Wanted::Dir(path) => {
                    let got = client
                        .query(
                            "select n, (pg_stat_file($1::text || '/' || n)).isdir \
                             from pg_ls_dir($1::text) as n",
                            &[&path],
                        )
                        .await
                        .map(|rows| {
                            rows.iter()
                                .map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1)))
                                .collect()
                        })
                        .map_err(|e| file_error(&e));
                    input.files.insert_dir(path, got);
                }
                _ => {}
            }
        }
    }
    if let Some(hba) = input.setting("hba_file").map(str::to_owned) {
        input.hba_mtime = Some(
            client
                .query_one(
                    "select extract(epoch from (pg_stat_file($1::text)).modification)::float8",
                    &[&hba],
                )
                .await
                .map(|r| r.get::<_, f64>(0))
                .map_err(|e| text(&e)),
        );
    }
    Ok(input)
}

/// `pg_read_binary_file`'s failure: SQLSTATE 58P01 is "no such file".
fn file_error(e: &tokio_postgres::Error) -> FileError {
    let not_found = e.as_db_error().is_some_and(|d| d.code().code() == "58P01");
    FileError::new(text(e), not_found)
}

/// [`gather`], then [`pgtls_verify::audit::evaluate`].
///
/// # Errors
/// As [`gather`].
pub async fn audit(opts: &Options, conninfo: &str, now: i64) -> Result<Report, Error> {
    Ok(evaluate(&gather(opts, conninfo, now).await?))
}

/// The role and database libpq would log in as with `conninfo` (the string,
/// the service file, `PGUSER`/`PGDATABASE`, the operating-system user), for
/// [`pgtls_verify::probe::plaintext_startup`].
///
/// # Errors
/// The string's refusal.
pub fn identity(opts: &Options, conninfo: &str) -> Result<(String, String), Error> {
    let s = opts.settings(conninfo)?;
    Ok((s.user, s.dbname))
}

/// Logs in with `conninfo` and reports what the session shows about its
/// client certificate: `Ok` for a session (see
/// [`pgtls_verify::probe::cert_login_finding`]), `Err` with libpq's text when
/// the login is refused.
///
/// # Errors
/// None beyond the refusal, which is the `Err` of the inner result.
pub async fn cert_login(opts: &Options, conninfo: &str) -> Result<CertLogin, String> {
    let c = open(opts, conninfo).await.map_err(|e| e.to_string())?;
    let client = &c.client;
    let row = client
        .query_one(
            "select current_user::text, current_database()::text, \
             current_setting('server_version_num')::int4, \
             (select client_dn from pg_stat_ssl where pid = pg_backend_pid())",
            &[],
        )
        .await
        .map_err(|e| text(&e))?;
    let mut l = CertLogin::new(row.get::<_, String>(0), row.get::<_, String>(1));
    l.server_version_num = u32::try_from(row.get::<_, i32>(2)).unwrap_or(0);
    l.client_dn = row.get(3);
    l.tls = c.tls.established;
    l.cert_requested = c.tls.cert_requested;
    l.cert_sent = c.tls.cert_sent;
    l.auth_request = c.tls.auth_request;
    if l.server_version_num >= 160_000 {
        l.system_user = client
            .query_one("select system_user", &[])
            .await
            .map_err(|e| text(&e))?
            .get(0);
    }
    Ok(l)
}
