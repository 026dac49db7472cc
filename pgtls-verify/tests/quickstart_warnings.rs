//! `pgtls_verify::trial`'s quickstart warnings on certificates and CRLs made by the openssl
//! CLI: an IP-address host that libpq 12-14 refuse (and one they match through the CN), and
//! a CRL libpq loads on its own (`~/.postgresql/root.crl`) that makes it refuse the server,
//! but not a current CRL of the right CA, nor a refusal that is not the CRL's doing. (Real
//! psql agrees: `pgtls-cli/tests/quickstart_try.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use pgtls_testkit::pki::{Leaf, OpensslCa, openssl_time};
use pgtls_testkit::require_openssl;
use pgtls_verify::trial::{WarningCode, warn_client_crl, warn_ip_hosts};
use pgtls_verify::{CertificateDer, Env, PgVersion, UnixTime, read_chain_file};

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(SystemTime::now().duration_since(UNIX_EPOCH).unwrap())
}

fn chain(path: &Path) -> Vec<CertificateDer<'static>> {
    read_chain_file(path).unwrap()
}

fn hosts(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn an_ip_host_is_warned_about_only_where_libpq_14_refuses_it() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ca = OpensslCa::root(tmp.path(), "ca").unwrap();
    let san = ["DNS:db.example.test", "IP:127.0.0.1"];
    ca.issue("mixed", "/CN=db.example.test", Leaf::Server(&san), None)
        .unwrap();
    ca.issue(
        "iponly",
        "/CN=127.0.0.1",
        Leaf::Server(&["IP:127.0.0.1"]),
        None,
    )
    .unwrap();
    ca.issue(
        "othercn",
        "/CN=other",
        Leaf::Server(&["IP:127.0.0.1"]),
        None,
    )
    .unwrap();
    let leaf = |stem: &str| chain(&tmp.path().join(format!("{stem}.crt"))).remove(0);

    // A dNSName SAN: libpq 12-14 ignore the CN and the iPAddress SAN.
    let w = warn_ip_hosts(
        leaf("mixed").as_ref(),
        &hosts(&["db.example.test", "127.0.0.1"]),
    );
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, WarningCode::IpHostOldLibpq);
    assert!(
        w[0].message.starts_with(
            "--host 127.0.0.1: libpq 12 to 14 match no iPAddress SAN (and no CN when a dNSName \
             SAN is present): their verify-full with host=127.0.0.1 fails (server certificate \
             for \"db.example.test\" does not match host name \"127.0.0.1\")"
        ),
        "{}",
        w[0].message
    );
    // The DNS name itself is fine.
    assert!(warn_ip_hosts(leaf("mixed").as_ref(), &hosts(&["db.example.test"])).is_empty());
    // No dNSName SAN and the address as CN: libpq 14 matches the CN, no warning.
    assert!(warn_ip_hosts(leaf("iponly").as_ref(), &hosts(&["127.0.0.1"])).is_empty());
    // No dNSName SAN, another CN: refused; first host, so the printed strings say it.
    let w = warn_ip_hosts(leaf("othercn").as_ref(), &hosts(&["127.0.0.1"]));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message
            .starts_with("--host 127.0.0.1 (the printed connection strings' host=): "),
        "{}",
        w[0].message
    );
    assert!(
        w[0].message.contains(
            "fails (server certificate for \"other\" does not match host name \"127.0.0.1\")"
        ),
        "{}",
        w[0].message
    );
}

#[test]
fn a_crl_libpq_loads_unasked_is_warned_about_only_when_it_refuses_the_server() {
    require_openssl().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for d in ["ca", "other", "rogue"] {
        fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let ca = OpensslCa::root(&tmp.path().join("ca"), "ca").unwrap();
    let other = OpensslCa::root(&tmp.path().join("other"), "other").unwrap();
    ca.issue(
        "server",
        "/CN=db.example.test",
        Leaf::Server(&["DNS:db.example.test"]),
        None,
    )
    .unwrap();
    ca.crl("current.crl", None).unwrap();
    let (past, older) = (openssl_time(-7200), openssl_time(-3600));
    ca.crl("expired.crl", Some((&past, &older))).unwrap();
    other.crl("other.crl", None).unwrap();
    // A server certificate of a CA the client does not trust.
    let rogue = OpensslCa::root(&tmp.path().join("rogue"), "rogue").unwrap();
    rogue
        .issue(
            "server",
            "/CN=db.example.test",
            Leaf::Server(&["DNS:db.example.test"]),
            None,
        )
        .unwrap();

    let home = tmp.path().join("home");
    fs::create_dir_all(home.join(".postgresql")).unwrap();
    let env = Env::empty().with_var("HOME", home.to_str().unwrap());
    let conninfo = format!(
        "host=db.example.test user=app dbname=postgres sslmode=verify-full sslrootcert={}",
        ca.crt().display()
    );
    let server = chain(&tmp.path().join("ca/server.crt"));
    let warn = |crl: Option<&Path>, presented: &[CertificateDer<'_>]| {
        let root_crl = home.join(".postgresql/root.crl");
        let _ = fs::remove_file(&root_crl);
        if let Some(c) = crl {
            fs::copy(c, &root_crl).unwrap();
        }
        warn_client_crl(&conninfo, &env, PgVersion::V15, presented, now())
    };
    // No root.crl, or the CA's own current one: nothing to say.
    assert_eq!(warn(None, &server), None);
    let current = tmp.path().join("ca/current.crl");
    assert_eq!(warn(Some(&current), &server), None);
    // Another CA's CRL: libpq checks CRLs for every certificate and finds none for ours.
    let w = warn(Some(&tmp.path().join("other/other.crl")), &server).unwrap();
    assert_eq!(w.code, WarningCode::ClientCrl);
    assert!(
        w.message.contains(&format!(
            "(1 CRL(s) from {}: CRL_CHECK|CRL_CHECK_ALL on)",
            home.join(".postgresql/root.crl").display()
        )) && w
            .message
            .contains("SSL error: certificate verify failed: X509_V_ERR 3 at depth 0: unable to get certificate CRL"),
        "{}",
        w.message
    );
    // The CA's own CRL, expired.
    let w = warn(Some(&tmp.path().join("ca/expired.crl")), &server).unwrap();
    assert!(w.message.contains("CRL has expired"), "{}", w.message);
    // A refusal that is not the CRL's doing (an untrusted issuer): not this warning.
    let untrusted = chain(&tmp.path().join("rogue/server.crt"));
    assert_eq!(
        warn(Some(&tmp.path().join("other/other.crl")), &untrusted),
        None
    );
    // libpq 14 reads the password database's home, not HOME: this HOME's file is not its.
    let env14 = env
        .clone()
        .with_passwd_home(Some(tmp.path().join("nohome")));
    fs::copy(
        tmp.path().join("other/other.crl"),
        home.join(".postgresql/root.crl"),
    )
    .unwrap();
    assert_eq!(
        warn_client_crl(&conninfo, &env14, PgVersion::V14, &server, now()),
        None
    );
}
