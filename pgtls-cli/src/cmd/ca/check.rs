//! `pgtls ca check`.

use crate::args::Json;
use crate::args::StoreDir;

use clap::Args;
use pgtls_core::{DirStore, SerialNumber, StoreProblem};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::CliError;
use crate::output::print;
/// `pgtls ca check`
#[derive(Args)]
pub(crate) struct CaCheckArgs {
    #[command(flatten)]
    pub(crate) dir: StoreDir,
    /// Index the certificates of this CA found in newcerts/ but missing from index.txt
    /// (as valid, so that they can be revoked), finish or roll back what a killed
    /// writer left, rewrite the openssl.cnf pgtls wrote if it names another
    /// directory (a moved store), and close the CA key to group and others (and
    /// private/ and the store to their writes); then check.
    #[arg(long)]
    pub(crate) repair: bool,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &CaCheckArgs, now: OffsetDateTime) -> Result<(), CliError> {
    let files = pgtls_core::StoreFiles::in_dir(&a.dir.path);
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
        "dir": a.dir.path.display().to_string(),
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
        a.dir.path.display(),
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
    print(a.json.on, &v, &human)?;
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Other(format!(
            "{} problem(s) in the store {}",
            report.problems.len(),
            a.dir.path.display()
        )))
    }
}
