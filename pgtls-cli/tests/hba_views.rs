//! Differential test: `pgtls hba rules` / `pgtls hba ident` against the
//! `pg_hba_file_rules` / `pg_ident_file_mappings` views of a real PostgreSQL 15.
//!
//! One cluster serves the whole corpus in `testdata/hba/` (see its README.md).
//! The server is started with `hba_file` and `ident_file` pointing into a
//! scratch directory. For each corpus file the test overwrites that file (and
//! copies the `@`-included support files next to it), asks the view, which
//! re-reads the file on every query in PostgreSQL 15, and runs the pgtls
//! command on the very same path, so error texts that contain the file's path
//! agree. The running server never reloads a corpus file: a reload happens
//! only after a working file is back in place.
//!
//! The rules corpus runs twice, with `ssl = off` and `ssl = on`, because
//! `hostssl` lines carry a warning in the view when SSL is off.
//!
//! Every mismatching file is reported in one failure message. Files listed in
//! `testdata/hba/known-divergences.json` for `hba_views` may differ, and the
//! test fails if one of them no longer differs.

// Tests may unwrap (the project's rule); helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pgtls_testkit::{Cluster, openssl, require_openssl};
use serde_json::Value;

/// The configuration the server actually runs with; written back before
/// every reload and at the end.
const WORKING_HBA: &str = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
const WORKING_IDENT: &str = "# no maps\n";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/hba")
}

/// A corpus directory: the `*.conf` files are cases, everything else
/// (recursively) is a support file that cases `@`-include.
struct Corpus {
    cases: Vec<PathBuf>,
    support: Vec<PathBuf>,
}

fn read_corpus(dir: &Path) -> Corpus {
    fn walk(dir: &Path, top: bool, out: &mut Corpus) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, false, out);
            } else if top && p.extension().is_some_and(|x| x == "conf") {
                out.cases.push(p);
            } else {
                out.support.push(p);
            }
        }
    }
    let mut c = Corpus {
        cases: Vec::new(),
        support: Vec::new(),
    };
    walk(dir, true, &mut c);
    c
}

/// Copies the support files of `src` into `dst`, keeping relative paths.
fn copy_support(corpus: &Corpus, src: &Path, dst: &Path) {
    for f in &corpus.support {
        let rel = f.strip_prefix(src).unwrap();
        let to = dst.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(f, &to).unwrap_or_else(|e| panic!("copy {}: {e}", f.display()));
        fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).unwrap();
    }
}

fn write_world_readable(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// Parses JSON lines; bytes that are not UTF-8 (the corpus has some) are
/// replaced the same way on both sides before parsing.
fn json_lines(bytes: &[u8]) -> Result<Vec<Value>, String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON ({e}): {}", clip(l))))
        .collect()
}

fn clip(s: &str) -> String {
    const MAX: usize = 600;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}... ({} chars)", s.chars().count())
    }
}

