//! The server side: what PostgreSQL decides about a TLS client that presents
//! a certificate (or none) and asks to log in as a user, given the pg_hba.conf
//! line the connection matches.
//!
//! Sources (our reading): `src/backend/libpq/be-secure-openssl.c`
//! (`be_tls_init`: `ssl_ca_file` as verify store and client-CA list,
//! `SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE`, pass-through `verify_cb`;
//! `ssl_crl_file`/`ssl_crl_dir` with `CRL_CHECK|CRL_CHECK_ALL`;
//! `be_tls_open_server`: `peer_cn` = first CN, `peer_dn` = RFC 2253),
//! `src/backend/libpq/auth.c` (`ClientAuthentication`, `CheckCertAuth`,
//! `auth_failed`), and pgtls-hba's pg_ident model for `map=`.

use std::path::{Path, PathBuf};

use pgtls_hba::{
    AuthMethod, ClientCert, ClientName, ConnType, IdentFile, PgVersion, ServerSettings,
    UsermapOutcome,
};

use rustls_pki_types::{CertificateDer, UnixTime};

use crate::cert::{Cert, Crl};
use crate::chain::{self, Purpose, Store, X509Reason};
use crate::outcome::Check;
use crate::trust;

/// The server's TLS settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerTls {
    /// `ssl_ca_file`.
    pub ssl_ca_file: PathBuf,
    /// `ssl_crl_file`.
    pub ssl_crl_file: Option<PathBuf>,
    /// `ssl_crl_dir` (14+).
    pub ssl_crl_dir: Option<PathBuf>,
    /// The PostgreSQL version.
    pub version: PgVersion,
}

impl ServerTls {
    /// Settings with a CA file and no CRL.
    pub fn new(ssl_ca_file: impl Into<PathBuf>, version: PgVersion) -> Self {
        Self {
            ssl_ca_file: ssl_ca_file.into(),
            ssl_crl_file: None,
            ssl_crl_dir: None,
            version,
        }
    }
}

/// The server's decision about a client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerOutcome {
    /// The server authenticates the client (for password methods: the
    /// certificate part passes).
    Accept,
    /// The server refuses.
    Reject {
        /// What the client sees (`FATAL:  ...`, or the TLS alert as libpq
        /// prints it: `SSL error: tlsv1 alert unknown ca`).
        message: String,
        /// What the server logs, when it says more than the client sees.
        log: Option<String>,
    },
    /// pgtls cannot decide the way the server would (a pg_ident.conf regex
    /// it cannot evaluate faithfully). The server might accept; this is not
    /// a refusal either.
    Undecided {
        /// Why pgtls cannot decide.
        reason: String,
        /// The sentence for a report, naming the names and the reason.
        message: String,
    },
}

/// What the server decides.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerDecision {
    /// Accept, reject (with the client's message and the server's log) or
    /// undecided (with the reason).
    pub outcome: ServerOutcome,
    /// The steps.
    pub checks: Vec<Check>,
    /// The client certificate's CN as the server extracts it.
    pub peer_cn: Option<String>,
    /// The client certificate's DN in the server's RFC 2253 form (14+).
    pub peer_dn: Option<String>,
}

