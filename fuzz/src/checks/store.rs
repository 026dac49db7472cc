//! pgtls-core: the CA store's own files as input. `index.txt`, `serial`, `crlnumber`
//! and `crl.pem` as a hand edit, `openssl ca`, another tool or a bad restore may leave
//! them, under a store whose CA is sound.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pgtls_core::{
    CertificateParams, DirStore, Error, IndexStatus, RevocationReason, Store, StoreFiles, Validity,
};
use time::Duration;

use super::core::{fixture, now};
use super::input::Reader;

/// A fresh store of (a copy of) the fixture CA in `<tmpfs or temp dir>/<prefix><pid>`
/// (tmpfs when there is one: the store fsyncs every change), after removing the
/// stores of processes that are gone (the replay test makes them too).
pub fn scratch_store(prefix: &str) -> PathBuf {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() {
        base.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name();
            if let Some(pid) = name.to_string_lossy().strip_prefix(prefix)
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let f = fixture();
    let key = pgtls_core::KeyPair::from_pem_or_der(
        f.ca.key()
            .expect("fixture CA key in memory")
            .to_pem()
            .as_bytes(),
        None,
        "key",
    )
    .expect("fixture CA key");
    let ca = pgtls_core::Ca::from_parts(f.ca.certificate().clone(), key, Vec::new(), "CA")
        .expect("fixture CA");
    DirStore::create(&dir, ca, None).expect("scratch store");
    dir
}

/// The store this target works on, made once per process.
fn store_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| scratch_store("pgtls-fuzz-store-"))
}

fn read(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Puts back what an operation may have added, for the next input.
fn reset(files: &StoreFiles) {
    if let Ok(entries) = std::fs::read_dir(&files.newcerts) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if let Ok(entries) = std::fs::read_dir(&files.dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".pgtls-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// `index.txt` (the rest of the input), `serial`, `crlnumber` and `crl.pem` (absent,
/// the CA's own, or bytes) as given: reading, checking, opening, issuing, revoking and
/// CRL generation never panic; an index pgtls reads, it keeps (after an issuance or a
/// revocation every old entry reads back the same, and an issuance adds exactly its
/// own entry, with a serial no entry had); an operation that fails changes none of
/// the files; a CRL is numbered by `crlnumber`, which then moves on by one.
pub fn store_files(data: &[u8]) {
    let mut r = Reader::new(data);
    let dir = store_dir();
    let files = StoreFiles::in_dir(dir);
    reset(&files);
    let serial = r.bytes(64).to_vec();
    let crlnumber = r.bytes(64).to_vec();
    let crl = match r.below(3) {
        0 => None,
        1 => Some(
            fixture()
                .ca
                .sign_crl(&pgtls_core::CrlParams {
                    this_update: now() - Duration::days(1),
                    next_update: now() + Duration::days(1),
                    crl_number: pgtls_core::SerialNumber::from_bytes(&[1]).expect("1"),
                    revoked: Vec::new(),
                })
                .expect("crl")
                .to_pem()
                .into_bytes(),
        ),
        _ => Some(r.bytes(255).to_vec()),
    };
    let op = r.below(3);
    let index = r.rest().to_vec();
    let write = |p: &Path, b: &[u8]| std::fs::write(p, b).expect("write store file");
    write(&files.index, &index);
    write(&files.serial, &serial);
    write(&files.crlnumber, &crlnumber);
    match &crl {
        Some(b) => write(&files.crl, b),
        None => {
            let _ = std::fs::remove_file(&files.crl);
        }
    }

    let entries = DirStore::read_entries(&files);
    let check = DirStore::check(&files, now());
    if let Err(Error::StoreCorrupt { path, .. }) = &check {
        assert!(
            path != &files.index || entries.is_err(),
            "check calls an index corrupt that read_entries reads"
        );
    }
    let Ok(before) = entries else {
        assert!(
            DirStore::open(dir, None).is_err(),
            "open accepts an index that read_entries refuses"
        );
        return;
    };
    let store = DirStore::open(dir, None).expect("open after read_entries succeeded");
    let snapshot = || {
        (
            read(&files.index),
            read(&files.serial),
            read(&files.crlnumber),
            read(&files.crl),
        )
    };
    let unchanged = snapshot();
    match op {
        0 => {
            let params = CertificateParams::client("fuzz", Validity::days_from(now(), 1))
                .expect("client params");
            match store.issue(&params, &fixture().leaf_key.public_key(), now()) {
                Ok(cert) => {
                    let serial = cert.serial().expect("issued serial");
                    assert!(
                        before.iter().all(|e| e.serial != serial),
                        "issued serial {serial} that the index already had"
                    );
                    let after = DirStore::read_entries(&files).expect("index pgtls wrote");
                    assert_eq!(after.len(), before.len() + 1);
                    assert_eq!(after[..before.len()], before[..], "old entries changed");
                    assert_eq!(after[before.len()].serial, serial);
                }
                Err(_) => assert!(snapshot() == unchanged, "a failed issue changed the store"),
            }
        }
        1 => {
            let Some(target) = before.iter().find(|e| e.status == IndexStatus::Valid) else {
                return;
            };
            let serial = target.serial.clone();
            match store.revoke(&serial, Some(RevocationReason::KeyCompromise), now()) {
                Ok(_) => {
                    let after = DirStore::read_entries(&files).expect("index pgtls wrote");
                    assert_eq!(after.len(), before.len());
                    for (a, b) in after.iter().zip(&before) {
                        if a.serial == serial {
                            assert!(matches!(a.status, IndexStatus::Revoked { .. }));
                        } else {
                            assert_eq!(a, b, "an entry that was not revoked changed");
                        }
                    }
                }
                Err(_) => assert!(snapshot() == unchanged, "a failed revoke changed the store"),
            }
        }
        _ => match store.generate_crl(now() + Duration::days(1), now()) {
            Ok(crl) => {
                let number = crl.crl_number().expect("a CRL pgtls made has a number");
                let old = std::str::from_utf8(&crlnumber)
                    .ok()
                    .and_then(|t| pgtls_core::SerialNumber::from_hex(t.trim()).ok())
                    .expect("generate_crl accepted this crlnumber");
                assert_eq!(number, &old);
                let next = read(&files.crlnumber).expect("crlnumber");
                assert_eq!(
                    String::from_utf8_lossy(&next).trim(),
                    old.next().expect("next").to_hex()
                );
                let revoked = before
                    .iter()
                    .filter(|e| matches!(e.status, IndexStatus::Revoked { .. }))
                    .count();
                assert_eq!(crl.entries().len(), revoked);
            }
            Err(_) => assert!(snapshot() == unchanged, "a failed CRL changed the store"),
        },
    }
}
