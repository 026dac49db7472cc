//! pg_hba.conf records: `parse_hba_line` and `parse_hba_auth_opt` of
//! PostgreSQL's src/backend/libpq/hba.c, one result per record.

use std::fmt;
use std::net::IpAddr;

use crate::PgVersion;
use crate::address::{cidr_mask, parse_numeric_host};
use crate::method::{AuthMethod, Build, ClientCert, ClientName, ConnType};
use crate::pgregex::PgRegex;
use crate::source::{Source, canonicalize_path};
use crate::token::{Record, Tok, Token, Tokenizer, physical_lines, record_estimate};

/// The server settings that change how pg_hba.conf is read.
///
/// The default is PostgreSQL 15 with `ssl = off` (PostgreSQL's default).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServerSettings {
    /// The PostgreSQL major version.
    pub version: PgVersion,
    /// The `ssl` GUC (off by default in PostgreSQL).
    pub ssl: bool,
    /// The `db_user_namespace` GUC (≤16).
    pub db_user_namespace: bool,
    /// What the server binary supports.
    pub build: Build,
    /// The `oauth_validator_libraries` GUC (18+) as its value reads (without
    /// the quotes of postgresql.conf): a comma-separated list, `""` by default.
    /// With it empty every `oauth` line is an error; with one library a line
    /// without `validator=` gets that library; otherwise `validator=` must be
    /// one of the list (`check_oauth_validator` in src/backend/libpq/auth-oauth.c).
    pub oauth_validator_libraries: String,
}

impl ServerSettings {
    /// Settings for `version` with `ssl` on or off and the default build.
    pub fn new(version: PgVersion, ssl: bool) -> Self {
        Self {
            version,
            ssl,
            ..Self::default()
        }
    }
}

/// A database or role entry: a token, plus its compiled regex (16+, `/...`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NameToken {
    /// The token as read.
    pub token: Token,
    /// For 16+ tokens starting with `/`: the compiled regex.
    pub regex: Option<PgRegex>,
}

impl NameToken {
    /// The token text.
    pub fn text(&self) -> &str {
        &self.token.text
    }
}

/// The address part of a TCP record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Address {
    /// `all`
    All,
    /// `samehost`: any of the server's own addresses.
    SameHost,
    /// `samenet`: any address in one of the server's subnets.
    SameNet,
    /// A host name or `.suffix`, compared with the client's resolved name.
    Hostname(String),
    /// An address with a mask (from `/bits` or a separate netmask field).
    Ip {
        /// The address as written (host bits are kept).
        addr: IpAddr,
        /// The mask (need not be contiguous when given as a separate field).
        mask: IpAddr,
        /// The prefix length when written in CIDR form.
        prefix: Option<u8>,
    },
}

/// Options of a record, after `parse_hba_auth_opt` (last one wins).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HbaOptions {
    /// `map=`: the pg_ident.conf map name (empty means "no map").
    pub map: Option<String>,
    /// `clientcert=` (forced to verify-full for `cert`).
    pub clientcert: ClientCert,
    /// `clientname=`.
    pub clientname: ClientName,
    /// `include_realm` (gss, sspi; defaults to true for them).
    pub include_realm: bool,
    /// `krb_realm`.
    pub krb_realm: Option<String>,
    /// `compat_realm` (sspi).
    pub compat_realm: bool,
    /// `upn_username` (sspi).
    pub upn_username: bool,
    /// `pamservice`.
    pub pamservice: Option<String>,
    /// `pam_use_hostname`.
    pub pam_use_hostname: bool,
    /// `ldapserver`.
    pub ldapserver: Option<String>,
    /// `ldapport` (0 = unset).
    pub ldapport: i32,
    /// `ldapscheme`.
    pub ldapscheme: Option<String>,
    /// `ldaptls`.
    pub ldaptls: bool,
    /// `ldapprefix`.
    pub ldapprefix: Option<String>,
    /// `ldapsuffix`.
    pub ldapsuffix: Option<String>,
    /// `ldapbasedn`.
    pub ldapbasedn: Option<String>,
    /// `ldapbinddn`.
    pub ldapbinddn: Option<String>,
    /// `ldapbindpasswd`.
    pub ldapbindpasswd: Option<String>,
    /// `ldapsearchattribute`.
    pub ldapsearchattribute: Option<String>,
    /// `ldapsearchfilter`.
    pub ldapsearchfilter: Option<String>,
    /// `ldapscope` (2 = subtree once any option was parsed).
    pub ldapscope: i32,
    /// `radiusservers` as written, and parsed.
    pub radiusservers: Option<(String, Vec<String>)>,
    /// `radiussecrets` as written, and parsed.
    pub radiussecrets: Option<(String, Vec<String>)>,
    /// `radiusidentifiers` as written, and parsed.
    pub radiusidentifiers: Option<(String, Vec<String>)>,
    /// `radiusports` as written, and parsed.
    pub radiusports: Option<(String, Vec<String>)>,
    /// `issuer` (oauth, 18+).
    pub issuer: Option<String>,
    /// `scope` (oauth, 18+).
    pub scope: Option<String>,
    /// `validator` (oauth, 18+).
    pub validator: Option<String>,
    /// `delegate_ident_mapping` (oauth, 18+).
    pub delegate_ident_mapping: bool,
}

