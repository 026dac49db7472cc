//! pgtls-core: PKI for PostgreSQL (in construction).
