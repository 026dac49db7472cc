//! The CA store (`DirStore`) under stress, with real processes and real file systems:
//!
//! * 8 processes issuing (and revoking, and making CRLs) into one store at once:
//!   unique serials, an index that lists exactly the certificates on disk;
//! * a worker killed with SIGKILL at random points of issue, revoke and CRL
//!   generation, 300 times: the store still opens, and opening it cleans up what the
//!   killed writer left (temporaries, an unfinished issuance), so that the index lists
//!   exactly the certificates in newcerts/; every file parses, no serial is ever
//!   reused or lost from the index, CRL numbers only increase, the CA key never
//!   changes, and `DirStore::check` finds nothing but a CRL older than the index;
//! * the "mixed" workers issue batches of 1 to 8 certificates too, so kills land
//!   inside batches (before, at and after their commit);
//! * a full disk (a 128 KiB tmpfs; single issuance and batches, also one that runs out
//!   of space half-way through its temporaries) and a read-only directory (a read-only bind
//!   mount; root ignores mode bits): clear errors naming the file and the OS
//!   error, and nothing in the store changes;
//! * private keys are never readable by group or others at any instant, even with
//!   umask 000 (a watcher polls every file's mode while keys are written).
//!
//! The worker processes are this test binary itself, re-run with
//! `--ignored --exact stress_worker` and `PGTLS_STRESS_*` variables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pgtls_core::{
    Ca, Certificate, CertificateParams, DirStore, DistinguishedName, Error, IndexStatus,
    KeyAlgorithm, KeyPair, RevocationReason, SerialNumber, Store, StoreFiles, StoreProblem,
    Validity, write_key_file,
};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn new_store(dir: &Path) -> DirStore {
    let params = CertificateParams::ca(
        DistinguishedName::parse_openssl("/O=pgtls stress/CN=Stress CA").unwrap(),
        Validity::days_from(now(), 3650),
        None,
    );
    let ca = Ca::create_root(&params, KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap()).unwrap();
    DirStore::create(dir, ca, None).unwrap()
}

/// Retries an operation while another process holds the store lock.
fn locked<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let start = Instant::now();
    loop {
        match op() {
            Err(Error::StoreLocked { .. }) if start.elapsed() < Duration::from_secs(120) => {
                std::thread::sleep(Duration::from_micros(200));
            }
            other => return other,
        }
    }
}

/// A cheap deterministic pseudo-random sequence (no clock, no rand crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

// ---------------------------------------------------------------- worker process

/// Not a test: the body of the worker processes (ignored unless run by the tests).
#[test]
#[ignore = "worker process body, started by the other tests"]
fn stress_worker() {
    let Ok(mode) = std::env::var("PGTLS_STRESS_WORKER") else {
        panic!("stress_worker is run by the store tests, not by hand");
    };
    let dir = PathBuf::from(std::env::var("PGTLS_STRESS_DIR").unwrap());
    let count: usize =
        std::env::var("PGTLS_STRESS_COUNT").map_or(usize::MAX, |c| c.parse().unwrap());
    let seed: u64 = std::env::var("PGTLS_STRESS_SEED").map_or(1, |c| c.parse().unwrap());
    let mut rng = Lcg(seed);
    if mode == "keys" {
        return key_worker(&dir, count);
    }
    let store = locked(|| DirStore::open(&dir, None)).unwrap();
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    println!("READY");
    let mut mine: Vec<SerialNumber> = Vec::new();
    for i in 0..count {
        let op = if mode == "issue" { 0 } else { rng.next() % 4 };
        match op {
            0 | 1 => {
                let params = |j: usize| {
                    CertificateParams::client(
                        &format!("w{seed}-{i}-{j}"),
                        Validity::days_from(now(), 30),
                    )
                    .unwrap()
                };
                // The mixed worker issues a batch of 1 to 8 every third time (4 and more
                // take the syncfs path), so kills land inside batches too.
                let certs = if mode == "mixed" && rng.next().is_multiple_of(3) {
                    let n = 1 + (rng.next() % 8) as usize;
                    let reqs: Vec<_> = (0..n).map(|j| (params(j), key.public_key())).collect();
                    let certs = locked(|| store.issue_batch(&reqs, now())).unwrap();
                    assert_eq!(certs.len(), n);
                    certs
                } else {
                    vec![locked(|| store.issue(&params(0), &key.public_key(), now())).unwrap()]
                };
                for cert in certs {
                    let serial = cert.serial().unwrap();
                    println!("ISSUED {}", serial.to_hex());
                    mine.push(serial);
                }
            }
            2 => {
                if let Some(s) = mine.pop() {
                    let e = locked(|| store.revoke(&s, Some(RevocationReason::Superseded), now()))
                        .unwrap();
                    assert!(matches!(e.status, IndexStatus::Revoked { .. }));
                    println!("REVOKED {}", s.to_hex());
                }
            }
            _ => {
                let crl =
                    locked(|| store.generate_crl(now() + time::Duration::days(7), now())).unwrap();
                println!("CRL {}", crl.crl_number().unwrap().to_hex());
            }
        }
    }
}

