//! `check_hba`: the first matching record decides (src/backend/libpq/hba.c),
//! and the FATAL text the client sees for a refusal (src/backend/libpq/auth.c).

use std::net::IpAddr;

use crate::PgVersion;
use crate::address::{in_range, mask_from_prefix, ntop};
use crate::hba::{Address, HbaFile, HbaLine, HbaRule, NameToken};
use crate::method::{AuthMethod, ConnType};
use crate::pgregex::RegexMatch;

/// Replication kind of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Replication {
    /// An ordinary connection.
    #[default]
    None,
    /// `replication=true`: a physical walsender (no database).
    Physical,
    /// `replication=database`: a logical walsender (matches like a normal connection).
    Logical,
}

/// A connection attempt, as the server sees it at the pg_hba stage.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// Client address; `None` for a Unix-domain socket.
    pub address: Option<IpAddr>,
    /// TLS in use.
    pub tls: bool,
    /// GSSAPI encryption in use.
    pub gss: bool,
    /// Requested database.
    pub database: String,
    /// Requested user.
    pub user: String,
    /// Whether the role exists (a missing role matches only `all`, its name or a regex).
    pub user_exists: bool,
    /// Roles the user is a member of, directly or indirectly (without
    /// superuser bypass). The user itself counts automatically.
    pub member_of: Vec<String>,
    /// Replication kind.
    pub replication: Replication,
    /// The client's host name after reverse and forward DNS agreed (None: no name).
    pub client_hostname: Option<String>,
    /// The server's interface addresses with their prefix lengths, for `samehost`/`samenet`.
    pub server_addresses: Vec<(IpAddr, u8)>,
}

impl Request {
    /// A Unix-socket connection.
    pub fn local(database: &str, user: &str) -> Self {
        Self {
            address: None,
            tls: false,
            gss: false,
            database: database.to_owned(),
            user: user.to_owned(),
            user_exists: true,
            member_of: Vec::new(),
            replication: Replication::None,
            client_hostname: None,
            server_addresses: Vec::new(),
        }
    }

    /// A TCP connection from `addr`.
    pub fn tcp(addr: IpAddr, database: &str, user: &str) -> Self {
        Self {
            address: Some(addr),
            ..Self::local(database, user)
        }
    }

    /// With TLS on or off.
    #[must_use]
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// With GSS encryption on or off.
    #[must_use]
    pub fn with_gss(mut self, gss: bool) -> Self {
        self.gss = gss;
        self
    }

    /// With role memberships.
    #[must_use]
    pub fn with_member_of(mut self, roles: Vec<String>) -> Self {
        self.member_of = roles;
        self
    }

    /// With a replication kind.
    #[must_use]
    pub fn with_replication(mut self, r: Replication) -> Self {
        self.replication = r;
        self
    }

    /// With the client's verified host name.
    #[must_use]
    pub fn with_client_hostname(mut self, name: Option<String>) -> Self {
        self.client_hostname = name;
        self
    }

    /// With the server's interface addresses.
    #[must_use]
    pub fn with_server_addresses(mut self, addrs: Vec<(IpAddr, u8)>) -> Self {
        self.server_addresses = addrs;
        self
    }

    /// With the server's interface networks (as [`Request::with_server_addresses`]).
    #[must_use]
    pub fn with_server_networks(
        mut self,
        networks: impl IntoIterator<Item = crate::ServerNetwork>,
    ) -> Self {
        self.server_addresses = networks.into_iter().map(Into::into).collect();
        self
    }

    fn is_member(&self, role: &str) -> bool {
        self.user_exists && (role == self.user || self.member_of.iter().any(|m| m == role))
    }

    /// The `host "%s"` part of the server's messages.
    pub fn host_text(&self) -> String {
        match &self.address {
            None => "[local]".to_owned(),
            Some(a) => ntop(a),
        }
    }

    /// `SSL encryption`, `GSS encryption` or `no encryption` ([12-13] `SSL on`/`SSL off`).
    pub fn encryption_text(&self, version: PgVersion) -> &'static str {
        if version <= PgVersion::V13 {
            return if self.tls { "SSL on" } else { "SSL off" };
        }
        if self.gss {
            "GSS encryption"
        } else if self.tls {
            "SSL encryption"
        } else {
            "no encryption"
        }
    }
}

