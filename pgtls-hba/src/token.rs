//! Reading pg_hba.conf / pg_ident.conf into records of fields of tokens,
//! exactly as `tokenize_auth_file`, `next_field_expand` and `next_token` in
//! PostgreSQL's src/backend/libpq/hba.c do (including `@file` expansion and,
//! from 16, the `include*` directives).
//!
//! Reading allocates as little as it can: a logical line is borrowed from
//! the file's text unless continuation or NUL bytes splice it, a token is
//! borrowed from the line unless quote removal makes it a copy, and the
//! record handed to the caller reuses its token and field buffers from line
//! to line. Records are streamed to a sink (the line parser), so nothing is
//! kept per line but what the model needs.

use std::borrow::Cow;

use crate::PgVersion;
use crate::source::{Source, absolute_location, inc_location};

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

/// A token while reading: its text borrowed from the line when it can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    /// As [`Token::text`].
    pub(crate) text: Cow<'a, str>,
    /// As [`Token::quoted`].
    pub(crate) quoted: bool,
}

impl Tok<'_> {
    /// `token_is_keyword`.
    pub(crate) fn is_keyword(&self, kw: &str) -> bool {
        !self.quoted && self.text == kw
    }

    /// Moves the token out (its text becomes empty): one allocation for a
    /// borrowed text, none for an owned one.
    pub(crate) fn take(&mut self) -> Token {
        Token {
            text: std::mem::take(&mut self.text).into_owned(),
            quoted: self.quoted,
        }
    }
}

/// A logical record: one line after continuations, split into fields.
///
/// The sink of [`Tokenizer::tokenize_file`] gets it by reference and may
/// take what it keeps out of it (the buffers are reused for the next record).
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// The file the record comes from (as PostgreSQL names it).
    pub(crate) file: &'a str,
    /// The physical line number of the record's first line.
    pub(crate) line_number: u32,
    /// The record text after continuation splicing (`raw_line`).
    pub(crate) raw: Cow<'a, str>,
    /// The tokens of all fields, in order.
    tokens: Vec<Tok<'a>>,
    /// Where each field ends in `tokens`; every field has at least one token.
    field_ends: Vec<usize>,
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

impl<'a> Record<'a> {
    fn new(file: &'a str) -> Self {
        Self {
            file,
            line_number: 0,
            raw: Cow::Borrowed(""),
            tokens: Vec::with_capacity(16),
            field_ends: Vec::with_capacity(8),
            error: None,
            error_log: None,
            lossy: false,
            phys: (0, 0),
        }
    }

    /// The number of fields.
    pub(crate) fn field_count(&self) -> usize {
        self.field_ends.len()
    }

    /// The tokens of field `i` (0-based), never empty.
    pub(crate) fn field(&self, i: usize) -> Option<&[Tok<'a>]> {
        let (start, end) = self.field_range(i)?;
        self.tokens.get(start..end)
    }

    /// The tokens of field `i`, to take from.
    pub(crate) fn field_mut(&mut self, i: usize) -> Option<&mut [Tok<'a>]> {
        let (start, end) = self.field_range(i)?;
        self.tokens.get_mut(start..end)
    }

    /// Every token from field `i` (0-based) to the end of the record
    /// (empty when there are fewer fields).
    pub(crate) fn tokens_from_field(&self, i: usize) -> &[Tok<'a>] {
        let start = match i.checked_sub(1) {
            Some(p) => self.field_ends.get(p).copied().unwrap_or(self.tokens.len()),
            None => 0,
        };
        self.tokens.get(start..).unwrap_or_default()
    }

    /// The first token of field `i`.
    pub(crate) fn first(&self, i: usize) -> Option<&Tok<'a>> {
        self.field(i).and_then(|f| f.first())
    }

    fn field_range(&self, i: usize) -> Option<(usize, usize)> {
        let end = *self.field_ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(p) => *self.field_ends.get(p)?,
            None => 0,
        };
        Some((start, end))
    }
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
pub(crate) struct LogicalLine<'a> {
    pub(crate) line_number: u32,
    /// Borrowed from the text unless continuation or a NUL byte spliced it.
    pub(crate) content: Cow<'a, [u8]>,
    pub(crate) phys: (usize, usize),
    pub(crate) too_long: bool,
}

/// The physical line of `text` starting at byte `start`, including its `\n`
/// when present (`None` at the end of the text).
fn physical_line_at(text: &[u8], start: usize) -> Option<&[u8]> {
    let rest = text.get(start..).filter(|r| !r.is_empty())?;
    match rest.iter().position(|b| *b == b'\n') {
        Some(nl) => rest.get(..=nl),
        None => Some(rest),
    }
}

