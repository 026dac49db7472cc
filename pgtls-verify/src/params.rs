//! Connection parameters libpq's TLS decisions depend on, their environment
//! fallbacks, and conninfo / `postgresql://` URI parsing for them.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The TLS-relevant libpq connection parameters, as given (unvalidated).
///
/// `None` means "not given": the environment and compiled defaults then apply
/// ([`Env`], [`crate::policy`]). An empty string counts as given, as in libpq.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Params {
    /// `sslmode`.
    pub sslmode: Option<String>,
    /// `sslrootcert` (a file, or `system` from PostgreSQL 16).
    pub sslrootcert: Option<PathBuf>,
    /// `sslcrl`.
    pub sslcrl: Option<PathBuf>,
    /// `sslcrldir` (PostgreSQL 14+).
    pub sslcrldir: Option<PathBuf>,
    /// `sslcert`: the client certificate file (default
    /// `~/.postgresql/postgresql.crt`; a missing file means no certificate).
    pub sslcert: Option<PathBuf>,
    /// `sslkey`: the client key file (default `~/.postgresql/postgresql.key`).
    pub sslkey: Option<PathBuf>,
    /// `host` (the name verify-full compares; never hostaddr).
    pub host: Option<String>,
    /// `hostaddr`.
    pub hostaddr: Option<String>,
    /// `port`.
    pub port: Option<String>,
    /// `sslsni` (PostgreSQL 14+).
    pub sslsni: Option<String>,
    /// `sslcertmode` (PostgreSQL 16+).
    pub sslcertmode: Option<String>,
    /// `sslnegotiation` (PostgreSQL 17+).
    pub sslnegotiation: Option<String>,
    /// `ssl_min_protocol_version` (PostgreSQL 13+; `TLSv1.2` by default).
    pub ssl_min_protocol_version: Option<String>,
    /// `ssl_max_protocol_version` (PostgreSQL 13+; no bound by default).
    pub ssl_max_protocol_version: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `dbname`.
    pub dbname: Option<String>,
    /// `service`: a section of the connection service file (see
    /// [`Params::apply_service`]).
    pub service: Option<String>,
    /// Every keyword of the parsed conninfo, in order (libpq refuses the first one its
    /// version does not know: [`keyword_since`]).
    pub keywords: Vec<String>,
}

/// The first major version whose libpq knows `keyword`, for the keywords that came after
/// PostgreSQL 12 (None: known to every version pgtls models). Checked live against psql of
/// libpq 14 to 18 (`pgtls-cli/tests/version_features.rs`); 12 and 13 from their
/// `PQconninfoOptions`.
pub fn keyword_since(keyword: &str) -> Option<u32> {
    Some(match keyword {
        "channel_binding"
        | "sslpassword"
        | "ssl_min_protocol_version"
        | "ssl_max_protocol_version" => 13,
        "sslcrldir" | "sslsni" => 14,
        "sslcertmode" | "require_auth" | "gssdelegation" | "load_balance_hosts" => 16,
        "sslnegotiation" => 17,
        "min_protocol_version"
        | "max_protocol_version"
        | "sslkeylogfile"
        | "oauth_issuer"
        | "oauth_client_id"
        | "oauth_client_secret"
        | "oauth_scope"
        | "scram_client_key"
        | "scram_server_key" => 18,
        _ => return None,
    })
}

/// The process environment libpq reads, captured as data so that policy
/// decisions stay pure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Env {
    /// Environment variables (`PGSSLMODE`, `PGSSLROOTCERT`, `HOME`, ...).
    pub vars: BTreeMap<String, String>,
    /// The home directory from the password database (`getpwuid(geteuid())`).
    pub passwd_home: Option<PathBuf>,
    /// The user name from the password database (`getpwuid(geteuid())->pw_name`,
    /// libpq's default `user`).
    pub passwd_user: Option<String>,
}

