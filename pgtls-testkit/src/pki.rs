//! Certificate authorities made with the `openssl` CLI, for tests whose
//! certificates must come from an independent implementation: a root or an
//! intermediate CA that issues P-256 server and client certificates with
//! `openssl ca` (any validity period, also in the past) and publishes CRLs
//! (any thisUpdate and nextUpdate, OpenSSL 3's `-crl_lastupdate` /
//! `-crl_nextupdate`). Every private key is made mode 0600, as libpq and the
//! server want them.
//!
//! All files of a CA live in one directory, named after the CA:
//! `NAME.crt`, `NAME.key`, and `openssl ca`'s `NAME.index`, `NAME.serial`,
//! `NAME.crlnumber`, `NAME.cnf`; a leaf `STEM` gets `STEM.crt`,
//! `STEM.key`, `STEM.csr`, `STEM.ext`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::openssl;

/// `openssl ca`'s configuration: every subject attribute optional and kept
/// as requested (`-preserveDN`), the request's extensions replaced by the
/// extension file's.
const CA_CONF: &str = "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = NAME.index\n\
new_certs_dir = .\nserial = NAME.serial\ncrlnumber = NAME.crlnumber\ndefault_md = sha256\n\
policy = p\ndefault_crl_days = 30\nunique_subject = no\n[p]\ncommonName = optional\n";

const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// What a leaf certificate is for.
#[derive(Clone, Copy, Debug)]
pub enum Leaf<'a> {
    /// A server certificate with these subjectAltName entries (`DNS:x`, `IP:y`)
    /// and extendedKeyUsage serverAuth.
    Server(&'a [&'a str]),
    /// A client certificate (extendedKeyUsage clientAuth).
    Client,
}

/// A validity period or a CRL's thisUpdate/nextUpdate, as `openssl` takes
/// them (`YYYYMMDDHHMMSSZ`; see [`openssl_time`]).
pub type Dates<'a> = (&'a str, &'a str);

/// How long `openssl ca` makes a certificate valid.
#[derive(Clone, Copy)]
enum Period<'a> {
    Days(u32),
    Between(Dates<'a>),
}

/// A CA made with the openssl CLI.
#[derive(Clone, Debug)]
pub struct OpensslCa {
    dir: PathBuf,
    name: String,
}

fn w(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn private(path: &Path) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("chmod 0600 {}: {e}", path.display()))
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";

