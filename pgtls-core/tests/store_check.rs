//! `DirStore::check`, `DirStore::index_unindexed` and the clean-up after killed writers,
//! each state made by hand exactly as a kill at that point would leave it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pgtls_core::{
    Ca, CertificateParams, DirStore, DistinguishedName, Error, KeyAlgorithm, KeyPair,
    RevocationReason, Store, StoreFiles, StoreProblem, Validity,
};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn ca(cn: &str) -> Ca {
    let p = CertificateParams::ca(
        DistinguishedName::common_name(cn),
        Validity::days_from(now(), 3650),
        None,
    );
    Ca::create_root(&p, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap()
}

fn client(name: &str) -> CertificateParams {
    CertificateParams::client(name, Validity::days_from(now(), 30)).unwrap()
}

fn key() -> KeyPair {
    KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn problems(dir: &Path) -> Vec<StoreProblem> {
    DirStore::check(&StoreFiles::in_dir(dir), now())
        .unwrap()
        .problems
}

/// A store with three certificates, one revoked, and a current CRL.
fn store(dir: &Path) -> DirStore {
    let s = DirStore::create(dir, ca("Check CA"), None).unwrap();
    let k = key();
    let mut serials = Vec::new();
    for n in ["a", "b", "c"] {
        serials.push(
            s.issue(&client(n), &k.public_key(), now())
                .unwrap()
                .serial()
                .unwrap(),
        );
    }
    s.revoke(&serials[1], Some(RevocationReason::KeyCompromise), now())
        .unwrap();
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    s
}

#[test]
fn a_sound_store_has_no_problems() {
    let tmp = tempfile::tempdir().unwrap();
    store(tmp.path());
    let report = DirStore::check(&StoreFiles::in_dir(tmp.path()), now()).unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        (report.indexed, report.revoked, report.certificates),
        (3, 1, 3)
    );
    assert!(report.crl_number.is_some());
}

#[test]
fn a_revocation_after_the_last_crl_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let serial = s.entries().unwrap()[0].serial.clone();
    s.revoke(&serial, None, now()).unwrap();
    let p = problems(tmp.path());
    assert!(
        matches!(&p[..], [StoreProblem::Crl { reason, .. }] if reason.contains(&serial.to_hex())),
        "{p:?}"
    );
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    assert_eq!(problems(tmp.path()), vec![]);
    fs::remove_file(&s.files().crl).unwrap();
    let p = problems(tmp.path());
    assert!(
        matches!(&p[..], [StoreProblem::Crl { reason, .. }] if reason.contains("2 revoked")),
        "{p:?}"
    );
}

#[test]
fn an_expired_crl_and_a_rewound_crlnumber_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let p = DirStore::check(s.files(), now() + Duration::days(8))
        .unwrap()
        .problems;
    assert!(
        matches!(&p[..], [StoreProblem::Crl { reason, .. }] if reason.contains("expired")),
        "{p:?}"
    );
    fs::write(&s.files().crlnumber, "01\n").unwrap();
    let p = problems(tmp.path());
    assert!(
        matches!(&p[..], [StoreProblem::Crl { reason, .. }] if reason.contains("not below crlnumber")),
        "{p:?}"
    );
}

#[test]
fn crl_numbers_compare_as_integers_past_ff() {
    // crlnumber FF: the next CRL is numbered FF and crlnumber becomes 0100. A byte-wise
    // comparison would call FF "not below" 0100 and report a sound store.
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    fs::write(&s.files().crlnumber, "FF\n").unwrap();
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    assert_eq!(fs::read_to_string(&s.files().crlnumber).unwrap(), "0100\n");
    let report = DirStore::check(s.files(), now()).unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.crl_number.map(|n| n.to_hex()).as_deref(), Some("FF"));
    // And the other way round is still caught: crl.pem 0100 with crlnumber rewound to FF.
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    fs::write(&s.files().crlnumber, "FF\n").unwrap();
    let p = problems(tmp.path());
    assert!(
        matches!(&p[..], [StoreProblem::Crl { reason, .. }] if reason.contains("not below crlnumber")),
        "{p:?}"
    );
}