/// Writes private keys over and over (store creation, `write_key_file`, `write_files`).
fn key_worker(dir: &Path, count: usize) {
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem();
    for i in 0..count {
        let sub = dir.join(format!("s{i}"));
        let _store = new_store(&sub);
        write_key_file(&sub.join("server.key"), pem.as_bytes(), false).unwrap();
        write_key_file(&sub.join("server.key"), pem.as_bytes(), true).unwrap();
        write_key_file(&sub.join("private").join("extra.key"), pem.as_bytes(), true).unwrap();
        // The batched writer (syncfs path: 5 files).
        let names: Vec<PathBuf> = (0..5).map(|j| sub.join(format!("batch{j}.key"))).collect();
        let files: Vec<pgtls_core::NewFile<'_>> = names
            .iter()
            .map(|path| pgtls_core::NewFile {
                path,
                bytes: pem.as_bytes(),
                secret: true,
            })
            .collect();
        pgtls_core::write_files(&files, false).unwrap();
    }
    println!("DONE {count}");
}

fn worker(mode: &str, dir: &Path, count: Option<usize>, seed: u64, umask000: bool) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if umask000 {
        let mut c = Command::new("sh");
        c.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args([
        "--ignored",
        "--exact",
        "stress_worker",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env("PGTLS_STRESS_WORKER", mode)
    .env("PGTLS_STRESS_DIR", dir)
    .env("PGTLS_STRESS_SEED", seed.to_string())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(c) = count {
        cmd.env("PGTLS_STRESS_COUNT", c.to_string());
    }
    cmd.spawn().unwrap()
}

// ---------------------------------------------------------------- store invariants

/// Everything a store must satisfy at rest; returns the index serials.
fn check_store(dir: &Path, ca_key_pem: &[u8]) -> BTreeSet<String> {
    let store = DirStore::open(dir, None).unwrap_or_else(|e| panic!("store does not open: {e}"));
    let files = StoreFiles::in_dir(dir);
    assert_eq!(
        std::fs::read(&files.key).unwrap(),
        ca_key_pem,
        "the CA key changed"
    );
    let entries = store.entries().unwrap();
    let mut serials = BTreeSet::new();
    for e in &entries {
        assert!(
            serials.insert(e.serial.to_hex()),
            "serial {} twice in the index",
            e.serial.to_hex()
        );
        let path = files.newcert(&e.serial);
        let cert = Certificate::from_pem_or_der(
            &std::fs::read(&path).unwrap_or_else(|err| {
                panic!(
                    "index lists {} but {}: {err}",
                    e.serial.to_hex(),
                    path.display()
                )
            }),
            "newcert",
        )
        .unwrap_or_else(|err| panic!("{} is not a whole certificate: {err}", path.display()));
        assert_eq!(cert.serial().as_ref(), Some(&e.serial));
        assert!(cert.is_signed_by(store.ca().certificate()));
    }
    for f in std::fs::read_dir(&files.newcerts).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".pgtls-tmp-") {
            continue; // an unfinished temporary (checked by the caller)
        }
        Certificate::from_pem_or_der(&std::fs::read(&p).unwrap(), &name)
            .unwrap_or_else(|e| panic!("{}: half-written certificate: {e}", p.display()));
    }
    if let Some(crl) = store.current_crl().unwrap() {
        assert!(
            crl.is_signed_by(store.ca().certificate()),
            "crl.pem not signed by the CA"
        );
    }
    let crlnumber = std::fs::read_to_string(&files.crlnumber).unwrap();
    assert!(
        crlnumber.ends_with('\n') && SerialNumber::from_hex(crlnumber.trim()).is_ok(),
        "crlnumber {crlnumber:?}"
    );
    serials
}