impl ServerDecision {
    /// The server authenticates the client.
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, ServerOutcome::Accept)
    }

    /// For a refusal: what the client sees; when undecided: why, in a
    /// sentence.
    pub fn message(&self) -> Option<&str> {
        match &self.outcome {
            ServerOutcome::Accept => None,
            ServerOutcome::Reject { message, .. } | ServerOutcome::Undecided { message, .. } => {
                Some(message)
            }
        }
    }

    /// For a refusal: what the server logs, when it says more than the
    /// client sees.
    pub fn log(&self) -> Option<&str> {
        match &self.outcome {
            ServerOutcome::Reject { log, .. } => log.as_deref(),
            _ => None,
        }
    }

    /// When pgtls cannot decide: why.
    pub fn undecided(&self) -> Option<&str> {
        match &self.outcome {
            ServerOutcome::Undecided { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// The decision as `decide_client` builds it, step by step.
struct Draft {
    accept: bool,
    message: Option<String>,
    log: Option<String>,
    checks: Vec<Check>,
    peer_cn: Option<String>,
    peer_dn: Option<String>,
    undecided: Option<String>,
}

impl From<Draft> for ServerDecision {
    fn from(d: Draft) -> Self {
        let outcome = match (d.accept, d.undecided) {
            (_, Some(reason)) => ServerOutcome::Undecided {
                message: d.message.unwrap_or_else(|| reason.clone()),
                reason,
            },
            (true, None) => ServerOutcome::Accept,
            (false, None) => ServerOutcome::Reject {
                message: d.message.unwrap_or_default(),
                log: d.log,
            },
        };
        Self {
            outcome,
            checks: d.checks,
            peer_cn: d.peer_cn,
            peer_dn: d.peer_dn,
        }
    }
}

/// A configuration the server would not start (or reload) with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ServerConfigError(pub String);

/// The TLS alert an OpenSSL server sends for a failed client-certificate
/// check (`ssl_x509err2alert`), as the client's libpq prints it.
pub fn alert_text(reason: X509Reason) -> &'static str {
    use X509Reason::*;
    match reason {
        CertHasExpired | CrlHasExpired => "sslv3 alert certificate expired",
        CertRevoked => "sslv3 alert certificate revoked",
        CertSignatureFailure | CrlSignatureFailure => "tlsv1 alert decrypt error",
        DepthZeroSelfSignedCert
        | InvalidCa
        | PathLengthExceeded
        | SelfSignedCertInChain
        | UnableToGetCrl
        | UnableToGetCrlIssuer
        | UnableToGetIssuerCert
        | UnableToGetIssuerCertLocally
        | UnableToVerifyLeafSignature => "tlsv1 alert unknown ca",
        InvalidPurpose => "sslv3 alert unsupported certificate",
        CaKeyTooSmall
        | CaMdTooWeak
        | CertChainTooLong
        | CertNotYetValid
        | CrlNotYetValid
        | EeKeyTooSmall
        | UnableToDecodeIssuerPublicKey => "sslv3 alert bad certificate",
        _ => "sslv3 alert certificate unknown",
    }
}

fn load_store(tls: &ServerTls) -> Result<Store, ServerConfigError> {
    let ca = &tls.ssl_ca_file;
    let (trusted, mut crls) = trust_load(ca).map_err(|e| {
        ServerConfigError(format!(
            "could not load root certificate file \"{}\": {e}",
            ca.display()
        ))
    })?;
    let mut store = Store {
        trusted,
        crls: Vec::new(),
        crl_check: false,
    };
    let file = tls
        .ssl_crl_file
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty());
    let dir = if tls.version >= PgVersion::V14 {
        tls.ssl_crl_dir
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
    } else {
        None
    };
    if file.is_some() || dir.is_some() {
        if let Some(f) = file {
            let (c, r) = trust_load(f).map_err(|e| {
                ServerConfigError(match dir {
                    Some(d) => format!(
                        "could not load SSL certificate revocation list file \"{}\" or directory \"{}\": {e}",
                        f.display(),
                        d.display()
                    ),
                    None => format!("could not load SSL certificate revocation list file \"{}\": {e}", f.display()),
                })
            })?;
            store.trusted.extend(c);
            crls.extend(r);
        }
        if let Some(d) = dir {
            let (c, r) = trust::load_hash_dir(d);
            store.trusted.extend(c);
            crls.extend(r);
        }
        store.crl_check = true;
    }
    store.crls = crls;
    Ok(store)
}

fn trust_load(path: &Path) -> Result<(Vec<Cert>, Vec<Crl>), String> {
    trust::load_cert_crl_file(path)
}

/// What the server decides for a client presenting `client_chain` (DER, leaf
/// first; `None`: no certificate) and asking for `user`, when `hba_line` is
/// the pg_hba.conf line the connection matches. `ident` is the server's
/// pg_ident.conf (its `ident_file`), needed when the line has `map=`: the
/// server always consults its file, and `None` is not taken to mean an empty
/// one (an empty file is `IdentFile::parse_str("", version)`).
///
/// # Errors
/// A configuration the server would not run with (unreadable CA or CRL
/// file, a pg_hba line the server rejects, a line that cannot match a TLS
/// connection), a `map=` line without `ident` ([`crate::Error::IdentNeeded`]),
/// or a client certificate pgtls cannot parse.
pub fn decide_client(
    tls: &ServerTls,
    hba_line: &str,
    ident: Option<&IdentFile>,
    user: &str,
    client_chain: Option<&[CertificateDer<'_>]>,
    now: UnixTime,
) -> Result<ServerDecision, crate::Error> {
    let now = crate::unix_secs(now);
    let cfg = |m: String| crate::Error::Invalid {
        what: "server configuration".into(),
        reason: m,
    };
    let rule = pgtls_hba::parse_hba_line(hba_line, ServerSettings::new(tls.version, true))
        .map_err(|e| cfg(format!("pg_hba.conf line: {}", e.message)))?;
    if matches!(
        rule.conn_type,
        ConnType::Local | ConnType::HostNoSsl | ConnType::HostGssEnc
    ) {
        return Err(cfg(format!(
            "the pg_hba.conf line cannot match a TLS connection: {hba_line}"
        )));
    }
    if ident.is_none()
        && let Some(map) = &rule.options.map
    {
        return Err(crate::Error::IdentNeeded { map: map.clone() });
    }
    let store = load_store(tls).map_err(|e| cfg(e.0))?;
    let mut checks = vec![Check::pass(
        "ssl_ca_file",
        format!(
            "{} certificate(s) from {}{}",
            store.trusted.len(),
            tls.ssl_ca_file.display(),
            if store.crl_check {
                "; CRL_CHECK|CRL_CHECK_ALL on"
            } else {
                ""
            }
        ),
    )];
    let mut d = Draft {
        accept: false,
        message: None,
        log: None,
        checks: Vec::new(),
        peer_cn: None,
        peer_dn: None,
        undecided: None,
    };

    // The handshake: a certificate that is sent is verified, whatever the line.
    let mut peer: Option<Cert> = None;
    if let Some(chain_der) = client_chain.filter(|c| !c.is_empty()) {
        // The server's OpenSSL (default max_cert_list) refuses a larger
        // Certificate message before looking at the certificates.
        let size = trust::certificate_message_size(chain_der);
        if size > trust::MAX_CERT_LIST {
            checks.push(Check::fail(
                "handshake",
                format!(
                    "Certificate message of {size} bytes exceeds OpenSSL's max_cert_list ({})",
                    trust::MAX_CERT_LIST
                ),
            ));
            d.message = Some("SSL error: sslv3 alert illegal parameter".into());
            d.log = Some("could not accept SSL connection: excessive message size".into());
            d.checks = checks;
            return Ok(d.into());
        }
        let certs = trust::parse_chain(chain_der)?;
        match chain::verify(&certs, &store, Purpose::SslClient, now) {
            Ok(_) => checks.push(Check::pass(
                "handshake",
                "client certificate verified against ssl_ca_file",
            )),
            Err(f) => {
                d.message = Some(format!("SSL error: {}", alert_text(f.reason)));
                checks.push(Check::chain_failure("handshake", f));
                d.log = Some("could not accept SSL connection: certificate verify failed".into());
                d.checks = checks;
                return Ok(d.into());
            }
        }
        peer = certs.into_iter().next();
    } else {
        checks.push(Check::skip("handshake", "no client certificate sent"));
    }

    if let Some(p) = &peer {
        if let Some((_, cn)) = &p.first_cn() {
            if cn.contains(&0) {
                d.message = Some("SSL connection has been closed unexpectedly".into());
                d.log = Some("SSL certificate's common name contains embedded null".into());
                checks.push(Check::fail("peer", "common name contains embedded null"));
                d.checks = checks;
                return Ok(d.into());
            }
            d.peer_cn = Some(String::from_utf8_lossy(cn).into_owned());
        }
        if tls.version >= PgVersion::V14 {
            d.peer_dn = Some(p.subject().rfc2253());
        }
    }

    let fatal = |d: &mut Draft, checks: Vec<Check>, msg: String, log: Option<String>| {
        d.message = Some(format!("FATAL:  {msg}"));
        d.log = log;
        d.checks = checks;
    };
    let opts = &rule.options;
    let clientcert = if rule.method == AuthMethod::Cert {
        ClientCert::VerifyFull
    } else {
        opts.clientcert
    };
    if clientcert != ClientCert::Off && peer.is_none() {
        checks.push(Check::fail("clientcert", "no valid client certificate"));
        fatal(
            &mut d,
            checks,
            "connection requires a valid client certificate".into(),
            None,
        );
        return Ok(d.into());
    }
    let method_name = match rule.method {
        AuthMethod::Trust => "\"trust\" authentication failed for user",
        AuthMethod::Cert => "certificate authentication failed for user",
        AuthMethod::Password | AuthMethod::Md5 | AuthMethod::ScramSha256 => {
            "password authentication failed for user"
        }
        AuthMethod::Ident => "Ident authentication failed for user",
        AuthMethod::Peer => "Peer authentication failed for user",
        AuthMethod::Ldap => "LDAP authentication failed for user",
        AuthMethod::Pam => "PAM authentication failed for user",
        AuthMethod::Radius => "RADIUS authentication failed for user",
        AuthMethod::Gss => "GSSAPI authentication failed for user",
        _ => "authentication failed for user",
    };
    if rule.method == AuthMethod::Reject {
        checks.push(Check::fail("method", "reject"));
        fatal(
            &mut d,
            checks,
            "pg_hba.conf rejects connection".into(),
            None,
        );
        return Ok(d.into());
    }
    if !matches!(rule.method, AuthMethod::Trust | AuthMethod::Cert) {
        checks.push(Check::skip(
            "method",
            format!(
                "{:?}: assumed to succeed (only the certificate part is modelled)",
                rule.method
            ),
        ));
    } else {
        checks.push(Check::pass("method", format!("{:?}", rule.method)));
    }
    if clientcert == ClientCert::VerifyFull {
        let Some(p) = &peer else {
            fatal(
                &mut d,
                checks,
                "connection requires a valid client certificate".into(),
                None,
            );
            return Ok(d.into());
        };
        let name = match opts.clientname {
            ClientName::Dn if tls.version >= PgVersion::V14 => d.peer_dn.clone(),
            _ => p
                .first_cn()
                .as_ref()
                .map(|(_, cn)| String::from_utf8_lossy(cn).into_owned()),
        };
        let failed = |d: &mut Draft, mut checks: Vec<Check>, detail: String, log: String| {
            checks.push(Check::fail("certificate name", detail));
            d.message = Some(format!("FATAL:  {method_name} \"{user}\""));
            d.log = Some(log);
            d.checks = checks;
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            let log = format!(
                "certificate authentication failed for user \"{user}\": client certificate contains no user name"
            );
            failed(
                &mut d,
                checks,
                "no user name in the certificate".into(),
                log,
            );
            return Ok(d.into());
        };
        let map = opts.map.as_deref();
        let empty;
        let file = match ident {
            Some(f) => f,
            // Only reached without map= (checked above), where the file is not consulted.
            None => {
                empty = IdentFile::parse_str("", tls.version);
                &empty
            }
        };
        // The server compares the CN's bytes; pgtls holds names as UTF-8.
        let cn_not_utf8 = !(matches!(opts.clientname, ClientName::Dn)
            && tls.version >= PgVersion::V14)
            && p.first_cn()
                .as_ref()
                .is_some_and(|(_, cn)| std::str::from_utf8(cn).is_err());
        let decision = if cn_not_utf8 {
            file.decide_usermap_lossy(map, &name, user)
        } else {
            file.decide_usermap(map, &name, user, &[], false)
        };
        if let UsermapOutcome::Unsupported(why) = &decision.outcome {
            checks.push(Check::skip("ident", format!("undecided: {why}")));
            d.message = Some(format!(
                "pgtls cannot decide whether pg_ident.conf lets \"{name}\" log in as \"{user}\": {why}"
            ));
            d.undecided = Some(why.clone());
            d.checks = checks;
            return Ok(d.into());
        }
        if !decision.allowed() {
            let what = if matches!(opts.clientname, ClientName::Dn) {
                "DN"
            } else {
                "CN"
            };
            let mut log = decision.log.unwrap_or_default();
            if rule.method != AuthMethod::Cert {
                log = format!(
                    "certificate validation (clientcert=verify-full) failed for user \"{user}\": {what} mismatch"
                );
            }
            failed(
                &mut d,
                checks,
                format!("\"{name}\" may not log in as \"{user}\""),
                log,
            );
            return Ok(d.into());
        }
        checks.push(Check::pass(
            "certificate name",
            format!("\"{name}\" may log in as \"{user}\""),
        ));
    }
    d.accept = true;
    d.checks = checks;
    Ok(d.into())
}
