//! The checked-in JSON schemas of the reports (`docs/schemas/*.json`) are derived from the
//! structs that serialize them (schemars, the libraries' `schema` feature): a report whose
//! shape changes fails here until the snapshots are re-blessed with
//! `PGTLS_BLESS=1 cargo test -p pgtls-cli --test report_schemas`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn schema_snapshots_match_the_serializers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas");
    let mut all = pgtls_core::report::schemas();
    all.extend(pgtls_hba::report::schemas());
    all.extend(pgtls_verify::report::schemas());
    let bless = std::env::var_os("PGTLS_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, schema) in &all {
        let text = serde_json::to_string_pretty(schema).unwrap() + "\n";
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.to_string());
        }
    }
    // No snapshot without a serializer behind it.
    let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    for e in std::fs::read_dir(&dir).unwrap() {
        let file = e.unwrap().file_name().to_string_lossy().into_owned();
        if !names.contains(&file.as_str()) {
            if bless {
                std::fs::remove_file(dir.join(&file)).unwrap();
            } else {
                stale.push(format!("{file} (no report)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "report schemas changed: {stale:?}; if intended, bump SCHEMA_VERSION when a key changes \
         meaning or goes away, then run PGTLS_BLESS=1 cargo test -p pgtls-cli --test report_schemas"
    );
}
