//! `pgtls bundle merge|diff|inspect`: reads the files, calls
//! [`pgtls_core::bundle`] and prints its reports.
//!
//! Exit statuses: 0 success (`diff`: the bundles hold the same certificates and CRLs);
//! 1 `diff`: they differ, `merge`: a refusal (a certificate that is not a CA, CRLs of
//! one issuer that conflict) or the write failed; 2 bad usage or an input that cannot
//! be read as a bundle (so that `diff`'s 1 always means "different").

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pgtls_core::bundle::{
    self, Bundle, BundleError, CertificateEntry, CrlEntry, DirectoryReport, MergeOptions,
    SkippedFile, Validity,
};
use time::OffsetDateTime;

use crate::Decided;
use crate::args::{At, Json};
use crate::error::CliError;
use crate::output::label;

/// `pgtls bundle ...`
#[derive(Subcommand)]
pub(crate) enum BundleCommand {
    /// Merge PEM trust bundles and CRL bundles (old CA + new CA) into one file.
    ///
    /// Written atomically (a temporary file renamed into place): certificates
    /// de-duplicated by DER in the order they first appear (each duplicate reported),
    /// non-CA certificates refused unless --allow-leaf, expired ones kept with a
    /// warning; the newest CRL of each issuer kept (by cRLNumber, then thisUpdate), two
    /// CRLs of one issuer that cannot be ordered refused. Exit 0 when written, 1 when
    /// refused, 2 when an input is not a bundle (garbage, a private key, ...).
    Merge(MergeArgs),
    /// Compare two bundles: the certificates and CRLs added, removed and kept.
    ///
    /// Entries are compared by DER. Exit 0 when both hold the same ones (order and
    /// repeats aside), 1 when they differ, 2 when an input is not a bundle.
    Diff(DiffArgs),
    /// List a bundle's certificates and CRLs, and with --dir what chains to them.
    ///
    /// Per certificate: subject, issuer, serial, validity, subject and authority key
    /// identifiers, SHA-256, whether it is a CA and self-signed; per CRL: issuer,
    /// cRLNumber, updates, revoked count. With --dir, which certificates and CRLs of
    /// the files there chain to each bundle certificate, by verified signatures (names
    /// only select the candidates), and which chain to none.
    Inspect(InspectArgs),
}

/// `pgtls bundle merge`
#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The bundles, in order (PEM with CERTIFICATE and X509 CRL blocks, or one DER
    /// certificate or CRL each).
    #[arg(required = true, value_name = "BUNDLE")]
    inputs: Vec<PathBuf>,
    /// Where to write the merged bundle (a temporary file renamed into place).
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    out: PathBuf,
    /// Keep certificates that are not CA certificates (say, a pinned self-signed
    /// server certificate) instead of refusing them.
    #[arg(long)]
    allow_leaf: bool,
    /// Replace OUT when it exists (it may be one of the inputs).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    at: At,
    #[command(flatten)]
    json: Json,
}

/// `pgtls bundle diff`
#[derive(Args)]
pub(crate) struct DiffArgs {
    /// The old bundle.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new bundle.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    #[command(flatten)]
    json: Json,
}

/// `pgtls bundle inspect`
#[derive(Args)]
pub(crate) struct InspectArgs {
    /// The bundle.
    #[arg(value_name = "BUNDLE")]
    file: PathBuf,
    /// Also list which certificates and CRLs of the files in DIR (not recursive;
    /// symbolic links followed) chain to the bundle's certificates.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    at: At,
    #[command(flatten)]
    json: Json,
}

/// Runs `pgtls bundle ...`.
pub(crate) fn run(cmd: &BundleCommand) -> Result<Decided, CliError> {
    match cmd {
        BundleCommand::Merge(a) => merge(a),
        BundleCommand::Diff(a) => diff(a),
        BundleCommand::Inspect(a) => inspect(a),
    }
}

fn now(at: &At) -> Result<OffsetDateTime, CliError> {
    let secs = at.seconds().map_err(CliError::BadInput)?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| CliError::BadInput(format!("--at: {e}")))
}

/// Reads and parses one bundle; any failure is an input that cannot be evaluated.
fn read_bundle(path: &Path) -> Result<Bundle, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::BadInput(format!("cannot read {}: {e}", path.display())))?;
    Bundle::parse(&bytes, &label(path)).map_err(CliError::bad_input)
}

fn json_line(report: &impl serde::Serialize) -> Result<(), CliError> {
    let s = serde_json::to_string(report).map_err(|e| CliError::Other(e.to_string()))?;
    outln!("{s}");
    Ok(())
}