/// Physical lines: byte ranges, each including its `\n` when present.
pub(crate) fn physical_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(text.iter().filter(|b| **b == b'\n').count() + 1);
    let mut start = 0;
    while let Some(p) = physical_line_at(text, start) {
        start += p.len();
        out.push(p);
    }
    out
}

/// About how many records `text` holds, to size the list of lines once:
/// the physical lines whose first byte other than a blank or comma is not
/// `#`, capped at one per 16 bytes so that odd input (continuations, lines
/// of `@empty-file`) cannot make it reserve much more than it needs.
pub(crate) fn record_estimate(text: &[u8]) -> usize {
    let mut n = 0;
    let mut start = 0;
    while let Some(p) = physical_line_at(text, start) {
        start += p.len();
        if p.iter()
            .find(|&&c| !(is_blank(c) || matches!(c, b',' | b'\n')))
            .is_some_and(|&c| c != b'#')
        {
            n += 1;
        }
    }
    n.min(text.len() / 16 + 1)
}

fn strip_crlf(buf: &mut Vec<u8>) {
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
}

fn strip_crlf_slice(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

/// The logical lines of a file for a version, borrowed where possible.
pub(crate) struct LogicalLines<'a> {
    text: &'a [u8],
    /// Byte offset of the next physical line.
    offset: usize,
    /// Index of the next physical line.
    index: usize,
    line_number: u32,
    continuation: bool,
}

impl<'a> LogicalLines<'a> {
    pub(crate) fn new(text: &'a [u8], version: PgVersion) -> Self {
        Self {
            text,
            offset: 0,
            index: 0,
            line_number: 1,
            continuation: version >= PgVersion::V14,
        }
    }

    /// The next physical line, advancing.
    fn next_physical(&mut self) -> Option<&'a [u8]> {
        let p = physical_line_at(self.text, self.offset)?;
        self.offset += p.len();
        self.index += 1;
        Some(p)
    }

    /// The general case (continuation lines, NUL bytes), `pg_get_line_append`
    /// step by step, starting with the physical line `p` already read.
    fn spliced(&mut self, p: &'a [u8]) -> (Vec<u8>, u32) {
        let mut buf: Vec<u8> = Vec::new();
        let mut last_backslash_len = 0usize;
        let mut continuations: u32 = 0;
        let mut pending = Some(p);
        loop {
            // pg_get_line_append: read until a '\n' survives strlen().
            let orig = buf.len();
            let mut got_any = false;
            while let Some(p) = pending.take().or_else(|| self.next_physical()) {
                got_any = true;
                let cut = p.iter().position(|b| *b == 0).unwrap_or(p.len());
                buf.extend_from_slice(p.get(..cut).unwrap_or(p));
                if buf.len() > orig && buf.last() == Some(&b'\n') {
                    break;
                }
            }
            if !got_any {
                break;
            }
            strip_crlf(&mut buf);
            if self.continuation && buf.len() > last_backslash_len && buf.last() == Some(&b'\\') {
                buf.pop();
                last_backslash_len = buf.len();
                continuations += 1;
                if self.offset < self.text.len() {
                    continue;
                }
            }
            break;
        }
        (buf, continuations)
    }
}

impl<'a> LogicalLines<'a> {
    /// 12 and 13 (`tokenize_file` with `fgets` into a `MAX_LINE` buffer):
    /// a line is what one `fgets` returns, up to and including `\n` or
    /// `MAX_LINE - 1` bytes; a longer physical line goes on as the next line
    /// (with the next line number), and `strlen` cuts each one at its first
    /// NUL. A line is too long when `strlen` reaches `MAX_LINE - 1`.
    fn next_fgets(&mut self) -> Option<LogicalLine<'a>> {
        let first = self.index;
        let rest = self.text.get(self.offset..).filter(|r| !r.is_empty())?;
        let line_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |nl| nl + 1);
        let len = line_end.min(MAX_LINE_OLD - 1);
        let chunk = rest.get(..len).unwrap_or(rest);
        self.offset += len;
        if len == line_end {
            self.index += 1;
        }
        let line_number = self.line_number;
        self.line_number = line_number.saturating_add(1);
        let cut = chunk.iter().position(|b| *b == 0).unwrap_or(chunk.len());
        let visible = chunk.get(..cut).unwrap_or(chunk);
        Some(LogicalLine {
            line_number,
            content: Cow::Borrowed(strip_crlf_slice(visible)),
            phys: (first, self.index),
            too_long: visible.len() == MAX_LINE_OLD - 1,
        })
    }
}

