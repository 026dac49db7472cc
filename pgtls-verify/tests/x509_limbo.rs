//! x509-limbo-format corpora through pgtls-verify in libpq mode, with
//! `openssl verify` (the library libpq links) as the oracle on every case.
//!
//! A testcase becomes what libpq would do with it: the peer certificate and
//! the untrusted intermediates are the chain the server sends, the trusted
//! certificates are the `sslrootcert` file, the CRLs the `sslcrl` file, the
//! validation time the clock; `sslmode=verify-full` with `host` set to the
//! expected peer name (an IP literal for an IP peer), `verify-ca` when the
//! testcase names no peer. OpenSSL is asked the same question:
//! `openssl verify -purpose sslserver -auth_level 2 -attime T -CAfile roots
//! [-untrusted ints] [-crl_check_all -CRLfile crls]` (no `-partial_chain`:
//! libpq sets no verify flags but the CRL ones), then again with
//! `-verify_hostname` / `-verify_ip` for the name.
//!
//! Every case must satisfy three things:
//! 1. pgtls's chain verdict equals `openssl verify`'s, always (a pgtls accept
//!    that OpenSSL rejects is a FALSE ACCEPT);
//! 2. pgtls's verify-full verdict equals OpenSSL's with the name, or the case
//!    is an exception of class `libpq-hostname` (libpq matches names itself,
//!    spec §4, not with `X509_check_host`);
//! 3. pgtls's verdict equals the corpus's `expected_result`, or the case is in
//!    the exceptions file, whose entry says why OpenSSL 3 (and so libpq)
//!    decides otherwise and records OpenSSL's answer (checked on every run).
//!
//! Unexpected failures, unexpected successes and stale exceptions all fail.
//! Cases libpq cannot express are skipped, counted by reason: CLIENT
//! validation (pgtls's server side is tested elsewhere) and RFC 822 peers.
//!
//! Corpora:
//! - `own_corpus_in_limbo_format` (always runs): testdata/limbo/own-corpus.tsv
//!   over the openssl-made fixtures, written as a limbo JSON file and read
//!   back through the same loader. Exceptions: testdata/limbo/own-exceptions.json.
//! - `x509_limbo_corpus` (ignored): x509-limbo's own `limbo.json`, at the path
//!   in `PGTLS_LIMBO_JSON`. No package registry carries that file, so CI cannot
//!   have it (testdata/limbo/README.md). Exceptions:
//!   testdata/limbo/exceptions.json, written by a run with
//!   `PGTLS_LIMBO_REGEN=1`.
//!
//! `PGTLS_LIMBO_REGEN=1` rewrites the exceptions file from the run (keeping
//! the reasons of entries that remain) instead of failing on rule 3.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pgtls_verify::{Env, Params, PgVersion, verify_server};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- the format

/// The part of x509-limbo's schema (limbo-schema.json) this harness reads.
#[derive(Deserialize, Serialize)]
struct Limbo {
    version: u32,
    testcases: Vec<Testcase>,
}

#[derive(Deserialize, Serialize)]
struct Testcase {
    id: String,
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(default)]
    description: String,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    #[serde(default)]
    validation_time: Option<String>,
    expected_result: String,
    #[serde(default)]
    expected_peer_name: Option<PeerName>,
    #[serde(default)]
    max_chain_depth: Option<u32>,
    #[serde(default)]
    crls: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize, Clone)]
struct PeerName {
    kind: String,
    value: String,
}

/// testdata/limbo/*exceptions.json.
#[derive(Deserialize, Serialize, Default)]
struct Exceptions {
    #[serde(default)]
    note: String,
    exceptions: Vec<Exception>,
}

#[derive(Deserialize, Serialize, Clone)]
struct Exception {
    id: String,
    /// `openssl-accepts`, `openssl-rejects: <OpenSSL's reason>` or `libpq-hostname`.
    class: String,
    /// Why libpq / OpenSSL 3 decides otherwise than the corpus expects.
    reason: String,
    /// OpenSSL's answer on the case (`OK` or its `error N at D depth` line).
    openssl: String,
}

