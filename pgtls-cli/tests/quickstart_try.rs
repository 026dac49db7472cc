//! `pgtls quickstart --try` against real PostgreSQL servers and psql/libpq: PostgreSQL 15 and
//! 17 (every version of `PGTLS_PG_VERSIONS` with `PGTLS_PG_MATRIX=full`; the server-only
//! builds of 12 and 13 then show the "no psql" refusal, and libpq 14, which matches no
//! IP-address SAN, refuses `host=127.0.0.1` as pgtls predicts), each step line checked, and
//! the server's pid gone and its directory removed afterwards. Then real faults, each of which
//! must make `--try` fail: a `--pg-bin` without `postgres` (exit 2, nothing written), as root
//! a server.key the server's OS user cannot read (no `--owner`), and a stale
//! `~/.postgresql/root.crl` of another CA in the caller's home (libpq refuses the server).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtls_testkit::{PgBuild, full_matrix, pg_versions};

const ROLES: [&str; 7] = ["app", "ops team", "all", "a,b", "Admin", "q\"t", "p|q"];
const HOSTS: [&str; 2] = ["db.example.com", "127.0.0.1"];

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap()
}

/// A directory the server's OS user (postgres, when we are root) can reach.
fn reachable_tempdir() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// `pgtls quickstart ... --try`, with `home` as HOME and none of the caller's libpq
/// variables; as root, `--owner postgres` unless `owner` is false.
fn quickstart_try(dir: &Path, home: &Path, roles: &[&str], extra: &[&str], owner: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.arg("quickstart").arg("--dir").arg(dir);
    for h in HOSTS {
        c.args(["--host", h]);
    }
    for r in roles {
        c.args(["--role", r]);
    }
    if owner && is_root() {
        c.args(["--owner", "postgres"]);
    }
    c.arg("--try").args(extra);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("HOME", home);
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The ✓/✗ lines.
fn steps(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("✓ ") || l.starts_with("✗ "))
        .map(str::to_owned)
        .collect()
}

/// The throwaway directory a Stop line names, and the server's pid from the start line.
fn stop_facts(lines: &[String]) -> (Option<u32>, PathBuf) {
    let pid = lines
        .iter()
        .find_map(|l| l.split_once("(pid ").map(|(_, r)| r))
        .and_then(|r| r.split(',').next())
        .and_then(|p| p.parse().ok());
    let stop = lines.last().unwrap();
    let dir = stop
        .rsplit_once("throwaway directory ")
        .map(|(_, r)| r.trim_end_matches(" removed"))
        .unwrap_or_else(|| panic!("no directory in {stop}"));
    (pid, PathBuf::from(dir))
}

/// What pgtls predicts libpq of `build`'s version does with verify-full and `host=127.0.0.1`
/// against the server certificate in `dir` (libpq matches IP-address SANs from 15 on): `None`
/// accept, `Some(message)` refuse.
fn predicted_ip_host(build: &PgBuild, dir: &Path) -> Option<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args([
            "verify",
            "server",
            "--sslmode",
            "verify-full",
            "--host",
            "127.0.0.1",
        ])
        .arg("--sslrootcert")
        .arg(dir.join("root.crt"))
        .arg("--sslcrl")
        .arg("")
        .arg("--chain")
        .arg(dir.join("server.crt"))
        .args(["--pg-version", &build.major.to_string()])
        .env("HOME", dir)
        .output()
        .unwrap();
    match o.status.code() {
        Some(0) => None,
        Some(1) => Some(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap()
                .to_owned(),
        ),
        _ => panic!("verify server: {}", text(&o)),
    }
}