#[test]
fn killed_after_the_index_commit_the_issuance_is_finished_by_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let entry = s.entries().unwrap()[2].clone();
    let files = s.files().clone();
    drop(s);
    // The kill came between replacing index.txt and moving the certificate.
    fs::rename(files.newcert(&entry.serial), files.pending(&entry.serial)).unwrap();
    let p = problems(tmp.path());
    assert!(
        p.contains(&StoreProblem::Unfinished {
            path: files.pending(&entry.serial)
        }) && p
            .iter()
            .any(|x| matches!(x, StoreProblem::Missing { serial, .. } if serial == &entry.serial)),
        "{p:?}"
    );
    let s = DirStore::open(tmp.path(), None).unwrap();
    assert!(files.newcert(&entry.serial).is_file());
    assert!(!files.pending(&entry.serial).exists());
    assert_eq!(problems(tmp.path()), vec![]);
    s.certificate(&entry.serial).unwrap();
}

#[test]
fn killed_before_the_index_commit_the_issuance_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let files = s.files().clone();
    // Signed and renamed to its pending name, but index.txt was not replaced; and a
    // temporary file of another killed writer.
    let cert = s
        .ca()
        .issue(&client("never"), &key().public_key(), now())
        .unwrap();
    let serial = cert.serial().unwrap();
    fs::write(files.pending(&serial), cert.to_pem()).unwrap();
    fs::write(tmp.path().join(".pgtls-tmp-XyZ123"), b"half").unwrap();
    let index_before = fs::read(&files.index).unwrap();
    drop(s);
    assert_eq!(problems(tmp.path()).len(), 2);
    // A writer (here: a revocation) cleans up before it works.
    let s = DirStore::open(tmp.path(), None).unwrap();
    assert!(!files.pending(&serial).exists());
    assert!(!tmp.path().join(".pgtls-tmp-XyZ123").exists());
    assert_eq!(fs::read(&files.index).unwrap(), index_before);
    assert!(matches!(
        s.revoke(&serial, None, now()),
        Err(Error::UnknownSerial { .. })
    ));
    assert_eq!(problems(tmp.path()), vec![]);
}

#[test]
fn a_pending_file_that_disagrees_with_newcerts_is_an_error_not_a_guess() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let files = s.files().clone();
    let serial = s.entries().unwrap()[0].serial.clone();
    fs::write(files.pending(&serial), b"something else").unwrap();
    drop(s);
    match DirStore::open(tmp.path(), None) {
        Err(Error::StoreCorrupt { path, reason, .. }) => {
            assert_eq!(path, files.newcert(&serial));
            assert!(reason.contains("differs"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unindexed_certificates_are_reported_then_indexed_and_revocable() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    let files = s.files().clone();
    // What a crash of another tool (or an old pgtls) between certificate and index
    // leaves; plus a certificate of another CA and a file that is no certificate.
    let lost = s
        .ca()
        .issue(&client("lost"), &key().public_key(), now())
        .unwrap();
    let lost_serial = lost.serial().unwrap();
    fs::write(files.newcert(&lost_serial), lost.to_pem()).unwrap();
    let other = ca("Other CA")
        .issue(&client("alien"), &key().public_key(), now())
        .unwrap();
    let other_serial = other.serial().unwrap();
    fs::write(files.newcert(&other_serial), other.to_pem()).unwrap();
    fs::write(files.newcerts.join("0ABC.pem"), b"not a certificate").unwrap();

    let p = problems(tmp.path());
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p.contains(&StoreProblem::Unindexed {
        path: files.newcert(&lost_serial),
        serial: lost_serial.clone()
    }));
    assert!(p.iter().any(
        |x| matches!(x, StoreProblem::BadCertificate { path, reason }
        if path == &files.newcert(&other_serial) && reason.contains("not signed"))
    ));
    assert!(p.iter().any(
        |x| matches!(x, StoreProblem::BadCertificate { path, .. } if path.ends_with("0ABC.pem"))
    ));

    let added = DirStore::index_unindexed(&files).unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].serial, lost_serial);
    assert_eq!(DirStore::index_unindexed(&files).unwrap(), vec![]);
    s.revoke(&lost_serial, Some(RevocationReason::KeyCompromise), now())
        .unwrap();
    s.generate_crl(now() + Duration::days(7), now()).unwrap();
    assert!(s.current_crl().unwrap().unwrap().is_revoked(&lost_serial));
    let p = problems(tmp.path());
    assert_eq!(p.len(), 2, "only the foreign files remain: {p:?}");
}