// ------------------------------------------------------------- the verdicts

/// `openssl verify`'s answer: `None` = OK, else its error line.
type OsslVerdict = Option<String>;

fn openssl_verify(dir: &Path, case: &Files, at: i64, name: Option<&PeerName>) -> OsslVerdict {
    let mut args: Vec<String> = vec![
        "verify".into(),
        "-purpose".into(),
        "sslserver".into(),
        "-auth_level".into(),
        "2".into(),
        "-attime".into(),
        at.to_string(),
        "-CAfile".into(),
        case.roots.display().to_string(),
    ];
    if let Some(u) = &case.untrusted {
        args.extend(["-untrusted".into(), u.display().to_string()]);
    }
    if let Some(c) = &case.crls {
        args.extend([
            "-crl_check_all".into(),
            "-CRLfile".into(),
            c.display().to_string(),
        ]);
    }
    if let Some(n) = name {
        let opt = if n.kind == "IP" {
            "-verify_ip"
        } else {
            "-verify_hostname"
        };
        args.extend([opt.into(), n.value.clone()]);
    }
    args.push(case.leaf.display().to_string());
    let out = pgtls_testkit::openssl_raw(dir, &args).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains(": OK") {
        return None;
    }
    // "error 20 at 0 depth lookup: unable to get local issuer certificate"
    let line = text
        .lines()
        .find(|l| l.starts_with("error ") && l.contains(" depth lookup: "))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            // A file OpenSSL cannot load (no certificate, a bad PEM block):
            // libpq fails the same way before any handshake.
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            format!("load error: {first}")
        });
    Some(line)
}

/// The files of one case, as libpq and openssl get them.
struct Files {
    leaf: PathBuf,
    untrusted: Option<PathBuf>,
    roots: PathBuf,
    crls: Option<PathBuf>,
    /// The chain the server sends: leaf then intermediates (DER).
    chain: Vec<pgtls_verify::CertificateDer<'static>>,
}

fn pem_to_der(pems: &[&str]) -> Result<Vec<pgtls_verify::CertificateDer<'static>>, String> {
    let mut out = Vec::new();
    for p in pems {
        out.extend(pgtls_verify::read_chain_pem(p.as_bytes()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn write_files(dir: &Path, tc: &Testcase) -> Result<Files, String> {
    let leaf = dir.join("leaf.pem");
    std::fs::write(&leaf, &tc.peer_certificate).unwrap();
    let untrusted = (!tc.untrusted_intermediates.is_empty()).then(|| {
        let p = dir.join("untrusted.pem");
        std::fs::write(&p, tc.untrusted_intermediates.concat()).unwrap();
        p
    });
    let roots = dir.join("roots.pem");
    std::fs::write(&roots, tc.trusted_certs.concat()).unwrap();
    let crls = tc.crls.as_ref().filter(|c| !c.is_empty()).map(|c| {
        let p = dir.join("crls.pem");
        std::fs::write(&p, c.concat()).unwrap();
        p
    });
    let mut pems = vec![tc.peer_certificate.as_str()];
    pems.extend(tc.untrusted_intermediates.iter().map(String::as_str));
    let chain = pem_to_der(&pems)?;
    Ok(Files {
        leaf,
        untrusted,
        roots,
        crls,
        chain,
    })
}

/// pgtls's answer: `None` = accept, else why not.
fn pgtls_verify(files: &Files, at: i64, name: Option<&PeerName>) -> Option<String> {
    let mut params = Params::default();
    params.sslrootcert = Some(files.roots.clone());
    params.sslcrl = files.crls.clone();
    match name {
        Some(n) => {
            params.sslmode = Some("verify-full".into());
            params.host = Some(n.value.clone());
        }
        None => params.sslmode = Some("verify-ca".into()),
    }
    let at = pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(at).unwrap_or(0),
    ));
    match verify_server(&params, &Env::empty(), PgVersion::V17, &files.chain, at) {
        Ok(v) if v.accepted() => None,
        Ok(v) => Some(match v.hidden_reason() {
            Some(c) => format!(
                "{} ({:?} at depth {})",
                v.message().map(str::to_owned).unwrap_or_default(),
                c.reason.unwrap(),
                c.depth.unwrap_or(0)
            ),
            None => v.message().map(str::to_owned).unwrap_or_default(),
        }),
        Err(e) => Some(format!("pgtls cannot evaluate: {e}")),
    }
}

fn parse_time(s: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("validation_time {s:?}: {e}"))
}

