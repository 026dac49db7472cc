//! Connection strings as libpq parses them (`conninfo_parse`,
//! `conninfo_uri_parse_options`, `conninfo_uri_parse_params` in fe-connect.c):
//! `key=value` strings and `postgresql://` / `postgres://` URIs, multi-host URIs
//! included. Every error is libpq's text.

use pgtls_verify::PgVersion;

/// A keyword libpq knows, and from which version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keyword {
    pub(crate) name: &'static str,
    /// The environment variable libpq falls back to.
    pub(crate) env: Option<&'static str>,
    /// The first major version whose libpq knows it.
    pub(crate) since: u32,
    /// The last major version whose libpq knows it.
    pub(crate) until: u32,
}

const fn kw(name: &'static str, env: Option<&'static str>, since: u32) -> Keyword {
    Keyword {
        name,
        env,
        since,
        until: 99,
    }
}

/// `PQconninfoOptions`, 12 to 18.
pub(crate) const KEYWORDS: &[Keyword] = &[
    kw("service", Some("PGSERVICE"), 12),
    kw("user", Some("PGUSER"), 12),
    kw("password", Some("PGPASSWORD"), 12),
    kw("passfile", Some("PGPASSFILE"), 12),
    kw("channel_binding", Some("PGCHANNELBINDING"), 13),
    kw("connect_timeout", Some("PGCONNECT_TIMEOUT"), 12),
    kw("dbname", Some("PGDATABASE"), 12),
    kw("host", Some("PGHOST"), 12),
    kw("hostaddr", Some("PGHOSTADDR"), 12),
    kw("port", Some("PGPORT"), 12),
    kw("client_encoding", Some("PGCLIENTENCODING"), 12),
    kw("options", Some("PGOPTIONS"), 12),
    kw("application_name", Some("PGAPPNAME"), 12),
    kw("fallback_application_name", None, 12),
    kw("keepalives", None, 12),
    kw("keepalives_idle", None, 12),
    kw("keepalives_interval", None, 12),
    kw("keepalives_count", None, 12),
    kw("tcp_user_timeout", None, 12),
    kw("sslmode", Some("PGSSLMODE"), 12),
    kw("sslnegotiation", Some("PGSSLNEGOTIATION"), 17),
    kw("sslcompression", Some("PGSSLCOMPRESSION"), 12),
    kw("sslcert", Some("PGSSLCERT"), 12),
    kw("sslkey", Some("PGSSLKEY"), 12),
    kw("sslcertmode", Some("PGSSLCERTMODE"), 16),
    kw("sslpassword", None, 13),
    kw("sslrootcert", Some("PGSSLROOTCERT"), 12),
    kw("sslcrl", Some("PGSSLCRL"), 12),
    kw("sslcrldir", Some("PGSSLCRLDIR"), 14),
    kw("sslsni", Some("PGSSLSNI"), 14),
    kw("requirepeer", Some("PGREQUIREPEER"), 12),
    kw("require_auth", Some("PGREQUIREAUTH"), 16),
    kw(
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        12,
    ),
    kw(
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
        12,
    ),
    kw("gssencmode", Some("PGGSSENCMODE"), 12),
    kw("krbsrvname", Some("PGKRBSRVNAME"), 12),
    kw("gsslib", Some("PGGSSLIB"), 12),
    kw("gssdelegation", Some("PGGSSDELEGATION"), 16),
    kw("replication", None, 12),
    kw("target_session_attrs", Some("PGTARGETSESSIONATTRS"), 12),
    kw("load_balance_hosts", Some("PGLOADBALANCEHOSTS"), 16),
    kw("min_protocol_version", Some("PGMINPROTOCOLVERSION"), 18),
    kw("max_protocol_version", Some("PGMAXPROTOCOLVERSION"), 18),
    kw("sslkeylogfile", Some("PGSSLKEYLOGFILE"), 18),
    kw("oauth_issuer", None, 18),
    kw("oauth_client_id", None, 18),
    kw("oauth_client_secret", None, 18),
    kw("oauth_scope", None, 18),
    kw("scram_client_key", None, 18),
    kw("scram_server_key", None, 18),
];

/// The keywords the libpq of `version` knows.
pub(crate) fn keywords(version: PgVersion) -> impl Iterator<Item = &'static Keyword> {
    let v = version.major();
    KEYWORDS
        .iter()
        .filter(move |k| k.since <= v && v <= k.until)
}

fn known(version: PgVersion, key: &str) -> bool {
    keywords(version).any(|k| k.name == key)
}

fn uri_prefix_len(s: &str) -> usize {
    if s.starts_with("postgresql://") {
        "postgresql://".len()
    } else if s.starts_with("postgres://") {
        "postgres://".len()
    } else {
        0
    }
}

