//! Multi-host strings, `target_session_attrs`, `load_balance_hosts`,
//! `require_auth` and `sslnegotiation`: the same conninfo (and environment)
//! through `pgtls_postgres::connect` and through psql, against real servers
//! (pgtls-testkit's clusters: a primary, a streaming hot standby made with
//! `pg_basebackup -R`, a read-only primary, a closed port).
//!
//! Asserted per row as in `client_auth_live.rs` (both connect or both refuse,
//! TLS in one exactly when in the other, psql's message in full) and, for the
//! multi-host rows, that the session is on the same server (its port).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{SSL_PORT_QUERY, Suite, fixtures, tls_cluster};
use pgtls_testkit::{Cluster, client_major, full_matrix, pg_versions};
use pgtls_verify::PgVersion;

/// Every `target_session_attrs` value libpq 14+ knows, absent, and a bad one.
const SESSION_ATTRS: [&str; 8] = [
    "",
    "any",
    "read-write",
    "read-only",
    "primary",
    "standby",
    "prefer-standby",
    "bogus",
];

/// pg_hba.conf for the multi-host clusters: trust over TCP (authentication is
/// not what these rows are about), local replication for the standby.
const TRUST_HBA: &str =
    "local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 trust\n";

/// A primary, its streaming standby and a read-only primary
/// (`default_transaction_read_only = on`, not in recovery) of `major`, with TLS.
fn servers(dir: &std::path::Path, major: u32) -> (Cluster, Cluster, Cluster) {
    let primary = tls_cluster(dir, major);
    primary.write_hba(TRUST_HBA).unwrap();
    primary.reload().unwrap();
    let standby = primary.standby().unwrap();
    let ro = tls_cluster(dir, major);
    ro.append_conf("default_transaction_read_only = on\n")
        .unwrap();
    ro.write_hba(TRUST_HBA).unwrap();
    ro.reload().unwrap();
    (primary, standby, ro)
}

fn tsa_keyword(tsa: &str) -> String {
    if tsa.is_empty() {
        String::new()
    } else {
        format!("target_session_attrs={tsa}")
    }
}

/// Multi-host strings on PostgreSQL 15: a primary, a standby, a read-only
/// primary and a closed port in several orders x `target_session_attrs` x
/// sslmode (per-host `verify-full`: each host's own name is checked) x
/// host/hostaddr forms (every value in two of them, a sample in the others),
/// and `PGTARGETSESSIONATTRS`.
#[test]
fn multi_host_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let (primary, standby, ro) = servers(dir, 15);
    let down = pgtls_testkit::free_port().unwrap();
    let (p, sb, r) = (primary.port(), standby.port(), ro.port());
    let root = dir.join("root.pem").display().to_string();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.display().to_string();
    let mut s = Suite::new("multi-host", PgVersion::V15);
    s.query = SSL_PORT_QUERY;
    let lists: Vec<(&str, Vec<u16>)> = vec![
        ("down,primary", vec![down, p]),
        ("primary,down", vec![p, down]),
        ("down,down", vec![down, down]),
        ("ro,primary", vec![r, p]),
        ("primary,ro", vec![p, r]),
        ("ro,ro", vec![r, r]),
        ("down,ro,primary", vec![down, r, p]),
        ("down,ro", vec![down, r]),
        ("standby,primary", vec![sb, p]),
        ("primary,standby", vec![p, sb]),
        ("down,standby", vec![down, sb]),
        ("standby,ro", vec![sb, r]),
        ("ro,standby,primary", vec![r, sb, p]),
        ("standby,standby", vec![sb, sb]),
    ];
    for (name, ports) in &lists {
        let n = ports.len();
        let port_list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let forms = [
            ("host", format!("host={}", vec!["127.0.0.1"; n].join(","))),
            (
                "hostaddr",
                format!("hostaddr={}", vec!["127.0.0.1"; n].join(",")),
            ),
            (
                "host+hostaddr",
                format!(
                    "host={} hostaddr={}",
                    vec!["db.example.test"; n].join(","),
                    vec!["127.0.0.1"; n].join(",")
                ),
            ),
            (
                "first host's name wrong",
                format!(
                    "host=other.example.test{} hostaddr={}",
                    ",db.example.test".repeat(n - 1),
                    vec!["127.0.0.1"; n].join(",")
                ),
            ),
        ];
        for (form, hosts) in &forms {
            for sslmode in ["disable", "prefer", "verify-full"] {
                if sslmode == "verify-full" && *form == "hostaddr" {
                    continue;
                }
                let every_value = matches!(
                    (*form, sslmode),
                    ("host", "disable") | ("host+hostaddr", "verify-full")
                );
                for tsa in SESSION_ATTRS {
                    if !every_value && !["", "read-write", "standby"].contains(&tsa) {
                        continue;
                    }
                    let ci = format!(
                        "{hosts} port={port_list} user=postgres dbname=postgres sslmode={sslmode} sslrootcert={root} {}",
                        tsa_keyword(tsa)
                    );
                    let _ = s.row(
                        &primary,
                        &format!("{name}, {form}"),
                        &ci,
                        &[("HOME", home.as_str())],
                    );
                }
            }
        }
    }
    // The environment variable, and the string beating it.
    for (env_tsa, kw) in [
        ("standby", ""),
        ("prefer-standby", ""),
        ("primary", ""),
        ("bogus", ""),
        ("standby", "target_session_attrs=primary"),
    ] {
        let ci = format!(
            "host=127.0.0.1,127.0.0.1,127.0.0.1 port={r},{sb},{p} user=postgres dbname=postgres sslmode=disable {kw}"
        );
        let _ = s.row(
            &primary,
            "PGTARGETSESSIONATTRS",
            &ci,
            &[("HOME", home.as_str()), ("PGTARGETSESSIONATTRS", env_tsa)],
        );
    }
    // A host name that does not resolve, then the primary.
    let _ = s.row(
        &primary,
        "unresolvable,primary",
        &format!("host=nonexistent.invalid,127.0.0.1 port={p} user=postgres dbname=postgres sslmode=disable"),
        &[("HOME", home.as_str())],
    );
    assert!(s.same_server > 0, "no session compared by server");
    assert!(
        s.by_design.is_empty(),
        "refused by design: {:#?}",
        s.by_design
    );
    s.finish();
}

