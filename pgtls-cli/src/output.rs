//! Printing and file labels shared by the commands.
//!
//! Everything a command prints on stdout goes through [`outln!`] and [`out!`]:
//! a write error (`pgtls ... | head -1` closing the pipe) is returned as
//! [`CliError::Stdout`] instead of the panic `println!` would raise.

/// `println!` that returns a write error to stdout from the enclosing function as
/// [`CliError::Stdout`](crate::error::CliError::Stdout).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::error::CliError::Stdout)?
    }};
}

/// `print!` that returns a write error to stdout from the enclosing function as
/// [`CliError::Stdout`](crate::error::CliError::Stdout).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::error::CliError::Stdout)?
    }};
}

use std::path::Path;

use serde_json::Value;
use time::OffsetDateTime;

use crate::error::CliError;
pub(crate) fn print(json: bool, value: &Value, human: &str) -> Result<(), CliError> {
    if json {
        outln!("{value}");
    } else {
        out!("{human}");
    }
    Ok(())
}

/// `FILE:LINE: `, `FILE: ` or nothing: where a finding stands, as a text prefix.
pub(crate) fn place(file: Option<&str>, line: Option<impl std::fmt::Display>) -> String {
    match (file, line) {
        (Some(file), Some(line)) => format!("{file}:{line}: "),
        (Some(file), None) => format!("{file}: "),
        _ => String::new(),
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
