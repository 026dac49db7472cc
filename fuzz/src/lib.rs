//! The checks behind every fuzz target. Each `checks::<target>(data)` runs one input
//! through pgtls and panics when a property fails (a plain panic is what libFuzzer
//! records as a crash). The same files are compiled into the main workspace's replay
//! test, so a regression input is replayed through exactly the code that found it.

#[path = "checks/mod.rs"]
pub mod checks;
