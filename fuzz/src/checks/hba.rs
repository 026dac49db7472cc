//! pg_hba.conf / pg_ident.conf: parse, render, edit, evaluate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pgtls_hba::{
    HbaFile, IdentFile, MemorySource, Outcome, PgVersion, Replication, Request, ServerSettings,
    enforce_tls, evaluate, lint, quote_token,
};

use super::input::Reader;

/// The versions modelled, picked by a byte.
pub fn version(b: u8) -> PgVersion {
    PgVersion::new(12 + u32::from(b % 7)).unwrap_or_default()
}

/// Files that `@file` and `include*` may name.
pub fn source() -> MemorySource {
    MemorySource::new()
        .with("users.txt", "alice, bob\n\"carol\"\n")
        .with("inc.conf", "host all all 10.0.0.0/8 scram-sha-256\n")
        .with("loop.conf", "include loop.conf\n")
        .with("dbs", "@users.txt\n")
}

/// pg_hba.conf bytes: the model renders back to the same text, re-parsing the
/// rendering gives the same model, load() agrees with the per-line results, the
/// pg_hba_file_rules rows and the linter do not panic, a line inserted by the editor
/// shifts later records by one line, and `enforce_tls` leaves no non-TLS TCP
/// connection that proceeds.
pub fn hba_parse(data: &[u8]) {
    let mut r = Reader::new(data);
    let settings = ServerSettings::new(version(r.u8()), r.bool());
    let text = r.rest();
    let src = source();
    let hba = HbaFile::parse("pg_hba.conf", text, settings.clone(), &src);
    assert_eq!(hba.text(), text, "text() must be the input");
    if let Ok(s) = std::str::from_utf8(text) {
        let shown = hba.to_string();
        assert_eq!(shown, s, "Display must render the file byte for byte");
        let again = HbaFile::parse("pg_hba.conf", shown.as_bytes(), settings.clone(), &src);
        assert_eq!(again, hba, "parse(render(parse(x))) != parse(x)");
    }
    let first_bad = hba.lines().iter().position(|l| l.result.is_err());
    assert_eq!(hba.load().is_err(), first_bad.is_some());
    assert_eq!(
        hba.load_error().is_none(),
        first_bad.is_none() && !hba.lines().is_empty()
    );
    let _ = hba.view_rows();
    let _ = lint(&hba, None);

    // A comment line inserted at the top shifts every main-file record by one.
    let inserted = hba.with_line_inserted(1, "# inserted by the fuzzer");
    let shifted = HbaFile::parse("pg_hba.conf", &inserted, settings.clone(), &src);
    let main = |f: &HbaFile| -> Vec<(u32, String, bool)> {
        f.lines()
            .iter()
            .filter(|l| l.file == "pg_hba.conf")
            .map(|l| (l.line_number, l.raw.clone(), l.result.is_ok()))
            .collect()
    };
    let before = main(&hba);
    let after = main(&shifted);
    // A file whose last line is an unterminated continuation is the one case where
    // text may legitimately change record boundaries; keep to terminated files.
    if text.last() == Some(&b'\n') || text.is_empty() {
        assert_eq!(
            before.len(),
            after.len(),
            "inserting a comment changed the record count"
        );
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.0 + 1, a.0, "line numbers must shift by one");
            assert_eq!((&b.1, b.2), (&a.1, a.2), "records must be unchanged");
        }
    }

    // enforce-tls: afterwards no TCP connection without TLS may proceed.
    let enforced = enforce_tls(&hba);
    let new = HbaFile::parse("pg_hba.conf", enforced.text.as_bytes(), settings, &src);
    if new.load().is_ok() && !new.lines().is_empty() {
        for addr in [
            IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            for (db, user) in [
                ("postgres", "postgres"),
                ("app", "alice"),
                ("replication", "bob"),
            ] {
                for rep in [Replication::None, Replication::Physical] {
                    let req = Request::tcp(addr, db, user)
                        .with_tls(false)
                        .with_replication(rep);
                    let d = evaluate(&new, &req);
                    assert!(
                        !d.proceeds(),
                        "enforce_tls left a non-TLS path: {req:?} -> line {:?}\n{}",
                        d.line_number(),
                        enforced.text
                    );
                }
            }
        }
    }
}

