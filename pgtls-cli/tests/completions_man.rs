//! `pgtls completions SHELL` and `pgtls man [--out DIR]`, generated from the clap
//! definitions: the bash script parses (`bash -n`) and completes subcommands in a real
//! bash, and the manual pages render with groff and `man -l` and name every subcommand
//! that `pgtls --help` lists (the oracle is clap's own help, not the generator).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};

mod pki_support;
use pki_support::{ok, p, pgtls};

/// Fails with what to install when a tool is missing.
fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is missing: apt-get install {package} (scripts/install-deps.sh installs it)"
    );
}

/// The subcommand names `pgtls ARGS --help` lists under `Commands:` (`help` aside).
fn subcommands(args: &[&str]) -> Vec<String> {
    let mut a = args.to_vec();
    a.push("--help");
    let text = ok(pgtls(&a));
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "Commands:" {
            inside = true;
            continue;
        }
        if inside {
            let Some(rest) = line.strip_prefix("  ") else {
                break;
            };
            let name = rest.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() && name != "help" && !rest.starts_with(' ') {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// Every command path below the top (`["ca", "create"]`, ...), from the help texts.
fn all_paths() -> Vec<Vec<String>> {
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut all = Vec::new();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in subcommands(&args) {
            let mut q = path.clone();
            q.push(sub);
            all.push(q.clone());
            todo.push(q);
        }
    }
    all.sort();
    all
}

fn render(page: &Path) -> String {
    let o = Command::new("groff")
        .args(["-man", "-Tutf8", "-P", "-cbou"])
        .arg(page)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "groff {}: {err}",
        page.display()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bash_completion_parses_and_completes_subcommands() {
    require("bash", "bash");
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("pgtls.bash");
    std::fs::write(&script, ok(pgtls(&["completions", "bash"]))).unwrap();
    let o = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Completing in a real bash, called as bash calls it (command, current word,
    // previous word): the first word, and the bundle subcommands.
    let complete = |words: &str, cword: usize| -> Vec<String> {
        let prog = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; \
             COMP_POINT=${{#COMP_LINE}}; \
             _pgtls pgtls \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            p(&script)
        );
        let o = Command::new("bash").args(["-c", &prog]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let first = complete("pgtls bu", 1);
    assert_eq!(first, ["bundle"]);
    let mut sub = complete("pgtls bundle ''", 2);
    sub.retain(|w| !w.starts_with('-'));
    sub.sort();
    assert_eq!(sub, ["diff", "help", "inspect", "merge"]);
    let top = complete("pgtls ''", 1);
    for s in subcommands(&[]) {
        assert!(top.contains(&s), "{s} not completed: {top:?}");
    }
}

#[test]
fn every_shell_gets_a_script_and_a_bad_shell_is_usage() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let text = ok(pgtls(&["completions", shell]));
        assert!(text.contains("pgtls") && text.contains("bundle"), "{shell}");
    }
    let o = pgtls(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn man_page_renders_and_names_every_subcommand() {
    require("groff", "groff-base");
    require("man", "man-db");
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("pgtls.1");
    let o = pgtls(&["man"]);
    assert!(o.status.success());
    std::fs::write(&top, &o.stdout).unwrap();
    let text = render(&top);
    assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    let subs = subcommands(&[]);
    assert!(subs.len() > 15, "{subs:?}");
    for s in &subs {
        assert!(
            text.contains(&format!("pgtls-{s}(1)")),
            "pgtls-{s}(1) not in the page:\n{text}"
        );
    }
    // man -l renders it too.
    let o = Command::new("man")
        .arg("-l")
        .arg(&top)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pgtls-bundle(1)"));
}

#[test]
fn man_out_writes_one_page_per_command_and_subcommand() {
    require("groff", "groff-base");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let text = ok(pgtls(&["man", "--out", p(&dir)]));
    let paths = all_paths();
    assert!(
        text.contains(&format!("wrote {} manual pages", paths.len() + 1)),
        "{text}"
    );
    let mut want: Vec<String> = paths
        .iter()
        .map(|q| format!("pgtls-{}.1", q.join("-")))
        .collect();
    want.push("pgtls.1".to_owned());
    want.sort();
    let mut got: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);
    // Each page renders and documents its own command's options.
    let merge = render(&dir.join("pgtls-bundle-merge.1"));
    for needle in ["--allow-leaf", "--out", "--json", "BUNDLE"] {
        assert!(merge.contains(needle), "{needle} not in:\n{merge}");
    }
    for q in &paths {
        let page = dir.join(format!("pgtls-{}.1", q.join("-")));
        assert!(render(&page).contains(&format!("pgtls-{}", q.join("-"))));
    }
    // Again over the same directory: the pages are replaced.
    ok(pgtls(&["man", "--out", p(&dir)]));
}