fn is_temporary(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".pgtls-tmp-"))
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let mode = std::fs::symlink_metadata(&p).unwrap().permissions().mode();
            if p.is_dir() {
                out.insert(p.clone(), (Vec::new(), mode));
                stack.push(p);
            } else {
                out.insert(p.clone(), (std::fs::read(&p).unwrap(), mode));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- tests

#[test]
fn eight_processes_issue_into_one_store() {
    const PROCS: usize = 8;
    const EACH: usize = 12;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key_pem = std::fs::read(&store.files().key).unwrap();
    let children: Vec<Child> = (0..PROCS)
        .map(|i| {
            worker(
                if i % 2 == 0 { "issue" } else { "mixed" },
                &dir,
                Some(EACH),
                100 + i as u64,
                false,
            )
        })
        .collect();
    let mut issued = Vec::new();
    let mut revoked = BTreeSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for l in stdout.lines() {
            if let Some(s) = l.strip_prefix("ISSUED ") {
                issued.push(s.to_owned());
            } else if let Some(s) = l.strip_prefix("REVOKED ") {
                revoked.insert(s.to_owned());
            }
        }
    }
    let unique: BTreeSet<String> = issued.iter().cloned().collect();
    assert_eq!(unique.len(), issued.len(), "a serial was handed out twice");
    assert!(
        issued.len() >= PROCS / 2 * EACH,
        "only {} certificates issued",
        issued.len()
    );
    let index = check_store(&dir, &key_pem);
    assert_eq!(
        index, unique,
        "index.txt vs the serials the workers were given"
    );
    assert_eq!(
        common::newcert_serials(&dir),
        unique,
        "newcerts/ vs the serials the workers were given"
    );
    let entries = DirStore::open(&dir, None).unwrap().entries().unwrap();
    for e in &entries {
        assert_eq!(
            matches!(e.status, IndexStatus::Revoked { .. }),
            revoked.contains(&e.serial.to_hex()),
            "revocation status of {}",
            e.serial.to_hex()
        );
    }
    assert!(
        common::store_leftovers(&dir).is_empty(),
        "temporary files left: {:?}",
        common::store_leftovers(&dir)
    );
}

/// A writer waits for the store's lock while another process holds it (flock(1), the
/// same flock(2) lock), and gives up with `StoreLocked`, changing nothing, when it is
/// held past `LOCK_WAIT`.
#[test]
fn a_writer_waits_for_the_lock_then_gives_up_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let params = CertificateParams::client("waiter", Validity::days_from(now(), 1)).unwrap();
    let hold = |seconds: &str| {
        let mut child = Command::new("flock")
            .arg(&dir)
            .args(["-c", &format!("echo held; exec sleep {seconds}")])
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock(1) from util-linux is needed: apt-get install util-linux");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "held");
        child
    };
    // Held for half a second: the issuance waits for it, then goes through.
    let mut holder = hold("0.5");
    store.issue(&params, &key.public_key(), now()).unwrap();
    assert!(
        holder.try_wait().unwrap().is_some(),
        "the issuance went through while another process held the lock"
    );
    // Held for longer than LOCK_WAIT: a clear error, and the store is unchanged.
    let before = snapshot(&dir);
    let mut holder = hold(&(pgtls_core::LOCK_WAIT.as_secs() + 30).to_string());
    let e = store.issue(&params, &key.public_key(), now()).unwrap_err();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        matches!(&e, Error::StoreLocked { path, .. } if path == &dir),
        "{e:?}"
    );
    assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
    assert_eq!(
        snapshot(&dir),
        before,
        "a writer that gave up changed the store"
    );
}