impl OpensslCa {
    fn prepare(dir: &Path, name: &str) -> Result<Self, String> {
        for (suffix, text) in [
            ("index", String::new()),
            ("serial", "1000\n".to_owned()),
            ("crlnumber", "1000\n".to_owned()),
            ("cnf", CA_CONF.replace("NAME", name)),
            ("ext", CA_EXT.to_owned()),
        ] {
            w(&dir.join(format!("{name}.{suffix}")), &text)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        })
    }

    fn request(&self, stem: &str, subject: &str) -> Result<(), String> {
        let (key, csr) = (format!("{stem}.key"), format!("{stem}.csr"));
        let mut args = vec!["req", "-new"];
        args.extend(EC_KEY);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", subject]);
        openssl(&self.dir, &args)?;
        private(&self.dir.join(&key))
    }

    /// A root CA `/CN=NAME` in `dir`, valid for ten years from now.
    pub fn root(dir: &Path, name: &str) -> Result<Self, String> {
        Self::root_as(dir, name, &format!("/CN={name}"))
    }

    /// A root CA with the files of `name` and the subject `subject` (`/O=x/CN=y`,
    /// as `openssl req -subj` takes it), valid for ten years from now.
    pub fn root_as(dir: &Path, name: &str, subject: &str) -> Result<Self, String> {
        let ca = Self::prepare(dir, name)?;
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            subject.to_owned(),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(EC_KEY);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-subj",
            &subj,
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args)?;
        private(&dir.join(&key))?;
        Ok(ca)
    }

    /// A root CA `/CN=NAME` valid between `dates` (self-signed by `openssl ca
    /// -selfsign`).
    pub fn root_between(dir: &Path, name: &str, dates: Dates<'_>) -> Result<Self, String> {
        let ca = Self::prepare(dir, name)?;
        ca.request(name, &format!("/CN={name}"))?;
        let (conf, key, csr, crt, ext) = (
            format!("{name}.cnf"),
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        openssl(
            dir,
            &[
                "ca",
                "-batch",
                "-notext",
                "-preserveDN",
                "-selfsign",
                "-config",
                &conf,
                "-keyfile",
                &key,
                "-in",
                &csr,
                "-out",
                &crt,
                "-extfile",
                &ext,
                "-startdate",
                dates.0,
                "-enddate",
                dates.1,
            ],
        )?;
        Ok(ca)
    }

    /// Another CA with the same name as this one and a key of its own (what
    /// it signs is not signed by this CA).
    pub fn impostor(&self, dir: &Path) -> Result<Self, String> {
        Self::root(dir, &self.name)
    }

    /// An intermediate CA `/CN=NAME` in this CA's directory, signed by it for
    /// ten years (or between `dates`).
    pub fn intermediate(&self, name: &str, dates: Option<Dates<'_>>) -> Result<Self, String> {
        self.intermediate_as(name, &format!("/CN={name}"), dates)
    }

    /// An intermediate CA with the files of `name` and the subject `subject`, in
    /// this CA's directory, signed by it for ten years (or between `dates`).
    pub fn intermediate_as(
        &self,
        name: &str,
        subject: &str,
        dates: Option<Dates<'_>>,
    ) -> Result<Self, String> {
        let ca = Self::prepare(&self.dir, name)?;
        ca.request(name, subject)?;
        self.sign(
            &format!("{name}.csr"),
            &format!("{name}.crt"),
            &format!("{name}.ext"),
            dates.map_or(Period::Days(3650), Period::Between),
        )?;
        Ok(ca)
    }

    /// Cross-signs the intermediate `ca` (made by [`OpensslCa::intermediate`]: its
    /// request and key): a certificate `out` (relative to this CA's directory) with
    /// `ca`'s name, key and CA extensions, issued by this CA for ten years.
    pub fn cross_sign(&self, ca: &Self, out: &str) -> Result<(), String> {
        let file = |suffix: &str| ca.dir.join(format!("{}.{suffix}", ca.name));
        let (csr, ext) = (file("csr"), file("ext"));
        for f in [&csr, &ext] {
            if !f.exists() {
                return Err(format!(
                    "{}: cross_sign needs an intermediate's request and extensions",
                    f.display()
                ));
            }
        }
        self.sign(
            &csr.display().to_string(),
            out,
            &ext.display().to_string(),
            Period::Days(3650),
        )
    }

    /// The CA's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA's name (its CN).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate (`NAME.crt`).
    pub fn crt(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    /// The CA certificate's PEM.
    pub fn pem(&self) -> Result<String, String> {
        fs::read_to_string(self.crt()).map_err(|e| format!("{}: {e}", self.crt().display()))
    }

    /// `openssl ca`: signs `csr` into `out` with the extensions of `ext`.
    fn sign(&self, csr: &str, out: &str, ext: &str, period: Period<'_>) -> Result<(), String> {
        let conf = format!("{}.cnf", self.name);
        let crt = format!("{}.crt", self.name);
        let key = format!("{}.key", self.name);
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-preserveDN",
            "-config",
            &conf,
            "-cert",
            &crt,
            "-keyfile",
            &key,
            "-in",
            csr,
            "-out",
            out,
            "-extfile",
            ext,
        ];
        let days;
        match period {
            Period::Days(d) => {
                days = d.to_string();
                args.extend(["-days", &days]);
            }
            Period::Between((from, to)) => args.extend(["-startdate", from, "-enddate", to]),
        }
        openssl(&self.dir, &args).map(|_| ())
    }

    /// A key `STEM.key` (0600) and a certificate `STEM.crt` for `subject`
    /// (`/CN=x/O=y`, as `openssl req -subj` takes it), valid for 365 days or
    /// between `dates`.
    pub fn issue(
        &self,
        stem: &str,
        subject: &str,
        leaf: Leaf<'_>,
        dates: Option<Dates<'_>>,
    ) -> Result<(), String> {
        self.request(stem, subject)?;
        let ext_text = match leaf {
            Leaf::Server([]) => {
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".to_owned()
            }
            Leaf::Server(sans) => format!(
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName={}\n",
                sans.join(",")
            ),
            Leaf::Client => "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n".to_owned(),
        };
        let ext = format!("{stem}.ext");
        w(&self.dir.join(&ext), &ext_text)?;
        self.sign(
            &format!("{stem}.csr"),
            &format!("{stem}.crt"),
            &ext,
            dates.map_or(Period::Days(365), Period::Between),
        )
    }

    /// Revokes the certificate `crt` (a path relative to the CA's directory).
    pub fn revoke(&self, crt: &str) -> Result<(), String> {
        let conf = format!("{}.cnf", self.name);
        let ca = format!("{}.crt", self.name);
        let key = format!("{}.key", self.name);
        openssl(
            &self.dir,
            &[
                "ca", "-config", &conf, "-cert", &ca, "-keyfile", &key, "-revoke", crt,
            ],
        )
        .map(|_| ())
    }

    /// A CRL (PEM) at `out` (relative to the CA's directory) listing what
    /// was revoked, valid for 30 days from now or with thisUpdate and
    /// nextUpdate `dates`.
    pub fn crl(&self, out: &str, dates: Option<Dates<'_>>) -> Result<(), String> {
        let conf = format!("{}.cnf", self.name);
        let crt = format!("{}.crt", self.name);
        let key = format!("{}.key", self.name);
        let mut args = vec![
            "ca", "-gencrl", "-config", &conf, "-cert", &crt, "-keyfile", &key, "-out", out,
        ];
        if let Some((last, next)) = dates {
            args.extend(["-crl_lastupdate", last, "-crl_nextupdate", next]);
        }
        openssl(&self.dir, &args).map(|_| ())
    }
}

/// OpenSSL's subject hash of a certificate or CRL (`openssl x509|crl -hash`),
/// the file name stem in a hashed directory (`HASH.0`, `HASH.r0`).
pub fn subject_hash(dir: &Path, file: &str, crl: bool) -> Result<String, String> {
    let kind = if crl { "crl" } else { "x509" };
    let o = openssl(dir, &[kind, "-hash", "-noout", "-in", file])?;
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// The moment `offset` seconds from now, as `openssl` takes dates
/// (`YYYYMMDDHHMMSSZ`, UTC).
pub fn openssl_time(offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    format_time(now.saturating_add(offset))
}

/// Seconds since the epoch as `YYYYMMDDHHMMSSZ` (UTC).
pub fn format_time(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Days to a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn times_as_openssl_takes_them() {
        assert_eq!(format_time(0), "19700101000000Z");
        assert_eq!(format_time(951_782_400), "20000229000000Z");
        assert_eq!(format_time(1_767_225_599), "20251231235959Z");
        assert_eq!(format_time(-1), "19691231235959Z");
    }
}
