//! Issue 14's output bugs of the PKI commands, each reproduced as the newcomer hit it
//! (a fresh `pgtls quickstart` store), with the behaviour now expected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod pki_support;
use pki_support::{ok, p, pgtls};

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn quickstart(dir: &Path) {
    ok(pgtls(&[
        "quickstart",
        "--dir",
        p(dir),
        "--host",
        "localhost",
        "--role",
        "app",
    ]));
}

/// `crl --days 0` (and any other zero validity) is bad usage naming the flag; nothing is written.
#[test]
fn zero_days_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let ca = dir.join("ca");
    let before = fs::read(ca.join("crl.pem")).unwrap();
    let o = pgtls(&["crl", "--dir", p(&ca), "--days", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--days"), "{}", err(&o));
    assert_eq!(fs::read(ca.join("crl.pem")).unwrap(), before);
    for flag in ["--days", "--ca-days", "--crl-days"] {
        let d = tmp.path().join(flag.trim_start_matches('-'));
        let o = pgtls(&[
            "quickstart",
            "--dir",
            p(&d),
            "--host",
            "localhost",
            "--role",
            "app",
            flag,
            "0",
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", err(&o));
        assert!(err(&o).contains(flag), "{flag}: {}", err(&o));
        assert!(!d.exists(), "{flag}");
    }
    let o = pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&tmp.path().join("c")),
        "--days",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--days"), "{}", err(&o));
}

fn expiry(ca: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["expiry", "--dir", p(ca), "--check"];
    args.extend(extra);
    pgtls(&args)
}

/// A fresh quickstart store passes `expiry --check`: the CRL's threshold is a third of its
/// own period unless `--crl-warn-days` says otherwise; an expired CRL says so.
#[test]
fn expiry_check_passes_a_fresh_store_and_flags_a_due_crl() {
    pgtls_testkit::require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let ca = dir.join("ca");
    let o = expiry(&ca, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).is_empty(), "{}", err(&o));
    let o = expiry(&ca, &["--crl-warn-days", "31"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("the CRL"), "{}", err(&o));
    // A 3-day CRL: default threshold 1 day, so still fine; with 5 days it is due.
    ok(pgtls(&["crl", "--dir", p(&ca), "--days", "3"]));
    assert_eq!(expiry(&ca, &[]).status.code(), Some(0));
    assert_eq!(
        expiry(&ca, &["--crl-warn-days", "5"]).status.code(),
        Some(1)
    );
    // An expired CRL (made by openssl on the store's own openssl.cnf) is named as expired.
    let cnf = ca.join("openssl.cnf");
    let out = ca.join("crl.pem");
    pgtls_testkit::openssl(
        &ca,
        &[
            "ca",
            "-batch",
            "-config",
            p(&cnf),
            "-gencrl",
            "-crl_lastupdate",
            "20200101000000Z",
            "-crl_nextupdate",
            "20200201000000Z",
            "-out",
            p(&out),
        ],
    )
    .unwrap();
    let o = expiry(&ca, &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("(EXPIRED)"), "{out}");
    assert!(err(&o).contains("expired"), "{}", err(&o));
    let o = pgtls(&["expiry", "--dir", p(&ca), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["crl"]["expired"], true);
}

/// `ca create --parent` works with its own defaults (the intermediate ends with its parent
/// at the latest); an explicit `--days` that outlives the parent is bad usage naming --days.
#[test]
fn intermediate_defaults_fit_the_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    ok(pgtls(&["ca", "create", "--dir", p(&root), "--days", "100"]));
    let inter = tmp.path().join("inter");
    let o = pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&inter),
        "--parent",
        p(&root),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("ends with its parent"), "{}", err(&o));
    let root_end = serde_json::from_str::<serde_json::Value>(&ok(pgtls(&[
        "inspect",
        p(&root.join("cacert.pem")),
        "--json",
    ])))
    .unwrap()["not_after"]
        .clone();
    let inter_end = serde_json::from_str::<serde_json::Value>(&ok(pgtls(&[
        "inspect",
        p(&inter.join("cacert.pem")),
        "--json",
    ])))
    .unwrap()["not_after"]
        .clone();
    assert!(root_end.is_string());
    assert_eq!(root_end, inter_end);
    let bad = tmp.path().join("bad");
    let o = pgtls(&[
        "ca",
        "create",
        "--dir",
        p(&bad),
        "--parent",
        p(&root),
        "--days",
        "200",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("--days 200") && err(&o).contains("--days 99"),
        "{}",
        err(&o)
    );
    assert!(!bad.exists());
}

/// The help text of `pgtls ARGS...`.
fn help(args: &[String]) -> String {
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.push("--help");
    ok(pgtls(&a))
}

/// Every subcommand path (`["ca", "create"]`, ...), from the "Commands:" sections.
fn commands(prefix: &[String], out: &mut Vec<Vec<String>>) {
    let text = help(prefix);
    let Some(section) = text.split("Commands:\n").nth(1) else {
        out.push(prefix.to_vec());
        return;
    };
    for line in section.lines().take_while(|l| l.starts_with("  ")) {
        let name = line.split_whitespace().next().unwrap();
        if name != "help" {
            let mut p = prefix.to_vec();
            p.push(name.to_owned());
            commands(&p, out);
        }
    }
}

/// A flag a command's help text mentions is one that command takes: quickstart offered
/// `--encrypt` "with the passphrase from --passphrase-file/-env" and had neither.
#[test]
fn help_mentions_only_flags_the_command_has() {
    let mut all = Vec::new();
    commands(&[], &mut all);
    assert!(all.len() > 15, "{all:?}");
    let quickstart = help(&["quickstart".to_owned()]);
    assert!(!quickstart.contains("--encrypt"), "{quickstart}");
    let mut wrong = Vec::new();
    for cmd in &all {
        let text = help(cmd);
        let options = text.split("Options:\n").nth(1).unwrap_or("");
        let mut has: Vec<&str> = Vec::new();
        for l in options.lines() {
            let t = l.trim_start();
            if t.starts_with('-') {
                has.extend(
                    t.split([' ', ','])
                        .take_while(|w| w.starts_with('-') || w.is_empty())
                        .filter(|w| w.starts_with("--")),
                );
            }
        }
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            // `--passphrase-*` names a family; `--with-ldap` is PostgreSQL's configure flag.
            let family = w.ends_with('-');
            let flag = w.trim_end_matches('-');
            let known = if family {
                has.iter().any(|h| h.starts_with(w))
            } else {
                has.contains(&flag)
            };
            if flag.starts_with("--") && flag.len() > 2 && !known && !flag.starts_with("--with-") {
                wrong.push(format!("pgtls {}: {flag}", cmd.join(" ")));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "help mentions flags the command lacks:\n{}",
        wrong.join("\n")
    );
}

/// An unset `--ca-passphrase-env` variable is reported under that flag's name.
#[test]
fn ca_passphrase_env_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let o = pgtls(&[
        "crl",
        "--dir",
        p(&dir.join("ca")),
        "--ca-passphrase-env",
        "PGTLS_TEST_UNSET_VARIABLE",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--ca-passphrase-env PGTLS_TEST_UNSET_VARIABLE"),
        "{}",
        err(&o)
    );
}

/// `ca check --repair` closes a CA key left at 0644 (and a group-writable private/).
#[test]
fn ca_check_repair_fixes_key_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let ca = dir.join("ca");
    let key = ca.join("private/cakey.pem");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(ca.join("private"), fs::Permissions::from_mode(0o775)).unwrap();
    let o = pgtls(&["ca", "check", "--dir", p(&ca)]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(mode(&key), 0o644);
    let o = pgtls(&["ca", "check", "--dir", p(&ca), "--repair", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["permissions_fixed"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&ca.join("private")), 0o755);
    assert_eq!(
        pgtls(&["ca", "check", "--dir", p(&ca)]).status.code(),
        Some(0)
    );
}

/// README's list of the commands without `--json` is the real one.
#[test]
fn readme_names_the_commands_without_json() {
    let mut all = Vec::new();
    commands(&[], &mut all);
    let mut without: Vec<String> = all
        .iter()
        .filter(|c| !help(c).contains("--json"))
        .map(|c| c.join(" "))
        .collect();
    without.sort();
    assert_eq!(
        without,
        [
            "completions",
            "hba ident",
            "hba policy",
            "hba rules",
            "man",
            "version"
        ]
    );
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let para = readme
        .split("\n\n")
        .find(|p| p.contains("takes `--json`"))
        .unwrap();
    for c in &without {
        assert!(
            para.contains(&format!("`{c}`")),
            "README does not list {c}: {para}"
        );
    }
}

/// Times are printed one way, RFC 3339 in UTC to the second (no nanoseconds, no
/// `2026-12-31 20:03:09.0 +00:00:00`), in text and errors alike.
#[test]
fn one_time_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    quickstart(&dir);
    let ca = dir.join("ca");
    let rfc = |s: &str| {
        s.len() == 20
            && s.as_bytes()[10] == b'T'
            && s.ends_with('Z')
            && s.chars().filter(char::is_ascii_digit).count() == 14
    };
    let times = |text: &str| -> Vec<String> {
        text.split(|c: char| c.is_whitespace() || "();,\"".contains(c))
            .filter(|w| w.len() >= 10 && w.as_bytes().get(4) == Some(&b'-') && w.contains(':'))
            .map(str::to_owned)
            .collect()
    };
    let out = ok(pgtls(&["crl", "--dir", p(&ca), "--days", "3"]));
    let t = times(&out);
    assert!(!t.is_empty() && t.iter().all(|w| rfc(w)), "{out}");
    let o = pgtls(&[
        "issue",
        "server",
        "--dir",
        p(&ca),
        "--host",
        "x",
        "--out-cert",
        p(&tmp.path().join("x.crt")),
        "--out-key",
        p(&tmp.path().join("x.key")),
        "--days",
        "99999",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let t = times(&err(&o));
    assert_eq!(t.len(), 2, "{}", err(&o));
    assert!(t.iter().all(|w| rfc(w)), "{}", err(&o));
    assert!(!err(&o).contains("+00:00:00"), "{}", err(&o));
}

/// The printed client conninfo still connects after the CRL's nextUpdate (it names no
/// copy of the CRL that nobody republishes), and no CRL copy lands in the client files.
#[test]
fn client_conninfo_outlives_the_crl() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = ok(pgtls(&[
        "quickstart",
        "--dir",
        p(&dir),
        "--host",
        "localhost",
        "--role",
        "app",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let conninfo = v["clients"][0]["conninfo"].as_str().unwrap();
    assert!(!conninfo.contains("sslcrl"), "{conninfo}");
    assert!(!dir.join("clients/app/root.crl").exists());
    let next = v["crl"].as_str().unwrap();
    assert!(Path::new(next).exists());
    // 40 days on: the 30-day CRL has expired, the certificates have not.
    let at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 40 * 86400)
        .to_string();
    let o = pgtls(&[
        "verify",
        "server",
        "--conninfo",
        conninfo,
        "--chain",
        p(&dir.join("server.crt")),
        "--at",
        &at,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

/// quickstart's directory inside a git work tree stays out of `git status` (it holds keys).
#[test]
fn quickstart_dir_is_git_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(repo)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", err(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    git(&["init", "-q"]);
    quickstart(&repo.join("demo"));
    assert_eq!(git(&["status", "--porcelain", "--untracked-files=all"]), "");
    // A rerun keeps the file as it is.
    ok(pgtls(&[
        "quickstart",
        "--dir",
        p(&repo.join("demo")),
        "--host",
        "localhost",
        "--role",
        "app",
        "--force",
    ]));
    assert_eq!(git(&["status", "--porcelain", "--untracked-files=all"]), "");
}