/// A successfully parsed pg_hba.conf record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HbaRule {
    /// Connection type.
    pub conn_type: ConnType,
    /// Database field tokens.
    pub databases: Vec<NameToken>,
    /// User field tokens.
    pub users: Vec<NameToken>,
    /// Address (None for `local`).
    pub address: Option<Address>,
    /// Method (`ident` on `local` is already `peer`).
    pub method: AuthMethod,
    /// Options after parsing.
    pub options: HbaOptions,
    /// The `name=value` options in file order.
    pub raw_options: Vec<(String, String)>,
    /// A warning the server keeps in the view's error column while still
    /// loading the line (`hostssl record cannot match because SSL is disabled`).
    pub warning: Option<String>,
    /// The HINT the server logs with the warning, when it gives one (spec
    /// R4.1): `Set ssl = on in postgresql.conf.`, from 17 with the setting
    /// quoted, `Set "ssl = on" in postgresql.conf.`. Only in the log, never
    /// in the view.
    pub warning_hint: Option<String>,
}

/// Why a record is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineError {
    /// The server's log text for the error.
    pub message: String,
    /// What the view's `error` column shows: `None` for the "silent" errors
    /// where the server forgets to set it (the row is then all NULL).
    pub view_message: Option<String>,
}

impl LineError {
    fn new(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            view_message: Some(message.clone()),
            message,
        }
    }

    pub(crate) fn with_log(view: String, log: Option<String>) -> Self {
        Self {
            message: log.unwrap_or_else(|| view.clone()),
            view_message: Some(view),
        }
    }

    pub(crate) fn new_pub(message: impl Into<String>) -> Self {
        Self::new(message)
    }

    fn silent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            view_message: None,
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LineError {}

/// One record of pg_hba.conf (or of a file it includes), with its own result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HbaLine {
    /// The file the record is in.
    pub file: String,
    /// Line number of the record's first physical line.
    pub line_number: u32,
    /// The record text after continuation splicing.
    pub raw: String,
    /// The parsed rule, or why the line is invalid.
    pub result: Result<HbaRule, LineError>,
    /// 0-based physical line range in `file`.
    pub(crate) phys: (usize, usize),
    /// The record had bytes that are not UTF-8.
    pub(crate) lossy: bool,
}

impl HbaLine {
    /// Whether the record contains bytes that are not UTF-8 (they appear as
    /// U+FFFD in tokens and messages; the server passes the raw bytes on).
    pub fn has_invalid_utf8(&self) -> bool {
        self.lossy
    }

    /// The rule, if the line is valid.
    pub fn rule(&self) -> Option<&HbaRule> {
        self.result.as_ref().ok()
    }
}

/// A whole pg_hba.conf as the server would load it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HbaFile {
    name: String,
    text: Vec<u8>,
    settings: ServerSettings,
    lines: Vec<HbaLine>,
    first_error: Option<usize>,
}

impl HbaFile {
    /// Parses `text`, the content of the file called `name` (used to resolve
    /// `@file` and `include*` through `source`).
    pub fn parse(name: &str, text: &[u8], settings: ServerSettings, source: &dyn Source) -> Self {
        let tokenizer = Tokenizer {
            version: settings.version,
            source,
        };
        let mut lines: Vec<HbaLine> = Vec::with_capacity(record_estimate(text));
        tokenizer.tokenize_file(name, text, 0, &mut |rec: &mut Record<'_>| {
            lines.push(parse_record(rec, &settings));
        });
        if lines.capacity() > lines.len() + lines.len() / 8 {
            lines.shrink_to_fit();
        }
        let first_error = lines.iter().position(|l| l.result.is_err());
        Self {
            name: name.to_owned(),
            text: text.to_vec(),
            settings,
            lines,
            first_error,
        }
    }

    /// Parses text with no file access (`@file` and includes fail as missing).
    pub fn parse_str(text: &str, settings: ServerSettings) -> Self {
        Self::parse(
            "pg_hba.conf",
            text.as_bytes(),
            settings,
            &crate::source::NoSource,
        )
    }

    /// The file name given to [`HbaFile::parse`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings used to parse.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// Every record, includes expanded in place, in file order.
    pub fn lines(&self) -> &[HbaLine] {
        &self.lines
    }

    /// The original bytes (what `Display` prints).
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The valid rules in order (what the server would use if [`HbaFile::load`] succeeds).
    pub fn rules(&self) -> impl Iterator<Item = (&HbaLine, &HbaRule)> {
        self.lines.iter().filter_map(|l| l.rule().map(|r| (l, r)))
    }

    /// `load_hba`: all or nothing.
    ///
    /// # Errors
    /// The first invalid line (the server logs them all and keeps its old rules),
    /// or an empty file (`configuration file "..." contains no entries`).
    pub fn load(&self) -> Result<(), &HbaLine> {
        match self.first_error.and_then(|i| self.lines.get(i)) {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }

    /// `load_hba` as a typed result: the first invalid record, or an empty file.
    ///
    /// # Errors
    /// [`crate::Error::InvalidLine`] or [`crate::Error::Empty`].
    pub fn check_load(&self) -> Result<(), crate::Error> {
        match self.load() {
            Err(l) => Err(crate::Error::InvalidLine {
                file: l.file.clone(),
                line: l.line_number,
                message: l
                    .result
                    .as_ref()
                    .err()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
            }),
            Ok(()) if self.lines.is_empty() => Err(crate::Error::Empty {
                file: self.name.clone(),
            }),
            Ok(()) => Ok(()),
        }
    }

    /// Whether the server would refuse to load the file, with the message.
    pub fn load_error(&self) -> Option<String> {
        self.check_load().err().map(|e| e.to_string())
    }

    /// The physical lines of the main file (each with its line ending).
    pub fn physical_lines(&self) -> Vec<&[u8]> {
        physical_lines(&self.text)
    }
}

