//! Edits that keep the rest of the file byte for byte: inserting lines,
//! "enforce TLS", and the lines for the three client-certificate policies.

use crate::hba::HbaFile;
use crate::method::{AuthMethod, ConnType};
use crate::token::physical_lines;

/// One change made by [`enforce_tls`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// 1-based physical line number in the original file (the line the change is at).
    pub line: u32,
    /// `insert`, `retype` or `comment-out`.
    pub action: &'static str,
    /// The new text of the line (inserted or rewritten).
    pub text: String,
}

/// The result of [`enforce_tls`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnforceResult {
    /// The new file.
    pub text: String,
    /// What changed.
    pub changes: Vec<Change>,
}

/// The line [`enforce_tls`] puts before every other rule.
pub const REJECT_NON_TLS: &str = "hostnossl all,replication all all reject";

/// Quotes a token for pg_hba.conf if it needs it: blanks, commas, `#`, `"`,
/// or a leading `@` (which would name a file). Keywords (`all`, `sameuser`,
/// ...) and a leading `+` are left unquoted, so they keep their meaning.
///
/// A line break or NUL cannot be written inside a pg_hba.conf token at all:
/// callers must refuse such text first (as [`policy_lines`] does), or the
/// token would end its line and start another rule.
pub fn quote_token(s: &str) -> String {
    let special = s.is_empty()
        || s.chars()
            .any(|c| matches!(c, ' ' | '\t' | '\r' | ',' | '#' | '"'))
        || s.starts_with('@');
    if !special {
        return s.to_owned();
    }
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes a literal role or database *name* as a pg_hba.conf token: quoted
/// whenever the server would otherwise read it as something else, i.e. besides
/// what [`quote_token`] quotes, a keyword of the user or database field (`all`,
/// `sameuser`, `samerole`, `samegroup`, `replication`) or a leading `+` (group
/// membership). Quoted, such a token is compared as plain text, so `"all"`
/// matches only the role named `all` and `"a,b"` the one role named `a,b`.
///
/// # Errors
/// [`UnwritableToken`] (with `field`) when the name holds a line break or NUL,
/// or starts with `/`: PostgreSQL 16+ compiles such a token as a regular
/// expression even when it is quoted (`regcomp_auth_token` checks only the
/// first character), so no token names it literally for every version.
pub fn literal_name(field: &'static str, name: &str) -> Result<String, UnwritableToken> {
    if name.contains(['\n', '\r', '\0']) {
        return Err(UnwritableToken {
            field,
            value: name.to_owned(),
            reason: LINE_BREAK,
        });
    }
    if name.starts_with('/') {
        // PostgreSQL 16+ reads a leading `/` as a regular expression even in
        // quotes; up to 15 it is plain text: no one token means the name in both.
        return Err(UnwritableToken {
            field,
            value: name.to_owned(),
            reason: "a leading / makes it a regular expression from PostgreSQL 16 on, quoted or not",
        });
    }
    let keyword = matches!(
        name,
        "all" | "sameuser" | "samerole" | "samegroup" | "replication"
    );
    if keyword || name.starts_with('+') {
        return Ok(format!("\"{}\"", name.replace('"', "\"\"")));
    }
    Ok(quote_token(name))
}

/// A role (or database) name as an SQL identifier: always double-quoted, with
/// `"` doubled, so that the server takes it byte for byte (no case folding,
/// keywords and blanks allowed), e.g. for `CREATE ROLE` next to a pg_hba.conf
/// line from [`literal_list`].
///
/// # Errors
/// [`UnwritableToken`] for a name holding NUL (no identifier can) or a line
/// break (kept out so that printed SQL stays one line per statement).
pub fn sql_identifier(field: &'static str, name: &str) -> Result<String, UnwritableToken> {
    if name.contains(['\n', '\r', '\0']) || name.is_empty() {
        return Err(UnwritableToken {
            field,
            value: name.to_owned(),
            reason: if name.is_empty() {
                "an SQL identifier cannot be empty"
            } else {
                LINE_BREAK
            },
        });
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// The longest name the server keeps whole: `NAMEDATALEN - 1` bytes. It truncates longer
/// identifiers (`truncate_identifier`) and a startup packet's user name
/// (`ProcessStartupPacket`) to this length.
pub const MAX_NAME_BYTES: usize = 63;

/// A role name `CREATE ROLE` refuses or changes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the role {role:?} cannot be created as given: {reason}")]
#[non_exhaustive]
pub struct UnusableRole {
    /// The name given.
    pub role: String,
    /// Why, in the server's terms.
    pub reason: &'static str,
}

/// A new role's name for `CREATE ROLE`: [`sql_identifier`], refusing what the server refuses
/// or changes: names starting with `pg_` (`role name "pg_x" is reserved`, `CreateRole` in
/// src/backend/commands/user.c), `public` and `none` (reserved by the grammar's `RoleSpec`,
/// quoted or not), and names longer than [`MAX_NAME_BYTES`] (truncated, so that the role is
/// no longer the name in its certificate or in pg_hba.conf).
///
/// # Errors
/// [`UnusableRole`] for those, and for an empty name or one with a line break or NUL.
pub fn new_role_identifier(name: &str) -> Result<String, UnusableRole> {
    let reason = if name.starts_with("pg_") {
        Some("names starting with \"pg_\" are reserved for the server's own roles")
    } else if name == "public" || name == "none" {
        Some("\"public\" and \"none\" are reserved role names, quoted or not")
    } else if name.len() > MAX_NAME_BYTES {
        Some("longer than 63 bytes (NAMEDATALEN - 1): the server truncates it")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(UnusableRole {
            role: name.to_owned(),
            reason,
        });
    }
    sql_identifier("role", name).map_err(|e| UnusableRole {
        role: name.to_owned(),
        reason: e.reason,
    })
}

/// A user or database field naming exactly `names` (literal names, see
/// [`literal_name`]), comma-separated.
///
/// # Errors
/// [`UnwritableToken`] for a name with a line break or NUL.
pub fn literal_list(field: &'static str, names: &[&str]) -> Result<String, UnwritableToken> {
    let quoted: Result<Vec<String>, _> = names.iter().map(|n| literal_name(field, n)).collect();
    Ok(quoted?.join(","))
}

fn line_ending(text: &[u8]) -> &'static str {
    if text.windows(2).any(|w| w == b"\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

impl HbaFile {
    /// The file with `line` inserted before physical line `before` (1-based;
    /// past the end appends). Everything else is kept byte for byte.
    pub fn with_line_inserted(&self, before: u32, line: &str) -> Vec<u8> {
        let text = self.text();
        let eol = line_ending(text);
        let phys = physical_lines(text);
        let idx = usize::try_from(before.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(phys.len());
        let mut out = Vec::with_capacity(text.len() + line.len() + 2);
        for p in &phys[..idx] {
            out.extend_from_slice(p);
        }
        if idx == phys.len() && !out.is_empty() && out.last() != Some(&b'\n') {
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(eol.as_bytes());
        for p in &phys[idx..] {
            out.extend_from_slice(p);
        }
        out
    }
}

/// Rewrites the file so that every TCP connection without TLS is refused:
///
/// * `hostnossl all,replication all all reject` goes before the first record
///   (so it also precedes anything an `include` brings in);
/// * `host` and `hostnogssenc` lines of the main file become `hostssl`;
/// * `hostnossl` and `hostgssenc` lines that do not reject are commented out
///   (they could no longer match anyway).
///
/// Comments, spacing and all other lines stay as they were.
pub fn enforce_tls(hba: &HbaFile) -> EnforceResult {
    let text = hba.text();
    let eol = line_ending(text);
    let phys = physical_lines(text);
    let mut changes = Vec::new();
    // physical index -> replacement bytes for the whole logical record
    let mut replace: Vec<Option<Vec<u8>>> = vec![None; phys.len()];
    let mut skip: Vec<bool> = vec![false; phys.len()];
    let mut first_record: Option<usize> = None;
    for line in hba.lines() {
        if line.file != hba.name() {
            continue;
        }
        let (start, end) = line.phys;
        if first_record.is_none() {
            first_record = Some(start);
        }
        let Some(rule) = line.rule() else { continue };
        let original: Vec<u8> = phys[start..end].concat();
        match rule.conn_type {
            ConnType::Host | ConnType::HostNoGssEnc => {
                let kw = rule.conn_type.as_str().as_bytes();
                // Replace the first occurrence of the keyword (the first token).
                if let Some(pos) = original.windows(kw.len()).position(|w| w == kw) {
                    let mut new = original[..pos].to_vec();
                    new.extend_from_slice(b"hostssl");
                    new.extend_from_slice(&original[pos + kw.len()..]);
                    changes.push(Change {
                        line: line.line_number,
                        action: "retype",
                        text: String::from_utf8_lossy(&new).trim_end().to_owned(),
                    });
                    replace[start] = Some(new);
                    for s in &mut skip[start + 1..end] {
                        *s = true;
                    }
                }
            }
            ConnType::HostNoSsl | ConnType::HostGssEnc if rule.method != AuthMethod::Reject => {
                let mut new = Vec::new();
                for p in &phys[start..end] {
                    new.extend_from_slice(b"# pgtls enforce-tls: ");
                    new.extend_from_slice(p);
                }
                changes.push(Change {
                    line: line.line_number,
                    action: "comment-out",
                    text: String::from_utf8_lossy(&new).trim_end().to_owned(),
                });
                replace[start] = Some(new);
                for s in &mut skip[start + 1..end] {
                    *s = true;
                }
            }
            _ => {}
        }
    }
    let insert_at = first_record.unwrap_or(phys.len());
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 128);
    for (i, p) in phys.iter().enumerate() {
        if i == insert_at {
            out.extend_from_slice(b"# pgtls enforce-tls: refuse every TCP connection without TLS");
            out.extend_from_slice(eol.as_bytes());
            out.extend_from_slice(REJECT_NON_TLS.as_bytes());
            out.extend_from_slice(eol.as_bytes());
        }
        if skip[i] {
            continue;
        }
        match &replace[i] {
            Some(r) => out.extend_from_slice(r),
            None => out.extend_from_slice(p),
        }
    }
    if insert_at == phys.len() {
        if !out.is_empty() && out.last() != Some(&b'\n') {
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(b"# pgtls enforce-tls: refuse every TCP connection without TLS");
        out.extend_from_slice(eol.as_bytes());
        out.extend_from_slice(REJECT_NON_TLS.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    let at = u32::try_from(insert_at + 1).unwrap_or(u32::MAX);
    changes.insert(
        0,
        Change {
            line: at,
            action: "insert",
            text: REJECT_NON_TLS.to_owned(),
        },
    );
    EnforceResult {
        text: String::from_utf8_lossy(&out).into_owned(),
        changes,
    }
}

/// The client-certificate policies operators ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertPolicy {
    /// `cert`: the certificate alone authenticates; its CN (or DN with a map)
    /// must be the user.
    Cert,
    /// A password (scram-sha-256) plus a certificate that chains to the CA.
    PasswordVerifyCa,
    /// A password (scram-sha-256) plus a certificate whose CN is the user.
    PasswordVerifyFull,
}

/// pg_hba.conf lines for `policy`: a `hostssl` line for the given database,
/// user and address fields, preceded by a `hostnossl ... reject` line so the
/// same clients cannot fall through to a later non-TLS rule. `map` applies to
/// [`CertPolicy::Cert`] only (the server rejects `map` on password methods).
///
/// # Errors
/// [`UnwritableToken`] when a field holds a line break or NUL, which no
/// pg_hba.conf token can carry (written out, it would start another rule).
pub fn policy_lines(
    policy: CertPolicy,
    database: &str,
    user: &str,
    address: &str,
    map: Option<&str>,
) -> Result<Vec<String>, UnwritableToken> {
    for (field, value) in [("database", database), ("user", user), ("address", address)]
        .into_iter()
        .chain(map.map(|m| ("map", m)))
    {
        if value.contains(['\n', '\r', '\0']) {
            return Err(UnwritableToken {
                field,
                value: value.to_owned(),
                reason: LINE_BREAK,
            });
        }
    }
    let (db, us, addr) = (
        quote_token(database),
        quote_token(user),
        quote_token(address),
    );
    let rule = match policy {
        CertPolicy::Cert => match map {
            Some(m) => format!(
                "hostssl {db} {us} {addr} cert {}",
                quote_token(&format!("map={m}"))
            ),
            None => format!("hostssl {db} {us} {addr} cert"),
        },
        CertPolicy::PasswordVerifyCa => {
            format!("hostssl {db} {us} {addr} scram-sha-256 clientcert=verify-ca")
        }
        CertPolicy::PasswordVerifyFull => {
            format!("hostssl {db} {us} {addr} scram-sha-256 clientcert=verify-full")
        }
    };
    Ok(vec![format!("hostnossl {db} {us} {addr} reject"), rule])
}

/// A value that cannot be written as a pg_hba.conf token (it holds a line
/// break or NUL).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {field} {value:?} cannot be written to pg_hba.conf: {reason}")]
#[non_exhaustive]
pub struct UnwritableToken {
    /// Which field (`database`, `user`, `address`, `map`).
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// Why (`it contains a line break or NUL`, ...).
    pub reason: &'static str,
}

const LINE_BREAK: &str = "it contains a line break or NUL";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PgVersion;
    use crate::eval::{Request, evaluate};
    use crate::hba::ServerSettings;

    fn settings() -> ServerSettings {
        ServerSettings::new(PgVersion::V15, true)
    }

    #[test]
    fn new_roles_the_server_would_refuse_or_truncate() {
        assert_eq!(
            new_role_identifier("Ops \"x\"").unwrap(),
            "\"Ops \"\"x\"\"\""
        );
        assert_eq!(new_role_identifier("all").unwrap(), "\"all\"");
        let long63 = "é".repeat(31) + "a";
        assert_eq!(long63.len(), 63);
        assert!(new_role_identifier(&long63).is_ok());
        for bad in ["pg_app", "public", "none", "", "a\nb", &("é".repeat(32))] {
            let e = new_role_identifier(bad).unwrap_err();
            assert_eq!(e.role, bad);
        }
        // Only the exact keywords: "Public" and "pgx" are ordinary names.
        assert!(new_role_identifier("Public").is_ok());
        assert!(new_role_identifier("pgx").is_ok());
    }

    #[test]
    fn insert_keeps_bytes() {
        let text = "# head\r\nlocal all all peer\r\nhost all all all md5";
        let f = HbaFile::parse_str(text, settings());
        let out = String::from_utf8(f.with_line_inserted(2, "local db u trust")).unwrap();
        assert_eq!(
            out,
            "# head\r\nlocal db u trust\r\nlocal all all peer\r\nhost all all all md5"
        );
        let out = String::from_utf8(f.with_line_inserted(99, "x")).unwrap();
        assert_eq!(out, format!("{text}\r\nx\r\n"));
    }

    #[test]
    fn enforce_tls_closes_every_plain_path() {
        let text = "# comment\n\nlocal all all peer\nhost  all all 10.0.0.0/8 md5  # keep\nhostnossl all all all trust\nhostgssenc all all all trust\nhost replication all all trust\n";
        let f = HbaFile::parse_str(text, settings());
        let r = enforce_tls(&f);
        let g = HbaFile::parse_str(&r.text, settings());
        assert!(g.load().is_ok(), "{}", r.text);
        assert!(r.text.contains("hostssl  all all 10.0.0.0/8 md5  # keep\n"));
        assert!(r.text.starts_with("# comment\n\n# pgtls enforce-tls"));
        for db in ["app", "x"] {
            for repl in [
                crate::eval::Replication::None,
                crate::eval::Replication::Physical,
            ] {
                for gss in [false, true] {
                    let req = Request::tcp("10.1.1.1".parse().unwrap(), db, "u")
                        .with_replication(repl)
                        .with_gss(gss);
                    assert!(!evaluate(&g, &req).proceeds(), "{db} {repl:?}");
                }
            }
        }
        let tls = Request::tcp("10.1.1.1".parse().unwrap(), "app", "u").with_tls(true);
        assert_eq!(evaluate(&g, &tls).method(), Some(AuthMethod::Md5));
        assert!(evaluate(&g, &Request::local("app", "u")).proceeds());
    }

    #[test]
    fn policies_parse() {
        for p in [
            CertPolicy::Cert,
            CertPolicy::PasswordVerifyCa,
            CertPolicy::PasswordVerifyFull,
        ] {
            let lines = policy_lines(p, "app", "all", "10.0.0.0/8", Some("certmap")).unwrap();
            let f = HbaFile::parse_str(&lines.join("\n"), settings());
            assert!(f.load().is_ok(), "{lines:?}");
        }
        assert_eq!(quote_token("a b"), "\"a b\"");
        // A line break would end the rule and start another: refused.
        for evil in ["x\nhost all all 0.0.0.0/0 trust #", "x\ry", "x\0y"] {
            let e = policy_lines(CertPolicy::Cert, "all", evil, "all", None).unwrap_err();
            assert_eq!(e.field, "user");
            assert!(policy_lines(CertPolicy::Cert, evil, "u", "all", None).is_err());
            assert!(policy_lines(CertPolicy::Cert, "d", "u", "all", Some(evil)).is_err());
        }
        assert_eq!(quote_token("say\"x"), "\"say\"\"x\"");
    }
    #[test]
    fn literal_names_match_only_themselves() {
        let names = [
            "ops team", "all", "a,b", "+grp", "q\"t", "@f", "sameuser", "app",
        ];
        let field = literal_list("user", &names).unwrap();
        assert_eq!(
            field,
            "\"ops team\",\"all\",\"a,b\",\"+grp\",\"q\"\"t\",\"@f\",\"sameuser\",app"
        );
        for v in [PgVersion::V15, PgVersion::V16] {
            let text = format!("hostssl all {field} all cert\n");
            let f = HbaFile::parse_str(&text, ServerSettings::new(v, true));
            assert!(f.check_load().is_ok(), "{text}");
            let addr = "10.1.1.1".parse().unwrap();
            for n in names {
                let req = Request::tcp(addr, "postgres", n).with_tls(true);
                assert_eq!(evaluate(&f, &req).line_number(), Some(1), "{n} {v:?}");
            }
            // Neither `all` nor `+grp` nor the halves of `a,b` act as patterns.
            for other in ["postgres", "a", "b", "x", "f", "grp"] {
                let req = Request::tcp(addr, "postgres", other)
                    .with_tls(true)
                    .with_member_of(vec!["grp".to_owned()]);
                assert_eq!(evaluate(&f, &req).line_number(), None, "{other} {v:?}");
            }
        }
        assert!(literal_name("user", "a\nb").is_err());
        assert!(literal_name("user", "a\0b").is_err());
        assert_eq!(
            sql_identifier("role", "ops \"T\"").unwrap(),
            "\"ops \"\"T\"\"\""
        );
        assert!(sql_identifier("role", "").is_err());
        assert!(sql_identifier("role", "a\0").is_err());
        let e = literal_name("user", "/^x").unwrap_err();
        assert!(e.to_string().contains("regular expression"), "{e}");
    }
}
