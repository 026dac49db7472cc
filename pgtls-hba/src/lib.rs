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
//!
//! // Without TLS the same client is refused, with the server's own text.
//! let d = evaluate(&hba, &Request::tcp("10.1.2.3".parse().unwrap(), "app", "alice"));
//! assert_eq!(
//!     d.message.as_deref(),
//!     Some("no pg_hba.conf entry for host \"10.1.2.3\", user \"alice\", database \"app\", no encryption")
//! );
//! ```
//!
//! # What is where
//!
//! * Reading: [`HbaFile::parse`] / [`IdentFile::parse`] (tokenizer, `@file`,
//!   includes, continuation lines, quoting, the server's error texts for each
//!   invalid line); [`parse_hba_line`] for a single line.
//! * The views: [`HbaFile::view_rows`] and [`IdentFile::view_rows`] give the
//!   rows of `pg_hba_file_rules` / `pg_ident_file_mappings` for the chosen
//!   version (PG15: 9 / 5 columns; 16+: with `rule_number`/`map_number` and
//!   `file_name`), with `row_to_json` rendering.
//! * Deciding: [`evaluate`] (first match wins, implicit reject, FATAL texts)
//!   and [`IdentFile::check_usermap`] (which pg_ident.conf line allows a
//!   system user to log in as a role).
//! * Checking and editing: [`lint`] (with witness connections for paths that
//!   authenticate without TLS), [`enforce_tls`], [`policy_lines`],
//!   [`HbaFile::with_line_inserted`].
//!
//! # Versions
//!
//! [`PgVersion`] selects 12 to 18. PostgreSQL 15 is checked against the real
//! server (views and connections, in `pgtls-cli/tests/hba_*.rs`); the other
//! versions follow the source of their release branches: continuation lines
//! from 14, `clientname` and `verify-full` for `cert` from 14, no token length
//! limit, regular expressions in the database and user fields, include
//! directives and `all`/`+group`/regex in pg_ident.conf from 16, `oauth` and
//! the new LDAP message from 18. 12 and 13 are modelled as their last minor
//! releases (20480-byte lines, 10240-byte tokens, no `hostgssenc` method
//! restriction).
//!
//! # Known divergences
//!
//! Places where pgtls cannot know what the server knows, and what it does:
//!
//! * IPv6 scope names (`fe80::1%eth0`): the server accepts them for
//!   link-local addresses when the interface exists; pgtls accepts any
//!   plausible interface name there (numeric scopes are exact).
//! * `radiusservers`: the server resolves the names at load time (DNS); pgtls
//!   accepts numeric addresses and any syntactically valid host name.
//! * Regular expressions: PostgreSQL's ARE dialect is matched with the `regex`
//!   crate for the common subset. Patterns the server rejects get the
//!   server's error text; constructs pgtls cannot match the same way
//!   (back-references, look-around, word anchors, embedded options,
//!   collating elements) are kept and reported as undecided instead of being
//!   matched differently, as is `\1` after a pattern whose group 1 could be
//!   chosen differently (alternation, non-greedy quantifiers).
//! * `@file` loops before 16: the server recurses until it runs out of
//!   resources; pgtls stops at depth 64 with the 16+ "maximum nesting depth
//!   exceeded" text.
//! * `ldapurl`: a subset of OpenLDAP's URL parser (scheme, host, port, DN,
//!   first attribute, scope, filter; percent-decoding), with its error texts.
//! * Bytes that are not UTF-8 become U+FFFD in tokens and messages; the server
//!   passes the raw bytes on.
//! * Server facts come from the caller: the client's host name after DNS
//!   ([`Request::client_hostname`]), the server's interface addresses for
//!   `samehost`/`samenet`, role memberships, and the build's features
//!   ([`Build`], defaulting to the Debian/PGDG Linux build).

#![forbid(unsafe_code)]

mod address;
pub mod conf;
mod edit;
mod error;
mod eval;
mod hba;
mod ident;
pub mod inet;
mod ldapurl;
mod lint;
mod method;
mod pgregex;
pub mod report;
mod source;
mod token;
mod view;

pub use address::{ServerNetwork, ServerNetworkError};
pub use edit::{
    CertPolicy, Change, EnforceResult, MAX_NAME_BYTES, REJECT_NON_TLS, UnusableRole,
    UnwritableToken, enforce_tls, literal_list, literal_name, new_role_identifier, policy_lines,
    quote_token, sql_identifier,
};
pub use error::Error;
pub use eval::{Decision, HbaVerdict, Outcome, Replication, Request, evaluate};
pub use hba::{
    Address, HbaFile, HbaLine, HbaOptions, HbaRule, LineError, NameToken, ServerSettings,
    parse_hba_line,
};
pub use ident::{IdentFile, IdentLine, IdentRule, UsermapDecision, UsermapOutcome};
pub use lint::{Finding, Severity, lint};
pub use method::{AuthMethod, Build, ClientCert, ClientName, ConnType};
pub use pgregex::{PgRegex, RegexMatch};
pub use pgtls_version::{PgVersion, UnsupportedVersion};
pub use source::{DirEntry, FsSource, MemorySource, NoSource, Source, SourceError};
pub use token::Token;
pub use view::{ViewRow, ViewValue};
