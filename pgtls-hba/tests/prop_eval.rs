//! Property tests for the evaluator (issue #6): the server ignores comments, blank
//! lines and the amount and kind of blank space (space, tab, CR) between fields, so
//! the decision for any connection must not change when they are added; only line
//! numbers may move. Also: rules rendered from tokens with `quote_token` read back as
//! the same tokens. (render(parse(x)) == x is in props.rs, the hba engineer's file.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::IpAddr;

use pgtls_hba::{
    Decision, HbaFile, MemorySource, Outcome, PgVersion, Replication, Request, ServerSettings,
    evaluate, quote_token,
};
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];
const DBS: &[&str] = &[
    "all",
    "sameuser",
    "samerole",
    "replication",
    "app",
    "\"all\"",
    "app,postgres",
    "+staff",
    "\"replication\"",
    "@dbs",
    "postgres",
];
const USERS: &[&str] = &[
    "all",
    "alice",
    "+staff",
    "\"+staff\"",
    "alice,bob",
    "@users",
    "bob",
];
const ADDRS: &[&str] = &[
    "0.0.0.0/0",
    "10.0.0.0/8",
    "127.0.0.1/32",
    "::1/128",
    "::0/0",
    "samehost",
    "samenet",
    "all",
    "10.1.2.0 255.255.255.0",
    "192.168.0.0/16",
];
const METHODS: &[&str] = &[
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "cert",
    "peer",
    "cert clientcert=verify-full",
    "trust clientcert=verify-ca",
    "scram-sha-256 clientcert=verify-ca",
];

fn source() -> MemorySource {
    MemorySource::new()
        .with("users", "alice\nbob\n")
        .with("dbs", "app \"postgres\"\n")
}

/// One record as a list of fields.
fn record() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(TYPES),
        prop::sample::select(DBS),
        prop::sample::select(USERS),
        prop::sample::select(ADDRS),
        prop::sample::select(METHODS),
    )
        .prop_map(|(t, d, u, a, m)| {
            let mut f = vec![t.to_owned(), d.to_owned(), u.to_owned()];
            if t != "local" {
                f.extend(a.split(' ').map(str::to_owned));
            }
            f.extend(m.split(' ').map(str::to_owned));
            f
        })
}

/// Noise the server ignores.
#[derive(Clone, Debug)]
struct Noise {
    comment_before: Option<String>,
    blank_lines: usize,
    leading: String,
    separators: Vec<String>,
    trailing_comment: Option<String>,
    crlf: bool,
}

fn blank() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec![" ", "\t", "  ", " \t"]), 1..3)
        .prop_map(|v| v.concat())
}

fn noise() -> impl Strategy<Value = Noise> {
    (
        prop::option::of("[ -~]{0,30}"),
        0usize..3,
        prop::sample::select(vec!["", " ", "\t", "  \t"]),
        prop::collection::vec(blank(), 8),
        prop::option::of("[ -~]{0,20}"),
        any::<bool>(),
    )
        .prop_map(|(c, b, l, s, t, crlf)| Noise {
            // A comment ending in a backslash is not noise: from PG14 the
            // continuation pulls the next line into the comment (R1.1).
            comment_before: c.map(|c| c.trim_end_matches('\\').to_owned()),
            blank_lines: b,
            leading: l.to_owned(),
            separators: s,
            trailing_comment: t.map(|t| t.trim_end_matches('\\').to_owned()),
            crlf,
        })
}

fn render_plain(records: &[Vec<String>]) -> String {
    records.iter().map(|r| r.join(" ") + "\n").collect()
}

