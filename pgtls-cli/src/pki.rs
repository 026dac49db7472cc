//! PKI subcommands: CA, keys, CSRs, issuance, revocation, CRLs, inspection, expiry,
//! quickstart. Logic lives in pgtls-core; this module parses arguments, reads and writes
//! files, prints (human text or `--json`) and chooses exit codes: 0 ok, 1 failure, 2 usage.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use pgtls_core::{
    CertificateParams, Csr, CsrPolicy, CsrUsage, DirStore, DistinguishedName, Error, KeyAlgorithm,
    KeyPair, NameConstraint, NameConstraints, NewFile, PBKDF2_ITERATIONS, RevocationReason,
    SerialNumber, Store, StoreProblem, SubjectAltName, Validity, write_files, write_key_file,
    write_public_file,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

mod inspect;
mod quickstart;

/// The top-level PKI subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print the pgtls version.
    Version,
    /// Create a certificate authority store (root, or intermediate under another store),
    /// import one, or check one.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Generate a private key (PKCS#8, optionally encrypted).
    Key(KeyArgs),
    /// Create a certificate signing request (with an existing or a new key).
    Csr(CsrArgs),
    /// Sign a CSR with a store's CA (the CSR's requested extensions are ignored).
    Sign(SignArgs),
    /// Issue a server or client certificate with a new key, directly from a store.
    Issue {
        #[command(subcommand)]
        command: IssueCommand,
    },
    /// Revoke a certificate of a store by serial or certificate file.
    Revoke(RevokeArgs),
    /// Generate the store's CRL (next CRL number) and write it.
    Crl(CrlArgs),
    /// Summarise a certificate, chain, CSR, CRL or key.
    Inspect(InspectArgs),
    /// Report the expiry of every certificate of a store, and of its CRL.
    Expiry(ExpiryArgs),
    /// Create a CA, server and client certificates and a CRL for PostgreSQL in one go.
    Quickstart(quickstart::QuickstartArgs),
}

/// `pgtls ca ...`
#[derive(Subcommand)]
pub(crate) enum CaCommand {
    /// Create a new CA store in DIR.
    Create(CaCreateArgs),
    /// Make a store in DIR for an existing CA certificate and key (for example made by
    /// `openssl req -x509`); its subject is kept byte for byte.
    Import(CaImportArgs),
    /// Check a store at rest (no CA passphrase needed): every index entry has its
    /// certificate and every certificate is indexed, nothing left by a killed writer,
    /// the CA key closed to others, and crl.pem signed, current and complete. Exit 0
    /// when all is well, 1 when a problem is listed.
    Check(CaCheckArgs),
}

