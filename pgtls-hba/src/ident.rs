//! pg_ident.conf: `parse_ident_line`, `check_ident_usermap` and
//! `check_usermap` of PostgreSQL's src/backend/libpq/hba.c.

use std::fmt;

use crate::PgVersion;
use crate::hba::LineError;
use crate::pgregex::{PgRegex, RegexMatch};
use crate::source::Source;
use crate::token::{Record, Token, Tokenizer, record_estimate};

/// A valid pg_ident.conf line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentRule {
    /// The map name (compared exactly).
    pub map: String,
    /// The system user token (`/...` is a regex).
    pub system_user: Token,
    /// The compiled system-user regex.
    pub system_regex: Option<PgRegex>,
    /// The PostgreSQL user token.
    pub pg_user: Token,
    /// The compiled PostgreSQL-user regex (16+).
    pub pg_regex: Option<PgRegex>,
}

/// One record of pg_ident.conf with its own result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentLine {
    /// The file the record is in.
    pub file: String,
    /// Line number of the record's first physical line.
    pub line_number: u32,
    /// The record text after continuation splicing.
    pub raw: String,
    /// The parsed mapping, or why the line is invalid.
    pub result: Result<IdentRule, LineError>,
    /// The record had bytes that are not UTF-8.
    pub(crate) lossy: bool,
}

/// What [`IdentFile::check_usermap`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsermapOutcome {
    /// The system user may log in as the PostgreSQL user.
    Allowed,
    /// No line allows it.
    Denied,
    /// A line hit a regex runtime error or a `\1` without group 1: the
    /// server stops there and refuses.
    Error,
    /// pgtls cannot decide the way PostgreSQL would (an unsupported regex).
    Unsupported(String),
}

/// The decision, the deciding line, and the server's log message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsermapDecision {
    /// Allowed or not.
    pub outcome: UsermapOutcome,
    /// The file and line that decided (None without a map or when nothing matched).
    pub line: Option<(String, u32)>,
    /// What the server logs when it refuses.
    pub log: Option<String>,
}

impl UsermapDecision {
    /// Whether the login is allowed.
    pub fn allowed(&self) -> bool {
        self.outcome == UsermapOutcome::Allowed
    }
}

/// A whole pg_ident.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentFile {
    name: String,
    text: Vec<u8>,
    version: PgVersion,
    lines: Vec<IdentLine>,
}

impl IdentLine {
    /// Whether the record contains bytes that are not UTF-8 (shown as U+FFFD).
    pub fn has_invalid_utf8(&self) -> bool {
        self.lossy
    }
}

