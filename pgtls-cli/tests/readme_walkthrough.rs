//! README.md's walkthrough, run as a newcomer would paste it: every ```` ```sh walkthrough ````
//! block in order, each with `bash -euo pipefail` in one empty directory, with the built `pgtls`
//! and one PostgreSQL version's programs on `PATH` (15 and the newest; every version with
//! `PGTLS_PG_MATRIX=full`, in parallel), a free `PGPORT` and a throwaway `HOME`, as `postgres`
//! when the test runs as root (PostgreSQL refuses root; the walkthrough is for an ordinary
//! user). Each block's exit status is asserted: 0, or the `exit=N` its fence says (the refusals
//! the README shows must happen, with that status and the text of the block's `# expect: TEXT`
//! lines in their output). The README must have walkthrough
//! blocks, including refusals, so this cannot pass on an empty walkthrough.
//!
//! Then every `pgtls SUBCOMMAND [SUBCOMMAND]` in any code block of the README (fenced or
//! indented) must be a command `pgtls --help` (and that command's `--help`) lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use pgtls_testkit::{PgBuild, free_port, full_matrix, give_to_postgres, pg_versions};

const README: &str = include_str!("../../README.md");

/// One ```` ```sh walkthrough [exit=N] ```` block.
struct Block {
    /// 1-based README line of the opening fence.
    line: usize,
    expect_exit: i32,
    /// The `# expect: TEXT` lines: TEXT must be in the block's output (required when it fails).
    expect_text: Vec<String>,
    script: String,
}

/// The fenced blocks of `text`: (line of the opening fence, info string, body).
fn fenced_blocks(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (i, l) in text.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(info) = l.strip_prefix("```") {
                    open = Some((i + 1, info.trim().to_owned(), String::new()));
                }
            }
            Some((_, _, body)) => {
                if l.trim_end() == "```" {
                    out.push(open.take().unwrap());
                } else {
                    body.push_str(l);
                    body.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "README.md: a fenced block is not closed");
    out
}

fn walkthrough_blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    for (line, info, body) in fenced_blocks(README) {
        let mut words = info.split_whitespace();
        if words.next() != Some("sh") || !info.split_whitespace().any(|w| w == "walkthrough") {
            continue;
        }
        let mut expect_exit = 0;
        for w in words {
            match w.split_once('=') {
                None if w == "walkthrough" => {}
                Some(("exit", n)) => {
                    expect_exit = n
                        .parse()
                        .unwrap_or_else(|_| panic!("README.md:{line}: bad exit={n}"))
                }
                _ => panic!("README.md:{line}: unknown word {w:?} in the fence's info string"),
            }
        }
        assert!(
            !body.trim().is_empty(),
            "README.md:{line}: empty walkthrough block"
        );
        let expect_text: Vec<String> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("# expect: "))
            .map(str::to_owned)
            .collect();
        assert!(
            expect_exit == 0 || !expect_text.is_empty(),
            "README.md:{line}: a block expected to fail (exit={expect_exit}) needs an `# expect: TEXT` line saying how"
        );
        blocks.push(Block {
            line,
            expect_exit,
            expect_text,
            script: body,
        });
    }
    blocks
}

/// Code of the README: fenced blocks and indented (4-space) blocks after a blank line.
fn code_lines() -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut prev_blank = true;
    let mut in_indented = false;
    for (i, l) in README.lines().enumerate() {
        if l.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push((i + 1, l.to_owned()));
        } else if l.starts_with("    ") && (prev_blank || in_indented) {
            in_indented = true;
            out.push((i + 1, l.to_owned()));
        } else if !l.trim().is_empty() {
            in_indented = false;
        }
        prev_blank = l.trim().is_empty();
    }
    out
}

/// The subcommands a `--help` lists under `Commands:`.
fn help_commands(args: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_pgtls"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success(), "pgtls {args:?} --help: {}", text(&o));
    let help = String::from_utf8(o.stdout).unwrap();
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
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

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap()
}

/// Stops a server the walkthrough left running (a failed block), by the pid in postmaster.pid.
struct StopLeftover(PathBuf);

