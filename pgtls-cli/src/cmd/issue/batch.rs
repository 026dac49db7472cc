//! `pgtls issue client` with several roles: one batch, one commit.

use std::path::{Path, PathBuf};

use pgtls_core::{CertificateParams, NewFile, Store, Validity, write_files};
use serde_json::json;
use time::OffsetDateTime;

use super::{IssueClientArgs, check_encrypt};
use crate::error::{CliError, chain};
use crate::output::{cert_json, label, print, read_file};
use crate::pki::{cert_chain_pem, check_new, generate_keys, key_pem, sans};

/// One role of a batch and where it came from (for error messages).
struct BatchRole {
    role: String,
    origin: String,
}

/// The roles of `--role` and `--roles-file`, checked: usable as file names, no repeats.
fn batch_roles(a: &IssueClientArgs) -> Result<Vec<BatchRole>, CliError> {
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
            .map_err(|_| CliError::Usage(format!("{}: not UTF-8 text", f.display())))?;
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
            return Err(CliError::Usage(format!(
                "{}: no roles in the file",
                f.display()
            )));
        }
    }
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for r in &roles {
        if r.role == "." || r.role == ".." || r.role.contains(['/', '\0']) {
            return Err(CliError::Usage(format!(
                "{}: role {:?} cannot be used as a file name in --out-dir",
                r.origin, r.role
            )));
        }
        if let Some(first) = seen.insert(&r.role, &r.origin) {
            return Err(CliError::Usage(format!(
                "{}: role {:?} is already in the batch ({first})",
                r.origin, r.role
            )));
        }
    }
    Ok(roles)
}

/// `pgtls issue client` with several roles (or --out-dir): one batch, one commit.
pub(super) fn issue_clients(a: &IssueClientArgs, now: OffsetDateTime) -> Result<(), CliError> {
    let Some(dir) = &a.out_dir else {
        return Err(CliError::Usage(
            "several roles need --out-dir DIR (--out-cert and --out-key take one role)".to_owned(),
        ));
    };
    let roles = batch_roles(a)?;
    if roles.len() > 1 && !a.san.is_empty() {
        return Err(CliError::Usage(
            "--san applies to one role only, not to a batch".to_owned(),
        ));
    }
    let names = sans(&a.san)?;
    let validity = Validity::days_from(now, a.out.days);
    let mut params = Vec::with_capacity(roles.len());
    for r in &roles {
        let mut p = CertificateParams::client(&r.role, validity).map_err(|e| {
            CliError::Usage(format!("{}: role {:?}: {}", r.origin, r.role, chain(&e)))
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
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
    }
    let keys = generate_keys(&a.out.key, params.len(), a.out.json.on)?;
    let requests: Vec<_> = params
        .into_iter()
        .zip(&keys)
        .map(|(p, k)| (p, k.public_key()))
        .collect();
    let certs = store.issue_batch(&requests, now)?;
    // All the keys and certificates are written together: temporaries, one flush, renames.
    let mut pems = Vec::with_capacity(certs.len());
    for (cert, key) in certs.iter().zip(&keys) {
        let k = key_pem(key, &a.out.key, &a.out.pass)
            .map_err(|e| after_commit(e, &roles, &certs, &paths, &[], &a.store.dir.path))?;
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
            &a.store.dir.path,
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
    print(a.out.json.on, &v, &human)?;
    Ok(())
}

/// The error of a batch whose output failed after the store recorded it: which
/// certificates were issued (to revoke them if their keys are lost) and, read back from
/// the files, which were written (`pems`: key and certificate PEM per role, if made).
fn after_commit(
    e: CliError,
    roles: &[BatchRole],
    certs: &[pgtls_core::Certificate],
    paths: &[(PathBuf, PathBuf)],
    pems: &[(String, String)],
    store_dir: &Path,
) -> CliError {
    let cause = e.message();
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
    CliError::Other(msg)
}
