//! Reading pg_hba.conf / pg_ident.conf into records of fields of tokens,
//! exactly as `tokenize_auth_file`, `next_field_expand` and `next_token` in
//! PostgreSQL's src/backend/libpq/hba.c do (including `@file` expansion and,
//! from 16, the `include*` directives).

use crate::source::{Source, absolute_location, inc_location};
use crate::version::PgVersion;

/// One token of a field, with the quoting information PostgreSQL keeps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Token {
    /// The token's text with quotes removed (`""` inside quotes gives `"`).
    pub text: String,
    /// Whether a `"` was seen before the first character was collected
    /// (PostgreSQL's "initial quote"); quoted tokens are never keywords,
    /// group references or `@file` references.
    pub quoted: bool,
}

impl Token {
    /// A token.
    pub fn new(text: impl Into<String>, quoted: bool) -> Self {
        Self {
            text: text.into(),
            quoted,
        }
    }

    /// `token_is_keyword`: the unquoted keyword `kw`.
    pub fn is_keyword(&self, kw: &str) -> bool {
        !self.quoted && self.text == kw
    }

    /// `token_is_member_check`: an unquoted `+role` group reference.
    pub fn is_member_check(&self) -> bool {
        !self.quoted && self.text.starts_with('+')
    }
}

/// A logical record: one line after continuations, split into fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The file the record comes from (as PostgreSQL names it).
    pub(crate) file: String,
    /// The physical line number of the record's first line.
    pub(crate) line_number: u32,
    /// The record text after continuation splicing (`raw_line`).
    pub(crate) raw: String,
    /// The fields; each has at least one token.
    pub(crate) fields: Vec<Vec<Token>>,
    /// A tokenizer error (`err_msg` of `TokenizedAuthLine`).
    pub(crate) error: Option<String>,
    /// The server's log text for `error` (it can differ, or come from an
    /// included file's own line).
    pub(crate) error_log: Option<String>,
    /// The record had bytes that are not UTF-8 (shown as U+FFFD in tokens).
    pub(crate) lossy: bool,
    /// 0-based physical line range in the file the record comes from.
    pub(crate) phys: (usize, usize),
}

/// MAX_TOKEN before 16 (the 10240 of 12.16, 13.12, 14.9, 15.4 and later).
const MAX_TOKEN_OLD: usize = 10240;
/// The include depth limit of 16+ (`CONF_FILE_MAX_DEPTH`).
const MAX_DEPTH: usize = 10;
/// Our own guard before 16, where the server has none (it would recurse forever).
const MAX_DEPTH_OLD: usize = 64;
/// PG12-13 line buffer (MAX_LINE, 20480 from the August 2023 minors).
const MAX_LINE_OLD: usize = 20480;

/// One logical line as `pg_get_line_append` plus continuation handling produce it.
#[derive(Debug)]
pub(crate) struct LogicalLine {
    pub(crate) line_number: u32,
    pub(crate) content: Vec<u8>,
    pub(crate) phys: (usize, usize),
    pub(crate) too_long: bool,
}

/// Physical lines: byte ranges, each including its `\n` when present.
pub(crate) fn physical_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(text.iter().filter(|b| **b == b'\n').count() + 1);
    let mut start = 0;
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            out.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn strip_crlf(buf: &mut Vec<u8>) {
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
}

/// Splits a file into logical lines for `version`.
pub(crate) fn logical_lines(text: &[u8], version: PgVersion) -> Vec<LogicalLine> {
    let phys = physical_lines(text);
    let mut out = Vec::with_capacity(phys.len());
    let mut i = 0;
    let mut line_number: u32 = 1;
    let continuation = version >= PgVersion::V14;
    while i < phys.len() {
        let first = i;
        let mut buf: Vec<u8> = Vec::new();
        let mut last_backslash_len = 0usize;
        let mut continuations: u32 = 0;
        let mut too_long = false;
        loop {
            // pg_get_line_append: read until a '\n' survives strlen().
            let orig = buf.len();
            let mut got_any = false;
            while i < phys.len() {
                let p = phys[i];
                i += 1;
                got_any = true;
                let cut = p.iter().position(|b| *b == 0).unwrap_or(p.len());
                buf.extend_from_slice(&p[..cut]);
                if !continuation && p.len() >= MAX_LINE_OLD {
                    too_long = true;
                }
                if buf.len() > orig && buf.last() == Some(&b'\n') {
                    break;
                }
            }
            if !got_any {
                break;
            }
            strip_crlf(&mut buf);
            if continuation && buf.len() > last_backslash_len && buf.last() == Some(&b'\\') {
                buf.pop();
                last_backslash_len = buf.len();
                continuations += 1;
                if i < phys.len() {
                    continue;
                }
            }
            break;
        }
        out.push(LogicalLine {
            line_number,
            content: buf,
            phys: (first, i),
            too_long,
        });
        line_number = line_number.saturating_add(continuations + 1);
    }
    out
}