impl IdentFile {
    /// Parses `text`, the content of the file `name`, resolving `@file` and
    /// (16+) includes through `source`.
    pub fn parse(name: &str, text: &[u8], version: PgVersion, source: &dyn Source) -> Self {
        let tokenizer = Tokenizer { version, source };
        let mut lines = Vec::with_capacity(record_estimate(text));
        tokenizer.tokenize_file(name, text, 0, &mut |rec: &mut Record<'_>| {
            lines.push(parse_record(rec, version));
        });
        if lines.capacity() > lines.len() + lines.len() / 8 {
            lines.shrink_to_fit();
        }
        Self {
            name: name.to_owned(),
            text: text.to_vec(),
            version,
            lines,
        }
    }

    /// Parses text with no file access.
    pub fn parse_str(text: &str, version: PgVersion) -> Self {
        Self::parse(
            "pg_ident.conf",
            text.as_bytes(),
            version,
            &crate::source::NoSource,
        )
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version used to parse.
    pub fn version(&self) -> PgVersion {
        self.version
    }

    /// Every record in order.
    pub fn lines(&self) -> &[IdentLine] {
        &self.lines
    }

    /// Whether a valid line defines `map`.
    pub fn has_map(&self, map: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l.result.as_ref().is_ok_and(|r| r.map == map))
    }

    /// `load_ident`: all or nothing.
    ///
    /// # Errors
    /// The first invalid line; the server then keeps its old maps (or, at
    /// startup, runs with none).
    pub fn load(&self) -> Result<(), &IdentLine> {
        match self.lines.iter().find(|l| l.result.is_err()) {
            Some(l) => Err(l),
            None => Ok(()),
        }
    }

    /// `check_usermap`: may `system_user` log in as `pg_user` through `map`?
    ///
    /// `map` `None` or empty means "no map": the names must be equal.
    /// `member_of` lists the roles `pg_user` belongs to (directly or not),
    /// for `+group` entries (16+). `case_insensitive` is the SSPI /
    /// `krb_caseins_users` mode. If the file does not load, no map matches,
    /// as on a server that started with a broken pg_ident.conf.
    pub fn check_usermap(
        &self,
        map: Option<&str>,
        system_user: &str,
        pg_user: &str,
        member_of: &[String],
        case_insensitive: bool,
    ) -> UsermapDecision {
        self.usermap(
            map,
            system_user,
            pg_user,
            member_of,
            case_insensitive,
            false,
        )
    }

    /// [`IdentFile::check_usermap`], plus the lines it declines to decide
    /// ([`UsermapOutcome::Unsupported`]) whose outcome for this system user is
    /// nonetheless certain: a system-user regex that does not match at all
    /// (whether a match exists does not depend on leftmost-first vs
    /// leftmost-longest), and a `\1` substitution from a pattern `^(...)$` whose
    /// group 1 spans the whole match, hence the whole system user, under any
    /// semantics. Such a line allows the login or the server goes on with the
    /// next lines; [`UsermapOutcome::Unsupported`] is left only where pgtls
    /// cannot decide the way the server would (it never guesses).
    pub fn decide_usermap(
        &self,
        map: Option<&str>,
        system_user: &str,
        pg_user: &str,
        member_of: &[String],
        case_insensitive: bool,
    ) -> UsermapDecision {
        self.usermap(map, system_user, pg_user, member_of, case_insensitive, true)
    }

    /// [`IdentFile::decide_usermap`] for a system user whose bytes are not UTF-8
    /// (a certificate's CN; `lossy_system_user` is its lossy form, U+FFFD for
    /// each bad sequence), case-sensitive and without group memberships, as
    /// certificate authentication asks. It cannot equal the UTF-8 `pg_user`
    /// without a map, nor a literal system user of a map read from UTF-8 text;
    /// a map with regular expressions or non-UTF-8 system users, which the
    /// server compares byte for byte, is [`UsermapOutcome::Unsupported`].
    pub fn decide_usermap_lossy(
        &self,
        map: Option<&str>,
        lossy_system_user: &str,
        pg_user: &str,
    ) -> UsermapDecision {
        let Some(map) = map.filter(|m| !m.is_empty()) else {
            return UsermapDecision {
                outcome: UsermapOutcome::Denied,
                line: None,
                log: Some(format!(
                    "provided user name ({pg_user}) and authenticated user name ({lossy_system_user}) do not match"
                )),
            };
        };
        // A pg_ident.conf that does not load holds no map at all: refused, whatever the
        // system user's bytes are (checked against PostgreSQL 15 in pgtls-cli's
        // verify_client.rs).
        if self.load().is_ok() {
            let literal_only = self.lines.iter().all(|l| match &l.result {
                Ok(rule) if rule.map == map => {
                    rule.system_regex.is_none()
                        && !l.has_invalid_utf8()
                        && !rule.system_user.text.contains(char::REPLACEMENT_CHARACTER)
                }
                _ => true,
            });
            if !literal_only {
                return UsermapDecision {
                    outcome: UsermapOutcome::Unsupported(format!(
                        "the certificate's CN is not UTF-8 and map \"{map}\" has regular expressions or non-UTF-8 system users, which the server compares byte for byte"
                    )),
                    line: None,
                    log: None,
                };
            }
        }
        self.decide_usermap(Some(map), lossy_system_user, pg_user, &[], false)
    }

    /// `check_usermap`; with `certain`, the lines pgtls-hba cannot evaluate in
    /// general are decided where their outcome is certain ([`IdentFile::decide_usermap`]).
    fn usermap(
        &self,
        map: Option<&str>,
        system_user: &str,
        pg_user: &str,
        member_of: &[String],
        case_insensitive: bool,
        certain: bool,
    ) -> UsermapDecision {
        let eq = |a: &str, b: &str| {
            if case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let map = match map {
            None | Some("") => {
                return if eq(pg_user, system_user) {
                    UsermapDecision {
                        outcome: UsermapOutcome::Allowed,
                        line: None,
                        log: None,
                    }
                } else {
                    UsermapDecision {
                        outcome: UsermapOutcome::Denied,
                        line: None,
                        log: Some(format!(
                            "provided user name ({pg_user}) and authenticated user name ({system_user}) do not match"
                        )),
                    }
                };
            }
            Some(m) => m,
        };
        let usable = self.load().is_ok();
        if usable {
            for line in &self.lines {
                let Ok(rule) = &line.result else { continue };
                let at = Some((line.file.clone(), line.line_number));
                match check_line(
                    rule,
                    map,
                    pg_user,
                    system_user,
                    member_of,
                    case_insensitive,
                    self.version,
                ) {
                    LineCheck::NoMatch => {}
                    LineCheck::Match => {
                        return UsermapDecision {
                            outcome: UsermapOutcome::Allowed,
                            line: at,
                            log: None,
                        };
                    }
                    LineCheck::Error(log) => {
                        return UsermapDecision {
                            outcome: UsermapOutcome::Error,
                            line: at,
                            log: Some(log),
                        };
                    }
                    LineCheck::Unsupported(why) => {
                        if certain {
                            match certain_line_outcome(
                                rule,
                                system_user,
                                pg_user,
                                case_insensitive,
                                self.version,
                            ) {
                                Some(true) => {
                                    return UsermapDecision {
                                        outcome: UsermapOutcome::Allowed,
                                        line: at,
                                        log: None,
                                    };
                                }
                                // The line does not match: the server goes on with the
                                // next ones.
                                Some(false) => continue,
                                None => {}
                            }
                        }
                        return UsermapDecision {
                            outcome: UsermapOutcome::Unsupported(why),
                            line: at,
                            log: None,
                        };
                    }
                }
            }
        }
        UsermapDecision {
            outcome: UsermapOutcome::Denied,
            line: None,
            log: Some(format!(
                "no match in usermap \"{map}\" for user \"{pg_user}\" authenticated as \"{system_user}\""
            )),
        }
    }
}

