//! `enforce_tls` against a real PostgreSQL 15: a permissive pg_hba.conf lets
//! plain TCP in; after the rewrite the server refuses every plain TCP
//! connection (ordinary and physical replication) with exactly the message
//! pgtls predicts, and TLS connections still get in.

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
fn enforced_file_refuses_plain_tcp_on_a_real_server() {
    require_openssl().unwrap();
    let cluster = Cluster::init().unwrap();
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
            "plain TCP (replication={repl}) refused before the rewrite: {err}"
        );
    }

    let settings = ServerSettings::new(PgVersion::V15, true);
    let before = HbaFile::parse_str(PERMISSIVE, settings.clone());
    let rewritten = enforce_tls(&before);
    let after = HbaFile::parse_str(&rewritten.text, settings);
    assert!(after.load().is_ok(), "{}", rewritten.text);
    let from = cluster.log_len();
    cluster.write_hba(&rewritten.text).unwrap();
    cluster.reload().unwrap();
    assert!(
        !cluster.log_since(from).contains("was not reloaded"),
        "the server did not take the rewritten file:\n{}",
        cluster.log_since(from)
    );

    for (repl, kind) in [(false, Replication::None), (true, Replication::Physical)] {
        let (ok, err) = attempt(&cluster, "disable", repl);
        assert!(
            !ok,
            "plain TCP (replication={repl}) still gets in:\n{}",
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
            "server said {err:?}, pgtls predicted {msg:?}"
        );
        let (ok, err) = attempt(&cluster, "require", repl);
        assert!(
            ok,
            "TLS (replication={repl}) refused after the rewrite: {err}"
        );
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
}
