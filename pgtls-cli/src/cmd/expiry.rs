//! `pgtls expiry`.

use crate::args::Json;
use crate::args::StoreDir;
use std::fmt::Write as _;

use pgtls_core::report::{ExpiryReport, ExpiryState};
use pgtls_core::{Certificate, Crl, DirStore};
use serde_json::Value;
use time::OffsetDateTime;

use clap::Args;

use crate::error::CliError;
use crate::output::{fmt_time, label, print, read_file};

/// `pgtls expiry`
#[derive(Args)]
pub(crate) struct ExpiryArgs {
    #[command(flatten)]
    pub(crate) dir: StoreDir,
    /// Warn about the CA and the certificates that expire within this many days.
    #[arg(long, default_value_t = 30)]
    pub(crate) warn_days: u32,
    /// Warn about the CRL when fewer than this many days are left before its nextUpdate.
    /// Default: a third of the CRL's own period (nextUpdate - thisUpdate), at least one day,
    /// so a CRL republished on schedule is never flagged (a fresh 30-day CRL warns at 10 days).
    #[arg(long, value_name = "DAYS")]
    pub(crate) crl_warn_days: Option<u32>,
    /// Exit 1 when anything needs action (the CA certificate or a certificate that is neither
    /// revoked nor expired within --warn-days, the CRL within --crl-warn-days, an expired
    /// CRL): for cron and monitoring.
    #[arg(long)]
    pub(crate) check: bool,
    #[command(flatten)]
    pub(crate) json: Json,
}

pub(crate) fn run(a: &ExpiryArgs, now: OffsetDateTime) -> Result<(), CliError> {
    // The report needs no CA key: read the index and the public files only.
    let files = pgtls_core::StoreFiles::in_dir(&a.dir.path);
    let store_ro = StoreView::open(&files)?;
    let warn = i64::from(a.warn_days);
    let mut report = ExpiryReport::new(
        &store_ro.ca,
        &store_ro.entries,
        store_ro.crl.as_ref().map(|c| (c, a.crl_warn_days)),
        now,
        warn,
    );
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<8} {:<10} {:>6}  {:<42} subject",
        "status", "expires", "days", "serial"
    );
    let ca_days = report.ca.days_left;
    for (e, r) in store_ro.entries.iter().zip(&report.certificates) {
        let _ = writeln!(
            text,
            "{:<8} {:<10} {:>6}  {:<42} {}",
            r.expiry.as_str(),
            e.expires.date(),
            r.days_left,
            r.entry.serial,
            r.entry.subject
        );
    }
    let _ = writeln!(
        text,
        "CA certificate expires {} ({ca_days} days)",
        store_ro.ca.not_after().date()
    );
    let mut warnings = Vec::new();
    if ca_days <= warn {
        warnings.push(format!("the CA certificate expires in {ca_days} days"));
    }
    if let (Some(c), Some(r)) = (&store_ro.crl, &report.crl) {
        let next = c.next_update();
        match (next, r.days_left) {
            (Some(t), _) if r.expired => warnings.push(format!(
                "the CRL {} expired at {}: PostgreSQL now rejects every client certificate; run `pgtls crl --dir {}`",
                files.crl.display(),
                fmt_time(t),
                a.dir.path.display()
            )),
            (Some(t), Some(d)) if r.due => warnings.push(format!(
                "the CRL {} expires at {} ({d} days): publish a new one with `pgtls crl --dir {}`",
                files.crl.display(),
                fmt_time(t),
                a.dir.path.display()
            )),
            _ => {}
        }
        let state = match (next, r.days_left) {
            (Some(_), _) if r.expired => "EXPIRED".to_owned(),
            (Some(_), Some(d)) => format!("{d} days left"),
            _ => "never expires".to_owned(),
        };
        let _ = writeln!(
            text,
            "CRL number {} next update {} ({state})",
            c.crl_number().map(|n| n.to_hex()).unwrap_or_default(),
            next.map(fmt_time).unwrap_or_else(|| "none".into())
        );
    }
    for w in &warnings {
        eprintln!("pgtls: warning: {w}");
    }
    report.warnings.clone_from(&warnings);
    let v = serde_json::to_value(&report).unwrap_or(Value::Null);
    print(a.json.on, &v, &text)?;
    let expiring = report
        .certificates
        .iter()
        .filter(|r| r.expiry == ExpiryState::Expiring)
        .count();
    if a.check && (expiring > 0 || !warnings.is_empty()) {
        return Err(CliError::Other(format!(
            "{} need action within {warn} days: {expiring} certificate(s) expiring{}",
            a.dir.path.display(),
            if warnings.is_empty() {
                String::new()
            } else {
                format!("; {}", warnings.join("; "))
            }
        )));
    }
    Ok(())
}

/// The public half of a store, for reports that need no key.
struct StoreView {
    ca: Certificate,
    entries: Vec<pgtls_core::IndexEntry>,
    crl: Option<Crl>,
}

impl StoreView {
    fn open(files: &pgtls_core::StoreFiles) -> Result<Self, CliError> {
        let ca = Certificate::from_pem_or_der(&read_file(&files.cert)?, &label(&files.cert))?;
        let entries = DirStore::read_entries(files)?;
        let crl = if files.crl.is_file() {
            Some(Crl::from_pem_or_der(
                &read_file(&files.crl)?,
                &label(&files.crl),
            )?)
        } else {
            None
        };
        Ok(Self { ca, entries, crl })
    }
}
