//! `pgtls probe`.

use crate::args::{Json, PgVersionArg, Trust};
use crate::error::CliError;

use clap::Args;
use pgtls_verify::{Env, Params};
use serde_json::{Value, json};

use crate::cmd::verify::verdict_json;

/// `pgtls probe HOST[:PORT]`.
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
    #[command(flatten)]
    pub(crate) pg: PgVersionArg,
    #[command(flatten)]
    pub(crate) json: Json,
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
    Ok(crate::Decided::Accept)
}

mod x509_subject {
    /// The subject of a DER certificate, one line.
    pub(super) fn subject_of(der: &[u8]) -> String {
        pgtls_verify::certificate_subject(der)
            .unwrap_or_else(|| format!("<unparsable, {} bytes>", der.len()))
    }
}