/// `target_session_attrs` on other versions: a primary and its standby, a
/// sample of the orders x every value (all orders with
/// `PGTLS_PG_MATRIX=full`). By default on 13 (libpq 14 against a server that
/// reports no `in_hot_standby`: libpq asks `pg_is_in_recovery()` and
/// `SHOW transaction_read_only` instead) and 18; libpq's code for this is the
/// same in 14 to 18. `PGTLS_PG_MATRIX=full`: every version of
/// `PGTLS_PG_VERSIONS`.
#[test]
fn target_session_attrs_other_versions() {
    let fx = fixtures();
    let dir = fx.path();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.display().to_string();
    let versions: Vec<u32> = pg_versions()
        .unwrap()
        .into_iter()
        .filter(|m| *m != pgtls_testkit::PG_MAJOR)
        .collect();
    let sampled: Vec<u32> = versions
        .iter()
        .copied()
        .filter(|m| full_matrix(*m).unwrap() || [13, 18].contains(m))
        .collect();
    let sampled = if sampled.is_empty() {
        versions.into_iter().take(1).collect()
    } else {
        sampled
    };
    if sampled.is_empty() {
        println!("PGTLS_PG_VERSIONS names only 15: multi_host_agrees_with_psql has its rows");
        return;
    }
    let mut ran = 0;
    for major in sampled {
        let primary = tls_cluster(dir, major);
        primary.write_hba(TRUST_HBA).unwrap();
        primary.reload().unwrap();
        let standby = primary.standby().unwrap();
        let down = pgtls_testkit::free_port().unwrap();
        let (p, sb) = (primary.port(), standby.port());
        let version = PgVersion::new(client_major(major)).unwrap();
        let mut s = Suite::new("target_session_attrs", version);
        s.query = SSL_PORT_QUERY;
        let mut lists = vec![vec![sb, p], vec![p, sb], vec![down, sb, p]];
        if full_matrix(major).unwrap() {
            lists.extend([vec![sb, sb], vec![down, down], vec![p, p]]);
        }
        for ports in &lists {
            let hosts = vec!["127.0.0.1"; ports.len()].join(",");
            let port_list = ports
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",");
            for tsa in SESSION_ATTRS {
                let ci = format!(
                    "host={hosts} port={port_list} user=postgres dbname=postgres sslmode=prefer {}",
                    tsa_keyword(tsa)
                );
                let _ = s.row(
                    &primary,
                    &format!("server {major}, psql {}", client_major(major)),
                    &ci,
                    &[("HOME", home.as_str())],
                );
            }
        }
        assert!(s.same_server > 0, "{major}: no session compared by server");
        ran += s.rows;
        s.finish();
    }
    assert!(ran > 0, "no rows ran");
}