impl Env {
    /// An empty environment (no variables, no password-database entry).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Captures the current process environment and password-database home.
    pub fn from_process() -> Self {
        let names = [
            "PGSSLMODE",
            "PGSSLROOTCERT",
            "PGSSLCRL",
            "PGSSLCRLDIR",
            "PGSSLCERT",
            "PGSSLKEY",
            "PGSSLSNI",
            "PGSSLCERTMODE",
            "PGSSLNEGOTIATION",
            "PGSSLMINPROTOCOLVERSION",
            "PGSSLMAXPROTOCOLVERSION",
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "HOME",
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGSYSCONFDIR",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ];
        let mut vars = BTreeMap::new();
        for n in names {
            if let Ok(v) = std::env::var(n) {
                vars.insert(n.to_string(), v);
            }
        }
        let (passwd_user, passwd_home) = passwd_entry().unzip();
        Self {
            vars,
            passwd_home,
            passwd_user,
        }
    }

    /// Sets one variable (builder style).
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }

    /// Sets the password-database home (builder style).
    pub fn with_passwd_home(mut self, home: Option<PathBuf>) -> Self {
        self.passwd_home = home;
        self
    }

    /// Sets the password-database user name (builder style).
    pub fn with_passwd_user(mut self, user: Option<String>) -> Self {
        self.passwd_user = user;
        self
    }

    /// One variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// `getpwuid(geteuid())`: `(pw_name, pw_dir)` of the effective user, through
/// `getpwuid_r` (so NSS: files, LDAP, sssd, nss_wrapper, ...), as libpq reads it
/// (`pg_get_user_name`, `pg_get_user_home_dir`).
fn passwd_entry() -> Option<(String, PathBuf)> {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid()).ok()??;
    Some((user.name, user.dir))
}

/// A conninfo string or URI libpq would reject; `Display` is libpq's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConninfoError {
    /// `missing "=" after "%s" in connection info string`.
    #[error("missing \"=\" after \"{0}\" in connection info string")]
    MissingEquals(String),
    /// `unterminated quoted string in connection info string`.
    #[error("unterminated quoted string in connection info string")]
    Unterminated,
    /// `invalid connection option "%s"`.
    #[error("invalid connection option \"{0}\"")]
    InvalidOption(String),
    /// `invalid URI propagated to internal parser routine: "%s"` and friends.
    #[error("invalid URI: \"{0}\"")]
    InvalidUri(String),
    /// `invalid percent-encoded token: "%s"`.
    #[error("invalid percent-encoded token: \"{0}\"")]
    BadPercent(String),
}

/// Keywords libpq knows (PG18 list); unknown ones are an error.
const KNOWN: &[&str] = &[
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslcertmode",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "require_auth",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "target_session_attrs",
    "load_balance_hosts",
    "min_protocol_version",
    "max_protocol_version",
    "sslkeylogfile",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
    "scram_client_key",
    "scram_server_key",
    "requiressl",
];

impl Params {
    /// Parses a conninfo string (`key=value ...`) or a `postgresql://` /
    /// `postgres://` URI, keeping the TLS-relevant keywords.
    ///
    /// # Errors
    /// libpq's message for malformed input or an unknown keyword.
    pub fn parse_conninfo(s: &str) -> Result<Self, ConninfoError> {
        let pairs = conninfo_pairs(s, true)?;
        let mut p = Self::default();
        for (k, v) in pairs {
            if !KNOWN.contains(&k.as_str()) {
                return Err(ConninfoError::InvalidOption(k));
            }
            p.set(&k, v);
            p.keywords.push(k);
        }
        Ok(p)
    }

