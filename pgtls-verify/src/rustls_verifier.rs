//! rustls adapter (in construction).

/// A rustls verifier applying libpq's rules.
#[derive(Debug)]
pub struct LibpqVerifier;
