//! `pgtls verify server`, `pgtls verify client` and `pgtls probe`.
//!
//! No logic here: arguments, files, output, exit codes. The decisions are
//! pgtls-verify's.
//!
//! # `pgtls verify server` exit status
//! - 0: libpq would complete a TLS session with a server presenting the chain;
//! - 1: it would not; the first line on stderr is libpq's own message for the
//!   refusal (the text after `connection to server at "H" (A), port P failed: `).
//!   For `sslmode=disable` (libpq never uses TLS) the message is
//!   `sslmode=disable: libpq does not use TLS`; for a Unix-socket `--host`,
//!   `libpq does not use TLS over a Unix-domain socket`. For `allow`/`prefer`
//!   the verdict is that of the TLS attempt (libpq would then fall back to
//!   plaintext: the JSON says so in `plaintext_fallback`). The client certificate
//!   (`--sslcert`/`--sslkey`, or libpq's defaults) is read as libpq reads it, and
//!   `--sslcertmode require` refuses unless `--server-requests-cert` is given and a
//!   certificate is loaded (JSON `client_cert_sent`);
//! - 2: bad usage, or input pgtls cannot evaluate (unreadable chain file,
//!   malformed PEM, a certificate that does not parse).
//!
//! # `pgtls verify client` exit status
//! - 0: the server would authenticate the client (for password methods: the
//!   certificate part passes);
//! - 1: it would refuse; stderr has what the client sees, then the server log;
//! - 2: bad usage, a configuration the server would not run with, or input
//!   pgtls cannot evaluate;
//! - 4: undecided: pgtls cannot decide as the server would (a pg_ident.conf
//!   regular expression it cannot evaluate faithfully, a CN that is not UTF-8
//!   under a regex map). It never claims an acceptance it cannot prove. The
//!   JSON verdict is `"undecided"`.
//!
//! `--json` prints `{"verdict":"accept"|"reject","message":...,"checks":[...]}`
//! on stdout; a chain failure's check carries the reason libpq hides
//! (`reason`, `code`), the `depth` and `subject` of the certificate concerned.

use crate::error::CliError;

use clap::Subcommand;
use pgtls_verify::Verdict;
use serde_json::Value;

pub(crate) mod client;
pub(crate) mod server;

/// `pgtls verify` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// What libpq would decide about a server presenting a chain.
    Server(server::ServerArgs),
    /// What the server would decide about a client certificate.
    Client(client::ClientArgs),
}

pub(crate) fn run(cmd: Command) -> Result<crate::Decided, CliError> {
    match cmd {
        Command::Server(a) => server::run(a),
        Command::Client(a) => client::run(a),
    }
}

/// The reasons OpenSSL gives for a chain failure that libpq and the server hide, one
/// stderr line per failed check, each followed by the server-side hint when `hints`.
pub(crate) fn print_hidden_reasons(checks: &[pgtls_verify::Check], hints: bool) {
    for c in checks {
        if let Some(r) = c.reason {
            eprintln!(
                "pgtls: hidden reason: {} (X509_V_ERR {}) at depth {}: {}",
                r.text(),
                r.code(),
                c.depth.unwrap_or(0),
                c.subject.as_deref().unwrap_or("")
            );
            if let Some(h) = r.server_side_hint().filter(|_| hints) {
                eprintln!("pgtls: hint: {h}");
            }
        }
    }
}

/// The library's verdict report, as a JSON value (`--chains` and `probe` add a key).
pub(crate) fn verdict_json(v: &Verdict) -> Value {
    serde_json::to_value(v.report()).unwrap_or(Value::Null)
}