#[test]
fn sigkill_at_random_points_leaves_a_sound_store() {
    // 300 kills take 32 s on the 2-core machine (with two niced fuzzers running); the
    // test bounds its own time at 240 s and fails if it could not kill 300 times.
    const KILLS: usize = 300;
    let budget = Duration::from_secs(240);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key_pem = std::fs::read(&store.files().key).unwrap();
    drop(store);
    let mut rng = Lcg(7);
    let mut ever: BTreeSet<String> = BTreeSet::new();
    let mut handed_out: BTreeSet<String> = BTreeSet::new();
    let mut kills = 0usize;
    let mut crls = 0usize;
    let mut leftover_temps = 0usize;
    let mut pending_seen = 0usize;
    let mut pending_max = 0usize;
    let mut last_crl: Option<SerialNumber> = None;
    let start = Instant::now();
    while kills < KILLS && start.elapsed() < budget {
        let mut child = worker("mixed", &dir, None, rng.next(), false);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // The test harness prints its own lines first; wait for the worker's READY.
        let mut line = String::new();
        loop {
            let mut l = String::new();
            let n = out.read_line(&mut l).unwrap();
            line.push_str(&l);
            assert!(n > 0, "worker did not start: {line:?}");
            if l.trim() == "READY" {
                break;
            }
        }
        // Let it run into the middle of some operation: 0 to 50 ms (an issuance with its
        // six fsyncs takes 10-30 ms on disk, a batch a little more).
        std::thread::sleep(Duration::from_micros(rng.next() % 50_000));
        // std's Child::kill sends SIGKILL on Unix.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "worker ended by itself: {status}");
        kills += 1;
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        for l in line.lines().chain(rest.lines()) {
            if let Some(s) = l.strip_prefix("ISSUED ") {
                assert!(
                    handed_out.insert(s.to_owned()),
                    "serial {s} handed out twice"
                );
            } else if let Some(n) = l.strip_prefix("CRL ") {
                let n = SerialNumber::from_hex(n).unwrap();
                assert!(
                    last_crl.as_ref().is_none_or(|last| &n > last),
                    "CRL number {} after {:?}: a number was reused",
                    n.to_hex(),
                    last_crl.as_ref().map(SerialNumber::to_hex)
                );
                last_crl = Some(n);
                crls += 1;
            }
        }
        // What a killed writer left: temporaries and the unfinished certificates of at
        // most one issuance (a batch has up to 8).
        let left = common::store_leftovers(&dir);
        let pending_now = left.iter().filter(|p| !is_temporary(p)).count();
        leftover_temps += left.iter().filter(|p| is_temporary(p)).count();
        pending_seen += pending_now;
        pending_max = pending_max.max(pending_now);
        assert!(
            pending_now <= 8,
            "more unfinished certificates than one batch: {left:?}"
        );
        // Opening the store cleans up after the killed writer: no temporary stays, and
        // the index lists exactly the certificates in newcerts/.
        drop(DirStore::open(&dir, None).unwrap_or_else(|e| panic!("store does not open: {e}")));
        assert_eq!(
            common::store_leftovers(&dir),
            Vec::<PathBuf>::new(),
            "left after open"
        );
        let index: BTreeSet<String> = DirStore::read_entries(&StoreFiles::in_dir(&dir))
            .unwrap_or_else(|e| panic!("index unreadable after a kill: {e}"))
            .iter()
            .map(|e| e.serial.to_hex())
            .collect();
        assert_eq!(
            common::newcert_serials(&dir),
            index,
            "newcerts/ and index.txt disagree after kill {kills}"
        );
        // The full check (every certificate parsed) every 10th kill.
        if kills.is_multiple_of(10) {
            assert_eq!(check_store(&dir, &key_pem), index);
        }
        assert!(
            ever.is_subset(&index),
            "serials vanished from the index: {:?}",
            ever.difference(&index).collect::<Vec<_>>()
        );
        assert!(
            handed_out.is_subset(&index),
            "an issued certificate is missing from the index"
        );
        ever = index;
    }
    eprintln!(
        "{kills} SIGKILLs in {:.1?}: {} certificates in the index, {} handed out, {crls} CRLs \
         (numbers strictly increasing), {pending_seen} unfinished certificates (at most \
         {pending_max} at once) and {leftover_temps} temporary files left by killed writers, \
         all cleaned up by the next open",
        start.elapsed(),
        ever.len(),
        handed_out.len(),
    );
    assert!(
        kills == KILLS,
        "only {kills} kills in {budget:?} ({KILLS} wanted)"
    );
    assert!(
        handed_out.len() >= 20,
        "the workers made too little progress: {}",
        handed_out.len()
    );
    assert!(crls >= 5, "too few CRLs generated between kills: {crls}");
    // Whether random kills land inside a batch depends on the disk (on tmpfs they never
    // did in 900): store_crash_points kills at every point of a batch on purpose.
    let final_index = check_store(&dir, &key_pem);
    assert_eq!(final_index, ever);
    // A handed-out serial can never be issued again.
    let store = DirStore::open(&dir, None).unwrap();
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    for s in handed_out.iter().take(20) {
        let mut p = CertificateParams::client("reuse", Validity::days_from(now(), 1)).unwrap();
        p.serial = Some(SerialNumber::from_hex(s).unwrap());
        let e = store.issue(&p, &key.public_key(), now()).unwrap_err();
        assert!(
            matches!(e, Error::DuplicateSerial { .. }),
            "serial {s} was accepted again: {e}"
        );
    }
    let report = DirStore::check(&StoreFiles::in_dir(&dir), now()).unwrap();
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, StoreProblem::Crl { .. })),
        "pgtls ca check finds problems: {:?}",
        report.problems
    );
}

