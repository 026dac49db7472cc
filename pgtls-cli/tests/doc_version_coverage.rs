//! docs/version-coverage.md cannot rot: every rule row says `tested live` or `gap`, a
//! `tested live` row names at least one test, and every test it names
//! (`crate/tests/file.rs::function`) exists: the file is in the tree and defines that
//! function as a `#[test]`. The page stands alone (no link out of the repository).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

/// The `crate/tests/file.rs::function` names in backticks in `cell`.
fn test_names(cell: &str) -> Vec<&str> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| t.contains("/tests/") && t.contains(".rs::"))
        .collect()
}

/// Whether `text` defines `name` as a test function (`#[test]` or `#[tokio::test]` on
/// one of the lines before `fn name(`).
fn defines_test(text: &str, name: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().any(|(i, l)| {
        let l = l.trim_start();
        (l.starts_with(&format!("fn {name}(")) || l.starts_with(&format!("async fn {name}(")))
            && lines[i.saturating_sub(3)..i]
                .iter()
                .any(|a| a.trim_start().starts_with("#[test]") || a.contains("::test"))
    })
}

#[test]
fn every_test_named_in_the_version_coverage_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = root.join("docs/version-coverage.md");
    let text = fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    assert!(
        !text.contains("../shared") && !text.contains("](http"),
        "docs/version-coverage.md must stand alone (no links out of the repository)"
    );
    let mut problems = Vec::new();
    let (mut rows, mut live, mut gaps, mut names) = (0, 0, 0, 0);
    for (n, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let Some(id) = cells.first().and_then(|c| c.strip_prefix("| ")) else {
            continue;
        };
        if !(id.starts_with('T') || id.starts_with('H')) || cells.len() < 5 {
            continue;
        }
        rows += 1;
        let at = format!("docs/version-coverage.md line {} ({id})", n + 1);
        let (status, tests) = (cells[3], cells[4].trim_end_matches('|').trim());
        let listed = test_names(tests);
        if status.starts_with("tested live") {
            live += 1;
            if listed.is_empty() {
                problems.push(format!("{at}: `tested live` names no test"));
            }
        } else if status.starts_with("gap") {
            gaps += 1;
        } else {
            problems.push(format!(
                "{at}: status {status:?} is neither `tested live` nor `gap`"
            ));
        }
        for t in listed {
            names += 1;
            let (file, func) = t.split_once("::").unwrap();
            let path = root.join(file);
            match fs::read_to_string(&path) {
                Err(e) => problems.push(format!("{at}: {t}: {file}: {e}")),
                Ok(src) if !defines_test(&src, func) => {
                    problems.push(format!("{at}: {t}: {file} has no #[test] fn {func}"));
                }
                Ok(_) => {}
            }
        }
    }
    println!("{rows} rules: {live} tested live, {gaps} gaps, {names} test names checked");
    assert!(
        rows >= 40,
        "only {rows} rule rows found: has the table's format changed?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