/// `pgtls ca check`
#[derive(Args)]
pub(crate) struct CaCheckArgs {
    /// The store directory.
    #[arg(long)]
    dir: PathBuf,
    /// Index the certificates of this CA found in newcerts/ but missing from index.txt
    /// (as valid, so that they can be revoked), finish or roll back what a killed
    /// writer left, rewrite the openssl.cnf pgtls wrote if it names another
    /// directory (a moved store), and close the CA key to group and others (and
    /// private/ and the store to their writes); then check.
    #[arg(long)]
    repair: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls ca import`
#[derive(Args)]
pub(crate) struct CaImportArgs {
    /// The store directory to create.
    #[arg(long)]
    dir: PathBuf,
    /// The CA certificate (PEM or DER).
    #[arg(long)]
    cert: PathBuf,
    /// The CA private key (PKCS#8, PKCS#1, SEC1; encrypted PKCS#8 with --passphrase-*).
    #[arg(long)]
    key: PathBuf,
    /// Certificates above the CA (intermediate CAs only), PEM.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Passphrase of the key; the store keeps the key encrypted with it.
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Passphrase sources (never on the command line itself).
#[derive(Args, Clone, Default)]
pub(crate) struct Passphrase {
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

impl Passphrase {
    fn get(&self) -> Result<Option<Vec<u8>>, Failure> {
        self.get_as("--passphrase")
    }

    /// The passphrase, errors naming the flags as `{flag}-file` / `{flag}-env`.
    fn get_as(&self, flag: &str) -> Result<Option<Vec<u8>>, Failure> {
        if let Some(f) = &self.passphrase_file {
            let text = std::fs::read(f).map_err(|e| Failure::io("cannot read", f, e))?;
            let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(Some(line.to_vec()));
        }
        if let Some(var) = &self.passphrase_env {
            return match std::env::var_os(var) {
                Some(v) => Ok(Some(v.into_encoded_bytes())),
                None => Err(Failure::Usage(format!(
                    "{flag}-env {var}: the variable is not set"
                ))),
            };
        }
        Ok(None)
    }
}

/// Options shared by commands that write keys.
#[derive(Args, Clone)]
pub(crate) struct KeyOptions {
    /// Key type: p256, p384, ed25519, rsa2048, rsa3072, rsa4096.
    #[arg(long = "key-type", default_value = "p256")]
    key_type: String,
    /// Encrypt written private keys with the passphrase from --passphrase-file/-env.
    #[arg(long)]
    encrypt: bool,
    /// PBKDF2 iterations for encrypted keys.
    #[arg(long, default_value_t = PBKDF2_ITERATIONS, hide = true)]
    kdf_iterations: u32,
}

/// `pgtls ca create`
#[derive(Args)]
pub(crate) struct CaCreateArgs {
    /// The store directory to create.
    #[arg(long)]
    dir: PathBuf,
    /// Subject in openssl -subj form, e.g. "/O=Example/CN=Example CA".
    #[arg(long)]
    subject: Option<String>,
    /// Common name (when --subject is not given).
    #[arg(long, default_value = "pgtls CA")]
    cn: String,
    /// Validity in days [default: 3650; with --parent, until the parent CA ends if sooner].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    days: Option<u32>,
    /// Maximum number of intermediate CAs below this one.
    #[arg(long)]
    path_len: Option<u8>,
    /// Permitted DNS subtree (name constraint); repeatable.
    #[arg(long)]
    permit_dns: Vec<String>,
    /// Excluded DNS subtree (name constraint); repeatable.
    #[arg(long)]
    exclude_dns: Vec<String>,
    /// Permitted IP network (CIDR) (name constraint); repeatable.
    #[arg(long)]
    permit_ip: Vec<String>,
    /// Create an intermediate CA issued by the CA store in this directory.
    #[arg(long, value_name = "DIR")]
    parent: Option<PathBuf>,
    /// Passphrase of the parent store's CA key.
    #[arg(long, value_name = "FILE")]
    parent_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    key: KeyOptions,
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls key`
#[derive(Args)]
pub(crate) struct KeyArgs {
    /// Where to write the key (created 0600).
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    key: KeyOptions,
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls csr`
#[derive(Args)]
pub(crate) struct CsrArgs {
    /// Existing private key; without it a new key is written to --new-key.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Where to write a new key (when --key is not given).
    #[arg(long)]
    new_key: Option<PathBuf>,
    /// Subject in openssl -subj form, e.g. "/CN=db.example.com".
    #[arg(long)]
    subject: String,
    /// Subject alternative name to request (DNS name or IP); repeatable.
    #[arg(long)]
    san: Vec<String>,
    /// Where to write the CSR (PEM).
    #[arg(long)]
    out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    key_options: KeyOptions,
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Which profile to sign with.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ProfileArg {
    /// PostgreSQL server: SANs, serverAuth.
    Server,
    /// PostgreSQL client: CN = role, clientAuth.
    Client,
}

/// Store access shared by commands that use a CA store.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// The CA store directory.
    #[arg(long)]
    dir: PathBuf,
    /// Read the CA key passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    ca_passphrase_file: Option<PathBuf>,
    /// Read the CA key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    ca_passphrase_env: Option<String>,
}

impl StoreArgs {
    fn open(&self) -> Result<DirStore, Failure> {
        let pass = Passphrase {
            passphrase_file: self.ca_passphrase_file.clone(),
            passphrase_env: self.ca_passphrase_env.clone(),
        }
        .get_as("--ca-passphrase")?;
        Ok(DirStore::open(&self.dir, pass.as_deref())?)
    }
}

/// `pgtls sign`
#[derive(Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The CSR (PEM or DER).
    #[arg(long)]
    csr: PathBuf,
    /// The profile.
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Server names (DNS or IP) for the server profile; repeatable.
    #[arg(long)]
    host: Vec<String>,
    /// Copy the subject alternative names the CSR requests (DNS and IP only).
    #[arg(long)]
    copy_sans: bool,
    /// Replace the CSR's subject (openssl -subj form).
    #[arg(long)]
    subject: Option<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    out: PathBuf,
    /// Write the certificate followed by the CA chain (without the root).
    #[arg(long)]
    full_chain: bool,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls issue ...`
#[derive(Subcommand)]
pub(crate) enum IssueCommand {
    /// A server certificate for the named hosts.
    Server(IssueServerArgs),
    /// A client certificate for a database role.
    Client(IssueClientArgs),
}

/// Output files of `pgtls issue server`.
#[derive(Args)]
pub(crate) struct IssueFiles {
    /// Where to write the certificate (PEM; leaf then intermediates).
    #[arg(long)]
    out_cert: PathBuf,
    /// Where to write the new private key (0600).
    #[arg(long)]
    out_key: PathBuf,
}

/// Output options of `pgtls issue`.
#[derive(Args)]
pub(crate) struct IssueOut {
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    key: KeyOptions,
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls issue server`
#[derive(Args)]
pub(crate) struct IssueServerArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// DNS name or IP address; repeatable; the first is the CN unless --cn is given.
    #[arg(long, required = true)]
    host: Vec<String>,
    /// Common name.
    #[arg(long)]
    cn: Option<String>,
    #[command(flatten)]
    files: IssueFiles,
    #[command(flatten)]
    out: IssueOut,
}

/// `pgtls issue client`
#[derive(Args)]
pub(crate) struct IssueClientArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The database role (becomes the CN); repeatable with --out-dir: all of them are
    /// issued as one batch (one commit to the store, all or nothing).
    #[arg(long, required_unless_present = "roles_file")]
    role: Vec<String>,
    /// A file of roles, one per line (blank lines and lines starting with `#` are
    /// skipped), issued as one batch into --out-dir; adds to --role.
    #[arg(long, value_name = "FILE", requires = "out_dir")]
    roles_file: Option<PathBuf>,
    /// Extra subject alternative names; repeatable (one role only).
    #[arg(long)]
    san: Vec<String>,
    /// Where to write the certificate (PEM; leaf then intermediates); one role only.
    #[arg(long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
    out_cert: Option<PathBuf>,
    /// Where to write the new private key (0600); one role only.
    #[arg(long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
    out_key: Option<PathBuf>,
    /// Write DIR/ROLE.crt and DIR/ROLE.key for every role (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    out: IssueOut,
}

/// `pgtls revoke`
#[derive(Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Serial number (hex).
    #[arg(long, conflicts_with = "cert", required_unless_present = "cert")]
    serial: Option<String>,
    /// The certificate file to revoke.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Reason: unspecified, keyCompromise, CACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, AACompromise.
    #[arg(long)]
    reason: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls crl`
#[derive(Args)]
pub(crate) struct CrlArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Days until nextUpdate (after it, PostgreSQL rejects every client certificate).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Also write the CRL here (the store keeps it in crl.pem).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls inspect`
#[derive(Args)]
pub(crate) struct InspectArgs {
    /// The file (PEM or DER).
    file: PathBuf,
    /// With a private key FILE: check that it belongs to this certificate (exit 1 if not).
    #[arg(long, value_name = "CERT")]
    matches: Option<PathBuf>,
    #[command(flatten)]
    pass: Passphrase,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `pgtls expiry`
#[derive(Args)]
pub(crate) struct ExpiryArgs {
    /// The CA store directory.
    #[arg(long)]
    dir: PathBuf,
    /// Warn about the CA and the certificates that expire within this many days.
    #[arg(long, default_value_t = 30)]
    warn_days: u32,
    /// Warn about the CRL when fewer than this many days are left before its nextUpdate.
    /// Default: a third of the CRL's own period (nextUpdate - thisUpdate), at least one day,
    /// so a CRL republished on schedule is never flagged (a fresh 30-day CRL warns at 10 days).
    #[arg(long, value_name = "DAYS")]
    crl_warn_days: Option<u32>,
    /// Exit 1 when anything needs action (the CA certificate or a certificate that is neither
    /// revoked nor expired within --warn-days, the CRL within --crl-warn-days, an expired
    /// CRL): for cron and monitoring.
    #[arg(long)]
    check: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Why a command failed.
pub(crate) enum Failure {
    /// A pgtls-core error (exit 1).
    Core(Error),
    /// Bad usage (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidParameter { .. } => Self::Usage(chain(&e)),
            e => Self::Core(e),
        }
    }
}

impl Failure {
    fn io(action: &str, path: &Path, e: std::io::Error) -> Self {
        Self::Other(format!("{action} {}: {e}", path.display()))
    }
}

/// A pgtls-core error as the CLI prints it: the error and its causes, with the CLI's
/// own hint where it has one.
fn core_message(e: &Error) -> String {
    let mut s = chain(e);
    if matches!(e, Error::FileExists { .. }) {
        s.push_str(" (use --force to replace it)");
    }
    s
}

/// The error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub(crate) fn run(cmd: Command) -> ExitCode {
    let now = OffsetDateTime::now_utc();
    let result = match cmd {
        Command::Version => {
            println!("pgtls {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Ca {
            command: CaCommand::Create(a),
        } => ca_create(&a, now),
        Command::Ca {
            command: CaCommand::Import(a),
        } => ca_import(&a),
        Command::Ca {
            command: CaCommand::Check(a),
        } => ca_check(&a, now),
        Command::Key(a) => key(&a),
        Command::Csr(a) => csr(&a),
        Command::Sign(a) => sign(&a, now),
        Command::Issue { command } => issue(&command, now),
        Command::Revoke(a) => revoke(&a, now),
        Command::Crl(a) => crl(&a, now),
        Command::Inspect(a) => inspect::run(&a, now),
        Command::Expiry(a) => inspect::expiry(&a, now),
        Command::Quickstart(a) => quickstart::run(&a, now),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Core(e)) => {
            eprintln!("pgtls: error: {}", core_message(&e));
            ExitCode::FAILURE
        }
        Err(Failure::Other(m)) => {
            eprintln!("pgtls: error: {m}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(m)) => {
            eprintln!("pgtls: usage error: {m}");
            ExitCode::from(crate::EXIT_USAGE)
        }
    }
}

fn print(json: bool, value: &Value, human: &str) {
    if json {
        println!("{value}");
    } else {
        print!("{human}");
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::io("cannot read", path, e))
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

/// Generates a key, with a progress note on a terminal for slow RSA sizes.
pub(crate) fn generate_key(opts: &KeyOptions) -> Result<KeyPair, Failure> {
    let alg: KeyAlgorithm = opts.key_type.parse()?;
    let slow = matches!(alg, KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096);
    let tty = std::io::stderr().is_terminal();
    if slow && tty {
        eprint!("generating {} key...", opts.key_type);
    }
    let key = KeyPair::generate(alg)?;
    if slow && tty {
        eprintln!(" done");
    }
    Ok(key)
}

/// Writes a key file (0600), encrypted when asked.
pub(crate) fn write_key(
    path: &Path,
    key: &KeyPair,
    opts: &KeyOptions,
    pass: &Passphrase,
    force: bool,
) -> Result<(), Failure> {
    let pem = key_pem(key, opts, pass)?;
    write_key_file(path, pem.as_bytes(), force)?;
    Ok(())
}

/// A key's PEM, encrypted when asked.
fn key_pem(key: &KeyPair, opts: &KeyOptions, pass: &Passphrase) -> Result<String, Failure> {
    Ok(if opts.encrypt {
        let Some(p) = pass.get()? else {
            return Err(Failure::Usage(
                "--encrypt needs --passphrase-file or --passphrase-env".to_owned(),
            ));
        };
        key.to_encrypted_pem_with_iterations(&p, opts.kdf_iterations)?
    } else {
        key.to_pem()
    })
}

fn check_new(paths: &[&Path], force: bool) -> Result<(), Failure> {
    if force {
        return Ok(());
    }
    for p in paths {
        if p.exists() {
            return Err(Error::FileExists {
                path: p.to_path_buf(),
            }
            .into());
        }
    }
    Ok(())
}

fn sans(list: &[String]) -> Result<Vec<SubjectAltName>, Failure> {
    Ok(list
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<SubjectAltName>, Error>>()?)
}

/// RFC 3339 in UTC to the second, the one time format of the reports.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    pgtls_core::report::format_time(t)
}

/// The library's certificate report, as a JSON value the commands add their
/// file names to.
pub(crate) fn cert_json(c: &pgtls_core::Certificate) -> Value {
    serde_json::to_value(c.report()).unwrap_or(Value::Null)
}

fn parse_constraints(a: &CaCreateArgs) -> Result<Option<NameConstraints>, Failure> {
    if a.permit_dns.is_empty() && a.exclude_dns.is_empty() && a.permit_ip.is_empty() {
        return Ok(None);
    }
    let mut nc = NameConstraints::default();
    nc.permitted
        .extend(a.permit_dns.iter().cloned().map(NameConstraint::Dns));
    nc.excluded
        .extend(a.exclude_dns.iter().cloned().map(NameConstraint::Dns));
    for cidr in &a.permit_ip {
        let (addr, prefix) = cidr
            .split_once('/')
            .and_then(|(a, p)| Some((a.parse().ok()?, p.parse().ok()?)))
            .ok_or_else(|| {
                Failure::Usage(format!("--permit-ip {cidr}: expected ADDRESS/PREFIX"))
            })?;
        nc.permitted.push(NameConstraint::Ip {
            network: addr,
            prefix,
        });
    }
    Ok(Some(nc))
}

fn ca_create(a: &CaCreateArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let subject = match &a.subject {
        Some(s) => DistinguishedName::parse_openssl(s).map_err(Error::from)?,
        None => DistinguishedName::common_name(&a.cn),
    };
    let mut params = CertificateParams::ca(
        subject,
        Validity::days_from(now, a.days.unwrap_or(3650)),
        a.path_len,
    );
    params.name_constraints = parse_constraints(a)?;
    if a.key.encrypt && a.pass.get()?.is_none() {
        return Err(Failure::Usage(
            "--encrypt needs --passphrase-file or --passphrase-env".to_owned(),
        ));
    }
    let files = pgtls_core::StoreFiles::in_dir(&a.dir);
    check_new(&[&files.key, &files.index, &files.cert], false)?;
    let key = generate_key(&a.key)?;
    let ca = match &a.parent {
        None => pgtls_core::Ca::create_root(&params, key)?,
        Some(parent) => {
            let parent = StoreArgs {
                dir: parent.clone(),
                ca_passphrase_file: a.parent_passphrase_file.clone(),
                ca_passphrase_env: None,
            }
            .open()?;
            // An intermediate must not outlive its parent: the default validity ends with
            // the parent (said on stderr); an explicit --days that outlives it is bad usage.
            let parent_end = parent.ca().certificate().not_after();
            if params.validity.not_after > parent_end {
                match a.days {
                    None => {
                        params.validity.not_after = parent_end;
                        eprintln!(
                            "pgtls: warning: the intermediate ends with its parent CA at {}",
                            fmt_time(parent_end)
                        );
                    }
                    Some(d) => {
                        return Err(Failure::Usage(format!(
                            "--days {d}: the intermediate would end at {}, after its parent CA \
                             ({}); use --days {} or less, or renew the parent",
                            fmt_time(params.validity.not_after),
                            fmt_time(parent_end),
                            (parent_end - now).whole_days()
                        )));
                    }
                }
            }
            // Record the intermediate in the parent's index like any issued certificate.
            let cert = parent.issue(&params, &key.public_key(), now)?;
            let mut chain = vec![parent.ca().certificate().clone()];
            chain.extend(parent.ca().chain().iter().cloned());
            pgtls_core::Ca::from_parts(cert, key, chain, "new intermediate CA")?
        }
    };
    let pass = if a.key.encrypt { a.pass.get()? } else { None };
    let store =
        DirStore::create_with_iterations(&a.dir, ca, pass.as_deref(), a.key.kdf_iterations)?;
    let c = store.ca().certificate();
    let human = format!(
        "created CA store {}\n  subject   {}\n  serial    {}\n  not after {}\n  key       {}\n",
        a.dir.display(),
        c.subject(),
        c.serial_hex(),
        fmt_time(c.not_after()),
        store.files().key.display()
    );
    let mut v = cert_json(c);
    v["dir"] = json!(a.dir.display().to_string());
    print(a.json, &v, &human);
    Ok(())
}

fn ca_import(a: &CaImportArgs) -> Result<(), Failure> {
    let cert = pgtls_core::Certificate::from_pem_or_der(&read_file(&a.cert)?, &label(&a.cert))?;
    let pass = a.pass.get()?;
    let key = KeyPair::from_pem_or_der(&read_file(&a.key)?, pass.as_deref(), &label(&a.key))?;
    if !key.matches(cert.public_key()) {
        return Err(Error::KeyMismatch {
            key: label(&a.key),
            certificate: label(&a.cert),
        }
        .into());
    }
    let chain = match &a.chain {
        Some(f) => pgtls_core::Certificate::chain_from_pem_or_der(&read_file(f)?, &label(f))?,
        None => Vec::new(),
    };
    let ca = pgtls_core::Ca::from_parts(cert, key, chain, &label(&a.cert))?;
    let store = DirStore::create(&a.dir, ca, pass.as_deref())?;
    let c = store.ca().certificate();
    let mut v = cert_json(c);
    v["dir"] = json!(a.dir.display().to_string());
    print(
        a.json,
        &v,
        &format!("imported CA {} into {}\n", c.subject(), a.dir.display()),
    );
    Ok(())
}

fn ca_check(a: &CaCheckArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let files = pgtls_core::StoreFiles::in_dir(&a.dir);
    let (repaired, cnf_rewritten, tightened) = if a.repair {
        (
            DirStore::index_unindexed(&files)?,
            DirStore::rewrite_openssl_cnf(&files)?,
            DirStore::tighten_permissions(&files)?,
        )
    } else {
        (Vec::new(), false, Vec::new())
    };
    let report = DirStore::check(&files, now)?;
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let (kind, path, serial) = match p {
                StoreProblem::Unindexed { path, serial } => ("unindexed", path, Some(serial)),
                StoreProblem::Missing { serial, path } => ("missing", path, Some(serial)),
                StoreProblem::BadCertificate { path, .. } => ("bad_certificate", path, None),
                StoreProblem::Unfinished { path } => ("unfinished", path, None),
                StoreProblem::Permissions { path, .. } => ("permissions", path, None),
                StoreProblem::Crl { path, .. } => ("crl", path, None),
                StoreProblem::OpensslCnf { path, .. } => ("openssl_cnf", path, None),
                _ => ("other", &files.dir, None),
            };
            json!({
                "kind": kind,
                "path": path.display().to_string(),
                "serial": serial.map(SerialNumber::to_hex),
                "message": p.to_string(),
            })
        })
        .collect();
    let v = json!({
        "dir": a.dir.display().to_string(),
        "indexed": report.indexed,
        "revoked": report.revoked,
        "certificates": report.certificates,
        "crl_number": report.crl_number.as_ref().map(SerialNumber::to_hex),
        "repaired": repaired.iter().map(|e| e.serial.to_hex()).collect::<Vec<_>>(),
        "openssl_cnf_rewritten": cnf_rewritten,
        "permissions_fixed": tightened.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "problems": problems,
    });
    let mut human = String::new();
    if cnf_rewritten {
        human.push_str(&format!(
            "rewrote {} for this directory\n",
            files.openssl_cnf.display()
        ));
    }
    for p in &tightened {
        human.push_str(&format!("closed {} to group and others\n", p.display()));
    }
    for e in &repaired {
        human.push_str(&format!(
            "indexed {} ({}) as valid\n",
            e.serial.to_hex(),
            e.subject.to_openssl_oneline()
        ));
    }
    human.push_str(&format!(
        "{}: {} certificates indexed ({} revoked), {} in newcerts/, CRL number {}\n",
        a.dir.display(),
        report.indexed,
        report.revoked,
        report.certificates,
        report
            .crl_number
            .as_ref()
            .map_or_else(|| "none".to_owned(), SerialNumber::to_hex)
    ));
    for p in &report.problems {
        human.push_str(&format!("problem: {p}\n"));
    }
    print(a.json, &v, &human);
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Other(format!(
            "{} problem(s) in the store {}",
            report.problems.len(),
            a.dir.display()
        )))
    }
}