    /// `self` with every parameter `explicit` gives put on top: a field `explicit` sets
    /// (`Some`, an empty value included) replaces this one, a field it leaves `None`
    /// keeps this one. This is how explicit settings (command-line flags, a caller's
    /// options) override a parsed conninfo string. `explicit`'s keywords not already
    /// listed are appended to [`Params::keywords`].
    #[must_use]
    pub fn overlay(mut self, explicit: &Self) -> Self {
        fn over<T: Clone>(base: &mut Option<T>, top: &Option<T>) {
            if top.is_some() {
                base.clone_from(top);
            }
        }
        // Destructured so that a new field cannot be forgotten here.
        let Self {
            sslmode,
            sslrootcert,
            sslcrl,
            sslcrldir,
            sslcert,
            sslkey,
            host,
            hostaddr,
            port,
            sslsni,
            sslcertmode,
            sslnegotiation,
            ssl_min_protocol_version,
            ssl_max_protocol_version,
            user,
            dbname,
            service,
            keywords,
        } = explicit;
        over(&mut self.sslmode, sslmode);
        over(&mut self.sslrootcert, sslrootcert);
        over(&mut self.sslcrl, sslcrl);
        over(&mut self.sslcrldir, sslcrldir);
        over(&mut self.sslcert, sslcert);
        over(&mut self.sslkey, sslkey);
        over(&mut self.host, host);
        over(&mut self.hostaddr, hostaddr);
        over(&mut self.port, port);
        over(&mut self.sslsni, sslsni);
        over(&mut self.sslcertmode, sslcertmode);
        over(&mut self.sslnegotiation, sslnegotiation);
        over(&mut self.ssl_min_protocol_version, ssl_min_protocol_version);
        over(&mut self.ssl_max_protocol_version, ssl_max_protocol_version);
        over(&mut self.user, user);
        over(&mut self.dbname, dbname);
        over(&mut self.service, service);
        for k in keywords {
            if !self.keywords.contains(k) {
                self.keywords.push(k.clone());
            }
        }
        self
    }

    /// Sets a keyword (unknown keywords are ignored).
    pub fn set(&mut self, key: &str, value: String) {
        match key {
            "sslmode" => self.sslmode = Some(value),
            "sslrootcert" => self.sslrootcert = Some(PathBuf::from(value)),
            "sslcrl" => self.sslcrl = Some(PathBuf::from(value)),
            "sslcrldir" => self.sslcrldir = Some(PathBuf::from(value)),
            "sslcert" => self.sslcert = Some(PathBuf::from(value)),
            "sslkey" => self.sslkey = Some(PathBuf::from(value)),
            "host" => self.host = Some(value),
            "hostaddr" => self.hostaddr = Some(value),
            "port" => self.port = Some(value),
            "sslsni" => self.sslsni = Some(value),
            "sslcertmode" => self.sslcertmode = Some(value),
            "sslnegotiation" => self.sslnegotiation = Some(value),
            "ssl_min_protocol_version" => self.ssl_min_protocol_version = Some(value),
            "ssl_max_protocol_version" => self.ssl_max_protocol_version = Some(value),
            "user" => self.user = Some(value),
            "dbname" => self.dbname = Some(value),
            "service" => self.service = Some(value),
            _ => {}
        }
    }
}