impl Drop for StopLeftover {
    fn drop(&mut self) {
        let Ok(pidfile) = fs::read_to_string(self.0.join("postmaster.pid")) else {
            return;
        };
        let Some(pid) = pidfile.lines().next().map(str::trim) else {
            return;
        };
        let _ = Command::new("kill").args(["-INT", pid]).status();
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

#[test]
fn every_pgtls_subcommand_in_the_readme_exists() {
    let top = help_commands(&[]);
    assert!(
        top.len() > 10,
        "pgtls --help listed too few commands: {top:?}"
    );
    let mut subs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for (line, l) in code_lines() {
        // Not a shell comment: `# pgtls into ~/.cargo/bin`.
        let words: Vec<&str> = l
            .split_whitespace()
            .take_while(|w| !w.starts_with('#'))
            .collect();
        for (i, w) in words.iter().enumerate() {
            if *w != "pgtls" && !w.ends_with("/pgtls") {
                continue;
            }
            // `cargo run --bin pgtls -- quickstart ...`
            let mut rest = words[i + 1..].iter().copied();
            let mut next = rest.next();
            if next == Some("--") {
                next = rest.next();
            }
            let Some(cmd) = next.filter(|c| c.starts_with(|ch: char| ch.is_ascii_lowercase()))
            else {
                continue;
            };
            assert!(
                top.iter().any(|t| t == cmd),
                "README.md:{line}: `pgtls {cmd}` is not a pgtls command (pgtls --help lists {top:?})\n{l}"
            );
            checked += 1;
            let second = subs
                .entry(cmd.to_owned())
                .or_insert_with(|| help_commands(&[cmd]));
            if second.is_empty() {
                continue;
            }
            let sub = rest.next().unwrap_or("");
            assert!(
                second.iter().any(|s| s == sub),
                "README.md:{line}: `pgtls {cmd} {sub}` is not a pgtls command (pgtls {cmd} --help lists {second:?})\n{l}"
            );
        }
    }
    // The walkthrough alone names more than ten.
    assert!(
        checked > 10,
        "only {checked} `pgtls` commands found in README.md's code blocks"
    );
}

#[test]
fn the_readme_walkthrough_runs() {
    let blocks = walkthrough_blocks();
    assert!(
        blocks.len() >= 5,
        "README.md has {} ```sh walkthrough blocks: the walkthrough is missing",
        blocks.len()
    );
    assert!(
        blocks.iter().any(|b| b.expect_exit != 0),
        "README.md's walkthrough shows no refusal (no ```sh walkthrough exit=N block)"
    );
    for needed in [
        "pgtls quickstart ",
        "--try",
        "pgtls doctor ",
        "pgtls revoke ",
        "pgtls crl ",
        "pgtls verify client ",
        "pgtls bundle merge ",
        "pgtls rotation check ",
        "pgtls rotation plan ",
    ] {
        assert!(
            blocks.iter().any(|b| b.script.contains(needed)),
            "README.md's walkthrough does not run {needed:?}"
        );
    }

    let versions = walkthrough_versions();
    assert!(
        !versions.is_empty(),
        "no PostgreSQL version selected for the walkthrough"
    );
    let results: Vec<(u32, usize, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| {
                let blocks = &blocks;
                scope.spawn(move || {
                    let t = Instant::now();
                    let n = run_walkthrough(v, blocks);
                    (v, n, t.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for (v, n, secs) in &results {
        println!("PostgreSQL {v}: {n} walkthrough blocks held; {secs:.1} s");
        assert!(*n > 0, "PostgreSQL {v}: the walkthrough ran no block");
    }
}

/// The versions the walkthrough runs on, among `PGTLS_PG_VERSIONS`: 15 (Debian's, the one a
/// newcomer on this distribution has) and the newest chosen, or every chosen one under
/// `PGTLS_PG_MATRIX=full`. 12 and 13 (server-only builds) run with psql 14 on `PATH`.
fn walkthrough_versions() -> Vec<u32> {
    let chosen = pg_versions().unwrap_or_else(|e| panic!("{e}"));
    let newest = chosen.last().copied();
    chosen
        .iter()
        .copied()
        .filter(|&v| {
            v == 15 || Some(v) == newest || full_matrix(v).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Runs every block on PostgreSQL `version` (its server programs and its psql, or psql 14 for
/// a server-only build) in a directory of its own; returns the number of blocks that held.
fn run_walkthrough(version: u32, blocks: &[Block]) -> usize {
    let server = PgBuild::server(version).unwrap_or_else(|e| panic!("{e}"));
    let client = PgBuild::client(version).unwrap_or_else(|e| panic!("{e}"));

    let root = tempfile::tempdir().unwrap();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = root.path().join("bin");
    let home = root.path().join("home");
    let work = root.path().join("work");
    let scripts = root.path().join("scripts");
    for d in [&bin, &home, &work, &scripts] {
        fs::create_dir(d).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pgtls"), bin.join("pgtls")).unwrap();
    let _stop = StopLeftover(work.join("pgdata"));

    let mut path = format!("{}:{}", bin.display(), server.bindir.display());
    if client.bindir != server.bindir {
        path = format!("{path}:{}", client.bindir.display());
    }
    path.push_str(":/usr/local/bin:/usr/bin:/bin");
    let port = free_port().unwrap().to_string();
    let mut env = vec![
        ("PATH".to_owned(), path),
        ("HOME".to_owned(), home.display().to_string()),
        ("PGPORT".to_owned(), port),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ];
    if let Some(l) = &server.libdir {
        env.push(("LD_LIBRARY_PATH".to_owned(), l.display().to_string()));
    }
    for (i, b) in blocks.iter().enumerate() {
        fs::write(scripts.join(format!("{i}.sh")), &b.script).unwrap();
    }
    give_to_postgres(root.path()).unwrap();

    let start = Instant::now();
    for (i, b) in blocks.iter().enumerate() {
        let script = scripts.join(format!("{i}.sh"));
        // A clean environment either way: none of the caller's PG* variables or HOME.
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "env", "-i"]);
            c
        } else {
            let mut c = Command::new("env");
            c.arg("-i");
            c
        };
        for (k, v) in &env {
            c.arg(format!("{k}={v}"));
        }
        c.args(["bash", "-euo", "pipefail"]).arg(&script);
        c.current_dir(&work);
        let t = Instant::now();
        let o = c.output().unwrap();
        eprintln!(
            "PostgreSQL {version}: README.md:{}: exit {:?} in {:.1}s",
            b.line,
            o.status.code(),
            t.elapsed().as_secs_f64()
        );
        assert_eq!(
            o.status.code(),
            Some(b.expect_exit),
            "PostgreSQL {version}: README.md:{}: the walkthrough block exited {:?}, the README says {}\n--- block\n{}{}",
            b.line,
            o.status.code(),
            b.expect_exit,
            b.script,
            text(&o)
        );
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for want in &b.expect_text {
            assert!(
                output.contains(want.as_str()),
                "PostgreSQL {version}: README.md:{}: the block's output lacks {want:?}\n{}",
                b.line,
                text(&o)
            );
        }
    }
    eprintln!(
        "{} walkthrough blocks in {:.1}s",
        blocks.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        !work.join("pgdata/postmaster.pid").exists(),
        "PostgreSQL {version}: the walkthrough left its server running"
    );
    blocks.len()
}