fn key(a: &KeyArgs) -> Result<(), Failure> {
    check_new(&[&a.out], a.force)?;
    let k = generate_key(&a.key)?;
    write_key(&a.out, &k, &a.key, &a.pass, a.force)?;
    let mut v = serde_json::to_value(pgtls_core::report::KeyReport::private(&k, a.key.encrypt))
        .unwrap_or(Value::Null);
    v["file"] = json!(label(&a.out));
    print(
        a.json,
        &v,
        &format!("wrote {} key {}\n", k.key_type(), a.out.display()),
    );
    Ok(())
}

fn csr(a: &CsrArgs) -> Result<(), Failure> {
    let subject = DistinguishedName::parse_openssl(&a.subject).map_err(Error::from)?;
    let names = sans(&a.san)?;
    let key = match (&a.key, &a.new_key) {
        (Some(k), None) => {
            KeyPair::from_pem_or_der(&read_file(k)?, a.pass.get()?.as_deref(), &label(k))?
        }
        (None, Some(nk)) => {
            check_new(&[nk, &a.out], a.force)?;
            let k = generate_key(&a.key_options)?;
            write_key(nk, &k, &a.key_options, &a.pass, a.force)?;
            k
        }
        _ => {
            return Err(Failure::Usage(
                "give exactly one of --key FILE or --new-key FILE".to_owned(),
            ));
        }
    };
    check_new(&[&a.out], a.force)?;
    let csr = Csr::create(&subject, &names, &key)?;
    write_public_file(&a.out, csr.to_pem().as_bytes(), a.force)?;
    let mut v =
        serde_json::to_value(pgtls_core::report::CsrReport::from(&csr)).unwrap_or(Value::Null);
    v["file"] = json!(label(&a.out));
    print(a.json, &v, &format!("wrote CSR {}\n", a.out.display()));
    Ok(())
}

