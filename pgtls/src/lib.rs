//! pgtls: PostgreSQL TLS made correct and boring.
//!
//! One crate for Rust programs that use pgtls: it re-exports the library crates, one module
//! per concern, and holds the type they share, [`PgVersion`] (which PostgreSQL's rules, on
//! the server and in libpq, apply). The ground truth is PostgreSQL itself: where pgtls and a
//! real server, libpq or psql disagree, pgtls is wrong.
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`pki`] | `pgtls-core` | keys, a certificate authority, CSRs, PostgreSQL's issuance profiles, revocation and CRLs, a CA store `openssl ca` can share |
//! | [`hba`] | `pgtls-hba` | pg_hba.conf and pg_ident.conf as the server reads them: parse, evaluate, lint, edit; postgresql.conf |
//! | [`verify`] | `pgtls-verify` | libpq's `sslmode` rules, chain and host-name checks, the server's client-certificate decision, a rustls verifier; a server certificate rotation client by client ([`verify::rotation`]); a running server's TLS judged from its facts ([`verify::audit`]) |
//! | [`x509`] | `pgtls-x509` | the X.509 layer under both: DER, PEM, names, certificates, CRLs, signatures as OpenSSL reads them |
//! | `postgres` | `pgtls-postgres` | tokio-postgres connections with libpq's connection semantics (feature `postgres`); with feature `audit`, `postgres::audit` reads those facts from a live server |
//!
//! Each module is its crate re-exported whole, so `pgtls::pki::Ca` is `pgtls_core::Ca`;
//! a program may depend on the crates it needs instead. The C ABI (`libpgtls`, header
//! `include/pgtls.h`) is built by `pgtls-capi`, the command line by `pgtls-cli`.
//!
//! No function reads the clock: every decision that depends on time takes `now`.
//!
//! # A certificate authority and a server certificate
//!
//! ```
//! use pgtls::pki::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair,
//!     SubjectAltName, Validity};
//! # fn main() -> Result<(), pgtls::pki::Error> {
//! let now = time::OffsetDateTime::now_utc();
//! let ca = Ca::create_root(
//!     &CertificateParams::ca(
//!         DistinguishedName::parse_openssl("/O=Example/CN=Example PostgreSQL CA")?,
//!         Validity::days_from(now, 3650),
//!         Some(0),
//!     ),
//!     KeyPair::generate(KeyAlgorithm::EcdsaP256)?,
//! )?;
//!
//! // The server profile: serverAuth, the names as SANs (libpq checks them for verify-full).
//! let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
//! let names: Vec<SubjectAltName> = vec!["db.example.com".parse()?];
//! let params = CertificateParams::server(&names, None, Validity::days_from(now, 365))?;
//! let cert = ca.issue(&params, &key.public_key(), now)?;
//! assert_eq!(cert.issuer(), ca.certificate().subject());
//! // server.crt is the chain the server sends; root.crt is the CA's certificate.
//! let server_crt = ca.full_chain_pem(&cert);
//! assert!(server_crt.starts_with("-----BEGIN CERTIFICATE-----"));
//! # Ok(()) }
//! ```
//!
//! A persistent CA lives in a [`pki::DirStore`] (the `openssl ca` directory layout, locked
//! and written atomically) through the [`pki::Store`] trait.
//!
//! # One pg_hba.conf line, and a connection against a file
//!
//! ```
//! use pgtls::PgVersion;
//! use pgtls::hba::{AuthMethod, ConnType, HbaFile, HbaVerdict, Request, ServerSettings,
//!     evaluate, parse_hba_line};
//!
//! let settings = ServerSettings::new(PgVersion::V15, true);
//! let rule = parse_hba_line("hostssl all all 10.0.0.0/8 cert", settings.clone()).unwrap();
//! assert_eq!(rule.conn_type, ConnType::HostSsl);
//! assert_eq!(rule.method, AuthMethod::Cert);
//!
//! // The server's own error text for a line it would not load.
//! let err = parse_hba_line("hostssl all all 10.0.0.0/8 certificate", settings.clone())
//!     .unwrap_err();
//! assert!(err.to_string().contains("invalid authentication method \"certificate\""));
//!
//! let hba = HbaFile::parse_str("hostssl all all 10.0.0.0/8 cert\n", settings);
//! let over_tls = Request::tcp("10.1.2.3".parse().unwrap(), "app", "alice").with_tls(true);
//! let d = evaluate(&hba, &over_tls);
//! assert_eq!(d.verdict(), HbaVerdict::Match);
//! assert_eq!(d.line_number(), Some(1));
//!
//! let plain = Request::tcp("10.1.2.3".parse().unwrap(), "app", "alice");
//! let d = evaluate(&hba, &plain);
//! assert_eq!(d.verdict(), HbaVerdict::NoMatch);
//! assert_eq!(
//!     d.verdict_message(),
//!     Some("no pg_hba.conf entry for host \"10.1.2.3\", user \"alice\", database \"app\", no encryption")
//! );
//! ```
//!
//! # A server's chain, checked as libpq checks it
//!
//! ```
//! use pgtls::PgVersion;
//! use pgtls::pki::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair,
//!     SubjectAltName, Validity};
//! use pgtls::verify::{CertificateDer, Env, Params, UnixTime, verify_server};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let now = time::OffsetDateTime::now_utc();
//! # let ca = Ca::create_root(
//! #     &CertificateParams::ca(
//! #         DistinguishedName::parse_openssl("/CN=Example PostgreSQL CA")?,
//! #         Validity::days_from(now, 3650),
//! #         Some(0),
//! #     ),
//! #     KeyPair::generate(KeyAlgorithm::EcdsaP256)?,
//! # )?;
//! # let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
//! # let names: Vec<SubjectAltName> = vec!["db.example.com".parse()?];
//! # let params = CertificateParams::server(&names, None, Validity::days_from(now, 365))?;
//! # let cert = ca.issue(&params, &key.public_key(), now)?;
//! // `ca` and `cert` as in the first example. libpq reads the root file from disk.
//! let dir = tempfile::tempdir()?;
//! let root = dir.path().join("root.crt");
//! std::fs::write(&root, ca.certificate().to_pem())?;
//!
//! let chain = [CertificateDer::from(cert.der().to_vec())];
//! let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
//!     u64::try_from(now.unix_timestamp())?,
//! ));
//! let conninfo = |host: &str| {
//!     Params::parse_conninfo(&format!(
//!         "host={host} sslmode=verify-full sslrootcert='{}'",
//!         root.display()
//!     ))
//! };
//!
//! // Env::empty(): no PGSSLMODE & co. and no ~/.postgresql (Env::from_process() reads them).
//! let v = verify_server(&conninfo("db.example.com")?, &Env::empty(), PgVersion::V15, &chain, at)?;
//! assert!(v.accepted());
//!
//! // Refused, with the message psql would print.
//! let v = verify_server(&conninfo("db.other.com")?, &Env::empty(), PgVersion::V15, &chain, at)?;
//! assert!(!v.accepted());
//! assert_eq!(
//!     v.message(),
//!     Some("server certificate for \"db.example.com\" does not match host name \"db.other.com\"")
//! );
//! # Ok(()) }
//! ```
//!
//! The same rules drive a real handshake: [`verify::LibpqVerifier`] is a rustls
//! `ServerCertVerifier`, and `pgtls::postgres::connect` (feature `postgres`) connects
//! with it the way libpq would.
//!
//! # A rotation, client by client
//!
//! ```
//! use pgtls::pki::{Ca, CertificateParams, DistinguishedName, KeyAlgorithm, KeyPair,
//!     SubjectAltName, Validity};
//! use pgtls::verify::rotation::{self, Change, Client, Outcome, Switch};
//! use pgtls::verify::{CertificateDer, Env, UnixTime};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let now = time::OffsetDateTime::now_utc();
//! # let root = |cn: &str| -> Result<Ca, Box<dyn std::error::Error>> {
//! #     Ok(Ca::create_root(
//! #         &CertificateParams::ca(
//! #             DistinguishedName::parse_openssl(cn)?,
//! #             Validity::days_from(now, 3650),
//! #             Some(0),
//! #         ),
//! #         KeyPair::generate(KeyAlgorithm::EcdsaP256)?,
//! #     )?)
//! # };
//! # let leaf = |ca: &Ca| -> Result<CertificateDer<'static>, Box<dyn std::error::Error>> {
//! #     let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
//! #     let names: Vec<SubjectAltName> = vec!["db.example.com".parse()?];
//! #     let params = CertificateParams::server(&names, None, Validity::days_from(now, 365))?;
//! #     Ok(CertificateDer::from(ca.issue(&params, &key.public_key(), now)?.der().to_vec()))
//! # };
//! // The server's certificate moves from the old CA to a new one.
//! let (old_ca, new_ca) = (root("/CN=Old CA")?, root("/CN=New CA")?);
//! let (before, after) = ([leaf(&old_ca)?], [leaf(&new_ca)?]);
//! let dir = tempfile::tempdir()?;
//! let old_root = dir.path().join("old.crt");
//! std::fs::write(&old_root, old_ca.certificate().to_pem())?;
//!
//! let clients = [
//!     Client::new("app", format!("host=db.example.com sslmode=verify-full sslrootcert='{}'",
//!         old_root.display())),
//!     Client::new("etl", "host=db.example.com sslmode=require"),
//! ];
//! let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
//!     u64::try_from(now.unix_timestamp())?,
//! ));
//! let env = Env::empty();
//! let report = rotation::check(&clients, &Switch::new(&before, &after, &env, at))?;
//! // `app` verifies against the old CA only: it breaks. `etl` checks nothing either way.
//! assert_eq!(report.clients[0].change, Change::Breaks);
//! assert_eq!(report.clients[1].after.outcome, Outcome::Unverified);
//!
//! // The plan: the new CA into app's root file before the switch, checked.
//! let new_der = [CertificateDer::from(new_ca.certificate().der().to_vec())];
//! let plan = rotation::plan(&clients, &Switch::new(&before, &after, &env, at), &new_der, None)?;
//! assert_eq!(plan.clients[0].need, rotation::Need::AddNewCa);
//! assert_eq!(plan.clients[0].with_change, Some([Outcome::Verified, Outcome::Verified]));
//! assert_eq!(plan.unverified, ["etl"]);
//! # Ok(()) }
//! ```
//!
//! `pgtls rotation check|plan` prints the same reports; `--hba` adds the server's decision
//! on plaintext sessions ([`verify::rotation::PlaintextRules`]).
//!
//! # Versions
//!
//! PostgreSQL 12 to 18 are modelled; every version-dependent decision takes a
//! [`PgVersion`] (default 15, the version tested live against a real server and libpq).
//! It is also reachable as `pgtls::hba::PgVersion` and `pgtls::verify::PgVersion`, the
//! same type.

#![forbid(unsafe_code)]

pub use pgtls_version::{PgVersion, UnsupportedVersion};

/// The PKI: keys, a certificate authority, CSRs, PostgreSQL's issuance profiles,
/// revocation and CRLs, the CA store (`pgtls-core`).
pub mod pki {
    #[doc(inline)]
    pub use pgtls_core::*;
}

/// pg_hba.conf, pg_ident.conf and postgresql.conf as the server reads them (`pgtls-hba`).
pub mod hba {
    #[doc(inline)]
    pub use pgtls_hba::*;
}

/// What libpq and the server decide about TLS certificates (`pgtls-verify`).
pub mod verify {
    #[doc(inline)]
    pub use pgtls_verify::*;
}

/// X.509 as OpenSSL reads it: DER, PEM, names, certificates, CRLs, signatures
/// (`pgtls-x509`).
pub mod x509 {
    #[doc(inline)]
    pub use pgtls_x509::*;
}

/// tokio-postgres connections with libpq's semantics (`pgtls-postgres`, feature
/// `postgres`).
#[cfg(feature = "postgres")]
pub mod postgres {
    #[doc(inline)]
    pub use pgtls_postgres::*;
}