/// How the pg_hba stage ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A record matched (its method may be `reject`).
    Matched {
        /// Index into [`HbaFile::lines`].
        index: usize,
    },
    /// No record matched: implicit reject.
    NoMatch,
    /// The file would not load; the server keeps its previous rules.
    NotLoaded {
        /// The first error.
        message: String,
    },
    /// A record's regex could not be evaluated faithfully by pgtls.
    Undecided {
        /// Index of the record.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// The verdict of the pg_hba stage, in the words of `pgtls hba check` and
/// the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HbaVerdict {
    /// A record matched with a method other than `reject`: the connection
    /// proceeds to authentication.
    Match,
    /// A `reject` record matched.
    Reject,
    /// No record matched: implicit reject.
    NoMatch,
    /// The file would not load.
    NotLoaded,
    /// pgtls cannot evaluate a record's regular expression the way
    /// PostgreSQL would.
    Undecided,
}

impl HbaVerdict {
    /// `match`, `reject`, `no-match`, `not-loaded`, `undecided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Reject => "reject",
            Self::NoMatch => "no-match",
            Self::NotLoaded => "not-loaded",
            Self::Undecided => "undecided",
        }
    }
}

impl std::fmt::Display for HbaVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// What happened.
    pub outcome: Outcome,
    /// The matched record.
    pub line: Option<HbaLine>,
    /// The server's FATAL text when it refuses at this stage (reject / no match).
    pub message: Option<String>,
}

impl Decision {
    /// The matched record's line number.
    pub fn line_number(&self) -> Option<u32> {
        self.line.as_ref().map(|l| l.line_number)
    }

    /// The matched rule.
    pub fn rule(&self) -> Option<&HbaRule> {
        self.line.as_ref().and_then(HbaLine::rule)
    }

    /// The method of the matched rule.
    pub fn method(&self) -> Option<AuthMethod> {
        self.rule().map(|r| r.method)
    }

    /// The server's log line naming the matched record, as it appears when
    /// authentication fails (`Connection matched pg_hba.conf line N: "..."`;
    /// [16+] `Connection matched file "F" line N: "..."`).
    pub fn matched_log(&self, version: PgVersion) -> Option<String> {
        let l = self.line.as_ref()?;
        Some(if version >= PgVersion::V16 {
            format!(
                "Connection matched file \"{}\" line {}: \"{}\"",
                l.file, l.line_number, l.raw
            )
        } else {
            format!(
                "Connection matched pg_hba.conf line {}: \"{}\"",
                l.line_number, l.raw
            )
        })
    }

    /// The verdict: match, reject, no-match, not-loaded or undecided.
    pub fn verdict(&self) -> HbaVerdict {
        match &self.outcome {
            Outcome::Matched { .. } if self.proceeds() => HbaVerdict::Match,
            Outcome::Matched { .. } => HbaVerdict::Reject,
            Outcome::NoMatch => HbaVerdict::NoMatch,
            Outcome::NotLoaded { .. } => HbaVerdict::NotLoaded,
            Outcome::Undecided { .. } => HbaVerdict::Undecided,
        }
    }

    /// The sentence that goes with the verdict: the server's FATAL text for
    /// reject and no-match, the load error for not-loaded, why pgtls cannot
    /// decide for undecided; `None` for a match.
    pub fn verdict_message(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Matched { .. } if self.proceeds() => None,
            Outcome::Matched { .. } | Outcome::NoMatch => self.message.as_deref(),
            Outcome::NotLoaded { message } => Some(message),
            Outcome::Undecided { reason, .. } => Some(reason),
        }
    }

    /// Whether the connection proceeds to authentication with a real method.
    pub fn proceeds(&self) -> bool {
        matches!(self.outcome, Outcome::Matched { .. }) && self.method() != Some(AuthMethod::Reject)
    }
}

/// Evaluates `req` against `hba`: first match wins; `reject` and no match
/// give the server's FATAL text. If the file does not load, the outcome is
/// [`Outcome::NotLoaded`] (the server would keep whatever it had before).
pub fn evaluate(hba: &HbaFile, req: &Request) -> Decision {
    if let Some(message) = hba.load_error() {
        return Decision {
            outcome: Outcome::NotLoaded { message },
            line: None,
            message: None,
        };
    }
    let v = hba.settings().version;
    let gss_build = hba.settings().build.gss;
    for (index, line) in hba.lines().iter().enumerate() {
        let Some(rule) = line.rule() else { continue };
        match rule_matches(rule, req, gss_build) {
            Ok(false) => {}
            Ok(true) => {
                let message =
                    (rule.method == AuthMethod::Reject).then(|| reject_message(req, v, true));
                return Decision {
                    outcome: Outcome::Matched { index },
                    line: Some(line.clone()),
                    message,
                };
            }
            Err(reason) => {
                return Decision {
                    outcome: Outcome::Undecided { index, reason },
                    line: Some(line.clone()),
                    message: None,
                };
            }
        }
    }
    Decision {
        outcome: Outcome::NoMatch,
        line: None,
        message: Some(reject_message(req, v, false)),
    }
}

