//! Differential test: `pgtls hba check` against real connections to
//! PostgreSQL servers 12 to 18 (`pgtls_testkit::pg_versions()`), one cluster
//! per version, the versions in parallel threads, `--pg-version N` (and the
//! server build's `--build-without`) passed to pgtls. On 15 (or with
//! `PGTLS_PG_MATRIX=full`) every attempt runs; on the others the sets whose
//! meaning differs between versions (regular expressions, 16+; `clientname=`,
//! 14+), the pg_ident.conf cases, and every fourth of the other attempts. A
//! file a version refuses to load (backslash continuation and `clientname=`
//! before 14, `include` before 16) is checked as not loaded on that version
//! (exit 3, the server's first error); where only a line or two are new (the
//! continuation, `clientname=`), that version then runs every attempt of the
//! set on the file with those lines in a form it loads. Servers 12 and 13
//! are reached with psql/libpq 14.
//!
//! One cluster (TCP on 127.0.0.1 and ::1, a Unix socket, `ssl = on` with a CA
//! for client certificates, roles in nested groups; `ssl = off` for the last
//! set) runs a handful of pg_hba.conf files. For every connection attempt the test learns from the
//! server:
//!
//! * which line matched. The server names the line only when a method fails
//!   (`Connection matched pg_hba.conf line N`) or authenticates an identity
//!   (`connection authenticated: ... (file:N)`), never for `trust` or `reject`.
//!   So each file is first loaded in an *instrumented* form, the same lines
//!   with every method replaced by `password`, and the attempt is made with a
//!   wrong password: the log then names the matched line, or says that no line
//!   matched. Matching does not depend on the method, so this is the line the
//!   real file matches too.
//! * what the real file does: the same attempt with the right password gives
//!   `pg_hba.conf rejects connection ...`, `no pg_hba.conf entry ...`, or gets
//!   past the pg_hba stage (it logs in, or a later step fails).
//!
//! Then `pgtls hba check` must give the same verdict, the same line and the
//! same message, with exit codes per the contract in ARCHITECTURE.md. The
//! line is compared in full where the server logs it: the file (16+ names
//! it, `Connection matched file "F" line N: "RAW"`; the `include` set has
//! lines in files included by `include`, `include_if_exists` and
//! `include_dir`, and in a file included from an included one), the number,
//! and the text when the real run logged it. Two
//! files the server refuses to load must give exit status 3 and its first
//! error. Last, pg_ident.conf maps are exercised through `cert`
//! authentication, and `pgtls hba map` must allow what the server let in
//! and deny the rest with the server's usermap message. All differences are
//! reported together.

// Tests may unwrap (the project's rule); helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use pgtls_testkit::Cluster;

mod hba_support;
use hba_support::{
    Conn, Logged, Outcome, ServerArgs, classify, client_hostname, first_load_error,
    interface_cidrs, judge, judge_logged, judge_not_loaded, known_divergences_for, logged_match,
    make_certs, pgtls_check, reload_and_sync,
};

/// The method every line gets in the instrumented file.
const PROBE_METHOD: &str = "password";
const WRONG_PASSWORD: &str = "certainly-not-the-password";

/// Roles: (name, LOGIN?, member of, extra attributes).
const ROLES: &[(&str, bool, &[&str], &str)] = &[
    ("staff", true, &[], ""),
    ("ops", false, &["staff"], ""),
    ("alice", true, &["staff"], ""),
    ("bob", true, &["ops"], ""),
    ("carol", true, &[], ""),
    ("dave", true, &[], "REPLICATION"),
    ("Team X", false, &[], ""),
    ("CamelUser", true, &["Team X"], ""),
];
/// Databases that exist (others are used as names only: pg_hba is checked
/// before the server looks the database up).
const DATABASES: &[&str] = &["app", "carol", "staff", "maps"];

fn password(user: &str) -> String {
    format!("pw-{user}")
}

/// How the client reaches the server.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// The Unix socket.
    Local,
    /// TCP to 127.0.0.1; `true`: sslmode=require, `false`: sslmode=disable.
    V4(bool),
    /// TCP to ::1.
    V6(bool),
}

#[derive(Clone, Copy, Debug)]
enum Repl {
    No,
    Physical,
    Logical,
}

#[derive(Clone, Copy, Debug)]
struct Attempt {
    via: Via,
    user: &'static str,
    db: &'static str,
    repl: Repl,
    /// Client certificate to present (a name from `CLIENT_CERTS`).
    cert: Option<&'static str>,
}

const fn at(via: Via, user: &'static str, db: &'static str) -> Attempt {
    Attempt {
        via,
        user,
        db,
        repl: Repl::No,
        cert: None,
    }
}

const fn repl(via: Via, user: &'static str, db: &'static str, repl: Repl) -> Attempt {
    Attempt {
        via,
        user,
        db,
        repl,
        cert: None,
    }
}

const fn cert(via: Via, user: &'static str, db: &'static str, cert: &'static str) -> Attempt {
    Attempt {
        via,
        user,
        db,
        repl: Repl::No,
        cert: Some(cert),
    }
}

/// Client certificates: (file stem, subject).
const CLIENT_CERTS: &[(&str, &str)] = &[
    ("alice", "/CN=alice"),
    ("carol-mail", "/CN=carol@example.com"),
    ("bob", "/CN=bob"),
    ("alice-upper", "/CN=Alice"),
    ("dave-mail", "/CN=dave@other.org"),
];

const IDENT: &str = "\
# MAPNAME  SYSTEM-USERNAME          PG-USERNAME
emails     /^(.*)@example\\.com$    \\1
dns        \"CN=bob\"                 bob
exact      alice                    carol
exact      alice                    alice
exact      Alice                    staff
anyone     \"/^\"                    dave
";

/// Included with `@conn-users.list` (next to pg_hba.conf).
const CONN_USERS: &str = "# users for the syntax set\nbob, +ops\ndave\n";

