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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use pgtls_verify::server::ServerOutcome;
use pgtls_verify::{Env, Params, PgVersion, Verdict};
use serde_json::{Value, json};

/// `pgtls verify` subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// What libpq would decide about a server presenting a chain.
    Server(ServerArgs),
    /// What the server would decide about a client certificate.
    Client(ClientArgs),
}

/// `pgtls verify server`.
#[derive(Args)]
pub(crate) struct ServerArgs {
    /// sslmode (default: $PGSSLMODE, else prefer; verify-full with sslrootcert=system on 16+).
    #[arg(long)]
    sslmode: Option<String>,
    /// The host parameter (the name verify-full checks).
    #[arg(long)]
    host: Option<String>,
    /// The hostaddr parameter.
    #[arg(long)]
    hostaddr: Option<String>,
    /// Root certificate file, or `system` (PG16+). Default: $PGSSLROOTCERT, else ~/.postgresql/root.crt.
    #[arg(long, value_parser = path_or_empty)]
    sslrootcert: Option<PathBuf>,
    /// CRL file. Default: $PGSSLCRL, else ~/.postgresql/root.crl (when no --sslcrldir).
    #[arg(long, value_parser = path_or_empty)]
    sslcrl: Option<PathBuf>,
    /// CRL directory (OpenSSL hashed layout, PG14+). Default: $PGSSLCRLDIR.
    #[arg(long, value_parser = path_or_empty)]
    sslcrldir: Option<PathBuf>,
    /// sslnegotiation (PG17+).
    #[arg(long)]
    sslnegotiation: Option<String>,
    /// sslcertmode (PG16+): disable, allow (default: $PGSSLCERTMODE, else allow) or require.
    #[arg(long)]
    sslcertmode: Option<String>,
    /// Client certificate file. Default: $PGSSLCERT, else ~/.postgresql/postgresql.crt
    /// (a file that does not exist means no certificate).
    #[arg(long, value_parser = path_or_empty)]
    sslcert: Option<PathBuf>,
    /// Client key file. Default: $PGSSLKEY, else ~/.postgresql/postgresql.key.
    #[arg(long, value_parser = path_or_empty)]
    sslkey: Option<PathBuf>,
    /// The server asks for a client certificate (a CertificateRequest: PostgreSQL
    /// does when ssl_ca_file is set). Default: it does not.
    #[arg(long)]
    server_requests_cert: bool,
    /// A conninfo string or postgresql:// URI; explicit flags override it.
    #[arg(long)]
    conninfo: Option<String>,
    /// PostgreSQL major version whose libpq rules apply (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// PEM chain as the server sends it, leaf first.
    #[arg(long, required_unless_present = "chains", conflicts_with = "chains")]
    chain: Option<PathBuf>,
    /// Several chains, each evaluated with the same flags: one verdict per chain, in
    /// order (with --json one object per line). Exit 0 when every chain is accepted.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    chains: Vec<PathBuf>,
    /// Evaluate at this time (RFC 3339, or seconds since the epoch) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print the verdict as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// `pgtls verify client`.
#[derive(Args)]
pub(crate) struct ClientArgs {
    /// The pg_hba.conf line the connection matches.
    #[arg(long)]
    hba_line: String,
    /// The server's pg_ident.conf (its ident_file); required when --hba-line has map=
    /// (pgtls does not guess the file: an empty map would predict refusals).
    #[arg(long)]
    ident: Option<PathBuf>,
    /// The server's ssl_ca_file.
    #[arg(long)]
    ssl_ca_file: PathBuf,
    /// The server's ssl_crl_file.
    #[arg(long)]
    ssl_crl_file: Option<PathBuf>,
    /// The server's ssl_crl_dir (PG14+).
    #[arg(long)]
    ssl_crl_dir: Option<PathBuf>,
    /// The role the client asks to log in as.
    #[arg(long)]
    user: String,
    /// The client's certificate chain (PEM, leaf first); none: no certificate.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// PostgreSQL major version (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// Evaluate at this time (RFC 3339, or seconds since the epoch) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print the decision as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// `pgtls probe HOST[:PORT]`.
#[derive(Args)]
pub(crate) struct ProbeArgs {
    /// The server to probe, as HOST or HOST:PORT (port default 5432).
    target: String,
    /// Root certificate file to evaluate the chain against.
    #[arg(long, value_parser = path_or_empty)]
    sslrootcert: Option<PathBuf>,
    /// CRL file.
    #[arg(long, value_parser = path_or_empty)]
    sslcrl: Option<PathBuf>,
    /// CRL directory.
    #[arg(long, value_parser = path_or_empty)]
    sslcrldir: Option<PathBuf>,
    /// The host name verify-full checks (default: HOST).
    #[arg(long)]
    host: Option<String>,
    /// Use PG17 direct TLS (ALPN "postgresql") instead of SSLRequest, and evaluate
    /// libpq with sslnegotiation=direct (which it allows with require and verify-* only).
    #[arg(long)]
    direct: bool,
    /// PostgreSQL major version whose libpq rules apply (12 to 18).
    #[arg(long, default_value = "15")]
    pg_version: PgVersion,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Server(a) => server(a),
        Command::Client(a) => client(a),
    }
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pgtls: error: {msg}");
    ExitCode::from(crate::EXIT_USAGE)
}

/// A path flag whose empty value means "not set" (and overrides the environment), as
/// libpq takes an empty `sslrootcert`, `sslcrl`, `sslcrldir`, `sslcert`, `sslkey`.
fn path_or_empty(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// The time `--at` names (RFC 3339, or seconds since the epoch), or the current time.
fn now(at: Option<&str>) -> Result<pgtls_verify::UnixTime, String> {
    let Some(s) = at else {
        return Ok(pgtls_verify::UnixTime::now());
    };
    let secs = match s.parse::<i64>() {
        Ok(n) => n,
        Err(_) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|e| format!("--at {s}: {e} (want RFC 3339 or epoch seconds)"))?,
    };
    let secs = u64::try_from(secs).map_err(|_| format!("--at {s}: before 1970"))?;
    Ok(pgtls_verify::UnixTime::since_unix_epoch(
        std::time::Duration::from_secs(secs),
    ))
}

/// The library's verdict report, as a JSON value (`--chains` and `probe` add a key).
pub(crate) fn verdict_json(v: &Verdict) -> Value {
    serde_json::to_value(v.report()).unwrap_or(Value::Null)
}

fn server(a: ServerArgs) -> ExitCode {
    let conninfo = match &a.conninfo {
        Some(c) => match Params::parse_conninfo(c) {
            Ok(p) => p,
            Err(e) => return usage_error(format!("--conninfo: {e}")),
        },
        None => Params::default(),
    };
    let mut flags = Params::default();
    flags.sslmode.clone_from(&a.sslmode);
    flags.host.clone_from(&a.host);
    flags.hostaddr.clone_from(&a.hostaddr);
    flags.sslrootcert.clone_from(&a.sslrootcert);
    flags.sslcrl.clone_from(&a.sslcrl);
    flags.sslcrldir.clone_from(&a.sslcrldir);
    flags.sslnegotiation.clone_from(&a.sslnegotiation);
    flags.sslcertmode.clone_from(&a.sslcertmode);
    flags.sslcert.clone_from(&a.sslcert);
    flags.sslkey.clone_from(&a.sslkey);
    // Explicit flags override the conninfo.
    let mut params = conninfo.overlay(&flags);
    let now = match now(a.at.as_deref()) {
        Ok(n) => n,
        Err(e) => return usage_error(e),
    };
    let env = Env::from_process();
    // The service file fills what neither the flags nor the conninfo set; a lookup that
    // fails is libpq failing to connect.
    if let Err(e) = params.apply_service(&env, a.pg_version) {
        if a.json {
            println!("{}", Verdict::refused_without_tls(e.to_string()).to_json());
        }
        eprintln!("{e}");
        return crate::exit_code(crate::Decided::Reject);
    }
    let server =
        pgtls_verify::ServerHandshake::new().requesting_client_cert(a.server_requests_cert);
    let decide = |file: &std::path::Path| -> Result<Verdict, String> {
        let chain = pgtls_verify::read_chain_file(file).map_err(|e| e.to_string())?;
        pgtls_verify::verify_server_handshake(&params, &env, a.pg_version, &chain, server, now)
            .map_err(|e| e.to_string())
    };
    let Some(one) = &a.chain else {
        return batch(&a.chains, decide, a.json);
    };
    match decide(one) {
        Ok(v) => report(&v, a.json),
        Err(e) => usage_error(e),
    }
}

/// `--chains`: every chain's verdict in order; exit 0 when all are accepted, 1 when any
/// is refused, 2 when one cannot be read (checked before anything is printed).
fn batch(
    files: &[PathBuf],
    decide: impl Fn(&std::path::Path) -> Result<Verdict, String>,
    json: bool,
) -> ExitCode {
    let mut verdicts = Vec::with_capacity(files.len());
    for f in files {
        match decide(f) {
            Ok(v) => verdicts.push(v),
            Err(e) => return usage_error(e),
        }
    }
    for (f, v) in files.iter().zip(&verdicts) {
        if json {
            let mut j = verdict_json(v);
            j["chain"] = json!(f.display().to_string());
            println!("{j}");
        } else if v.accepted() {
            println!("{}: accept", f.display());
        } else {
            println!(
                "{}: reject: {}",
                f.display(),
                v.message().unwrap_or("rejected")
            );
        }
    }
    match verdicts.iter().find(|v| !v.accepted()) {
        None => crate::exit_code(crate::Decided::Accept),
        Some(v) => {
            eprintln!("{}", v.message().unwrap_or("rejected"));
            crate::exit_code(v)
        }
    }
}

fn report(v: &Verdict, json: bool) -> ExitCode {
    if json {
        println!("{}", verdict_json(v));
    } else if v.accepted() {
        println!("accept");
        for c in &v.checks {
            let mark = match c.passed {
                Some(true) => "ok  ",
                Some(false) => "FAIL",
                None => "-   ",
            };
            println!("  {mark} {:<9} {}", c.name, c.detail);
        }
    }
    if !v.accepted() {
        eprintln!("{}", v.message().unwrap_or("rejected"));
        if !json {
            for c in &v.checks {
                if let Some(r) = c.reason {
                    eprintln!(
                        "pgtls: hidden reason: {} (X509_V_ERR {}) at depth {}: {}",
                        r.text(),
                        r.code(),
                        c.depth.unwrap_or(0),
                        c.subject.as_deref().unwrap_or("")
                    );
                }
            }
            if v.plaintext_fallback {
                eprintln!("pgtls: under this sslmode libpq would then connect without TLS");
            }
        }
    }
    crate::exit_code(v)
}

fn client(a: ClientArgs) -> ExitCode {
    let now = match now(a.at.as_deref()) {
        Ok(n) => n,
        Err(e) => return usage_error(e),
    };
    let ident = match &a.ident {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => Some(pgtls_hba::IdentFile::parse(
                &p.display().to_string(),
                &bytes,
                a.pg_version,
                &pgtls_hba::FsSource,
            )),
            Err(e) => return usage_error(format!("{}: {e}", p.display())),
        },
        None => None,
    };
    let chain = match &a.cert {
        Some(p) => match pgtls_verify::read_chain_file(p) {
            Ok(c) => Some(c),
            Err(e) => return usage_error(e),
        },
        None => None,
    };
    let mut tls = pgtls_verify::server::ServerTls::new(a.ssl_ca_file.clone(), a.pg_version);
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
            return usage_error(format!("--ident FILE is needed: {e}"));
        }
        Err(e) => return usage_error(e),
    };
    if a.json {
        println!("{}", d.to_json());
    } else if d.accepted() {
        println!("accept");
        for c in &d.checks {
            println!("  {:<16} {}", c.name, c.detail);
        }
    }
    match &d.outcome {
        ServerOutcome::Accept => {}
        ServerOutcome::Undecided { message, .. } => {
            eprintln!("pgtls: undecided: {message}");
        }
        ServerOutcome::Reject { message, log } => {
            eprintln!("{message}");
            if !a.json {
                if let Some(l) = log {
                    eprintln!("pgtls: server log: {l}");
                }
                // The reason OpenSSL gives, which neither the client nor the log shows.
                for c in &d.checks {
                    if let Some(r) = c.reason {
                        eprintln!(
                            "pgtls: hidden reason: {} (X509_V_ERR {}) at depth {}: {}",
                            r.text(),
                            r.code(),
                            c.depth.unwrap_or(0),
                            c.subject.as_deref().unwrap_or("")
                        );
                        if let Some(h) = r.server_side_hint() {
                            eprintln!("pgtls: hint: {h}");
                        }
                    }
                }
            }
        }
        _ => {}
    }
    crate::exit_code(&d)
}