/// A value written for a conninfo string so that libpq's `conninfo_parse`
/// reads it back unchanged: bare when it is non-empty and made only of
/// characters that need nothing (letters, digits, `_ . / : @ + , = -`),
/// otherwise single-quoted with `\\` and `\'` escaped.
pub fn conninfo_value(v: &str) -> String {
    let bare = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@+,=-".contains(c));
    if bare {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A conninfo string of `key=value` pairs, each value through [`conninfo_value`].
pub fn conninfo_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", conninfo_value(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// libpq's compiled-in `SYSCONFDIR` when `PGSYSCONFDIR` is not set: that of
/// the Debian/Ubuntu libpq pgtls is checked against (`pg_config --sysconfdir`).
/// Other builds differ; set `PGSYSCONFDIR` to model them.
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// A connection service lookup that fails; `Display` is libpq's message
/// (psql prints it after `psql: error: `).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// `definition of service "%s" not found`.
    #[error("definition of service \"{0}\" not found")]
    NotFound(String),
    /// `service file "%s" not found` (`PGSERVICEFILE` names a missing file).
    #[error("service file \"{0}\" not found")]
    FileNotFound(String),
    /// `line %d too long in service file "%s"`.
    #[error("line {line} too long in service file \"{file}\"")]
    LineTooLong {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// `syntax error in service file "%s", line %d` (no `=`, or an unknown keyword).
    #[error("syntax error in service file \"{file}\", line {line}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// `nested service specifications not supported in service file "%s", line %d`.
    #[error("nested service specifications not supported in service file \"{file}\", line {line}")]
    Nested {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
    },
}

impl Params {
    /// libpq's `parseServiceInfo`: when `service` (or `PGSERVICE`) names a
    /// service, fills every keyword not given explicitly from its section of
    /// `PGSERVICEFILE` (else `~/.pg_service.conf` when it exists), and when the
    /// section is not there, of `PGSYSCONFDIR/pg_service.conf` (else
    /// [`DEFAULT_SYSCONFDIR`]). Call it after every explicit setting and
    /// before environment defaults apply (as libpq does). Lines are read as
    /// libpq reads them: trimmed, `#` comments, `[name]` sections, `key=value`
    /// with nothing trimmed around `=`. (`ldap` lines of LDAP-enabled builds are
    /// not modelled: they are a syntax error here.)
    ///
    /// # Errors
    /// libpq's message when the service is not defined or a file is malformed.
    pub fn apply_service(
        &mut self,
        env: &Env,
        version: crate::PgVersion,
    ) -> Result<(), ServiceError> {
        let Some(service) = self
            .service
            .clone()
            .or_else(|| env.var("PGSERVICE").map(str::to_owned))
        else {
            return Ok(());
        };
        let user_file = match env.var("PGSERVICEFILE") {
            Some(f) => Some(PathBuf::from(f)),
            None => crate::policy::home_directory(env, version)
                .map(|h| h.join(".pg_service.conf"))
                .filter(|p| p.exists()),
        };
        if let Some(f) = user_file
            && self.service_file(&f, &service)?
        {
            return Ok(());
        }
        let dir = env.var("PGSYSCONFDIR").unwrap_or(DEFAULT_SYSCONFDIR);
        let sys = PathBuf::from(dir).join("pg_service.conf");
        if sys.exists() && self.service_file(&sys, &service)? {
            return Ok(());
        }
        Err(ServiceError::NotFound(service))
    }

    /// `parseServiceFile`; true when the section was found.
    fn service_file(
        &mut self,
        path: &std::path::Path,
        service: &str,
    ) -> Result<bool, ServiceError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|_| ServiceError::FileNotFound(file.clone()))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut found = false;
        // fgets with a 1024-byte buffer: a line of 1023 bytes or more (with its newline) is too long.
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            let line_no = i + 1;
            if raw.len() >= 1023 {
                return Err(ServiceError::LineTooLong {
                    file,
                    line: line_no,
                });
            }
            let line = raw.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{b}');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                if found {
                    return Ok(true);
                }
                found = rest
                    .strip_prefix(service)
                    .is_some_and(|r| r.starts_with(']'));
                continue;
            }
            if !found {
                continue;
            }
            let Some((key, val)) = line.split_once('=') else {
                return Err(ServiceError::Syntax {
                    file,
                    line: line_no,
                });
            };
            if key == "service" {
                return Err(ServiceError::Nested {
                    file,
                    line: line_no,
                });
            }
            if !KNOWN.contains(&key) {
                return Err(ServiceError::Syntax {
                    file,
                    line: line_no,
                });
            }
            if !self.is_set(key) {
                self.set(key, val.to_owned());
            }
        }
        Ok(found)
    }

    /// Whether a TLS-relevant keyword has a value (others: always false).
    fn is_set(&self, key: &str) -> bool {
        match key {
            "sslmode" => self.sslmode.is_some(),
            "sslrootcert" => self.sslrootcert.is_some(),
            "sslcrl" => self.sslcrl.is_some(),
            "sslcrldir" => self.sslcrldir.is_some(),
            "sslcert" => self.sslcert.is_some(),
            "sslkey" => self.sslkey.is_some(),
            "host" => self.host.is_some(),
            "hostaddr" => self.hostaddr.is_some(),
            "port" => self.port.is_some(),
            "sslsni" => self.sslsni.is_some(),
            "sslcertmode" => self.sslcertmode.is_some(),
            "sslnegotiation" => self.sslnegotiation.is_some(),
            "user" => self.user.is_some(),
            "dbname" => self.dbname.is_some(),
            _ => false,
        }
    }
}

