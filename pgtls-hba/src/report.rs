//! The JSON reports of pgtls-hba's decisions: one serializer per report,
//! used by `pgtls hba check|lint --json` and by the C ABI's `*_to_json`
//! alike. (`pgtls hba rules|ident --format jsonl` is the server's view,
//! `view_rows` as `row_to_json` prints them, not a report.)
//!
//! Every report carries [`SCHEMA_VERSION`]; the checked-in schemas
//! (`docs/schemas/`) are derived from these structs (feature `schema`).

use serde::Serialize;

use crate::eval::{Decision, HbaVerdict};
use crate::lint::{Finding, Severity};

/// The version of the report shapes below; raised when a key changes
/// meaning or goes away (a new key does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

impl Serialize for HbaVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for HbaVerdict {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HbaVerdict".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["match", "reject", "no-match", "not-loaded", "undecided"],
        })
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Severity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Severity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["info", "warning", "error"],
        })
    }
}

/// The pg_hba stage's decision for one connection ([`Decision`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct HbaDecisionReport<'a> {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `match`, `reject`, `no-match`, `not-loaded` or `undecided`.
    pub verdict: HbaVerdict,
    /// The matched record's line number.
    pub line: Option<u32>,
    /// The matched record's method.
    pub method: Option<&'static str>,
    /// The server's message (reject, no-match), the load error
    /// (not-loaded) or why pgtls cannot decide (undecided); `null` for a
    /// match.
    pub message: Option<&'a str>,
}

impl<'a> From<&'a Decision> for HbaDecisionReport<'a> {
    fn from(d: &'a Decision) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            verdict: d.verdict(),
            line: d.line_number(),
            method: d.method().map(|m| m.as_str()),
            message: d.verdict_message(),
        }
    }
}

/// One lint finding ([`Finding`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FindingReport<'a> {
    /// The version of this report's shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// File of the line.
    pub file: &'a str,
    /// Line number (0 for whole-file findings).
    pub line: u32,
    /// `info`, `warning` or `error`.
    pub severity: Severity,
    /// The stable code (`invalid-line`, `no-tls`, ...).
    pub code: &'static str,
    /// Explanation.
    pub message: &'a str,
    /// A connection that proves the finding, when there is one.
    pub witness: Option<&'a str>,
}

impl<'a> From<&'a Finding> for FindingReport<'a> {
    fn from(f: &'a Finding) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            file: &f.file,
            line: f.line,
            severity: f.severity,
            code: f.code,
            message: &f.message,
            witness: f.witness.as_deref(),
        }
    }
}

fn to_json(report: &impl Serialize) -> String {
    // Serializing these structs (strings, numbers, options) cannot fail.
    serde_json::to_string(report).unwrap_or_default()
}

impl Decision {
    /// The report (`pgtls hba check --json`, `pgtls_hba_decision_to_json`).
    pub fn report(&self) -> HbaDecisionReport<'_> {
        HbaDecisionReport::from(self)
    }

    /// [`Decision::report`] as one line of JSON.
    pub fn to_json(&self) -> String {
        to_json(&self.report())
    }
}

impl Finding {
    /// The report of one finding.
    pub fn report(&self) -> FindingReport<'_> {
        FindingReport::from(self)
    }
}

/// Findings as a JSON array of [`FindingReport`] (`pgtls hba lint --json`,
/// `pgtls_lint_to_json`).
pub fn findings_json(findings: &[Finding]) -> String {
    to_json(&findings.iter().map(Finding::report).collect::<Vec<_>>())
}

/// The JSON schemas of the reports, by file name (`docs/schemas/NAME`).
#[cfg(feature = "schema")]
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        (
            "hba-check-decision.json",
            schemars::schema_for!(HbaDecisionReport<'static>),
        ),
        (
            "hba-lint-findings.json",
            schemars::schema_for!(Vec<FindingReport<'static>>),
        ),
    ]
}