fn write_cert_chain(
    path: &Path,
    cert: &pgtls_core::Certificate,
    store: &DirStore,
    full_chain: bool,
    force: bool,
) -> Result<(), Failure> {
    let pem = cert_chain_pem(cert, store, full_chain);
    write_public_file(path, pem.as_bytes(), force)?;
    Ok(())
}

/// The certificate, followed by the intermediate CAs when `full_chain`.
fn cert_chain_pem(cert: &pgtls_core::Certificate, store: &DirStore, full_chain: bool) -> String {
    if full_chain {
        store.ca().full_chain_pem(cert)
    } else {
        cert.to_pem()
    }
}

fn sign(a: &SignArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let store = a.store.open()?;
    let csr = Csr::from_pem_or_der(&read_file(&a.csr)?, &label(&a.csr))?;
    check_new(&[&a.out], a.force)?;
    let usage = match a.profile {
        ProfileArg::Server => CsrUsage::Server,
        ProfileArg::Client => CsrUsage::Client,
    };
    let mut policy = CsrPolicy::new(usage, Validity::days_from(now, a.days));
    policy.names = sans(&a.host)?;
    policy.copy_requested_names = a.copy_sans;
    if let Some(s) = &a.subject {
        policy.subject = Some(DistinguishedName::parse_openssl(s).map_err(Error::from)?);
    }
    if usage == CsrUsage::Server && policy.names.is_empty() && !a.copy_sans {
        return Err(Failure::Usage(
            "the server profile needs --host NAME or --copy-sans".to_owned(),
        ));
    }
    let cert = store.sign_csr(&csr, &policy, now)?;
    write_cert_chain(&a.out, &cert, &store, a.full_chain, a.force)?;
    let mut v = cert_json(&cert);
    v["file"] = json!(label(&a.out));
    print(
        a.json,
        &v,
        &format!(
            "signed {} serial {} -> {}\n",
            cert.subject(),
            cert.serial_hex(),
            a.out.display()
        ),
    );
    Ok(())
}