/// pg_ident.conf bytes: renders back byte for byte, re-parses to the same model, and
/// `check_usermap` answers for names taken from the file itself without panicking;
/// with no map the answer is plain string equality.
pub fn ident_parse(data: &[u8]) {
    let mut r = Reader::new(data);
    let v = version(r.u8());
    let ci = r.bool();
    let system = r.text(32);
    let pg = r.text(32);
    let text = r.rest();
    let src = source();
    let ident = IdentFile::parse("pg_ident.conf", text, v, &src);
    if let Ok(s) = std::str::from_utf8(text) {
        assert_eq!(
            ident.to_string(),
            s,
            "Display must render the file byte for byte"
        );
        let again = IdentFile::parse("pg_ident.conf", s.as_bytes(), v, &src);
        assert_eq!(again, ident);
    }
    assert_eq!(
        ident.load().is_err(),
        ident.lines().iter().any(|l| l.result.is_err())
    );
    let mut maps: Vec<String> = ident
        .lines()
        .iter()
        .filter_map(|l| l.result.as_ref().ok().map(|m| m.map.clone()))
        .collect();
    maps.push("nomap".to_owned());
    for m in &maps {
        let _ = ident.check_usermap(Some(m), &system, &pg, &["g".to_owned()], ci);
    }
    let plain = ident.check_usermap(None, &system, &pg, &[], ci);
    let equal = if ci {
        system.eq_ignore_ascii_case(&pg)
    } else {
        system == pg
    };
    assert_eq!(
        plain.allowed(),
        equal,
        "no map: names must be compared directly"
    );
}

/// Field vocabulary for generated pg_hba.conf lines.
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
    "samegroup",
    "replication",
    "app",
    "\"all\"",
    "app,postgres",
    "+staff",
    "/^a.*$",
    "\"replication\"",
    "@dbs",
];
const USERS: &[&str] = &[
    "all",
    "alice",
    "+staff",
    "\"+staff\"",
    "/^b",
    "alice,bob",
    "@users.txt",
];
const ADDRS: &[&str] = &[
    "0.0.0.0/0",
    "10.0.0.0/8",
    "127.0.0.1/32",
    "::1/128",
    "::/0",
    "samehost",
    "samenet",
    "all",
    "10.1.2.3 255.255.255.0",
    ".example.test",
    "db.example.test",
    "fe80::1%lo/64",
];
const METHODS: &[&str] = &[
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "cert",
    "peer",
    "ident",
    "cert clientcert=verify-full",
    "trust clientcert=verify-ca",
    "cert map=m clientname=DN",
];

pub fn rule_line(r: &mut Reader<'_>) -> String {
    let t = r.pick(TYPES);
    let db = r.pick(DBS);
    let user = r.pick(USERS);
    let method = r.pick(METHODS);
    if t == "local" {
        format!("{t} {db} {user} {method}")
    } else {
        format!("{t} {db} {user} {} {method}", r.pick(ADDRS))
    }
}

pub fn request(r: &mut Reader<'_>) -> Request {
    let db = r.pick(&["app", "postgres", "all", "replication", "alice"]);
    let user = r.pick(&["alice", "bob", "carol", "staff", "all"]);
    let mut req = match r.below(4) {
        0 => Request::local(db, user),
        1 => Request::tcp(
            IpAddr::V4(Ipv4Addr::new(10, r.u8(), r.u8(), r.u8())),
            db,
            user,
        ),
        2 => Request::tcp(IpAddr::V4(Ipv4Addr::LOCALHOST), db, user),
        _ => Request::tcp(IpAddr::V6(Ipv6Addr::LOCALHOST), db, user),
    };
    if req.address.is_some() {
        req = req.with_tls(r.bool()).with_gss(r.bool());
    }
    req.with_member_of(if r.bool() {
        vec!["staff".to_owned()]
    } else {
        Vec::new()
    })
    .with_replication(r.pick(&[
        Replication::None,
        Replication::Physical,
        Replication::Logical,
    ]))
    .with_client_hostname(r.bool().then(|| "db.example.test".to_owned()))
    .with_server_addresses(vec![(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 1)), 24)])
}