impl fmt::Display for HbaFile {
    /// The file exactly as read (byte for byte when it is valid UTF-8).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.text))
    }
}

/// Parses one pg_hba.conf line on its own (no `@file` resolution).
///
/// # Errors
/// The server's error for the line; an empty or comment-only line gives
/// `end-of-line before database specification`'s sibling: `empty line`.
pub fn parse_hba_line(line: &str, settings: ServerSettings) -> Result<HbaRule, LineError> {
    let f = HbaFile::parse_str(line, settings);
    match f.lines.into_iter().next() {
        Some(l) => l.result,
        None => Err(LineError::new("empty line")),
    }
}

fn parse_record(rec: &mut Record<'_>, settings: &ServerSettings) -> HbaLine {
    let result = match rec.error.take() {
        Some(e) => Err(LineError {
            message: rec.error_log.take().unwrap_or_else(|| e.clone()),
            view_message: Some(e),
        }),
        None => {
            let fallback = hostssl_warning(rec, settings);
            parse_fields(rec, settings).map_err(|mut e| {
                // A "silent" error leaves whatever error text was set before:
                // the hostssl warning, if there was one.
                if e.view_message.is_none() {
                    e.view_message = fallback;
                }
                e
            })
        }
    };
    HbaLine {
        file: rec.file.to_owned(),
        line_number: rec.line_number,
        raw: std::mem::take(&mut rec.raw).into_owned(),
        result,
        phys: rec.phys,
        lossy: rec.lossy,
    }
}

fn hostssl_warning(rec: &Record<'_>, s: &ServerSettings) -> Option<String> {
    let first = rec.first(0)?;
    match &*first.text {
        "hostssl" if !s.build.ssl => Some(
            "hostssl record cannot match because SSL is not supported by this build".to_owned(),
        ),
        "hostssl" if !s.ssl => {
            Some("hostssl record cannot match because SSL is disabled".to_owned())
        }
        "hostgssenc" if !s.build.gss => Some(
            "hostgssenc record cannot match because GSSAPI is not supported by this build"
                .to_owned(),
        ),
        _ => None,
    }
}

fn name_tokens(tokens: &mut [Tok<'_>], version: PgVersion) -> Result<Vec<NameToken>, LineError> {
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        let t = t.take();
        let regex = if version >= PgVersion::V16
            && let Some(pat) = t.text.strip_prefix('/')
        {
            match PgRegex::new(pat) {
                Ok(r) => Some(r),
                Err(e) => {
                    return Err(LineError::new(format!(
                        "invalid regular expression \"{pat}\": {e}"
                    )));
                }
            }
        } else {
            None
        };
        out.push(NameToken { token: t, regex });
    }
    Ok(out)
}

