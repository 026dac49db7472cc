//! `pgtls probe`: the handshake capture and the login without TLS are
//! pgtls-verify's [`pgtls_verify::probe`], the certificate login
//! pgtls-postgres's; this module converts the flags and prints.
//!
//! Exit status: 0 once the server was probed (the findings, a login without TLS
//! included, are in the output: `pgtls audit` exits on them), 1 when the probe
//! fails or a requested certificate login does not succeed, 2 bad usage.

use crate::args::{Json, PgVersionArg, Trust};
use crate::error::CliError;

use clap::Args;
use pgtls_verify::{Env, Params};
use serde_json::{Value, json};

use crate::cmd::verify::verdict_json;

/// `pgtls probe HOST[:PORT] [--user U] [--dbname D] [--sslcert F --sslkey F] [--conninfo C]`.
#[derive(Args)]
pub(crate) struct ProbeArgs {
    /// The server to probe, as HOST or HOST:PORT (port default 5432).
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) trust: Trust,
    /// The host name verify-full checks (default: HOST).
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Use PG17 direct TLS (ALPN "postgresql") instead of SSLRequest, and evaluate
    /// libpq with sslnegotiation=direct (which it allows with require and verify-* only).
    #[arg(long)]
    pub(crate) direct: bool,
    /// The role for the login without TLS (and the certificate login); default as
    /// libpq: the conninfo's user, $PGUSER, the operating-system user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// The database for those logins; default as libpq: the conninfo's, $PGDATABASE,
    /// the user name.
    #[arg(long)]
    pub(crate) dbname: Option<String>,
    /// Log in over TLS with this client certificate (PEM, leaf first) and report whether
    /// certificate authentication succeeded.
    #[arg(long, value_parser = crate::args::path_or_empty)]
    pub(crate) sslcert: Option<std::path::PathBuf>,
    /// The client certificate's key (default: libpq's, ~/.postgresql/postgresql.key).
    #[arg(long, value_parser = crate::args::path_or_empty)]
    pub(crate) sslkey: Option<std::path::PathBuf>,
    /// Log in with these connection keywords (keyword=value pairs, as psql takes them;
    /// sslmode defaults to require here), e.g. "sslcert=c.crt sslkey=c.key sslpassword=...".
    /// HOST[:PORT] and the flags above take precedence.
    #[arg(long, value_name = "CONNINFO")]
    pub(crate) conninfo: Option<String>,
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) json: Json,
}

