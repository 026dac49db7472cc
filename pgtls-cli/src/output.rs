//! Printing and file labels shared by the commands.

use std::path::Path;

use serde_json::Value;
use time::OffsetDateTime;

use crate::error::CliError;
pub(crate) fn print(json: bool, value: &Value, human: &str) {
    if json {
        println!("{value}");
    } else {
        print!("{human}");
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))
}

pub(crate) fn label(path: &Path) -> String {
    path.display().to_string()
}

/// RFC 3339 in UTC to the second, the one time format of the reports.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    pgtls_core::report::format_time(t)
}

/// The library's certificate report, as a JSON value the commands add their
/// file names to.
pub(crate) fn cert_json(c: &pgtls_core::Certificate) -> Value {
    serde_json::to_value(c.report()).unwrap_or(Value::Null)
}
