//! `Store::issue_batch` on `DirStore`: all or nothing, unique serials within the batch
//! and the store, nothing written when any request fails, and the clean-up of a batch
//! killed before or after its commit (many pending files at once), each state made by
//! hand exactly as a kill at that point would leave it. (SIGKILLs inside real batches are
//! in store_stress.rs, and so is the full-disk test of a batch.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use pgtls_core::{
    Ca, CertificateParams, DirStore, DistinguishedName, Error, KeyAlgorithm, KeyPair, NewFile,
    PublicKey, SerialNumber, Store, StoreFiles, Validity, write_files,
};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn new_store(dir: &Path) -> DirStore {
    let p = CertificateParams::ca(
        DistinguishedName::common_name("Batch CA"),
        Validity::days_from(now(), 3650),
        None,
    );
    let ca = Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap();
    DirStore::create(dir, ca, None).unwrap()
}

fn client(name: &str) -> CertificateParams {
    CertificateParams::client(name, Validity::days_from(now(), 30)).unwrap()
}

fn requests(n: usize, key: &PublicKey) -> Vec<(CertificateParams, PublicKey)> {
    (0..n)
        .map(|i| (client(&format!("role{i}")), key.clone()))
        .collect()
}

/// Every file of the store with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn index_serials(dir: &Path) -> BTreeSet<String> {
    DirStore::read_entries(&StoreFiles::in_dir(dir))
        .unwrap()
        .iter()
        .map(|e| e.serial.to_hex())
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pgtls-"))
        .collect()
}

fn assert_clean(dir: &Path) {
    assert_eq!(leftovers(dir), Vec::<String>::new(), "files left behind");
    assert_eq!(
        common::newcert_serials(dir),
        index_serials(dir),
        "newcerts/ vs index"
    );
    let report = DirStore::check(&StoreFiles::in_dir(dir), now()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_batch_is_issued_in_order_with_unique_serials() {
    for n in [1, 3, 4, 25] {
        // Below and above the syncfs threshold.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ca");
        let store = new_store(&dir);
        store
            .issue(
                &client("before"),
                &KeyPair::generate(KeyAlgorithm::EcdsaP256)
                    .unwrap()
                    .public_key(),
                now(),
            )
            .unwrap();
        let keys: Vec<KeyPair> = (0..n)
            .map(|_| KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap())
            .collect();
        let reqs: Vec<(CertificateParams, PublicKey)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (client(&format!("role{i}")), k.public_key()))
            .collect();
        let certs = store.issue_batch(&reqs, now()).unwrap();
        assert_eq!(certs.len(), n);
        let mut serials = BTreeSet::new();
        for (i, (c, k)) in certs.iter().zip(&keys).enumerate() {
            assert_eq!(
                c.subject().common_name_value().as_deref(),
                Some(format!("role{i}").as_str()),
                "certificate {i} out of order"
            );
            assert!(k.matches(c.public_key()), "certificate {i} has another key");
            assert!(c.is_signed_by(store.ca().certificate()));
            let s = c.serial().unwrap();
            assert!(serials.insert(s.to_hex()), "serial {s} twice in the batch");
            // What the store hands back is what it keeps.
            assert_eq!(&store.certificate(&s).unwrap(), c);
        }
        let index = index_serials(&dir);
        assert_eq!(index.len(), n + 1);
        assert!(serials.is_subset(&index));
        assert_clean(&dir);
    }
}

#[test]
fn an_empty_batch_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let before = snapshot(&dir);
    assert!(store.issue_batch(&[], now()).unwrap().is_empty());
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn duplicate_serials_fail_the_whole_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .public_key();
    let existing = store.issue(&client("old"), &key, now()).unwrap();
    let before = snapshot(&dir);

    // Twice within the batch (and unused in the store).
    let fresh = SerialNumber::from_hex("7E57AB1E").unwrap();
    let mut reqs = requests(6, &key);
    reqs[1].0.serial = Some(fresh.clone());
    reqs[4].0.serial = Some(fresh.clone());
    match store.issue_batch(&reqs, now()) {
        Err(Error::DuplicateSerial { serial, .. }) => assert_eq!(serial, fresh),
        other => panic!("a serial twice in a batch: {other:?}"),
    }
    assert_eq!(snapshot(&dir), before, "a refused batch changed the store");

    // Already in the store, asked for by the last request.
    let mut reqs = requests(6, &key);
    reqs[5].0.serial = existing.serial();
    match store.issue_batch(&reqs, now()) {
        Err(Error::DuplicateSerial { serial, .. }) => {
            assert_eq!(Some(serial), existing.serial());
        }
        other => panic!("a used serial in a batch: {other:?}"),
    }
    assert_eq!(snapshot(&dir), before, "a refused batch changed the store");

    // Explicit serials that are free work, next to random ones.
    let mut reqs = requests(6, &key);
    reqs[2].0.serial = Some(fresh.clone());
    let certs = store.issue_batch(&reqs, now()).unwrap();
    assert_eq!(certs[2].serial(), Some(fresh));
    assert_eq!(index_serials(&dir).len(), 7);
    assert_clean(&dir);
}