impl fmt::Display for IdentFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.text))
    }
}

enum LineCheck {
    NoMatch,
    Match,
    Error(String),
    Unsupported(String),
}

/// `check_role` on a single token, 16+ semantics.
fn check_role_token(
    tok: &Token,
    regex: Option<&PgRegex>,
    pg_user: &str,
    member_of: &[String],
    ci: bool,
) -> Result<bool, String> {
    if tok.is_member_check() {
        let group = &tok.text[1..];
        return Ok(group == pg_user || member_of.iter().any(|m| m == group));
    }
    if tok.is_keyword("all") {
        return Ok(true);
    }
    if let Some(re) = regex {
        return match re.find(pg_user, false) {
            RegexMatch::NoMatch => Ok(false),
            RegexMatch::Match { .. } => Ok(true),
            RegexMatch::Unsupported(w) => Err(w),
        };
    }
    Ok(if ci {
        tok.text.eq_ignore_ascii_case(pg_user)
    } else {
        tok.text == pg_user
    })
}

fn check_line(
    rule: &IdentRule,
    map: &str,
    pg_user: &str,
    system_user: &str,
    member_of: &[String],
    ci: bool,
    version: PgVersion,
) -> LineCheck {
    if rule.map != map {
        return LineCheck::NoMatch;
    }
    let new = version >= PgVersion::V16;
    if let Some(re) = &rule.system_regex {
        let wants_subst = rule.pg_user.text.contains("\\1")
            && !(new && (rule.pg_user.is_member_check() || rule.pg_regex.is_some()));
        let group1 = match re.find(system_user, wants_subst) {
            RegexMatch::NoMatch => return LineCheck::NoMatch,
            RegexMatch::Unsupported(w) => return LineCheck::Unsupported(w),
            RegexMatch::Match { group1 } => group1,
        };
        let (expanded, substituted) = if wants_subst {
            let Some(g) = group1 else {
                return LineCheck::Error(format!(
                    "regular expression \"{}\" has no subexpressions as requested by backreference in \"{}\"",
                    re.pattern(),
                    rule.pg_user.text
                ));
            };
            (rule.pg_user.text.replacen("\\1", &g, 1), true)
        } else {
            (rule.pg_user.text.clone(), false)
        };
        if !new || substituted {
            let ok = if ci {
                expanded.eq_ignore_ascii_case(pg_user)
            } else {
                expanded == pg_user
            };
            return if ok {
                LineCheck::Match
            } else {
                LineCheck::NoMatch
            };
        }
        return match check_role_token(
            &rule.pg_user,
            rule.pg_regex.as_ref(),
            pg_user,
            member_of,
            ci,
        ) {
            Ok(true) => LineCheck::Match,
            Ok(false) => LineCheck::NoMatch,
            Err(w) => LineCheck::Unsupported(w),
        };
    }
    let sys_ok = if ci {
        rule.system_user.text.eq_ignore_ascii_case(system_user)
    } else {
        rule.system_user.text == system_user
    };
    if !sys_ok {
        return LineCheck::NoMatch;
    }
    if !new {
        let ok = if ci {
            rule.pg_user.text.eq_ignore_ascii_case(pg_user)
        } else {
            rule.pg_user.text == pg_user
        };
        return if ok {
            LineCheck::Match
        } else {
            LineCheck::NoMatch
        };
    }
    match check_role_token(
        &rule.pg_user,
        rule.pg_regex.as_ref(),
        pg_user,
        member_of,
        ci,
    ) {
        Ok(true) => LineCheck::Match,
        Ok(false) => LineCheck::NoMatch,
        Err(w) => LineCheck::Unsupported(w),
    }
}