pub(crate) fn probe(args: ProbeArgs) -> ExitCode {
    use pgtls_verify::probe as p;
    let (host, port) = match args.target.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') || h.starts_with('[') => match port.parse::<u16>() {
            Ok(n) => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                n,
            ),
            Err(_) => return usage_error(format!("{}: bad port", args.target)),
        },
        _ => (args.target.clone(), 5432),
    };
    let cap = match p::capture(&host, port, args.direct) {
        Ok(c) => c,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    let mut base = Params::default();
    base.host = Some(args.host.clone().unwrap_or_else(|| host.clone()));
    base.sslrootcert = args.sslrootcert.clone();
    base.sslcrl = args.sslcrl.clone();
    base.sslcrldir = args.sslcrldir.clone();
    let now = pgtls_verify::UnixTime::now();
    let env = Env::from_process();
    let modes = match p::evaluate_modes(&cap, &base, &env, args.pg_version, now) {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let subjects: Vec<String> = cap
        .chain
        .iter()
        .map(|der| {
            use x509_subject::subject_of;
            subject_of(der)
        })
        .collect();
    let cas: Option<Vec<String>> = cap
        .client_ca_names
        .as_ref()
        .map(|v| v.iter().map(|n| p::dn_text(n)).collect());
    if args.json {
        let rows: Vec<Value> = modes
            .iter()
            .map(|(m, v)| {
                let mut j = verdict_json(v);
                if let Some(o) = j.as_object_mut() {
                    o.insert("sslmode".into(), json!(m.as_str()));
                }
                j
            })
            .collect();
        println!(
            "{}",
            json!({
                "target": format!("{host}:{port}"),
                "negotiation": if cap.direct { "direct" } else { "sslrequest" },
                "protocol": cap.protocol,
                "alpn": cap.alpn.as_ref().map(|a| String::from_utf8_lossy(a).into_owned()),
                "chain": subjects,
                "client_ca_names": cas,
                "sslmodes": rows,
            })
        );
    } else {
        println!(
            "{host}:{port}: TLS via {} ({})",
            if cap.direct {
                "direct TLS (ALPN postgresql)"
            } else {
                "SSLRequest"
            },
            cap.protocol.as_deref().unwrap_or("?")
        );
        println!("certificate chain sent by the server:");
        for (i, s) in subjects.iter().enumerate() {
            println!("  {i}: {s}");
        }
        match &cas {
            Some(v) if v.is_empty() => println!("asks for a client certificate (no CA names)"),
            Some(v) => {
                println!("asks for a client certificate from:");
                for n in v {
                    println!("  {n}");
                }
            }
            None => println!("does not ask for a client certificate"),
        }
        println!("libpq {} would, per sslmode:", args.pg_version);
        for (m, v) in &modes {
            let refused_at_once = !v.tls;
            let what = if refused_at_once && v.message() == Some(pgtls_verify::DISABLE_MESSAGE) {
                "connect without TLS".to_string()
            } else if refused_at_once {
                format!("refuse: {}", v.message().unwrap_or(""))
            } else if *m == pgtls_verify::SslMode::Allow {
                if v.accepted() {
                    "connect without TLS (plaintext first); TLS would work if the server refused it"
                        .to_string()
                } else {
                    format!(
                        "connect without TLS (plaintext first); TLS fails if the server refuses it: {}",
                        v.message().unwrap_or("")
                    )
                }
            } else if v.accepted() {
                "connect over TLS".to_string()
            } else if v.plaintext_fallback {
                format!(
                    "fail TLS ({}), then try plaintext",
                    v.message().unwrap_or("")
                )
            } else {
                format!("refuse: {}", v.message().unwrap_or(""))
            };
            println!("  {:<12} {what}", m.as_str());
            if let Some(c) = v.hidden_reason() {
                println!(
                    "               hidden reason: {} at depth {} ({})",
                    c.reason.map(|r| r.text()).unwrap_or_default(),
                    c.depth.unwrap_or(0),
                    c.subject.as_deref().unwrap_or("")
                );
            }
        }
    }
    ExitCode::SUCCESS
}

mod x509_subject {
    /// The subject of a DER certificate, one line.
    pub(super) fn subject_of(der: &[u8]) -> String {
        pgtls_verify::certificate_subject(der)
            .unwrap_or_else(|| format!("<unparsable, {} bytes>", der.len()))
    }
}
