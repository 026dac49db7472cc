//! Findings about a pg_hba.conf: invalid lines, paths without TLS (with a
//! witness connection), trust over TCP, weak password methods, shadowed
//! lines, certificate options that cannot work, missing ident maps.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::eval::{Replication, Request};
use crate::hba::{Address, HbaFile, HbaRule};
use crate::ident::IdentFile;
use crate::method::{AuthMethod, ClientCert, ConnType};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Informational.
    Info,
    /// Legal but risky or probably a mistake.
    Warning,
    /// The server refuses the file, or a login can never work, or a path is open without TLS.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// File of the line.
    pub file: String,
    /// Line number (0 for whole-file findings).
    pub line: u32,
    /// Severity.
    pub severity: Severity,
    /// A stable code (`invalid-line`, `no-tls`, `trust-tcp`, ...).
    pub code: &'static str,
    /// Explanation.
    pub message: String,
    /// A connection that proves the finding, when there is one.
    pub witness: Option<String>,
}

/// Lints `hba` (and `map=` names against `ident` when given).
pub fn lint(hba: &HbaFile, ident: Option<&IdentFile>) -> Vec<Finding> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<Finding>,
                file: &str,
                line: u32,
                sev,
                code,
                msg: String,
                w: Option<String>| {
        out.push(Finding {
            file: file.to_owned(),
            line,
            severity: sev,
            code,
            message: msg,
            witness: w,
        });
    };
    for l in hba.lines() {
        match &l.result {
            Err(e) => push(
                &mut out,
                &l.file,
                l.line_number,
                Severity::Error,
                if e.message.contains("only supported on hostssl")
                    || e.message
                        .contains("can only be configured for \"hostssl\" rows")
                {
                    "cert-not-tls"
                } else {
                    "invalid-line"
                },
                format!(
                    "the server rejects this line, so it will not load the file: {}",
                    e.message
                ),
                None,
            ),
            Ok(r) => {
                if let Some(w) = &r.warning {
                    push(
                        &mut out,
                        &l.file,
                        l.line_number,
                        Severity::Warning,
                        "hostssl-ssl-off",
                        match &r.warning_hint {
                            Some(h) => format!("{w} (the server's hint: {h})"),
                            None => w.clone(),
                        },
                        None,
                    );
                }
                rule_checks(&mut out, &l.file, l.line_number, r, ident);
            }
        }
    }
    if hba.load().is_err() {
        return out;
    }
    if hba.lines().is_empty() {
        push(
            &mut out,
            hba.name(),
            0,
            Severity::Error,
            "empty",
            "the file contains no entries; the server refuses to start with it".to_owned(),
            None,
        );
        return out;
    }
    let cands = Candidates::new(hba);
    let limit = ANALYSED_LINES;
    if hba.lines().len() > limit {
        push(
            &mut out,
            hba.name(),
            0,
            Severity::Info,
            "not-analysed",
            format!("more than {limit} lines: reachability (TLS, shadowing) was not analysed"),
            None,
        );
        return out;
    }
    let mut open_without_tls = false;
    let mut exhaustive = cands.exact;
    for (index, l) in hba.lines().iter().enumerate() {
        let Some(r) = l.rule() else { continue };
        let any = match cands.witness(hba, index, r, None) {
            Search::Found(w) => Some(w),
            Search::NotFound => {
                if cands.exact {
                    push(
                        &mut out,
                        &l.file,
                        l.line_number,
                        Severity::Warning,
                        "shadowed",
                        "no connection reaches this line: earlier lines match everything it would"
                            .to_owned(),
                        None,
                    );
                }
                continue;
            }
            Search::Inconclusive => {
                exhaustive = false;
                None
            }
        };
        if r.method == AuthMethod::Reject {
            continue;
        }
        if r.conn_type.is_tcp() {
            match cands.witness(hba, index, r, Some(false)) {
                Search::Found(w) => {
                    open_without_tls = true;
                    let sev = if matches!(r.method, AuthMethod::Trust | AuthMethod::Password) {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    let why = match r.conn_type {
                        ConnType::HostGssEnc => "GSSAPI-encrypted but not TLS",
                        _ => "unencrypted",
                    };
                    push(
                        &mut out,
                        &l.file,
                        l.line_number,
                        sev,
                        "no-tls",
                        format!(
                            "a TCP connection without TLS ({why}) reaches this line and authenticates with {}",
                            r.method
                        ),
                        Some(w),
                    );
                }
                Search::NotFound => {}
                Search::Inconclusive => exhaustive = false,
            }
            if r.method == AuthMethod::Trust {
                push(
                    &mut out,
                    &l.file,
                    l.line_number,
                    Severity::Error,
                    "trust-tcp",
                    "trust over TCP: anyone who can reach the port logs in as any matching user"
                        .to_owned(),
                    any,
                );
            }
        }
    }
    out.sort_by(|a, b| (a.line == 0, &a.file, a.line).cmp(&(b.line == 0, &b.file, b.line)));
    if !open_without_tls {
        if exhaustive {
            push(
                &mut out,
                hba.name(),
                0,
                Severity::Info,
                "tls-required",
                "every TCP connection without TLS is refused (checked over every class of database, user, group, address and host name the file distinguishes)".to_owned(),
                None,
            );
        } else {
            push(
                &mut out,
                hba.name(),
                0,
                Severity::Info,
                "tls-undecided",
                "no TCP connection without TLS was found that gets in, but the search was not exhaustive (regular expressions, non-contiguous netmasks or too many combinations)".to_owned(),
                None,
            );
        }
    }
    out
}

