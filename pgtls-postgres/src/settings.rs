//! From a conninfo string to what libpq would connect with: the string, then the
//! service file, then the environment, then libpq's compiled defaults
//! (`conninfo_add_defaults`), then `connectOptions2`'s derived values and checks
//! (host and port lists, user and database defaults, the password file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pgtls_verify::{Env, Params, PgVersion};

use crate::conninfo;

/// Debian's `DEFAULT_PGSOCKET_DIR`, where libpq looks without a host.
pub(crate) const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
/// `DEF_PGPORT`.
pub(crate) const DEFAULT_PORT: u16 = 5432;
/// `SYSCONFDIR` of Debian's libpq (the system-wide `pg_service.conf`).
pub(crate) const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The keywords pgtls-verify's policy reads itself, with their environment variables.
const TLS_KEYS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslcert",
    "sslkey",
    "sslsni",
    "sslcertmode",
    "sslnegotiation",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// How a host slot is reached (libpq's `pg_conn_host_type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `hostaddr` (with or without `host`, which is then only the name checked).
    Address(std::net::IpAddr),
    /// A host name (or an IP address given as `host`) to resolve.
    Name(String),
    /// A Unix-domain socket directory.
    Unix(PathBuf),
}

/// One entry of the host list.
#[derive(Clone, Debug)]
pub(crate) struct HostSlot {
    /// `host` for this slot (possibly empty).
    pub(crate) host: Option<String>,
    /// `hostaddr` for this slot (possibly empty).
    pub(crate) hostaddr: Option<String>,
    pub(crate) target: Target,
    /// The port as text (libpq shows it as given).
    pub(crate) port_text: String,
    pub(crate) port: u16,
    /// The password for this slot and whether it came from the password file.
    pub(crate) password: Option<(String, bool)>,
}

/// Everything a connection needs, resolved as libpq resolves it.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) version: PgVersion,
    pub(crate) env: Env,
    /// The resolved non-TLS values (conninfo > service > environment > default).
    pub(crate) values: BTreeMap<String, String>,
    /// The TLS keywords given in the string or the service file (the environment
    /// is pgtls-verify's to read).
    pub(crate) tls: Params,
    pub(crate) hosts: Vec<HostSlot>,
    pub(crate) user: String,
    pub(crate) dbname: String,
    pub(crate) passfile: Option<PathBuf>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) tls_versions: Vec<&'static rustls::SupportedProtocolVersion>,
    pub(crate) channel_binding: tokio_postgres::config::ChannelBinding,
    pub(crate) target_session_attrs: SessionAttrs,
    /// `load_balance_hosts=random` (16+).
    pub(crate) load_balance: bool,
    /// The shuffle's seed (`Options::random_seed`); none: strong random bits.
    pub(crate) random_seed: Option<u64>,
    /// `require_auth` (16+), when given (possibly empty).
    pub(crate) require_auth: Option<crate::auth::RequireAuth>,
    /// `sslnegotiation=direct` (17+).
    pub(crate) direct: bool,
}

/// `target_session_attrs` (libpq's `target_server_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl SessionAttrs {
    /// `connectOptions2`: 14+ knows six values, 12 and 13 `any` and `read-write`.
    fn parse(value: &str, version: PgVersion) -> Result<Self, Refusal> {
        let v = match value {
            "any" => Self::Any,
            "read-write" => Self::ReadWrite,
            "read-only" => Self::ReadOnly,
            "primary" => Self::Primary,
            "standby" => Self::Standby,
            "prefer-standby" => Self::PreferStandby,
            _ => Self::invalid(value)?,
        };
        if version < PgVersion::V14 && !matches!(v, Self::Any | Self::ReadWrite) {
            Self::invalid(value)?;
        }
        Ok(v)
    }

    fn invalid(value: &str) -> Result<Self, Refusal> {
        Err(format!("invalid target_session_attrs value: \"{value}\""))
    }

    /// The same value in tokio-postgres's terms, when it has one.
    pub(crate) fn tokio_postgres(self) -> Option<tokio_postgres::config::TargetSessionAttrs> {
        use tokio_postgres::config::TargetSessionAttrs as T;
        match self {
            Self::Any => Some(T::Any),
            Self::ReadWrite => Some(T::ReadWrite),
            Self::ReadOnly => Some(T::ReadOnly),
            Self::Primary | Self::Standby | Self::PreferStandby => None,
        }
    }
}