/// `pg_isblank`: space, tab and carriage return.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == b'\r'
}

/// What `next_token` produced.
enum Next {
    Token {
        text: Vec<u8>,
        initial_quote: bool,
        terminating_comma: bool,
    },
    End,
    TooLong(Vec<u8>),
}

/// `next_token`.
fn next_token(line: &[u8], pos: &mut usize, max_token: Option<usize>) -> Next {
    let mut in_quote = false;
    let mut was_quote = false;
    let mut saw_quote = false;
    let mut initial_quote = false;
    let mut terminating_comma = false;
    let mut buf: Vec<u8> = Vec::with_capacity(32);
    // Skip blanks and commas.
    while *pos < line.len() && (is_blank(line[*pos]) || line[*pos] == b',') {
        *pos += 1;
    }
    while *pos < line.len() {
        let c = line[*pos];
        if is_blank(c) && !in_quote {
            break;
        }
        if c == b'#' && !in_quote {
            *pos = line.len();
            break;
        }
        if let Some(max) = max_token
            && buf.len() >= max - 1
        {
            *pos = line.len();
            return Next::TooLong(buf);
        }
        if c == b',' && !in_quote {
            terminating_comma = true;
            *pos += 1;
            break;
        }
        if c != b'"' || was_quote {
            buf.push(c);
        }
        if in_quote && c == b'"' {
            was_quote = !was_quote;
        } else {
            was_quote = false;
        }
        if c == b'"' {
            in_quote = !in_quote;
            saw_quote = true;
            if buf.is_empty() {
                initial_quote = true;
            }
        }
        *pos += 1;
    }
    if saw_quote || !buf.is_empty() {
        Next::Token {
            text: buf,
            initial_quote,
            terminating_comma,
        }
    } else {
        Next::End
    }
}

/// Tokenizer settings and the file resolver.
pub(crate) struct Tokenizer<'a> {
    pub(crate) version: PgVersion,
    pub(crate) source: &'a dyn Source,
}

