//! The one home of libpq's TLS quirks: from connection parameters,
//! environment and PostgreSQL version to what libpq will check.
//!
//! Pure: no file system, no clock. What depends on files (does the root file
//! exist? does the CRL load?) is decided later by [`crate::TrustConfig`],
//! following the [`Plan`] made here. Rules cite the libpq-tls spec sections
//! and the PostgreSQL sources (`fe-connect.c` `connectOptions2`,
//! `conninfo_add_defaults`; `fe-secure-openssl.c` `initialize_SSL`).

use std::path::{Path, PathBuf};

use pgtls_hba::PgVersion;

use crate::client_cert::{CertMode, ClientCertPlan};
use crate::params::{Env, Params};
use crate::sslmode::SslMode;

/// Where the sslmode came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The conninfo / command line.
    Given,
    /// An environment variable.
    Environment,
    /// libpq's compiled default.
    Default,
}

/// One connection attempt libpq makes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A plaintext startup.
    Plain,
    /// A TLS handshake.
    Tls,
}

/// What libpq does about trust anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootPlan {
    /// `sslrootcert=system` (PG16+): OpenSSL's default store, no CRLs.
    System,
    /// A root file path: verified if it exists (stat succeeds); if it does not
    /// exist, an error for verify-* and no verification otherwise.
    File(PathBuf),
    /// No home directory and no sslrootcert: as a missing file, with its own message.
    NoHomeDirectory,
}

/// The CRL sources libpq would try once the root file has loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrlPlan {
    /// `sslcrl`, or `~/.postgresql/root.crl` when neither sslcrl nor sslcrldir is set.
    pub file: Option<PathBuf>,
    /// `sslcrldir`.
    pub dir: Option<PathBuf>,
}

/// What libpq will do for one set of parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The effective sslmode.
    pub mode: SslMode,
    /// Where it came from.
    pub mode_source: Source,
    /// The PostgreSQL version whose rules apply.
    pub version: PgVersion,
    /// Connection attempts in order (empty for a Unix-domain socket: plaintext only).
    pub attempts: Vec<Attempt>,
    /// Trust anchors.
    pub root: RootPlan,
    /// CRLs (used only when a root *file* loads).
    pub crl: CrlPlan,
    /// The `host` parameter verify-full compares against (`None` when only
    /// hostaddr, or nothing, was given).
    pub host: Option<String>,
    /// Whether the target is a Unix-domain socket (libpq never uses TLS there).
    pub unix_socket: bool,
    /// `sslcertmode` (PostgreSQL 16+; [`CertMode::Allow`] before, as libpq
    /// then behaves).
    pub certmode: CertMode,
    /// The client certificate and key files libpq would try.
    pub client_cert: ClientCertPlan,
    /// `ssl_min_protocol_version` in effect (given, `PGSSLMINPROTOCOLVERSION`, or
    /// `TLSv1.2`), checked; `""` means no lower bound. Any case, as libpq compares.
    pub ssl_min_protocol_version: String,
    /// `ssl_max_protocol_version` in effect, checked; `""` (the default) means no bound.
    pub ssl_max_protocol_version: String,
}

impl Plan {
    /// The root file is a file that does not exist (`stat` fails), or there is no
    /// home directory to find one in.
    pub fn root_file_missing(&self) -> bool {
        match &self.root {
            RootPlan::File(p) => std::fs::metadata(p).is_err(),
            RootPlan::NoHomeDirectory => true,
            RootPlan::System => false,
        }
    }
}

/// libpq refuses before any TLS happens; the text is libpq's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// libpq's message (first line is what PQerrorMessage shows after the prefix).
    pub message: String,
}

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal {
        message: message.into(),
    }
}

/// The libpq home directory for default files (`pqGetHomeDirectory`):
/// `$HOME` if set and non-empty (PG15+), else the password database.
pub fn home_directory(env: &Env, version: PgVersion) -> Option<PathBuf> {
    if version >= PgVersion::V15
        && let Some(h) = env.var("HOME")
        && !h.is_empty()
    {
        return Some(PathBuf::from(h));
    }
    env.passwd_home.clone()
}

fn given_or_env<'a>(given: Option<&'a str>, env: &'a Env, var: &str) -> Option<&'a str> {
    given.or_else(|| env.var(var))
}