/// Every step of a trial of quickstart's files in `dir`, in order, for `build`: all pass
/// except, where pgtls predicts libpq refuses it, the login with `host=127.0.0.1`, which must
/// then fail with that message (and the trial with it).
fn check_passing(build: &PgBuild, dir: &Path, o: &Output) {
    let all = text(o);
    let ip_refused = predicted_ip_host(build, dir);
    let want = if ip_refused.is_some() { 1 } else { 0 };
    assert_eq!(o.status.code(), Some(want), "{all}");
    let lines = steps(o);
    let mut it = lines.iter();
    let mut next = |what: &str| it.next().unwrap_or_else(|| panic!("no {what} line: {all}"));
    let l = next("server");
    assert!(
        l.starts_with(&format!("✓ PostgreSQL {}.", build.major))
            && l.contains(&format!("in {} ", build.bindir.display()))
            && l.contains("found by --pg-bin"),
        "{l}\n{all}"
    );
    if let Some(lib) = &build.libdir {
        assert!(
            l.contains(&format!("LD_LIBRARY_PATH={}", lib.display())),
            "{l}"
        );
    }
    let user = if is_root() {
        "postgres".to_owned()
    } else {
        whoami()
    };
    let l = next("initdb");
    assert!(
        l.starts_with("✓ initdb of a throwaway cluster in ")
            && l.ends_with(&format!(" as OS user {user}")),
        "{l}"
    );
    let l = next("start");
    assert!(l.starts_with("✓ server started on 127.0.0.1:"), "{l}");
    let l = next("create-roles");
    assert_eq!(
        l,
        &format!(
            "✓ the printed CREATE ROLE statements ran ({} role(s))",
            ROLES.len()
        )
    );
    for r in ROLES {
        let l = next("login");
        let head = format!("✓ verify-full login as {r:?}: connected over TLSv1.");
        assert!(l.starts_with(&head), "{l}\n{all}");
        assert!(l.ends_with(&format!(" as current_user {r}")), "{l}");
    }
    let l = next("host");
    match &ip_refused {
        None => assert!(
            l.starts_with(
                "✓ verify-full login as \"app\" with host=127.0.0.1: connected over TLSv1."
            ),
            "{l}"
        ),
        // Real libpq refused as pgtls predicts, in libpq's own words.
        Some(m) => assert_eq!(
            l,
            &format!("✗ verify-full login as \"app\" with host=127.0.0.1: {m}")
        ),
    }
    let l = next("plaintext");
    assert_eq!(
        l,
        "✓ plaintext login (sslmode=disable) as \"app\" refused: FATAL:  no pg_hba.conf entry for \
         host \"127.0.0.1\", user \"app\", database \"postgres\", no encryption (as pgtls predicts)"
    );
    let l = next("no certificate");
    assert_eq!(
        l,
        "✓ TLS login without a client certificate as \"app\" refused: FATAL:  connection \
         requires a valid client certificate (as pgtls predicts)"
    );
    let l = next("stop");
    assert!(
        l.starts_with("✓ server pid ")
            && l.contains(
                " stopped by SIGINT (fast shutdown), exit status 0; throwaway directory "
            ),
        "{l}"
    );
    assert!(it.next().is_none(), "more steps than expected: {all}");
    let (pid, dir) = stop_facts(&lines);
    let pid = pid.expect("a pid on the start line");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "server pid {pid} still runs"
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
    let verdict = if ip_refused.is_some() {
        "\n--try: FAILED (see the ✗ above)\n"
    } else {
        "\n--try: every step held\n"
    };
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(verdict),
        "{all}"
    );
}