fn issue(cmd: &IssueCommand, now: OffsetDateTime) -> Result<(), Failure> {
    let (store_args, out, files, params) = match cmd {
        IssueCommand::Server(a) => {
            let names = sans(&a.host)?;
            let p = CertificateParams::server(
                &names,
                a.cn.as_deref(),
                Validity::days_from(now, a.out.days),
            )?;
            (&a.store, &a.out, (&a.files.out_cert, &a.files.out_key), p)
        }
        IssueCommand::Client(a) => {
            let (Some(out_cert), Some(out_key), None, [role], None) = (
                &a.out_cert,
                &a.out_key,
                &a.out_dir,
                a.role.as_slice(),
                &a.roles_file,
            ) else {
                return issue_clients(a, now);
            };
            let mut p = CertificateParams::client(role, Validity::days_from(now, a.out.days))?;
            p.subject_alt_names = sans(&a.san)?;
            (&a.store, &a.out, (out_cert, out_key), p)
        }
    };
    let (out_cert, out_key) = files;
    let store = store_args.open()?;
    check_new(&[out_cert, out_key], out.force)?;
    check_encrypt(out)?;
    let key = generate_key(&out.key)?;
    let cert = store.issue(&params, &key.public_key(), now)?;
    write_key(out_key, &key, &out.key, &out.pass, out.force)?;
    write_cert_chain(out_cert, &cert, &store, true, out.force)?;
    let mut v = cert_json(&cert);
    v["cert_file"] = json!(label(out_cert));
    v["key_file"] = json!(label(out_key));
    print(
        out.json,
        &v,
        &format!(
            "issued {} serial {}\n  certificate {}\n  key         {}\n",
            cert.subject(),
            cert.serial_hex(),
            out_cert.display(),
            out_key.display()
        ),
    );
    Ok(())
}