fn rule_checks(
    out: &mut Vec<Finding>,
    file: &str,
    line: u32,
    r: &HbaRule,
    ident: Option<&IdentFile>,
) {
    let mut push = |sev, code, msg: String| {
        out.push(Finding {
            file: file.to_owned(),
            line,
            severity: sev,
            code,
            message: msg,
            witness: None,
        });
    };
    match r.method {
        AuthMethod::Password => push(
            Severity::Warning,
            "weak-password",
            "password sends the password in clear text; use scram-sha-256".to_owned(),
        ),
        AuthMethod::Md5 => push(
            Severity::Warning,
            "weak-password",
            "md5 is weaker than scram-sha-256 (and deprecated from PostgreSQL 18); use scram-sha-256".to_owned(),
        ),
        _ => {}
    }
    if let Some(map) = &r.options.map {
        if map.is_empty() {
            push(
                Severity::Warning,
                "empty-map",
                "map= is empty, which means no map at all".to_owned(),
            );
        } else if let Some(id) = ident
            && !id.has_map(map)
        {
            push(
                Severity::Error,
                "missing-map",
                format!(
                    "map \"{map}\" is not defined in pg_ident.conf: every login through this line fails"
                ),
            );
        }
    }
    if r.options.clientcert == ClientCert::VerifyCa && r.method == AuthMethod::Trust {
        push(
            Severity::Warning,
            "verify-ca-trust",
            "clientcert=verify-ca with trust accepts any user name from anyone holding a certificate of the CA".to_owned(),
        );
    }
    if r.raw_options.iter().any(|(k, _)| k == "clientname")
        && r.options.clientcert == ClientCert::Off
        && r.method != AuthMethod::Cert
    {
        push(
            Severity::Warning,
            "clientname-unused",
            "clientname has no effect without cert or clientcert=verify-full".to_owned(),
        );
    }
    let weak = matches!(
        r.method,
        AuthMethod::Trust | AuthMethod::Password | AuthMethod::Md5
    );
    let wide = match &r.address {
        Some(Address::All) => true,
        Some(Address::Ip {
            prefix: Some(p),
            addr,
            ..
        }) => {
            if addr.is_ipv4() {
                *p <= 8
            } else {
                *p <= 32
            }
        }
        _ => false,
    };
    if weak && wide {
        push(
            Severity::Warning,
            "wide-weak",
            format!("a wide address range with the weak method {}", r.method),
        );
    }
    for t in r.databases.iter().chain(&r.users) {
        if t.token.quoted
            && matches!(
                t.text(),
                "all" | "sameuser" | "samerole" | "samegroup" | "replication"
            )
        {
            push(
                Severity::Info,
                "quoted-keyword",
                format!(
                    "\"{}\" is quoted, so it is a name, not the keyword",
                    t.text()
                ),
            );
        }
    }
}