fn reject_message(req: &Request, v: PgVersion, explicit: bool) -> String {
    let host = req.host_text();
    let enc = req.encryption_text(v);
    let user = &req.user;
    // 12 and 13 word every walsender this way, logical ones too (`if
    // (am_walsender)` in auth.c); 14 narrowed it to physical replication
    // (`am_walsender && !am_db_walsender`). Measured live: hba_connections.
    let phys = match req.replication {
        Replication::Physical => true,
        Replication::Logical => v <= PgVersion::V13,
        Replication::None => false,
    };
    match (explicit, phys) {
        (true, true) => format!(
            "pg_hba.conf rejects replication connection for host \"{host}\", user \"{user}\", {enc}"
        ),
        (true, false) => format!(
            "pg_hba.conf rejects connection for host \"{host}\", user \"{user}\", database \"{}\", {enc}",
            req.database
        ),
        (false, true) => {
            format!(
                "no pg_hba.conf entry for replication connection from host \"{host}\", user \"{user}\", {enc}"
            )
        }
        (false, false) => format!(
            "no pg_hba.conf entry for host \"{host}\", user \"{user}\", database \"{}\", {enc}",
            req.database
        ),
    }
}

/// Whether `rule` matches `req`. `Err` when a regex cannot be evaluated faithfully.
pub(crate) fn rule_matches(rule: &HbaRule, req: &Request, gss_build: bool) -> Result<bool, String> {
    if !rule_conn_matches(rule, req, gss_build) {
        return Ok(false);
    }
    if !check_db(&rule.databases, req)? {
        return Ok(false);
    }
    check_role(&rule.users, req)
}

/// The connection type and address part of `rule` alone.
pub(crate) fn rule_conn_matches(rule: &HbaRule, req: &Request, gss_build: bool) -> bool {
    rule_conn_matches_inner(rule, req, gss_build).unwrap_or(false)
}