fn parse_fields(rec: &mut Record<'_>, s: &ServerSettings) -> Result<HbaRule, LineError> {
    let v = s.version;
    let Some(ct) = rec.field(0) else {
        return Err(LineError::new("end-of-line before database specification"));
    };
    if ct.len() > 1 {
        return Err(LineError::new(
            "multiple values specified for connection type",
        ));
    }
    let ct_text = ct.first().map(|t| &*t.text).unwrap_or("");
    let Some(conn_type) = ConnType::from_keyword(ct_text) else {
        return Err(LineError::new(format!(
            "invalid connection type \"{ct_text}\""
        )));
    };
    let mut warning = None;
    let mut warning_hint = None;
    match conn_type {
        ConnType::HostSsl if !s.build.ssl => {
            warning = Some(
                "hostssl record cannot match because SSL is not supported by this build".to_owned(),
            );
        }
        ConnType::HostSsl if !s.ssl => {
            warning = Some("hostssl record cannot match because SSL is disabled".to_owned());
            warning_hint = Some(ssl_off_hint(s.version).to_owned());
        }
        ConnType::HostGssEnc if !s.build.gss => {
            warning = Some(
                "hostgssenc record cannot match because GSSAPI is not supported by this build"
                    .to_owned(),
            );
        }
        _ => {}
    }
    let Some(db) = rec.field_mut(1) else {
        return Err(LineError::new("end-of-line before database specification"));
    };
    let databases = name_tokens(db, v)?;
    let Some(us) = rec.field_mut(2) else {
        return Err(LineError::new("end-of-line before role specification"));
    };
    let users = name_tokens(us, v)?;

    // The next field to read.
    let mut fi = 3;
    let mut address = None;
    if conn_type.is_tcp() {
        let Some(af) = rec.field(fi) else {
            return Err(LineError::new(
                "end-of-line before IP address specification",
            ));
        };
        if af.len() > 1 {
            return Err(LineError::new("multiple values specified for host address"));
        }
        fi += 1;
        let Some(tok) = af.first() else {
            return Err(LineError::new(
                "end-of-line before IP address specification",
            ));
        };
        address = Some(if tok.is_keyword("all") {
            Address::All
        } else if tok.is_keyword("samehost") {
            Address::SameHost
        } else if tok.is_keyword("samenet") {
            Address::SameNet
        } else {
            let (host, cidr) = match tok.text.split_once('/') {
                Some((h, c)) => (h, Some(c)),
                None => (&*tok.text, None),
            };
            match (parse_numeric_host(host), cidr) {
                (None, Some(_)) => {
                    return Err(LineError::new(format!(
                        "specifying both host name and CIDR mask is invalid: \"{}\"",
                        tok.text
                    )));
                }
                (None, None) => Address::Hostname(host.to_owned()),
                (Some(addr), Some(bits)) => match cidr_mask(bits, addr.is_ipv6()) {
                    Some((mask, n)) => Address::Ip {
                        addr,
                        mask,
                        prefix: Some(n),
                    },
                    None => {
                        return Err(LineError::new(format!(
                            "invalid CIDR mask in address \"{}\"",
                            tok.text
                        )));
                    }
                },
                (Some(addr), None) => {
                    let Some(mf) = rec.field(fi) else {
                        return Err(LineError::new("end-of-line before netmask specification"));
                    };
                    fi += 1;
                    if mf.len() > 1 {
                        return Err(LineError::new("multiple values specified for netmask"));
                    }
                    let Some(mtok) = mf.first().map(|t| &*t.text) else {
                        return Err(LineError::new("end-of-line before netmask specification"));
                    };
                    let Some(mask) = parse_numeric_host(mtok) else {
                        return Err(LineError::new(format!(
                            "invalid IP mask \"{mtok}\": Name or service not known"
                        )));
                    };
                    if mask.is_ipv6() != addr.is_ipv6() {
                        return Err(LineError::new("IP address and mask do not match"));
                    }
                    Address::Ip {
                        addr,
                        mask,
                        prefix: None,
                    }
                }
            }
        });
    }

    let Some(mf) = rec.field(fi) else {
        return Err(LineError::new("end-of-line before authentication method"));
    };
    fi += 1;
    if mf.len() > 1 {
        return Err(LineError::new(
            "multiple values specified for authentication type",
        ));
    }
    let Some(mname) = mf.first().map(|t| &*t.text) else {
        return Err(LineError::new("end-of-line before authentication method"));
    };
    let Some(mut method) = AuthMethod::from_name(mname, v) else {
        return Err(LineError::new(format!(
            "invalid authentication method \"{mname}\""
        )));
    };
    if !s.build.supports(method) {
        return Err(LineError::new(format!(
            "invalid authentication method \"{mname}\": not supported by this build"
        )));
    }
    if method == AuthMethod::Md5 && s.db_user_namespace && v < PgVersion::V17 {
        return Err(LineError::new(
            "MD5 authentication is not supported when \"db_user_namespace\" is enabled",
        ));
    }
    if conn_type == ConnType::Local && method == AuthMethod::Ident {
        method = AuthMethod::Peer;
    }
    if conn_type == ConnType::Local && method == AuthMethod::Gss {
        return Err(LineError::new(
            "gssapi authentication is not supported on local sockets",
        ));
    }
    if conn_type != ConnType::Local && method == AuthMethod::Peer {
        return Err(LineError::new(
            "peer authentication is only supported on local sockets",
        ));
    }
    if conn_type != ConnType::HostSsl && method == AuthMethod::Cert {
        return Err(LineError::new(
            "cert authentication is only supported on hostssl connections",
        ));
    }
    if v <= PgVersion::V13
        && conn_type == ConnType::HostGssEnc
        && !matches!(
            method,
            AuthMethod::Gss | AuthMethod::Trust | AuthMethod::Reject
        )
    {
        // Only in 12.0-12.5 and 13.0-13.1; later minors dropped the check.
        // We model the latest minor releases, so nothing to do.
    }

    let mut o = HbaOptions::default();
    if matches!(method, AuthMethod::Gss | AuthMethod::Sspi) {
        o.include_realm = true;
    }
    if method == AuthMethod::Sspi {
        o.compat_realm = true;
        o.upn_username = false;
    }
    // Options: every token of the remaining fields, in order.
    let options = rec.tokens_from_field(fi);
    let mut raw_options = Vec::with_capacity(options.len());
    for tok in options {
        let Some((name, val)) = tok.text.split_once('=') else {
            return Err(LineError::new(format!(
                "authentication option not in name=value format: {}",
                tok.text
            )));
        };
        parse_option(name, val, conn_type, method, s, &mut o)?;
        raw_options.push((name.to_owned(), val.to_owned()));
    }

    if method == AuthMethod::Ldap {
        if o.ldapprefix.is_some() || o.ldapsuffix.is_some() {
            if o.ldapbasedn.is_some()
                || o.ldapbinddn.is_some()
                || o.ldapbindpasswd.is_some()
                || o.ldapsearchattribute.is_some()
                || o.ldapsearchfilter.is_some()
            {
                return Err(LineError::new(if v >= PgVersion::V18 {
                    "cannot mix options for simple bind and search+bind modes"
                } else {
                    "cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix"
                }));
            }
        } else if o.ldapbasedn.is_none() {
            return Err(LineError::new(
                "authentication method \"ldap\" requires argument \"ldapbasedn\", \"ldapprefix\", or \"ldapsuffix\" to be set",
            ));
        }
        if o.ldapsearchattribute.is_some() && o.ldapsearchfilter.is_some() {
            return Err(LineError::new(
                "cannot use ldapsearchattribute together with ldapsearchfilter",
            ));
        }
    }
    if method == AuthMethod::Radius {
        let count =
            |x: &Option<(String, Vec<String>)>| x.as_ref().map(|(_, l)| l.len()).unwrap_or(0);
        let servers = count(&o.radiusservers);
        let secrets = count(&o.radiussecrets);
        if servers == 0 {
            return Err(LineError::new(
                "authentication method \"radius\" requires argument \"radiusservers\" to be set",
            ));
        }
        if secrets == 0 {
            return Err(LineError::new(
                "authentication method \"radius\" requires argument \"radiussecrets\" to be set",
            ));
        }
        let check = |n: usize, what: &str, allow_zero: bool| -> Result<(), LineError> {
            if n == 1 || n == servers || (allow_zero && n == 0) {
                return Ok(());
            }
            let msg = format!(
                "the number of RADIUS {what} ({n}) must be 1 or the same as the number of RADIUS servers ({servers})"
            );
            // 12 and 13 log it through verify_option_list_length but leave
            // the view's error empty (an all-NULL row, measured live).
            Err(if v <= PgVersion::V13 {
                LineError::silent(msg)
            } else {
                LineError::new(msg)
            })
        };
        check(secrets, "secrets", false)?;
        check(count(&o.radiusports), "ports", true)?;
        check(count(&o.radiusidentifiers), "identifiers", true)?;
    }
    if method == AuthMethod::Oauth {
        if o.scope.is_none() {
            return Err(LineError::new(
                "authentication method \"oauth\" requires argument \"scope\" to be set",
            ));
        }
        if o.issuer.is_none() {
            return Err(LineError::new(
                "authentication method \"oauth\" requires argument \"issuer\" to be set",
            ));
        }
        if v >= PgVersion::V18 {
            check_oauth_validator(&mut o, &s.oauth_validator_libraries)?;
        }
        if o.map.is_some() && o.delegate_ident_mapping {
            return Err(LineError::new(
                "map cannot be used in combination with delegate_ident_mapping",
            ));
        }
    }
    if method == AuthMethod::Cert {
        // Every version: `cert` checks the name (12.22 and 13.23 show
        // `clientcert=verify-full` in the view too, measured live).
        o.clientcert = ClientCert::VerifyFull;
    }
    Ok(HbaRule {
        conn_type,
        databases,
        users,
        address,
        method,
        options: o,
        raw_options,
        warning,
        warning_hint,
    })
}

