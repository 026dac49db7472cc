//! postgresql.conf as the server reads it (`guc-file.l` and
//! `ProcessConfigFileInternal`): the lexical rules, `include`,
//! `include_if_exists`, `include_dir`, then `postgresql.auto.conf`, the last
//! setting of a name winning, each with the file and line it came from.
//!
//! What is modelled, from the server's source:
//!
//! * Tokens as the flex scanner makes them, longest match first and the
//!   earlier rule on a tie: an unquoted value must be a name, a number (with
//!   unit letters) or an "unquoted string" starting with a letter, so
//!   `ssl_cert_file = server.crt` is a syntax error (a qualified name is not
//!   a value) and `ssl_cert_file = /etc/x` is one too (`/` starts no token);
//!   quoted strings take `''` and the backslash escapes `\b \f \n \r \t`, up
//!   to three octal digits, and `\x` for any other `x`; `#` starts a comment.
//! * A line is `name [=] value`; the name is a name or a qualified name.
//!   A syntax error is reported with the server's text and the scan goes on
//!   at the next line (at most 100 per file).
//! * `include` (the file must exist), `include_if_exists` (skipped when it
//!   cannot be opened), `include_dir` (files whose names end in `.conf`,
//!   are at least 6 bytes long and do not start with `.`, in byte order,
//!   directories skipped): relative to the directory of the including file;
//!   nesting deeper than 10 is an error, as is a file including itself.
//! * The main file's errors stop the read before `postgresql.auto.conf`
//!   (which is read from the data directory when it exists), as they stop
//!   the server: a postmaster with any error here refuses to start
//!   (`configuration file "..." contains errors`).
//!
//! Not modelled: whether a name is a known parameter and whether its value is
//! valid for it (the caller checks the settings it uses, see [`parse_bool`]).

use crate::source::{Source, canonicalize_path};

/// The server's maximum include depth (`CONF_FILE_MAX_DEPTH`).
const MAX_DEPTH: u32 = 10;

/// Syntax errors after which the server abandons a file.
const MAX_ERRORS: u32 = 100;

/// One `name = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfSetting {
    /// The name as written.
    pub name: String,
    /// The value, quotes and escapes removed.
    pub value: String,
    /// The file (absolute when the data directory given was).
    pub file: String,
    /// The 1-based line.
    pub line: u32,
}

/// An error the server reports while reading the configuration files.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfError {
    /// The file the error is recorded against (as `pg_file_settings` shows
    /// it: the including file for an include that fails).
    pub file: String,
    /// The line in [`ConfError::file`].
    pub line: u32,
    /// The server's log message (for example `syntax error in file "..." line 3, near token "x"`).
    pub message: String,
}