fn get<'a>(m: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    m.get(k).map(String::as_str)
}

fn nonempty<'a>(m: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    get(m, k).filter(|v| !v.is_empty())
}

/// Why no connection was attempted: libpq's message, or pgtls-postgres's for what
/// tokio-postgres cannot do (those start with `pgtls-postgres: `).
pub(crate) type Refusal = String;

fn unsupported(what: &str) -> Refusal {
    format!("pgtls-postgres: {what}")
}

/// `parse_int_param`.
fn parse_int(value: &str, context: &str) -> Result<i64, Refusal> {
    let t = value.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let t = t.trim_end_matches(|c: char| c.is_ascii_whitespace());
    t.parse::<i32>().map(i64::from).map_err(|_| {
        format!("invalid integer value \"{value}\" for connection option \"{context}\"")
    })
}

/// libpq's home directory (`pqGetHomeDirectory`, as pgtls-verify computes it).
fn home(env: &Env, version: PgVersion) -> Option<PathBuf> {
    pgtls_verify::policy::home_directory(env, version)
}

/// `parseServiceInfo` / `parseServiceFile`: fills keywords not given from the
/// `[service]` group.
fn apply_service(
    given: &mut BTreeMap<String, String>,
    env: &Env,
    version: PgVersion,
) -> Result<(), Refusal> {
    let Some(service) = get(given, "service")
        .map(str::to_string)
        .or_else(|| env.var("PGSERVICE").map(str::to_string))
    else {
        return Ok(());
    };
    let mut files = Vec::new();
    if let Some(f) = env.var("PGSERVICEFILE") {
        files.push((PathBuf::from(f), true));
    } else if let Some(h) = home(env, version) {
        let f = h.join(".pg_service.conf");
        if f.exists() {
            files.push((f, true));
        }
    }
    let sys = PathBuf::from(env.var("PGSYSCONFDIR").unwrap_or(DEFAULT_SYSCONFDIR))
        .join("pg_service.conf");
    if sys.exists() {
        files.push((sys, false));
    }
    for (file, first) in files {
        let found = parse_service_file(&file, &service, given, version)?;
        if found {
            return Ok(());
        }
        let _ = first;
    }
    Err(format!("definition of service \"{service}\" not found"))
}

/// One service file; `Ok(true)` when the group was found.
fn parse_service_file(
    file: &Path,
    service: &str,
    given: &mut BTreeMap<String, String>,
    version: PgVersion,
) -> Result<bool, Refusal> {
    let shown = file.display();
    let data = std::fs::read(file).map_err(|_| format!("service file \"{shown}\" not found"))?;
    let text = String::from_utf8_lossy(&data);
    let mut in_group = false;
    let mut found = false;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let linenr = n + 1;
        if raw.len() >= 1023 {
            return Err(format!(
                "line {linenr} too long in service file \"{shown}\""
            ));
        }
        let line = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            if in_group {
                break;
            }
            in_group = rest
                .strip_prefix(service)
                .is_some_and(|r| r.starts_with(']'));
            found |= in_group;
            continue;
        }
        if !in_group {
            continue;
        }
        let Some((key, val)) = line.split_once('=') else {
            return Err(format!(
                "syntax error in service file \"{shown}\", line {linenr}"
            ));
        };
        if key == "service" {
            return Err(format!(
                "nested service specifications not supported in service file \"{shown}\", line {linenr}"
            ));
        }
        if !conninfo::keywords(version).any(|k| k.name == key) {
            return Err(format!(
                "syntax error in service file \"{shown}\", line {linenr}"
            ));
        }
        given
            .entry(key.to_string())
            .or_insert_with(|| val.to_string());
    }
    Ok(found)
}