fn render_noisy(records: &[Vec<String>], noise: &[Noise]) -> String {
    let mut out = String::new();
    for (r, n) in records.iter().zip(noise) {
        let eol = if n.crlf { "\r\n" } else { "\n" };
        if let Some(c) = &n.comment_before {
            out.push_str(&format!("#{c}{eol}"));
        }
        for _ in 0..n.blank_lines {
            out.push_str(eol);
        }
        out.push_str(&n.leading);
        for (i, f) in r.iter().enumerate() {
            if i > 0 {
                out.push_str(&n.separators[i % n.separators.len()]);
            }
            out.push_str(f);
        }
        if let Some(t) = &n.trailing_comment {
            out.push_str(&format!(" #{t}"));
        }
        out.push_str(eol);
    }
    out
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec!["app", "postgres", "replication", "alice", "other"]),
        prop::sample::select(vec!["alice", "bob", "staff", "carol"]),
        prop::option::of(prop::sample::select(vec![
            "10.1.2.3",
            "10.9.9.9",
            "127.0.0.1",
            "::1",
            "192.168.1.1",
            "8.8.8.8",
        ])),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![
            Replication::None,
            Replication::Physical,
            Replication::Logical,
        ]),
    )
        .prop_map(|(db, user, addr, tls, member, rep)| {
            let req = match addr {
                None => Request::local(db, user),
                Some(a) => Request::tcp(a.parse::<IpAddr>().unwrap(), db, user).with_tls(tls),
            };
            req.with_member_of(if member { vec!["staff".into()] } else { vec![] })
                .with_replication(rep)
                .with_server_addresses(vec![("10.1.2.1".parse().unwrap(), 24)])
        })
}

/// The decision without line numbers: outcome kind, which record (counting records,
/// not lines), the method, the server's message.
fn shape(d: &Decision, f: &HbaFile) -> (String, Option<usize>, Option<String>, Option<String>) {
    let (kind, idx) = match &d.outcome {
        Outcome::Matched { index } => ("matched", Some(*index)),
        Outcome::Undecided { index, .. } => ("undecided", Some(*index)),
        Outcome::NoMatch => ("nomatch", None),
        Outcome::NotLoaded { .. } => ("notloaded", None),
        _ => ("other", None),
    };
    let rank = idx.map(|i| f.lines()[..i].len());
    (
        kind.to_owned(),
        rank,
        d.method().map(|m| m.to_string()),
        d.message.clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn comments_and_blanks_do_not_change_decisions(
        records in prop::collection::vec(record(), 1..8),
        noise in prop::collection::vec(noise(), 8),
        reqs in prop::collection::vec(request(), 1..6),
        version in 12u32..=18,
        ssl in any::<bool>(),
    ) {
        let settings = ServerSettings::new(PgVersion::new(version).unwrap(), ssl);
        let src = source();
        let plain = render_plain(&records);
        let noisy = render_noisy(&records, &noise);
        let a = HbaFile::parse("pg_hba.conf", plain.as_bytes(), settings.clone(), &src);
        let b = HbaFile::parse("pg_hba.conf", noisy.as_bytes(), settings, &src);
        prop_assert_eq!(a.lines().len(), b.lines().len(), "record count\n{}\n---\n{}", plain, noisy);
        for (x, y) in a.lines().iter().zip(b.lines()) {
            prop_assert_eq!(x.result.is_ok(), y.result.is_ok(), "validity of {:?} vs {:?}", x.raw, y.raw);
        }
        prop_assert_eq!(a.load_error().is_some(), b.load_error().is_some());
        for req in &reqs {
            let da = evaluate(&a, req);
            let db = evaluate(&b, req);
            prop_assert_eq!(shape(&da, &a), shape(&db, &b), "{:?}\n--- plain\n{}--- noisy\n{}", req, plain, noisy);
        }
    }

    #[test]
    fn quoted_tokens_read_back(words in prop::collection::vec("[a-z+@ ,#\"\t_-]{1,10}", 1..4)) {
        let field = words.iter().map(|w| quote_token(w)).collect::<Vec<_>>().join(",");
        let line = format!("host {field} all 0.0.0.0/0 trust\n");
        let f = HbaFile::parse_str(&line, ServerSettings::default());
        let (_, rule) = f.rules().next().unwrap_or_else(|| panic!("{line:?} did not parse: {:?}", f.lines()));
        let got: Vec<&str> = rule.databases.iter().map(|t| t.text()).collect();
        prop_assert_eq!(got, words.iter().map(String::as_str).collect::<Vec<_>>(), "{}", line);
    }
}
