//! Prints libpq's verdict for a server chain under each of the six sslmodes.
//!
//! `cargo run -p pgtls-examples --bin explain_sslmode -- server-chain.pem db.example.com root.crt`

use std::process::ExitCode;

use pgtls_verify::{Env, Params, PgVersion, read_chain_file, verify_server};

const MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [chain, host, rest @ ..] = args.as_slice() else {
        eprintln!("usage: explain_sslmode CHAIN.pem HOST [ROOT.crt]");
        return ExitCode::from(2);
    };
    let chain = match read_chain_file(chain.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    for mode in MODES {
        let mut params = Params::default();
        params.set("host", host.clone());
        params.set("sslmode", mode.into());
        // Without a root file, libpq would look at ~/.postgresql/root.crt; this
        // example names the file or uses none.
        params.set(
            "sslrootcert",
            rest.first()
                .cloned()
                .unwrap_or_else(|| "/nonexistent/root.crt".into()),
        );
        match verify_server(
            &params,
            &Env::empty(),
            PgVersion::V15,
            &chain,
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(now).unwrap_or(0),
            )),
        ) {
            Ok(v) if v.accepted() => println!("{mode:>11}: TLS session completes"),
            Ok(v) => {
                let fallback = if v.plaintext_fallback {
                    " (then falls back to plaintext)"
                } else {
                    ""
                };
                println!(
                    "{mode:>11}: refused: {}{fallback}",
                    v.message().unwrap_or_default()
                );
                if let Some(hidden) = v.hidden_reason() {
                    println!("{:>11}  because: {}", "", hidden.detail);
                }
            }
            Err(e) => println!("{mode:>11}: cannot evaluate: {e}"),
        }
    }
    ExitCode::SUCCESS
}