fn merge(a: &MergeArgs) -> Result<Decided, CliError> {
    let now = now(&a.at)?;
    let inputs = a
        .inputs
        .iter()
        .map(|p| Ok((label(p), read_bundle(p)?)))
        .collect::<Result<Vec<_>, CliError>>()?;
    if !a.force && a.out.exists() {
        return Err(pgtls_core::Error::FileExists {
            path: a.out.clone(),
        }
        .into());
    }
    let merged = bundle::merge(&inputs, &MergeOptions::allow_leaf(a.allow_leaf), now).map_err(
        |e| match e {
            BundleError::NotCa { .. } => {
                CliError::Other(format!("{e} (--allow-leaf keeps such certificates)"))
            }
            e => CliError::Other(e.to_string()),
        },
    )?;
    merged.bundle.write(&a.out, a.force)?;
    let mut report = merged.report;
    report.output = Some(label(&a.out));
    if a.json.on {
        return json_line(&report).map(|()| Decided::Accept);
    }
    outln!(
        "wrote {}: {} certificate(s), {} CRL(s) from {} input(s)",
        a.out.display(),
        report.certificates.len(),
        report.crls.len(),
        report.inputs.len()
    );
    for c in &report.certificates {
        outln!("  certificate {}  ({})", c.subject, cert_summary(c));
    }
    for c in &report.crls {
        outln!("  CRL of {}  ({})", c.issuer, crl_summary(c));
    }
    for d in &report.duplicates {
        outln!(
            "  duplicate {} {}: {} repeats {} (dropped)",
            kind_word(d.kind),
            d.name,
            d.duplicate,
            d.first
        );
    }
    for s in &report.superseded_crls {
        outln!(
            "  superseded CRL of {}: {} (number {}, {}) by {} (number {}, {})",
            s.issuer,
            s.dropped,
            s.dropped_crl_number.as_deref().unwrap_or("none"),
            s.dropped_this_update,
            s.kept,
            s.kept_crl_number.as_deref().unwrap_or("none"),
            s.kept_this_update
        );
    }
    for w in &report.warnings {
        eprintln!("pgtls: warning: {}: {}", w.at, w.message);
    }
    Ok(Decided::Accept)
}

fn kind_word(k: bundle::EntryKind) -> &'static str {
    match k {
        bundle::EntryKind::Certificate => "certificate",
        _ => "CRL",
    }
}

fn validity_word(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::Expired => "EXPIRED",
        _ => "NOT YET VALID",
    }
}

fn cert_summary(c: &CertificateEntry) -> String {
    format!(
        "{}{}, until {} {}, SHA-256 {}",
        if c.ca { "CA" } else { "not a CA" },
        if c.self_signed { ", self-signed" } else { "" },
        c.not_after,
        validity_word(c.validity),
        c.sha256_fingerprint
    )
}

fn crl_summary(c: &CrlEntry) -> String {
    format!(
        "number {}, this update {}, next update {} {}, {} revoked",
        c.crl_number.as_deref().unwrap_or("none"),
        c.this_update,
        c.next_update.as_deref().unwrap_or("none"),
        validity_word(c.validity),
        c.revoked_count
    )
}

fn diff(a: &DiffArgs) -> Result<Decided, CliError> {
    let old = read_bundle(&a.old)?;
    let new = read_bundle(&a.new)?;
    let report = bundle::diff((&label(&a.old), &old), (&label(&a.new), &new));
    let decided = if report.same {
        Decided::Accept
    } else {
        Decided::Reject
    };
    if a.json.on {
        return json_line(&report).map(|()| decided);
    }
    for (sign, list) in [
        ("+", &report.added),
        ("-", &report.removed),
        ("=", &report.kept),
    ] {
        for e in list {
            outln!(
                "{sign} {} {}  SHA-256 {}  ({})",
                kind_word(e.kind),
                e.name,
                e.sha256_fingerprint,
                e.at
            );
        }
    }
    outln!(
        "{} added, {} removed, {} kept: {}",
        report.added.len(),
        report.removed.len(),
        report.kept.len(),
        if report.same { "same" } else { "different" }
    );
    Ok(decided)
}

/// A directory's files: name and contents.
type Files = Vec<(String, Vec<u8>)>;