/// Decides what libpq will do (everything up to, not including, file access).
///
/// # Errors
/// The [`Refusal`] libpq reports from `connectOptions2` (invalid sslmode,
/// `sslrootcert=system` with a weak mode, options the version lacks, ...).
pub fn plan(params: &Params, env: &Env, version: PgVersion) -> Result<Plan, Refusal> {
    // Options the version does not know (PQconninfoOptions): the conninfo's keywords in
    // order (libpq refuses the first unknown one), then the ones set directly.
    for k in &params.keywords {
        if let Some(since) = crate::params::keyword_since(k)
            && version.major() < since
        {
            return Err(refuse(format!("invalid connection option \"{k}\"")));
        }
    }
    if version < PgVersion::V16 && params.sslcertmode.is_some() {
        return Err(refuse("invalid connection option \"sslcertmode\""));
    }
    if version < PgVersion::V17 && params.sslnegotiation.is_some() {
        return Err(refuse("invalid connection option \"sslnegotiation\""));
    }
    if version < PgVersion::V14 && (params.sslcrldir.is_some() || params.sslsni.is_some()) {
        let k = if params.sslcrldir.is_some() {
            "sslcrldir"
        } else {
            "sslsni"
        };
        return Err(refuse(format!("invalid connection option \"{k}\"")));
    }
    let rootcert: Option<PathBuf> = params
        .sslrootcert
        .clone()
        .or_else(|| env.var("PGSSLROOTCERT").map(PathBuf::from));
    let is_system = version >= PgVersion::V16 && rootcert.as_deref() == Some(Path::new("system"));

    let (mode_text, mode_source) = match (&params.sslmode, env.var("PGSSLMODE")) {
        (Some(m), _) => (m.clone(), Source::Given),
        (None, Some(m)) => (m.to_string(), Source::Environment),
        (None, None) if is_system => ("verify-full".to_string(), Source::Default),
        (None, None) => ("prefer".to_string(), Source::Default),
    };
    let mode: SslMode = mode_text
        .parse()
        .map_err(|e: crate::sslmode::InvalidSslMode| refuse(e.to_string()))?;

    if version >= PgVersion::V17 {
        let neg = given_or_env(params.sslnegotiation.as_deref(), env, "PGSSLNEGOTIATION")
            .unwrap_or("postgres");
        match neg {
            "postgres" => {}
            "direct" => {
                if mode.allows_plaintext() {
                    return Err(refuse(format!(
                        "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")"
                    )));
                }
            }
            // psql 17.11 and 18.6: `invalid sslnegotiation value: "bogus"`.
            other => {
                return Err(refuse(format!("invalid sslnegotiation value: \"{other}\"")));
            }
        }
    }
    if is_system && mode != SslMode::VerifyFull {
        return Err(refuse(format!(
            "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        )));
    }
    let (ssl_min_protocol_version, ssl_max_protocol_version) =
        protocol_range(params, env, version)?;
    let mut certmode = CertMode::Allow;
    if version >= PgVersion::V16 {
        let cm =
            given_or_env(params.sslcertmode.as_deref(), env, "PGSSLCERTMODE").unwrap_or("allow");
        // psql 16.15, 17.11 and 18.6: `invalid sslcertmode value: "bogus"`.
        certmode = cm
            .parse()
            .map_err(|()| refuse(format!("invalid sslcertmode value: \"{cm}\"")))?;
    }

    let host = params.host.clone().filter(|h| !h.is_empty());
    let hostaddr = params.hostaddr.clone().filter(|h| !h.is_empty());
    let unix_socket = hostaddr.is_none()
        && host.as_deref().is_some_and(|h| {
            h.starts_with('/') || (version >= PgVersion::V16 && h.starts_with('@'))
        });
    let attempts = if unix_socket {
        vec![Attempt::Plain]
    } else {
        match mode {
            SslMode::Disable => vec![Attempt::Plain],
            SslMode::Allow => vec![Attempt::Plain, Attempt::Tls],
            SslMode::Prefer => vec![Attempt::Tls, Attempt::Plain],
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => vec![Attempt::Tls],
        }
    };

    let home = home_directory(env, version);
    let nonempty = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    let rootcert = nonempty(rootcert);
    let root = match (&rootcert, &home) {
        (Some(_), _) if is_system => RootPlan::System,
        (Some(p), _) => RootPlan::File(p.clone()),
        (None, Some(h)) => RootPlan::File(h.join(".postgresql").join("root.crt")),
        (None, None) => RootPlan::NoHomeDirectory,
    };
    let crl_file = nonempty(
        params
            .sslcrl
            .clone()
            .or_else(|| env.var("PGSSLCRL").map(PathBuf::from)),
    );
    let crl_dir = if version >= PgVersion::V14 {
        nonempty(
            params
                .sslcrldir
                .clone()
                .or_else(|| env.var("PGSSLCRLDIR").map(PathBuf::from)),
        )
    } else {
        None
    };
    // initialize_SSL: sslcert / sslkey (or their variables), else the home defaults.
    let sslcert = nonempty(
        params
            .sslcert
            .clone()
            .or_else(|| env.var("PGSSLCERT").map(PathBuf::from)),
    );
    let sslkey = nonempty(
        params
            .sslkey
            .clone()
            .or_else(|| env.var("PGSSLKEY").map(PathBuf::from)),
    );
    let in_home = |f: &str| home.as_ref().map(|h| h.join(".postgresql").join(f));
    let client_cert = ClientCertPlan {
        cert: if certmode == CertMode::Disable {
            None
        } else {
            sslcert.or_else(|| in_home("postgresql.crt"))
        },
        engine_key: sslkey
            .as_ref()
            .is_some_and(|k| k.as_os_str().as_encoded_bytes().contains(&b':')),
        key: sslkey.or_else(|| in_home("postgresql.key")),
    };
    let crl = match (crl_file, crl_dir) {
        (None, None) => CrlPlan {
            file: home.map(|h| h.join(".postgresql").join("root.crl")),
            dir: None,
        },
        (file, dir) => CrlPlan { file, dir },
    };
    Ok(Plan {
        mode,
        mode_source,
        version,
        attempts,
        root,
        crl,
        host,
        unix_socket,
        certmode,
        client_cert,
        ssl_min_protocol_version,
        ssl_max_protocol_version,
    })
}

/// `sslVerifyProtocolVersion` and `sslVerifyProtocolRange` in `connectOptions2` (13+,
/// after the sslmode checks): each bound empty or `TLSv1`, `TLSv1.1`, `TLSv1.2`,
/// `TLSv1.3` in any case; min not above max unless one is empty or min is `TLSv1`.
/// PostgreSQL 12 has neither keyword: no bounds.
fn protocol_range(
    params: &Params,
    env: &Env,
    version: PgVersion,
) -> Result<(String, String), Refusal> {
    if version < PgVersion::V13 {
        return Ok((String::new(), String::new()));
    }
    let known = |v: &str| {
        v.is_empty()
            || ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(v))
    };
    let invalid = |name: &str, value: &str| {
        // 17 quoted the parameter name ("invalid \"%s\" value").
        refuse(if version >= PgVersion::V17 {
            format!("invalid \"{name}\" value: \"{value}\"")
        } else {
            format!("invalid {name} value: \"{value}\"")
        })
    };
    let min = given_or_env(
        params.ssl_min_protocol_version.as_deref(),
        env,
        "PGSSLMINPROTOCOLVERSION",
    )
    .unwrap_or("TLSv1.2");
    let max = given_or_env(
        params.ssl_max_protocol_version.as_deref(),
        env,
        "PGSSLMAXPROTOCOLVERSION",
    )
    .unwrap_or("");
    if !known(min) {
        return Err(invalid("ssl_min_protocol_version", min));
    }
    if !known(max) {
        return Err(invalid("ssl_max_protocol_version", max));
    }
    let (lmin, lmax) = (min.to_ascii_lowercase(), max.to_ascii_lowercase());
    let ok =
        lmin.is_empty() || lmax.is_empty() || lmin == "tlsv1" || (lmax != "tlsv1" && lmin <= lmax);
    if !ok {
        return Err(refuse("invalid SSL protocol version range"));
    }
    Ok((min.to_owned(), max.to_owned()))
}

/// The server name libpq sends as SNI (`initialize_SSL`, 14+): the `host` parameter of the
/// attempt, when `sslsni` (or `PGSSLSNI`; default `1`) starts with `1` and the host is not
/// empty, not made of digits and dots only, and has no `:`. So `0x7f.0.0.1` is sent (an IP
/// address for the host-name check) and `127.1` is not; `sslsni=yes` turns SNI off.
/// PostgreSQL 12 and 13 send none.
pub fn sni_name<'a>(
    host: Option<&'a str>,
    sslsni: Option<&str>,
    env: &Env,
    version: PgVersion,
) -> Option<&'a str> {
    if version < PgVersion::V14 {
        return None;
    }
    let on = given_or_env(sslsni, env, "PGSSLSNI").unwrap_or("1");
    if !on.starts_with('1') {
        return None;
    }
    let host = host.filter(|h| !h.is_empty())?;
    let ip_like = host.bytes().all(|b| b.is_ascii_digit() || b == b'.') || host.contains(':');
    (!ip_like).then_some(host)
}