/// Asks the server's view, through psql on the Unix socket.
fn view_rows(cluster: &Cluster, view: &str) -> Vec<Value> {
    let out = cluster
        .psql(
            &[
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("select row_to_json(r) from {view} r"),
            ],
            &format!(
                "host={} port={} user=postgres dbname=postgres",
                cluster.socket_dir().display(),
                cluster.port()
            ),
            &[],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "psql on {view} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout).unwrap_or_else(|e| panic!("{view}: {e}"))
}

/// Runs `pgtls hba <what> FILE --pg-version 15 [--ssl S] --format jsonl`.
fn pgtls_rows(what: &str, file: &Path, ssl: Option<&str>) -> Result<Vec<Value>, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    cmd.args(["hba", what])
        .arg(file)
        .args(["--pg-version", "15"]);
    if let Some(s) = ssl {
        cmd.args(["--ssl", s]);
    }
    cmd.args(["--format", "jsonl"]);
    let out = cmd.output().map_err(|e| format!("cannot run pgtls: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The contract does not say how `rules` exits for a file with errors, so
    // 0 and 1 are both fine; usage errors (2) and panics (101) are not.
    match out.status.code() {
        Some(0 | 1) => {}
        other => {
            return Err(format!(
                "`pgtls hba {what}` exited with {other:?}; stderr: {}",
                clip(stderr.lines().next().unwrap_or(""))
            ));
        }
    }
    json_lines(&out.stdout).map_err(|e| format!("`pgtls hba {what}` printed {e}"))
}

/// Row-by-row comparison; `None` when equal.
fn compare(expected: &[Value], got: &[Value]) -> Option<String> {
    if expected == got {
        return None;
    }
    let mut msg = String::new();
    if expected.len() != got.len() {
        msg.push_str(&format!(
            "    {} rows from PostgreSQL, {} from pgtls\n",
            expected.len(),
            got.len()
        ));
    }
    for i in 0..expected.len().max(got.len()) {
        let (e, g) = (expected.get(i), got.get(i));
        if e == g {
            continue;
        }
        let line = e
            .or(g)
            .and_then(|r| r.get("line_number"))
            .map_or_else(|| "?".to_string(), ToString::to_string);
        let show =
            |v: Option<&Value>| v.map_or_else(|| "(no row)".into(), |v| clip(&v.to_string()));
        msg.push_str(&format!(
            "    row {} (line {line}):\n      postgres: {}\n      pgtls:    {}\n",
            i + 1,
            show(e),
            show(g)
        ));
    }
    Some(msg)
}

/// `(file relative to testdata/hba, reason)` for this test.
fn known_divergences(test: &str) -> BTreeMap<String, String> {
    let path = testdata().join("known-divergences.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list = all["divergences"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no \"divergences\" array", path.display()));
    let mut out = BTreeMap::new();
    for d in list {
        let (Some(t), Some(f), Some(r)) =
            (d["test"].as_str(), d["file"].as_str(), d["reason"].as_str())
        else {
            panic!("{}: entry without test/file/reason: {d}", path.display());
        };
        assert!(
            !r.trim().is_empty(),
            "{}: empty reason for {f}",
            path.display()
        );
        if t == test {
            assert!(
                testdata().join(f).is_file(),
                "{}: {f} does not exist",
                path.display()
            );
            out.insert(f.to_string(), r.to_string());
        }
    }
    out
}

/// Makes a self-signed P-256 server certificate with the openssl CLI.
fn server_cert(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    require_openssl().unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
        ],
    )
    .unwrap();
    (
        fs::read(dir.join("server.crt")).unwrap(),
        fs::read(dir.join("server.key")).unwrap(),
    )
}

fn wait_for_setting(cluster: &Cluster, name: &str, want: &str) {
    for _ in 0..200 {
        if cluster.sql(&format!("show {name}")).unwrap().trim() == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{name} did not become {want}; log:\n{}", cluster.log());
}

struct Run<'a> {
    cluster: &'a Cluster,
    /// Where `hba_file` / `ident_file` point.
    live: &'a Path,
    /// Per corpus file (relative name): the mismatch text, if any.
    mismatches: BTreeMap<String, Vec<String>>,
    compared: usize,
}

impl Run<'_> {
    fn pass(&mut self, kind: &str, corpus: &Corpus, ssl: Option<&str>) {
        let (view, what) = match kind {
            "rules" => ("pg_hba_file_rules", "rules"),
            _ => ("pg_ident_file_mappings", "ident"),
        };
        for case in &corpus.cases {
            let rel = case.strip_prefix(testdata()).unwrap().display().to_string();
            let bytes = fs::read(case).unwrap();
            write_world_readable(self.live, &bytes);
            let expected = view_rows(self.cluster, view);
            if let Some(dump) = std::env::var_os("PGTLS_HBADIFF_DUMP") {
                // For people working on pgtls-hba: what the server said.
                let name = format!(
                    "{}{}.jsonl",
                    rel.replace('/', "_"),
                    ssl.map_or("", |s| if s == "on" { ".ssl" } else { "" })
                );
                let text: String = expected.iter().map(|v| format!("{v}\n")).collect();
                fs::write(Path::new(&dump).join(name), text).unwrap();
            }
            let got = pgtls_rows(what, self.live, ssl);
            self.compared += 1;
            let label = ssl.map_or_else(String::new, |s| format!(" (ssl={s})"));
            let diff = match got {
                Ok(got) => compare(&expected, &got),
                Err(e) => Some(format!(
                    "    {e}\n    postgres had {} rows, first: {}\n",
                    expected.len(),
                    expected
                        .first()
                        .map_or_else(|| "(none)".into(), |v| clip(&v.to_string()))
                )),
            };
            if let Some(d) = diff {
                self.mismatches
                    .entry(rel)
                    .or_default()
                    .push(format!("  `pgtls hba {what}`{label}:\n{d}"));
            }
        }
    }
}