/// The hint of `hostssl record cannot match because SSL is disabled`
/// (`parse_hba_line` in src/backend/libpq/hba.c): 17 quotes the setting.
fn ssl_off_hint(version: PgVersion) -> &'static str {
    if version < PgVersion::V17 {
        "Set ssl = on in postgresql.conf."
    } else {
        "Set \"ssl = on\" in postgresql.conf."
    }
}

/// `check_oauth_validator` (src/backend/libpq/auth-oauth.c, 18): the line's
/// `validator=` against the `oauth_validator_libraries` setting; a line
/// without one gets the only library of a one-element list.
fn check_oauth_validator(o: &mut HbaOptions, libraries: &str) -> Result<(), LineError> {
    const SETTING: &str = "oauth_validator_libraries";
    if libraries.is_empty() {
        return Err(LineError::new(format!(
            "{SETTING} must be set for authentication method oauth"
        )));
    }
    let Some(list) = split_directories(libraries) else {
        return Err(LineError::new(format!(
            "invalid list syntax in parameter \"{SETTING}\""
        )));
    };
    let Some(validator) = &o.validator else {
        if let [only] = list.as_slice() {
            o.validator = Some(only.clone());
            return Ok(());
        }
        if list.is_empty() {
            // A value of blanks only: PostgreSQL 18 reads the length of the
            // empty list through a NULL pointer here (the backend crashes,
            // measured live), so there is no server text to give.
            return Err(LineError::new(format!(
                "{SETTING} lists no library (PostgreSQL 18 crashes on this line)"
            )));
        }
        return Err(LineError::new(
            "authentication method \"oauth\" requires argument \"validator\" to be set when oauth_validator_libraries contains multiple options",
        ));
    };
    if list.iter().any(|l| l == validator) {
        return Ok(());
    }
    Err(LineError::new(format!(
        "validator \"{validator}\" is not permitted by {SETTING}"
    )))
}