/// libpq's error for a verify-* mode whose root file is missing.
pub fn missing_root_message(root: &RootPlan, version: PgVersion) -> String {
    let hint = if version >= PgVersion::V16 {
        "Either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification."
    } else {
        "Either provide the file or change sslmode to disable server certificate verification."
    };
    match root {
        RootPlan::File(p) => format!(
            "root certificate file \"{}\" does not exist\n{hint}",
            p.display()
        ),
        _ => format!("could not get home directory to locate root certificate file\n{hint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Params {
        Params::default()
    }

    #[test]
    fn default_mode_is_prefer_and_env_applies() {
        let plan = plan(&p(), &Env::empty(), PgVersion::V15).unwrap();
        assert_eq!(plan.mode, SslMode::Prefer);
        assert_eq!(plan.mode_source, Source::Default);
        assert_eq!(plan.attempts, vec![Attempt::Tls, Attempt::Plain]);
        let env = Env::empty().with_var("PGSSLMODE", "require");
        let pl = super::plan(&p(), &env, PgVersion::V15).unwrap();
        assert_eq!(pl.mode, SslMode::Require);
        assert_eq!(pl.mode_source, Source::Environment);
        let mut given = p();
        given.sslmode = Some("verify-ca".into());
        assert_eq!(
            super::plan(&given, &env, PgVersion::V15).unwrap().mode,
            SslMode::VerifyCa
        );
    }

    #[test]
    fn sni_as_initialize_ssl() {
        let e = Env::empty();
        let v = PgVersion::V16;
        assert_eq!(sni_name(Some("db.x"), None, &e, v), Some("db.x"));
        assert_eq!(
            sni_name(Some("0x7f.0.0.1"), None, &e, v),
            Some("0x7f.0.0.1")
        );
        for h in ["127.0.0.1", "127.1", "::1", ""] {
            assert_eq!(sni_name(Some(h), None, &e, v), None, "{h}");
        }
        assert_eq!(sni_name(Some("db.x"), Some("0"), &e, v), None);
        assert_eq!(sni_name(Some("db.x"), Some("yes"), &e, v), None);
        assert_eq!(sni_name(Some("db.x"), Some("10"), &e, v), Some("db.x"));
        let off = Env::empty().with_var("PGSSLSNI", "0");
        assert_eq!(sni_name(Some("db.x"), None, &off, v), None);
        assert_eq!(sni_name(Some("db.x"), Some("1"), &off, v), Some("db.x"));
        assert_eq!(sni_name(Some("db.x"), None, &e, PgVersion::V13), None);
    }

    #[test]
    fn protocol_bounds_as_connect_options2() {
        let run = |min: Option<&str>, max: Option<&str>, v: PgVersion| {
            let mut x = p();
            x.ssl_min_protocol_version = min.map(str::to_owned);
            x.ssl_max_protocol_version = max.map(str::to_owned);
            plan(&x, &Env::empty(), v)
                .map(|pl| (pl.ssl_min_protocol_version, pl.ssl_max_protocol_version))
                .map_err(|e| e.message)
        };
        assert_eq!(
            run(None, None, PgVersion::V15),
            Ok(("TLSv1.2".into(), String::new()))
        );
        assert_eq!(
            run(Some("tlsv1.3"), Some("TLSV1.3"), PgVersion::V18),
            Ok(("tlsv1.3".into(), "TLSV1.3".into()))
        );
        assert_eq!(
            run(Some("TLSv1"), Some("TLSv1"), PgVersion::V15).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            run(Some(""), Some("TLSv1"), PgVersion::V15).map(|_| ()),
            Ok(())
        );
        for v in [PgVersion::V14, PgVersion::V16] {
            assert_eq!(
                run(Some("x"), None, v),
                Err("invalid ssl_min_protocol_version value: \"x\"".into())
            );
        }
        assert_eq!(
            run(None, Some("TLSv1.4"), PgVersion::V17),
            Err("invalid \"ssl_max_protocol_version\" value: \"TLSv1.4\"".into())
        );
        for (min, max) in [("TLSv1.3", "TLSv1.2"), ("TLSv1.1", "TLSv1")] {
            assert_eq!(
                run(Some(min), Some(max), PgVersion::V18),
                Err("invalid SSL protocol version range".into())
            );
        }
        let env = Env::empty().with_var("PGSSLMINPROTOCOLVERSION", "bogus");
        assert!(plan(&p(), &env, PgVersion::V15).is_err());
    }

    #[test]
    fn invalid_mode_text_is_libpqs() {
        let mut x = p();
        x.sslmode = Some("Verify-Full".into());
        assert_eq!(
            plan(&x, &Env::empty(), PgVersion::V15).unwrap_err().message,
            "invalid sslmode value: \"Verify-Full\""
        );
    }

    #[test]
    fn system_root_is_version_dependent() {
        let mut x = p();
        x.sslrootcert = Some("system".into());
        // PG15: an ordinary relative file name.
        let pl = plan(&x, &Env::empty(), PgVersion::V15).unwrap();
        assert_eq!(pl.root, RootPlan::File("system".into()));
        assert_eq!(pl.mode, SslMode::Prefer);
        // PG16: default becomes verify-full.
        let pl = plan(&x, &Env::empty(), PgVersion::V16).unwrap();
        assert_eq!(pl.root, RootPlan::System);
        assert_eq!(pl.mode, SslMode::VerifyFull);
        x.sslmode = Some("require".into());
        assert_eq!(
            plan(&x, &Env::empty(), PgVersion::V16).unwrap_err().message,
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
        // From the environment too.
        let env = Env::empty()
            .with_var("PGSSLROOTCERT", "system")
            .with_var("PGSSLMODE", "verify-ca");
        assert!(plan(&p(), &env, PgVersion::V17).is_err());
    }

    #[test]
    fn home_defaults() {
        let env = Env::empty()
            .with_var("HOME", "/home/h")
            .with_passwd_home(Some("/pw".into()));
        let pl = plan(&p(), &env, PgVersion::V15).unwrap();
        assert_eq!(
            pl.root,
            RootPlan::File("/home/h/.postgresql/root.crt".into())
        );
        assert_eq!(pl.crl.file, Some("/home/h/.postgresql/root.crl".into()));
        // PG14 reads the password database only.
        let pl = plan(&p(), &env, PgVersion::V14).unwrap();
        assert_eq!(pl.root, RootPlan::File("/pw/.postgresql/root.crt".into()));
        // No home at all.
        let pl = plan(&p(), &Env::empty(), PgVersion::V15).unwrap();
        assert_eq!(pl.root, RootPlan::NoHomeDirectory);
        assert!(
            missing_root_message(&pl.root, PgVersion::V15)
                .starts_with("could not get home directory")
        );
        // sslcrldir suppresses the default root.crl.
        let mut x = p();
        x.sslcrldir = Some("/crls".into());
        let pl = plan(&x, &env, PgVersion::V15).unwrap();
        assert_eq!(
            pl.crl,
            CrlPlan {
                file: None,
                dir: Some("/crls".into())
            }
        );
    }

    #[test]
    fn conninfo_keywords_gated_by_version() {
        let x = Params::parse_conninfo("host=h require_auth=password sslkeylogfile=/k").unwrap();
        let msg = |v| plan(&x, &Env::empty(), v).err().map(|r| r.message);
        assert_eq!(
            msg(PgVersion::V15).as_deref(),
            Some("invalid connection option \"require_auth\"")
        );
        assert_eq!(
            msg(PgVersion::V17).as_deref(),
            Some("invalid connection option \"sslkeylogfile\"")
        );
        assert_eq!(msg(PgVersion::V18), None);
    }

    #[test]
    fn version_gates() {
        let mut x = p();
        x.sslcertmode = Some("allow".into());
        assert_eq!(
            plan(&x, &Env::empty(), PgVersion::V15).unwrap_err().message,
            "invalid connection option \"sslcertmode\""
        );
        assert!(plan(&x, &Env::empty(), PgVersion::V16).is_ok());
        let mut y = p();
        y.sslnegotiation = Some("direct".into());
        assert!(plan(&y, &Env::empty(), PgVersion::V16).is_err());
        assert!(
            plan(&y, &Env::empty(), PgVersion::V17)
                .unwrap_err()
                .message
                .starts_with("weak sslmode \"prefer\"")
        );
        y.sslmode = Some("require".into());
        assert!(plan(&y, &Env::empty(), PgVersion::V17).is_ok());
    }

    #[test]
    fn missing_root_texts() {
        let r = RootPlan::File("/x/root.crt".into());
        assert_eq!(
            missing_root_message(&r, PgVersion::V15),
            "root certificate file \"/x/root.crt\" does not exist\nEither provide the file or change sslmode to disable server certificate verification."
        );
        assert!(missing_root_message(&r, PgVersion::V16).contains("sslrootcert=system"));
    }

    #[test]
    fn unix_socket_never_tls() {
        let mut x = p();
        x.host = Some("/var/run/postgresql".into());
        x.sslmode = Some("verify-full".into());
        let pl = plan(&x, &Env::empty(), PgVersion::V15).unwrap();
        assert!(pl.unix_socket);
        assert_eq!(pl.attempts, vec![Attempt::Plain]);
    }
}