fn whoami() -> String {
    let o = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// The versions to run, among `PGTLS_PG_VERSIONS`: 15 and one other (17, else the newest
/// chosen), or every one under `PGTLS_PG_MATRIX=full`.
fn versions() -> Vec<u32> {
    let chosen = pg_versions().unwrap();
    let other = if chosen.contains(&17) {
        Some(17)
    } else {
        chosen.iter().rev().copied().find(|v| *v != 15)
    };
    chosen
        .into_iter()
        .filter(|v| *v == 15 || Some(*v) == other || full_matrix(*v).unwrap())
        .collect()
}

#[test]
fn try_proves_the_files_on_each_version() {
    let rows = versions();
    assert!(!rows.is_empty(), "no version to run (PGTLS_PG_VERSIONS)");
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .iter()
            .map(|&v| {
                s.spawn(move || {
                    let build = PgBuild::server(v).unwrap();
                    let tmp = reachable_tempdir();
                    let dir = tmp.path().join("demo");
                    let bindir = build.bindir.display().to_string();
                    if !build.bindir.join("psql").exists() {
                        // 12 and 13 are server-only builds: --try says what is missing.
                        let o = quickstart_try(
                            &dir,
                            tmp.path(),
                            &["app"],
                            &["--pg-bin", &bindir],
                            true,
                        );
                        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
                        assert!(
                            text(&o).contains(&format!("--pg-bin {bindir}: no psql there")),
                            "{}",
                            text(&o)
                        );
                        assert!(!dir.exists());
                        return;
                    }
                    // 17 (and the others) also through --json: the same steps in the report.
                    let json = v != 15;
                    let mut extra = vec!["--pg-bin", bindir.as_str()];
                    if json {
                        extra.push("--json");
                    }
                    let o = quickstart_try(&dir, tmp.path(), &ROLES, &extra, true);
                    if json {
                        check_json(&o, predicted_ip_host(&build, &dir));
                        // And the text form, on a fresh directory.
                        let dir = tmp.path().join("demo2");
                        let o = quickstart_try(&dir, tmp.path(), &ROLES, &extra[..2], true);
                        check_passing(&build, &dir, &o);
                    } else {
                        check_passing(&build, &dir, &o);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    println!(
        "quickstart --try on {rows:?}: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// The `--json` report of the same trial (`ip_refused`: see [`predicted_ip_host`]).
fn check_json(o: &Output, ip_refused: Option<String>) {
    let want = if ip_refused.is_some() { 1 } else { 0 };
    assert_eq!(o.status.code(), Some(want), "{}", text(o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &v["try"];
    assert_eq!(t["passed"], ip_refused.is_none(), "{t}");
    assert_eq!(t["schema_version"], 1);
    let kinds: Vec<&str> = t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    let mut want = vec!["server", "initdb", "start", "create-roles"];
    want.extend(ROLES.iter().map(|_| "login"));
    want.extend([
        "host",
        "plaintext-refused",
        "no-certificate-refused",
        "stop",
    ]);
    assert_eq!(kinds, want);
    for s in t["steps"].as_array().unwrap() {
        if s["step"] == "host" && ip_refused.is_some() {
            assert_eq!(s["passed"], false, "{s}");
            continue;
        }
        assert_eq!(s["passed"], true, "{s}");
        if s["step"].as_str().unwrap().ends_with("-refused") {
            // The server's text and pgtls's prediction, recorded side by side.
            assert!(s["server_message"].is_string(), "{s}");
            assert_eq!(s["server_message"], s["predicted"], "{s}");
        }
        if s["step"] == "login" {
            // The printed connection string, with only hostaddr and port added.
            let role = s["role"].as_str().unwrap();
            let printed = v["clients"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["role"] == role)
                .unwrap()["conninfo"]
                .as_str()
                .unwrap();
            let used = s["conninfo"].as_str().unwrap();
            assert_eq!(
                used,
                format!("{printed} hostaddr=127.0.0.1 port={}", t["port"]),
                "{s}"
            );
        }
    }
}

/// `--pg-bin` naming a directory with initdb and psql but no postgres: exit 2 before
/// anything is written.
#[test]
fn try_refuses_a_pg_bin_without_the_server() {
    let build = PgBuild::server(15).unwrap();
    let tmp = reachable_tempdir();
    let bin = tmp.path().join("bin");
    fs::create_dir(&bin).unwrap();
    for p in ["initdb", "psql"] {
        std::os::unix::fs::symlink(build.bindir.join(p), bin.join(p)).unwrap();
    }
    let dir = tmp.path().join("demo");
    let o = quickstart_try(
        &dir,
        tmp.path(),
        &["app"],
        &["--pg-bin", bin.to_str().unwrap()],
        true,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "--pg-bin {}: no postgres there (the server)",
            bin.display()
        )),
        "{err}"
    );
    assert!(!dir.exists(), "quickstart wrote files before failing");
    // --pg-bin without --try is a usage error too.
    let o = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args([
            "quickstart",
            "--dir",
            "x",
            "--host",
            "h",
            "--role",
            "r",
            "--pg-bin",
            "/",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// As root without --owner, server.key stays root's (mode 0600): the server, run as postgres,
/// cannot load it and does not start; --try fails and says why (what the printed
/// postgresql.conf would do on this machine). Not as root, the server runs as the caller,
/// who owns the key: the same command holds.
#[test]
fn try_fails_when_the_server_cannot_read_its_key() {
    let build = PgBuild::server(15).unwrap();
    let tmp = reachable_tempdir();
    let dir = tmp.path().join("demo");
    let bindir = build.bindir.display().to_string();
    let o = quickstart_try(&dir, tmp.path(), &["app"], &["--pg-bin", &bindir], false);
    let all = text(&o);
    if !is_root() {
        assert_eq!(o.status.code(), Some(0), "{all}");
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{all}");
    let lines = steps(&o);
    let start = lines
        .iter()
        .find(|l| l.starts_with("✗ server did not start"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        start.contains(&format!(
            "could not load private key file \"{}\": Permission denied",
            dir.join("server.key").display()
        )) && start.contains("see --owner"),
        "{start}"
    );
    // Nothing after the start ran, and the throwaway directory is gone anyway.
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("✓ server pid ") && last.contains("had already exited"),
        "{last}"
    );
    let (_, tmpdir) = stop_facts(&lines);
    assert!(!tmpdir.exists());
    assert!(
        !lines.iter().any(|l| l.contains("verify-full login")),
        "{all}"
    );
    assert!(
        all.contains("--try: FAILED (not reached: create-roles, login as \"app\""),
        "{all}"
    );
}

/// A `~/.postgresql/root.crl` of another CA in the caller's home: libpq loads it (the
/// printed conninfo sets no sslcrl) and, with CRL checking on, refuses the server for want of
/// its CA's CRL. --try shows the real psql failure and pgtls's reason, while the refusal
/// probes (run with a clean HOME) still hold; exit 1.
#[test]
fn try_fails_with_a_stale_home_crl_and_says_why() {
    let build = PgBuild::server(15).unwrap();
    let tmp = reachable_tempdir();
    let home = tmp.path().join("home");
    fs::create_dir_all(home.join(".postgresql")).unwrap();
    // Another CA's CRL: from a quickstart without --try.
    let other = tmp.path().join("other");
    let o = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .arg("quickstart")
        .arg("--dir")
        .arg(&other)
        .args(["--host", "elsewhere", "--role", "x"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    fs::copy(other.join("root.crl"), home.join(".postgresql/root.crl")).unwrap();
    let dir = tmp.path().join("demo");
    let bindir = build.bindir.display().to_string();
    let o = quickstart_try(&dir, &home, &["app"], &["--pg-bin", &bindir], true);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    let lines = steps(&o);
    let login = lines
        .iter()
        .find(|l| l.contains("verify-full login as \"app\":"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        login.starts_with("✗ ")
            && login.contains("SSL error: certificate verify failed")
            && login.contains("unable to get certificate CRL")
            && login.contains(&home.join(".postgresql/root.crl").display().to_string()),
        "{login}"
    );
    for probe in [
        "✓ plaintext login",
        "✓ TLS login without a client certificate",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(probe)), "{probe}: {all}");
    }
    assert!(lines.last().unwrap().starts_with("✓ server pid "), "{all}");
    assert!(all.contains("--try: FAILED (see the ✗ above)"), "{all}");
}

/// Role names the server refuses to create are refused before anything is written.
#[test]
fn try_and_quickstart_refuse_roles_the_server_cannot_create() {
    let tmp = reachable_tempdir();
    let long = "r".repeat(64);
    for (role, why) in [
        ("pg_app", "names starting with \"pg_\" are reserved"),
        ("public", "\"public\" and \"none\" are reserved"),
        ("none", "\"public\" and \"none\" are reserved"),
        (long.as_str(), "longer than 63 bytes"),
    ] {
        let dir = tmp.path().join("demo");
        let o = quickstart_try(&dir, tmp.path(), &[role], &[], true);
        assert_eq!(o.status.code(), Some(2), "{role}: {}", text(&o));
        assert!(text(&o).contains(why), "{role}: {}", text(&o));
        assert!(!dir.exists());
    }
}
