//! Helpers shared by the PKI commands: keys, new files, subject alternative names,
//! certificate chains.

use std::io::IsTerminal;
use std::path::Path;

use pgtls_core::{
    DirStore, Error, KeyAlgorithm, KeyPair, Store, SubjectAltName, write_key_file,
    write_public_file,
};

use crate::args::{KeyOptions, Passphrase};
use crate::error::CliError;
/// Whether generating keys of `alg` takes long enough to show progress (RSA 3072 and
/// 4096: seconds each).
fn slow(alg: KeyAlgorithm) -> bool {
    matches!(alg, KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096)
}

/// Generates a key, with a progress note on stderr for slow RSA sizes when stderr is a
/// terminal and the command does not print `--json`.
pub(crate) fn generate_key(opts: &KeyOptions, json: bool) -> Result<KeyPair, CliError> {
    let alg: KeyAlgorithm = opts.key_type.parse()?;
    let show = slow(alg) && !json && std::io::stderr().is_terminal();
    if show {
        eprint!("generating {} key...", opts.key_type);
    }
    let key = KeyPair::generate(alg)?;
    if show {
        eprintln!(" done");
    }
    Ok(key)
}

/// Generates `n` keys for a batch. For slow RSA sizes, when stderr is a terminal and
/// the command does not print `--json`, one status line on stderr counts them
/// (`generating rsa4096 keys: 3/12`), rewritten in place and ended when all are done.
pub(crate) fn generate_keys(
    opts: &KeyOptions,
    n: usize,
    json: bool,
) -> Result<Vec<KeyPair>, CliError> {
    let alg: KeyAlgorithm = opts.key_type.parse()?;
    let show = slow(alg) && !json && std::io::stderr().is_terminal();
    let note = |done: usize| {
        if show {
            eprint!("\rgenerating {} keys: {done}/{n}", opts.key_type);
        }
    };
    let mut keys = Vec::with_capacity(n);
    note(0);
    for i in 1..=n {
        let key = KeyPair::generate(alg);
        if key.is_err() && show {
            eprintln!();
        }
        keys.push(key?);
        note(i);
    }
    if show {
        eprintln!();
    }
    Ok(keys)
}

/// Writes a key file (0600), encrypted when asked.
pub(crate) fn write_key(
    path: &Path,
    key: &KeyPair,
    opts: &KeyOptions,
    pass: &Passphrase,
    force: bool,
) -> Result<(), CliError> {
    let pem = key_pem(key, opts, pass)?;
    write_key_file(path, pem.as_bytes(), force)?;
    Ok(())
}

/// The passphrase new keys are encrypted with: none without `--encrypt`, and bad usage
/// when `--encrypt` has no `--passphrase-file`/`--passphrase-env`.
pub(crate) fn encryption_passphrase(
    opts: &KeyOptions,
    pass: &Passphrase,
) -> Result<Option<Vec<u8>>, CliError> {
    if !opts.encrypt {
        return Ok(None);
    }
    match pass.get()? {
        Some(p) => Ok(Some(p)),
        None => Err(CliError::Usage(
            "--encrypt needs --passphrase-file or --passphrase-env".to_owned(),
        )),
    }
}

/// A key's PEM, encrypted when asked.
pub(crate) fn key_pem(
    key: &KeyPair,
    opts: &KeyOptions,
    pass: &Passphrase,
) -> Result<String, CliError> {
    Ok(match encryption_passphrase(opts, pass)? {
        Some(p) => key.to_encrypted_pem_with_iterations(&p, opts.kdf_iterations)?,
        None => key.to_pem(),
    })
}

pub(crate) fn check_new(paths: &[&Path], force: bool) -> Result<(), CliError> {
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

pub(crate) fn sans(list: &[String]) -> Result<Vec<SubjectAltName>, CliError> {
    Ok(list
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<SubjectAltName>, Error>>()?)
}

pub(crate) fn write_cert_chain(
    path: &Path,
    cert: &pgtls_core::Certificate,
    store: &DirStore,
    full_chain: bool,
    force: bool,
) -> Result<(), CliError> {
    let pem = cert_chain_pem(cert, store, full_chain);
    write_public_file(path, pem.as_bytes(), force)?;
    Ok(())
}

/// The certificate, followed by the intermediate CAs when `full_chain`.
pub(crate) fn cert_chain_pem(
    cert: &pgtls_core::Certificate,
    store: &DirStore,
    full_chain: bool,
) -> String {
    if full_chain {
        store.ca().full_chain_pem(cert)
    } else {
        cert.to_pem()
    }
}