/// Whether a pg_ident.conf line [`check_line`] declined to decide certainly
/// matches (`Some(true)`) or certainly does not (`Some(false)`).
fn certain_line_outcome(
    rule: &IdentRule,
    system_user: &str,
    pg_user: &str,
    ci: bool,
    version: PgVersion,
) -> Option<bool> {
    let re = rule.system_regex.as_ref()?;
    match re.find(system_user, false) {
        RegexMatch::NoMatch => Some(false),
        RegexMatch::Match { .. } => {
            let new = version >= PgVersion::V16;
            let substitutes = rule.pg_user.text.contains("\\1")
                && !(new && (rule.pg_user.is_member_check() || rule.pg_regex.is_some()));
            if !substitutes || !group1_spans_whole_match(re.pattern()) {
                return None;
            }
            let expanded = rule.pg_user.text.replacen("\\1", system_user, 1);
            Some(if ci {
                expanded.eq_ignore_ascii_case(pg_user)
            } else {
                expanded == pg_user
            })
        }
        RegexMatch::Unsupported(_) => None,
    }
}

/// Whether `pattern` is `^(...)$` with the group opened after `^` closed
/// just before `$`: group 1 is then the whole match, which is the whole
/// subject.
fn group1_spans_whole_match(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    if !pattern.starts_with("^(") || pattern.starts_with("^(?") || !pattern.ends_with(")$") {
        return false;
    }
    let close = b.len() - 2;
    let mut depth = 0usize;
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'[' => match bracket_end(b, i + 1) {
                Some(end) => i = end,
                None => return false,
            },
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == close;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// The index of the `]` closing a bracket expression whose body starts at
/// `i`.
fn bracket_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'^') {
        i += 1;
    }
    if b.get(i) == Some(&b']') {
        i += 1;
    }
    loop {
        match (b.get(i)?, b.get(i + 1)) {
            (b'[', Some(&k @ (b':' | b'.' | b'='))) => {
                i += 2;
                while !(b.get(i)? == &k && b.get(i + 1) == Some(&b']')) {
                    i += 1;
                }
                i += 2;
            }
            (b'\\', _) => i += 2,
            (b']', _) => return Some(i),
            _ => i += 1,
        }
    }
}

fn parse_record(rec: &mut Record<'_>, version: PgVersion) -> IdentLine {
    let result = match rec.error.take() {
        Some(e) => Err(LineError::with_log(e, rec.error_log.take())),
        None => parse_fields(rec, version),
    };
    IdentLine {
        file: rec.file.to_owned(),
        line_number: rec.line_number,
        raw: std::mem::take(&mut rec.raw).into_owned(),
        result,
        lossy: rec.lossy,
    }
}