fn check_encrypt(out: &IssueOut) -> Result<(), Failure> {
    if out.key.encrypt && out.pass.get()?.is_none() {
        return Err(Failure::Usage(
            "--encrypt needs --passphrase-file or --passphrase-env".to_owned(),
        ));
    }
    Ok(())
}

/// One role of a batch and where it came from (for error messages).
struct BatchRole {
    role: String,
    origin: String,
}

/// The roles of `--role` and `--roles-file`, checked: usable as file names, no repeats.
fn batch_roles(a: &IssueClientArgs) -> Result<Vec<BatchRole>, Failure> {
    let mut roles: Vec<BatchRole> = a
        .role
        .iter()
        .map(|r| BatchRole {
            role: r.clone(),
            origin: format!("--role {r:?}"),
        })
        .collect();
    if let Some(f) = &a.roles_file {
        let bytes = read_file(f)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::Usage(format!("{}: not UTF-8 text", f.display())))?;
        for (i, line) in text.lines().enumerate() {
            let role = line.trim();
            if role.is_empty() || role.starts_with('#') {
                continue;
            }
            roles.push(BatchRole {
                role: role.to_owned(),
                origin: format!("{}:{}", f.display(), i + 1),
            });
        }
        if roles.is_empty() {
            return Err(Failure::Usage(format!(
                "{}: no roles in the file",
                f.display()
            )));
        }
    }
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for r in &roles {
        if r.role == "." || r.role == ".." || r.role.contains(['/', '\0']) {
            return Err(Failure::Usage(format!(
                "{}: role {:?} cannot be used as a file name in --out-dir",
                r.origin, r.role
            )));
        }
        if let Some(first) = seen.insert(&r.role, &r.origin) {
            return Err(Failure::Usage(format!(
                "{}: role {:?} is already in the batch ({first})",
                r.origin, r.role
            )));
        }
    }
    Ok(roles)
}

