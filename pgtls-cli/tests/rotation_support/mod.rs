//! What the rotation tests share: a PKI made with the openssl CLI (an old and a new
//! root, a new intermediate also cross-signed by the old root, server leaves under each,
//! client CAs with CRLs) and a runner for `pgtls`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtls_testkit::pki::{Leaf, OpensslCa};

/// The certificates of a rotation, all in one directory.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    /// The CAs (`old`, `new`, `newint`, `cca-old`, `cca-new`).
    cas: Vec<OpensslCa>,
}

const BOTH_NAMES: &[&str] = &["DNS:localhost", "IP:127.0.0.1"];

impl Pki {
    /// Makes every file in `dir` (fresh P-256 keys, keys 0600).
    pub(crate) fn make(dir: &Path) -> Self {
        pgtls_testkit::require_openssl().unwrap();
        let old = OpensslCa::root_as(dir, "old", "/O=pgtls-test/CN=Old Root CA").unwrap();
        let new = OpensslCa::root_as(dir, "new", "/O=pgtls-test/CN=New Root CA").unwrap();
        // The new intermediate, signed by the new root and (same key, same name) by the old.
        let newint = new
            .intermediate_as("newint", "/O=pgtls-test/CN=New Intermediate CA", None)
            .unwrap();
        old.cross_sign(&newint, "newint-cross.crt").unwrap();
        // Server leaves.
        old.issue("leaf-old", "/CN=localhost", Leaf::Server(BOTH_NAMES), None)
            .unwrap();
        new.issue(
            "leaf-new",
            "/CN=localhost",
            Leaf::Server(&["DNS:localhost"]),
            None,
        )
        .unwrap();
        newint
            .issue("leaf-int", "/CN=localhost", Leaf::Server(BOTH_NAMES), None)
            .unwrap();
        // Client CAs and the CRLs.
        let cca_old = OpensslCa::root_as(dir, "cca-old", "/O=pgtls-test/CN=Old Client CA").unwrap();
        let cca_new = OpensslCa::root_as(dir, "cca-new", "/O=pgtls-test/CN=New Client CA").unwrap();
        for ca in [&cca_old, &cca_new, &old, &new] {
            ca.crl(&format!("{}.crl", ca.name()), None).unwrap();
        }
        let p = Self {
            dir: dir.to_path_buf(),
            cas: vec![old, new, newint, cca_old, cca_new],
        };
        p.cat("both.crt", &["old.crt", "new.crt"]);
        p.cat("before.pem", &["leaf-old.crt"]);
        p.cat("after.pem", &["leaf-new.crt"]);
        p.cat("after-int.pem", &["leaf-int.crt", "newint.crt"]);
        p.cat("after-cross.pem", &["leaf-int.crt", "newint-cross.crt"]);
        p.cat("before-key.pem", &["leaf-old.key"]);
        p.cat("after-key.pem", &["leaf-new.key"]);
        p
    }

    /// A file of the PKI.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Its path as text.
    pub(crate) fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// A client certificate for `cn` issued by client CA `ca` (`cca-old`, `cca-new`), at
    /// `NAME.crt` and `NAME.key` (0600).
    pub(crate) fn client_leaf(&self, name: &str, ca: &str, cn: &str) {
        let ca = self
            .cas
            .iter()
            .find(|c| c.name() == ca)
            .unwrap_or_else(|| panic!("no CA {ca} in the rotation PKI"));
        ca.issue(name, &format!("/CN={cn}"), Leaf::Client, None)
            .unwrap();
    }

    fn cat(&self, out: &str, parts: &[&str]) {
        let mut text = String::new();
        for p in parts {
            text.push_str(&fs::read_to_string(self.path(p)).unwrap());
        }
        fs::write(self.path(out), text).unwrap();
    }
}

/// The libpq environment variables a test clears (pgtls and psql alike).
pub(crate) const LIBPQ_ENV: &[&str] = &[
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
    "PGSSLCERTMODE",
    "PGSSLSNI",
    "PGREQUIRESSL",
];

/// Runs `pgtls` with the libpq environment cleared and `env` set.
pub(crate) fn pgtls(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgtls"));
    c.args(args);
    for v in LIBPQ_ENV {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().unwrap()
}

/// Stdout and stderr as text.
pub(crate) fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