/// The server address a session is on (one server listening on three
/// loopback addresses stands for three hosts).
const ADDR_QUERY: &str = "select host(inet_server_addr())";

/// `load_balance_hosts` (16+): bad values, the environment variable and
/// libpq 15's refusal of the keyword compared with psql 15, 16, 17 and 18
/// (messages equal); then `random` over three addresses of one PostgreSQL 18
/// server: with seeds, pgtls-postgres reaches every host and tries them in
/// more than one order (all refused: the same failure lines as psql, in other
/// orders); without a seed it, and psql, reach every host within 60
/// connections (a miss has probability below 1e-10).
#[test]
fn load_balance_hosts_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.display().to_string();
    let c = Cluster::builder().version(18).init().unwrap();
    c.append_conf("listen_addresses = '127.0.0.1,127.0.0.2,127.0.0.3'\n")
        .unwrap();
    let c = c.start_initialized().unwrap();
    c.write_hba("local all all trust\nhost all all 127.0.0.0/8 trust\n")
        .unwrap();
    c.reload().unwrap();
    let port = c.port();
    let down = pgtls_testkit::free_port().unwrap();
    let three = "host=127.0.0.1,127.0.0.2,127.0.0.3";
    let base = format!("{three} port={port} user=postgres dbname=postgres sslmode=disable");
    let env = [("HOME", home.as_str())];

    // Values and versions: exact comparison.
    let mut s = Suite::new("load_balance_hosts", PgVersion::V18);
    s.query = ADDR_QUERY;
    for (major, version) in [
        (15, PgVersion::V15),
        (16, PgVersion::V16),
        (17, PgVersion::V17),
        (18, PgVersion::V18),
    ] {
        s.version = version;
        s.psql = Some(pgtls_testkit::PgBuild::client(major).unwrap());
        for (kw, env_lb) in [
            ("load_balance_hosts=bogus", None),
            ("load_balance_hosts=", None),
            ("load_balance_hosts=Random", None),
            ("load_balance_hosts=disable", None),
            ("", Some("bogus")),
            ("", Some("disable")),
            ("load_balance_hosts=disable", Some("bogus")),
            // One host: random has nothing to shuffle.
            (
                "load_balance_hosts=random host=127.0.0.2 hostaddr=127.0.0.2",
                None,
            ),
            ("", Some("random")),
        ] {
            let mut e = env.to_vec();
            if let Some(v) = env_lb {
                e.push(("PGLOADBALANCEHOSTS", v));
            }
            let ci = if kw.contains("host=") {
                format!("port={port} user=postgres dbname=postgres sslmode=disable {kw}")
            } else {
                format!("{base} {kw}")
            };
            // With 16+ and PGLOADBALANCEHOSTS=random either host may come up:
            // those rows are compared below, not here.
            if major >= 16 && env_lb == Some("random") {
                continue;
            }
            let _ = s.row(&c, &format!("psql {major}"), &ci, &e);
        }
    }
    s.finish();

    // random: every host reachable, orders differ.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pgtls = |ci: &str, seed: Option<u64>| -> Result<String, String> {
        let mut o = pgtls_postgres::Options::new()
            .pg_version(PgVersion::V18)
            .env(pgtls_verify::Env::empty().with_var("HOME", &home));
        if let Some(seed) = seed {
            o = o.random_seed(seed);
        }
        rt.block_on(async {
            match o.connect(ci).await {
                Ok((client, connection)) => {
                    let task = tokio::spawn(connection);
                    let row = client.query_one(ADDR_QUERY, &[]).await.unwrap();
                    drop(client);
                    task.await.unwrap().unwrap();
                    Ok(row.get::<_, String>(0))
                }
                Err(e) => Err(e.libpq_message()),
            }
        })
    };
    let random = format!("{base} load_balance_hosts=random");
    let mut seen = std::collections::BTreeMap::new();
    for seed in 0..30 {
        let a = pgtls(&random, Some(seed)).unwrap();
        // The same seed, the same host.
        assert_eq!(pgtls(&random, Some(seed)).unwrap(), a, "seed {seed}");
        *seen.entry(a).or_insert(0) += 1;
    }
    println!("load_balance_hosts=random, seeds 0..30, sessions per address: {seen:?}");
    assert_eq!(seen.len(), 3, "not every host reached: {seen:?}");

    // All refused: psql's lines, in an order that depends on the seed.
    let refused = format!(
        "{three} port={down} user=postgres dbname=postgres sslmode=disable load_balance_hosts=random"
    );
    let want = common::via_psql(
        &c,
        None,
        &refused,
        &[("HOME".into(), home.clone())],
        ADDR_QUERY,
    )
    .unwrap_err();
    let sorted = |t: &str| {
        let mut v: Vec<String> = t
            .split("connection to server")
            .filter(|l| !l.is_empty())
            .map(|l| l.trim_end().to_string())
            .collect();
        v.sort();
        v
    };
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let got = pgtls(&refused, Some(seed)).unwrap_err();
        assert_eq!(
            sorted(&got),
            sorted(&want),
            "seed {seed}:\n{got}\npsql:\n{want}"
        );
        orders.insert(got);
    }
    println!(
        "all refused: {} orders of the failure lines in 12 seeds",
        orders.len()
    );
    assert!(orders.len() > 1, "the hosts were tried in one order only");

    // No seed: strong random bits per connection, as libpq.
    for who in ["pgtls-postgres", "psql"] {
        let mut reached = std::collections::BTreeSet::new();
        let mut tries = 0;
        while reached.len() < 3 && tries < 60 {
            tries += 1;
            let r = if who == "psql" {
                common::via_psql(
                    &c,
                    None,
                    &random,
                    &[("HOME".into(), home.clone())],
                    ADDR_QUERY,
                )
            } else {
                pgtls(&random, None)
            };
            reached.insert(r.unwrap());
        }
        println!("{who}: every host reached in {tries} connections");
        assert_eq!(
            reached.len(),
            3,
            "{who}: {reached:?} in {tries} connections"
        );
    }
}