fn rule_conn_matches_inner(rule: &HbaRule, req: &Request, gss_build: bool) -> Result<bool, String> {
    match (rule.conn_type, req.address) {
        (ConnType::Local, Some(_)) => return Ok(false),
        (ConnType::Local, None) => {}
        (_, None) => return Ok(false),
        (ct, Some(client)) => {
            if req.tls && ct == ConnType::HostNoSsl {
                return Ok(false);
            }
            if !req.tls && ct == ConnType::HostSsl {
                return Ok(false);
            }
            if !gss_build && ct == ConnType::HostGssEnc {
                return Ok(false);
            }
            if req.gss && ct == ConnType::HostNoGssEnc {
                return Ok(false);
            }
            if !req.gss && ct == ConnType::HostGssEnc {
                return Ok(false);
            }
            if !address_matches(rule.address.as_ref(), &client, req) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The database field of `rule` alone.
pub(crate) fn rule_db_matches(rule: &HbaRule, req: &Request) -> Result<bool, String> {
    check_db(&rule.databases, req)
}

/// The user field of `rule` alone.
pub(crate) fn rule_user_matches(rule: &HbaRule, req: &Request) -> Result<bool, String> {
    check_role(&rule.users, req)
}

fn address_matches(addr: Option<&Address>, client: &IpAddr, req: &Request) -> bool {
    match addr {
        None => false,
        Some(Address::All) => true,
        Some(Address::Ip { addr, mask, .. }) => in_range(client, addr, mask),
        Some(Address::Hostname(pattern)) => match &req.client_hostname {
            None => false,
            Some(actual) => hostname_match(pattern, actual),
        },
        Some(Address::SameHost) => req.server_addresses.iter().any(|(a, _)| {
            in_range(
                client,
                a,
                &mask_from_prefix(if a.is_ipv6() { 128 } else { 32 }, a.is_ipv6()),
            )
        }),
        Some(Address::SameNet) => req
            .server_addresses
            .iter()
            .any(|(a, p)| in_range(client, a, &mask_from_prefix(*p, a.is_ipv6()))),
    }
}

/// `hostname_match`: ASCII case-insensitive, `.suffix` matches a strict suffix.
pub(crate) fn hostname_match(pattern: &str, actual: &str) -> bool {
    if pattern.starts_with('.') {
        actual.len() >= pattern.len()
            && actual.is_char_boundary(actual.len() - pattern.len())
            && actual[actual.len() - pattern.len()..].eq_ignore_ascii_case(pattern)
    } else {
        pattern.eq_ignore_ascii_case(actual)
    }
}

fn regex_match(t: &NameToken, subject: &str) -> Result<bool, String> {
    match t.regex.as_ref().map(|r| r.find(subject, false)) {
        None => Ok(t.text() == subject),
        Some(RegexMatch::NoMatch) => Ok(false),
        Some(RegexMatch::Match { .. }) => Ok(true),
        Some(RegexMatch::Unsupported(w)) => {
            Err(format!("regular expression \"{}\": {w}", t.text()))
        }
    }
}

fn check_db(tokens: &[NameToken], req: &Request) -> Result<bool, String> {
    for t in tokens {
        let tok = &t.token;
        if req.replication == Replication::Physical {
            if tok.is_keyword("replication") {
                return Ok(true);
            }
        } else if tok.is_keyword("all") {
            return Ok(true);
        } else if tok.is_keyword("sameuser") {
            if req.database == req.user {
                return Ok(true);
            }
        } else if tok.is_keyword("samegroup") || tok.is_keyword("samerole") {
            if req.is_member(&req.database) {
                return Ok(true);
            }
        } else if tok.is_keyword("replication") {
            continue;
        } else if regex_match(t, &req.database)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn check_role(tokens: &[NameToken], req: &Request) -> Result<bool, String> {
    for t in tokens {
        let tok = &t.token;
        if tok.is_member_check() {
            if req.is_member(&tok.text[1..]) {
                return Ok(true);
            }
        } else if tok.is_keyword("all") || regex_match(t, &req.user)? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hba::ServerSettings;

    fn hba(text: &str) -> HbaFile {
        HbaFile::parse_str(text, ServerSettings::new(PgVersion::V15, true))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn logical_walsender_wording_by_version() {
        // 12/13: every walsender is a "replication connection"; 14+: only physical ones.
        let text = "host all all 10.0.0.0/8 reject\n";
        let req = Request::tcp(ip("10.1.1.1"), "db", "u").with_replication(Replication::Logical);
        let v13 = HbaFile::parse_str(text, ServerSettings::new(PgVersion::V13, true));
        assert_eq!(
            evaluate(&v13, &req).message.as_deref(),
            Some(
                "pg_hba.conf rejects replication connection for host \"10.1.1.1\", user \"u\", SSL off"
            )
        );
        let v14 = HbaFile::parse_str(text, ServerSettings::new(PgVersion::V14, true));
        assert_eq!(
            evaluate(&v14, &req).message.as_deref(),
            Some(
                "pg_hba.conf rejects connection for host \"10.1.1.1\", user \"u\", database \"db\", no encryption"
            )
        );
    }

    #[test]
    fn first_match_wins_and_no_fallthrough() {
        let f = hba("host all all 10.0.0.0/8 reject\nhost all all 0.0.0.0/0 trust\n");
        let d = evaluate(&f, &Request::tcp(ip("10.1.1.1"), "db", "u"));
        assert_eq!(d.line_number(), Some(1));
        assert_eq!(
            d.message.as_deref(),
            Some(
                "pg_hba.conf rejects connection for host \"10.1.1.1\", user \"u\", database \"db\", no encryption"
            )
        );
        let d = evaluate(&f, &Request::tcp(ip("11.1.1.1"), "db", "u"));
        assert_eq!(d.line_number(), Some(2));
        assert!(d.proceeds());
        let d = evaluate(&f, &Request::tcp(ip("::1"), "db", "u"));
        assert_eq!(d.outcome, Outcome::NoMatch);
        assert_eq!(
            d.message.as_deref(),
            Some(
                "no pg_hba.conf entry for host \"::1\", user \"u\", database \"db\", no encryption"
            )
        );
        let d = evaluate(
            &f,
            &Request::local("db", "u").with_replication(Replication::Physical),
        );
        assert_eq!(
            d.message.as_deref(),
            Some(
                "no pg_hba.conf entry for replication connection from host \"[local]\", user \"u\", no encryption"
            )
        );
    }

    #[test]
    fn ssl_and_gss_types() {
        let f = hba(
            "hostnossl all all all reject\nhostgssenc all all all trust\nhostssl all all all md5\n",
        );
        let plain = Request::tcp(ip("1.2.3.4"), "d", "u");
        assert_eq!(evaluate(&f, &plain).line_number(), Some(1));
        assert_eq!(
            evaluate(&f, &plain.clone().with_tls(true)).line_number(),
            Some(3)
        );
        assert_eq!(
            evaluate(&f, &plain.clone().with_gss(true)).line_number(),
            Some(1)
        );
        assert_eq!(
            evaluate(&f, &plain.with_gss(true).with_tls(true)).line_number(),
            Some(2)
        );
    }

    #[test]
    fn keywords_groups_and_replication() {
        let f = hba(
            "local sameuser all trust\nlocal samerole all md5\nlocal all +staff peer\nlocal replication all scram-sha-256\nlocal \"all\" all reject\n",
        );
        assert_eq!(
            evaluate(&f, &Request::local("bob", "bob")).line_number(),
            Some(1)
        );
        let r = Request::local("team", "bob").with_member_of(vec!["team".into()]);
        assert_eq!(evaluate(&f, &r).line_number(), Some(2));
        let r = Request::local("x", "bob").with_member_of(vec!["staff".into()]);
        assert_eq!(evaluate(&f, &r).line_number(), Some(3));
        assert_eq!(
            evaluate(&f, &Request::local("x", "staff")).line_number(),
            Some(3)
        );
        let r = Request::local("x", "bob").with_replication(Replication::Physical);
        assert_eq!(evaluate(&f, &r).line_number(), Some(4));
        // "all" quoted is a database named all.
        assert_eq!(
            evaluate(&f, &Request::local("all", "bob")).line_number(),
            Some(5)
        );
        assert_eq!(
            evaluate(&f, &Request::local("y", "bob")).outcome,
            Outcome::NoMatch
        );
        // A missing role is never a member.
        let mut r = Request::local("x", "staff");
        r.user_exists = false;
        assert_eq!(evaluate(&f, &r).outcome, Outcome::NoMatch);
    }

    #[test]
    fn samehost_samenet_hostnames() {
        let f = hba(
            "host all all samehost trust\nhost all all samenet md5\nhost all all .example.com password\nhost all all db.local scram-sha-256\n",
        );
        let servers = vec![(ip("192.168.1.10"), 24), (ip("::1"), 128)];
        let r = |a: &str| Request::tcp(ip(a), "d", "u").with_server_addresses(servers.clone());
        assert_eq!(evaluate(&f, &r("192.168.1.10")).line_number(), Some(1));
        assert_eq!(evaluate(&f, &r("::1")).line_number(), Some(1));
        assert_eq!(evaluate(&f, &r("192.168.1.77")).line_number(), Some(2));
        assert_eq!(evaluate(&f, &r("10.0.0.1")).outcome, Outcome::NoMatch);
        let h = |n: &str| r("10.0.0.1").with_client_hostname(Some(n.into()));
        assert_eq!(evaluate(&f, &h("a.EXAMPLE.com")).line_number(), Some(3));
        assert_eq!(evaluate(&f, &h("example.com")).outcome, Outcome::NoMatch);
        assert_eq!(evaluate(&f, &h("DB.local")).line_number(), Some(4));
    }

    #[test]
    fn ipv4_rule_never_matches_mapped_ipv6() {
        let f = hba("host all all 127.0.0.1/32 trust\n");
        assert_eq!(
            evaluate(&f, &Request::tcp(ip("::ffff:127.0.0.1"), "d", "u")).outcome,
            Outcome::NoMatch
        );
    }

    #[test]
    fn regex_tokens_16() {
        let f = HbaFile::parse_str(
            "local \"/^db\\d+$\" /^app_ trust\nlocal all all reject\n",
            ServerSettings::new(PgVersion::V16, true),
        );
        assert_eq!(
            evaluate(&f, &Request::local("db12", "app_x")).line_number(),
            Some(1)
        );
        assert_eq!(
            evaluate(&f, &Request::local("db12x", "app_x")).line_number(),
            Some(2)
        );
        // In 15 the same text is a literal name.
        let f = hba("local /^db all trust\n");
        assert_eq!(
            evaluate(&f, &Request::local("/^db", "u")).line_number(),
            Some(1)
        );
    }

    #[test]
    fn not_loaded() {
        let f = hba("local all all trust\nlocal all all bogus\n");
        assert!(matches!(
            evaluate(&f, &Request::local("d", "u")).outcome,
            Outcome::NotLoaded { .. }
        ));
    }
}