impl Tokenizer<'_> {
    fn max_token(&self) -> Option<usize> {
        (self.version < PgVersion::V16).then_some(MAX_TOKEN_OLD)
    }

    fn max_depth(&self) -> usize {
        if self.version >= PgVersion::V16 {
            MAX_DEPTH
        } else {
            MAX_DEPTH_OLD
        }
    }

    /// `tokenize_auth_file`: every record of `text`, includes expanded (16+).
    pub(crate) fn tokenize_file(
        &self,
        file: &str,
        text: &[u8],
        depth: usize,
        out: &mut Vec<Record>,
    ) {
        let lines = logical_lines(text, self.version);
        out.reserve(lines.len());
        for ll in lines {
            let mut fields: Vec<Vec<Token>> = Vec::with_capacity(8);
            let mut error: Option<(String, String)> = None;
            if ll.too_long {
                let m = "authentication file line too long".to_owned();
                error = Some((m.clone(), m));
            }
            let mut pos = 0;
            while pos < ll.content.len() && error.is_none() {
                let field = self.next_field_expand(file, &ll.content, &mut pos, depth, &mut error);
                if !field.is_empty() {
                    fields.push(field);
                }
            }
            if fields.is_empty() && error.is_none() {
                continue;
            }
            let raw = String::from_utf8_lossy(&ll.content).into_owned();
            if error.is_none() && fields.len() == 2 && self.version >= PgVersion::V16 {
                let first = fields[0].first().map(|t| t.text.as_str()).unwrap_or("");
                let second = fields[1]
                    .first()
                    .map(|t| t.text.clone())
                    .unwrap_or_default();
                let handled = match first {
                    "include" => self.include_file(file, &second, depth + 1, false, out),
                    "include_if_exists" => self.include_file(file, &second, depth + 1, true, out),
                    "include_dir" => self.include_dir(file, &second, depth + 1, out),
                    _ => Err(None),
                };
                match handled {
                    Ok(()) => continue,
                    Err(Some(e)) => error = Some((e.clone(), e)),
                    Err(None) => {}
                }
            }
            let (error, error_log) = match error {
                Some((v, l)) => (Some(v), Some(l)),
                None => (None, None),
            };
            out.push(Record {
                file: file.to_owned(),
                line_number: ll.line_number,
                lossy: std::str::from_utf8(&ll.content).is_err(),
                raw,
                fields,
                error,
                error_log,
                phys: ll.phys,
            });
        }
    }

    /// `tokenize_include_file`. `Err(Some(msg))` is an error for the directive's line.
    fn include_file(
        &self,
        outer: &str,
        inc: &str,
        depth: usize,
        missing_ok: bool,
        out: &mut Vec<Record>,
    ) -> Result<(), Option<String>> {
        let full = absolute_location(inc, outer);
        match self.open(&full, depth) {
            Ok(text) => {
                self.tokenize_file(&full, &text, depth, out);
                Ok(())
            }
            Err((msg, not_found)) => {
                if not_found && missing_ok {
                    Ok(())
                } else {
                    Err(Some(msg))
                }
            }
        }
    }

    fn include_dir(
        &self,
        outer: &str,
        dir: &str,
        depth: usize,
        out: &mut Vec<Record>,
    ) -> Result<(), Option<String>> {
        if dir
            .bytes()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Err(Some("empty configuration directory name".to_owned()));
        }
        let directory = absolute_location(dir, outer);
        let Ok(entries) = self.source.list_dir(&directory) else {
            return Err(Some(format!("could not open directory \"{directory}\"")));
        };
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|e| {
                !e.is_dir
                    && e.name.len() >= 6
                    && !e.name.starts_with('.')
                    && e.name.ends_with(".conf")
            })
            .map(|e| crate::source::canonicalize_path(&format!("{directory}/{}", e.name)))
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut errors: Vec<String> = Vec::new();
        for name in names {
            if let Err(Some(e)) = self.include_file(outer, &name, depth, false, out) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Some(errors.join("\n")))
        }
    }

    /// `open_auth_file` (16+) / the open in `tokenize_inc_file` (≤15).
    /// Returns the error text and whether it was ENOENT.
    fn open(&self, full: &str, depth: usize) -> Result<Vec<u8>, (String, bool)> {
        if depth > self.max_depth() {
            return Err((
                format!("could not open file \"{full}\": maximum nesting depth exceeded"),
                false,
            ));
        }
        self.source.read(full).map_err(|e| {
            (
                format!("could not open file \"{full}\": {}", e.message),
                e.not_found,
            )
        })
    }

    /// `next_field_expand`.
    fn next_field_expand(
        &self,
        file: &str,
        line: &[u8],
        pos: &mut usize,
        depth: usize,
        error: &mut Option<(String, String)>,
    ) -> Vec<Token> {
        let mut tokens = Vec::with_capacity(2);
        loop {
            match next_token(line, pos, self.max_token()) {
                Next::End => break,
                Next::TooLong(prefix) => {
                    *error = Some((
                        "authentication file token too long".to_owned(),
                        format!(
                            "authentication file token too long, skipping: \"{}\"",
                            String::from_utf8_lossy(&prefix)
                        ),
                    ));
                    break;
                }
                Next::Token {
                    text,
                    initial_quote,
                    terminating_comma,
                } => {
                    if !initial_quote && text.len() > 1 && text[0] == b'@' {
                        let name = String::from_utf8_lossy(&text[1..]).into_owned();
                        self.expand_file(file, &name, depth + 1, &mut tokens, error);
                    } else {
                        let text = match String::from_utf8(text) {
                            Ok(t) => t,
                            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                        };
                        tokens.push(Token {
                            text,
                            quoted: initial_quote,
                        });
                    }
                    if !(terminating_comma && error.is_none()) {
                        break;
                    }
                }
            }
        }
        tokens
    }

    /// `tokenize_expand_file` (16+) / `tokenize_inc_file` (≤15).
    fn expand_file(
        &self,
        outer: &str,
        inc: &str,
        depth: usize,
        tokens: &mut Vec<Token>,
        error: &mut Option<(String, String)>,
    ) {
        let old = self.version < PgVersion::V16;
        let full = if old {
            inc_location(inc, outer)
        } else {
            absolute_location(inc, outer)
        };
        let text = match self.open(&full, depth) {
            Ok(t) => t,
            Err((msg, _)) => {
                let m = if old {
                    let why = msg
                        .rsplit_once("\": ")
                        .map(|(_, w)| w.to_owned())
                        .unwrap_or_default();
                    format!(
                        "could not open secondary authentication file \"@{inc}\" as \"{full}\": {why}"
                    )
                } else {
                    msg
                };
                *error = Some((m.clone(), m));
                return;
            }
        };
        let mut lines = Vec::new();
        self.tokenize_file(&full, &text, depth, &mut lines);
        for rec in lines {
            if let Some(e) = rec.error {
                let log = rec.error_log.unwrap_or_else(|| e.clone());
                *error = Some((e, log));
                break;
            }
            for field in rec.fields {
                tokens.extend(field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{MemorySource, NoSource};

    fn toks(line: &str) -> (Vec<Vec<(String, bool)>>, Option<String>) {
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &NoSource,
        };
        let mut out = Vec::new();
        t.tokenize_file("/d/pg_hba.conf", line.as_bytes(), 0, &mut out);
        let r = out.into_iter().next().expect("a record");
        (
            r.fields
                .into_iter()
                .map(|f| f.into_iter().map(|t| (t.text, t.quoted)).collect())
                .collect(),
            r.error,
        )
    }

    fn texts(line: &str) -> Vec<Vec<String>> {
        toks(line)
            .0
            .into_iter()
            .map(|f| f.into_iter().map(|t| t.0).collect())
            .collect()
    }

    #[test]
    fn quotes_and_commas() {
        assert_eq!(texts("a\"b c\"d x"), vec![vec!["ab cd"], vec!["x"]]);
        assert_eq!(texts("\"\"\"\""), vec![vec!["\""]]);
        assert_eq!(texts("db1, db2 x"), vec![vec!["db1", "db2"], vec!["x"]]);
        assert_eq!(texts("db1 ,db2"), vec![vec!["db1"], vec!["db2"]]);
        assert_eq!(texts("db1,,db2"), vec![vec!["db1", "db2"]]);
        assert_eq!(texts(",a"), vec![vec!["a"]]);
        assert_eq!(texts("\"\" x"), vec![vec![""], vec!["x"]]);
        assert_eq!(texts("trust#x y"), vec![vec!["trust"]]);
        assert_eq!(texts("\"a#b\" c"), vec![vec!["a#b"], vec!["c"]]);
        assert_eq!(texts("\"trust"), vec![vec!["trust"]]);
        assert_eq!(texts("all\\ trust"), vec![vec!["all\\"], vec!["trust"]]);
    }

    #[test]
    fn initial_quote_flag() {
        let (f, _) = toks("\"all\" al\"l\" +\"staff\" \"\"all");
        assert_eq!(f[0][0], ("all".to_owned(), true));
        assert_eq!(f[1][0], ("all".to_owned(), false));
        assert_eq!(f[2][0], ("+staff".to_owned(), false));
        assert_eq!(f[3][0], ("all".to_owned(), true));
    }

    #[test]
    fn continuation_and_line_numbers() {
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &NoSource,
        };
        let mut out = Vec::new();
        let text = b"local all \\\n all trust\n\n# c \\\nlost line\nhost x\r\r\n";
        t.tokenize_file("/f", text, 0, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].line_number, 1);
        assert_eq!(out[0].raw, "local all  all trust");
        assert_eq!(out[1].line_number, 6);
        assert_eq!(out[1].raw, "host x");
        // "\\" followed by an empty line: the empty line does not continue.
        let mut out = Vec::new();
        t.tokenize_file("/f", b"a b\\\\\n\nc\n", 0, &mut out);
        assert_eq!(out[0].raw, "a b\\");
        assert_eq!(out[1].line_number, 3);
        // PG13: no continuation.
        let t13 = Tokenizer {
            version: PgVersion::V13,
            source: &NoSource,
        };
        let mut out = Vec::new();
        t13.tokenize_file("/f", b"a \\\nb\n", 0, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn nul_glues_lines() {
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &NoSource,
        };
        let mut out = Vec::new();
        t.tokenize_file(
            "/f",
            b"local all all trust\0 x\nlocal all\0y\n",
            0,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].raw, "local all all trustlocal all");
    }

    #[test]
    fn token_too_long_before_16() {
        let long = "a".repeat(10239);
        assert!(toks(&long).1.is_none());
        let long = "a".repeat(10240);
        assert_eq!(
            toks(&long).1.as_deref(),
            Some("authentication file token too long")
        );
    }

    #[test]
    fn at_file_expansion() {
        let src = MemorySource::new()
            .with("/d/users", "alice, bob\n# c\n\"all\"  all\n")
            .with("/d/empty", "# nothing\n");
        for v in [PgVersion::V15, PgVersion::V16] {
            let t = Tokenizer {
                version: v,
                source: &src,
            };
            let mut out = Vec::new();
            t.tokenize_file(
                "/d/pg_hba.conf",
                b"local @empty x,@users y \"@users\" @\n",
                0,
                &mut out,
            );
            let f = &out[0].fields;
            assert_eq!(f[1][0].text, "x");
            assert_eq!(f[1].len(), 5);
            assert!(f[1][3].quoted && !f[1][4].quoted);
            assert_eq!(f[2][0].text, "y");
            assert_eq!(f[3][0].text, "@users");
            assert_eq!(f[4][0].text, "@");
        }
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &src,
        };
        let mut out = Vec::new();
        t.tokenize_file("/d/pg_hba.conf", b"local @nope all trust\n", 0, &mut out);
        assert_eq!(
            out[0].error.as_deref(),
            Some(
                "could not open secondary authentication file \"@nope\" as \"/d/nope\": No such file or directory"
            )
        );
        let t = Tokenizer {
            version: PgVersion::V16,
            source: &src,
        };
        let mut out = Vec::new();
        t.tokenize_file("/d/pg_hba.conf", b"local @nope all trust\n", 0, &mut out);
        assert_eq!(
            out[0].error.as_deref(),
            Some("could not open file \"/d/nope\": No such file or directory")
        );
    }

    #[test]
    fn at_file_loop_is_bounded() {
        let src = MemorySource::new().with("/d/a", "@a\n");
        for v in [PgVersion::V15, PgVersion::V16] {
            let t = Tokenizer {
                version: v,
                source: &src,
            };
            let mut out = Vec::new();
            t.tokenize_file("/d/pg_hba.conf", b"local @a all trust\n", 0, &mut out);
            assert!(
                out[0]
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("maximum nesting depth exceeded")
            );
        }
    }

    #[test]
    fn include_directives_16() {
        let src = MemorySource::new()
            .with("/d/inc.conf", "local all all trust\n")
            .with("/d/conf.d/b.conf", "host all all all reject\n")
            .with("/d/conf.d/a.conf", "local db u peer\n")
            .with("/d/conf.d/.x.conf", "bogus\n")
            .with("/d/conf.d/x.txt", "bogus\n");
        let t = Tokenizer {
            version: PgVersion::V16,
            source: &src,
        };
        let mut out = Vec::new();
        t.tokenize_file(
            "/d/pg_hba.conf",
            b"include inc.conf\ninclude_dir conf.d\ninclude_if_exists nope\ninclude nope\n",
            0,
            &mut out,
        );
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].file, "/d/inc.conf");
        assert_eq!(out[1].file, "/d/conf.d/a.conf");
        assert_eq!(out[2].file, "/d/conf.d/b.conf");
        assert_eq!(out[3].line_number, 4);
        assert_eq!(
            out[3].error.as_deref(),
            Some("could not open file \"/d/nope\": No such file or directory")
        );
        // Before 16 an include line is an ordinary record.
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &src,
        };
        let mut out = Vec::new();
        t.tokenize_file("/d/pg_hba.conf", b"include inc.conf\n", 0, &mut out);
        assert_eq!(out[0].fields[0][0].text, "include");
    }
}
