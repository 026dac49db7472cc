//! `pgtls ca create`.

use crate::args::Json;
use crate::args::StoreDir;
use std::path::PathBuf;

use clap::Args;
use pgtls_core::{
    CertificateParams, DirStore, DistinguishedName, Error, NameConstraint, NameConstraints, Store,
    Validity,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::{KeyOptions, Passphrase, StoreArgs};
use crate::error::CliError;
use crate::output::{cert_json, fmt_time, print};
use crate::pki::{check_new, encryption_passphrase, generate_key};
/// `pgtls ca create`
#[derive(Args)]
pub(crate) struct CaCreateArgs {
    /// The store directory to create.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// Subject in openssl -subj form, e.g. "/O=Example/CN=Example CA".
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Common name (when --subject is not given).
    #[arg(long, default_value = "pgtls CA")]
    pub(crate) cn: String,
    /// Validity in days [default: 3650; with --parent, until the parent CA ends if sooner].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) days: Option<u32>,
    /// Maximum number of intermediate CAs below this one.
    #[arg(long)]
    pub(crate) path_len: Option<u8>,
    /// Permitted DNS subtree (name constraint); repeatable.
    #[arg(long)]
    pub(crate) permit_dns: Vec<String>,
    /// Excluded DNS subtree (name constraint); repeatable.
    #[arg(long)]
    pub(crate) exclude_dns: Vec<String>,
    /// Permitted IP network (CIDR) (name constraint); repeatable.
    #[arg(long)]
    pub(crate) permit_ip: Vec<String>,
    /// Create an intermediate CA issued by the CA store in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) parent: Option<PathBuf>,
    /// Passphrase of the parent store's CA key.
    #[arg(long, value_name = "FILE")]
    pub(crate) parent_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) key: KeyOptions,
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

fn parse_constraints(a: &CaCreateArgs) -> Result<Option<NameConstraints>, CliError> {
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
                CliError::Usage(format!("--permit-ip {cidr}: expected ADDRESS/PREFIX"))
            })?;
        nc.permitted.push(NameConstraint::Ip {
            network: addr,
            prefix,
        });
    }
    Ok(Some(nc))
}

pub(crate) fn run(a: &CaCreateArgs, now: OffsetDateTime) -> Result<(), CliError> {
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
    let pass = encryption_passphrase(&a.key, &a.pass)?;
    let files = pgtls_core::StoreFiles::in_dir(&a.dir);
    check_new(&[&files.key, &files.index, &files.cert], false)?;
    let key = generate_key(&a.key, a.json.on)?;
    let ca = match &a.parent {
        None => pgtls_core::Ca::create_root(&params, key)?,
        Some(parent) => {
            let parent = StoreArgs {
                dir: StoreDir {
                    path: parent.clone(),
                },
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
                        return Err(CliError::Usage(format!(
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
    print(a.json.on, &v, &human)?;
    Ok(())
}
