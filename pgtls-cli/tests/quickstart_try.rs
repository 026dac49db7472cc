//! `pgtls quickstart --try` against real PostgreSQL servers and psql/libpq: PostgreSQL 13, 15
//! and 17 (every version of `PGTLS_PG_VERSIONS` with `PGTLS_PG_MATRIX=full`). The server-only
//! builds of 12 and 13 are tried with psql/libpq 14 (13 through `--psql`, 12 through `PATH`),
//! and libpq 14, which matches no IP-address SAN, refuses `host=127.0.0.1` as pgtls predicts
//! and as quickstart's warning said. Each step line is checked, and the server's pid gone and
//! its directory removed afterwards. Then real faults, each of which must make `--try` fail: a
//! `--pg-bin` without `postgres` or without any psql (exit 2, nothing written), as root a
//! server.key the server's OS user cannot read (no `--owner`), a stale
//! `~/.postgresql/root.crl` of another CA in the caller's home (libpq 15 refuses the server;
//! quickstart warned), `--role postgres` (warned: CREATE ROLE fails, the role exists), and an
//! IP address as the first `--host` with libpq 14 (warned: the printed strings fail).

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
    quickstart_with(dir, home, &HOSTS, roles, extra, owner, None)
}

/// As [`quickstart_try`], with these `--host`s and, when `path` is given, that `PATH`.
fn quickstart_with(
    dir: &Path,
    home: &Path,
    hosts: &[&str],
    roles: &[&str],
    extra: &[&str],
    owner: bool,
    path: Option<&std::ffi::OsStr>,
) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.arg("quickstart").arg("--dir").arg(dir);
    for h in hosts {
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
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

/// The `pgtls: warning: ` lines of stderr.
fn warnings(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("pgtls: warning: "))
        .map(str::to_owned)
        .collect()
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

/// What pgtls predicts libpq `client` does with verify-full and `host=127.0.0.1` against the
/// server certificate in `dir` (libpq matches IP-address SANs from 15 on): `None` accept,
/// `Some(message)` refuse.
fn predicted_ip_host(client: &PgBuild, dir: &Path) -> Option<String> {
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
        .args(["--pg-version", &client.major.to_string()])
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

/// quickstart's warning about `--host 127.0.0.1` (the second of [`HOSTS`]): libpq 12 to 14
/// refuse it; when `client` is one of those, with the message real psql printed (`seen`).
fn check_ip_warning(o: &Output, client: &PgBuild, seen: Option<&str>) {
    let w = warnings(o);
    assert_eq!(w.len(), 1, "{}", text(o));
    assert!(
        w[0].starts_with(
            "--host 127.0.0.1: libpq 12 to 14 match no iPAddress SAN (and no CN when a dNSName SAN \
             is present): their verify-full with host=127.0.0.1 fails (server certificate for \
             \"db.example.com\" does not match host name \"127.0.0.1\"); libpq 15 and newer"
        ),
        "{}",
        w[0]
    );
    if client.major <= 14 {
        let seen = seen.unwrap_or_else(|| panic!("libpq {} accepted host=127.0.0.1", client.major));
        assert!(
            w[0].contains(&format!("fails ({seen})")),
            "{seen} / {}",
            w[0]
        );
    }
}

/// The client of `build`'s server: its own psql, or psql 14 for the server-only 12 and 13.
fn client_of(build: &PgBuild) -> PgBuild {
    PgBuild::client(build.major).unwrap()
}

/// Every step of a trial of quickstart's files in `dir`, in order, for `build` (with psql of
/// `client`): all pass except, where pgtls predicts libpq refuses it, the login with
/// `host=127.0.0.1`, which must then fail with that message (and the trial with it).
fn check_passing(build: &PgBuild, client: &PgBuild, found_by: &str, dir: &Path, o: &Output) {
    let all = text(o);
    let ip_refused = predicted_ip_host(client, dir);
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
    // The client named, with the libpq whose rules judged the logins.
    let psql = client.bindir.join("psql");
    assert!(
        l.contains(&format!("; client psql {}.", client.major))
            && l.contains(&format!(
                "({}, from {found_by}) with libpq {} (",
                psql.display(),
                client.major
            ))
            && l.ends_with(&format!(
                ": the logins are judged by libpq {}'s rules",
                client.major
            )),
        "{l}"
    );
    if let Some(lib) = &client.libdir {
        assert!(
            l.contains(&format!(
                "{}/libpq.so.5), LD_LIBRARY_PATH={}",
                lib.display(),
                lib.display()
            )),
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
    // The server's words: 12 and 13 say `SSL off`.
    let plain = if build.major >= 14 {
        "no encryption"
    } else {
        "SSL off"
    };
    assert_eq!(
        l,
        &format!(
            "✓ plaintext login (sslmode=disable) as \"app\" refused: FATAL:  no pg_hba.conf entry \
             for host \"127.0.0.1\", user \"app\", database \"postgres\", {plain} (as pgtls predicts)"
        )
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
    check_ip_warning(o, client, ip_refused.as_deref());
}

fn whoami() -> String {
    let o = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// The versions to run, among `PGTLS_PG_VERSIONS`: 15, 13 (a server-only build, tried with
/// psql 14) and one other (17, else the newest chosen), or every one under
/// `PGTLS_PG_MATRIX=full`.
fn versions() -> Vec<u32> {
    let chosen = pg_versions().unwrap();
    let other = if chosen.contains(&17) {
        Some(17)
    } else {
        chosen.iter().rev().copied().find(|v| *v != 15 && *v != 13)
    };
    chosen
        .into_iter()
        .filter(|v| [15, 13].contains(v) || Some(*v) == other || full_matrix(*v).unwrap())
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
                    let client = client_of(&build);
                    let tmp = reachable_tempdir();
                    let dir = tmp.path().join("demo");
                    let bindir = build.bindir.display().to_string();
                    let psql = client.bindir.join("psql").display().to_string();
                    let mut extra = vec!["--pg-bin", bindir.as_str()];
                    // The server-only builds: 13 with --psql, 12 with psql 14 first on PATH.
                    let (path, found_by) = if build.bindir.join("psql").exists() {
                        (None, "the installation")
                    } else if v == 12 {
                        let mut dirs = vec![client.bindir.clone()];
                        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
                        (Some(std::env::join_paths(dirs).unwrap()), "PATH")
                    } else {
                        extra.extend(["--psql", psql.as_str()]);
                        (None, "--psql")
                    };
                    let run = |dir: &Path, extra: &[&str]| {
                        quickstart_with(
                            dir,
                            tmp.path(),
                            &HOSTS,
                            &ROLES,
                            extra,
                            true,
                            path.as_deref(),
                        )
                    };
                    // 17 (and, under PGTLS_PG_MATRIX=full, the others but 13 and 15) also
                    // through --json: the same steps in the report.
                    if v == 15 || v == 13 {
                        let o = run(&dir, &extra);
                        check_passing(&build, &client, found_by, &dir, &o);
                        return;
                    }
                    let mut json = extra.clone();
                    json.push("--json");
                    let o = run(&dir, &json);
                    check_json(&o, &client, predicted_ip_host(&client, &dir));
                    // And the text form, on a fresh directory.
                    let dir = tmp.path().join("demo2");
                    let o = run(&dir, &extra);
                    check_passing(&build, &client, found_by, &dir, &o);
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
fn check_json(o: &Output, client: &PgBuild, ip_refused: Option<String>) {
    let want = if ip_refused.is_some() { 1 } else { 0 };
    assert_eq!(o.status.code(), Some(want), "{}", text(o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The warnings on stderr are the JSON's.
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ip-host-old-libpq"], "{v}");
    assert_eq!(
        v["warnings"][0]["message"].as_str(),
        warnings(o).first().map(String::as_str)
    );
    let t = &v["try"];
    let c = &t["client"];
    assert_eq!(c["libpq_major"], client.major, "{c}");
    assert_eq!(c["libpq_known_by"], "library-file", "{c}");
    assert_eq!(
        c["psql"].as_str(),
        Some(client.bindir.join("psql").display().to_string().as_str()),
        "{c}"
    );
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
    // quickstart warned first, with the reason real libpq then hid behind `certificate
    // verify failed` (and the IP-host warning of HOSTS).
    let crl_file = home.join(".postgresql/root.crl");
    let w = warnings(&o);
    assert_eq!(w.len(), 2, "{all}");
    assert_eq!(
        w[1],
        format!(
            "libpq here loads a CRL the printed connection strings do not name (1 CRL(s) from {}: \
             CRL_CHECK|CRL_CHECK_ALL on) and then refuses this server (SSL error: certificate \
             verify failed: X509_V_ERR 3 at depth 0: unable to get certificate CRL); move that \
             file away (libpq reads ~/.postgresql/root.crl under verify-ca and verify-full \
             whenever sslcrl and sslcrldir are unset), or unset PGSSLCRL/PGSSLCRLDIR",
            crl_file.display()
        )
    );
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

    // The home's root.crl of the CA quickstart keeps (--force on the same directory): a
    // current CRL of the right issuer, which libpq accepts; no warning, and the trial holds.
    fs::copy(dir.join("root.crl"), &crl_file).unwrap();
    let o = quickstart_with(
        &dir,
        &home,
        &["db.example.com"],
        &["app"],
        &["--pg-bin", &bindir, "--force"],
        true,
        None,
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(warnings(&o).is_empty(), "{all}");
    assert!(all.contains("--try: every step held"), "{all}");
}

/// `--role postgres`: quickstart warns (a superuser certificate login; CREATE ROLE fails where
/// initdb made the role), and --try shows the printed CREATE ROLE failing on a cluster made
/// by initdb. `Postgres` is another role: no warning.
#[test]
fn try_warns_about_the_superuser_role() {
    let build = PgBuild::server(15).unwrap();
    let tmp = reachable_tempdir();
    let dir = tmp.path().join("demo");
    let bindir = build.bindir.display().to_string();
    let o = quickstart_with(
        &dir,
        tmp.path(),
        &["db.example.com"],
        &["app", "postgres"],
        &["--pg-bin", &bindir],
        true,
        None,
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert_eq!(
        warnings(&o),
        [
            "--role postgres: postgres is the superuser of a cluster made by initdb or a \
          distribution's package: whoever holds clients/postgres/postgresql.key logs in as \
          superuser over TCP from any address (quickstart's line says `all`), and the printed \
          CREATE ROLE postgres fails there (the role exists); prefer a role without SUPERUSER \
          for certificate logins"
        ],
        "{all}"
    );
    assert!(
        steps(&o).contains(
            &"✗ the printed CREATE ROLE statements failed: ERROR:  role \"postgres\" already exists"
                .to_owned()
        ),
        "{all}"
    );
    // Without --try, in the JSON too.
    let o = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .arg("quickstart")
        .arg("--dir")
        .arg(tmp.path().join("json"))
        .args([
            "--host", "h", "--role", "postgres", "--role", "Postgres", "--json",
        ])
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["warnings"][0]["code"], "superuser-role", "{v}");
}

/// An IP address as the first `--host` with a DNS name after it: the certificate has a
/// dNSName SAN, so libpq 14 (which ignores iPAddress SANs) ignores the CN too and the printed
/// connection strings fail, as quickstart warned; real psql 14 shows it. With the IP address
/// alone (CN = the address, no dNSName SAN) libpq 14 matches the CN: no warning, and the login
/// holds.
#[test]
fn try_warns_about_an_ip_first_host_for_libpq_14() {
    let build = PgBuild::server(14).unwrap();
    let bindir = build.bindir.display().to_string();
    std::thread::scope(|s| {
        let mixed = s.spawn(|| {
            let tmp = reachable_tempdir();
            let dir = tmp.path().join("demo");
            let o = quickstart_with(
                &dir,
                tmp.path(),
                &["127.0.0.1", "db.example.com"],
                &["app"],
                &["--pg-bin", &bindir],
                true,
                None,
            );
            let all = text(&o);
            assert_eq!(o.status.code(), Some(1), "{all}");
            // Real psql 14 refuses the printed string, in its own words, and quickstart's
            // warning said so in the same words.
            let l = steps(&o);
            let head = "✗ verify-full login as \"app\": ";
            let msg = l
                .iter()
                .find_map(|l| l.strip_prefix(head))
                .unwrap_or_else(|| panic!("no refused login: {all}"));
            assert!(msg.starts_with("server certificate for "), "{all}");
            assert_eq!(
                warnings(&o),
                [format!(
                    "--host 127.0.0.1 (the printed connection strings' host=): libpq 12 to 14 \
                     match no iPAddress SAN (and no CN when a dNSName SAN is present): their \
                     verify-full with host=127.0.0.1 fails ({msg}); libpq 15 and newer accept \
                     it. For older clients connect with a DNS --host name (hostaddr=127.0.0.1 \
                     next to it keeps the address)"
                )],
                "{all}"
            );
            // With host=db.example.com it holds.
            assert!(
                l.iter().any(|l| l.starts_with(
                    "✓ verify-full login as \"app\" with host=db.example.com: connected"
                )),
                "{all}"
            );
        });
        let alone = s.spawn(|| {
            let tmp = reachable_tempdir();
            let dir = tmp.path().join("demo");
            let o = quickstart_with(
                &dir,
                tmp.path(),
                &["127.0.0.1"],
                &["app"],
                &["--pg-bin", &bindir],
                true,
                None,
            );
            let all = text(&o);
            assert_eq!(o.status.code(), Some(0), "{all}");
            assert!(warnings(&o).is_empty(), "{all}");
            assert!(
                steps(&o).iter().any(|l| l.starts_with(
                    "✓ verify-full login as \"app\": connected over TLSv1."
                )),
                "{all}"
            );
        });
        mixed.join().unwrap();
        alone.join().unwrap();
    });
}

/// A server-only build (13) with no psql anywhere (not in it, no --psql, none on PATH): exit
/// 2, saying what to pass, before anything is written; `--psql` naming no file likewise.
#[test]
fn try_refuses_a_server_without_any_psql() {
    let build = PgBuild::server(13).unwrap();
    assert!(!build.bindir.join("psql").exists());
    let tmp = reachable_tempdir();
    let dir = tmp.path().join("demo");
    let bindir = build.bindir.display().to_string();
    let empty = tmp.path().join("no-programs");
    fs::create_dir(&empty).unwrap();
    let o = quickstart_with(
        &dir,
        tmp.path(),
        &HOSTS,
        &["app"],
        &["--pg-bin", &bindir],
        true,
        Some(empty.as_os_str()),
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!(
            "--pg-bin {bindir}: no psql there (the client, through that installation's libpq); \
             pass the bin directory of a PostgreSQL installation that has initdb, postgres and \
             psql, or --psql PATH of a client (psql 14 or newer for a server 12 or 13)"
        )),
        "{all}"
    );
    assert!(!dir.exists());
    let nope = tmp.path().join("nope/psql");
    let o = quickstart_try(
        &dir,
        tmp.path(),
        &["app"],
        &["--pg-bin", &bindir, "--psql", nope.to_str().unwrap()],
        true,
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!("--psql {}: no such file", nope.display())),
        "{all}"
    );
    assert!(!dir.exists());
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
