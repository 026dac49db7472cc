//! Says which pg_hba.conf line a TCP connection hits, as PostgreSQL would, and
//! lists what the linter finds in the file.
//!
//! `cargo run -p pgtls-examples --bin check_hba -- pg_hba.conf mydb alice 10.0.0.5 tls`

use std::process::ExitCode;

use pgtls_hba::{HbaFile, PgVersion, Request, ServerSettings, evaluate, lint};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, database, user, ip, rest @ ..] = args.as_slice() else {
        eprintln!("usage: check_hba FILE DATABASE USER IP [tls]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(addr) = ip.parse() else {
        eprintln!("{ip}: not an IP address");
        return ExitCode::from(2);
    };
    let hba = HbaFile::parse_str(&text, ServerSettings::new(PgVersion::V15, true));
    if let Some(e) = hba.load_error() {
        eprintln!("the server would not load {file}: {e}");
        return ExitCode::from(3);
    }
    let tls = rest.first().is_some_and(|s| s == "tls");
    let decision = evaluate(&hba, &Request::tcp(addr, database, user).with_tls(tls));
    match decision.line_number() {
        Some(n) => println!("line {n} matches: {:?}", decision.method()),
        None => println!("no line matches: the server refuses"),
    }
    for f in lint(&hba, None) {
        println!(
            "{}:{}: {:?} [{}] {}",
            f.file, f.line, f.severity, f.code, f.message
        );
    }
    ExitCode::SUCCESS
}