/// Parses a conninfo string or URI into `(keyword, value)` pairs, in order
/// (a later pair overrides an earlier one, as in libpq).
///
/// # Errors
/// libpq's message (without the trailing newline).
pub(crate) fn parse(s: &str, version: PgVersion) -> Result<Vec<(String, String)>, String> {
    let pairs = if uri_prefix_len(s) > 0 {
        parse_uri(s, version)?
    } else {
        parse_kv(s)?
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v, from_uri_query) in pairs {
        // conninfo_storeval: requiressl=1 -> sslmode=require, else prefer.
        let (k, v) = if k == "requiressl" {
            let mode = if v.starts_with('1') {
                "require"
            } else {
                "prefer"
            };
            ("sslmode".to_string(), mode.to_string())
        } else {
            (k, v)
        };
        if !known(version, &k) {
            return Err(if from_uri_query {
                format!("invalid URI query parameter: \"{k}\"")
            } else {
                format!("invalid connection option \"{k}\"")
            });
        }
        out.push((k, v));
    }
    Ok(out)
}

fn is_space(c: u8) -> bool {
    // C isspace in the C locale.
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

type Pairs = Vec<(String, String, bool)>;

/// `conninfo_parse`.
fn parse_kv(s: &str) -> Result<Pairs, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    while i < b.len() {
        if b.get(i).copied().is_some_and(is_space) {
            i += 1;
            continue;
        }
        let start = i;
        let end;
        loop {
            match b.get(i) {
                None => {
                    end = i;
                    break;
                }
                Some(b'=') => {
                    end = i;
                    break;
                }
                Some(&c) if is_space(c) => {
                    end = i;
                    while b.get(i).copied().is_some_and(is_space) {
                        i += 1;
                    }
                    break;
                }
                Some(_) => i += 1,
            }
        }
        let name = text(b.get(start..end).unwrap_or_default());
        if b.get(i) != Some(&b'=') {
            return Err(format!(
                "missing \"=\" after \"{name}\" in connection info string"
            ));
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        let mut val = Vec::new();
        if b.get(i) != Some(&b'\'') {
            while let Some(&c) = b.get(i) {
                if is_space(c) {
                    i += 1;
                    break;
                }
                if c == b'\\' {
                    i += 1;
                    if let Some(&n) = b.get(i) {
                        val.push(n);
                        i += 1;
                    }
                } else {
                    val.push(c);
                    i += 1;
                }
            }
        } else {
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(
                            "unterminated quoted string in connection info string".to_string()
                        );
                    }
                    Some(b'\\') => {
                        i += 1;
                        if let Some(&n) = b.get(i) {
                            val.push(n);
                            i += 1;
                        }
                    }
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        val.push(c);
                        i += 1;
                    }
                }
            }
        }
        out.push((name, text(&val), false));
    }
    Ok(out)
}

/// `conninfo_uri_decode`.
fn uri_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let hex = |x: Option<&u8>| x.and_then(|d| char::from(*d).to_digit(16));
        let (Some(hi), Some(lo)) = (hex(b.get(i + 1)), hex(b.get(i + 2))) else {
            return Err(format!("invalid percent-encoded token: \"{s}\""));
        };
        let v = u8::try_from(hi * 16 + lo).unwrap_or(0);
        if v == 0 {
            return Err(format!(
                "forbidden value %00 in percent-encoded value: \"{s}\""
            ));
        }
        out.push(v);
        i += 3;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `conninfo_uri_parse_options` and `conninfo_uri_parse_params`.
fn parse_uri(uri: &str, _version: PgVersion) -> Result<Pairs, String> {
    let b = uri.as_bytes();
    let mut p = uri_prefix_len(uri);
    let start = p;
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let slice = |from: usize, to: usize| uri.get(from..to).unwrap_or_default().to_string();
    let mut out: Pairs = Vec::new();
    while at(p) != 0 && at(p) != b'@' && at(p) != b'/' {
        p += 1;
    }
    if at(p) == b'@' {
        let user_start = start;
        p = user_start;
        while at(p) != b':' && at(p) != b'@' {
            p += 1;
        }
        let user = slice(user_start, p);
        if !user.is_empty() {
            out.push(("user".into(), uri_decode(&user)?, false));
        }
        if at(p) == b':' {
            let pw_start = p + 1;
            while at(p) != b'@' {
                p += 1;
            }
            let pw = slice(pw_start, p);
            if !pw.is_empty() {
                out.push(("password".into(), uri_decode(&pw)?, false));
            }
        }
        p += 1;
    } else {
        p = start;
    }
    let mut hosts = String::new();
    let mut ports = String::new();
    let mut prevchar;
    loop {
        let host;
        if at(p) == b'[' {
            p += 1;
            let h = p;
            while at(p) != 0 && at(p) != b']' {
                p += 1;
            }
            if at(p) == 0 {
                return Err(format!(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{uri}\""
                ));
            }
            if p == h {
                return Err(format!(
                    "IPv6 host address may not be empty in URI: \"{uri}\""
                ));
            }
            host = slice(h, p);
            p += 1;
            let c = at(p);
            if c != 0 && c != b':' && c != b'/' && c != b'?' && c != b',' {
                return Err(format!(
                    "unexpected character \"{}\" at position {} in URI (expected \":\" or \"/\"): \"{uri}\"",
                    char::from(c),
                    p + 1
                ));
            }
        } else {
            let h = p;
            while !matches!(at(p), 0 | b':' | b'/' | b'?' | b',') {
                p += 1;
            }
            host = slice(h, p);
        }
        prevchar = at(p);
        hosts.push_str(&host);
        if prevchar == b':' {
            p += 1;
            let ps = p;
            while !matches!(at(p), 0 | b'/' | b'?' | b',') {
                p += 1;
            }
            prevchar = at(p);
            ports.push_str(&slice(ps, p));
        }
        if prevchar != b',' {
            break;
        }
        p += 1;
        hosts.push(',');
        ports.push(',');
    }
    if !hosts.is_empty() {
        out.push(("host".into(), uri_decode(&hosts)?, false));
    }
    if !ports.is_empty() {
        out.push(("port".into(), uri_decode(&ports)?, false));
    }
    if prevchar != 0 && prevchar != b'?' {
        p += 1;
        let d = p;
        while at(p) != 0 && at(p) != b'?' {
            p += 1;
        }
        prevchar = at(p);
        let db = slice(d, p);
        if !db.is_empty() {
            out.push(("dbname".into(), uri_decode(&db)?, false));
        }
    }
    if prevchar != 0 {
        p += 1;
        let query = slice(p, uri.len());
        parse_uri_params(&query, &mut out)?;
    }
    Ok(out)
}