/// `SplitDirectoriesString(raw, ',')` (src/backend/utils/adt/varlena.c): a
/// comma-separated list of names, each unquoted (blanks around it dropped;
/// empty is a syntax error) or double-quoted (`""` is one quote), truncated
/// to `MAXPGPATH - 1` bytes and put through `canonicalize_path`. `None` on a
/// syntax error; blanks only give an empty list.
fn split_directories(raw: &str) -> Option<Vec<String>> {
    const MAXPGPATH: usize = 1024;
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let b = raw.as_bytes();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < b.len() && is_space(b[*i]) {
            *i += 1;
        }
    };
    skip(&mut i);
    let mut out = Vec::new();
    if i == b.len() {
        return Some(out);
    }
    loop {
        let mut name: Vec<u8>;
        if b.get(i) == Some(&b'"') {
            name = Vec::new();
            i += 1;
            loop {
                let end = i + b.get(i..)?.iter().position(|&c| c == b'"')?;
                name.extend_from_slice(&b[i..end]);
                if b.get(end + 1) == Some(&b'"') {
                    name.push(b'"');
                    i = end + 2;
                } else {
                    i = end + 1;
                    break;
                }
            }
        } else {
            let start = i;
            let mut end = i;
            while i < b.len() && b[i] != b',' {
                if !is_space(b[i]) {
                    end = i + 1;
                }
                i += 1;
            }
            if end == start {
                return None;
            }
            name = b[start..end].to_vec();
        }
        skip(&mut i);
        let done = match b.get(i) {
            Some(b',') => {
                i += 1;
                skip(&mut i);
                false
            }
            None => true,
            Some(_) => return None,
        };
        name.truncate(MAXPGPATH - 1);
        out.push(canonicalize_path(&String::from_utf8_lossy(&name)));
        if done {
            return Some(out);
        }
    }
}

fn only_for(name: &str, methods: &str) -> LineError {
    LineError::new(format!(
        "authentication option \"{name}\" is only valid for authentication methods {methods}"
    ))
}