/// `pwdfMatchesString`: `*` matches a whole field; `\` escapes.
fn pgpass_field<'a>(line: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    if line.first() == Some(&b'*') && line.get(1) == Some(&b':') {
        return line.get(2..);
    }
    let mut i = 0;
    let mut j = 0;
    loop {
        match line.get(i) {
            None => return None,
            Some(b':') if j == want.len() => return line.get(i + 1..),
            Some(b':') => return None,
            Some(b'\\') => {
                i += 1;
                if line.get(i)? != want.get(j)? {
                    return None;
                }
            }
            Some(c) => {
                if Some(c) != want.get(j) {
                    return None;
                }
            }
        }
        i += 1;
        j += 1;
    }
}

/// `passwordFromFile`.
pub(crate) fn password_from_file(
    file: &Path,
    host: Option<&str>,
    port: &str,
    dbname: &str,
    user: &str,
) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if dbname.is_empty() || user.is_empty() {
        return None;
    }
    let host = match host {
        None | Some("") => "localhost",
        Some(DEFAULT_SOCKET_DIR) => "localhost",
        Some(h) => h,
    };
    let port = if port.is_empty() { "5432" } else { port };
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() {
        eprintln!(
            "WARNING: password file \"{}\" is not a plain file",
            file.display()
        );
        return None;
    }
    if meta.mode() & 0o077 != 0 {
        eprintln!(
            "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            file.display()
        );
        return None;
    }
    let data = std::fs::read(file).ok()?;
    for line in data.split(|&b| b == b'\n') {
        if line.first() == Some(&b'#') {
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let rest = pgpass_field(line, host.as_bytes())
            .and_then(|t| pgpass_field(t, port.as_bytes()))
            .and_then(|t| pgpass_field(t, dbname.as_bytes()))
            .and_then(|t| pgpass_field(t, user.as_bytes()));
        if let Some(rest) = rest {
            let mut pw = Vec::new();
            let mut i = 0;
            while let Some(&c) = rest.get(i) {
                if c == b':' {
                    break;
                }
                if c == b'\\' && rest.get(i + 1).is_some() {
                    i += 1;
                }
                pw.extend(rest.get(i));
                i += 1;
            }
            return Some(String::from_utf8_lossy(&pw).into_owned());
        }
    }
    None
}

/// `pg_fe_getauthname`: the name of the effective user.
fn os_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        match (f.first(), f.get(2)) {
            (Some(name), Some(u)) if u.parse::<u32>().ok() == Some(uid) => Some(name.to_string()),
            _ => None,
        }
    })
}

fn tls_version_rank(v: &str) -> Option<u8> {
    match v.to_ascii_lowercase().as_str() {
        "" => Some(0),
        "tlsv1" => Some(10),
        "tlsv1.1" => Some(11),
        "tlsv1.2" => Some(12),
        "tlsv1.3" => Some(13),
        _ => None,
    }
}

impl Settings {
    /// Resolves a conninfo string for the libpq of `version` in environment `env`.
    pub(crate) fn resolve(conninfo: &str, env: Env, version: PgVersion) -> Result<Self, Refusal> {
        let pairs = conninfo::parse(conninfo, version)?;
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in pairs {
            given.insert(k, v);
        }
        apply_service(&mut given, &env, version)?;
        let mut tls = Params::default();
        for k in TLS_KEYS {
            if let Some(v) = given.get(*k) {
                tls.set(k, v.clone());
            }
        }
        // PGREQUIRESSL=1 means require when neither sslmode nor PGSSLMODE is set.
        if tls.sslmode.is_none()
            && env.var("PGSSLMODE").is_none()
            && env.var("PGREQUIRESSL").is_some_and(|v| v.starts_with('1'))
        {
            tls.sslmode = Some("require".into());
        }
        let mut values = given.clone();
        for k in conninfo::keywords(version) {
            if values.contains_key(k.name) || TLS_KEYS.contains(&k.name) {
                continue;
            }
            if let Some(var) = k.env
                && let Some(v) = env.var(var)
            {
                values.insert(k.name.to_string(), v.to_string());
            }
        }
        Self::derive(values, tls, env, version)
    }