fn parse_uri_params(params: &str, out: &mut Pairs) -> Result<(), String> {
    let mut rest = params;
    while !rest.is_empty() {
        let (item, next) = match rest.find('&') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (rest, ""),
        };
        let mut parts = item.splitn(2, '=');
        let key = parts.next().unwrap_or_default();
        let Some(value) = parts.next() else {
            return Err(format!(
                "missing key/value separator \"=\" in URI query parameter: \"{item}\""
            ));
        };
        if value.contains('=') {
            return Err(format!(
                "extra key/value separator \"=\" in URI query parameter: \"{item}\""
            ));
        }
        let key = uri_decode(key)?;
        let value = uri_decode(value)?;
        if key == "ssl" && value == "true" {
            out.push(("sslmode".into(), "require".into(), true));
        } else {
            out.push((key, value, true));
        }
        rest = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<(String, String)>, String> {
        parse(s, PgVersion::V15)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    #[test]
    fn key_value_strings() {
        assert_eq!(
            p("host=a  port = 5 password='x y\\'z' options=-c\\ a=b").unwrap(),
            pairs(&[
                ("host", "a"),
                ("port", "5"),
                ("password", "x y'z"),
                ("options", "-c a=b")
            ])
        );
        assert_eq!(
            p("host").unwrap_err(),
            "missing \"=\" after \"host\" in connection info string"
        );
        assert_eq!(
            p("host='a").unwrap_err(),
            "unterminated quoted string in connection info string"
        );
        assert_eq!(
            p("hots=a").unwrap_err(),
            "invalid connection option \"hots\""
        );
        // Version gates: sslcertmode is 16's.
        assert_eq!(
            p("sslcertmode=allow").unwrap_err(),
            "invalid connection option \"sslcertmode\""
        );
        assert!(parse("sslcertmode=allow", PgVersion::V16).is_ok());
        assert_eq!(p("requiressl=1").unwrap(), pairs(&[("sslmode", "require")]));
        assert_eq!(p("host=").unwrap(), pairs(&[("host", "")]));
    }

    #[test]
    fn uris() {
        assert_eq!(
            p("postgresql://us%40r:p%3Aw@h1:5433,[::1]:5434,h3/db%2F1?sslmode=verify-full&application_name=a%20b")
                .unwrap(),
            pairs(&[
                ("user", "us@r"),
                ("password", "p:w"),
                ("host", "h1,::1,h3"),
                ("port", "5433,5434,"),
                ("dbname", "db/1"),
                ("sslmode", "verify-full"),
                ("application_name", "a b"),
            ])
        );
        assert_eq!(p("postgres://").unwrap(), pairs(&[]));
        assert_eq!(
            p("postgresql:///db?host=/tmp").unwrap(),
            pairs(&[("dbname", "db"), ("host", "/tmp")])
        );
        assert_eq!(
            p("postgresql://h?ssl=true").unwrap(),
            pairs(&[("host", "h"), ("sslmode", "require")])
        );
        assert_eq!(
            p("postgresql://h?foo=1").unwrap_err(),
            "invalid URI query parameter: \"foo\""
        );
        assert_eq!(
            p("postgresql://h?sslmode").unwrap_err(),
            "missing key/value separator \"=\" in URI query parameter: \"sslmode\""
        );
        assert_eq!(
            p("postgresql://h?a=b=c").unwrap_err(),
            "extra key/value separator \"=\" in URI query parameter: \"a=b=c\""
        );
        assert_eq!(
            p("postgresql://[::1").unwrap_err(),
            "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://[::1\""
        );
        assert_eq!(
            p("postgresql://h/d%zz").unwrap_err(),
            "invalid percent-encoded token: \"d%zz\""
        );
        assert_eq!(
            p("postgresql://h/d%00").unwrap_err(),
            "forbidden value %00 in percent-encoded value: \"d%00\""
        );
    }
}