#[test]
fn a_key_open_to_others_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store(tmp.path());
    fs::set_permissions(&s.files().key, fs::Permissions::from_mode(0o640)).unwrap();
    let p = problems(tmp.path());
    assert!(
        matches!(&p[..], [StoreProblem::Permissions { mode, .. }] if mode & 0o777 == 0o640),
        "{p:?}"
    );
    assert!(p[0].to_string().contains("0640"), "{}", p[0]);
}

#[test]
fn check_refuses_what_is_not_a_store_and_names_a_corrupt_index_line() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        DirStore::check(&StoreFiles::in_dir(tmp.path()), now()),
        Err(Error::NotAStore { .. })
    ));
    let s = store(tmp.path());
    let mut index = fs::read_to_string(&s.files().index).unwrap();
    index.push_str("V\tnonsense\n");
    fs::write(&s.files().index, index).unwrap();
    match DirStore::check(s.files(), now()) {
        Err(Error::StoreCorrupt { line, .. }) => assert_eq!(line, 4),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_moved_store_has_its_openssl_cnf_rewritten_and_no_other_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    store(&old);
    let new = tmp.path().join("new");
    fs::rename(&old, &new).unwrap();
    let files = StoreFiles::in_dir(&new);
    let p = problems(&new);
    assert!(
        matches!(&p[..], [StoreProblem::OpensslCnf { names, .. }] if names.ends_with("old")),
        "{p:?}"
    );
    assert!(DirStore::rewrite_openssl_cnf(&files).unwrap());
    assert_eq!(problems(&new), vec![]);
    assert!(!DirStore::rewrite_openssl_cnf(&files).unwrap());
    let cnf = fs::read_to_string(&files.openssl_cnf).unwrap();
    let here = new.canonicalize().unwrap();
    assert!(
        cnf.contains(&format!("dir = {}\n", here.display())),
        "{cnf}"
    );
    // An openssl.cnf someone else wrote is theirs: neither reported nor rewritten.
    let theirs = "[ ca ]\ndefault_ca = mine\n[ mine ]\ndir = /somewhere/else\n";
    fs::write(&files.openssl_cnf, theirs).unwrap();
    assert_eq!(problems(&new), vec![]);
    assert!(!DirStore::rewrite_openssl_cnf(&files).unwrap());
    assert_eq!(fs::read_to_string(&files.openssl_cnf).unwrap(), theirs);
}

#[test]
fn create_removes_only_what_killed_creates_left() {
    use std::os::unix::fs::DirBuilderExt;
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path();
    let staging = |name: &str, with_file: bool| {
        let d = parent.join(format!(".pgtls-tmp-create-{name}"));
        fs::DirBuilder::new().mode(0o700).create(&d).unwrap();
        if with_file {
            fs::create_dir(d.join("private")).unwrap();
            fs::write(d.join("private/cakey.pem"), b"key of a killed create").unwrap();
        }
        d
    };
    // Killed after writing: removed. A live create that has just made its directory
    // (empty, not yet locked): left. A live create filling its directory (locked): left.
    let killed = staging("killed", true);
    let just_made = staging("just-made", false);
    let filling = staging("filling", true);
    let lock = fs::File::open(&filling).unwrap();
    lock.try_lock().unwrap();
    let other = parent.join(".pgtls-tmp-other");
    fs::write(&other, b"not a staging directory").unwrap();
    DirStore::create(&parent.join("ca"), ca("Sweep CA"), None).unwrap();
    assert!(!killed.exists(), "a killed create's directory stayed");
    assert!(
        just_made.exists(),
        "removed an empty staging directory (maybe live)"
    );
    assert!(
        filling.join("private/cakey.pem").exists(),
        "removed a locked one"
    );
    assert!(other.exists());
    drop(lock);
}
