//! Creates a CA store in DIR, issues a server certificate for HOST and a client
//! certificate for ROLE, publishes a CRL, and checks the server certificate as
//! libpq's `sslmode=verify-full` would.
//!
//! `cargo run -p pgtls-examples --bin issue_certs -- /tmp/pgtls-example db.example.com app`

use std::path::PathBuf;
use std::process::ExitCode;

use pgtls_core::{
    CertificateParams, DirStore, DistinguishedName, KeyAlgorithm, KeyPair, Store, SubjectAltName,
    Validity, write_key_file, write_public_file,
};
use pgtls_verify::{Env, Params, PgVersion, verify_server};
use time::{Duration, OffsetDateTime};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: issue_certs DIR [HOST] [ROLE]");
        return ExitCode::from(2);
    };
    let host = args.next().unwrap_or_else(|| "db.example.com".into());
    let role = args.next().unwrap_or_else(|| "app".into());
    match run(&dir, &host, &role) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("issue_certs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &std::path::Path, host: &str, role: &str) -> Result<(), Box<dyn std::error::Error>> {
    // The only place that reads the clock: the libraries take `now`.
    let now = OffsetDateTime::now_utc();
    let ca_params = CertificateParams::ca(
        DistinguishedName::parse_openssl("/O=pgtls example/CN=Example PostgreSQL CA")?,
        Validity::days_from(now, 3650),
        Some(0),
    );
    let ca = pgtls_core::Ca::create_root(&ca_params, KeyPair::generate(KeyAlgorithm::EcdsaP256)?)?;
    let store = DirStore::create(&dir.join("ca"), ca, None)?;

    let server_key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
    let names: Vec<SubjectAltName> = vec![host.parse()?];
    let server = store.issue(
        &CertificateParams::server(&names, None, Validity::days_from(now, 365))?,
        &server_key.public_key(),
        now,
    )?;
    write_public_file(&dir.join("server.crt"), server.to_pem().as_bytes(), true)?;
    write_key_file(
        &dir.join("server.key"),
        server_key.to_pem().as_bytes(),
        true,
    )?;

    let client_key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
    let client = store.issue(
        &CertificateParams::client(role, Validity::days_from(now, 90))?,
        &client_key.public_key(),
        now,
    )?;
    write_public_file(
        &dir.join("postgresql.crt"),
        client.to_pem().as_bytes(),
        true,
    )?;
    write_key_file(
        &dir.join("postgresql.key"),
        client_key.to_pem().as_bytes(),
        true,
    )?;

    let crl = store.generate_crl(now + Duration::days(30), now)?;
    write_public_file(&dir.join("root.crl"), crl.to_pem().as_bytes(), true)?;
    let root = dir.join("root.crt");
    write_public_file(&root, store.ca().certificate().to_pem().as_bytes(), true)?;

    println!("server {} serial {}", server.subject(), server.serial_hex());
    println!("client {} serial {}", client.subject(), client.serial_hex());

    // Would libpq accept this server for `host` under verify-full?
    let conninfo = format!(
        "host={host} hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={} sslcrl={}",
        root.display(),
        dir.join("root.crl").display()
    );
    let params = Params::parse_conninfo(&conninfo)?;
    let chain = vec![pgtls_verify::CertificateDer::from(server.der())];
    let verdict = verify_server(
        &params,
        &Env::empty(),
        PgVersion::V15,
        &chain,
        pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(now.unix_timestamp()).unwrap_or(0),
        )),
    )?;
    if verdict.accepted() {
        println!("libpq (verify-full, host={host}) would accept the server certificate");
        Ok(())
    } else {
        Err(format!(
            "libpq would refuse: {}",
            verdict.message().unwrap_or_default()
        )
        .into())
    }
}