/// A mounted tmpfs, unmounted on drop.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount(args: &[&str], target: &Path, what: &str) -> Mount {
    let out = Command::new("mount")
        .args(args)
        .arg(target)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run mount(8) for {what}: {e}; this test needs root and util-linux `mount`"
            )
        });
    assert!(
        out.status.success(),
        "mount {args:?} {} failed ({what}): {}\nThis test needs root (CAP_SYS_ADMIN) to mount; run it as root.",
        target.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Mount(target.to_path_buf())
}

fn assert_os_error(e: &Error, needle: &str) {
    let shown = e.to_string();
    let source = std::error::Error::source(e)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(e, Error::Io { .. }),
        "expected an I/O error, got {e:?}"
    );
    assert!(
        shown.contains('/'),
        "the error does not name the file: {shown}"
    );
    assert!(
        source.contains(needle),
        "the OS error is not {needle:?}: {shown}: {source}"
    );
    assert!(
        !shown.contains(&source),
        "Display repeats the source: {shown}"
    );
}

#[test]
fn full_disk_gives_clear_errors_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let _m = mount(
        &["-t", "tmpfs", "-o", "size=128k,mode=0755", "tmpfs"],
        &mnt,
        "a 128 KiB tmpfs",
    );
    let dir = mnt.join("ca");
    let store = new_store(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let params = CertificateParams::client("disk", Validity::days_from(now(), 30)).unwrap();
    let first = store.issue(&params, &key.public_key(), now()).unwrap();
    // Fill the file system to the last block.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 512];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
        let _ = f.sync_all();
    }
    let before = snapshot(&dir);
    let e = store.issue(&params, &key.public_key(), now()).unwrap_err();
    assert_os_error(&e, "No space left on device");
    assert_eq!(snapshot(&dir), before, "a failed issue changed the store");
    // Batches below and above the syncfs threshold.
    let batch = |n: usize| -> Vec<(CertificateParams, pgtls_core::PublicKey)> {
        (0..n)
            .map(|i| {
                (
                    CertificateParams::client(&format!("disk{i}"), Validity::days_from(now(), 30))
                        .unwrap(),
                    key.public_key(),
                )
            })
            .collect()
    };
    for n in [2, 8] {
        let e = store.issue_batch(&batch(n), now()).unwrap_err();
        assert_os_error(&e, "No space left on device");
        assert_eq!(
            snapshot(&dir),
            before,
            "a failed batch of {n} changed the store"
        );
    }
    let e = store
        .revoke(&first.serial().unwrap(), None, now())
        .unwrap_err();
    assert_os_error(&e, "No space left on device");
    assert_eq!(snapshot(&dir), before, "a failed revoke changed the store");
    let e = store
        .generate_crl(now() + time::Duration::days(1), now())
        .unwrap_err();
    assert_os_error(&e, "No space left on device");
    assert_eq!(
        snapshot(&dir),
        before,
        "a failed CRL generation changed the store"
    );
    // Room for a few temporaries, not for a batch of 8: it fails half-way through
    // writing them, and removes the ones it wrote.
    {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap();
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(3 * 4096)).unwrap();
    }
    let e = store.issue_batch(&batch(8), now()).unwrap_err();
    assert_os_error(&e, "No space left on device");
    assert_eq!(
        snapshot(&dir),
        before,
        "a batch that filled the disk half-way changed the store"
    );
    // The batched writer of output files: nothing appears, no temporary stays.
    let out = mnt.join("out");
    std::fs::create_dir(&out).unwrap();
    {
        let names: Vec<PathBuf> = (0..8).map(|i| out.join(format!("r{i}.key"))).collect();
        let files: Vec<pgtls_core::NewFile<'_>> = names
            .iter()
            .map(|path| pgtls_core::NewFile {
                path,
                bytes: &[b'k'; 300],
                secret: true,
            })
            .collect();
        let e = pgtls_core::write_files(&files, false).unwrap_err();
        assert_os_error(&e, "No space left on device");
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            0,
            "files left in {out:?}"
        );
    }
    // Creating a store runs out of space half-way: no store directory, and nothing of
    // the half-built one stays next to it.
    let other = mnt.join("ca2");
    let listing = || {
        let mut v: Vec<String> = std::fs::read_dir(&mnt)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let listed = listing();
    let new_ca = || {
        Ca::create_root(
            &CertificateParams::ca(
                DistinguishedName::common_name("Full CA"),
                Validity::days_from(now(), 365),
                None,
            ),
            KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        )
        .unwrap()
    };
    let e = DirStore::create(&other, new_ca(), None).unwrap_err();
    assert_os_error(&e, "No space left on device");
    assert_eq!(listing(), listed, "a failed create left something behind");
    // With room again, the store works and the first certificate is still there.
    std::fs::remove_file(&filler).unwrap();
    DirStore::create(&other, new_ca(), None).unwrap();
    let store = DirStore::open(&dir, None).unwrap();
    store.revoke(&first.serial().unwrap(), None, now()).unwrap();
    store.issue(&params, &key.public_key(), now()).unwrap();
    assert_eq!(store.issue_batch(&batch(8), now()).unwrap().len(), 8);
    assert_eq!(store.entries().unwrap().len(), 10);
}