/// A setting or an error, in the order the server meets them (the rows of
/// `pg_file_settings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfEntry<'a> {
    /// A `name = value` line.
    Setting(&'a ConfSetting),
    /// An error.
    Error(&'a ConfError),
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Setting(usize),
    Error(usize),
}

/// The settings of a data directory's configuration files.
#[derive(Clone, Debug, Default)]
pub struct ConfFile {
    settings: Vec<ConfSetting>,
    errors: Vec<ConfError>,
    order: Vec<Slot>,
    files: Vec<String>,
    main: String,
    /// Abandon a file at its first syntax error, as the server does when it
    /// reads for `pg_file_settings` (at DEBUG3) rather than at startup (LOG).
    view: bool,
}

impl ConfFile {
    /// Reads `DIR/postgresql.conf` and then `DIR/postgresql.auto.conf`, as a
    /// server started with `-D DIR` does.
    pub fn read_data_dir(data_dir: &str, source: &dyn Source) -> Self {
        let dir = canonicalize_path(data_dir);
        let main = format!("{}/postgresql.conf", dir.trim_end_matches('/'));
        Self::read(&main, &dir, source)
    }

    /// Reads a data directory as the server does for the `pg_file_settings`
    /// view: the same files, but each file is abandoned at its first syntax
    /// error (the server reads at DEBUG3 there, and gives up on a file at the
    /// first error below DEBUG1; a starting server, at LOG, reads on).
    pub fn read_data_dir_as_view(data_dir: &str, source: &dyn Source) -> Self {
        let dir = canonicalize_path(data_dir);
        let main = format!("{}/postgresql.conf", dir.trim_end_matches('/'));
        Self::read_inner(&main, &dir, source, true)
    }

    /// Reads `config_file` (the server's `config_file`, for example
    /// `/etc/postgresql/15/main/postgresql.conf`) and then
    /// `postgresql.auto.conf` in `data_dir`.
    pub fn read(config_file: &str, data_dir: &str, source: &dyn Source) -> Self {
        Self::read_inner(config_file, data_dir, source, false)
    }

    fn read_inner(config_file: &str, data_dir: &str, source: &dyn Source, view: bool) -> Self {
        let mut out = Self {
            main: config_file.to_owned(),
            view,
            ..Self::default()
        };
        let ok = out.parse_file(config_file, true, None, 0, 0, source);
        if ok {
            let auto = format!(
                "{}/postgresql.auto.conf",
                canonicalize_path(data_dir).trim_end_matches('/')
            );
            out.parse_file(&auto, false, None, 0, 0, source);
        }
        out
    }

    /// Parses configuration text as the single file `name` (no includes
    /// resolved beyond what `source` holds).
    pub fn parse_str(name: &str, text: &str, source: &dyn Source) -> Self {
        let mut out = Self {
            main: name.to_owned(),
            ..Self::default()
        };
        out.files.push(name.to_owned());
        out.parse_text(text.as_bytes(), name, 0, source);
        out
    }

    /// The main configuration file's path.
    pub fn main_file(&self) -> &str {
        &self.main
    }

    /// Every setting line in the order the server reads them.
    pub fn settings(&self) -> &[ConfSetting] {
        &self.settings
    }

    /// The errors; any of them makes a starting server refuse to start.
    pub fn errors(&self) -> &[ConfError] {
        &self.errors
    }

    /// Settings and errors interleaved, in the order the server meets them.
    pub fn entries(&self) -> impl Iterator<Item = ConfEntry<'_>> {
        self.order.iter().filter_map(|s| match *s {
            Slot::Setting(i) => self.settings.get(i).map(ConfEntry::Setting),
            Slot::Error(i) => self.errors.get(i).map(ConfEntry::Error),
        })
    }

    /// The files read, in order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The winning setting of `name` (the last one; names compare without
    /// regard to ASCII case, as `guc_name_compare` does).
    pub fn get(&self, name: &str) -> Option<&ConfSetting> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn error(&mut self, file: Option<&str>, line: u32, message: String) {
        self.order.push(Slot::Error(self.errors.len()));
        self.errors.push(ConfError {
            file: file.unwrap_or(&self.main).to_owned(),
            line,
            message,
        });
    }

    /// `ParseConfigFile`.
    fn parse_file(
        &mut self,
        config_file: &str,
        strict: bool,
        calling_file: Option<&str>,
        calling_line: u32,
        depth: u32,
        source: &dyn Source,
    ) -> bool {
        if config_file
            .bytes()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.error(
                calling_file,
                calling_line,
                format!("empty configuration file name: \"{config_file}\""),
            );
            return false;
        }
        if depth > MAX_DEPTH {
            self.error(
                calling_file,
                calling_line,
                format!(
                    "could not open configuration file \"{config_file}\": maximum nesting depth exceeded"
                ),
            );
            return false;
        }
        let abs = match calling_file {
            _ if config_file.starts_with('/') => config_file.to_owned(),
            Some(c) => crate::source::absolute_location(config_file, c),
            None => canonicalize_path(config_file),
        };
        if calling_file == Some(abs.as_str()) {
            self.error(
                calling_file,
                calling_line,
                format!(
                    "configuration file recursion in \"{}\"",
                    calling_file.unwrap_or_default()
                ),
            );
            return false;
        }
        match source.read(&abs) {
            Ok(text) => {
                self.files.push(abs.clone());
                self.parse_text(&text, &abs, depth, source)
            }
            Err(e) if strict => {
                self.error(
                    calling_file,
                    calling_line,
                    format!("could not open configuration file \"{abs}\": {e}"),
                );
                false
            }
            // "skipping missing configuration file": not an error.
            Err(_) => true,
        }
    }

    /// `ParseConfigDirectory` (with `GetDirConfFiles`).
    fn parse_dir(
        &mut self,
        dir: &str,
        calling_file: &str,
        calling_line: u32,
        depth: u32,
        source: &dyn Source,
    ) -> bool {
        if dir
            .bytes()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.error(
                Some(calling_file),
                calling_line,
                format!("empty configuration directory name: \"{dir}\""),
            );
            return false;
        }
        let directory = crate::source::absolute_location(dir, calling_file);
        let entries = match source.list_dir(&directory) {
            Ok(e) => e,
            Err(e) => {
                self.error(
                    Some(calling_file),
                    calling_line,
                    format!("could not open configuration directory \"{directory}\": {e}"),
                );
                return false;
            }
        };
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|e| {
                !e.is_dir
                    && e.name.len() >= 6
                    && !e.name.starts_with('.')
                    && e.name.ends_with(".conf")
            })
            .map(|e| canonicalize_path(&format!("{directory}/{}", e.name)))
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for n in names {
            if !self.parse_file(&n, true, Some(calling_file), calling_line, depth, source) {
                return false;
            }
        }
        true
    }

    /// `ParseConfigFp`.
    fn parse_text(&mut self, text: &[u8], file: &str, depth: u32, source: &dyn Source) -> bool {
        let mut lx = Lexer {
            s: text,
            pos: 0,
            line: 1,
        };
        let mut ok = true;
        let mut errorcount = 0;
        loop {
            let mut tok = lx.next();
            if tok.kind == Kind::Eof {
                break;
            }
            if tok.kind == Kind::Eol {
                continue;
            }
            // The line's name, value, and what follows.
            let parsed = (|| {
                if !matches!(tok.kind, Kind::Id | Kind::QualifiedId) {
                    return Err(tok);
                }
                let name = tok.text(text);
                tok = lx.next();
                if tok.kind == Kind::Equals {
                    tok = lx.next();
                }
                let value = match tok.kind {
                    Kind::String => deescape(&text[tok.start..tok.end]),
                    Kind::Id | Kind::Integer | Kind::Real | Kind::Unquoted => tok.text(text),
                    _ => return Err(tok),
                };
                tok = lx.next();
                match tok.kind {
                    Kind::Eol => {}
                    // EOF counts as a newline for line numbering (bug 4752).
                    Kind::Eof => lx.line += 1,
                    _ => return Err(tok),
                }
                Ok((name, value, tok))
            })();
            match parsed {
                Ok((name, value, end)) => {
                    let line = lx.line - 1;
                    if name.eq_ignore_ascii_case("include_dir") {
                        if !self.parse_dir(&value, file, line, depth + 1, source) {
                            ok = false;
                        }
                    } else if name.eq_ignore_ascii_case("include_if_exists") {
                        if !self.parse_file(&value, false, Some(file), line, depth + 1, source) {
                            ok = false;
                        }
                    } else if name.eq_ignore_ascii_case("include") {
                        if !self.parse_file(&value, true, Some(file), line, depth + 1, source) {
                            ok = false;
                        }
                    } else {
                        self.order.push(Slot::Setting(self.settings.len()));
                        self.settings.push(ConfSetting {
                            name,
                            value,
                            file: file.to_owned(),
                            line,
                        });
                    }
                    if end.kind == Kind::Eof {
                        break;
                    }
                }
                Err(bad) => {
                    if matches!(bad.kind, Kind::Eol | Kind::Eof) {
                        let line = lx.line - 1;
                        self.error(
                            Some(file),
                            line,
                            format!(
                                "syntax error in file \"{file}\" line {line}, near end of line"
                            ),
                        );
                    } else {
                        let line = lx.line;
                        self.error(
                            Some(file),
                            line,
                            format!(
                                "syntax error in file \"{file}\" line {line}, near token \"{}\"",
                                bad.text(text)
                            ),
                        );
                    }
                    ok = false;
                    errorcount += 1;
                    if errorcount >= MAX_ERRORS || self.view {
                        break;
                    }
                    let mut t = bad;
                    while !matches!(t.kind, Kind::Eol | Kind::Eof) {
                        t = lx.next();
                    }
                    if t.kind == Kind::Eof {
                        break;
                    }
                }
            }
        }
        ok
    }
}