/// `pgtls issue client` with several roles (or --out-dir): one batch, one commit.
fn issue_clients(a: &IssueClientArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let Some(dir) = &a.out_dir else {
        return Err(Failure::Usage(
            "several roles need --out-dir DIR (--out-cert and --out-key take one role)".to_owned(),
        ));
    };
    let roles = batch_roles(a)?;
    if roles.len() > 1 && !a.san.is_empty() {
        return Err(Failure::Usage(
            "--san applies to one role only, not to a batch".to_owned(),
        ));
    }
    let names = sans(&a.san)?;
    let validity = Validity::days_from(now, a.out.days);
    let mut params = Vec::with_capacity(roles.len());
    for r in &roles {
        let mut p = CertificateParams::client(&r.role, validity).map_err(|e| {
            Failure::Usage(format!("{}: role {:?}: {}", r.origin, r.role, chain(&e)))
        })?;
        p.subject_alt_names.clone_from(&names);
        params.push(p);
    }
    let paths: Vec<(PathBuf, PathBuf)> = roles
        .iter()
        .map(|r| {
            (
                dir.join(format!("{}.crt", r.role)),
                dir.join(format!("{}.key", r.role)),
            )
        })
        .collect();
    let store = a.store.open()?;
    // Everything that can be refused is refused before the batch is issued.
    let all: Vec<&Path> = paths
        .iter()
        .flat_map(|(c, k)| [c.as_path(), k.as_path()])
        .collect();
    check_new(&all, a.out.force)?;
    check_encrypt(&a.out)?;
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::io("cannot create", dir, e))?;
    }
    let mut keys = Vec::with_capacity(roles.len());
    let mut requests = Vec::with_capacity(roles.len());
    for p in params {
        let k = generate_key(&a.out.key)?;
        requests.push((p, k.public_key()));
        keys.push(k);
    }
    let certs = store.issue_batch(&requests, now)?;
    // All the keys and certificates are written together: temporaries, one flush, renames.
    let mut pems = Vec::with_capacity(certs.len());
    for (cert, key) in certs.iter().zip(&keys) {
        let k = key_pem(key, &a.out.key, &a.out.pass)
            .map_err(|e| after_commit(e, &roles, &certs, &paths, &[], &a.store.dir))?;
        pems.push((k, cert_chain_pem(cert, &store, true)));
    }
    let files: Vec<NewFile<'_>> = pems
        .iter()
        .zip(&paths)
        .flat_map(|((k, c), (cert_file, key_file))| {
            [
                NewFile {
                    path: key_file,
                    bytes: k.as_bytes(),
                    secret: true,
                },
                NewFile {
                    path: cert_file,
                    bytes: c.as_bytes(),
                    secret: false,
                },
            ]
        })
        .collect();
    if let Err(e) = write_files(&files, a.out.force) {
        return Err(after_commit(
            e.into(),
            &roles,
            &certs,
            &paths,
            &pems,
            &a.store.dir,
        ));
    }
    let mut written = Vec::with_capacity(certs.len());
    for ((r, cert), (cert_file, key_file)) in roles.iter().zip(&certs).zip(&paths) {
        let mut v = cert_json(cert);
        v["role"] = json!(r.role);
        v["cert_file"] = json!(label(cert_file));
        v["key_file"] = json!(label(key_file));
        written.push(v);
    }
    let mut human = format!(
        "issued {} client certificate(s) in one batch into {}\n",
        certs.len(),
        dir.display()
    );
    for (r, c) in roles.iter().zip(&certs) {
        human.push_str(&format!("  {}  serial {}\n", r.role, c.serial_hex()));
    }
    let v = json!({
        "dir": label(dir),
        "count": written.len(),
        "issued": written,
    });
    print(a.out.json, &v, &human);
    Ok(())
}