/// The `(keyword, value)` pairs of a conninfo string or URI, in order, unknown
/// keywords included. `libpq_uri` applies libpq's URI rule that `ssl=true` means
/// `sslmode=require`; without it the pair is kept as written (other drivers read
/// `ssl=true` their own way).
///
/// # Errors
/// libpq's message for malformed input.
pub(crate) fn conninfo_pairs(
    s: &str,
    libpq_uri: bool,
) -> Result<Vec<(String, String)>, ConninfoError> {
    if s.starts_with("postgresql://") || s.starts_with("postgres://") {
        parse_uri(s, libpq_uri)
    } else {
        parse_kv(s)
    }
}

/// `conninfo_parse`: white-space separated `key = value`, values optionally
/// single-quoted with backslash escapes.
fn parse_kv(s: &str) -> Result<Vec<(String, String)>, ConninfoError> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            it.next();
        }
        if it.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_ascii_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            it.next();
        }
        if it.next() != Some('=') {
            return Err(ConninfoError::MissingEquals(key));
        }
        while it.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            it.next();
        }
        let mut val = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            let mut closed = false;
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            val.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => val.push(c),
                }
            }
            if !closed {
                return Err(ConninfoError::Unterminated);
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_ascii_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    if let Some(n) = it.next() {
                        val.push(n);
                    }
                } else {
                    val.push(c);
                }
            }
        }
        out.push((key, val));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, ConninfoError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .ok_or_else(|| ConninfoError::BadPercent(s.to_string()))?;
            let h =
                std::str::from_utf8(hex).map_err(|_| ConninfoError::BadPercent(s.to_string()))?;
            let v =
                u8::from_str_radix(h, 16).map_err(|_| ConninfoError::BadPercent(s.to_string()))?;
            if v == 0 {
                return Err(ConninfoError::BadPercent(s.to_string()));
            }
            out.push(v);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConninfoError::BadPercent(s.to_string()))
}

