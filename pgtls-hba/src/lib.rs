//! pgtls-hba: pg_hba.conf and pg_ident.conf as PostgreSQL reads them.

mod version;

pub use version::{PgVersion, UnsupportedVersion};