/// `require_auth` values: single methods, negations, `none`, lists, the
/// refusals of the grammar (mixed, duplicated, unknown, empty elements), and
/// the empty string (libpq keeps it: nothing is allowed but a server that asks
/// for no authentication).
const REQUIRE_AUTH: [&str; 30] = [
    "",
    "password",
    "md5",
    "scram-sha-256",
    "none",
    "gss",
    "sspi",
    "oauth",
    "!password",
    "!md5",
    "!scram-sha-256",
    "!none",
    "!gss",
    "!oauth",
    "password,md5",
    "md5,scram-sha-256",
    "scram-sha-256,none",
    "none,password",
    "!password,!md5",
    "!md5,!scram-sha-256",
    "!none,!password",
    "!none,!scram-sha-256",
    "password,!md5",
    "!md5,password",
    "password,password",
    "!none,!none",
    "none,none",
    "bogus",
    "password,",
    "PASSWORD",
];

/// A pg_hba.conf case: its name, its lines, the users (and passwords) tried.
type HbaCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// The values whose meaning changed in 18 (SASL mechanisms tracked on their
/// own, `oauth`), sampled on 16 and 17.
const REQUIRE_AUTH_SAMPLE: [&str; 9] = [
    "",
    "scram-sha-256",
    "!scram-sha-256",
    "oauth",
    "!oauth",
    "none",
    "password",
    "!none,!scram-sha-256",
    "!password,!md5",
];