/// `value` as a postgresql.conf string the server reads back as `value`: in single quotes,
/// with `'` doubled, and backslash, line feed and carriage return written as the escapes
/// `DeescapeQuotedString` undoes (`\\`, `\n`, `\r`), e.g. for a file path holding a quote.
pub fn quote_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `parse_bool`: `on`/`off`, `true`/`false`, `yes`/`no` (unique prefixes,
/// any ASCII case; `on`/`off` need two letters), `1`, `0`.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let prefix = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    match v.as_bytes().first()? {
        b't' if prefix("true", 1) => Some(true),
        b'f' if prefix("false", 1) => Some(false),
        b'y' if prefix("yes", 1) => Some(true),
        b'n' if prefix("no", 1) => Some(false),
        b'o' if prefix("on", 2) => Some(true),
        b'o' if prefix("off", 2) => Some(false),
        b'1' if v == "1" => Some(true),
        b'0' if v == "0" => Some(false),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Id,
    QualifiedId,
    String,
    Unquoted,
    Integer,
    Real,
    Equals,
    Error,
    Eol,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Tok {
    fn text(&self, s: &[u8]) -> String {
        String::from_utf8_lossy(&s[self.start..self.end]).into_owned()
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: u32,
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_letter_or_digit(b: u8) -> bool {
    is_letter(b) || b.is_ascii_digit()
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn count(&self, from: usize, f: impl Fn(u8) -> bool) -> usize {
        self.s[from.min(self.s.len())..]
            .iter()
            .take_while(|b| f(**b))
            .count()
    }

    fn id_len(&self, p: usize) -> usize {
        match self.at(p) {
            Some(b) if is_letter(b) => 1 + self.count(p + 1, is_letter_or_digit),
            _ => 0,
        }
    }

    fn qualified_len(&self, p: usize) -> usize {
        let a = self.id_len(p);
        if a == 0 || self.at(p + a) != Some(b'.') {
            return 0;
        }
        let b = self.id_len(p + a + 1);
        if b == 0 { 0 } else { a + 1 + b }
    }

    fn unquoted_len(&self, p: usize) -> usize {
        match self.at(p) {
            Some(b) if is_letter(b) => {
                1 + self.count(p + 1, |c| {
                    is_letter_or_digit(c) || matches!(c, b'-' | b'.' | b'_' | b':' | b'/')
                })
            }
            _ => 0,
        }
    }

    /// `'([^'\\\n]|\\.|'')*'`: the longest prefix ending in a closing quote.
    fn string_len(&self, p: usize) -> usize {
        if self.at(p) != Some(b'\'') {
            return 0;
        }
        let mut i = p + 1;
        let mut last = 0;
        while let Some(c) = self.at(i) {
            match c {
                b'\'' => {
                    last = i + 1 - p;
                    if self.at(i + 1) == Some(b'\'') {
                        i += 2;
                    } else {
                        break;
                    }
                }
                b'\\' => match self.at(i + 1) {
                    Some(n) if n != b'\n' => i += 2,
                    _ => break,
                },
                b'\n' => break,
                _ => i += 1,
            }
        }
        last
    }

    fn sign_len(&self, p: usize) -> usize {
        usize::from(matches!(self.at(p), Some(b'-' | b'+')))
    }

    /// `{SIGN}?({DIGIT}+|0x{HEXDIGIT}+){UNIT_LETTER}*`
    fn integer_len(&self, p: usize) -> usize {
        let q = p + self.sign_len(p);
        let mut best = 0;
        let d = self.count(q, |c| c.is_ascii_digit());
        if d > 0 {
            let e = q + d;
            best = e + self.count(e, |c| c.is_ascii_alphabetic()) - p;
        }
        if self.at(q) == Some(b'0') && self.at(q + 1) == Some(b'x') {
            let h = self.count(q + 2, |c| c.is_ascii_hexdigit());
            if h > 0 {
                let e = q + 2 + h;
                best = best.max(e + self.count(e, |c| c.is_ascii_alphabetic()) - p);
            }
        }
        best
    }

    /// `{SIGN}?{DIGIT}*"."{DIGIT}*{EXPONENT}?`
    fn real_len(&self, p: usize) -> usize {
        let q = p + self.sign_len(p);
        let q = q + self.count(q, |c| c.is_ascii_digit());
        if self.at(q) != Some(b'.') {
            return 0;
        }
        let mut e = q + 1;
        e += self.count(e, |c| c.is_ascii_digit());
        if matches!(self.at(e), Some(b'e' | b'E')) {
            let x = e + 1 + self.sign_len(e + 1);
            let d = self.count(x, |c| c.is_ascii_digit());
            if d > 0 {
                e = x + d;
            }
        }
        e - p
    }

    fn next(&mut self) -> Tok {
        loop {
            match self.at(self.pos) {
                None => {
                    return Tok {
                        kind: Kind::Eof,
                        start: self.pos,
                        end: self.pos,
                    };
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return Tok {
                        kind: Kind::Eol,
                        start: self.pos - 1,
                        end: self.pos,
                    };
                }
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'#') => self.pos += 1 + self.count(self.pos + 1, |c| c != b'\n'),
                Some(_) => break,
            }
        }
        let p = self.pos;
        // Rule order decides ties.
        let candidates = [
            (Kind::Id, self.id_len(p)),
            (Kind::QualifiedId, self.qualified_len(p)),
            (Kind::String, self.string_len(p)),
            (Kind::Unquoted, self.unquoted_len(p)),
            (Kind::Integer, self.integer_len(p)),
            (Kind::Real, self.real_len(p)),
            (Kind::Equals, usize::from(self.at(p) == Some(b'='))),
            (Kind::Error, 1),
        ];
        let mut best = candidates[0];
        for c in candidates {
            if c.1 > best.1 {
                best = c;
            }
        }
        self.pos += best.1;
        Tok {
            kind: best.0,
            start: p,
            end: self.pos,
        }
    }
}

/// `DeescapeQuotedString`: `s` includes both quotes.
fn deescape(s: &[u8]) -> String {
    let inner = &s[1..s.len().saturating_sub(1).max(1)];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c == b'\\' && i + 1 < inner.len() {
            i += 1;
            let n = inner[i];
            match n {
                b'b' => out.push(0x08),
                b'f' => out.push(0x0c),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'0'..=b'7' => {
                    let mut v: u32 = 0;
                    let mut k = 0;
                    while k < 3 && i + k < inner.len() && (b'0'..=b'7').contains(&inner[i + k]) {
                        v = (v << 3) + u32::from(inner[i + k] - b'0');
                        k += 1;
                    }
                    i += k - 1;
                    // (char) octVal: the low byte.
                    out.push((v & 0xff) as u8);
                }
                other => out.push(other),
            }
        } else if c == b'\'' && inner.get(i + 1) == Some(&b'\'') {
            out.push(b'\'');
            i += 1;
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    fn one(text: &str) -> ConfFile {
        ConfFile::parse_str("/d/postgresql.conf", text, &MemorySource::new())
    }

    fn value(c: &ConfFile, name: &str) -> Option<String> {
        c.get(name).map(|s| s.value.clone())
    }

    #[test]
    fn quoted_strings_read_back_as_given() {
        for v in ["/d/server.crt", "/tmp/it's/a b\\c", "x\ny\rz\t", "", "''"] {
            let c = one(&format!("ssl_cert_file = {}\n", quote_string(v)));
            assert!(c.errors().is_empty(), "{v:?}: {:?}", c.errors());
            assert_eq!(value(&c, "ssl_cert_file").as_deref(), Some(v));
        }
        assert_eq!(quote_string("it's"), "'it''s'");
    }

    #[test]
    fn names_values_and_equals() {
        let c = one(
            "ssl = on\nport 5433\n# comment\n\nSSL_cert_file = 'a b.crt' # trailing\nx.y = 1.5e3\n",
        );
        assert!(c.errors().is_empty(), "{:?}", c.errors());
        assert_eq!(value(&c, "ssl").as_deref(), Some("on"));
        assert_eq!(value(&c, "port").as_deref(), Some("5433"));
        assert_eq!(value(&c, "ssl_cert_file").as_deref(), Some("a b.crt"));
        assert_eq!(c.get("ssl_cert_file").map(|s| s.line), Some(5));
        assert_eq!(value(&c, "x.y").as_deref(), Some("1.5e3"));
    }

    #[test]
    fn last_setting_wins_with_its_line() {
        let c = one("ssl = off\nSsl = on\n");
        let s = c.get("ssl").unwrap();
        assert_eq!((s.value.as_str(), s.line), ("on", 2));
    }

    #[test]
    fn quoting_and_escapes() {
        let c = one("a = 'it''s'\nb = 'x\\ty\\\\z\\'q'\nc = '\\101\\1'\nd = ''\n");
        assert!(c.errors().is_empty(), "{:?}", c.errors());
        assert_eq!(value(&c, "a").as_deref(), Some("it's"));
        assert_eq!(value(&c, "b").as_deref(), Some("x\ty\\z'q"));
        assert_eq!(value(&c, "c").as_deref(), Some("A\u{1}"));
        assert_eq!(value(&c, "d").as_deref(), Some(""));
    }

    #[test]
    fn unquoted_values_the_server_rejects() {
        // A qualified name is not a value; `/` starts no token.
        let c = one("ssl_cert_file = server.crt\nssl_key_file = /etc/k\nok = server-1.crt\n");
        let msgs: Vec<&str> = c.errors().iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "syntax error in file \"/d/postgresql.conf\" line 1, near token \"server.crt\"",
                "syntax error in file \"/d/postgresql.conf\" line 2, near token \"/\"",
            ]
        );
        assert_eq!(value(&c, "ok").as_deref(), Some("server-1.crt"));
        assert_eq!(value(&c, "ssl_cert_file"), None);
    }

    #[test]
    fn syntax_errors_near_end_of_line() {
        let c = one("ssl =\nport = 1 2\nlast = 'unterminated\n");
        let msgs: Vec<(u32, &str)> = c
            .errors()
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            vec![
                (
                    1,
                    "syntax error in file \"/d/postgresql.conf\" line 1, near end of line"
                ),
                (
                    2,
                    "syntax error in file \"/d/postgresql.conf\" line 2, near token \"2\""
                ),
                (
                    3,
                    "syntax error in file \"/d/postgresql.conf\" line 3, near token \"'\""
                ),
            ]
        );
    }

    #[test]
    fn value_at_eof_without_newline() {
        let c = one("a = 1\nb = 2");
        assert_eq!(c.get("b").map(|s| s.line), Some(2));
    }

    #[test]
    fn numbers() {
        let c = one("a = 0x1F\nb = -5min\nc = .5\nd = +1.\n");
        assert!(c.errors().is_empty(), "{:?}", c.errors());
        assert_eq!(value(&c, "a").as_deref(), Some("0x1F"));
        assert_eq!(value(&c, "b").as_deref(), Some("-5min"));
        assert_eq!(value(&c, "c").as_deref(), Some(".5"));
        assert_eq!(value(&c, "d").as_deref(), Some("+1."));
    }

    #[test]
    fn includes_and_auto_conf() {
        let src = MemorySource::new()
            .with(
                "/d/postgresql.conf",
                "ssl = off\ninclude 'sub/a.conf'\ninclude_if_exists 'missing.conf'\ninclude_dir 'conf.d'\n",
            )
            .with("/d/sub/a.conf", "ssl_cert_file = 'a.crt'\ninclude 'b.conf'\n")
            .with("/d/sub/b.conf", "ssl_key_file = 'b.key'\n")
            .with("/d/conf.d/20-b.conf", "ssl_cert_file = 'dir20.crt'\n")
            .with("/d/conf.d/10-a.conf", "ssl_cert_file = 'dir10.crt'\n")
            .with("/d/conf.d/.hidden.conf", "ssl_cert_file = 'hidden'\n")
            .with("/d/conf.d/x.conf.bak", "ssl_cert_file = 'bak'\n")
            .with("/d/postgresql.auto.conf", "ssl = 'on'\n");
        let c = ConfFile::read_data_dir("/d/", &src);
        assert!(c.errors().is_empty(), "{:?}", c.errors());
        let s = c.get("ssl").unwrap();
        assert_eq!(
            (s.value.as_str(), s.file.as_str(), s.line),
            ("on", "/d/postgresql.auto.conf", 1)
        );
        let s = c.get("ssl_cert_file").unwrap();
        assert_eq!(
            (s.value.as_str(), s.file.as_str()),
            ("dir20.crt", "/d/conf.d/20-b.conf")
        );
        assert_eq!(c.get("ssl_key_file").unwrap().file, "/d/sub/b.conf");
    }

    #[test]
    fn include_errors_name_the_including_line() {
        let src = MemorySource::new()
            .with("/d/postgresql.conf", "a = 1\ninclude 'nope.conf'\n")
            .with("/d/postgresql.auto.conf", "a = 2\n");
        let c = ConfFile::read_data_dir("/d", &src);
        assert_eq!(
            c.errors(),
            &[ConfError {
                file: "/d/postgresql.conf".into(),
                line: 2,
                message:
                    "could not open configuration file \"/d/nope.conf\": No such file or directory"
                        .into(),
            }]
        );
        // The main file's errors stop the read before postgresql.auto.conf.
        assert_eq!(value(&c, "a").as_deref(), Some("1"));
    }

    #[test]
    fn recursion_and_depth() {
        let src = MemorySource::new().with("/d/postgresql.conf", "include 'postgresql.conf'\n");
        let c = ConfFile::read_data_dir("/d", &src);
        assert_eq!(
            c.errors()[0].message,
            "configuration file recursion in \"/d/postgresql.conf\""
        );
        let src = MemorySource::new()
            .with("/d/postgresql.conf", "include 'a.conf'\n")
            .with("/d/a.conf", "include 'b.conf'\n")
            .with("/d/b.conf", "include 'a.conf'\n");
        let c = ConfFile::read_data_dir("/d", &src);
        assert_eq!(c.errors().len(), 1, "{:?}", c.errors());
        assert!(
            c.errors()[0]
                .message
                .ends_with(": maximum nesting depth exceeded"),
            "{:?}",
            c.errors()
        );
    }

    #[test]
    fn empty_include_name() {
        let c = one("include ''\n");
        assert_eq!(c.errors()[0].message, "empty configuration file name: \"\"");
    }

    #[test]
    fn bools() {
        for (v, b) in [
            ("on", Some(true)),
            ("OFF", Some(false)),
            ("of", Some(false)),
            ("o", None),
            ("t", Some(true)),
            ("fals", Some(false)),
            ("Yes", Some(true)),
            ("n", Some(false)),
            ("1", Some(true)),
            ("0", Some(false)),
            ("2", None),
            ("", None),
            ("onn", None),
        ] {
            assert_eq!(parse_bool(v), b, "{v}");
        }
    }
}