/// The evaluator on generated rules and connections: a matched index points at a
/// valid rule whose line number is reported; comments, blank lines and extra blanks
/// between fields (which the server ignores) change nothing but line numbers; the
/// first-match rule means that dropping every rule after the decisive one keeps the
/// decision.
pub fn hba_eval(data: &[u8]) {
    let mut r = Reader::new(data);
    let settings = ServerSettings::new(version(r.u8()), r.bool());
    let n = 1 + r.below(8);
    let lines: Vec<String> = (0..n).map(|_| rule_line(&mut r)).collect();
    let req = request(&mut r);
    let src = source();
    let text = lines.join("\n") + "\n";
    let hba = HbaFile::parse("pg_hba.conf", text.as_bytes(), settings.clone(), &src);
    let d = evaluate(&hba, &req);
    if let Outcome::Matched { index } = d.outcome {
        let line = hba.lines().get(index).expect("matched index out of range");
        assert!(line.result.is_ok(), "matched an invalid line");
        assert_eq!(d.line_number(), Some(line.line_number));
    }

    // Noise the server ignores: a comment and a blank line before each record, tabs
    // and doubled blanks between fields, trailing comments.
    let mut noisy = String::new();
    for l in &lines {
        noisy.push_str("# comment, \"quoted\" all\n\n");
        noisy.push_str("  ");
        noisy.push_str(&l.replace(' ', " \t "));
        noisy.push_str("   # trailing\n");
    }
    let hba2 = HbaFile::parse("pg_hba.conf", noisy.as_bytes(), settings.clone(), &src);
    let d2 = evaluate(&hba2, &req);
    let shape = |d: &pgtls_hba::Decision, f: &HbaFile| -> (String, Option<usize>, Option<String>) {
        let rank = match &d.outcome {
            Outcome::Matched { index } | Outcome::Undecided { index, .. } => Some(
                f.lines()[..*index]
                    .iter()
                    .filter(|l| l.file == "pg_hba.conf")
                    .count(),
            ),
            _ => None,
        };
        let kind = match &d.outcome {
            Outcome::Matched { .. } => "matched",
            Outcome::NoMatch => "nomatch",
            Outcome::NotLoaded { .. } => "notloaded",
            Outcome::Undecided { .. } => "undecided",
            _ => "other",
        };
        (kind.to_owned(), rank, d.method().map(|m| m.to_string()))
    };
    assert_eq!(
        shape(&d, &hba),
        shape(&d2, &hba2),
        "comments/blanks changed the decision\n--- plain\n{text}--- noisy\n{noisy}"
    );

    // First match wins: the prefix up to the matching record decides the same.
    if let (Outcome::Matched { .. }, Some(no)) = (&d.outcome, d.line_number()) {
        let upto = usize::try_from(no).unwrap_or(usize::MAX);
        let prefix = lines[..upto.min(lines.len())].join("\n") + "\n";
        let hba3 = HbaFile::parse("pg_hba.conf", prefix.as_bytes(), settings.clone(), &src);
        let d3 = evaluate(&hba3, &req);
        assert_eq!(
            d3.line_number(),
            d.line_number(),
            "rules after the match changed it"
        );
        assert_eq!(d3.method(), d.method());
    }

    // quote_token: a quoted token reads back as the same text.
    let word = r.string_from(b"ab ,#\"@+all\t-_xyz", 12);
    if !word.is_empty() {
        let line = format!("host {} all 0.0.0.0/0 trust\n", quote_token(&word));
        let f = HbaFile::parse_str(&line, settings);
        if let Some((_, rule)) = f.rules().next() {
            assert_eq!(
                rule.databases.len(),
                1,
                "quote_token({word:?}) split the token: {line}"
            );
            assert_eq!(
                rule.databases[0].text(),
                word,
                "quote_token({word:?}) -> {line}"
            );
        }
    }
}
