//! The verdict: accept or reject, libpq's message, and the checks behind it.

use crate::chain::{ChainFailure, X509Reason};

/// One step of the decision, for reports (`--json` `checks`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Short name: `sslmode`, `transport`, `root`, `crl`, `client-cert`,
    /// `handshake`, `chain`, `hostname`, `sslcertmode`.
    pub name: &'static str,
    /// `Some(true)` passed, `Some(false)` failed, `None` not performed.
    pub passed: Option<bool>,
    /// Human detail.
    pub detail: String,
    /// For chain failures: OpenSSL's hidden reason.
    pub reason: Option<X509Reason>,
    /// For chain failures: depth of the certificate concerned (0 = leaf).
    pub depth: Option<usize>,
    /// For chain failures: subject of the certificate concerned.
    pub subject: Option<String>,
}

impl Check {
    pub(crate) fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            passed: Some(true),
            detail: detail.into(),
            reason: None,
            depth: None,
            subject: None,
        }
    }

    pub(crate) fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            passed: Some(false),
            ..Self::pass(name, detail)
        }
    }

    pub(crate) fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            passed: None,
            ..Self::pass(name, detail)
        }
    }

    /// A failed chain check carrying OpenSSL's reason, depth and subject.
    pub(crate) fn chain_failure(name: &'static str, f: ChainFailure) -> Self {
        Self {
            reason: Some(f.reason),
            depth: Some(f.depth),
            subject: Some(f.subject),
            ..Self::fail(
                name,
                format!(
                    "X509_V_ERR {} at depth {}: {}",
                    f.reason.code(),
                    f.depth,
                    f.reason.text()
                ),
            )
        }
    }
}

/// libpq's decision about a server: it completes the TLS session, or it
/// refuses with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOutcome {
    /// libpq would complete a TLS session.
    Accept,
    /// libpq refuses.
    Reject {
        /// libpq's message (what PQerrorMessage shows after the
        /// `connection to server at ... failed: ` prefix; may span lines).
        message: String,
    },
}

/// What libpq would do with a server presenting a given chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Accept, or reject with libpq's message.
    pub outcome: ClientOutcome,
    /// libpq would use TLS at all for these settings.
    pub tls: bool,
    /// The checks, in the order libpq performs them.
    pub checks: Vec<Check>,
    /// For allow/prefer: libpq would retry (or have started) in plaintext
    /// after a failed TLS attempt, and the plaintext session could complete
    /// (never under `sslcertmode=require`: libpq refuses a session in which
    /// the server asked for no certificate).
    pub plaintext_fallback: bool,
    /// libpq sends its client certificate in this handshake (one is loaded
    /// and the server asks for one).
    pub client_cert_sent: bool,
}

impl Verdict {
    pub(crate) fn accepting(checks: Vec<Check>) -> Self {
        Self {
            outcome: ClientOutcome::Accept,
            tls: true,
            checks,
            plaintext_fallback: false,
            client_cert_sent: false,
        }
    }

    pub(crate) fn reject(message: impl Into<String>, tls: bool, checks: Vec<Check>) -> Self {
        Self {
            outcome: ClientOutcome::Reject {
                message: message.into(),
            },
            tls,
            checks,
            plaintext_fallback: false,
            client_cert_sent: false,
        }
    }

    /// A refusal before any TLS: libpq fails with `message` before it
    /// sends a byte (a service-file lookup that fails, ...).
    pub fn refused_without_tls(message: impl Into<String>) -> Self {
        Self::reject(message, false, Vec::new())
    }

    /// libpq would complete a TLS session.
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, ClientOutcome::Accept)
    }

    /// For a refusal: libpq's message.
    pub fn message(&self) -> Option<&str> {
        match &self.outcome {
            ClientOutcome::Accept => None,
            ClientOutcome::Reject { message } => Some(message),
        }
    }

    /// The hidden OpenSSL reason, if the refusal was a chain failure.
    pub fn hidden_reason(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.reason.is_some())
    }
}