/// `atoi` as glibc has it: `(int) strtol(s, NULL, 10)` (the cast keeps the low 32 bits).
pub(crate) fn atoi(s: &str) -> i32 {
    let (long, _) = crate::inet::strtol10(s.as_bytes());
    let b = long.to_le_bytes();
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// `SplitGUCList(val, ',')`: `None` on a syntax error.
pub(crate) fn split_guc_list(val: &str) -> Option<Vec<String>> {
    let b: Vec<char> = val.chars().collect();
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b');
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return Some(out);
    }
    loop {
        let mut item = String::new();
        if b.get(i) == Some(&'"') {
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some('"') if b.get(i + 1) == Some(&'"') => {
                        item.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        item.push(*c);
                        i += 1;
                    }
                }
            }
            if item.is_empty() {
                return None;
            }
        } else {
            let start = i;
            while i < b.len() && b[i] != ',' && !is_space(b[i]) {
                item.push(b[i]);
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        out.push(item);
        if i == b.len() {
            return Some(out);
        }
        if b[i] != ',' {
            return None;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
    }
}

fn parse_option(
    name: &str,
    val: &str,
    ct: ConnType,
    method: AuthMethod,
    s: &ServerSettings,
    o: &mut HbaOptions,
) -> Result<(), LineError> {
    use AuthMethod as M;
    let v = s.version;
    let require = |m: AuthMethod, list: &str| -> Result<(), LineError> {
        if method == m {
            Ok(())
        } else {
            Err(only_for(name, list))
        }
    };
    if s.build.ldap {
        o.ldapscope = 2;
    }
    match name {
        "map" => {
            let ok = matches!(method, M::Ident | M::Peer | M::Gss | M::Sspi | M::Cert)
                || (v >= PgVersion::V18 && method == M::Oauth);
            if !ok {
                return Err(only_for(
                    name,
                    if v >= PgVersion::V18 {
                        "ident, peer, gssapi, sspi, cert, and oauth"
                    } else {
                        "ident, peer, gssapi, sspi, and cert"
                    },
                ));
            }
            o.map = Some(val.to_owned());
        }
        "clientcert" => {
            if ct != ConnType::HostSsl {
                return Err(LineError::new(
                    "clientcert can only be configured for \"hostssl\" rows",
                ));
            }
            match val {
                "verify-full" => o.clientcert = ClientCert::VerifyFull,
                "verify-ca" => {
                    // 12 and 13 take it on a `cert` line (and force
                    // verify-full); 14 made it an error (measured live).
                    if method == M::Cert && v >= PgVersion::V14 {
                        return Err(LineError {
                            message: "clientcert only accepts \"verify-full\" when using \"cert\" authentication"
                                .to_owned(),
                            view_message: Some(
                                "clientcert can only be set to \"verify-full\" when using \"cert\" authentication"
                                    .to_owned(),
                            ),
                        });
                    }
                    o.clientcert = ClientCert::VerifyCa;
                }
                "1" if v <= PgVersion::V13 => o.clientcert = ClientCert::VerifyCa,
                "0" | "no-verify" if v <= PgVersion::V13 => {
                    if method == M::Cert {
                        return Err(LineError::new(
                            "clientcert can not be set to \"no-verify\" when using \"cert\" authentication",
                        ));
                    }
                    o.clientcert = ClientCert::Off;
                }
                _ => {
                    return Err(LineError::silent(format!(
                        "invalid value for clientcert: \"{val}\""
                    )));
                }
            }
        }
        "clientname" if v >= PgVersion::V14 => {
            if ct != ConnType::HostSsl {
                return Err(LineError::new(
                    "clientname can only be configured for \"hostssl\" rows",
                ));
            }
            match val {
                "CN" => o.clientname = ClientName::Cn,
                "DN" => o.clientname = ClientName::Dn,
                _ => {
                    return Err(LineError::silent(format!(
                        "invalid value for clientname: \"{val}\""
                    )));
                }
            }
        }
        "pamservice" => {
            require(M::Pam, "pam")?;
            o.pamservice = Some(val.to_owned());
        }
        "pam_use_hostname" => {
            require(M::Pam, "pam")?;
            o.pam_use_hostname = val == "1";
        }
        "ldapurl" => {
            require(M::Ldap, "ldap")?;
            crate::ldapurl::apply(val, o)?;
        }
        "ldaptls" => {
            require(M::Ldap, "ldap")?;
            o.ldaptls = val == "1";
        }
        "ldapscheme" => {
            require(M::Ldap, "ldap")?;
            // Anything but ldap/ldaps is only logged.
            o.ldapscheme = Some(val.to_owned());
        }
        "ldapserver" => {
            require(M::Ldap, "ldap")?;
            o.ldapserver = Some(val.to_owned());
        }
        "ldapport" => {
            require(M::Ldap, "ldap")?;
            o.ldapport = atoi(val);
            if o.ldapport == 0 {
                return Err(LineError::new(format!(
                    "invalid LDAP port number: \"{val}\""
                )));
            }
        }
        "ldapbinddn" => {
            require(M::Ldap, "ldap")?;
            o.ldapbinddn = Some(val.to_owned());
        }
        "ldapbindpasswd" => {
            require(M::Ldap, "ldap")?;
            o.ldapbindpasswd = Some(val.to_owned());
        }
        "ldapsearchattribute" => {
            require(M::Ldap, "ldap")?;
            o.ldapsearchattribute = Some(val.to_owned());
        }
        "ldapsearchfilter" => {
            require(M::Ldap, "ldap")?;
            o.ldapsearchfilter = Some(val.to_owned());
        }
        "ldapbasedn" => {
            require(M::Ldap, "ldap")?;
            o.ldapbasedn = Some(val.to_owned());
        }
        "ldapprefix" => {
            require(M::Ldap, "ldap")?;
            o.ldapprefix = Some(val.to_owned());
        }
        "ldapsuffix" => {
            require(M::Ldap, "ldap")?;
            o.ldapsuffix = Some(val.to_owned());
        }
        "krb_realm" => {
            if !matches!(method, M::Gss | M::Sspi) {
                return Err(only_for(name, "gssapi and sspi"));
            }
            o.krb_realm = Some(val.to_owned());
        }
        "include_realm" => {
            if !matches!(method, M::Gss | M::Sspi) {
                return Err(only_for(name, "gssapi and sspi"));
            }
            o.include_realm = val == "1";
        }
        "compat_realm" => {
            require(M::Sspi, "sspi")?;
            o.compat_realm = val == "1";
        }
        "upn_username" => {
            require(M::Sspi, "sspi")?;
            o.upn_username = val == "1";
        }
        "radiusservers" => {
            require(M::Radius, "radius")?;
            let Some(list) = split_guc_list(val) else {
                return Err(LineError::silent(format!(
                    "could not parse RADIUS server list \"{val}\""
                )));
            };
            for server in &list {
                if parse_numeric_host(server).is_none() && !looks_like_host_name(server) {
                    return Err(LineError::silent(format!(
                        "could not translate RADIUS server name \"{server}\" to address: Name or service not known"
                    )));
                }
            }
            o.radiusservers = Some((val.to_owned(), list));
        }
        "radiusports" => {
            require(M::Radius, "radius")?;
            let Some(list) = split_guc_list(val) else {
                return Err(LineError {
                    message: format!("could not parse RADIUS port list \"{val}\""),
                    view_message: Some(format!("invalid RADIUS port number: \"{val}\"")),
                });
            };
            if list.iter().any(|p| atoi(p) == 0) {
                return Err(LineError::silent(format!(
                    "invalid RADIUS port number: \"{val}\""
                )));
            }
            o.radiusports = Some((val.to_owned(), list));
        }
        "radiussecrets" => {
            require(M::Radius, "radius")?;
            let Some(list) = split_guc_list(val) else {
                return Err(LineError::silent(format!(
                    "could not parse RADIUS secret list \"{val}\""
                )));
            };
            o.radiussecrets = Some((val.to_owned(), list));
        }
        "radiusidentifiers" => {
            require(M::Radius, "radius")?;
            let Some(list) = split_guc_list(val) else {
                return Err(LineError::silent(format!(
                    "could not parse RADIUS identifiers list \"{val}\""
                )));
            };
            o.radiusidentifiers = Some((val.to_owned(), list));
        }
        "issuer" | "scope" | "validator" | "delegate_ident_mapping" if v >= PgVersion::V18 => {
            require(M::Oauth, "oauth")?;
            match name {
                "issuer" => o.issuer = Some(val.to_owned()),
                "scope" => o.scope = Some(val.to_owned()),
                "validator" => o.validator = Some(val.to_owned()),
                _ => o.delegate_ident_mapping = val == "1",
            }
        }
        _ => {
            return Err(LineError::new(format!(
                "unrecognized authentication option name: \"{name}\""
            )));
        }
    }
    Ok(())
}

/// Whether a RADIUS server name could resolve. pgtls does no DNS at parse
/// time: any syntactically plausible host name is assumed to resolve.
fn looks_like_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_split_directories_string() {
        let s = |x: &str| split_directories(x);
        assert_eq!(s(""), Some(vec![]));
        assert_eq!(s("  \t"), Some(vec![]));
        assert_eq!(s("a"), Some(vec!["a".to_owned()]));
        assert_eq!(s(" a , b "), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(s("a b"), Some(vec!["a b".to_owned()]));
        assert_eq!(s("\"a,b\",c"), Some(vec!["a,b".to_owned(), "c".to_owned()]));
        assert_eq!(s("\"a\"\"b\""), Some(vec!["a\"b".to_owned()]));
        assert_eq!(s("/x//y/"), Some(vec!["/x/y".to_owned()]));
        for bad in ["a,", ",a", "a,,b", "\"a", "\"a\"b"] {
            assert_eq!(s(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn oauth_validator_against_the_setting() {
        let line = |libs: &str, validator: &str| {
            let mut s = ServerSettings::new(PgVersion::V18, false);
            s.oauth_validator_libraries = libs.to_owned();
            let text = format!("host all all 0.0.0.0/0 oauth issuer=i scope=s {validator}");
            HbaFile::parse_str(&text, s).lines()[0]
                .result
                .clone()
                .map(|r| r.options.validator)
                .map_err(|e| e.message)
        };
        assert_eq!(
            line("", ""),
            Err("oauth_validator_libraries must be set for authentication method oauth".into())
        );
        assert_eq!(line("v1", ""), Ok(Some("v1".into())));
        assert_eq!(line("v1", "validator=v1"), Ok(Some("v1".into())));
        assert_eq!(
            line("v1", "validator=v2"),
            Err("validator \"v2\" is not permitted by oauth_validator_libraries".into())
        );
        assert!(line("v1,v2", "").unwrap_err().contains("multiple options"));
        assert_eq!(line("v1,v2", "validator=v2"), Ok(Some("v2".into())));
        assert_eq!(
            line("v1,", "validator=v1"),
            Err("invalid list syntax in parameter \"oauth_validator_libraries\"".into())
        );
        // 17 has no oauth: the setting plays no part.
        let mut s = ServerSettings::new(PgVersion::V17, false);
        s.oauth_validator_libraries = "v1".into();
        assert!(
            HbaFile::parse_str("host all all 0.0.0.0/0 oauth", s).lines()[0]
                .result
                .is_err()
        );
    }
}