impl<'a> Iterator for LogicalLines<'a> {
    type Item = LogicalLine<'a>;

    fn next(&mut self) -> Option<LogicalLine<'a>> {
        if !self.continuation {
            return self.next_fgets();
        }
        let first = self.index;
        let p = self.next_physical()?;
        let line_number = self.line_number;
        let stripped = strip_crlf_slice(p);
        let (content, continuations) = if p.contains(&0) || stripped.last() == Some(&b'\\') {
            let (buf, c) = self.spliced(p);
            (Cow::Owned(buf), c)
        } else {
            // One physical line, nothing to splice: borrowed.
            (Cow::Borrowed(stripped), 0)
        };
        self.line_number = line_number.saturating_add(continuations + 1);
        Some(LogicalLine {
            line_number,
            content,
            phys: (first, self.index),
            too_long: false,
        })
    }
}

/// `pg_isblank`: space, tab and carriage return.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == b'\r'
}

/// The text `next_token` collects: a range of the line while the collected
/// bytes are contiguous in it, a copy once quote removal splits them.
enum TokenBuf {
    Range(usize, usize),
    Owned(Vec<u8>),
}

impl TokenBuf {
    fn len(&self) -> usize {
        match self {
            Self::Range(s, e) => e - s,
            Self::Owned(v) => v.len(),
        }
    }

    /// Appends `line[pos]` (which is `c`).
    fn push(&mut self, line: &[u8], pos: usize, c: u8) {
        match self {
            Self::Range(s, e) if s == e => *self = Self::Range(pos, pos + 1),
            Self::Range(_, e) if *e == pos => *e += 1,
            Self::Range(s, e) => {
                let mut v = Vec::with_capacity(*e - *s + 16);
                v.extend_from_slice(line.get(*s..*e).unwrap_or_default());
                v.push(c);
                *self = Self::Owned(v);
            }
            Self::Owned(v) => v.push(c),
        }
    }

    fn bytes<'b>(&'b self, line: &'b [u8]) -> &'b [u8] {
        match self {
            Self::Range(s, e) => line.get(*s..*e).unwrap_or_default(),
            Self::Owned(v) => v,
        }
    }

    /// The token's text; bytes that are not UTF-8 become U+FFFD. `text` is
    /// the line when it is valid UTF-8 (a range of it then needs no check:
    /// it starts and ends next to ASCII bytes or the line's ends).
    fn into_text<'l>(self, line: &'l [u8], text: Option<&'l str>) -> Cow<'l, str> {
        if let (Self::Range(s, e), Some(t)) = (&self, text)
            && let Some(sub) = t.get(*s..*e)
        {
            return Cow::Borrowed(sub);
        }
        token_text(self.into_bytes(line))
    }

    fn into_bytes(self, line: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Self::Range(s, e) => Cow::Borrowed(line.get(s..e).unwrap_or_default()),
            Self::Owned(v) => Cow::Owned(v),
        }
    }
}

/// What `next_token` produced.
enum Next<'a> {
    Token {
        text: TokenBuf,
        initial_quote: bool,
        terminating_comma: bool,
    },
    End,
    TooLong(Cow<'a, [u8]>),
}

/// `next_token`.
fn next_token<'a>(line: &'a [u8], pos: &mut usize, max_token: Option<usize>) -> Next<'a> {
    let mut in_quote = false;
    let mut was_quote = false;
    let mut saw_quote = false;
    let mut initial_quote = false;
    let mut terminating_comma = false;
    let mut buf = TokenBuf::Range(0, 0);
    // Skip blanks and commas.
    while let Some(&c) = line.get(*pos) {
        if !(is_blank(c) || c == b',') {
            break;
        }
        *pos += 1;
    }
    // Fast path: a run of bytes that are not blanks, commas, `#` or quotes
    // is collected as it is (the loop below would push each of them).
    let start = *pos;
    let run = line
        .get(start..)
        .unwrap_or_default()
        .iter()
        .position(|&c| is_blank(c) || matches!(c, b',' | b'#' | b'"'))
        .unwrap_or(line.len() - start);
    if run > 0 && max_token.is_none_or(|max| run < max - 1) {
        buf = TokenBuf::Range(start, start + run);
        *pos = start + run;
    }
    while let Some(&c) = line.get(*pos) {
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
            return Next::TooLong(buf.into_bytes(line));
        }
        if c == b',' && !in_quote {
            terminating_comma = true;
            *pos += 1;
            break;
        }
        if c != b'"' || was_quote {
            buf.push(line, *pos, c);
        }
        if in_quote && c == b'"' {
            was_quote = !was_quote;
        } else {
            was_quote = false;
        }
        if c == b'"' {
            in_quote = !in_quote;
            saw_quote = true;
            if buf.len() == 0 {
                initial_quote = true;
            }
        }
        *pos += 1;
    }
    if saw_quote || buf.len() != 0 {
        Next::Token {
            text: buf,
            initial_quote,
            terminating_comma,
        }
    } else {
        Next::End
    }
}