impl ProbeArgs {
    /// The conninfo of the logins: sslmode=require and the trust flags, then
    /// --conninfo, then the target and the flags (later keywords win, as in libpq).
    fn login_conninfo(&self, host: &str, port: u16) -> Result<String, CliError> {
        let given = self.conninfo.as_deref().unwrap_or("");
        if given.starts_with("postgres://") || given.starts_with("postgresql://") {
            return Err(CliError::Usage(
                "--conninfo: give keyword=value pairs here, not a URI (the target is HOST[:PORT])"
                    .into(),
            ));
        }
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let mut pairs: Vec<(&str, String)> = vec![("sslmode", "require".into())];
        for (k, v) in [
            ("sslrootcert", path(&self.trust.sslrootcert)),
            ("sslcrl", path(&self.trust.sslcrl)),
            ("sslcrldir", path(&self.trust.sslcrldir)),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        let head = pgtls_verify::conninfo_string(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let mut tail: Vec<(&str, String)> =
            vec![("host", host.to_owned()), ("port", port.to_string())];
        for (k, v) in [
            ("user", self.user.clone()),
            ("dbname", self.dbname.clone()),
            ("sslcert", path(&self.sslcert)),
            ("sslkey", path(&self.sslkey)),
        ] {
            if let Some(v) = v {
                tail.push((k, v));
            }
        }
        let tail = pgtls_verify::conninfo_string(tail.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(format!("{head} {given} {tail}"))
    }

    fn wants_login(&self) -> bool {
        self.sslcert.is_some() || self.sslkey.is_some() || self.conninfo.is_some()
    }
}

pub(crate) fn run(args: &ProbeArgs) -> Result<crate::Decided, CliError> {
    use pgtls_verify::probe as p;
    let (host, port) = match args.target.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') || h.starts_with('[') => match port.parse::<u16>() {
            Ok(n) => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                n,
            ),
            Err(_) => return Err(CliError::bad_input(format!("{}: bad port", args.target))),
        },
        _ => (args.target.clone(), 5432),
    };
    let conninfo = args.login_conninfo(&host, port)?;
    let opts = pgtls_postgres::Options::new().pg_version(args.pg.version);
    let mut findings: Vec<p::ProbeFinding> = Vec::new();
    let plaintext = match pgtls_postgres::audit::identity(&opts, &conninfo) {
        Ok((user, dbname)) => match p::plaintext_startup(&host, port, &user, &dbname) {
            Ok(a) => {
                findings.push(a.finding(&user, &dbname));
                Some(a)
            }
            Err(e) => {
                findings.push(p::ProbeFinding::io(format!(
                    "the login without TLS could not be tried: {}",
                    crate::error::chain(&e)
                )));
                None
            }
        },
        Err(e) if args.wants_login() => return Err(CliError::Usage(e.libpq_message())),
        Err(e) => {
            findings.push(p::ProbeFinding::io(format!(
                "the login without TLS was not tried: no user and database ({})",
                e.libpq_message()
            )));
            None
        }
    };
    let login = if args.wants_login() {
        let l = crate::cmd::audit::runtime()?
            .block_on(pgtls_postgres::audit::cert_login(&opts, &conninfo));
        findings.push(p::cert_login_finding(&l));
        Some(l)
    } else {
        None
    };
    let login_failed = login.is_some()
        && findings
            .last()
            .is_some_and(|f| f.severity == p::Severity::Error);
    // The server name sent is libpq's: the host verify-full checks (--host), not the
    // address connected to.
    let env = Env::from_process();
    let name = args.host.clone().unwrap_or_else(|| host.clone());
    let sni = pgtls_verify::policy::sni_name(Some(&name), None, &env, args.pg.version);
    let cap = match p::capture_with_sni(&host, port, sni, args.direct) {
        Ok(c) => c,
        Err(e) => {
            return Err(CliError::Other(crate::error::chain(&e)));
        }
    };
    let mut base = Params::default();
    base.host = Some(args.host.clone().unwrap_or_else(|| host.clone()));
    args.trust.apply(&mut base);
    let now = pgtls_verify::UnixTime::now();
    let modes =
        p::evaluate_modes(&cap, &base, &env, args.pg.version, now).map_err(CliError::bad_input)?;
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
    if args.json.on {
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
        outln!(
            "{}",
            json!({
                "target": format!("{host}:{port}"),
                "negotiation": if cap.direct { "direct" } else { "sslrequest" },
                "protocol": cap.protocol,
                "alpn": cap.alpn.as_ref().map(|a| String::from_utf8_lossy(a).into_owned()),
                "chain": subjects,
                "client_ca_names": cas,
                "sslmodes": rows,
                "plaintext": plaintext,
                "login": login.as_ref().map(|l| match l {
                    Ok(l) => json!({"outcome": "logged-in", "session": l}),
                    Err(m) => json!({"outcome": "refused", "message": m}),
                }),
                "findings": findings,
            })
        );
    } else {
        outln!(
            "{host}:{port}: TLS via {} ({})",
            if cap.direct {
                "direct TLS (ALPN postgresql)"
            } else {
                "SSLRequest"
            },
            cap.protocol.as_deref().unwrap_or("?")
        );
        outln!("certificate chain sent by the server:");
        for (i, s) in subjects.iter().enumerate() {
            outln!("  {i}: {s}");
        }
        match &cas {
            Some(v) if v.is_empty() => outln!("asks for a client certificate (no CA names)"),
            Some(v) => {
                outln!("asks for a client certificate from:");
                for n in v {
                    outln!("  {n}");
                }
            }
            None => outln!("does not ask for a client certificate"),
        }
        outln!("libpq {} would, per sslmode:", args.pg.version);
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
            outln!("  {:<12} {what}", m.as_str());
            if let Some(c) = v.hidden_reason() {
                outln!(
                    "               hidden reason: {} at depth {} ({})",
                    c.reason.map(|r| r.text()).unwrap_or_default(),
                    c.depth.unwrap_or(0),
                    c.subject.as_deref().unwrap_or("")
                );
            }
        }
    }
    if !args.json.on {
        outln!("findings:");
        for f in &findings {
            outln!("  {}: {} [{}]", f.severity.as_str(), f.message, f.code);
        }
    }
    if login_failed {
        if let Some(f) = findings.last() {
            eprintln!("pgtls: {}", f.message);
        }
        return Ok(crate::Decided::Reject);
    }
    Ok(crate::Decided::Accept)
}

mod x509_subject {
    /// The subject of a DER certificate, one line.
    pub(super) fn subject_of(der: &[u8]) -> String {
        pgtls_verify::certificate_subject(der)
            .unwrap_or_else(|| format!("<unparsable, {} bytes>", der.len()))
    }
}
