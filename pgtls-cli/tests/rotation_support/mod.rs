//! What the rotation tests share: a PKI made with the openssl CLI (an old and a new
//! root, a new intermediate also cross-signed by the old root, server leaves under each,
//! client CAs with CRLs) and a runner for `pgtls`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgtls_testkit::openssl;

/// The certificates of a rotation, all in one directory.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n";

impl Pki {
    /// Makes every file in `dir` (fresh P-256 keys).
    pub(crate) fn make(dir: &Path) -> Self {
        pgtls_testkit::require_openssl().unwrap();
        let p = Self {
            dir: dir.to_path_buf(),
        };
        fs::write(dir.join("ca.ext"), CA_EXT).unwrap();
        fs::write(
            dir.join("int.ext"),
            format!("{CA_EXT}authorityKeyIdentifier=keyid\n"),
        )
        .unwrap();
        for (name, sans) in [
            ("both-names", "DNS:localhost,IP:127.0.0.1"),
            ("localhost-only", "DNS:localhost"),
        ] {
            fs::write(
                dir.join(format!("{name}.ext")),
                format!(
                    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName={sans}\nauthorityKeyIdentifier=keyid\n"
                ),
            )
            .unwrap();
        }
        p.root("old", "/O=pgtls-test/CN=Old Root CA");
        p.root("new", "/O=pgtls-test/CN=New Root CA");
        // The new intermediate, signed by the new root and (same key, same name) by the old.
        p.csr("newint", "/O=pgtls-test/CN=New Intermediate CA");
        p.sign("newint", "new", "newint.crt", "int.ext");
        p.sign("newint", "old", "newint-cross.crt", "int.ext");
        // Server leaves.
        p.csr("leaf-old", "/CN=localhost");
        p.sign("leaf-old", "old", "leaf-old.crt", "both-names.ext");
        p.csr("leaf-new", "/CN=localhost");
        p.sign("leaf-new", "new", "leaf-new.crt", "localhost-only.ext");
        p.csr("leaf-int", "/CN=localhost");
        p.sign_with(
            "leaf-int",
            "newint.crt",
            "newint.key",
            "leaf-int.crt",
            "both-names.ext",
        );
        p.cat("both.crt", &["old.crt", "new.crt"]);
        p.cat("before.pem", &["leaf-old.crt"]);
        p.cat("after.pem", &["leaf-new.crt"]);
        p.cat("after-int.pem", &["leaf-int.crt", "newint.crt"]);
        p.cat("after-cross.pem", &["leaf-int.crt", "newint-cross.crt"]);
        p.cat("before-key.pem", &["leaf-old.key"]);
        p.cat("after-key.pem", &["leaf-new.key"]);
        // Client CAs and their CRLs.
        p.root("cca-old", "/O=pgtls-test/CN=Old Client CA");
        p.root("cca-new", "/O=pgtls-test/CN=New Client CA");
        p.crl("cca-old");
        p.crl("cca-new");
        p.crl("old");
        p.crl("new");
        for f in fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "key") {
                fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
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
        fs::write(
            self.path("client.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        self.csr(name, &format!("/CN={cn}"));
        self.sign(name, ca, &format!("{name}.crt"), "client.ext");
        fs::set_permissions(
            self.path(&format!("{name}.key")),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }

    fn run(&self, args: &[&str]) {
        openssl(&self.dir, args).unwrap();
    }

    fn root(&self, name: &str, subj: &str) {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        self.run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-subj",
            subj,
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    fn csr(&self, name: &str, subj: &str) {
        let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
        self.run(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subj,
        ]);
    }

    fn sign(&self, name: &str, ca: &str, out: &str, ext: &str) {
        self.sign_with(name, &format!("{ca}.crt"), &format!("{ca}.key"), out, ext);
    }

    fn sign_with(&self, name: &str, ca_crt: &str, ca_key: &str, out: &str, ext: &str) {
        let csr = format!("{name}.csr");
        self.run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-set_serial",
            &format!("{}", 1000 + rand_serial()),
            "-days",
            "365",
            "-sha256",
            "-extfile",
            ext,
            "-out",
            out,
        ]);
    }

    fn cat(&self, out: &str, parts: &[&str]) {
        let mut text = String::new();
        for p in parts {
            text.push_str(&fs::read_to_string(self.path(p)).unwrap());
        }
        fs::write(self.path(out), text).unwrap();
    }

    /// An empty CRL of CA `name` (30 days), at `NAME.crl`.
    fn crl(&self, name: &str) {
        let index = format!("{name}.index");
        fs::write(self.path(&index), "").unwrap();
        fs::write(self.path(&format!("{name}.crlnumber")), "01\n").unwrap();
        let conf = format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {index}\ncrlnumber = {name}.crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n"
        );
        fs::write(self.path(&format!("{name}.cnf")), conf).unwrap();
        self.run(&[
            "ca",
            "-gencrl",
            "-config",
            &format!("{name}.cnf"),
            "-cert",
            &format!("{name}.crt"),
            "-keyfile",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crl"),
        ]);
    }
}

fn rand_serial() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::process::id().wrapping_mul(97) % 100_000 + N.fetch_add(1, Ordering::Relaxed)
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