/// `require_auth` (16+) against servers asking for no authentication
/// (`trust`, `cert`), a cleartext password, MD5 (an MD5-stored password) and
/// SCRAM (`md5` and `scram-sha-256` lines with SCRAM-stored passwords; over
/// TLS SCRAM-SHA-256-PLUS): every value on 18 x sslmode disable/require, the
/// values 18 changed on 16 and 17, `PGREQUIREAUTH`, no password given, with
/// `channel_binding`, over prefer's plaintext retry; libpq 15 refusing the keyword.
#[test]
fn require_auth_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let (home, cert) = common::home_and_cert(dir);
    let hbas: [HbaCase<'_>; 5] = [
        (
            "trust",
            "host all all 127.0.0.1/32 trust\n",
            &[("postgres", "secret")],
        ),
        (
            "password",
            "host all all 127.0.0.1/32 password\n",
            &[("postgres", "secret")],
        ),
        (
            "md5",
            "host all all 127.0.0.1/32 md5\n",
            &[("postgres", "secret"), ("md5user", "md5pw")],
        ),
        (
            "scram-sha-256",
            "host all all 127.0.0.1/32 scram-sha-256\n",
            &[("postgres", "secret")],
        ),
        (
            "cert",
            "hostssl all all 127.0.0.1/32 cert\n",
            &[("postgres", "secret")],
        ),
    ];
    let mut total = 0;
    for major in [18, 17, 16] {
        let c = tls_cluster(dir, major);
        c.sql("set password_encryption = 'md5'; create role md5user login password 'md5pw'")
            .unwrap();
        let port = c.port();
        let version = PgVersion::new(major).unwrap();
        let mut s = Suite::new("require_auth", version);
        let values: &[&str] = if major == 18 || full_matrix(major).unwrap() {
            &REQUIRE_AUTH
        } else {
            &REQUIRE_AUTH_SAMPLE
        };
        for (hba_name, hba, users) in &hbas {
            c.write_hba(&format!("local all all trust\n{hba}")).unwrap();
            c.reload().unwrap();
            for (user, pw) in *users {
                for sslmode in ["disable", "require"] {
                    let base = format!(
                        "host=127.0.0.1 port={port} user={user} dbname=postgres sslmode={sslmode} {cert}"
                    );
                    for ra in values {
                        let ci = format!("{base} password={pw} require_auth='{ra}'");
                        let _ = s.row(
                            &c,
                            &format!("server {major}, hba {hba_name}"),
                            &ci,
                            &[("HOME", home.as_str())],
                        );
                    }
                    if major != 18 {
                        continue;
                    }
                    // No password: the requirement is checked before libpq asks for one.
                    for ra in ["password", "scram-sha-256", "!md5", "none"] {
                        let ci = format!("{base} require_auth={ra}");
                        let _ = s.row(
                            &c,
                            &format!("server {major}, hba {hba_name}, no password"),
                            &ci,
                            &[("HOME", home.as_str())],
                        );
                    }
                    // The environment variable, and the string beating it.
                    for (env_ra, kw) in [
                        ("md5", ""),
                        ("", ""),
                        ("!password", ""),
                        ("password", "require_auth=scram-sha-256"),
                    ] {
                        let ci = format!("{base} password={pw} {kw}");
                        let _ = s.row(
                            &c,
                            &format!("server {major}, hba {hba_name}, PGREQUIREAUTH"),
                            &ci,
                            &[("HOME", home.as_str()), ("PGREQUIREAUTH", env_ra)],
                        );
                    }
                    // With channel_binding: whose refusal comes first.
                    for (ra, cb) in [
                        ("scram-sha-256", "require"),
                        ("password", "require"),
                        ("!scram-sha-256", "require"),
                        ("none", "require"),
                        ("!scram-sha-256", "disable"),
                    ] {
                        let ci =
                            format!("{base} password={pw} require_auth={ra} channel_binding={cb}");
                        let _ = s.row(
                            &c,
                            &format!("server {major}, hba {hba_name}, channel_binding"),
                            &ci,
                            &[("HOME", home.as_str())],
                        );
                    }
                }
            }
        }
        if major == 18 {
            // prefer: TLS refused by the server's rules, then plaintext.
            c.write_hba(
                "local all all trust\nhostssl all all 127.0.0.1/32 reject\nhost all all 127.0.0.1/32 password\n",
            )
            .unwrap();
            c.reload().unwrap();
            for ra in ["password", "scram-sha-256", "!password", "none"] {
                let ci = format!(
                    "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=prefer password=secret require_auth={ra}"
                );
                let _ = s.row(
                    &c,
                    "prefer's plaintext retry",
                    &ci,
                    &[("HOME", home.as_str())],
                );
            }
            // A Unix-domain socket: refused by design, whatever psql does.
            let sock = c.socket_dir().display().to_string();
            let mut by_design = Suite::new("require_auth (socket)", version);
            let _ = by_design.row(
                &c,
                "socket",
                &format!("host={sock} port={port} user=postgres dbname=postgres require_auth=none"),
                &[("HOME", home.as_str())],
            );
            assert_eq!(by_design.by_design.len(), 1, "{:?}", by_design.by_design);
            // libpq 15 knows no require_auth (PGREQUIREAUTH is not read).
            c.write_hba("local all all trust\nhost all all 127.0.0.1/32 password\n")
                .unwrap();
            c.reload().unwrap();
            s.version = PgVersion::V15;
            s.psql = Some(pgtls_testkit::PgBuild::client(15).unwrap());
            for (kw, env_ra) in [("require_auth=password", None), ("", Some("md5"))] {
                let mut e = vec![("HOME", home.as_str())];
                if let Some(v) = env_ra {
                    e.push(("PGREQUIREAUTH", v));
                }
                let ci = format!(
                    "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable password=secret {kw}"
                );
                let _ = s.row(&c, "psql 15", &ci, &e);
            }
        }
        total += s.rows;
        s.finish();
    }
    println!("require_auth: {total} rows");
}

