//! pgtls-verify: libpq sslmode semantics (in construction).
