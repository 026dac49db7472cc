//! pgtls-hba: pg_hba.conf and pg_ident.conf as PostgreSQL reads them.
//!
//! Pure text in, model out: parsing does no I/O (a [`Source`] resolves
//! `@file` and, from 16, `include`, `include_if_exists` and `include_dir`),
//! every record keeps its own result like the `error` column of
//! `pg_hba_file_rules`, and the file renders back byte for byte.
//!
//! ```
//! use pgtls_hba::{HbaFile, ServerSettings, PgVersion, Request, evaluate};
//!
//! let hba = HbaFile::parse_str(
//!     "local all all peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n",
//!     ServerSettings::new(PgVersion::V15, true),
//! );
//! assert!(hba.load().is_ok());
//! let req = Request::tcp("10.1.2.3".parse().unwrap(), "app", "alice").with_tls(true);
//! let d = evaluate(&hba, &req);
//! assert_eq!(d.line_number(), Some(2));
//! ```

#![forbid(unsafe_code)]

mod address;
mod edit;
mod error;
mod eval;
mod hba;
mod ident;
mod ldapurl;
mod lint;
mod method;
mod pgregex;
mod source;
mod token;
mod version;
mod view;

pub use edit::{
    CertPolicy, Change, EnforceResult, REJECT_NON_TLS, enforce_tls, policy_lines, quote_token,
};
pub use error::Error;
pub use eval::{Decision, Outcome, Replication, Request, evaluate};
pub use hba::{
    Address, HbaFile, HbaLine, HbaOptions, HbaRule, LineError, NameToken, ServerSettings,
    parse_hba_line,
};
pub use ident::{IdentFile, IdentLine, IdentRule, UsermapDecision, UsermapOutcome};
pub use lint::{Finding, Severity, lint};
pub use method::{AuthMethod, Build, ClientCert, ClientName, ConnType};
pub use pgregex::{PgRegex, RegexMatch};
pub use source::{DirEntry, FsSource, MemorySource, NoSource, Source, SourceError};
pub use token::Token;
pub use version::{PgVersion, UnsupportedVersion};
pub use view::{ViewRow, ViewValue};