/// The error of a batch whose output failed after the store recorded it: which
/// certificates were issued (to revoke them if their keys are lost) and, read back from
/// the files, which were written (`pems`: key and certificate PEM per role, if made).
fn after_commit(
    e: Failure,
    roles: &[BatchRole],
    certs: &[pgtls_core::Certificate],
    paths: &[(PathBuf, PathBuf)],
    pems: &[(String, String)],
    store_dir: &Path,
) -> Failure {
    let cause = match e {
        Failure::Core(e) => core_message(&e),
        Failure::Usage(m) | Failure::Other(m) => m,
    };
    let mut msg = format!(
        "{cause}\nThe store {} has issued all {} certificates of this batch. Revoke the \
         ones whose files were not written (`pgtls revoke --dir {} --serial SERIAL`):",
        store_dir.display(),
        certs.len(),
        store_dir.display(),
    );
    for (i, (r, c)) in roles.iter().zip(certs).enumerate() {
        let written = match (paths.get(i), pems.get(i)) {
            (Some((cert_file, key_file)), Some((k, cpem))) => {
                std::fs::read(key_file).is_ok_and(|b| b == k.as_bytes())
                    && std::fs::read(cert_file).is_ok_and(|b| b == cpem.as_bytes())
            }
            _ => false,
        };
        let state = if written { "written" } else { "NOT written" };
        msg.push_str(&format!(
            "\n  {} serial {} ({state})",
            r.role,
            c.serial_hex()
        ));
    }
    Failure::Other(msg)
}

fn revoke(a: &RevokeArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let store = a.store.open()?;
    let reason = a
        .reason
        .as_deref()
        .map(str::parse::<RevocationReason>)
        .transpose()?;
    let entry = match (&a.serial, &a.cert) {
        (Some(s), _) => store.revoke(&SerialNumber::from_hex(s)?, reason, now)?,
        (None, Some(f)) => {
            let c = pgtls_core::Certificate::from_pem_or_der(&read_file(f)?, &label(f))?;
            match store.revoke_certificate(&c, reason, now) {
                Ok(entry) => entry,
                // The certificate file is the input: name it.
                Err(e @ (Error::NotIssuedByCa { .. } | Error::InvalidParameter { .. })) => {
                    return Err(Failure::Other(format!("{}: {}", f.display(), chain(&e))));
                }
                Err(e) => return Err(e.into()),
            }
        }
        (None, None) => return Err(Failure::Usage("give --serial or --cert".to_owned())),
    };
    let v = json!({
        "serial": entry.serial.to_hex(),
        "subject": entry.subject.to_openssl_oneline(),
        "reason": reason.map(|r| r.openssl_name()),
    });
    print(
        a.json,
        &v,
        &format!(
            "revoked {} ({}); run `pgtls crl --dir {}` to publish it\n",
            entry.serial,
            entry.subject.to_openssl_oneline(),
            a.store.dir.display()
        ),
    );
    Ok(())
}

fn crl(a: &CrlArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let store = a.store.open()?;
    let next = now + time::Duration::days(i64::from(a.days));
    let crl = store.generate_crl(next, now)?;
    if let Some(out) = &a.out {
        write_public_file(out, crl.to_pem().as_bytes(), true)?;
    }
    let v = json!({
        "file": label(&store.files().crl),
        "crl_number": crl.crl_number().map(|n| n.to_hex()),
        "this_update": fmt_time(crl.this_update()),
        "next_update": crl.next_update().map(fmt_time),
        "revoked": crl.entries().len(),
    });
    print(
        a.json,
        &v,
        &format!(
            "wrote CRL number {} with {} revoked certificate(s) to {}; next update {}\n\
             (install it as ssl_crl_file and reload PostgreSQL before then)\n",
            crl.crl_number().map(|n| n.to_hex()).unwrap_or_default(),
            crl.entries().len(),
            store.files().crl.display(),
            fmt_time(next)
        ),
    );
    Ok(())
}