/// One pg_hba.conf under test. In each line, `|` separates what decides the
/// match from the method and options; comment lines have no `|`.
struct HbaSet {
    name: &'static str,
    lines: &'static [&'static str],
    attempts: &'static [Attempt],
    /// The first major version that loads the file; older servers refuse it
    /// (`clientname=` came in 14), and pgtls must say so (exit 3).
    since: u32,
    /// Whether what the file does differs between versions: its attempts run
    /// on every version, not only in the sample.
    versioned: bool,
    /// For servers older than `since`: lines of `lines` replaced by a form
    /// they load, `(line, replacement)`. With any, the older servers refuse
    /// the file as it is (checked) and then run the attempts on the replaced
    /// one; without, they only refuse it.
    older: &'static [(&'static str, &'static str)],
    /// Files next to pg_hba.conf that it includes (`include`, `@file`), with
    /// paths relative to the data directory: `(path, lines)`, the lines
    /// written as in `lines` (the probe replaces their methods too).
    files: &'static [(&'static str, &'static [&'static str])],
}

use Repl::{Logical, Physical};
use Via::{Local, V4, V6};

const SETS: &[HbaSet] = &[
    HbaSet {
        name: "types-and-groups",
        since: 12,
        versioned: false,
        older: &[],
        files: &[],
        lines: &[
            "# connection types, ssl, groups, sameuser/samerole",
            "local      app       alice                     | scram-sha-256",
            "local      all       +staff                    | reject",
            "local      sameuser  all                       | scram-sha-256",
            "hostnossl  app       alice   127.0.0.1/32      | scram-sha-256",
            "hostssl    app       alice   127.0.0.1/32      | password",
            "host       app       bob     127.0.0.0/8       | reject",
            "host       \"app\"     carol   127.0.0.1 255.255.255.255 | scram-sha-256",
            "hostssl    all       +ops    127.0.0.1/32      | scram-sha-256",
            "host       samerole  all     127.0.0.1/32      | scram-sha-256",
            "host       all       staff   10.0.0.0/8        | trust",
            "hostgssenc all       all     127.0.0.1/32      | reject",
            "hostnogssenc gssdb   all     127.0.0.1/32      | scram-sha-256",
        ],
        attempts: &[
            at(Local, "alice", "app"),
            at(Local, "alice", "alice"),
            at(Local, "carol", "carol"),
            at(Local, "carol", "app"),
            at(Local, "staff", "postgres"),
            at(Local, "ghost", "ghost"),
            at(V4(false), "alice", "app"),
            at(V4(true), "alice", "app"),
            at(V4(false), "bob", "app"),
            at(V4(true), "carol", "app"),
            at(V4(true), "bob", "postgres"),
            at(V4(false), "bob", "postgres"),
            at(V4(false), "alice", "staff"),
            at(V4(false), "staff", "staff"),
            at(V4(true), "ghost", "app"),
            at(V4(false), "ghost", "staff"),
            at(V4(false), "carol", "gssdb"),
            at(V4(true), "carol", "gssdb"),
            at(V4(false), "carol", "other"),
        ],
    },
    HbaSet {
        name: "keywords-and-replication",
        since: 12,
        versioned: false,
        older: &[],
        files: &[],
        lines: &[
            "host   replication   dave         127.0.0.1/32  | scram-sha-256",
            "host   all           dave         127.0.0.1/32  | reject",
            "host   \"all\"         carol        127.0.0.1/32  | scram-sha-256",
            "host   all           \"+staff\"     127.0.0.1/32  | scram-sha-256",
            "host   al\"l\"         +\"staff\"     127.0.0.1/32  | scram-sha-256",
            "host   app,postgres  carol,ghost  127.0.0.1/32  | scram-sha-256",
            "host   \"replication\" all          127.0.0.1/32  | scram-sha-256",
            "host   all           all          127.0.0.1/32  | reject",
        ],
        attempts: &[
            repl(V4(false), "dave", "postgres", Physical),
            repl(V4(true), "dave", "postgres", Physical),
            repl(V4(false), "dave", "app", Logical),
            at(V4(false), "dave", "app"),
            at(V4(false), "carol", "app"),
            at(V4(false), "carol", "all"),
            at(V4(false), "alice", "app"),
            at(V4(false), "bob", "app"),
            at(V4(false), "staff", "app"),
            at(V4(false), "ghost", "postgres"),
            at(V4(false), "ghost", "app"),
            at(V4(false), "carol", "replication"),
            repl(V4(false), "carol", "postgres", Physical),
            repl(V4(false), "alice", "postgres", Physical),
            repl(V4(false), "carol", "app", Logical),
        ],
    },
    HbaSet {
        name: "replication-and-superuser",
        since: 12,
        versioned: false,
        older: &[],
        files: &[],
        lines: &[
            "host   sameuser,samerole  all       127.0.0.1/32  | scram-sha-256",
            "host   all,replication    bob       127.0.0.1/32  | scram-sha-256",
            "host   replication        +staff    127.0.0.1/32  | reject",
            "local  replication        all                     | scram-sha-256",
            "host   all                postgres  127.0.0.1/32  | reject",
        ],
        attempts: &[
            at(V4(false), "postgres", "staff"),
            at(V4(false), "postgres", "postgres"),
            repl(V4(false), "bob", "postgres", Physical),
            repl(V4(false), "alice", "postgres", Physical),
            repl(Local, "bob", "postgres", Physical),
            repl(V4(false), "dave", "dave", Logical),
            repl(V4(false), "carol", "carol", Physical),
            repl(V4(false), "staff", "staff", Logical),
        ],
    },
    HbaSet {
        name: "addresses",
        since: 12,
        versioned: false,
        older: &[],
        files: &[],
        lines: &[
            "# first match wins; each database name selects a group of lines",
            "host  d1   all  ::ffff:127.0.0.1/128     | scram-sha-256",
            "host  d1   all  127.0.0.2/32             | reject",
            "host  d1   all  127.1.2.3/8              | scram-sha-256",
            "host  d2   all  127.0.0.1 255.0.255.255  | scram-sha-256",
            "host  d3   all  samehost                 | scram-sha-256",
            "host  d4   all  samenet                  | scram-sha-256",
            "host  d5   all  localhost                | scram-sha-256",
            "host  d6   all  .localhost               | scram-sha-256",
            "host  d6   all  vm                       | scram-sha-256",
            "host  d6   all  LOCALHOST                | reject",
            "host  d7   all  ::1/128                  | scram-sha-256",
            "host  d7   all  0.0.0.0/0                | reject",
            "host  d8   all  ::/0                     | scram-sha-256",
            "host  d9   all  \"samehost\"               | scram-sha-256",
            "host  d9   all  all                      | reject",
            "host  all  all  192.0.2.0/24             | scram-sha-256",
        ],
        attempts: &[
            at(V4(false), "carol", "d1"),
            at(V4(false), "carol", "d2"),
            at(V4(false), "carol", "d3"),
            at(V6(false), "carol", "d3"),
            at(V4(false), "carol", "d4"),
            at(V6(true), "carol", "d4"),
            at(V4(false), "carol", "d5"),
            at(V4(false), "carol", "d6"),
            at(V4(false), "carol", "d7"),
            at(V6(false), "carol", "d7"),
            at(V4(false), "carol", "d8"),
            at(V6(false), "carol", "d8"),
            at(V4(false), "carol", "d9"),
            at(V6(false), "carol", "d1"),
            at(Local, "carol", "d3"),
        ],
    },
    HbaSet {
        name: "syntax",
        // 12 and 13 refuse the backslash continuation line: they get it joined.
        since: 14,
        versioned: false,
        older: &[(
            "host  app,\\\n      \"quoted db\"   alice,carol  127.0.0.1/32  | scram-sha-256",
            "host  app,\"quoted db\"   alice,carol  127.0.0.1/32  | scram-sha-256",
        )],
        files: &[],
        lines: &[
            "# continuation, quoting, lists, @file, comments",
            "host  app,\\\n      \"quoted db\"   alice,carol  127.0.0.1/32  | scram-sha-256",
            "host  \"Mixed Case\"  all   127.0.0.1/32  | reject",
            "host  all  @conn-users.list  127.0.0.1/32  | scram-sha-256",
            "host  app  ALICE   127.0.0.1/32  | reject  # case matters",
            "host  sameuser  \"all\"  127.0.0.1/32  | scram-sha-256",
            "host\tapp\t+staff\t127.0.0.1/32\t| reject",
            "host  app  cameluser  127.0.0.1/32  | reject",
            "host  app  +\"Team X\"  127.0.0.1/32  | scram-sha-256",
            "host  d2   CamelUser  127.0.0.1/32  | scram-sha-256",
        ],
        attempts: &[
            at(V4(false), "alice", "app"),
            at(V4(false), "carol", "quoted db"),
            at(V4(false), "alice", "Mixed Case"),
            at(V4(false), "bob", "app"),
            at(V4(false), "staff", "d1"),
            at(V4(false), "ALICE", "app"),
            at(V4(false), "all", "all"),
            at(V4(false), "alice", "alice"),
            at(V4(false), "dave", "app"),
            at(V4(false), "dave", "postgres"),
            at(V4(false), "CamelUser", "app"),
            at(V4(false), "CamelUser", "d2"),
            at(V4(false), "cameluser", "d2"),
        ],
    },
    HbaSet {
        name: "certificates",
        since: 14,
        versioned: true,
        // `clientname=` came in 14: 12 and 13 get the line without it.
        older: &[(
            "hostssl    postgres  all    127.0.0.1/32  | cert clientname=DN map=dns",
            "hostssl    postgres  all    127.0.0.1/32  | cert map=dns",
        )],
        files: &[],
        lines: &[
            "hostssl    app       alice  127.0.0.1/32  | cert",
            "hostssl    app       carol  127.0.0.1/32  | cert map=emails",
            "hostssl    app       bob    127.0.0.1/32  | scram-sha-256 clientcert=verify-full",
            "hostssl    app       staff  127.0.0.1/32  | trust clientcert=verify-ca",
            "hostssl    postgres  all    127.0.0.1/32  | cert clientname=DN map=dns",
            "hostnossl  all       all    127.0.0.1/32  | reject",
            "local      all       all                  | peer",
        ],
        attempts: &[
            cert(V4(true), "alice", "app", "alice"),
            at(V4(true), "alice", "app"),
            cert(V4(true), "carol", "app", "carol-mail"),
            cert(V4(true), "carol", "app", "alice"),
            cert(V4(true), "bob", "app", "bob"),
            at(V4(true), "bob", "app"),
            cert(V4(true), "staff", "app", "alice"),
            cert(V4(true), "bob", "postgres", "bob"),
            cert(V4(true), "ghost", "postgres", "alice"),
            cert(V4(false), "alice", "app", "alice"),
            at(V4(true), "dave", "app"),
            at(Local, "carol", "app"),
        ],
    },
    HbaSet {
        name: "regex",
        since: 12,
        versioned: true,
        older: &[],
        files: &[],
        lines: &[
            "# 16+: a database or user name starting with / is a regular expression (no bar: the test splits on it)",
            "host  /^r[0-9]$     all           127.0.0.1/32  | scram-sha-256",
            "host  app           /^[ab][lo]    127.0.0.1/32  | reject",
            "host  \"/^q\"        all           127.0.0.1/32  | scram-sha-256",
            "host  lit,/^x.*y$   /c.r          127.0.0.1/32  | scram-sha-256",
            "host  all           /^b.b$,carol  127.0.0.1/32  | reject",
        ],
        attempts: &[
            at(V4(false), "carol", "r1"),
            at(V4(false), "carol", "r12"),
            at(V4(false), "carol", "/^r[0-9]$"),
            at(V4(false), "alice", "app"),
            at(V4(false), "bob", "app"),
            at(V4(false), "/^[ab][lo]", "app"),
            at(V4(false), "carol", "q"),
            at(V4(false), "carol", "/^q"),
            at(V4(false), "carol", "xay"),
            at(V4(false), "carol", "/^x.*y$"),
            at(V4(false), "carol", "lit"),
            at(V4(false), "bob", "lit"),
            at(V4(false), "/c.r", "lit"),
            at(V4(false), "alice", "d1"),
            at(V4(false), "dave", "d1"),
        ],
    },
    HbaSet {
        name: "include",
        // Before 16 `include` is an unknown connection type.
        since: 16,
        versioned: true,
        older: &[],
        lines: &[
            "# 16+: include, include_if_exists (of a missing file too), include_dir",
            "host  inc1  all  127.0.0.1/32  | scram-sha-256",
            "include  conn-inc/a.conf",
            "include_if_exists  conn-inc/missing.conf",
            "include_if_exists  \"conn-inc/b.conf\"",
            "host  inc3  all  127.0.0.1/32  | reject",
            "include_dir  conn-inc.d",
            "host  all  all  127.0.0.1/32  | reject",
        ],
        files: &[
            (
                "conn-inc/a.conf",
                &[
                    "# included by pg_hba.conf",
                    "host  inc2  alice  127.0.0.1/32  | reject",
                    "host  inc2,inc3  carol  127.0.0.1/32  | scram-sha-256",
                ],
            ),
            (
                "conn-inc/b.conf",
                &[
                    "host  inc3  bob  127.0.0.1/32  | scram-sha-256",
                    "# relative to this file's directory",
                    "include  c.conf",
                ],
            ),
            (
                "conn-inc/c.conf",
                &["host  inc3,inc4  dave  127.0.0.1/32  | scram-sha-256"],
            ),
            // Read in name order; only `*.conf`.
            (
                "conn-inc.d/20-b.conf",
                &["host  inc4  all  127.0.0.1/32  | scram-sha-256"],
            ),
            (
                "conn-inc.d/10-a.conf",
                &[
                    "host  inc4  alice  127.0.0.1/32  | reject",
                    "host  inc5  @users.list  127.0.0.1/32  | scram-sha-256",
                ],
            ),
            ("conn-inc.d/users.list", &["bob, carol"]),
            (
                "conn-inc.d/ignored.txt",
                &["host  all  all  127.0.0.1/32  | trust"],
            ),
        ],
        attempts: &[
            at(V4(false), "carol", "inc1"),
            at(V4(false), "ghost", "inc1"),
            at(V4(false), "alice", "inc2"),
            at(V4(false), "carol", "inc2"),
            at(V4(false), "bob", "inc3"),
            at(V4(false), "dave", "inc3"),
            at(V4(false), "carol", "inc3"),
            at(V4(false), "alice", "inc3"),
            at(V4(false), "alice", "inc4"),
            at(V4(false), "dave", "inc4"),
            at(V4(false), "carol", "inc4"),
            at(V4(false), "bob", "inc5"),
            at(V4(false), "alice", "inc5"),
            at(Local, "carol", "inc1"),
        ],
    },
];