/// The regular files of `dir` (symbolic links followed), by name, with their contents,
/// and the ones that could not be read, with why.
fn read_dir(dir: &Path) -> Result<(Files, Vec<SkippedFile>), CliError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::BadInput(format!("cannot read directory {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for p in names {
        // Only regular files: a FIFO or a device would block or never end.
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => match std::fs::read(&p) {
                Ok(b) => files.push((label(&p), b)),
                Err(e) => skipped.push(SkippedFile::new(&label(&p), &format!("cannot read: {e}"))),
            },
            Ok(m) if m.is_dir() => {}
            Ok(_) => skipped.push(SkippedFile::new(&label(&p), "not a regular file")),
            Err(e) => skipped.push(SkippedFile::new(&label(&p), &e.to_string())),
        }
    }
    Ok((files, skipped))
}

fn inspect(a: &InspectArgs) -> Result<Decided, CliError> {
    let now = now(&a.at)?;
    let b = read_bundle(&a.file)?;
    let mut report = bundle::inspect(&label(&a.file), &b, now);
    if let Some(dir) = &a.dir {
        let (files, unread) = read_dir(dir)?;
        let mut d = bundle::chains(&b, &label(dir), &files);
        d.skipped.extend(unread);
        report.directory = Some(d);
    }
    if a.json.on {
        return json_line(&report).map(|()| Decided::Accept);
    }
    outln!(
        "{}: {} certificate(s), {} CRL(s)",
        report.file,
        report.certificates.len(),
        report.crls.len()
    );
    for (i, c) in report.certificates.iter().enumerate() {
        outln!("certificate {}  {}", i + 1, c.origin);
        outln!("  subject      {}", c.subject);
        outln!("  issuer       {}", c.issuer);
        outln!("  serial       {}", c.serial);
        outln!(
            "  validity     {} to {} ({})",
            c.not_before,
            c.not_after,
            validity_word(c.validity)
        );
        outln!(
            "  SKI          {}",
            c.subject_key_identifier.as_deref().unwrap_or("none")
        );
        outln!(
            "  AKI          {}",
            c.authority_key_identifier.as_deref().unwrap_or("none")
        );
        outln!("  SHA-256      {}", c.sha256_fingerprint);
        outln!(
            "  CA           {}",
            match (c.ca, c.self_signed) {
                (true, true) => "yes, self-signed",
                (true, false) => "yes",
                (false, true) => "no, self-signed",
                (false, false) => "no",
            }
        );
    }
    for (i, c) in report.crls.iter().enumerate() {
        outln!("CRL {}  {}", i + 1, c.origin);
        outln!("  issuer       {}", c.issuer);
        outln!(
            "  AKI          {}",
            c.authority_key_identifier.as_deref().unwrap_or("none")
        );
        outln!(
            "  number       {}",
            c.crl_number.as_deref().unwrap_or("none")
        );
        outln!(
            "  updates      {} to {} ({})",
            c.this_update,
            c.next_update.as_deref().unwrap_or("none"),
            validity_word(c.validity)
        );
        outln!("  revoked      {}", c.revoked_count);
        outln!("  SHA-256      {}", c.sha256_fingerprint);
    }
    for d in &report.duplicates {
        outln!(
            "duplicate {} {}: {} repeats {}",
            kind_word(d.kind),
            d.name,
            d.duplicate,
            d.first
        );
    }
    if let Some(d) = &report.directory {
        print_directory(&report.certificates, d)?;
    }
    Ok(Decided::Accept)
}

fn print_directory(anchors: &[CertificateEntry], d: &DirectoryReport) -> Result<(), CliError> {
    outln!("directory {}:", d.dir);
    for a in anchors {
        outln!(
            "  chains to {} (SHA-256 {}):",
            a.subject,
            a.sha256_fingerprint
        );
        let mut any = false;
        for e in &d.entries {
            for l in e
                .chains_to
                .iter()
                .filter(|l| l.anchor_sha256 == a.sha256_fingerprint)
            {
                any = true;
                let through = if l.through.is_empty() {
                    String::new()
                } else {
                    format!(" through {}", l.through.join(" <- "))
                };
                let itself = if e.in_bundle {
                    " (the bundle's own)"
                } else {
                    ""
                };
                outln!(
                    "    {} {}{itself}{through}  ({})",
                    kind_word(e.kind),
                    e.name,
                    e.origin
                );
            }
        }
        if !any {
            outln!("    nothing");
        }
    }
    let loose: Vec<_> = d
        .entries
        .iter()
        .filter(|e| e.chains_to.is_empty())
        .collect();
    if !loose.is_empty() {
        outln!("  chains to no certificate of the bundle:");
        for e in loose {
            outln!("    {} {}  ({})", kind_word(e.kind), e.name, e.origin);
        }
    }
    if !d.skipped.is_empty() {
        outln!("  skipped:");
        for s in &d.skipped {
            outln!("    {}: {}", s.file, s.reason);
        }
    }
    Ok(())
}
