//! pgtls-hba through the C ABI: pg_hba.conf and pg_ident.conf as the server
//! reads them, their rows as the `pg_hba_file_rules` / `pg_ident_file_mappings`
//! views show them, evaluation of a connection, and the linter. One object
//! family per file: the parsed pg_hba.conf (`file`), the connection request
//! (`request`), the pg_hba decision (`decision`), the linter's findings
//! (`lint`), the parsed pg_ident.conf (`ident`) and its user-map decision
//! (`usermap`).

mod decision;
mod file;
mod ident;
mod lint;
mod request;
mod usermap;

pub use decision::*;
pub use file::*;
pub use ident::*;
pub use lint::*;
pub use request::*;
pub use usermap::*;