/// Run last, after `ssl = off` is set: `hostssl` lines load (with a
/// warning) but never match.
const SSL_OFF_SET: HbaSet = HbaSet {
    name: "ssl-off",
    since: 12,
    versioned: false,
    older: &[],
    files: &[],
    lines: &[
        "hostssl    app  all    127.0.0.1/32  | reject",
        "host       app  alice  127.0.0.1/32  | scram-sha-256",
        "hostnossl  all  all    127.0.0.1/32  | scram-sha-256",
        "hostssl    all  all    all           | trust",
        "local      all  +staff               | reject",
    ],
    attempts: &[
        at(V4(false), "alice", "app"),
        at(V4(false), "carol", "app"),
        at(V6(false), "carol", "app"),
        at(Local, "carol", "app"),
        at(Local, "bob", "app"),
    ],
};

/// pg_ident.conf decisions, through `cert` authentication: the file below is
/// loaded, and each case (client certificate, user, `map=` name or none,
/// whether `clientname=DN`) logs in or fails with the server's usermap
/// message; `pgtls hba map` must decide the same.
const MAP_HBA: &str = "\
hostssl  maps  all  127.0.0.1/32  cert  map=emails  clientcert=verify-full
hostssl  all   bob     127.0.0.1/32  cert  clientname=DN  map=dns
hostssl  all   +staff  127.0.0.1/32  cert  map=exact
hostssl  all   dave    127.0.0.1/32  cert  map=anyone
hostssl  all   all     127.0.0.1/32  cert
";
/// (certificate, user, database, map the matching line names, clientname=DN?)
const MAP_CASES: &[(&str, &str, &str, Option<&str>, bool)] = &[
    ("carol-mail", "carol", "maps", Some("emails"), false),
    ("alice", "carol", "maps", Some("emails"), false),
    ("dave-mail", "dave", "maps", Some("emails"), false),
    ("alice", "alice", "app", Some("exact"), false),
    ("alice", "staff", "app", Some("exact"), false),
    ("alice-upper", "staff", "app", Some("exact"), false),
    ("alice-upper", "alice", "app", Some("exact"), false),
    ("dave-mail", "dave", "app", Some("anyone"), false),
    ("bob", "bob", "app", Some("dns"), true),
    ("carol-mail", "carol", "app", None, false),
    ("alice", "carol", "app", None, false),
];