/// The finite set of connection classes the file distinguishes.
struct Candidates {
    /// The classes are exact: no regex tokens, no non-contiguous masks.
    exact: bool,
    /// Rule checks done so far (bounded by `GLOBAL_STEPS`).
    steps: std::cell::Cell<u64>,
    addrs: Vec<IpAddr>,
    dbs: Vec<String>,
    users: Vec<String>,
    hostnames: Vec<Option<String>>,
    /// No membership, then membership in each group alone.
    memberships: Vec<Vec<String>>,
    /// A request that is a member of every group, for the user pre-filter.
    user_probe: std::cell::RefCell<Request>,
}

const FRESH_DB: &str = "pgtls_witness_db";
const FRESH_USER: &str = "pgtls_witness_user";

fn contiguous(mask: &IpAddr) -> bool {
    match mask {
        IpAddr::V4(m) => {
            let m = u32::from(*m);
            m.leading_ones() + m.trailing_zeros() == 32
        }
        IpAddr::V6(m) => {
            let m = u128::from(*m);
            m.leading_ones() + m.trailing_zeros() == 128
        }
    }
}

fn neighbours(a: IpAddr, mask: IpAddr) -> [IpAddr; 2] {
    match (a, mask) {
        (IpAddr::V4(a), IpAddr::V4(m)) => {
            let lo = u32::from(a) & u32::from(m);
            let hi = lo | !u32::from(m);
            [
                IpAddr::V4(Ipv4Addr::from(lo)),
                IpAddr::V4(Ipv4Addr::from(hi.wrapping_add(1))),
            ]
        }
        (IpAddr::V6(a), IpAddr::V6(m)) => {
            let lo = u128::from(a) & u128::from(m);
            let hi = lo | !u128::from(m);
            [
                IpAddr::V6(Ipv6Addr::from(lo)),
                IpAddr::V6(Ipv6Addr::from(hi.wrapping_add(1))),
            ]
        }
        _ => [a, a],
    }
}

