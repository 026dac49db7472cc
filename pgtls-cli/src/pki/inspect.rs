//! `pgtls inspect` and `pgtls expiry`.

use std::fmt::Write as _;

use pgtls_core::report::{ExpiryReport, ExpiryState, InspectionReport, days_left};
use pgtls_core::{Certificate, Crl, DirStore, Inspection};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ExpiryArgs, Failure, InspectArgs, fmt_time, label, print, read_file};

/// Days from `now` to the end of an object's validity, for the human text
/// (the reports describe the object, not the moment).
fn days_left_line(i: &Inspection, now: OffsetDateTime) -> Option<i64> {
    match i {
        Inspection::Certificate(c) => Some(days_left(c.not_after(), now)),
        Inspection::Crl(c) => c.next_update().map(|t| days_left(t, now)),
        _ => None,
    }
}

fn human(v: &Value) -> String {
    let mut s = String::new();
    let kind = v["kind"].as_str().unwrap_or("object");
    let _ = writeln!(s, "{kind}");
    if let Some(obj) = v.as_object() {
        for (k, val) in obj {
            if k == "kind" || k == "schema_version" {
                continue;
            }
            let text = match val {
                Value::Null => continue,
                Value::String(t) => t.clone(),
                Value::Array(a) if a.is_empty() => continue,
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(t) => t.clone(),
                        Value::Object(o) if o.contains_key("critical") => format!(
                            "{}{}",
                            o["name"].as_str().unwrap_or(""),
                            if o["critical"].as_bool() == Some(true) {
                                " (critical)"
                            } else {
                                ""
                            }
                        ),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            let _ = writeln!(s, "  {:<26} {text}", k.replace('_', " "));
        }
    }
    s
}

pub(super) fn run(a: &InspectArgs, now: OffsetDateTime) -> Result<(), Failure> {
    let data = read_file(&a.file)?;
    let pass = a.pass.get()?;
    let items = pgtls_core::inspect(&data, pass.as_deref(), &label(&a.file))?;
    let values: Vec<Value> = items
        .iter()
        .filter_map(InspectionReport::new)
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    if let Some(cert_file) = &a.matches {
        let cert = Certificate::from_pem_or_der(&read_file(cert_file)?, &label(cert_file))?;
        let key = items.iter().find_map(|i| match i {
            Inspection::PrivateKey { key, .. } => Some(key),
            _ => None,
        });
        let Some(key) = key else {
            return Err(Failure::Usage(format!(
                "--matches needs a (decryptable) private key in {}",
                a.file.display()
            )));
        };
        if !key.matches(cert.public_key()) {
            return Err(pgtls_core::Error::KeyMismatch {
                key: label(&a.file),
                certificate: label(cert_file),
            }
            .into());
        }
        let v = json!({"matches": true, "key": label(&a.file), "certificate": label(cert_file)});
        print(
            a.json,
            &v,
            &format!("{} belongs to {}\n", a.file.display(), cert_file.display()),
        );
        return Ok(());
    }
    let text: String = values
        .iter()
        .zip(&items)
        .map(|(v, i)| {
            let mut v = v.clone();
            if let (Some(d), Some(o)) = (days_left_line(i, now), v.as_object_mut()) {
                o.insert("days_left".into(), json!(d));
            }
            human(&v)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let out = if values.len() == 1 {
        values[0].clone()
    } else {
        Value::Array(values)
    };
    print(a.json, &out, &text);
    Ok(())
}

pub(super) fn expiry(a: &ExpiryArgs, now: OffsetDateTime) -> Result<(), Failure> {
    // The report needs no CA key: read the index and the public files only.
    let files = pgtls_core::StoreFiles::in_dir(&a.dir);
    let store_ro = StoreView::open(&files)?;
    let warn = i64::from(a.warn_days);
    let crl_warn = store_ro
        .crl
        .as_ref()
        .map(|c| crl_warn_days(a.crl_warn_days, c));
    let mut report = ExpiryReport::new(
        &store_ro.ca,
        &store_ro.entries,
        store_ro.crl.as_ref().zip(crl_warn),
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
    if let (Some(c), Some(crl_warn)) = (&store_ro.crl, crl_warn) {
        let next = c.next_update();
        let d = next.map(|t| days_left(t, now));
        match (next, d) {
            (Some(t), _) if t <= now => warnings.push(format!(
                "the CRL {} expired at {}: PostgreSQL now rejects every client certificate; run `pgtls crl --dir {}`",
                files.crl.display(),
                fmt_time(t),
                a.dir.display()
            )),
            (Some(t), Some(d)) if d < crl_warn => warnings.push(format!(
                "the CRL {} expires at {} ({d} days): publish a new one with `pgtls crl --dir {}`",
                files.crl.display(),
                fmt_time(t),
                a.dir.display()
            )),
            _ => {}
        }
        let state = match (next, d) {
            (Some(t), _) if t <= now => "EXPIRED".to_owned(),
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
    print(a.json, &v, &text);
    let expiring = report
        .certificates
        .iter()
        .filter(|r| r.expiry == ExpiryState::Expiring)
        .count();
    if a.check && (expiring > 0 || !warnings.is_empty()) {
        return Err(Failure::Other(format!(
            "{} need action within {warn} days: {expiring} certificate(s) expiring{}",
            a.dir.display(),
            if warnings.is_empty() {
                String::new()
            } else {
                format!("; {}", warnings.join("; "))
            }
        )));
    }
    Ok(())
}

/// The CRL's warning threshold in days: `--crl-warn-days`, else a third of its own period
/// (nextUpdate - thisUpdate), at least 1. A CRL is meant to be republished well before its
/// nextUpdate; a fixed threshold as long as its period would flag every fresh CRL.
fn crl_warn_days(given: Option<u32>, c: &Crl) -> i64 {
    if let Some(d) = given {
        return i64::from(d);
    }
    c.next_update()
        .map(|n| ((n - c.this_update()).whole_days() / 3).max(1))
        .unwrap_or(1)
}

/// The public half of a store, for reports that need no key.
struct StoreView {
    ca: Certificate,
    entries: Vec<pgtls_core::IndexEntry>,
    crl: Option<Crl>,
}

impl StoreView {
    fn open(files: &pgtls_core::StoreFiles) -> Result<Self, Failure> {
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