/// Files the server refuses to load, by name.
const BROKEN: &[(&str, &str)] = &[
    (
        "bad-lines",
        "local all all trust\nhost all all 127.0.0.1/32 bogus\nhost all all 10.0.0.0/33 trust\n",
    ),
    ("empty", "# nothing but a comment\n"),
];

/// A stable name for an attempt, used in reports and known-divergences.json.
fn case_id(set: &HbaSet, a: &Attempt) -> String {
    let via = match a.via {
        Local => "local".to_string(),
        V4(ssl) => format!("127.0.0.1{}", if ssl { "+tls" } else { "" }),
        V6(ssl) => format!("::1{}", if ssl { "+tls" } else { "" }),
    };
    let repl = match a.repl {
        Repl::No => "",
        Physical => " replication=physical",
        Logical => " replication=logical",
    };
    let cert = a.cert.map_or_else(String::new, |c| format!(" cert={c}"));
    format!("{}/{via} {}@{}{repl}{cert}", set.name, a.user, a.db)
}

struct Oracle {
    cluster: Cluster,
    certs: PathBuf,
}

impl Oracle {
    fn conninfo(&self, a: &Attempt) -> String {
        let (host, sslmode) = match a.via {
            Local => (self.cluster.socket_dir().display().to_string(), "disable"),
            V4(ssl) => (
                "127.0.0.1".to_string(),
                if ssl { "require" } else { "disable" },
            ),
            V6(ssl) => ("::1".to_string(), if ssl { "require" } else { "disable" }),
        };
        let mut c = format!(
            "host={} port={} user={} dbname={} sslmode={sslmode} gssencmode=disable",
            quote(&host),
            self.cluster.port(),
            quote(a.user),
            quote(a.db)
        );
        match a.repl {
            Repl::No => {}
            Physical => c.push_str(" replication=true"),
            Logical => c.push_str(" replication=database"),
        }
        let (crt, key) = match a.cert {
            Some(name) => (
                self.certs.join(format!("{name}.crt")),
                self.certs.join(format!("{name}.key")),
            ),
            // libpq would otherwise look in ~/.postgresql.
            None => (self.certs.join("none.crt"), self.certs.join("none.key")),
        };
        c.push_str(&format!(
            " sslcert={} sslkey={}",
            quote(&crt.display().to_string()),
            quote(&key.display().to_string())
        ));
        c
    }

