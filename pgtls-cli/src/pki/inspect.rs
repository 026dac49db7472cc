//! `pgtls inspect` and `pgtls expiry`.

use std::fmt::Write as _;

use pgtls_core::{Certificate, Crl, Csr, DirStore, IndexStatus, Inspection, KeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ExpiryArgs, Failure, InspectArgs, fmt_time, hex, label, print, read_file};

fn days_left(t: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (t - now).whole_days()
}

fn cert_value(c: &Certificate, now: OffsetDateTime) -> Value {
    let k = c.public_key().key_type();
    json!({
        "kind": "certificate",
        "subject": c.subject().to_string(),
        "issuer": c.issuer().to_string(),
        "serial": c.serial_hex(),
        "version": c.version() + 1,
        "not_before": fmt_time(c.not_before()),
        "not_after": fmt_time(c.not_after()),
        "days_left": days_left(c.not_after(), now),
        "key_type": k.to_string(),
        "key_bits": k.bits(),
        "subject_alt_names": c.subject_alt_names().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "is_ca": c.constraints().is_ca,
        "path_len": c.constraints().path_len,
        "key_usage": c.constraints().key_usage,
        "extended_key_usage": c.constraints().extended_key_usage,
        "subject_key_identifier": c.subject_key_identifier().map(hex),
        "authority_key_identifier": c.authority_key_identifier().map(hex),
        "sha256": hex(&c.sha256_fingerprint()),
        "extensions": c.extensions().iter().map(|e| json!({"name": e.name, "critical": e.critical})).collect::<Vec<_>>(),
    })
}

fn csr_value(c: &Csr) -> Value {
    let k = c.public_key().key_type();
    json!({
        "kind": "csr",
        "subject": c.subject().to_string(),
        "signature": "valid",
        "key_type": k.to_string(),
        "key_bits": k.bits(),
        "requested_subject_alt_names": c.requested_sans().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "public_key_sha256": hex(&c.public_key().sha256()),
    })
}

fn crl_value(c: &Crl, now: OffsetDateTime) -> Value {
    json!({
        "kind": "crl",
        "issuer": c.issuer().to_string(),
        "crl_number": c.crl_number().map(|n| n.to_hex()),
        "this_update": fmt_time(c.this_update()),
        "next_update": c.next_update().map(fmt_time),
        "days_left": c.next_update().map(|t| days_left(t, now)),
        "authority_key_identifier": c.authority_key_identifier().map(hex),
        "revoked_count": c.entries().len(),
        "revoked": c.entries().iter().take(1000).map(|e| json!({
            "serial": e.serial.to_hex(),
            "revoked_at": fmt_time(e.revoked_at),
            "reason": e.reason.map(|r| r.openssl_name()),
        })).collect::<Vec<_>>(),
        "sha256": hex(&c.sha256_fingerprint()),
    })
}

fn key_value(k: &KeyPair, encrypted: bool) -> Value {
    let t = k.key_type();
    json!({
        "kind": "private_key",
        "key_type": t.to_string(),
        "key_bits": t.bits(),
        "encrypted": encrypted,
        "public_key_sha256": hex(&k.public_key().sha256()),
    })
}

fn human(v: &Value) -> String {
    let mut s = String::new();
    let kind = v["kind"].as_str().unwrap_or("object");
    let _ = writeln!(s, "{kind}");
    if let Some(obj) = v.as_object() {
        for (k, val) in obj {
            if k == "kind" {
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
        .map(|i| match i {
            Inspection::Certificate(c) => cert_value(c, now),
            Inspection::Csr(c) => csr_value(c),
            Inspection::Crl(c) => crl_value(c, now),
            Inspection::PrivateKey { key, encrypted } => key_value(key, *encrypted),
            Inspection::EncryptedPrivateKey => json!({
                "kind": "encrypted_private_key",
                "note": "give --passphrase-file or --passphrase-env to decrypt",
            }),
            Inspection::PublicKey(k) => json!({
                "kind": "public_key",
                "key_type": k.key_type().to_string(),
                "key_bits": k.key_type().bits(),
                "sha256": hex(&k.sha256()),
            }),
            _ => json!({"kind": "unknown"}),
        })
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
    let text: String = values.iter().map(human).collect::<Vec<_>>().join("\n");
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
    let mut rows = Vec::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<8} {:<10} {:>6}  {:<42} subject",
        "status", "expires", "days", "serial"
    );
    let ca_days = days_left(store_ro.ca.not_after(), now);
    for e in &store_ro.entries {
        let d = days_left(e.expires, now);
        let status = match e.status {
            IndexStatus::Revoked { .. } => "revoked",
            _ if e.expires <= now => "expired",
            IndexStatus::Expired => "expired",
            _ if d <= warn => "expiring",
            _ => "valid",
        };
        let _ = writeln!(
            text,
            "{status:<8} {:<10} {d:>6}  {:<42} {}",
            e.expires.date(),
            e.serial.to_hex(),
            e.subject.to_openssl_oneline()
        );
        rows.push(json!({
            "serial": e.serial.to_hex(),
            "subject": e.subject.to_openssl_oneline(),
            "expires": fmt_time(e.expires),
            "days_left": d,
            "status": status,
        }));
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
    let crl = match &store_ro.crl {
        Some(c) => {
            let next = c.next_update();
            let d = next.map(|t| days_left(t, now));
            let crl_warn = crl_warn_days(a.crl_warn_days, c);
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
            json!({
                "next_update": next.map(fmt_time),
                "days_left": d,
                "expired": next.is_some_and(|t| t <= now),
                "warn_days": crl_warn,
            })
        }
        None => Value::Null,
    };
    for w in &warnings {
        eprintln!("pgtls: warning: {w}");
    }
    let v = json!({
        "ca": {"subject": store_ro.ca.subject().to_string(), "not_after": fmt_time(store_ro.ca.not_after()), "days_left": ca_days},
        "certificates": rows,
        "crl": crl,
        "warnings": warnings,
    });
    print(a.json, &v, &text);
    let expiring = rows.iter().filter(|r| r["status"] == "expiring").count();
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
