//! `pgtls issue server` and `pgtls issue client`.

use crate::args::Json;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use pgtls_core::{CertificateParams, Store, Validity};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::{KeyOptions, Passphrase, StoreArgs};
use crate::error::CliError;
use crate::output::{cert_json, label, print};
use crate::pki::{
    check_new, encryption_passphrase, generate_key, sans, write_cert_chain, write_key,
};

mod batch;

use batch::issue_clients;

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
    pub(crate) out_cert: PathBuf,
    /// Where to write the new private key (0600).
    #[arg(long)]
    pub(crate) out_key: PathBuf,
}

/// Output options of `pgtls issue`.
#[derive(Args)]
pub(crate) struct IssueOut {
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) days: u32,
    /// Replace existing files.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) key: KeyOptions,
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

/// `pgtls issue server`
#[derive(Args)]
pub(crate) struct IssueServerArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// DNS name or IP address; repeatable; the first is the CN unless --cn is given.
    #[arg(long, required = true)]
    pub(crate) host: Vec<String>,
    /// Common name.
    #[arg(long)]
    pub(crate) cn: Option<String>,
    #[command(flatten)]
    pub(crate) files: IssueFiles,
    #[command(flatten)]
    pub(crate) out: IssueOut,
}

/// `pgtls issue client`
#[derive(Args)]
pub(crate) struct IssueClientArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The database role (becomes the CN); repeatable with --out-dir: all of them are
    /// issued as one batch (one commit to the store, all or nothing).
    #[arg(long, required_unless_present = "roles_file")]
    pub(crate) role: Vec<String>,
    /// A file of roles, one per line (blank lines and lines starting with `#` are
    /// skipped), issued as one batch into --out-dir; adds to --role.
    #[arg(long, value_name = "FILE", requires = "out_dir")]
    pub(crate) roles_file: Option<PathBuf>,
    /// Extra subject alternative names; repeatable (one role only).
    #[arg(long)]
    pub(crate) san: Vec<String>,
    /// Where to write the certificate (PEM; leaf then intermediates); one role only.
    #[arg(long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
    pub(crate) out_cert: Option<PathBuf>,
    /// Where to write the new private key (0600); one role only.
    #[arg(long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
    pub(crate) out_key: Option<PathBuf>,
    /// Write DIR/ROLE.crt and DIR/ROLE.key for every role (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out: IssueOut,
}

pub(crate) fn run(cmd: &IssueCommand, now: OffsetDateTime) -> Result<(), CliError> {
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
    let key = generate_key(&out.key, out.json.on)?;
    let cert = store.issue(&params, &key.public_key(), now)?;
    write_key(out_key, &key, &out.key, &out.pass, out.force)?;
    write_cert_chain(out_cert, &cert, &store, true, out.force)?;
    let mut v = cert_json(&cert);
    v["cert_file"] = json!(label(out_cert));
    v["key_file"] = json!(label(out_key));
    print(
        out.json.on,
        &v,
        &format!(
            "issued {} serial {}\n  certificate {}\n  key         {}\n",
            cert.subject(),
            cert.serial_hex(),
            out_cert.display(),
            out_key.display()
        ),
    )?;
    Ok(())
}

pub(crate) fn check_encrypt(out: &IssueOut) -> Result<(), CliError> {
    encryption_passphrase(&out.key, &out.pass).map(|_| ())
}