    /// Connects; returns the server log written meanwhile and psql's stderr.
    fn connect(&self, a: &Attempt, password: &str) -> (String, String) {
        let from = self.cluster.log_len();
        let sql = match a.repl {
            Physical => "IDENTIFY_SYSTEM",
            _ => "select 1",
        };
        let out = self
            .cluster
            .psql(
                &["-X", "-At", "-w", "-c", sql],
                &self.conninfo(a),
                &[("PGPASSWORD", password)],
            )
            .unwrap();
        let log = self.cluster.log_since(from);
        let stderr = format!(
            "[psql exit {:?}] {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        (log, stderr)
    }

    /// Writes `files` (paths in the data directory, `pg_hba.conf` among them)
    /// and loads them; they must load. Returns the log of the reload.
    fn load_files(&self, files: &[(&str, &str)]) -> String {
        for (path, text) in files {
            let dir = self.cluster.data_dir().join(path);
            std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
            self.cluster
                .write_file(path, text.as_bytes(), 0o600)
                .unwrap();
        }
        let log = reload_and_sync(&self.cluster);
        assert!(
            !log.contains("was not reloaded"),
            "the server refused a test file:\n{files:?}\nlog:\n{log}"
        );
        log
    }

    /// Loads a pg_hba.conf that must load; returns the log of the reload.
    fn load(&self, text: &str) -> String {
        self.cluster.write_hba(text).unwrap();
        let log = reload_and_sync(&self.cluster);
        assert!(
            !log.contains("was not reloaded"),
            "the server refused a test file:\n{text}\nlog:\n{log}"
        );
        log
    }
}

/// A conninfo value in single quotes.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The files of an `HbaSet` for PostgreSQL `version`: pg_hba.conf first, then
/// the included ones, as `(path in the data directory, real text, instrumented
/// text)`; the instrumented twin has the same lines with every method
/// `PROBE_METHOD`, options dropped. Servers older than `set.since` get the
/// `older` replacements, unless `as_is`.
fn render(set: &HbaSet, version: u32, as_is: bool) -> Vec<(&'static str, String, String)> {
    let one = |lines: &[&'static str]| {
        let mut real = String::new();
        let mut probe = String::new();
        for &l in lines {
            let l = match set.older.iter().find(|(from, _)| *from == l) {
                Some((_, to)) if version < set.since && !as_is => *to,
                _ => l,
            };
            match l.split_once('|') {
                Some((head, method)) => {
                    real.push_str(&format!("{head} {}\n", method.trim()));
                    probe.push_str(&format!("{head} {PROBE_METHOD}\n"));
                }
                None => {
                    real.push_str(l);
                    real.push('\n');
                    probe.push_str(l);
                    probe.push('\n');
                }
            }
        }
        (real, probe)
    };
    let (real, probe) = one(set.lines);
    let mut out = vec![("pg_hba.conf", real, probe)];
    for &(path, lines) in set.files {
        let (real, probe) = one(lines);
        out.push((path, real, probe));
    }
    out
}

/// Roles each role belongs to, directly or not (itself excluded), from the server.
fn memberships(cluster: &Cluster) -> BTreeMap<String, Vec<String>> {
    let rows = cluster
        .sql(
            "with recursive m(member, roleid) as ( \
               select member, roleid from pg_auth_members \
               union select m.member, a.roleid from m join pg_auth_members a on a.member = m.roleid) \
             select r.rolname || ' ' || g.rolname from m \
               join pg_roles r on r.oid = m.member join pg_roles g on g.oid = m.roleid \
             order by 1",
        )
        .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in rows.lines() {
        if let Some((r, g)) = l.split_once(' ') {
            out.entry(r.to_string()).or_default().push(g.to_string());
        }
    }
    out
}

/// What one version's run compared.
struct Summary {
    version: u32,
    /// Attempts compared (connections, not-loaded files, map cases).
    attempts: usize,
    /// Attempts left out of the sample.
    skipped: usize,
    /// Attempts whose matched line was compared (file, number; text where
    /// the real run logged it), and of those the lines of included files.
    logged_lines: usize,
    in_included_file: usize,
    build: String,
    seen: BTreeMap<&'static str, usize>,
    report: String,
}

/// Whether an attempt runs: all on 15 (or with `PGTLS_PG_MATRIX=full`), else
/// those of sets whose meaning differs between versions and every fourth of the rest.
fn in_sample(full: bool, versioned: bool, index: usize) -> bool {
    full || versioned || index.is_multiple_of(4)
}

/// Which authentication methods the server's build lacks, asked of the server
/// through `pg_hba_file_rules` (`invalid authentication method "M": not
/// supported by this build`). Returns the `--build-without` argument.
fn build_without(cluster: &Cluster) -> Vec<String> {
    let probes = [
        (
            "ldap",
            "host all all 127.0.0.1/32 ldap ldapserver=127.0.0.1 ldapprefix=a\n",
        ),
        ("pam", "host all all 127.0.0.1/32 pam\n"),
        ("gss", "host all all 127.0.0.1/32 gss\n"),
    ];
    let mut without = Vec::new();
    for (method, line) in probes {
        // Not reloaded: the view reads the file, the rules in force stay.
        cluster.write_hba(line).unwrap();
        let error = cluster
            .sql("select coalesce(error, '') from pg_hba_file_rules")
            .unwrap();
        if error.trim().ends_with("not supported by this build") {
            without.push(method.to_string());
        }
    }
    if without.is_empty() {
        Vec::new()
    } else {
        vec!["--build-without".into(), without.join(",")]
    }
}

#[test]
fn check_matches_real_connections() {
    std::net::TcpListener::bind("[::1]:0").expect(
        "this test connects over IPv6 loopback: enable ::1 on lo (for Docker: --sysctl net.ipv6.conf.lo.disable_ipv6=0)",
    );
    let versions = pgtls_testkit::pg_versions().unwrap();
    let start = std::time::Instant::now();
    // One cluster per version, the versions in parallel.
    let summaries: Vec<Summary> = std::thread::scope(|s| {
        let handles: Vec<_> = versions
            .iter()
            .map(|&v| (v, s.spawn(move || run_version(v))))
            .collect();
        handles
            .into_iter()
            .map(|(v, h)| {
                h.join()
                    .unwrap_or_else(|_| panic!("PostgreSQL {v}: the run panicked (see above)"))
            })
            .collect()
    });
    let mut failures = String::new();
    for s in &summaries {
        println!(
            "PostgreSQL {}: {} attempts compared ({} outside the sample; matched line compared in {}, {} of them in an included file){} {:?}",
            s.version,
            s.attempts,
            s.skipped,
            s.logged_lines,
            s.in_included_file,
            if s.build.is_empty() {
                String::new()
            } else {
                format!(", pgtls told {}", s.build)
            },
            s.seen
        );
        // Included files are read from 16.
        if s.version >= 16 && s.in_included_file < 8 {
            failures.push_str(&format!(
                "PostgreSQL {}: only {} attempts matched a line of an included file\n",
                s.version, s.in_included_file
            ));
        }
        if s.attempts == 0 || s.logged_lines == 0 {
            failures.push_str(&format!(
                "PostgreSQL {}: the suite ran no rows\n",
                s.version
            ));
        }
        failures.push_str(&s.report);
    }
    println!(
        "hba_connections: {} versions, {} attempts, {:.0?}",
        summaries.len(),
        summaries.iter().map(|s| s.attempts).sum::<usize>(),
        start.elapsed()
    );
    assert!(failures.is_empty(), "{failures}");
}

fn run_version(version: u32) -> Summary {
    let full = pgtls_testkit::full_matrix(version).unwrap();
    let scratch = tempfile::Builder::new()
        .prefix("pgtls-hbaconn-")
        .tempdir()
        .unwrap();
    make_certs(scratch.path(), "/CN=localhost", CLIENT_CERTS);
    let certs = scratch.path().to_path_buf();

    let cluster = Cluster::builder().version(version).init().unwrap();
    cluster
        .copy_files(&certs, &["server.crt", "server.key", "ca.crt"], 0o600)
        .unwrap();
    cluster.write_ident(IDENT).unwrap();
    cluster
        .write_file("conn-users.list", CONN_USERS.as_bytes(), 0o600)
        .unwrap();
    cluster
        .append_conf(
            "listen_addresses = '127.0.0.1,::1'\nssl = on\nssl_cert_file = 'server.crt'\n\
             ssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\npassword_encryption = 'scram-sha-256'\n",
        )
        .unwrap();
    let cluster = cluster.start_initialized().unwrap();
    for (name, login, member_of, attrs) in ROLES {
        let mut sql = format!(
            "create role \"{name}\" {} {attrs} password '{}'",
            if *login { "login" } else { "nologin" },
            password(name)
        );
        if !member_of.is_empty() {
            let groups: Vec<String> = member_of.iter().map(|g| format!("\"{g}\"")).collect();
            sql.push_str(&format!(" in role {}", groups.join(", ")));
        }
        cluster.sql(&sql).unwrap();
    }
    for db in DATABASES {
        cluster.sql(&format!("create database {db}")).unwrap();
    }
    let hba_file = cluster.data_dir().join("pg_hba.conf");
    let groups = memberships(&cluster);
    let hostname = client_hostname();
    let server_addresses = interface_cidrs().join(",");
    let no_groups = Vec::new();
    let mut server_args = ServerArgs::new(version);
    server_args.extra = build_without(&cluster);
    let check = |a: &Attempt, server_ssl: bool| {
        let conn = Conn {
            server_ssl,
            address: match a.via {
                Local => None,
                V4(_) => Some("127.0.0.1"),
                V6(_) => Some("::1"),
            },
            tls: matches!(a.via, V4(true) | V6(true)),
            database: a.db,
            user: a.user,
            member_of: groups.get(a.user).unwrap_or(&no_groups),
            replication: match a.repl {
                Repl::No => None,
                Physical => Some("physical"),
                Logical => Some("logical"),
            },
            // The name is what 127.0.0.1 resolves to; no ::1 attempt
            // reaches a host-name line.
            client_hostname: match a.via {
                V4(_) => hostname.as_deref(),
                _ => None,
            },
        };
        pgtls_check(&hba_file, &server_addresses, &conn, &server_args)
    };
    let oracle = Oracle { cluster, certs };

    let known = known_divergences_for("hba_connections", version);
    let mut report = String::new();
    let mut diverged: Vec<String> = Vec::new();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut attempts = 0;
    // Attempts whose matched line (file and number) is compared, and of those
    // the lines in an included file.
    let mut logged_lines = 0;
    let mut in_included_file = 0;
    let mut skipped = 0;
    let mut index = 0;
    let mut ids = std::collections::BTreeSet::new();
    let mut last_outcome = None;
    let sets = SETS
        .iter()
        .map(|s| (s, true))
        .chain([(&SSL_OFF_SET, false)]);
    for (set, server_ssl) in sets {
        if !server_ssl {
            // Takes effect with the next reload, together with the file.
            oracle.cluster.append_conf("ssl = off").unwrap();
        }
        if version < set.since {
            // The server refuses the file; pgtls must say so (exit 3).
            for (path, real, _) in render(set, version, true) {
                let dir = oracle.cluster.data_dir().join(path);
                std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
                oracle
                    .cluster
                    .write_file(path, real.as_bytes(), 0o600)
                    .unwrap();
            }
            let log = reload_and_sync(&oracle.cluster);
            assert!(
                log.contains("pg_hba.conf was not reloaded"),
                "PostgreSQL {version}: {}: the server loaded it:\n{log}",
                set.name
            );
            let first_error = first_load_error(&log).unwrap();
            attempts += 1;
            let got = check(&set.attempts[0], server_ssl);
            let case = format!("not-loaded/{}", set.name);
            let d = judge_not_loaded(&first_error, &got);
            if !d.is_empty() {
                diverged.push(case.clone());
                if !known.contains_key(&case) {
                    report.push_str(&format!(
                        "{case}\n  server: not reloaded, first error {first_error:?}\n  {}\n  - {}\n",
                        got.command,
                        d.join("\n  - ")
                    ));
                }
            }
            if set.older.is_empty() {
                continue;
            }
        }
        let files = render(set, version, false);
        let chosen: Vec<Attempt> = set
            .attempts
            .iter()
            .filter(|a| {
                index += 1;
                // Logical walsenders: 12 and 13 word their refusals as replication ones.
                // A set with lines replaced for this version runs whole too.
                let versioned = set.versioned || version < set.since || matches!(a.repl, Logical);
                let keep = in_sample(full, versioned, index - 1);
                if !keep {
                    skipped += 1;
                }
                keep
            })
            .copied()
            .collect();
        // 1. Which line matches: the instrumented file, wrong password.
        let probe: Vec<(&str, &str)> = files.iter().map(|(f, _, p)| (*f, p.as_str())).collect();
        let log = oracle.load_files(&probe);
        // The server really runs with the ssl setting the set assumes.
        assert_eq!(
            log.contains("hostssl record cannot match because SSL is disabled"),
            !server_ssl && set.lines.iter().any(|l| l.starts_with("hostssl")),
            "{}: ssl is not {}:\n{log}",
            set.name,
            if server_ssl { "on" } else { "off" }
        );
        let lines: Vec<Option<Logged>> = chosen
            .iter()
            .map(|a| {
                let (log, stderr) = oracle.connect(a, WRONG_PASSWORD);
                match classify(&log, &stderr) {
                    Some(Outcome::NoMatch(_)) => None,
                    Some(Outcome::Matched) => Some(logged_match(&log, version).unwrap().unwrap_or_else(|| {
                        panic!("{}: {a:?}: the probe run did not name a line:\n{log}{stderr}", set.name)
                    })),
                    other => panic!(
                        "{}: {a:?}: unexpected probe result {other:?} (file has no reject lines):\n{log}{stderr}",
                        set.name
                    ),
                }
            })
            .collect();
        // 2. What the real file does.
        let real: Vec<(&str, &str)> = files.iter().map(|(f, r, _)| (*f, r.as_str())).collect();
        oracle.load_files(&real);
        for (a, line) in chosen.iter().zip(lines) {
            attempts += 1;
            let pw = password(a.user);
            let (log, stderr) = oracle.connect(a, &pw);
            let outcome = classify(&log, &stderr).unwrap_or_else(|| {
                panic!(
                    "{}: {a:?}: cannot tell what happened:\n{log}{stderr}",
                    set.name
                )
            });
            // The oracle's two runs must agree with each other.
            match (&outcome, &line) {
                (Outcome::NoMatch(_), None) | (Outcome::Matched | Outcome::Reject(_), Some(_)) => {}
                _ => panic!(
                    "{}: {a:?}: probe said line {line:?} but the real file gave {outcome:?}:\n{log}{stderr}",
                    set.name
                ),
            }
            last_outcome = Some((*a, server_ssl, outcome.clone()));
            // The line as the real run logged it (with its text) when the
            // method failed, else as the probe did (file and number).
            let mut logged = line.clone().map(|l| Logged { raw: None, ..l });
            if let (Outcome::Matched, Some(l)) = (&outcome, logged_match(&log, version).unwrap()) {
                assert_eq!(
                    Some((l.file_or(&hba_file), l.line)),
                    line.as_ref().map(|p| (p.file_or(&hba_file), p.line)),
                    "{}: {a:?}: probe and real run name different lines:\n{log}",
                    set.name
                );
                logged = Some(l);
            }
            *seen
                .entry(match &outcome {
                    Outcome::Matched if log.contains("connection authorized: ") => "login",
                    Outcome::Matched => "matched-then-failed",
                    Outcome::Reject(_) => "reject",
                    Outcome::NoMatch(_) => "no-match",
                })
                .or_default() += 1;

            if std::env::var_os("PGTLS_HBADIFF_DUMP").is_some() {
                eprintln!("{}: {a:?} -> line {line:?} {outcome:?}", set.name);
            }
            // 3. pgtls.
            let got = check(a, server_ssl);
            let mut diffs = judge(&outcome, Some(line.as_ref().map(|l| l.line)), &got);
            if let Some(l) = &logged {
                logged_lines += 1;
                if l.file_or(&hba_file) != hba_file.display().to_string() {
                    in_included_file += 1;
                }
                diffs.extend(judge_logged(l, &hba_file, &got));
            }
            let case = case_id(set, a);
            assert!(ids.insert(case.clone()), "two attempts are named {case}");
            if !diffs.is_empty() {
                diverged.push(case.clone());
                if known.contains_key(&case) {
                    continue;
                }
                report.push_str(&format!(
                    "{case}\n  server: {outcome:?}, line {line:?}\n  {}\n  - {}\n",
                    got.command,
                    diffs.join("\n  - ")
                ));
            }
        }
    }

    // A file the server refuses to load: the old rules stay, pgtls exits 3.
    for (name, text) in BROKEN {
        oracle.cluster.write_hba(text).unwrap();
        let log = reload_and_sync(&oracle.cluster);
        assert!(
            log.contains("pg_hba.conf was not reloaded"),
            "{name}: the server loaded it:\n{log}"
        );
        let first_error = first_load_error(&log).unwrap();
        // The rules in force are still the last set's: its last attempt
        // gives the same outcome as before.
        let (a, server_ssl, before) = last_outcome.clone().unwrap();
        let (log, stderr) = oracle.connect(&a, &password(a.user));
        assert_eq!(
            classify(&log, &stderr),
            Some(before),
            "{name}: the old rules are not in force"
        );
        attempts += 1;
        let got = check(&a, server_ssl);
        let case = format!("not-loaded/{name}");
        let d = judge_not_loaded(&first_error, &got);
        if !d.is_empty() {
            diverged.push(case.clone());
            if !known.contains_key(&case) {
                report.push_str(&format!(
                    "{case}\n  server: not reloaded, first error {first_error:?}\n  {}\n  - {}\n",
                    got.command,
                    d.join("\n  - ")
                ));
            }
        }
    }

    // pg_ident.conf through cert authentication (ssl back on: the ssl-off
    // set turned it off).
    oracle.cluster.append_conf("ssl = on").unwrap();
    // `clientname=` came in 14: older servers get the file without that line.
    let map_hba: String = MAP_HBA
        .lines()
        .filter(|l| version >= 14 || !l.contains("clientname="))
        .map(|l| format!("{l}\n"))
        .collect();
    oracle.load(&map_hba);
    let ident_file = oracle.cluster.data_dir().join("pg_ident.conf");
    let (mut allowed, mut denied) = (0, 0);
    for &(cert_name, user, db, map, dn) in MAP_CASES {
        // The DN case is what differs between versions (and has no line before 14).
        if dn && version < 14 {
            continue;
        }
        // Every case on every version: before 15 (no pg_ident_file_mappings)
        // this is the only live test of pg_ident.conf.
        attempts += 1;
        let a = cert(V4(true), user, db, cert_name);
        let (log, stderr) = oracle.connect(&a, "no-password-needed");
        let subject = CLIENT_CERTS
            .iter()
            .find(|(n, _)| *n == cert_name)
            .unwrap()
            .1;
        // The identity the server maps: the CN, or the RFC 2253 DN.
        let system_user = if dn {
            subject.trim_start_matches('/').to_string()
        } else {
            subject.trim_start_matches("/CN=").to_string()
        };
        let server = if log.contains("connection authorized: ") {
            allowed += 1;
            None
        } else {
            denied += 1;
            let msg = log
                .lines()
                .filter_map(|l| l.split_once(" LOG:  ").map(|(_, m)| m))
                .find(|m| {
                    m.starts_with("no match in usermap ") || m.starts_with("provided user name ")
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{cert_name} as {user}: neither login nor a usermap refusal:\n{log}{stderr}"
                    )
                });
            Some(msg.to_string())
        };
        let case = format!(
            "ident/{cert_name} as {user} map={}",
            map.unwrap_or("(none)")
        );
        let mut args = vec![
            "hba".to_string(),
            "map".into(),
            ident_file.display().to_string(),
            "--pg-version".into(),
            version.to_string(),
            "--system-user".into(),
            system_user.clone(),
            "--user".into(),
            user.into(),
        ];
        if let Some(m) = map {
            args.extend(["--map".into(), m.into()]);
        }
        let run = |json: bool| {
            std::process::Command::new(env!("CARGO_BIN_EXE_pgtls"))
                .args(&args)
                .args(if json { &["--json"][..] } else { &[][..] })
                .output()
                .unwrap()
        };
        let (plain, json) = (run(false), run(true));
        let mut d = Vec::new();
        let want_code = if server.is_none() { 0 } else { 1 };
        for (what, out) in [("", &plain), ("--json ", &json)] {
            if out.status.code() != Some(want_code) {
                d.push(format!(
                    "{what}exit status {:?}, expected {want_code}",
                    out.status.code()
                ));
            }
        }
        match serde_json::from_slice::<serde_json::Value>(&json.stdout) {
            Err(e) => d.push(format!("--json printed no JSON: {e}")),
            Ok(j) => {
                let want = if server.is_none() {
                    "allowed"
                } else {
                    "denied"
                };
                if j["verdict"] != want {
                    d.push(format!(
                        "--json verdict {}, expected {want:?}",
                        j["verdict"]
                    ));
                }
                if let Some(m) = &server
                    && j["message"] != m.as_str()
                {
                    d.push(format!("--json message {}, expected {m:?}", j["message"]));
                }
            }
        }
        if !d.is_empty() {
            diverged.push(case.clone());
            if !known.contains_key(&case) {
                report.push_str(&format!(
                    "{case}\n  server: {}\n  pgtls {}\n  - {}\n",
                    server.as_deref().unwrap_or("logged in"),
                    args.join(" "),
                    d.join("\n  - ")
                ));
            }
        }
    }
    assert!(
        allowed > 0 && denied > 0,
        "map cases: {allowed} allowed, {denied} denied"
    );

    // The cases must exercise every kind of outcome, or the test proves little.
    for kind in ["login", "matched-then-failed", "reject", "no-match"] {
        assert!(
            seen.get(kind).is_some_and(|n| *n > 0),
            "no attempt ended in {kind}: {seen:?}"
        );
    }
    for (case, reason) in &known {
        if !diverged.contains(case) {
            report.push_str(&format!(
                "{case}: listed in known-divergences.json ({reason}) but pgtls now agrees; remove the entry\n"
            ));
        }
    }
    if !report.is_empty() {
        report = format!(
            "`pgtls hba check` differs from PostgreSQL {version} in {} of {attempts} connection attempts ({seen:?}):\n{report}",
            diverged.len()
        );
    }
    Summary {
        version,
        attempts,
        skipped,
        logged_lines,
        in_included_file,
        build: server_args.extra.join(" "),
        seen,
        report,
    }
}
