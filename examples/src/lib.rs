//! Runnable examples of the pgtls crates; see `src/bin/`:
//!
//! - `issue_certs DIR [HOST] [ROLE]`: a CA store, a server and a client
//!   certificate and a CRL, then the server certificate checked the way libpq's
//!   `sslmode=verify-full` would check it;
//! - `check_hba FILE DATABASE USER IP [tls]`: which pg_hba.conf line a
//!   connection hits, and what the linter finds;
//! - `explain_sslmode CHAIN.pem HOST [ROOT.crt]`: libpq's verdict under each
//!   of the six sslmodes;
//! - `pool CONNINFO`: a deadpool-postgres pool built from one conninfo string
//!   with pgtls-postgres's `MakeTlsConnect` (`pgtls_postgres::config`).