/// `conninfo_uri_parse`: `postgresql://[user[:password]@][host][:port][/dbname][?k=v&...]`.
fn parse_uri(s: &str, libpq_ssl: bool) -> Result<Vec<(String, String)>, ConninfoError> {
    let rest = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
        .ok_or_else(|| ConninfoError::InvalidUri(s.to_string()))?;
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    let mut out = Vec::new();
    let hostpart = match authority.rsplit_once('@') {
        Some((userinfo, h)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if !user.is_empty() {
                out.push(("user".to_string(), percent_decode(user)?));
            }
            h
        }
        None => authority,
    };
    if !hostpart.is_empty() {
        let (host, port) = if let Some(r) = hostpart.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| ConninfoError::InvalidUri(s.to_string()))?;
            (h.to_string(), after.strip_prefix(':').map(str::to_string))
        } else {
            match hostpart.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (hostpart.to_string(), None),
            }
        };
        if !host.is_empty() {
            out.push(("host".to_string(), percent_decode(&host)?));
        }
        if let Some(p) = port
            && !p.is_empty()
        {
            out.push(("port".to_string(), percent_decode(&p)?));
        }
    }
    if let Some(p) = path
        && !p.is_empty()
    {
        out.push(("dbname".to_string(), percent_decode(p)?));
    }
    if let Some(q) = query {
        for kv in q.split('&').filter(|x| !x.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| ConninfoError::InvalidUri(s.to_string()))?;
            let k = percent_decode(k)?;
            let k = if libpq_ssl && k == "ssl" && v == "true" {
                "sslmode".to_string()
            } else {
                k
            };
            let v = if k == "sslmode" && v == "true" {
                "require".to_string()
            } else {
                percent_decode(v)?
            };
            out.push((k, v));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_replaces_what_is_given_and_keeps_the_rest() {
        let base = Params::parse_conninfo(
            "host=db.example.com sslmode=verify-ca sslrootcert=/ca.pem port=5433 service=s",
        )
        .unwrap();
        let top = Params {
            sslmode: Some("verify-full".into()),
            sslcrl: Some(PathBuf::from("/crl.pem")),
            // Given but empty is given (libpq: an empty value is a value).
            sslrootcert: Some(PathBuf::new()),
            ..Params::default()
        };
        let p = base.clone().overlay(&top);
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.sslrootcert, Some(PathBuf::new()));
        assert_eq!(p.sslcrl, Some(PathBuf::from("/crl.pem")));
        assert_eq!(p.host.as_deref(), Some("db.example.com"));
        assert_eq!(p.port.as_deref(), Some("5433"));
        assert_eq!(p.service.as_deref(), Some("s"));
        assert_eq!(p.sslcrldir, None);
        assert_eq!(p.keywords, base.keywords);

        // Nothing on top: unchanged; on top of nothing: the top.
        assert_eq!(base.clone().overlay(&Params::default()), base);
        assert_eq!(Params::default().overlay(&base), base);
    }

    #[test]
    fn overlay_covers_every_field_and_merges_keywords() {
        let all = [
            "sslmode",
            "sslrootcert",
            "sslcrl",
            "sslcrldir",
            "sslcert",
            "sslkey",
            "host",
            "hostaddr",
            "port",
            "sslsni",
            "sslcertmode",
            "sslnegotiation",
            "user",
            "dbname",
            "service",
        ];
        let text = |v: &str| -> String {
            all.iter()
                .map(|k| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let base = Params::parse_conninfo(&text("old")).unwrap();
        let top = Params::parse_conninfo(&text("new")).unwrap();
        let mut want = Params::default();
        for k in all {
            want.set(k, "new".into());
        }
        want.keywords = base.keywords.clone();
        assert_eq!(base.overlay(&top), want);

        let base = Params::parse_conninfo("host=a").unwrap();
        let top = Params::parse_conninfo("sslmode=require host=b").unwrap();
        assert_eq!(base.overlay(&top).keywords, ["host", "sslmode"]);
    }

    #[test]
    fn conninfo_values_read_back() {
        let users = [
            "ops team",
            "",
            "a'b",
            "a\\b",
            "a,b",
            "x=y",
            "tab\there",
            "\u{b}",
            "é",
        ];
        for u in users {
            let s = conninfo_string([("user", u), ("sslcert", "/d/ops team/c.crt")]);
            let p = Params::parse_conninfo(&s).unwrap();
            assert_eq!(p.user.as_deref(), Some(u), "{s}");
            assert_eq!(p.sslcert, Some(PathBuf::from("/d/ops team/c.crt")), "{s}");
        }
        assert_eq!(conninfo_value("app"), "app");
        assert_eq!(conninfo_value("ops team"), "'ops team'");
        assert_eq!(conninfo_value("a'b\\"), "'a\\'b\\\\'");
        assert_eq!(conninfo_value(""), "''");
    }

    #[test]
    fn conninfo_keywords_and_quotes() {
        let p = Params::parse_conninfo(
            "host=db.example.test sslmode = verify-full sslrootcert='/tmp/a b\\'c.crt'",
        )
        .unwrap();
        assert_eq!(p.host.as_deref(), Some("db.example.test"));
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.sslrootcert, Some(PathBuf::from("/tmp/a b'c.crt")));
        assert_eq!(
            Params::parse_conninfo("host").unwrap_err().to_string(),
            "missing \"=\" after \"host\" in connection info string"
        );
        assert_eq!(
            Params::parse_conninfo("sslfoo=1").unwrap_err().to_string(),
            "invalid connection option \"sslfoo\""
        );
        assert!(Params::parse_conninfo("host='x").is_err());
    }

    #[test]
    fn uris() {
        let p = Params::parse_conninfo(
            "postgresql://alice@[::1]:5433/db?sslmode=verify-ca&sslrootcert=%2Ftmp%2Froot.crt",
        )
        .unwrap();
        assert_eq!(p.host.as_deref(), Some("::1"));
        assert_eq!(p.port.as_deref(), Some("5433"));
        assert_eq!(p.user.as_deref(), Some("alice"));
        assert_eq!(p.dbname.as_deref(), Some("db"));
        assert_eq!(p.sslmode.as_deref(), Some("verify-ca"));
        assert_eq!(p.sslrootcert, Some(PathBuf::from("/tmp/root.crt")));
        let p = Params::parse_conninfo("postgres://h.example/x?ssl=true").unwrap();
        assert_eq!(p.sslmode.as_deref(), Some("require"));
        assert!(Params::parse_conninfo("postgresql://h/?sslmode=%zz").is_err());
    }
}