#[test]
fn views_match_postgresql_15() {
    let scratch = tempfile::Builder::new()
        .prefix("pgtls-hbadiff-")
        .tempdir()
        .unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let hba_dir = scratch.path().join("hba");
    let ident_dir = scratch.path().join("ident");
    for d in [&hba_dir, &ident_dir] {
        fs::create_dir(d).unwrap();
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let hba = hba_dir.join("pg_hba.conf");
    let ident = ident_dir.join("pg_ident.conf");
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    write_world_readable(&ident, WORKING_IDENT.as_bytes());

    let rules_src = testdata().join("rules");
    let ident_src = testdata().join("ident");
    let rules = read_corpus(&rules_src);
    let idents = read_corpus(&ident_src);
    assert!(
        rules.cases.len() >= 60,
        "rules corpus has {} files",
        rules.cases.len()
    );
    assert!(
        idents.cases.len() >= 10,
        "ident corpus has {} files",
        idents.cases.len()
    );
    copy_support(&rules, &rules_src, &hba_dir);
    copy_support(&idents, &ident_src, &ident_dir);

    let (crt, key) = server_cert(scratch.path());
    let cluster = Cluster::init().unwrap();
    cluster.write_file("server.crt", &crt, 0o600).unwrap();
    cluster.write_file("server.key", &key, 0o600).unwrap();
    cluster
        .append_conf(&format!(
            "hba_file = '{}'\nident_file = '{}'\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
            hba.display(),
            ident.display()
        ))
        .unwrap();
    let cluster = cluster.start_initialized().unwrap();

    // The oracle depends on the view re-reading the file on each query.
    for db in ["sentinel_one", "sentinel_two"] {
        write_world_readable(&hba, format!("local {db} all reject\n").as_bytes());
        let rows = view_rows(&cluster, "pg_hba_file_rules");
        assert_eq!(rows.len(), 1, "view rows for a one-line file: {rows:?}");
        assert_eq!(
            rows[0]["database"],
            serde_json::json!([db]),
            "the view did not re-read the file"
        );
    }

    let mut run = Run {
        cluster: &cluster,
        live: &hba,
        mismatches: BTreeMap::new(),
        compared: 0,
    };
    run.pass("rules", &rules, Some("off"));
    run.live = &ident;
    run.pass("ident", &idents, None);
    write_world_readable(&ident, WORKING_IDENT.as_bytes());

    // ssl = on for the second rules pass; the working file goes back first,
    // since a reload reads it.
    write_world_readable(&hba, WORKING_HBA.as_bytes());
    cluster.sql("alter system set ssl = on").unwrap();
    cluster.sql("select pg_reload_conf()").unwrap();
    wait_for_setting(&cluster, "ssl", "on");
    run.live = &hba;
    run.pass("rules", &rules, Some("on"));
    write_world_readable(&hba, WORKING_HBA.as_bytes());

    // The server never took a corpus file.
    let log = cluster.log();
    assert!(
        !log.contains("was not reloaded") && !log.contains("could not load"),
        "the server tried to load a corpus file:\n{log}"
    );
    assert_eq!(cluster.sql("select 1").unwrap().trim(), "1");

    let compared = run.compared;
    let mismatches = run.mismatches;
    let known = known_divergences("hba_views");
    let mut report = String::new();
    for (file, diffs) in &mismatches {
        if known.contains_key(file) {
            continue;
        }
        report.push_str(&format!("{file}:\n"));
        for d in diffs {
            report.push_str(d);
        }
    }
    for (file, reason) in &known {
        if !mismatches.contains_key(file) {
            report.push_str(&format!(
                "{file}: listed in known-divergences.json ({reason}) but pgtls now agrees with PostgreSQL; remove the entry\n"
            ));
        }
    }
    assert!(
        report.is_empty(),
        "pgtls differs from PostgreSQL 15's views ({} of {compared} comparisons; {} files):\n{report}",
        mismatches.values().map(Vec::len).sum::<usize>(),
        mismatches.len()
    );
}