fn compile(tok: &Token) -> Result<Option<PgRegex>, LineError> {
    let Some(pat) = tok.text.strip_prefix('/') else {
        return Ok(None);
    };
    PgRegex::new(pat)
        .map(Some)
        .map_err(|e| LineError::new_pub(format!("invalid regular expression \"{pat}\": {e}")))
}

fn parse_fields(rec: &mut Record<'_>, version: PgVersion) -> Result<IdentRule, LineError> {
    // The view's text; the log's names the file and line up to 15
    // (`IDENT_FIELD_ABSENT` in src/backend/libpq/hba.c).
    let missing_log = (version < PgVersion::V16).then(|| {
        format!(
            "missing entry in file \"{}\" at end of line {}",
            rec.file, rec.line_number
        )
    });
    let missing =
        || LineError::with_log("missing entry at end of line".into(), missing_log.clone());
    // The checks in field order first (they decide the error), then the
    // tokens are taken out.
    for i in 0..3 {
        let Some(f) = rec.field(i) else {
            return Err(missing());
        };
        if f.len() > 1 {
            return Err(LineError::new_pub("multiple values in ident field"));
        }
    }
    let mut one = |i: usize| -> Result<Token, LineError> {
        match rec.field_mut(i).and_then(|f| f.first_mut()) {
            Some(t) => Ok(t.take()),
            None => Err(missing()),
        }
    };
    let map = one(0)?;
    let system_user = one(1)?;
    let pg_user = one(2)?;
    let system_regex = compile(&system_user)?;
    let pg_regex = if version >= PgVersion::V16 {
        compile(&pg_user)?
    } else {
        None
    };
    Ok(IdentRule {
        map: map.text,
        system_user,
        system_regex,
        pg_user,
        pg_regex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group1_spans_whole_match_only_for_one_outer_group() {
        for p in [
            "^(a|b)$",
            "^()$",
            "^(a(b|c)d)$",
            "^([)(]|x)$",
            "^([]a)]|b)$",
            "^([[:alpha:]])$",
            "^(a\\)|b)$",
            "^(a\\\\)$",
        ] {
            assert!(group1_spans_whole_match(p), "{p}");
        }
        for p in [
            "^(a)(b)$",
            "^(a)|(b)$",
            "(a|b)$",
            "^(a|b)",
            "^(?:a|b)$",
            "^(a|b)+$",
            "^(a|b)\\$",
            "^(a\\)$",
            "^([)]$",
            "^(",
            "^)$",
        ] {
            assert!(!group1_spans_whole_match(p), "{p}");
        }
    }

    /// A line `check_usermap` leaves unsupported, `decide_usermap` decides where the
    /// outcome is certain and goes on with the next lines when it certainly does not
    /// match; otherwise both say unsupported.
    #[test]
    fn decide_usermap_decides_only_certain_lines() {
        // An alternation whose group 1 depends on the matching semantics.
        let ambiguous = "m /^(a|ab)(c|bcd)?$ \\1\n";
        let f = IdentFile::parse_str(&format!("{ambiguous}m alice alice\n"), PgVersion::V15);
        assert!(matches!(
            f.check_usermap(Some("m"), "abcd", "a", &[], false).outcome,
            UsermapOutcome::Unsupported(_)
        ));
        assert!(matches!(
            f.decide_usermap(Some("m"), "abcd", "a", &[], false).outcome,
            UsermapOutcome::Unsupported(_)
        ));
        // It does not match at all: the next line decides.
        let later = f.decide_usermap(Some("m"), "alice", "alice", &[], false);
        assert_eq!(later.outcome, UsermapOutcome::Allowed);
        assert_eq!(later.line, Some(("pg_ident.conf".into(), 2)));
        let denied = f.decide_usermap(Some("m"), "zed", "zed", &[], false);
        assert_eq!(denied.outcome, UsermapOutcome::Denied);
        assert_eq!(
            denied.log.as_deref(),
            Some("no match in usermap \"m\" for user \"zed\" authenticated as \"zed\"")
        );

        // `^(...)$`: group 1 is the whole system user under any semantics.
        let whole = IdentFile::parse_str("m /^(a|ab)$ x\\1\n", PgVersion::V15);
        let d = whole.decide_usermap(Some("m"), "ab", "xab", &[], false);
        assert_eq!(d.outcome, UsermapOutcome::Allowed);
        assert_eq!(d.line, Some(("pg_ident.conf".into(), 1)));
        assert_eq!(
            whole
                .decide_usermap(Some("m"), "ab", "xa", &[], false)
                .outcome,
            UsermapOutcome::Denied
        );
        assert_eq!(
            whole
                .decide_usermap(Some("m"), "ab", "XAB", &[], true)
                .outcome,
            UsermapOutcome::Allowed
        );
    }

    #[test]
    fn decide_usermap_lossy() {
        let literal = IdentFile::parse_str("m alice alice\n", PgVersion::V15);
        let d = literal.decide_usermap_lossy(None, "a\u{fffd}", "a\u{fffd}");
        assert_eq!(d.outcome, UsermapOutcome::Denied, "no map: never equal");
        assert_eq!(
            d.log.as_deref(),
            Some(
                "provided user name (a\u{fffd}) and authenticated user name (a\u{fffd}) do not match"
            )
        );
        assert_eq!(
            literal
                .decide_usermap_lossy(Some("m"), "a\u{fffd}", "alice")
                .outcome,
            UsermapOutcome::Denied
        );
        let regex = IdentFile::parse_str("m /^a.$ alice\n", PgVersion::V15);
        assert!(matches!(
            regex
                .decide_usermap_lossy(Some("m"), "a\u{fffd}", "alice")
                .outcome,
            UsermapOutcome::Unsupported(_)
        ));
        // Another map's regex does not matter.
        let other = IdentFile::parse_str("n /^a.$ alice\nm bob bob\n", PgVersion::V15);
        assert_eq!(
            other
                .decide_usermap_lossy(Some("m"), "a\u{fffd}", "alice")
                .outcome,
            UsermapOutcome::Denied
        );
        // A file that does not load holds no map: refused.
        let broken = IdentFile::parse_str("m /^a.$ alice\nbroken\n", PgVersion::V15);
        assert_eq!(
            broken
                .decide_usermap_lossy(Some("m"), "a\u{fffd}", "alice")
                .outcome,
            UsermapOutcome::Denied
        );
    }

    #[test]
    fn regex_backreference_substitution() {
        let f = IdentFile::parse_str(
            "certmap /^(.*)@example\\.com$ \\1\ncertmap \"/^admin-(.*)$\" \\1_adm\nm2 /^x$ \\1\n",
            PgVersion::V15,
        );
        assert!(f.load().is_ok());
        let d = f.check_usermap(Some("certmap"), "alice@example.com", "alice", &[], false);
        assert!(d.allowed());
        assert_eq!(d.line, Some(("pg_ident.conf".to_owned(), 1)));
        let d = f.check_usermap(Some("certmap"), "admin-bob", "bob_adm", &[], false);
        assert_eq!(d.line.map(|l| l.1), Some(2));
        assert!(
            !f.check_usermap(Some("certmap"), "alice@example.com", "bob", &[], false)
                .allowed()
        );
        let d = f.check_usermap(Some("m2"), "x", "x", &[], false);
        assert_eq!(d.outcome, UsermapOutcome::Error);
        assert!(d.log.unwrap().contains("has no subexpressions"));
    }

    /// Issue 16: `\\1` without a group 1 in the PostgreSQL-user regex (16+) is an error
    /// line, and the next line's map_number shifts (pg_ident_file_mappings of real
    /// PostgreSQL 16.15, 17.11 and 18.6). In 15 that column is not a regex: a valid row.
    #[test]
    fn invalid_backreference_is_an_error_line() {
        let text = "m1 /^(.*)$ /^\\1$\nm2 alice bob\nm3 /^(a\\1)$ x\nm4 carol dave\n";
        let f = IdentFile::parse_str(text, PgVersion::V17);
        let rows = f.view_rows();
        let get = |i: usize, c: &str| rows[i].get(c).map(|v| v.to_json());
        assert_eq!(
            get(0, "error").as_deref(),
            Some("\"invalid regular expression \\\"^\\\\1$\\\": invalid backreference number\"")
        );
        assert_eq!(get(0, "map_number").as_deref(), Some("null"));
        assert_eq!(get(1, "map_number").as_deref(), Some("1"));
        assert_eq!(get(1, "map_name").as_deref(), Some("\"m2\""));
        // The same rule for a system-user regex, in every version with the view.
        assert!(get(2, "error").is_some_and(|e| e.contains("invalid backreference number")));
        assert_eq!(get(3, "map_number").as_deref(), Some("2"));
        assert!(f.load().is_err());
        let f15 = IdentFile::parse_str(text, PgVersion::V15);
        let rows = f15.view_rows();
        assert_eq!(
            rows[0].get("error").map(|v| v.to_json()).as_deref(),
            Some("null")
        );
        assert!(
            rows[2]
                .get("error")
                .is_some_and(|e| e.to_json().contains("invalid backreference number"))
        );
    }

    #[test]
    fn literal_and_keywords_by_version() {
        let text = "m root all\nm root +admins\nm bob bob\n";
        let f15 = IdentFile::parse_str(text, PgVersion::V15);
        let f16 = IdentFile::parse_str(text, PgVersion::V16);
        assert!(
            !f15.check_usermap(Some("m"), "root", "alice", &[], false)
                .allowed()
        );
        assert!(
            f15.check_usermap(Some("m"), "root", "all", &[], false)
                .allowed()
        );
        let d = f16.check_usermap(Some("m"), "root", "alice", &[], false);
        assert_eq!(d.line.map(|l| l.1), Some(1));
        assert!(
            f16.check_usermap(Some("M"), "root", "alice", &[], false)
                .outcome
                == UsermapOutcome::Denied
        );
        // case-insensitive mode applies to literal comparisons
        assert!(
            f15.check_usermap(Some("m"), "BOB", "Bob", &[], true)
                .allowed()
        );
        assert!(
            !f15.check_usermap(Some("m"), "BOB", "Bob", &[], false)
                .allowed()
        );
    }

    #[test]
    fn group_membership_16() {
        let f = IdentFile::parse_str("m root +admins\n", PgVersion::V16);
        assert!(
            f.check_usermap(Some("m"), "root", "alice", &["admins".into()], false)
                .allowed()
        );
        assert!(
            !f.check_usermap(Some("m"), "root", "alice", &[], false)
                .allowed()
        );
        let f = IdentFile::parse_str("m root \"+admins\"\n", PgVersion::V16);
        assert!(
            f.check_usermap(Some("m"), "root", "+admins", &[], false)
                .allowed()
        );
    }

    #[test]
    fn no_map_means_equal_names() {
        let f = IdentFile::parse_str("", PgVersion::V15);
        assert!(f.check_usermap(None, "a", "a", &[], false).allowed());
        assert!(f.check_usermap(Some(""), "a", "a", &[], false).allowed());
        let d = f.check_usermap(None, "a", "b", &[], false);
        assert_eq!(
            d.log.as_deref(),
            Some("provided user name (b) and authenticated user name (a) do not match")
        );
    }

    #[test]
    fn parse_errors() {
        let f = IdentFile::parse_str(
            "m a\nm a,b c\nm /^( c\nm a b extra ignored\n",
            PgVersion::V15,
        );
        let e: Vec<Option<String>> = f
            .lines()
            .iter()
            .map(|l| l.result.as_ref().err().map(|e| e.message.clone()))
            .collect();
        // Up to 15 the log names the file and line; the view (15) does not.
        assert_eq!(
            e[0].as_deref(),
            Some("missing entry in file \"pg_ident.conf\" at end of line 1")
        );
        assert_eq!(
            f.lines()[0]
                .result
                .as_ref()
                .unwrap_err()
                .view_message
                .as_deref(),
            Some("missing entry at end of line")
        );
        let f16 = IdentFile::parse_str("m a\n", PgVersion::V16);
        assert_eq!(
            f16.lines()[0].result.as_ref().unwrap_err().message,
            "missing entry at end of line"
        );
        assert_eq!(e[1].as_deref(), Some("multiple values in ident field"));
        assert_eq!(
            e[2].as_deref(),
            Some("invalid regular expression \"^(\": parentheses () not balanced")
        );
        assert_eq!(e[3], None);
        // An unloadable file matches nothing.
        assert!(!f.check_usermap(Some("m"), "a", "b", &[], false).allowed());
    }
}
