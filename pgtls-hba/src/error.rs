//! Errors of the crate's fallible operations.
//!
//! Parsing itself never fails: every record carries its own result
//! ([`crate::LineError`]), like the `error` column of `pg_hba_file_rules`.
//! [`Error`] is what loading the whole file as the server does gives.

/// Why the server would not take a pg_hba.conf or pg_ident.conf.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record is invalid: the server logs it and keeps its old rules
    /// (at startup: refuses to start, for pg_hba.conf).
    #[error("{message} (line {line} of configuration file \"{file}\")")]
    InvalidLine {
        /// The file the record is in.
        file: String,
        /// The record's line number.
        line: u32,
        /// The server's log text.
        message: String,
    },
    /// pg_hba.conf has no records at all.
    #[error("configuration file \"{file}\" contains no entries")]
    Empty {
        /// The file.
        file: String,
    },
}
