//! Connect to a real PostgreSQL server over TLS with rustls, verifying the
//! server certificate exactly as libpq would for the given conninfo.
//!
//! ```text
//! cargo run -p pgtls-verify --example libpq_rustls -- \
//!   "host=db.example.test hostaddr=127.0.0.1 port=5432 sslmode=verify-full sslrootcert=root.crt user=postgres dbname=postgres"
//! ```
//! It performs the SSLRequest exchange (or PG17 direct TLS with
//! `sslnegotiation=direct --pg-version 17`... set PGTLS_PG_VERSION=17), the
//! TLS handshake with [`pgtls_verify::LibpqVerifier`], then a StartupMessage,
//! and prints the server's first answer. A refusal prints libpq's message.

use std::process::ExitCode;
use std::sync::Arc;

use pgtls_verify::{Env, LibpqVerifier, Params, PgVersion, probe};

fn main() -> ExitCode {
    let Some(conninfo) = std::env::args().nth(1) else {
        eprintln!("usage: libpq_rustls CONNINFO");
        return ExitCode::from(2);
    };
    let version: PgVersion = std::env::var("PGTLS_PG_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    let params = match Params::parse_conninfo(&conninfo) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let verifier = match LibpqVerifier::new(&params, &Env::from_process(), version) {
        Ok(v) => v,
        Err(r) => {
            eprintln!("{r}");
            return ExitCode::from(1);
        }
    };
    let direct = params.sslnegotiation.as_deref() == Some("direct");
    let config = match probe::client_config(Arc::new(verifier), direct) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rustls: {e}");
            return ExitCode::from(1);
        }
    };
    let host = params.host.clone().unwrap_or_else(|| "localhost".into());
    let addr = params.hostaddr.clone().unwrap_or_else(|| host.clone());
    let port: u16 = params
        .port
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432);
    let mut tls = match probe::connect_tls(
        &addr,
        port,
        probe::server_name_for(&host),
        Arc::new(config),
        direct,
    ) {
        Ok(s) => s,
        Err(probe::ProbeError::Tls(rustls::Error::InvalidCertificate(e))) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let user = params.user.clone().unwrap_or_else(|| "postgres".into());
    let db = params.dbname.unwrap_or_else(|| user.clone());
    match probe::startup(&mut tls, &user, &db) {
        Ok((kind, _)) => {
            println!(
                "TLS session established ({:?}); server answered the StartupMessage with '{}'",
                tls.conn.protocol_version(),
                char::from(kind)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
