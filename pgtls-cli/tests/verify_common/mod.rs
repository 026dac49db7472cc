//! Shared parts of the differential suites `verify_server.rs` and `verify_client.rs`:
//! the openssl-made certificate cases (testdata/verify/gen.sh), the `pgtls` runner,
//! libpq error-text parsing and the known-divergences bookkeeping.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the suite's inputs live (testdata/verify at the workspace root).
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/verify")
}

/// Runs testdata/verify/gen.sh into a fresh directory; fails with its output.
pub(crate) fn generate(dir: &Path) -> Result<(), String> {
    pgtls_testkit::require_openssl()?;
    let out = Command::new("bash")
        .arg(testdata().join("gen.sh"))
        .arg(dir)
        .output()
        .map_err(|e| format!("bash gen.sh: {e} (install bash)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "testdata/verify/gen.sh failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Reads a tab-separated manifest written by gen.sh.
pub(crate) fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Quotes a conninfo value the way libpq's parser expects.
pub(crate) fn q(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What one side (libpq/server or pgtls) decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The TLS session completed (server side: the client was authenticated).
    Accept,
    /// Refused, with the message the client sees (first line), when there is one.
    Reject(Option<String>),
    /// The probe itself did not work (usage error, crash, unparseable output).
    Broken(String),
}

impl Outcome {
    pub(crate) fn show(&self) -> String {
        let s = match self {
            Self::Accept => "accept".into(),
            Self::Reject(Some(m)) => format!("reject: {m}"),
            Self::Reject(None) => "reject (no message)".into(),
            Self::Broken(e) => format!("BROKEN: {e}"),
        };
        // One line per probe in reports and in the results file.
        s.replace('\n', "\\n").replace('\t', "\\t")
    }
}

/// Do the oracle and pgtls agree? Messages are compared only when the oracle has one.
pub(crate) fn agree(oracle: &Outcome, pgtls: &Outcome) -> bool {
    match (oracle, pgtls) {
        (Outcome::Accept, Outcome::Accept) => true,
        (Outcome::Reject(None), Outcome::Reject(_)) => true,
        (Outcome::Reject(Some(a)), Outcome::Reject(Some(b))) => a == b,
        _ => false,
    }
}

/// libpq's sslmodes, weakest first.
pub(crate) const MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// A database that plaintext cannot reach ([`HBA`]), so that allow/prefer show their TLS
/// attempt's result.
pub(crate) const TLS_ONLY_DB: &str = "tlsonly";

/// Whether the session is TLS (`t`/`f`).
pub(crate) const SSL_QUERY: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

/// pg_hba.conf of the live suites: trust over TLS and plaintext, except plaintext to
/// [`TLS_ONLY_DB`].
pub(crate) const HBA: &str = "local all all trust\n\
                              hostnossl tlsonly all 127.0.0.1/32 reject\n\
                              hostssl all all 127.0.0.1/32 trust\n\
                              host all all 127.0.0.1/32 trust\n";

/// The environment variables libpq (and pgtls, which follows libpq) reads.
pub(crate) const LIBPQ_ENV: &[&str] = &[
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSSLCERTMODE",
    "PGSSLSNI",
    "PGREQUIRESSL",
];

/// Runs the `pgtls` binary with `args`, HOME = `home` and `env`; exit 0 = accept, 1 = reject with
/// the first stderr line, anything else is a broken probe.
pub(crate) fn run_pgtls(args: &[String], home: &Path, env: &[(&str, &str)]) -> (Outcome, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args);
    for v in LIBPQ_ENV {
        c.env_remove(v);
    }
    c.env("HOME", home);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = match c.output() {
        Ok(o) => o,
        Err(e) => {
            return (
                Outcome::Broken(format!("cannot run pgtls: {e}")),
                String::new(),
            );
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let first = stderr.lines().next().map(str::to_string);
    let outcome = match out.status.code() {
        Some(0) => Outcome::Accept,
        Some(1) => Outcome::Reject(first),
        other => Outcome::Broken(format!(
            "exit {other:?}: {}",
            stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        )),
    };
    (outcome, stderr)
}

/// libpq's error text split into attempts: for each `connection to server at ... failed: MSG`
/// line, MSG (continuation lines such as hints are dropped). Text without that prefix (errors
/// raised before any connection attempt) counts as one attempt.
pub(crate) fn libpq_attempts(stderr: &str) -> Vec<String> {
    let mut attempts = Vec::new();
    for line in stderr.lines() {
        let line = line.strip_prefix("psql: error: ").unwrap_or(line);
        if line.starts_with("connection to server at ")
            && let Some(i) = line.find(" failed: ")
        {
            attempts.push(line[i + " failed: ".len()..].to_string());
            continue;
        }
        if attempts.is_empty() && !line.trim().is_empty() {
            attempts.push(line.to_string());
        }
    }
    attempts
}

/// Runs `client`'s own psql binary (not the perl pg_wrapper: four times faster; on its own
/// libpq, see [`pgtls_testkit::PgBuild::command`]) with a conninfo, the libpq environment
/// cleared, `env` added and a 20 s connect timeout (retried once on timeout).
pub(crate) fn psql(
    client: &pgtls_testkit::PgBuild,
    conninfo: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut c = client.psql();
    c.arg("-d").arg(conninfo).args(args);
    for v in LIBPQ_ENV {
        c.env_remove(v);
    }
    c.env("PGCONNECT_TIMEOUT", "20");
    for (k, v) in env {
        c.env(k, v);
    }
    let hint = || {
        format!(
            "{}: psql of libpq {} is needed (`bash scripts/pg-versions.sh {}`)",
            client.bindir.join("psql").display(),
            client.major,
            client.major
        )
    };
    // A loaded machine can make a connection time out; that is not libpq's verdict on the
    // certificate, so try once more before reporting it.
    let mut out = c.output().unwrap_or_else(|e| panic!("{}: {e}", hint()));
    if String::from_utf8_lossy(&out.stderr).contains("timeout expired") {
        out = c.output().unwrap_or_else(|e| panic!("{}: {e}", hint()));
    }
    out
}

/// The libpq/psql versions a `verify server` run covers: the client of each version in
/// `PGTLS_PG_VERSIONS` ([`pgtls_testkit::client_major`]: 12 and 13 have no libpq of their
/// own in the builds and count as 14), without repeats.
pub(crate) fn client_versions() -> Vec<u32> {
    let mut v: Vec<u32> = pgtls_testkit::pg_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(pgtls_testkit::client_major)
        .collect();
    v.dedup();
    v
}

/// A psql run's stdout/stderr, for the results file.
pub(crate) fn brief(out: &Output) -> String {
    format!(
        "exit={:?} out={:?} err={:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

/// One entry of a known-divergences file.
#[derive(Debug)]
pub(crate) struct Divergence {
    pub(crate) case: String,
    pub(crate) sslmode: String,
    pub(crate) reason: String,
    /// `"race": true`: the oracle's text depends on timing, so the probes may agree on a run
    /// (the entry is not stale for that).
    pub(crate) race: bool,
}

/// The entries of `testdata/verify/<stem>.json` (every version) and of
/// `testdata/verify/<stem>-pg<version>.json` when that file exists (that version only).
pub(crate) fn known_divergences_for(stem: &str, version: u32) -> Vec<Divergence> {
    let mut all = known_divergences(&format!("{stem}.json"));
    let own = format!("{stem}-pg{version}.json");
    if testdata().join(&own).exists() {
        all.extend(known_divergences(&own));
    }
    all
}

/// Reads `testdata/verify/<file>`: a JSON array of `{case, sslmode, reason}`. `case` is a probe
/// id (`name/variant/...`, `*` matching any run of characters), a prefix of one ending in `/`,
/// or a bare case name; `sslmode` may be `*`; `"race": true` marks an entry whose probes may
/// agree on some runs.
pub(crate) fn known_divergences(file: &str) -> Vec<Divergence> {
    let path = testdata().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let arr = v
        .as_array()
        .unwrap_or_else(|| panic!("{}: expected a JSON array", path.display()));
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |k: &str| {
                e.get(k)
                    .and_then(|x| x.as_str())
                    .unwrap_or_else(|| {
                        panic!("{} entry {i}: missing string field {k:?}", path.display())
                    })
                    .to_string()
            };
            let d = Divergence {
                case: field("case"),
                sslmode: field("sslmode"),
                reason: field("reason"),
                race: e.get("race").and_then(serde_json::Value::as_bool) == Some(true),
            };
            assert!(
                !d.reason.trim().is_empty(),
                "{} entry {i}: empty reason",
                path.display()
            );
            d
        })
        .collect()
}

impl Divergence {
    pub(crate) fn covers(&self, id: &str, mode: &str) -> bool {
        let case_ok = glob(&self.case, id)
            || (self.case.ends_with('/') && id.starts_with(&self.case))
            || id.split('/').next() == Some(self.case.as_str());
        case_ok && (self.sslmode == "*" || self.sslmode == mode)
    }
}

/// `*` in `pattern` matches any run of characters (`/` included); everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// One compared probe.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) mode: String,
    pub(crate) oracle: Outcome,
    pub(crate) pgtls: Outcome,
    pub(crate) detail: String,
}

/// What one version's run counted.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) rows: usize,
    pub(crate) agree: usize,
    /// Rows that differ and are listed in a known-divergences file.
    pub(crate) known: usize,
    /// The oracle refused and pgtls accepted (listed or not): always a failure.
    pub(crate) false_accepts: usize,
}

impl Counts {
    pub(crate) fn show(&self) -> String {
        format!(
            "{} rows, {} agree, {} known divergences, {} false accepts",
            self.rows, self.agree, self.known, self.false_accepts
        )
    }
}

/// Compares all rows against the known divergences; returns the failure report (empty = pass),
/// the text of the results file and the counts. `min_each`: how many accepts and how many
/// refusals with a message the oracle must have produced for the run to count. `sampled`: the
/// run covered a sample of the cases, so an entry that matches no probe is not stale (one that
/// matches and agrees still is). A false accept fails the run even when it is listed.
pub(crate) fn reconcile(
    rows: &[Row],
    divergences: &[Divergence],
    what: &str,
    min_each: usize,
    sampled: bool,
) -> (String, String, Counts) {
    let mut report = String::new();
    let mut counts = Counts {
        rows: rows.len(),
        ..Counts::default()
    };
    if rows.is_empty() {
        let _ = writeln!(report, "the {what} suite ran no rows");
    }
    // Guard against a vacuous run: the oracle must have accepted and refused (with a message)
    // a fair number of probes.
    let accepts = rows.iter().filter(|r| r.oracle == Outcome::Accept).count();
    let refusals = rows
        .iter()
        .filter(|r| matches!(r.oracle, Outcome::Reject(Some(_))))
        .count();
    if accepts < min_each || refusals < min_each {
        let _ = writeln!(
            report,
            "the oracle looks broken: {accepts} accepts and {refusals} refusals with a message \
             among {} {what} probes (want at least {min_each} of each)",
            rows.len()
        );
    }
    let mut unexpected = Vec::new();
    let mut used: BTreeMap<usize, (usize, usize)> = BTreeMap::new(); // entry -> (matched, diverging)
    let mut table = String::from("id\tsslmode\toracle\tpgtls\tagree\tdetail\n");
    for r in rows {
        let ok = agree(&r.oracle, &r.pgtls);
        let false_accept = matches!(r.oracle, Outcome::Reject(_)) && r.pgtls == Outcome::Accept;
        if ok {
            counts.agree += 1;
        }
        if false_accept {
            counts.false_accepts += 1;
            let _ = writeln!(
                report,
                "FALSE ACCEPT: {} sslmode={}\n      oracle: {}\n      pgtls:  accept",
                r.id,
                r.mode,
                r.oracle.show()
            );
        }
        let _ = writeln!(
            table,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.mode,
            r.oracle.show(),
            r.pgtls.show(),
            if ok { "yes" } else { "NO" },
            r.detail
        );
        let listed = divergences.iter().position(|d| d.covers(&r.id, &r.mode));
        if let Some(i) = listed {
            let e = used.entry(i).or_default();
            e.0 += 1;
            if !ok {
                e.1 += 1;
                counts.known += 1;
            }
        } else if !ok {
            unexpected.push(r);
        }
    }
    if !unexpected.is_empty() {
        let _ = writeln!(
            report,
            "{} of {} {what} probes differ between the oracle and pgtls:",
            unexpected.len(),
            rows.len()
        );
        for r in &unexpected {
            let _ = writeln!(
                report,
                "  {} sslmode={}\n      oracle: {}\n      pgtls:  {}",
                r.id,
                r.mode,
                r.oracle.show(),
                r.pgtls.show()
            );
        }
    }
    for (i, d) in divergences.iter().enumerate() {
        match used.get(&i) {
            None if sampled => {}
            None => {
                let _ = writeln!(
                    report,
                    "known divergence {{case: {:?}, sslmode: {:?}}} matches no probe: remove or fix it",
                    d.case, d.sslmode
                );
            }
            Some((_, 0)) if d.race => {}
            Some((n, 0)) => {
                let _ = writeln!(
                    report,
                    "known divergence {{case: {:?}, sslmode: {:?}}} no longer diverges ({n} probes agree): \
                     remove it (reason was: {})",
                    d.case, d.sslmode, d.reason
                );
            }
            Some(_) => {}
        }
    }
    (report, table, counts)
}

/// Writes the results table next to the test binary's temporary files and returns its path.
pub(crate) fn write_results(name: &str, table: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if let Err(e) = std::fs::write(&path, table) {
        eprintln!("could not write {}: {e}", path.display());
    }
    path
}

#[test]
fn glob_matches_probe_ids() {
    assert!(glob(
        "*/crl-file/cert-regex-map/*",
        "alice/crl-file/cert-regex-map/user=bob"
    ));
    assert!(!glob(
        "*/crl-file/cert-regex-map/*",
        "alice/crl-dir/cert-regex-map/user=bob"
    ));
    assert!(glob("san-ip4/given/host=127.1", "san-ip4/given/host=127.1"));
    assert!(!glob(
        "san-ip4/given/host=127.1",
        "san-ip4/given/host=127.10"
    ));
    assert!(glob("a*b*c", "abc") && glob("a*", "a") && !glob("a*b", "ab-c"));
}
