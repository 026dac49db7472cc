//! The JSON reports of pgtls-verify's decisions: one serializer per report,
//! used by `pgtls verify ... --json` and by the C ABI's `*_to_json` alike.
//!
//! Every top-level report carries [`SCHEMA_VERSION`]; the checked-in
//! schemas (`docs/schemas/`) are derived from these structs (feature
//! `schema`).

use serde::Serialize;

use crate::outcome::{Check, ClientOutcome, Verdict};
use crate::server::{ServerDecision, ServerOutcome};

/// The version of the report shapes below; raised when a key changes
/// meaning or goes away (a new key does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// One step of a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CheckReport<'a> {
    /// Short name (`sslmode`, `root`, `chain`, `hostname`, `handshake`, ...).
    pub name: &'a str,
    /// `true` passed, `false` failed, `null` not performed.
    pub passed: Option<bool>,
    /// Human detail.
    pub detail: &'a str,
    /// For chain failures: OpenSSL's hidden reason
    /// (`X509_verify_cert_error_string`).
    pub reason: Option<&'static str>,
    /// For chain failures: OpenSSL's `X509_V_ERR_*` number.
    pub reason_code: Option<u32>,
    /// For chain failures: depth of the certificate concerned (0 = leaf).
    pub depth: Option<usize>,
    /// For chain failures: subject of the certificate concerned.
    pub subject: Option<&'a str>,
}

impl<'a> From<&'a Check> for CheckReport<'a> {
    fn from(c: &'a Check) -> Self {
        Self {
            name: c.name,
            passed: c.passed,
            detail: &c.detail,
            reason: c.reason.map(|r| r.text()),
            reason_code: c.reason.map(|r| r.code()),
            depth: c.depth,
            subject: c.subject.as_deref(),
        }
    }
}

/// The verdict of libpq's side (`pgtls verify server`): accept or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ClientVerdictWord {
    /// libpq completes the TLS session.
    Accept,
    /// libpq refuses.
    Reject,
}

/// What libpq decides about a server's chain ([`Verdict`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct VerdictReport<'a> {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `accept` or `reject`.
    pub verdict: ClientVerdictWord,
    /// For a refusal: libpq's message; `null` when accepted.
    pub message: Option<&'a str>,
    /// libpq would use TLS at all for these settings.
    pub tls: bool,
    /// For allow/prefer: libpq would then try plaintext.
    pub plaintext_fallback: bool,
    /// libpq sends its client certificate in this handshake.
    pub client_cert_sent: bool,
    /// The checks, in the order libpq performs them.
    pub checks: Vec<CheckReport<'a>>,
}

impl<'a> From<&'a Verdict> for VerdictReport<'a> {
    fn from(v: &'a Verdict) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            verdict: match v.outcome {
                ClientOutcome::Accept => ClientVerdictWord::Accept,
                ClientOutcome::Reject { .. } => ClientVerdictWord::Reject,
            },
            message: v.message(),
            tls: v.tls,
            plaintext_fallback: v.plaintext_fallback,
            client_cert_sent: v.client_cert_sent,
            checks: v.checks.iter().map(CheckReport::from).collect(),
        }
    }
}

/// The verdict of the server's side (`pgtls verify client`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ServerVerdictWord {
    /// The server authenticates the client.
    Accept,
    /// The server refuses.
    Reject,
    /// pgtls cannot decide the way the server would (never an acceptance).
    Undecided,
}

/// What the server decides about a client ([`ServerDecision`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ServerDecisionReport<'a> {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `accept`, `reject` or `undecided`.
    pub verdict: ServerVerdictWord,
    /// For a refusal: what the client sees; when undecided: why, in a
    /// sentence; `null` when accepted.
    pub message: Option<&'a str>,
    /// For a refusal: what the server logs, when it says more.
    pub log: Option<&'a str>,
    /// When undecided: the reason; `null` otherwise.
    pub undecided: Option<&'a str>,
    /// The client certificate's CN as the server extracts it.
    pub peer_cn: Option<&'a str>,
    /// The client certificate's DN in RFC 2253 form (14+).
    pub peer_dn: Option<&'a str>,
    /// The steps.
    pub checks: Vec<CheckReport<'a>>,
}

impl<'a> From<&'a ServerDecision> for ServerDecisionReport<'a> {
    fn from(d: &'a ServerDecision) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            verdict: match d.outcome {
                ServerOutcome::Accept => ServerVerdictWord::Accept,
                ServerOutcome::Reject { .. } => ServerVerdictWord::Reject,
                ServerOutcome::Undecided { .. } => ServerVerdictWord::Undecided,
            },
            message: d.message(),
            log: d.log(),
            undecided: d.undecided(),
            peer_cn: d.peer_cn.as_deref(),
            peer_dn: d.peer_dn.as_deref(),
            checks: d.checks.iter().map(CheckReport::from).collect(),
        }
    }
}

/// Serializes a report as one line of JSON.
pub fn to_json(report: &impl Serialize) -> String {
    // Serializing these structs (strings, numbers, options) cannot fail.
    serde_json::to_string(report).unwrap_or_default()
}

impl Verdict {
    /// The report (`pgtls verify server --json`, `pgtls_verdict_to_json`).
    pub fn report(&self) -> VerdictReport<'_> {
        VerdictReport::from(self)
    }

    /// [`Verdict::report`] as one line of JSON.
    pub fn to_json(&self) -> String {
        to_json(&self.report())
    }
}

impl ServerDecision {
    /// The report (`pgtls verify client --json`,
    /// `pgtls_client_decision_to_json`).
    pub fn report(&self) -> ServerDecisionReport<'_> {
        ServerDecisionReport::from(self)
    }

    /// [`ServerDecision::report`] as one line of JSON.
    pub fn to_json(&self) -> String {
        to_json(&self.report())
    }
}

/// The JSON schemas of the reports, by file name (`docs/schemas/NAME`).
#[cfg(feature = "schema")]
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        (
            "verify-server-verdict.json",
            schemars::schema_for!(VerdictReport<'static>),
        ),
        (
            "verify-client-decision.json",
            schemars::schema_for!(ServerDecisionReport<'static>),
        ),
        (
            "rotation-check.json",
            schemars::schema_for!(crate::rotation::CheckReport),
        ),
        (
            "rotation-plan.json",
            schemars::schema_for!(crate::rotation::PlanReport),
        ),
        (
            "audit-report.json",
            schemars::schema_for!(crate::audit::Report),
        ),
        (
            "doctor-report.json",
            schemars::schema_for!(crate::doctor::Report),
        ),
        (
            "quickstart-try.json",
            schemars::schema_for!(crate::trial::TryReport),
        ),
    ]
}
