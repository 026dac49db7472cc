//! `enforce_tls` against real PostgreSQL servers 12 to 18
//! (`PGTLS_PG_VERSIONS`), one cluster per version in parallel: a permissive
//! pg_hba.conf lets plain TCP in; after the rewrite the server refuses every
//! plain TCP connection (ordinary and physical replication) with exactly the
//! message pgtls predicts for that version, and TLS connections still get
//! in. The six rows are the whole matrix on every version (what differs
//! between versions is the refusal's wording, which every row checks).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pgtls_hba::{HbaFile, PgVersion, Replication, Request, ServerSettings, enforce_tls, evaluate};
use pgtls_testkit::{Cluster, openssl, require_openssl};

const PERMISSIVE: &str = "\
# a permissive file: trust everywhere
local all all trust
host  all all 127.0.0.1/32 trust   # loopback
hostnossl all all all trust
host replication all 127.0.0.1/32 trust
";

fn server_cert(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
            "-subj",
            "/CN=localhost",
            "-days",
            "2",
        ],
    )
    .unwrap();
    (
        std::fs::read(dir.join("server.crt")).unwrap(),
        std::fs::read(dir.join("server.key")).unwrap(),
    )
}

fn attempt(c: &Cluster, sslmode: &str, replication: bool) -> (bool, String) {
    let mut conninfo = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode={sslmode}",
        c.port()
    );
    let sql = if replication {
        conninfo.push_str(" replication=true");
        "IDENTIFY_SYSTEM"
    } else {
        "select 1"
    };
    let out = c.psql(&["-X", "-At", "-c", sql], &conninfo, &[]).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn enforced_file_refuses_plain_tcp_on_every_server_version() {
    require_openssl().unwrap();
    pgtls_testkit::rows_on_every_version(run_version);
}

/// The scenario on a server of `version`; the rows run (a failed row panics,
/// naming the version).
fn run_version(version: u32) -> usize {
    let mut rows = 0;
    let cluster = Cluster::builder().version(version).init().unwrap();
    let (crt, key) = server_cert(&cluster.data_dir());
    cluster.write_file("server.crt", &crt, 0o600).unwrap();
    cluster.write_file("server.key", &key, 0o600).unwrap();
    cluster
        .append_conf("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        .unwrap();
    cluster.write_hba(PERMISSIVE).unwrap();
    let cluster = cluster.start_initialized().unwrap();

    // The permissive file really lets plain TCP in (so the test can fail).
    for repl in [false, true] {
        let (ok, err) = attempt(&cluster, "disable", repl);
        assert!(
            ok,
            "PostgreSQL {version}: plain TCP (replication={repl}) refused before the rewrite: {err}"
        );
        rows += 1;
    }

    let settings = ServerSettings::new(PgVersion::new(version).unwrap(), true);
    let before = HbaFile::parse_str(PERMISSIVE, settings.clone());
    let rewritten = enforce_tls(&before);
    let after = HbaFile::parse_str(&rewritten.text, settings);
    assert!(after.load().is_ok(), "{}", rewritten.text);
    let from = cluster.log_len();
    cluster.write_hba(&rewritten.text).unwrap();
    cluster.reload().unwrap();
    assert!(
        !cluster.log_since(from).contains("was not reloaded"),
        "PostgreSQL {version} did not take the rewritten file:\n{}",
        cluster.log_since(from)
    );

    for (repl, kind) in [(false, Replication::None), (true, Replication::Physical)] {
        let (ok, err) = attempt(&cluster, "disable", repl);
        assert!(
            !ok,
            "PostgreSQL {version}: plain TCP (replication={repl}) still gets in:\n{}",
            rewritten.text
        );
        let predicted = evaluate(
            &after,
            &Request::tcp("127.0.0.1".parse().unwrap(), "postgres", "postgres")
                .with_replication(kind),
        );
        let msg = predicted.message.expect("a refusal message");
        assert!(
            err.contains(&msg),
            "PostgreSQL {version} said {err:?}, pgtls predicted {msg:?}"
        );
        rows += 1;
        let (ok, err) = attempt(&cluster, "require", repl);
        assert!(
            ok,
            "PostgreSQL {version}: TLS (replication={repl}) refused after the rewrite: {err}"
        );
        rows += 1;
    }
    // Comments and unrelated lines are kept byte for byte.
    assert!(
        rewritten
            .text
            .starts_with("# a permissive file: trust everywhere\n")
    );
    assert!(
        rewritten
            .text
            .contains("hostssl  all all 127.0.0.1/32 trust   # loopback\n")
    );
    rows
}