    /// `connectOptions2` and the checks of what tokio-postgres cannot do.
    fn derive(
        values: BTreeMap<String, String>,
        mut tls: Params,
        env: Env,
        version: PgVersion,
    ) -> Result<Self, Refusal> {
        let split = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        let hostaddrs = nonempty(&values, "hostaddr").map(split);
        let hosts = nonempty(&values, "host").map(split);
        let n = match (&hostaddrs, &hosts) {
            (Some(a), _) => a.len(),
            (None, Some(h)) => h.len(),
            (None, None) => 1,
        };
        if let (Some(h), Some(_)) = (&hosts, &hostaddrs)
            && h.len() != n
        {
            return Err(format!(
                "could not match {} host names to {n} hostaddr values",
                h.len()
            ));
        }
        let ports = nonempty(&values, "port").map(split);
        let ports: Vec<String> = match ports {
            None => vec![String::new(); n],
            Some(p) if p.len() == 1 => vec![p.first().cloned().unwrap_or_default(); n],
            Some(p) if p.len() == n => p,
            Some(p) => {
                return Err(format!(
                    "could not match {} port numbers to {n} hosts",
                    p.len()
                ));
            }
        };
        let user = match nonempty(&values, "user") {
            Some(u) => u.to_string(),
            None => os_user().ok_or_else(|| "could not look up local user ID".to_string())?,
        };
        let dbname = nonempty(&values, "dbname").unwrap_or(&user).to_string();
        let password = nonempty(&values, "password").map(str::to_string);
        let passfile = match nonempty(&values, "passfile") {
            Some(f) => Some(PathBuf::from(f)),
            None => home(&env, version).map(|h| h.join(".pgpass")),
        };
        let mut slots = Vec::with_capacity(n);
        for i in 0..n {
            let host = hosts.as_ref().and_then(|h| h.get(i)).cloned();
            let hostaddr = hostaddrs.as_ref().and_then(|h| h.get(i)).cloned();
            let port_text = ports.get(i).cloned().unwrap_or_default();
            let target = match (&hostaddr, &host) {
                (Some(a), _) if !a.is_empty() => Target::Address(a.parse().map_err(|_| {
                    format!("could not parse network address \"{a}\": Name or service not known")
                })?),
                (_, Some(h)) if !h.is_empty() => {
                    if h.starts_with('/') || (version >= PgVersion::V16 && h.starts_with('@')) {
                        Target::Unix(PathBuf::from(h))
                    } else {
                        Target::Name(h.clone())
                    }
                }
                _ => Target::Unix(PathBuf::from(DEFAULT_SOCKET_DIR)),
            };
            let host = match (&host, &target) {
                (Some(h), _) if !h.is_empty() => Some(h.clone()),
                (_, Target::Unix(p)) => Some(p.display().to_string()),
                _ => host,
            };
            let port = if port_text.is_empty() {
                DEFAULT_PORT
            } else {
                let p = parse_int(&port_text, "port")?;
                u16::try_from(p)
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| format!("invalid port number: \"{port_text}\""))?
            };
            let pw = match &password {
                Some(p) => Some((p.clone(), false)),
                None => passfile.as_deref().and_then(|f| {
                    let pwhost = host
                        .as_deref()
                        .filter(|h| !h.is_empty())
                        .or(hostaddr.as_deref());
                    // An empty password is none (pg_fe_sendauth: "no password supplied").
                    password_from_file(f, pwhost, &port_text, &dbname, &user)
                        .filter(|p| !p.is_empty())
                        .map(|p| (p, true))
                }),
            };
            slots.push(HostSlot {
                host,
                hostaddr,
                target,
                port_text,
                port,
                password: pw,
            });
        }
        use tokio_postgres::config::ChannelBinding;
        // Given (even empty, as libpq keeps an empty string) or from PGREQUIREAUTH.
        let require_auth = get(&values, "require_auth")
            .map(|v| crate::auth::RequireAuth::parse(v, version))
            .transpose()?;
        if require_auth.is_some()
            && let Some(slot) = slots.iter().find(|h| matches!(h.target, Target::Unix(_)))
        {
            return Err(unsupported(&format!(
                "require_auth with a Unix-domain socket host ({}) is not supported: tokio-postgres gives no hook to check the server's authentication request on that socket before it answers",
                slot.host.as_deref().unwrap_or_default()
            )));
        }
        let channel_binding = match get(&values, "channel_binding").unwrap_or("prefer") {
            "disable" => ChannelBinding::Disable,
            "prefer" => ChannelBinding::Prefer,
            "require" => ChannelBinding::Require,
            other => return Err(format!("invalid channel_binding value: \"{other}\"")),
        };
        // sslmode and the other TLS rules: pgtls-verify's policy, as libpq orders them.
        // The protocol bounds are checked there too (ssl_min/max_protocol_version).
        let plan = pgtls_verify::policy::plan(&tls, &env, version).map_err(|r| r.message)?;
        let (min, max) = (
            plan.ssl_min_protocol_version.as_str(),
            plan.ssl_max_protocol_version.as_str(),
        );
        let min_rank = tls_version_rank(min).unwrap_or(0);
        let max_rank = match tls_version_rank(max).unwrap_or(0) {
            0 => 13,
            r => r,
        };
        let mut tls_versions = Vec::new();
        if min_rank <= 13 && max_rank >= 13 {
            tls_versions.push(&rustls::version::TLS13);
        }
        if min_rank <= 12 && max_rank >= 12 {
            tls_versions.push(&rustls::version::TLS12);
        }
        if tls_versions.is_empty() {
            return Err(unsupported(&format!(
                "ssl_max_protocol_version={max}: rustls speaks TLSv1.2 and TLSv1.3 only"
            )));
        }
        let gss = get(&values, "gssencmode").unwrap_or("prefer");
        match gss {
            // No Kerberos credentials can be used: libpq then skips GSSAPI encryption.
            "disable" | "prefer" => {}
            "require" => {
                return Err(unsupported(
                    "gssencmode=require: GSSAPI encryption is not available (tokio-postgres has no GSSAPI)",
                ));
            }
            other => return Err(format!("invalid gssencmode value: \"{other}\"")),
        }
        let target_session_attrs = SessionAttrs::parse(
            get(&values, "target_session_attrs").unwrap_or("any"),
            version,
        )?;
        if let Some(enc) = nonempty(&values, "client_encoding") {
            let utf8 = ["utf8", "utf-8", "unicode"].contains(&enc.to_ascii_lowercase().as_str());
            if !utf8 {
                return Err(unsupported(&format!(
                    "client_encoding={enc}: tokio-postgres always uses UTF8"
                )));
            }
        }
        if let Some(peer) = nonempty(&values, "requirepeer") {
            return Err(unsupported(&format!(
                "requirepeer={peer} is not supported (tokio-postgres does not expose the socket's peer)"
            )));
        }
        if let Some(r) = nonempty(&values, "replication")
            && !["0", "off", "false", "no", "f", "n"].contains(&r.to_ascii_lowercase().as_str())
        {
            return Err(unsupported(&format!(
                "replication={r}: tokio-postgres 0.7 opens no replication connections"
            )));
        }
        for k in [
            "min_protocol_version",
            "max_protocol_version",
            "oauth_issuer",
            "oauth_client_id",
            "oauth_client_secret",
            "oauth_scope",
            "scram_client_key",
            "scram_server_key",
        ] {
            if let Some(v) = nonempty(&values, k) {
                return Err(unsupported(&format!("{k}={v} is not supported")));
            }
        }
        let load_balance = match get(&values, "load_balance_hosts").unwrap_or("disable") {
            "disable" => false,
            "random" => true,
            other => return Err(format!("invalid load_balance_hosts value: \"{other}\"")),
        };
        let neg = tls
            .sslnegotiation
            .clone()
            .or_else(|| env.var("PGSSLNEGOTIATION").map(str::to_string));
        let direct = version >= PgVersion::V17 && neg.as_deref() == Some("direct");
        let connect_timeout = match nonempty(&values, "connect_timeout") {
            None => None,
            Some(t) => {
                let secs = parse_int(t, "connect_timeout")?;
                // libpq: at most per attempt; 1 means 2 (a second is too short).
                match secs {
                    s if s <= 0 => None,
                    1 => Some(Duration::from_secs(2)),
                    s => Some(Duration::from_secs(u64::try_from(s).unwrap_or(2))),
                }
            }
        };
        for k in [
            "keepalives",
            "keepalives_idle",
            "keepalives_interval",
            "keepalives_count",
            "tcp_user_timeout",
        ] {
            if let Some(v) = nonempty(&values, k) {
                parse_int(v, k)?;
            }
        }
        tls.host = None;
        tls.hostaddr = None;
        Ok(Self {
            version,
            env,
            values,
            tls,
            hosts: slots,
            user,
            dbname,
            passfile,
            connect_timeout,
            tls_versions,
            channel_binding,
            target_session_attrs,
            load_balance,
            random_seed: None,
            require_auth,
            direct,
        })
    }

    /// A value as resolved (string, service, environment).
    pub(crate) fn value(&self, k: &str) -> Option<&str> {
        nonempty(&self.values, k)
    }

    /// The tokio-postgres configuration shared by every attempt (no host, no
    /// TLS mode: those are per attempt).
    pub(crate) fn base_config(&self) -> Result<tokio_postgres::Config, Refusal> {
        let mut c = tokio_postgres::Config::new();
        c.user(&self.user);
        c.dbname(&self.dbname);
        if let Some(o) = self.value("options") {
            c.options(o);
        }
        if let Some(a) = self
            .value("application_name")
            .or_else(|| self.value("fallback_application_name"))
        {
            c.application_name(a);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        let int = |k: &str| -> Result<Option<i64>, Refusal> {
            self.value(k).map(|v| parse_int(v, k)).transpose()
        };
        if let Some(k) = int("keepalives")? {
            c.keepalives(k != 0);
        }
        if let Some(s) = int("keepalives_idle")?.filter(|s| *s > 0) {
            c.keepalives_idle(Duration::from_secs(u64::try_from(s).unwrap_or(0)));
        }
        if let Some(s) = int("keepalives_interval")?.filter(|s| *s > 0) {
            c.keepalives_interval(Duration::from_secs(u64::try_from(s).unwrap_or(0)));
        }
        if let Some(s) = int("keepalives_count")?.filter(|s| *s > 0) {
            c.keepalives_retries(u32::try_from(s).unwrap_or(0));
        }
        if let Some(s) = int("tcp_user_timeout")?.filter(|s| *s > 0) {
            c.tcp_user_timeout(Duration::from_millis(u64::try_from(s).unwrap_or(0)));
        }
        c.channel_binding(self.channel_binding);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::empty().with_var("HOME", "/nonexistent-home")
    }

    fn resolve(s: &str) -> Result<Settings, Refusal> {
        Settings::resolve(s, env(), PgVersion::V15)
    }

    #[test]
    fn defaults_and_lists() {
        let s = resolve("user=u").unwrap();
        assert_eq!(s.dbname, "u");
        assert_eq!(s.hosts.len(), 1);
        assert_eq!(s.hosts[0].target, Target::Unix(DEFAULT_SOCKET_DIR.into()));
        assert_eq!(s.hosts[0].port, 5432);
        let s = resolve("user=u host=a,b port=1,2").unwrap();
        assert_eq!(s.hosts[1].port, 2);
        assert_eq!(
            resolve("user=u host=a,b port=1,2,3").unwrap_err(),
            "could not match 3 port numbers to 2 hosts"
        );
        assert_eq!(
            resolve("user=u host=a,b hostaddr=127.0.0.1").unwrap_err(),
            "could not match 2 host names to 1 hostaddr values"
        );
        assert_eq!(
            resolve("user=u sslmode=Require").unwrap_err(),
            "invalid sslmode value: \"Require\""
        );
        assert_eq!(
            resolve("user=u port=x").unwrap_err(),
            "invalid integer value \"x\" for connection option \"port\""
        );
        assert_eq!(
            resolve("user=u channel_binding=x").unwrap_err(),
            "invalid channel_binding value: \"x\""
        );
        assert_eq!(
            resolve("user=u ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2")
                .unwrap_err(),
            "invalid SSL protocol version range"
        );
        assert!(
            resolve("user=u requirepeer=x")
                .unwrap_err()
                .starts_with("pgtls-postgres: ")
        );
        assert!(
            resolve("user=u client_encoding=LATIN1")
                .unwrap_err()
                .starts_with("pgtls-postgres: ")
        );
    }

    #[test]
    fn environment_and_precedence() {
        let e = env()
            .with_var("PGUSER", "envuser")
            .with_var("PGAPPNAME", "app");
        let s = Settings::resolve("dbname=d", e.clone(), PgVersion::V15).unwrap();
        assert_eq!(s.user, "envuser");
        assert_eq!(s.value("application_name"), Some("app"));
        let s = Settings::resolve("user=given", e, PgVersion::V15).unwrap();
        assert_eq!(s.user, "given");
    }

    #[test]
    fn service_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("svc.conf");
        std::fs::write(
            &f,
            "# c\n[other]\nuser=o\n[mine]\n host=h1\nuser=svcuser\nsslmode=verify-full\n[last]\nuser=l\n",
        )
        .unwrap();
        let e = env().with_var("PGSERVICEFILE", f.to_str().unwrap());
        let s = Settings::resolve("service=mine user=given", e.clone(), PgVersion::V15).unwrap();
        assert_eq!(s.user, "given");
        assert_eq!(s.hosts[0].target, Target::Name("h1".into()));
        assert_eq!(s.tls.sslmode.as_deref(), Some("verify-full"));
        // The service beats the environment.
        let s = Settings::resolve(
            "service=mine",
            e.clone().with_var("PGUSER", "envuser"),
            PgVersion::V15,
        )
        .unwrap();
        assert_eq!(s.user, "svcuser");
        assert_eq!(
            Settings::resolve("service=nope", e.clone(), PgVersion::V15).unwrap_err(),
            "definition of service \"nope\" not found"
        );
        std::fs::write(&f, "[mine]\nbogus\n").unwrap();
        assert_eq!(
            Settings::resolve("service=mine", e, PgVersion::V15).unwrap_err(),
            format!("syntax error in service file \"{}\", line 2", f.display())
        );
    }

    #[test]
    fn pgpass() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(
            &f,
            "# comment\nother:*:*:*:no\nh\\:x:5432:db:u:p\\:w\\\\d:extra\n*:*:*:u:star\n",
        )
        .unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            password_from_file(&f, Some("h:x"), "", "db", "u").as_deref(),
            Some("p:w\\d")
        );
        assert_eq!(
            password_from_file(&f, Some("zzz"), "1", "db", "u").as_deref(),
            Some("star")
        );
        assert_eq!(password_from_file(&f, Some("zzz"), "1", "db", "v"), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(password_from_file(&f, Some("zzz"), "1", "db", "u"), None);
    }
}