#[test]
fn read_only_directory_gives_clear_errors_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let store = new_store(&dir);
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let params = CertificateParams::client("ro", Validity::days_from(now(), 30)).unwrap();
    let first = store.issue(&params, &key.public_key(), now()).unwrap();
    let before = snapshot(&dir);
    let _bind = mount(
        &["--bind", dir.to_str().unwrap()],
        &dir,
        "a bind mount of the store",
    );
    // The remount changes the bind mount in place: one unmount (by `_bind`) undoes both.
    std::mem::forget(mount(
        &["-o", "remount,bind,ro"],
        &dir,
        "remounting the bind mount read-only",
    ));
    let e = store.issue(&params, &key.public_key(), now()).unwrap_err();
    assert_os_error(&e, "Read-only file system");
    let e = store
        .revoke(&first.serial().unwrap(), None, now())
        .unwrap_err();
    assert_os_error(&e, "Read-only file system");
    let e = store
        .generate_crl(now() + time::Duration::days(1), now())
        .unwrap_err();
    assert_os_error(&e, "Read-only file system");
    // Opening and reading a read-only store works.
    let ro = DirStore::open(&dir, None).unwrap();
    assert_eq!(ro.entries().unwrap().len(), 1);
    drop(_bind);
    assert_eq!(
        snapshot(&dir),
        before,
        "failed operations changed the store"
    );
}

#[test]
fn private_keys_are_never_readable_by_others() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, polls, seen, root) = (stop.clone(), polls.clone(), seen.clone(), root.clone());
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                let mut stack = vec![root.clone()];
                while let Some(d) = stack.pop() {
                    let Ok(rd) = std::fs::read_dir(&d) else {
                        continue;
                    };
                    for e in rd.flatten() {
                        let p = e.path();
                        let Ok(md) = std::fs::symlink_metadata(&p) else {
                            continue;
                        };
                        if md.is_dir() {
                            stack.push(p);
                            continue;
                        }
                        let secret = p.components().any(|c| c.as_os_str() == "private")
                            || p.extension().is_some_and(|x| x == "key");
                        if secret {
                            seen.fetch_add(1, Ordering::Relaxed);
                            let mode = md.permissions().mode() & 0o777;
                            if mode & 0o077 != 0 {
                                return Err(format!("{} had mode {mode:o}", p.display()));
                            }
                        }
                    }
                }
                polls.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    // Two writers with umask 000, so any mode not set explicitly would show.
    let a = worker("keys", &root.join("a"), Some(40), 1, true);
    let b = worker("keys", &root.join("b"), Some(40), 2, true);
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::create_dir_all(root.join("b")).unwrap();
    for c in [a, b] {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "key worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("DONE 40"));
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap().unwrap();
    let (polls, seen) = (polls.load(Ordering::Relaxed), seen.load(Ordering::Relaxed));
    eprintln!("{polls} polls, {seen} observations of secret files");
    assert!(
        polls >= 20 && seen >= 100,
        "the watcher saw too little: {polls} polls, {seen} files"
    );
    // At rest: every key 0600, the private directory 0700.
    for d in ["a", "b"] {
        for i in 0..40 {
            let sub = root.join(d).join(format!("s{i}"));
            for f in [
                "private/cakey.pem",
                "server.key",
                "private/extra.key",
                "batch0.key",
                "batch4.key",
            ] {
                let mode = std::fs::metadata(sub.join(f)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}/{f}", sub.display());
            }
            let mode = std::fs::metadata(sub.join("private"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o700, "{}/private", sub.display());
        }
    }
}