#[test]
fn a_signing_error_in_the_middle_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .public_key();
    store.issue(&client("old"), &key, now()).unwrap();
    let before = snapshot(&dir);
    let mut reqs = requests(9, &key);
    // Outlives the CA: refused by the signer, after four certificates were signed.
    reqs[4].0 = CertificateParams::client("too-long", Validity::days_from(now(), 5000)).unwrap();
    match store.issue_batch(&reqs, now()) {
        Err(Error::OutlivesIssuer { .. }) => {}
        other => panic!("a request outliving the CA: {other:?}"),
    }
    assert_eq!(snapshot(&dir), before, "a failed batch changed the store");
    assert_clean(&dir);
}

/// A batch killed after its commit (index.txt lists it) with some or all certificates
/// still under their pending names, and a second batch killed before its commit
/// (pending files that the index does not list): opening the store moves the first and
/// removes the second.
#[test]
fn open_finishes_a_committed_batch_and_removes_an_uncommitted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let files = StoreFiles::in_dir(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .public_key();
    let committed = store.issue_batch(&requests(8, &key), now()).unwrap();
    // Killed during the moves: five of eight still pending.
    for c in &committed[..5] {
        let s = c.serial().unwrap();
        fs::rename(files.newcert(&s), files.pending(&s)).unwrap();
    }
    // A batch signed and staged, killed before index.txt was replaced.
    let uncommitted: Vec<SerialNumber> = (0..6)
        .map(|i| {
            let s = SerialNumber::random().unwrap();
            let mut p = client(&format!("lost{i}"));
            p.serial = Some(s.clone());
            let c = store.ca().issue(&p, &key, now()).unwrap();
            fs::write(files.pending(&s), c.to_pem()).unwrap();
            s
        })
        .collect();
    // And a temporary of it.
    fs::write(dir.join(".pgtls-tmp-killed"), b"V\t").unwrap();
    let index_before = fs::read(&files.index).unwrap();
    assert_eq!(leftovers(&dir).len(), 5 + 6 + 1);
    assert!(!DirStore::check(&files, now()).unwrap().problems.is_empty());

    DirStore::open(&dir, None).unwrap();
    assert_eq!(
        fs::read(&files.index).unwrap(),
        index_before,
        "recovery changed the index"
    );
    for c in &committed {
        let s = c.serial().unwrap();
        assert_eq!(&store.certificate(&s).unwrap(), c, "{s} not finished");
    }
    for s in &uncommitted {
        assert!(
            !files.newcert(s).exists(),
            "{s} was never recorded but kept"
        );
    }
    assert_clean(&dir);
}

/// The pending name of one certificate of a committed batch is already taken by the
/// same certificate in newcerts/ (killed after the rename, before the directory fsync
/// made the removal durable): recovery keeps one copy.
#[test]
fn a_pending_copy_of_a_finished_certificate_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let files = StoreFiles::in_dir(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)
        .unwrap()
        .public_key();
    let certs = store.issue_batch(&requests(5, &key), now()).unwrap();
    for c in &certs[1..3] {
        let s = c.serial().unwrap();
        fs::copy(files.newcert(&s), files.pending(&s)).unwrap();
    }
    DirStore::open(&dir, None).unwrap();
    assert_clean(&dir);
    // A different certificate under a finished certificate's pending name is corruption,
    // not something to overwrite.
    let s = certs[0].serial().unwrap();
    let mut p = client("impostor");
    p.serial = Some(s.clone());
    let impostor = store.ca().issue(&p, &key, now()).unwrap();
    fs::write(files.pending(&s), impostor.to_pem()).unwrap();
    match DirStore::open(&dir, None) {
        Err(Error::StoreCorrupt { path, .. }) => assert_eq!(path, files.newcert(&s)),
        other => panic!("a different certificate with a used serial: {other:?}"),
    }
}

#[test]
fn write_files_writes_many_files_with_their_modes_or_none() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Below and above the syncfs threshold.
    for n in [2_usize, 12] {
        let sub = d.join(format!("n{n}"));
        fs::create_dir(&sub).unwrap();
        let contents: Vec<(PathBuf, Vec<u8>, bool)> = (0..n)
            .map(|i| {
                (
                    sub.join(format!("f{i}")),
                    format!("file {i}\n").into_bytes(),
                    i % 2 == 0,
                )
            })
            .collect();
        let files: Vec<NewFile<'_>> = contents
            .iter()
            .map(|(path, bytes, secret)| NewFile {
                path,
                bytes,
                secret: *secret,
            })
            .collect();
        write_files(&files, false).unwrap();
        for (path, bytes, secret) in &contents {
            assert_eq!(&fs::read(path).unwrap(), bytes);
            let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, if *secret { 0o600 } else { 0o644 }, "{path:?}");
        }
        // Again without overwrite: refused before anything is written.
        fs::remove_file(&contents[0].0).unwrap();
        match write_files(&files, false) {
            Err(Error::FileExists { path }) => assert_eq!(path, contents[1].0),
            other => panic!("existing files overwritten: {other:?}"),
        }
        assert!(!contents[0].0.exists(), "written although refused");
        assert_eq!(leftovers(&sub), Vec::<String>::new());
        // With overwrite: replaced.
        let other: Vec<NewFile<'_>> = files
            .iter()
            .map(|f| NewFile {
                bytes: b"new\n",
                ..*f
            })
            .collect();
        write_files(&other, true).unwrap();
        for (path, _, _) in &contents {
            assert_eq!(fs::read(path).unwrap(), b"new\n");
        }
        assert_eq!(leftovers(&sub), Vec::<String>::new());
    }
}
