//! pgtls-hba: pg_hba.conf and pg_ident.conf as PostgreSQL reads them (in construction).