/// `sslnegotiation` (17+) on PostgreSQL 17 and 18 servers (psql of the same
/// version): `direct` (TLS at once, ALPN `postgresql`, which those servers
/// require of a direct connection) and `postgres` x every sslmode (`direct`
/// with a weak one is refused) x `PGSSLNEGOTIATION`; `direct` against a
/// server with `ssl = off` and against PostgreSQL 16 (psql 17: no direct TLS
/// there, and no fallback); libpq 16 refusing the keyword.
#[test]
fn sslnegotiation_agrees_with_psql() {
    let fx = fixtures();
    let dir = fx.path();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.display().to_string();
    let root = dir.join("root.pem").display().to_string();
    let env = [("HOME", home.as_str())];
    let mut total = 0;
    for major in [18, 17] {
        let c = tls_cluster(dir, major);
        c.write_hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
            .unwrap();
        c.reload().unwrap();
        let port = c.port();
        let mut s = Suite::new("sslnegotiation", PgVersion::new(major).unwrap());
        for neg in [
            "direct",
            "postgres",
            "bogus",
            "",
            "env:direct",
            "env:postgres",
        ] {
            let (kw, env_neg) = match neg.strip_prefix("env:") {
                Some(v) => (String::new(), Some(v)),
                None if neg.is_empty() => (String::new(), None),
                None => (format!("sslnegotiation={neg}"), None),
            };
            for sslmode in [
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
            ] {
                let ci = format!(
                    "host=db.example.test hostaddr=127.0.0.1 port={port} user=postgres dbname=postgres sslmode={sslmode} sslrootcert={root} {kw}"
                );
                let mut e = env.to_vec();
                if let Some(v) = env_neg {
                    e.push(("PGSSLNEGOTIATION", v));
                }
                let _ = s.row(&c, &format!("server {major}"), &ci, &e);
            }
        }
        // The wrong host under direct: the certificate is judged as ever.
        let _ = s.row(
            &c,
            &format!("server {major}, wrong host"),
            &format!("host=other.example.test hostaddr=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={root} sslnegotiation=direct"),
            &env,
        );
        total += s.rows;
        s.finish();
    }
    // ssl = off: a direct ClientHello to a server without TLS.
    let off = tls_cluster(dir, 17);
    off.write_hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        .unwrap();
    off.append_conf("ssl = off\n").unwrap();
    let off = off.restart().unwrap();
    // PostgreSQL 16, no direct TLS, with psql 17.
    let old = tls_cluster(dir, 16);
    old.write_hba("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        .unwrap();
    old.reload().unwrap();
    let mut s = Suite::new("sslnegotiation (no direct TLS)", PgVersion::V17);
    for (name, c) in [("server 17, ssl off", &off), ("server 16", &old)] {
        if name == "server 16" {
            s.psql = Some(pgtls_testkit::PgBuild::client(17).unwrap());
        }
        for neg in ["direct", "postgres"] {
            for sslmode in ["prefer", "require"] {
                let ci = format!(
                    "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode={sslmode} sslnegotiation={neg}",
                    c.port()
                );
                let _ = s.row(c, &format!("{name}, psql 17"), &ci, &env);
            }
        }
    }
    // libpq 16: the keyword is unknown (PGSSLNEGOTIATION not read).
    s.version = PgVersion::V16;
    s.psql = None;
    for (kw, env_neg) in [("sslnegotiation=direct", None), ("", Some("direct"))] {
        let mut e = env.to_vec();
        if let Some(v) = env_neg {
            e.push(("PGSSLNEGOTIATION", v));
        }
        let ci = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require {kw}",
            old.port()
        );
        let _ = s.row(&old, "psql 16", &ci, &e);
    }
    total += s.rows;
    s.finish();
    println!("sslnegotiation: {total} rows");
}