/// Token bytes as text; bytes that are not UTF-8 become U+FFFD.
fn token_text(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => Cow::Owned(match String::from_utf8(v) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

/// A logical line being tokenized.
#[derive(Clone, Copy)]
struct Line<'l> {
    bytes: &'l [u8],
    /// The same bytes when they are valid UTF-8.
    text: Option<&'l str>,
}

/// Tokenizer settings and the file resolver.
pub(crate) struct Tokenizer<'a> {
    pub(crate) version: PgVersion,
    pub(crate) source: &'a dyn Source,
}

/// Where records go: the caller's line parser.
pub(crate) type Sink<'s> = dyn FnMut(&mut Record<'_>) + 's;

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

    /// `tokenize_auth_file`: every record of `text`, includes expanded (16+),
    /// handed to `sink` in file order.
    pub(crate) fn tokenize_file(&self, file: &str, text: &[u8], depth: usize, sink: &mut Sink<'_>) {
        let mut rec = Record::new(file);
        for ll in LogicalLines::new(text, self.version) {
            rec.tokens.clear();
            rec.field_ends.clear();
            let mut error: Option<(String, String)> = None;
            if ll.too_long {
                let m = "authentication file line too long".to_owned();
                error = Some((m.clone(), m));
            }
            let (raw, lossy) = match ll.content {
                Cow::Borrowed(line) => {
                    let text = std::str::from_utf8(line).ok();
                    let (tokens, ends) = (&mut rec.tokens, &mut rec.field_ends);
                    let l = Line { bytes: line, text };
                    self.tokenize_line(file, l, depth, tokens, ends, &mut error);
                    match text {
                        Some(t) => (Cow::Borrowed(t), false),
                        None => (String::from_utf8_lossy(line), true),
                    }
                }
                Cow::Owned(line) => {
                    // A spliced line (rare): its tokens are copied out
                    // before the line becomes the record's text.
                    let mut tokens = Vec::new();
                    let ends = &mut rec.field_ends;
                    let l = Line {
                        bytes: &line,
                        text: std::str::from_utf8(&line).ok(),
                    };
                    self.tokenize_line(file, l, depth, &mut tokens, ends, &mut error);
                    rec.tokens.extend(tokens.into_iter().map(|t| Tok {
                        text: Cow::Owned(t.text.into_owned()),
                        quoted: t.quoted,
                    }));
                    match String::from_utf8(line) {
                        Ok(t) => (Cow::Owned(t), false),
                        Err(e) => (
                            Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
                            true,
                        ),
                    }
                }
            };
            if rec.field_ends.is_empty() && error.is_none() {
                continue;
            }
            if error.is_none() && rec.field_count() == 2 && self.version >= PgVersion::V16 {
                let kind = match rec.first(0).map(|t| &*t.text) {
                    Some("include") => Some(0),
                    Some("include_if_exists") => Some(1),
                    Some("include_dir") => Some(2),
                    _ => None,
                };
                if let Some(kind) = kind {
                    let second = rec.first(1).map(|t| t.text.to_string()).unwrap_or_default();
                    let handled = match kind {
                        0 => self.include_file(file, &second, depth + 1, false, sink),
                        1 => self.include_file(file, &second, depth + 1, true, sink),
                        _ => self.include_dir(file, &second, depth + 1, sink),
                    };
                    match handled {
                        Ok(()) => continue,
                        Err(e) => error = Some(e),
                    }
                }
            }
            let (error, error_log) = match error {
                Some((v, l)) => (Some(v), Some(l)),
                None => (None, None),
            };
            rec.lossy = lossy;
            rec.line_number = ll.line_number;
            rec.raw = raw;
            rec.error = error;
            rec.error_log = error_log;
            rec.phys = ll.phys;
            sink(&mut rec);
        }
    }

    /// The fields of one logical line: tokens appended to `tokens`, the end
    /// of each non-empty field to `ends`.
    fn tokenize_line<'l>(
        &self,
        file: &str,
        line: Line<'l>,
        depth: usize,
        tokens: &mut Vec<Tok<'l>>,
        ends: &mut Vec<usize>,
        error: &mut Option<(String, String)>,
    ) {
        let mut pos = 0;
        while pos < line.bytes.len() && error.is_none() {
            let before = tokens.len();
            self.next_field_expand(file, line, &mut pos, depth, tokens, error);
            if tokens.len() > before {
                ends.push(tokens.len());
            }
        }
    }

    /// `tokenize_include_file`. `Err((view text, log text))` is an error
    /// for the directive's line.
    fn include_file(
        &self,
        outer: &str,
        inc: &str,
        depth: usize,
        missing_ok: bool,
        sink: &mut Sink<'_>,
    ) -> Result<(), (String, String)> {
        let full = absolute_location(inc, outer);
        match self.open(&full, depth) {
            Ok(text) => {
                self.tokenize_file(&full, &text, depth, sink);
                Ok(())
            }
            Err((msg, not_found)) => {
                if not_found && missing_ok {
                    Ok(())
                } else {
                    Err((msg.clone(), msg))
                }
            }
        }
    }

    fn include_dir(
        &self,
        outer: &str,
        dir: &str,
        depth: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), (String, String)> {
        if dir
            .bytes()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            let m = "empty configuration directory name".to_owned();
            return Err((m.clone(), m));
        }
        let directory = absolute_location(dir, outer);
        let entries = match self.source.list_dir(&directory) {
            Ok(entries) => entries,
            // GetConfFilesInDir: the view gets a short text, the log has errno's.
            Err(e) => {
                return Err((
                    format!("could not open directory \"{directory}\""),
                    format!(
                        "could not open configuration directory \"{directory}\": {}",
                        e.message
                    ),
                ));
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
            .map(|e| crate::source::canonicalize_path(&format!("{directory}/{}", e.name)))
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut errors: Vec<String> = Vec::new();
        let mut first_log: Option<String> = None;
        for name in names {
            if let Err((view, log)) = self.include_file(outer, &name, depth, false, sink) {
                errors.push(view);
                first_log.get_or_insert(log);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            let view = errors.join("\n");
            let log = first_log.unwrap_or_else(|| view.clone());
            Err((view, log))
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

    /// `next_field_expand`: appends the field's tokens to `tokens`.
    fn next_field_expand<'l>(
        &self,
        file: &str,
        line: Line<'l>,
        pos: &mut usize,
        depth: usize,
        tokens: &mut Vec<Tok<'l>>,
        error: &mut Option<(String, String)>,
    ) {
        loop {
            match next_token(line.bytes, pos, self.max_token()) {
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
                    let bytes = text.bytes(line.bytes);
                    if !initial_quote && bytes.len() > 1 && bytes.first() == Some(&b'@') {
                        let name = String::from_utf8_lossy(bytes.get(1..).unwrap_or_default());
                        self.expand_file(file, &name, depth + 1, tokens, error);
                    } else {
                        tokens.push(Tok {
                            text: text.into_text(line.bytes, line.text),
                            quoted: initial_quote,
                        });
                    }
                    if !(terminating_comma && error.is_none()) {
                        break;
                    }
                }
            }
        }
    }

    /// `tokenize_expand_file` (16+) / `tokenize_inc_file` (≤15).
    fn expand_file(
        &self,
        outer: &str,
        inc: &str,
        depth: usize,
        tokens: &mut Vec<Tok<'_>>,
        error: &mut Option<(String, String)>,
    ) {
        let old = self.version < PgVersion::V16;
        let full = if old {
            inc_location(inc, outer)
        } else {
            absolute_location(inc, outer)
        };
        let text = match self.open(&full, depth) {
            // 12 and 13 read with fgets() and check ferror(): a directory
            // opens, and reading it fails (measured live on 12.22, 13.23);
            // 14+ treat it as an empty file.
            Ok(t)
                if self.version <= PgVersion::V13
                    && t.is_empty()
                    && self.source.list_dir(&full).is_ok() =>
            {
                let m = format!("could not read file \"{full}\": Is a directory");
                *error = Some((m.clone(), m));
                return;
            }
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
        // Every token of every record, up to the first record with an error.
        let mut stopped = false;
        self.tokenize_file(&full, &text, depth, &mut |rec: &mut Record<'_>| {
            if stopped {
                return;
            }
            if let Some(e) = rec.error.take() {
                let log = rec.error_log.take().unwrap_or_else(|| e.clone());
                *error = Some((e, log));
                stopped = true;
                return;
            }
            tokens.extend(rec.tokens.iter_mut().map(|t| Tok {
                text: Cow::Owned(std::mem::take(&mut t.text).into_owned()),
                quoted: t.quoted,
            }));
        });
    }

    /// Every record of `text` with owned fields (tests).
    #[cfg(test)]
    pub(crate) fn collect(&self, file: &str, text: &[u8]) -> Vec<OwnedRecord> {
        let mut out = Vec::new();
        self.tokenize_file(file, text, 0, &mut |rec: &mut Record<'_>| {
            let fields = (0..rec.field_count())
                .map(|i| {
                    rec.field(i)
                        .unwrap_or_default()
                        .iter()
                        .map(|t| Token::new(t.text.to_string(), t.quoted))
                        .collect()
                })
                .collect();
            out.push(OwnedRecord {
                file: rec.file.to_owned(),
                line_number: rec.line_number,
                raw: rec.raw.to_string(),
                fields,
                error: rec.error.clone(),
            });
        });
        out
    }
}