impl Candidates {
    fn new(hba: &HbaFile) -> Self {
        let mut addrs: BTreeSet<IpAddr> = BTreeSet::new();
        addrs.insert(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)));
        addrs.insert(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        addrs.insert(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
        addrs.insert(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)));
        let mut dbs: BTreeSet<String> = BTreeSet::new();
        let mut users: BTreeSet<String> = BTreeSet::new();
        let mut groups: BTreeSet<String> = BTreeSet::new();
        let mut hostnames: BTreeSet<String> = BTreeSet::new();
        let mut exact = true;
        for (_, r) in hba.rules() {
            if r.databases
                .iter()
                .chain(&r.users)
                .any(|t| t.regex.is_some())
            {
                exact = false;
            }
            match &r.address {
                Some(Address::Ip { addr, mask, prefix }) => {
                    if prefix.is_none() && !contiguous(mask) {
                        exact = false;
                    }
                    addrs.extend(neighbours(*addr, *mask));
                }
                Some(Address::Hostname(h)) => {
                    hostnames.insert(if h.starts_with('.') {
                        format!("w{h}")
                    } else {
                        h.clone()
                    });
                }
                _ => {}
            }
            for t in &r.databases {
                if t.token.is_keyword("samerole") || t.token.is_keyword("samegroup") {
                    continue;
                }
                if t.regex.is_none()
                    && !t.token.is_keyword("all")
                    && !t.token.is_keyword("sameuser")
                {
                    dbs.insert(t.text().to_owned());
                    groups.insert(t.text().to_owned());
                }
            }
            for t in &r.users {
                if t.token.is_member_check() {
                    groups.insert(t.text()[1..].to_owned());
                } else if t.regex.is_none() && !t.token.is_keyword("all") {
                    users.insert(t.text().to_owned());
                }
            }
        }
        dbs.insert(FRESH_DB.to_owned());
        groups.insert(FRESH_DB.to_owned());
        users.insert(FRESH_USER.to_owned());
        let mut hn: Vec<Option<String>> = vec![None];
        hn.extend(hostnames.into_iter().map(Some));
        // Documentation addresses first, so witnesses read like real clients.
        let doc = [
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)),
        ];
        let mut ordered: Vec<IpAddr> = doc.to_vec();
        ordered.extend(addrs.into_iter().filter(|a| !doc.contains(a)));
        let groups: Vec<String> = groups.into_iter().collect();
        let mut memberships: Vec<Vec<String>> = vec![Vec::new()];
        memberships.extend(groups.iter().map(|g| vec![g.clone()]));
        let user_probe = Request::local("", "").with_member_of(groups.clone());
        Self {
            exact,
            steps: std::cell::Cell::new(0),
            addrs: ordered,
            dbs: dbs.into_iter().collect(),
            users: users.into_iter().collect(),
            hostnames: hn,
            memberships,
            user_probe: std::cell::RefCell::new(user_probe),
        }
    }

    /// A connection whose first match is line `index`; `tls` fixes the TLS state.
    fn witness(&self, hba: &HbaFile, index: usize, r: &HbaRule, tls: Option<bool>) -> Search {
        let gss_build = hba.settings().build.gss;
        let tls_states: Vec<bool> = match (tls, r.conn_type) {
            (Some(t), _) => vec![t],
            (None, ConnType::HostSsl) => vec![true],
            (None, ConnType::HostNoSsl | ConnType::HostGssEnc) => vec![false],
            (None, _) => vec![false, true],
        };
        // Each dimension is first cut down to the values this rule can match.
        let addrs: Vec<Option<IpAddr>> = if r.conn_type.is_tcp() {
            self.addrs.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        let mut dbs: Vec<&String> = self.dbs.iter().chain(&self.users).collect();
        dbs.dedup();
        // One probe for every database candidate: the database, the user
        // and the only membership are the candidate's name.
        let mut probe = Request::local("", "").with_member_of(vec![String::new()]);
        let dbs: Vec<&String> = dbs
            .into_iter()
            .filter(|db| {
                probe.database.clone_from(db);
                probe.user.clone_from(db);
                if let Some(m) = probe.member_of.first_mut() {
                    m.clone_from(db);
                }
                [Replication::None, Replication::Physical]
                    .iter()
                    .any(|rep| {
                        probe.replication = *rep;
                        crate::eval::rule_db_matches(r, &probe).unwrap_or(true)
                    })
            })
            .collect();
        // One probe, its user replaced for each candidate (the group list
        // is not copied per user).
        let mut probe = self.user_probe.borrow_mut();
        let users: Vec<&String> = self
            .users
            .iter()
            .filter(|u| {
                probe.user.clone_from(u);
                crate::eval::rule_user_matches(r, &probe).unwrap_or(true)
            })
            .collect();
        drop(probe);
        let memberships = &self.memberships;
        let mut budget: u32 = 20_000;
        // The candidate connection, rebuilt in place for each combination:
        // every field is assigned below, and `clone_from` reuses the
        // strings' buffers instead of allocating new ones.
        let mut req = Request::local("", "");
        let no_roles: Vec<String> = Vec::new();
        for t in tls_states {
            for gss in [false, true] {
                if t && gss {
                    continue;
                }
                for addr in &addrs {
                    let other = addr.map(|a| match a {
                        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
                        IpAddr::V6(_) => {
                            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe))
                        }
                    });
                    // Server interfaces: none; the client's own address
                    // (samehost and samenet match); another address of a
                    // network holding the client (only samenet matches).
                    let server_variants: Vec<Vec<(IpAddr, u8)>> = match (addr, other) {
                        (Some(a), Some(o)) => vec![Vec::new(), vec![(*a, 0)], vec![(o, 0)]],
                        _ => vec![Vec::new()],
                    };
                    // Unless the rule names a host, whether its connection
                    // part matches does not depend on the client's host
                    // name: decided once per server variant, and the host
                    // names are not tried at all when no variant matches.
                    let fixed: Option<Vec<bool>> =
                        (!matches!(r.address, Some(Address::Hostname(_)))).then(|| {
                            server_variants
                                .iter()
                                .map(|servers| {
                                    let conn = Conn {
                                        address: *addr,
                                        tls: t,
                                        gss,
                                        client_hostname: &None,
                                        server_addresses: servers,
                                    };
                                    refill(&mut req, &conn, "", "", &no_roles, Replication::None);
                                    crate::eval::rule_conn_matches(r, &req, gss_build)
                                })
                                .collect()
                        });
                    if fixed.as_ref().is_some_and(|f| !f.contains(&true)) {
                        continue;
                    }
                    for hn in &self.hostnames {
                        if addr.is_none() && hn.is_some() {
                            continue;
                        }
                        for (si, servers) in server_variants.iter().enumerate() {
                            let conn = Conn {
                                address: *addr,
                                tls: t,
                                gss,
                                client_hostname: hn,
                                server_addresses: servers,
                            };
                            let conn_ok = match &fixed {
                                Some(f) => f.get(si).copied().unwrap_or(false),
                                None => {
                                    refill(&mut req, &conn, "", "", &no_roles, Replication::None);
                                    crate::eval::rule_conn_matches(r, &req, gss_build)
                                }
                            };
                            if !conn_ok {
                                continue;
                            }
                            for repl in [Replication::None, Replication::Physical] {
                                for db in &dbs {
                                    for user in &users {
                                        for m in memberships {
                                            if budget == 0 || self.steps.get() > GLOBAL_STEPS {
                                                return Search::Inconclusive;
                                            }
                                            budget -= 1;
                                            self.steps.set(self.steps.get() + 1);
                                            refill(&mut req, &conn, db, user, m, repl);
                                            if !crate::eval::rule_matches(r, &req, gss_build)
                                                .unwrap_or(false)
                                            {
                                                continue;
                                            }
                                            if self.first_match(hba, &req, index) == Some(index) {
                                                return Search::Found(describe(&req));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Search::NotFound
    }
}

/// The connection half of a candidate request.
struct Conn<'a> {
    address: Option<IpAddr>,
    tls: bool,
    gss: bool,
    client_hostname: &'a Option<String>,
    server_addresses: &'a Vec<(IpAddr, u8)>,
}

/// Makes `req` the request for `conn`, `database`, `user`, `member_of` and
/// `replication` (the role exists), reusing its buffers: the same request
/// as building it with [`Request::tcp`] or [`Request::local`] and the
/// `with_*` setters.
fn refill(
    req: &mut Request,
    conn: &Conn<'_>,
    database: &str,
    user: &str,
    member_of: &Vec<String>,
    replication: Replication,
) {
    // Exhaustive: a new field of `Request` must be set here too.
    let Request {
        address,
        tls,
        gss,
        database: db,
        user: role,
        user_exists,
        member_of: roles,
        replication: repl,
        client_hostname,
        server_addresses,
    } = req;
    *address = conn.address;
    *tls = conn.tls;
    *gss = conn.gss;
    db.clear();
    db.push_str(database);
    role.clear();
    role.push_str(user);
    *user_exists = true;
    roles.clone_from(member_of);
    *repl = replication;
    client_hostname.clone_from(conn.client_hostname);
    server_addresses.clone_from(conn.server_addresses);
}

/// Files with more records than this are not analysed for reachability: the
/// witness search grows faster than the square of the file. Measured
/// (BENCHMARKS.md, "pgtls-hba"): the synthetic file takes 0.25 s at 600
/// lines; the slowest file found (`benches/lint_worst.sh`: host names,
/// non-contiguous masks, `samenet`, `samerole`) about 1 s at 400, 2-3 s at
/// 600 and 5-8 s at 1,000 lines. The limit was 400 when that file took
/// 7-10 s at 400 lines.
const ANALYSED_LINES: usize = 600;

/// Rule checks allowed over a whole lint run (a few hundred milliseconds).
const GLOBAL_STEPS: u64 = 5_000_000;

impl Candidates {
    /// The index of the first rule matching `req`, looking no further than `limit`.
    fn first_match(&self, hba: &HbaFile, req: &Request, limit: usize) -> Option<usize> {
        let gss_build = hba.settings().build.gss;
        for (i, l) in hba.lines().iter().enumerate().take(limit + 1) {
            self.steps.set(self.steps.get() + 1);
            let Some(r) = l.rule() else { continue };
            match crate::eval::rule_matches(r, req, gss_build) {
                Ok(true) => return Some(i),
                Ok(false) => {}
                // An undecidable earlier rule: not a witness we can vouch for.
                Err(_) => return None,
            }
        }
        None
    }
}

/// The result of a witness search.
enum Search {
    Found(String),
    NotFound,
    Inconclusive,
}

fn describe(r: &Request) -> String {
    let mut s = match &r.address {
        None => "local".to_owned(),
        Some(a) => format!("host {a}"),
    };
    s.push_str(if r.gss {
        " gss-encrypted"
    } else if r.tls {
        " tls"
    } else if r.address.is_some() {
        " no-tls"
    } else {
        ""
    });
    s.push_str(&format!(" database={} user={}", r.database, r.user));
    if !r.member_of.is_empty() {
        s.push_str(&format!(" member-of={}", r.member_of.join(",")));
    }
    if r.replication == Replication::Physical {
        s.push_str(" replication=physical");
    }
    if let Some(h) = &r.client_hostname {
        s.push_str(&format!(" client-hostname={h}"));
    }
    if !r.server_addresses.is_empty() {
        s.push_str(" (client on the server's own network)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PgVersion;
    use crate::hba::ServerSettings;

    fn codes(text: &str) -> Vec<(u32, &'static str)> {
        let f = HbaFile::parse_str(text, ServerSettings::new(PgVersion::V15, true));
        lint(&f, None)
            .into_iter()
            .map(|f| (f.line, f.code))
            .collect()
    }

    #[test]
    fn finds_plain_paths_with_witness() {
        let f = HbaFile::parse_str(
            "hostssl all all all scram-sha-256\nhost all all 10.0.0.0/8 md5\n",
            ServerSettings::new(PgVersion::V15, true),
        );
        let l = lint(&f, None);
        let nt = l.iter().find(|x| x.code == "no-tls").unwrap();
        assert_eq!(nt.line, 2);
        assert!(
            nt.witness
                .as_deref()
                .unwrap()
                .contains("host 10.0.0.0 no-tls")
        );
    }

    #[test]
    fn proves_tls_required() {
        let c = codes(
            "local all all peer\nhostnossl all,replication all all reject\nhost all all all scram-sha-256\n",
        );
        assert!(c.contains(&(0, "tls-required")), "{c:?}");
        assert!(!c.iter().any(|x| x.1 == "no-tls"));
        // replication is not covered by "all": the plain path stays open.
        let c = codes("hostnossl all all all reject\nhost all,replication all all scram-sha-256\n");
        assert!(c.contains(&(2, "no-tls")), "{c:?}");
    }

    #[test]
    fn shadowing_trust_weak_and_maps() {
        let c = codes("host all all 0.0.0.0/0 trust\nhost all all 10.0.0.0/8 md5\n");
        assert!(c.contains(&(1, "trust-tcp")));
        assert!(c.contains(&(1, "wide-weak")));
        assert!(c.contains(&(2, "shadowed")));
        assert!(c.contains(&(2, "weak-password")));
        let f = HbaFile::parse_str(
            "hostssl all all all cert map=nomap\n",
            ServerSettings::new(PgVersion::V15, true),
        );
        let id = IdentFile::parse_str("other a b\n", PgVersion::V15);
        assert!(lint(&f, Some(&id)).iter().any(|x| x.code == "missing-map"));
        let c = codes(
            "host all all all cert\nhost all all all md5 clientcert=verify-full\nlocal all all bogus\n",
        );
        assert!(c.contains(&(1, "cert-not-tls")));
        assert!(c.contains(&(2, "cert-not-tls")));
        assert!(c.contains(&(3, "invalid-line")));
        let f = HbaFile::parse_str(
            "hostssl all all all md5\n",
            ServerSettings::new(PgVersion::V15, false),
        );
        assert!(lint(&f, None).iter().any(|x| x.code == "hostssl-ssl-off"));
        // The hint quotes the setting from 17 (measured live by hba_views).
        for (v, hint) in [
            (PgVersion::V16, "Set ssl = on in postgresql.conf."),
            (PgVersion::V17, "Set \"ssl = on\" in postgresql.conf."),
        ] {
            let f = HbaFile::parse_str("hostssl all all all md5\n", ServerSettings::new(v, false));
            let msg = lint(&f, None)
                .into_iter()
                .find(|x| x.code == "hostssl-ssl-off")
                .unwrap()
                .message;
            assert_eq!(
                msg,
                format!(
                    "hostssl record cannot match because SSL is disabled (the server's hint: {hint})"
                )
            );
        }
    }
}