// --------------------------------------------------------------- the runner

enum Outcome {
    Skipped(String),
    Ran(Row),
}

struct Row {
    id: String,
    expected_success: bool,
    pgtls_chain: Option<String>,
    pgtls_full: Option<String>,
    openssl_chain: OsslVerdict,
    openssl_full: OsslVerdict,
}

impl Row {
    fn pgtls_accepts(&self) -> bool {
        self.pgtls_full.is_none()
    }
    fn openssl_summary(&self) -> String {
        self.openssl_full.clone().unwrap_or_else(|| "OK".into())
    }
    /// The class of an exception for this row when the names agree.
    fn class(&self) -> String {
        match &self.openssl_full {
            None => "openssl-accepts".into(),
            Some(line) => {
                let reason = line.split(" depth lookup: ").nth(1).unwrap_or(line);
                format!("openssl-rejects: {reason}")
            }
        }
    }
}

fn skip_reason(tc: &Testcase) -> Option<String> {
    if tc.validation_kind != "SERVER" {
        return Some(format!(
            "validation_kind {}: libpq verifies a server's chain (pgtls's server side has its own tests)",
            tc.validation_kind
        ));
    }
    if let Some(p) = &tc.expected_peer_name
        && p.kind != "DNS"
        && p.kind != "IP"
    {
        return Some(format!(
            "expected_peer_name of kind {}: libpq's host is a DNS name or an IP address",
            p.kind
        ));
    }
    None
}

fn run_case(dir: &Path, tc: &Testcase, default_now: i64) -> Outcome {
    if let Some(r) = skip_reason(tc) {
        return Outcome::Skipped(r);
    }
    let at = match &tc.validation_time {
        Some(t) => parse_time(t).unwrap_or_else(|e| panic!("{}: {e}", tc.id)),
        None => default_now,
    };
    let case_dir = tempfile::tempdir_in(dir).unwrap();
    let expected_success = match tc.expected_result.as_str() {
        "SUCCESS" => true,
        "FAILURE" => false,
        other => panic!("{}: expected_result {other:?}", tc.id),
    };
    let files = match write_files(case_dir.path(), tc) {
        Ok(f) => f,
        Err(e) => {
            // pgtls cannot split the PEM: libpq (PEM_read_bio_X509) would
            // fail too, but only openssl can say so.
            let stub = Files {
                leaf: case_dir.path().join("leaf.pem"),
                untrusted: (!tc.untrusted_intermediates.is_empty())
                    .then(|| case_dir.path().join("untrusted.pem")),
                roots: case_dir.path().join("roots.pem"),
                crls: tc
                    .crls
                    .as_ref()
                    .filter(|c| !c.is_empty())
                    .map(|_| case_dir.path().join("crls.pem")),
                chain: Vec::new(),
            };
            let o = openssl_verify(case_dir.path(), &stub, at, None);
            let reason = Some(format!("pgtls cannot read the PEM: {e}"));
            return Outcome::Ran(Row {
                id: tc.id.clone(),
                expected_success,
                pgtls_chain: reason.clone(),
                pgtls_full: reason,
                openssl_chain: o.clone(),
                openssl_full: o,
            });
        }
    };
    let name = tc.expected_peer_name.as_ref();
    let pgtls_chain = pgtls_verify(&files, at, None);
    let pgtls_full = match name {
        Some(_) if pgtls_chain.is_none() => pgtls_verify(&files, at, name),
        _ => pgtls_chain.clone(),
    };
    let openssl_chain = openssl_verify(case_dir.path(), &files, at, None);
    let openssl_full = match name {
        Some(_) if openssl_chain.is_none() => openssl_verify(case_dir.path(), &files, at, name),
        _ => openssl_chain.clone(),
    };
    Outcome::Ran(Row {
        id: tc.id.clone(),
        expected_success,
        pgtls_chain,
        pgtls_full,
        openssl_chain,
        openssl_full,
    })
}

struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
}

/// Runs every testcase of `corpus`, checks rules 1-3 against `exceptions_path`
/// and returns the printed report. With `PGTLS_LIMBO_REGEN=1`, rewrites the
/// exceptions file instead of failing on rule 3.
fn run_corpus(label: &str, corpus: &Path, exceptions_path: &Path, default_now: i64) -> Report {
    let started = Instant::now();
    let text =
        std::fs::read_to_string(corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
    let limbo: Limbo = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not a limbo corpus: {e}", corpus.display()));
    assert_eq!(limbo.version, 1, "{}: limbo version", corpus.display());
    let regen = std::env::var_os("PGTLS_LIMBO_REGEN").is_some();
    let exceptions: Exceptions = match std::fs::read_to_string(exceptions_path) {
        Ok(t) => serde_json::from_str(&t)
            .unwrap_or_else(|e| panic!("{}: {e}", exceptions_path.display())),
        Err(_) if regen => Exceptions::default(),
        Err(e) => panic!(
            "{}: {e} (a first run with PGTLS_LIMBO_REGEN=1 writes it)",
            exceptions_path.display()
        ),
    };
    let mut by_id: BTreeMap<&str, &Exception> = BTreeMap::new();
    for e in &exceptions.exceptions {
        assert!(
            by_id.insert(e.id.as_str(), e).is_none(),
            "{}: {} listed twice",
            exceptions_path.display(),
            e.id
        );
        assert!(
            regen || !(e.reason.trim().is_empty() || e.reason.starts_with("TODO")),
            "{}: {} has no reason yet",
            exceptions_path.display(),
            e.id
        );
    }

    // Two workers: the machine has two cores, and openssl is the slow part.
    let tmp = tempfile::tempdir().unwrap();
    let cases = &limbo.testcases;
    let half = cases.len().div_ceil(2).max(1);
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(half)
            .map(|chunk| {
                let dir = tmp.path();
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|tc| run_case(dir, tc, default_now))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut failures = Vec::new();
    let mut false_accepts = Vec::new();
    let mut name_accepts = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut new_exceptions = Vec::new();
    let (mut ran, mut as_expected) = (0usize, 0usize);
    let mut seen = std::collections::BTreeSet::new();
    for o in &outcomes {
        let row = match o {
            Outcome::Skipped(r) => {
                *skipped.entry(r.clone()).or_default() += 1;
                continue;
            }
            Outcome::Ran(row) => row,
        };
        ran += 1;
        seen.insert(row.id.as_str());
        // Rule 1: the chain verdict is OpenSSL's.
        if row.pgtls_chain.is_some() != row.openssl_chain.is_some() {
            let what = if row.pgtls_chain.is_none() {
                false_accepts.push(row.id.clone());
                "FALSE ACCEPT"
            } else {
                "false reject"
            };
            failures.push(format!(
                "{what} {}: pgtls chain {:?}, openssl {:?}",
                row.id, row.pgtls_chain, row.openssl_chain
            ));
            continue;
        }
        // Rule 2: the name verdict is OpenSSL's unless libpq's own matcher differs.
        let name_differs = row.pgtls_full.is_some() != row.openssl_full.is_some();
        let listed = by_id.get(row.id.as_str());
        if name_differs && !regen && listed.is_none_or(|e| e.class != "libpq-hostname") {
            failures.push(format!(
                "{}: pgtls {:?}, openssl with the name {:?} (an exception of class libpq-hostname if libpq's matcher decides so)",
                row.id, row.pgtls_full, row.openssl_full
            ));
            continue;
        }
        // Rule 3: the corpus's expectation, or a listed exception.
        let matches = row.pgtls_accepts() == row.expected_success;
        if matches && !name_differs {
            as_expected += 1;
            if listed.is_some() && !regen {
                failures.push(format!(
                    "{}: listed as an exception but pgtls now decides as the corpus expects ({})",
                    row.id,
                    if row.expected_success {
                        "SUCCESS"
                    } else {
                        "FAILURE"
                    }
                ));
            }
            continue;
        }
        if name_differs && row.pgtls_accepts() {
            name_accepts.push(row.id.clone());
        }
        let class = if name_differs {
            "libpq-hostname".to_string()
        } else {
            row.class()
        };
        let openssl = row.openssl_summary();
        *by_class.entry(class.clone()).or_default() += 1;
        match listed {
            Some(e) if e.class == class && e.openssl == openssl => {
                new_exceptions.push((*e).clone());
            }
            Some(e) => {
                if !regen {
                    failures.push(format!(
                        "{}: exception recorded as class {:?} / openssl {:?}, now {class:?} / {openssl:?}",
                        row.id, e.class, e.openssl
                    ));
                }
                new_exceptions.push(Exception {
                    class,
                    openssl,
                    ..(*e).clone()
                });
            }
            None => {
                if !regen {
                    failures.push(format!(
                        "unexpected {} {}: pgtls {:?}; openssl agrees ({openssl}); list it in {} if libpq decides so",
                        if row.pgtls_accepts() { "success" } else { "failure" },
                        row.id,
                        row.pgtls_full,
                        exceptions_path.display()
                    ));
                }
                new_exceptions.push(Exception {
                    id: row.id.clone(),
                    reason: format!("TODO: why OpenSSL 3 decides so ({openssl})"),
                    class,
                    openssl,
                });
            }
        }
    }
    for e in &exceptions.exceptions {
        if !seen.contains(e.id.as_str()) && !regen {
            failures.push(format!("{}: listed as an exception but not run", e.id));
        }
    }
    if regen {
        let out = Exceptions {
            note: exceptions.note.clone(),
            exceptions: new_exceptions,
        };
        let mut json = serde_json::to_string_pretty(&out).unwrap();
        json.push('\n');
        std::fs::write(exceptions_path, json).unwrap();
    }

    let total = outcomes.len();
    let n_skipped: usize = skipped.values().sum();
    let n_exc: usize = by_class.values().sum();
    let mut lines = vec![
        format!("x509-limbo harness, {label}: {}", corpus.display()),
        format!(
            "  total {total}, ran {ran}, as the corpus expects {as_expected}, exceptions {n_exc}, skipped {n_skipped}, failures {}, in {:.1} s",
            failures.len(),
            started.elapsed().as_secs_f64()
        ),
    ];
    for (c, n) in &by_class {
        lines.push(format!("  exception {n:5}  {c}"));
    }
    for (r, n) in &skipped {
        lines.push(format!("  skipped   {n:5}  {r}"));
    }
    if !false_accepts.is_empty() {
        lines.push(format!(
            "  FALSE ACCEPTS (pgtls accepts, openssl rejects): {}",
            false_accepts.join(", ")
        ));
    }
    if !name_accepts.is_empty() {
        lines.push(format!(
            "  accepted by libpq's name rules where X509_check_host rejects (review the reasons): {}",
            name_accepts.join(", ")
        ));
    }
    let mut err = std::io::stderr().lock();
    for l in &lines {
        // Straight to the process's stderr, past the test harness's capture,
        // so the counts are in every test run's output.
        writeln!(err, "{l}").unwrap();
    }
    for f in &failures {
        writeln!(err, "  FAIL {f}").unwrap();
    }
    assert!(ran > 0, "{label}: the corpus ran no rows");
    Report { lines, failures }
}

fn check(report: &Report) {
    assert!(
        report.failures.is_empty(),
        "{} failure(s):\n{}\n{}",
        report.failures.len(),
        report.failures.join("\n"),
        report.lines.join("\n")
    );
}

// ---------------------------------------------------------------- the tests

fn workspace_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// testdata/limbo/own-corpus.tsv over gen.sh's fixtures, as a limbo JSON file.
fn own_corpus(fixtures: &Path, now: i64, out: &Path) -> usize {
    let manifest =
        std::fs::read_to_string(workspace_file("testdata/limbo/own-corpus.tsv")).unwrap();
    let read = |name: &str, ext: &str| -> String {
        std::fs::read_to_string(fixtures.join(format!("{name}.{ext}")))
            .unwrap_or_else(|e| panic!("fixture {name}.{ext}: {e}"))
    };
    let list = |field: &str, ext: &str| -> Vec<String> {
        if field == "-" {
            Vec::new()
        } else {
            field.split(',').map(|n| read(n, ext)).collect()
        }
    };
    let mut testcases = Vec::new();
    for (i, line) in manifest.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [
            id,
            kind,
            leaf,
            untrusted,
            trusted,
            crls,
            offset,
            peer,
            features,
            expected,
        ] = f[..]
        else {
            panic!("own-corpus.tsv line {}: 10 fields expected: {line}", i + 1);
        };
        let at = now + offset.parse::<i64>().unwrap();
        let at = time::OffsetDateTime::from_unix_timestamp(at)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let expected_peer_name = (peer != "-").then(|| {
            let (kind, value) = peer.split_once(':').unwrap();
            PeerName {
                kind: kind.into(),
                value: value.into(),
            }
        });
        let crls = list(crls, "crl");
        testcases.push(Testcase {
            id: format!("pgtls::{id}"),
            features: (features != "-").then(|| features.split(',').map(Into::into).collect()),
            description: String::new(),
            validation_kind: kind.into(),
            trusted_certs: list(trusted, "pem"),
            untrusted_intermediates: list(untrusted, "pem"),
            peer_certificate: read(leaf, "pem"),
            validation_time: Some(at),
            expected_result: expected.into(),
            expected_peer_name,
            max_chain_depth: None,
            crls: (!crls.is_empty()).then_some(crls),
        });
    }
    let n = testcases.len();
    let json = serde_json::to_string(&Limbo {
        version: 1,
        testcases,
    })
    .unwrap();
    std::fs::write(out, json).unwrap();
    n
}

#[test]
fn own_corpus_in_limbo_format() {
    let fixtures = common::fixtures();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let corpus = fixtures.path().join("own-limbo.json");
    let n = own_corpus(fixtures.path(), now, &corpus);
    assert!(n >= 30, "own-corpus.tsv has only {n} cases");
    let report = run_corpus(
        "pgtls's own corpus",
        &corpus,
        &workspace_file("testdata/limbo/own-exceptions.json"),
        now,
    );
    check(&report);
}

#[test]
#[ignore = "needs x509-limbo's limbo.json at PGTLS_LIMBO_JSON; no package registry carries it (testdata/limbo/README.md)"]
fn x509_limbo_corpus() {
    pgtls_testkit::require_openssl().unwrap();
    let path = std::env::var_os("PGTLS_LIMBO_JSON")
        .expect("set PGTLS_LIMBO_JSON to x509-limbo's limbo.json (see testdata/limbo/README.md)");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = run_corpus(
        "x509-limbo",
        Path::new(&path),
        &workspace_file("testdata/limbo/exceptions.json"),
        now,
    );
    check(&report);
}