/// A record with owned fields (tests).
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct OwnedRecord {
    pub(crate) file: String,
    pub(crate) line_number: u32,
    pub(crate) raw: String,
    pub(crate) fields: Vec<Vec<Token>>,
    pub(crate) error: Option<String>,
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
        let out = t.collect("/d/pg_hba.conf", line.as_bytes());
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
        let text = b"local all \\\n all trust\n\n# c \\\nlost line\nhost x\r\r\n";
        let out = t.collect("/f", text);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].line_number, 1);
        assert_eq!(out[0].raw, "local all  all trust");
        assert_eq!(out[1].line_number, 6);
        assert_eq!(out[1].raw, "host x");
        // "\\" followed by an empty line: the empty line does not continue.
        let out = t.collect("/f", b"a b\\\\\n\nc\n");
        assert_eq!(out[0].raw, "a b\\");
        assert_eq!(out[1].line_number, 3);
        // PG13: no continuation.
        let t13 = Tokenizer {
            version: PgVersion::V13,
            source: &NoSource,
        };
        let out = t13.collect("/f", b"a \\\nb\n");
        assert_eq!(out.len(), 2);
    }

    /// 12 and 13 read lines with fgets: a NUL hides the rest of its line
    /// only, and a line longer than MAX_LINE - 1 bytes goes on as the next
    /// line (both measured live on 12.22 and 13.23).
    #[test]
    fn fgets_lines_before_14() {
        let t = Tokenizer {
            version: PgVersion::V13,
            source: &NoSource,
        };
        let out = t.collect("/f", b"local all all trust\0 x\nlocal all\0y\n");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].raw, "local all all trust");
        assert_eq!(out[1].raw, "local all");
        let mut long = b"local ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_LINE_OLD));
        long.extend_from_slice(b" all trust\nlocal all all md5\n");
        let out = t.collect("/f", &long);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0].error.as_deref(),
            Some("authentication file line too long")
        );
        assert_eq!((out[1].line_number, out[2].line_number), (2, 3));
        assert_eq!(out[2].raw, "local all all md5");
    }

    #[test]
    fn nul_glues_lines() {
        let t = Tokenizer {
            version: PgVersion::V15,
            source: &NoSource,
        };
        let out = t.collect("/f", b"local all all trust\0 x\nlocal all\0y\n");
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
            let out = t.collect("/d/pg_hba.conf", b"local @empty x,@users y \"@users\" @\n");
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
        let out = t.collect("/d/pg_hba.conf", b"local @nope all trust\n");
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
        let out = t.collect("/d/pg_hba.conf", b"local @nope all trust\n");
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
            let out = t.collect("/d/pg_hba.conf", b"local @a all trust\n");
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
        let out = t.collect(
            "/d/pg_hba.conf",
            b"include inc.conf\ninclude_dir conf.d\ninclude_if_exists nope\ninclude nope\n",
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
        let out = t.collect("/d/pg_hba.conf", b"include inc.conf\n");
        assert_eq!(out[0].fields[0][0].text, "include");
    }
}
