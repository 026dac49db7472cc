//! `pgtls inspect`.

use crate::args::Json;
use std::fmt::Write as _;

use pgtls_core::report::{InspectionReport, days_left};
use pgtls_core::{Certificate, Inspection};
use serde_json::{Value, json};
use time::OffsetDateTime;

use std::path::PathBuf;

use clap::Args;

use crate::args::Passphrase;
use crate::error::CliError;
use crate::output::{label, print, read_file};

/// `pgtls inspect`
#[derive(Args)]
pub(crate) struct InspectArgs {
    /// The file (PEM or DER).
    pub(crate) file: PathBuf,
    /// With a private key FILE: check that it belongs to this certificate (exit 1 if not).
    #[arg(long, value_name = "CERT")]
    pub(crate) matches: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) pass: Passphrase,
    #[command(flatten)]
    pub(crate) json: Json,
}

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

pub(crate) fn run(a: &InspectArgs, now: OffsetDateTime) -> Result<(), CliError> {
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
            return Err(CliError::Usage(format!(
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
            a.json.on,
            &v,
            &format!("{} belongs to {}\n", a.file.display(), cert_file.display()),
        )?;
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
    print(a.json.on, &out, &text)?;
    Ok(())
}
