//! `pgtls quickstart`: a CA, a server certificate, client certificates and a CRL for
//! PostgreSQL, plus the configuration lines that use them; with `--try`, those files proven
//! on a throwaway local server ([`trial`]).

mod trial;

use crate::args::Json;
use std::path::{Path, PathBuf};

use clap::Args;
use pgtls_core::{
    CertificateParams, DirStore, DistinguishedName, Store, Validity, write_public_file,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::Decided;
use crate::args::{KeyOptions, Passphrase};
use crate::error::CliError;
use crate::output::{fmt_time, print};
use crate::pki::{generate_key, sans, write_key};

/// `pgtls quickstart`
#[derive(Args)]
pub(crate) struct QuickstartArgs {
    /// Output directory (created); the CA store goes to DIR/ca.
    #[arg(long)]
    dir: PathBuf,
    /// Server host name or IP address as clients will connect to it; repeatable.
    #[arg(long, required = true)]
    host: Vec<String>,
    /// Database role to make a client certificate for; repeatable.
    #[arg(long, required = true)]
    role: Vec<String>,
    /// Validity of the server and client certificates, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Validity of a new CA, in days.
    #[arg(long, default_value_t = 3650, value_parser = clap::value_parser!(u32).range(1..))]
    ca_days: u32,
    /// Days until the CRL's nextUpdate.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    crl_days: u32,
    /// Give server.key to this OS user (the one PostgreSQL runs as, e.g. postgres) and its
    /// primary group, mode 0600, as the server requires of a key it does not own as root;
    /// needs the privilege to chown (root).
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
    /// Replace existing server and client keys and certificates (an existing CA is kept).
    #[arg(long)]
    force: bool,
    /// Key type: p256, p384, ed25519, rsa2048, rsa3072, rsa4096 (keys are written
    /// unencrypted: the server needs ssl_passphrase_command for encrypted ones).
    #[arg(long = "key-type", default_value = "p256")]
    key_type: String,
    /// Then prove the files on a throwaway PostgreSQL server on 127.0.0.1 (initdb, the
    /// printed postgresql.conf and pg_hba.conf lines and CREATE ROLE statements, a
    /// verify-full login per role through real psql/libpq with the printed connection
    /// strings, plaintext and certificate-less logins refused), stopped and removed
    /// afterwards; exit 0 only if all of that held. As root the server runs as --owner's
    /// user, else as postgres.
    #[arg(long = "try")]
    try_: bool,
    /// With --try: the bin directory of the PostgreSQL installation to use (initdb,
    /// postgres, psql). Default: the one the first pg_config on PATH names, then
    /// /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, ... newest first, /usr/local/pgsql/bin,
    /// /usr/bin.
    #[arg(long, value_name = "DIR", requires = "try_")]
    pg_bin: Option<PathBuf>,
    /// With --try: the psql to log in with (its libpq's rules judge the logins), e.g. a psql
    /// 14 for a PostgreSQL 12 or 13 server installed without a client. Default: the
    /// installation's own psql, else the first psql on PATH.
    #[arg(long, value_name = "PATH", requires = "try_")]
    psql: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) json: Json,
}

/// `s` as one POSIX shell word: bare when it needs nothing, else in double
/// quotes with `$`, `` ` ``, `"` and `\\` escaped (the conninfo's own single
/// quotes stay literal inside them).
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@+,=-".contains(c))
    {
        return s.to_owned();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The uid and primary gid of an OS user, from /etc/passwd.
pub(super) fn os_user(name: &str) -> Result<(u32, u32), CliError> {
    let passwd = Path::new("/etc/passwd");
    let text =
        std::fs::read_to_string(passwd).map_err(|e| CliError::io("cannot read", passwd, e))?;
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            match (f.first(), f.get(2), f.get(3)) {
                (Some(n), Some(u), Some(g)) if *n == name => {
                    Some((u.parse().ok()?, g.parse().ok()?))
                }
                _ => None,
            }
        })
        .ok_or_else(|| CliError::Usage(format!("--owner {name}: no such user in /etc/passwd")))
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

pub(crate) fn run(a: &QuickstartArgs, now: OffsetDateTime) -> Result<Decided, CliError> {
    let key = KeyOptions {
        key_type: a.key_type.clone(),
        encrypt: false,
        kdf_iterations: pgtls_core::PBKDF2_ITERATIONS,
    };
    let dir = abs(&a.dir);
    let owner = a.owner.as_deref().map(os_user).transpose()?;
    let names = sans(&a.host)?;
    let role_refs: Vec<&str> = a.role.iter().map(String::as_str).collect();
    // The pg_hba.conf user field naming exactly these roles (never a keyword or pattern).
    let roles = pgtls_hba::literal_list("role", &role_refs)
        .map_err(|e| CliError::Usage(format!("--role: {e}")))?;
    let mut create_roles = Vec::new();
    for r in &a.role {
        let ident = pgtls_hba::new_role_identifier(r)
            .map_err(|e| CliError::Usage(format!("--role: {e}")))?;
        create_roles.push(format!("CREATE ROLE {ident} LOGIN;"));
        CertificateParams::client(r, Validity::days_from(now, 1))?;
        if r.contains('/') || r == "." || r == ".." {
            return Err(CliError::Usage(format!(
                "--role {r:?}: cannot be used as a directory name"
            )));
        }
    }
    let server_crt = dir.join("server.crt");
    let server_key = dir.join("server.key");
    let root_crt = dir.join("root.crt");
    let root_crl = dir.join("root.crl");
    let client_dir = |r: &str| dir.join("clients").join(r);
    // Refuse before changing anything (for --try: no server to try on).
    let trial = if a.try_ {
        Some(trial::prepare(
            a.pg_bin.as_deref(),
            a.psql.as_deref(),
            a.owner.as_deref(),
        )?)
    } else {
        None
    };
    if !a.force {
        let mut existing: Vec<PathBuf> = vec![server_key.clone(), server_crt.clone()];
        for r in &a.role {
            existing.push(client_dir(r).join("postgresql.key"));
            existing.push(client_dir(r).join("postgresql.crt"));
        }
        if let Some(p) = existing.into_iter().find(|p| p.exists()) {
            return Err(pgtls_core::Error::FileExists { path: p }.into());
        }
    }
    // The directory holds private keys: keep it out of any git work tree it lands in
    // (an existing .gitignore is left alone).
    std::fs::create_dir_all(&dir).map_err(|e| CliError::io("cannot create", &dir, e))?;
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        write_public_file(
            &gitignore,
            b"# Written by pgtls quickstart: this directory holds private keys.\n*\n",
            false,
        )?;
    }
    let ca_dir = dir.join("ca");
    let store = if pgtls_core::StoreFiles::in_dir(&ca_dir).index.exists() {
        DirStore::open(&ca_dir, None)?
    } else {
        let subject = DistinguishedName::parse_openssl(&format!(
            "/O=pgtls quickstart/CN=PostgreSQL CA for {}",
            a.host.first().map(String::as_str).unwrap_or("localhost")
        ))
        .map_err(pgtls_core::Error::from)?;
        let params = CertificateParams::ca(subject, Validity::days_from(now, a.ca_days), Some(0));
        let key = generate_key(&key, a.json.on)?;
        let ca = pgtls_core::Ca::create_root(&params, key)?;
        DirStore::create(&ca_dir, ca, None)?
    };
    // Leaves must not outlive the CA: shorten to the CA's end if needed, and say so.
    let mut validity = Validity::days_from(now, a.days);
    let ca_end = store.ca().certificate().not_after();
    if validity.not_after > ca_end {
        validity.not_after = ca_end;
        eprintln!(
            "pgtls: warning: certificates end with the CA at {}",
            fmt_time(ca_end)
        );
    }
    let mut trust = store.ca().certificate().to_pem();
    for c in store.ca().chain() {
        trust.push_str(&c.to_pem());
    }

    let server_params = CertificateParams::server(&names, None, validity)?;
    let skey = generate_key(&key, a.json.on)?;
    let scert = store.issue(&server_params, &skey.public_key(), now)?;
    write_key(&server_key, &skey, &key, &Passphrase::default(), a.force)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&server_key, Some(uid), Some(gid))
            .map_err(|e| CliError::io("cannot give to --owner", &server_key, e))?;
    }
    write_public_file(&server_crt, scert.to_pem().as_bytes(), a.force)?;
    write_public_file(&root_crt, trust.as_bytes(), true)?;

    let mut clients = Vec::new();
    for r in &a.role {
        let cdir = client_dir(r);
        std::fs::create_dir_all(&cdir).map_err(|e| CliError::io("cannot create", &cdir, e))?;
        let params = CertificateParams::client(r, validity)?;
        let ckey = generate_key(&key, a.json.on)?;
        let ccert = store.issue(&params, &ckey.public_key(), now)?;
        write_key(
            &cdir.join("postgresql.key"),
            &ckey,
            &key,
            &Passphrase::default(),
            a.force,
        )?;
        write_public_file(
            &cdir.join("postgresql.crt"),
            ccert.to_pem().as_bytes(),
            a.force,
        )?;
        write_public_file(&cdir.join("root.crt"), trust.as_bytes(), true)?;
        clients.push((r.clone(), cdir, ccert.serial_hex()));
    }

    let crl = store.generate_crl(now + Duration::days(i64::from(a.crl_days)), now)?;
    write_public_file(&root_crl, crl.to_pem().as_bytes(), true)?;
    // No copy of the CRL for the clients: a client's sslcrl (or ~/.postgresql/root.crl)
    // that is not republished with the server's makes libpq refuse the server once its
    // nextUpdate passes. The CRL is the server's, for client certificates.

    let host = a.host.first().map(String::as_str).unwrap_or("localhost");
    let conninfo = |r: &str, cdir: &Path| {
        let f = |name: &str| cdir.join(name).display().to_string();
        let (rc, cc, ck) = (f("root.crt"), f("postgresql.crt"), f("postgresql.key"));
        pgtls_verify::conninfo_string([
            ("host", host),
            ("user", r),
            ("dbname", "postgres"),
            ("sslmode", "verify-full"),
            ("sslrootcert", rc.as_str()),
            ("sslcert", cc.as_str()),
            ("sslkey", ck.as_str()),
        ])
    };
    // `ssl_min_protocol_version` is TLSv1.2 by default from 13 only; 12's default (TLSv1)
    // lets TLS 1.0/1.1 clients in on OpenSSL 1.1.1 (and doctor calls it an error), so the line
    // is printed for every version: it means the same on all of them.
    let conf_lines = vec![
        "ssl = on".to_owned(),
        "ssl_min_protocol_version = 'TLSv1.2'".to_owned(),
        format!("ssl_cert_file = {}", conf_path(&server_crt)),
        format!("ssl_key_file = {}", conf_path(&server_key)),
        format!("ssl_ca_file = {}", conf_path(&root_crt)),
        format!("ssl_crl_file = {}", conf_path(&root_crl)),
    ];
    let hba_line = format!("hostssl all {roles} all cert");
    // What the user should know before using the files: decided by pgtls_verify::trial
    // (with this process's environment, where libpq would read ~/.postgresql/root.crl).
    let warnings = match clients.first() {
        Some((r, cdir, _)) => pgtls_verify::trial::quickstart_warnings(
            &a.role,
            &a.host,
            &conninfo(r, cdir),
            &pgtls_verify::Env::from_process(),
            trial.as_ref().map_or(
                pgtls_verify::PgVersion::NEWEST,
                trial::Prepared::client_version,
            ),
            &[pgtls_verify::CertificateDer::from(scert.der().to_vec())],
            unix_time(now),
        ),
        None => Vec::new(),
    };
    for w in &warnings {
        eprintln!("pgtls: warning: {}", w.message);
    }
    let mut text = format!(
        "Created in {dir}:\n  CA store     {ca}\n  server       {sc} / {sk}\n  CA for both  {rc}\n  CRL          {rl} (next update {nu})\n",
        dir = dir.display(),
        ca = ca_dir.display(),
        sc = server_crt.display(),
        sk = server_key.display(),
        rc = root_crt.display(),
        rl = root_crl.display(),
        nu = crl.next_update().map(fmt_time).unwrap_or_default(),
    );
    text.push_str(&format!(
        "\n# postgresql.conf ({owned})\n\
         {conf}\n\
         \n# pg_hba.conf\n\
         {hba_line}\n\
         \n# SQL, as a superuser (the roles the certificates log in as)\n\
         {sql}\n",
        conf = conf_lines.join("\n"),
        sql = create_roles.join("\n"),
        owned = match &a.owner {
            Some(u) => format!("server.key is owned by {u}, mode 0600"),
            None =>
                "the key must be owned by the server's OS user, mode 0600: see --owner".to_owned(),
        },
    ));
    for (r, cdir, _) in &clients {
        text.push_str(&format!(
            "\n# client {r} (or copy {cdir}/* to ~/.postgresql/)\n\
             psql {}\n",
            shell_quote(&conninfo(r, cdir)),
            cdir = cdir.display(),
        ));
    }
    text.push_str(&format!(
        "\nRepublish the CRL before it expires: pgtls crl --dir {} && cp {}/crl.pem {}\n",
        ca_dir.display(),
        ca_dir.display(),
        root_crl.display()
    ));
    let v = json!({
        "dir": dir.display().to_string(),
        "ca_dir": ca_dir.display().to_string(),
        "server_cert": server_crt.display().to_string(),
        "server_key": server_key.display().to_string(),
        "root_cert": root_crt.display().to_string(),
        "crl": root_crl.display().to_string(),
        "postgresql_conf": {
            "ssl": "on",
            "ssl_min_protocol_version": "TLSv1.2",
            "ssl_cert_file": server_crt.display().to_string(),
            "ssl_key_file": server_key.display().to_string(),
            "ssl_ca_file": root_crt.display().to_string(),
            "ssl_crl_file": root_crl.display().to_string(),
        },
        "pg_hba": hba_line,
        "sql": create_roles,
        "warnings": warnings,
        "clients": clients.iter().map(|(r, cdir, serial)| json!({
            "role": r,
            "serial": serial,
            "dir": cdir.display().to_string(),
            "conninfo": conninfo(r, cdir),
        })).collect::<Vec<_>>(),
    });
    let Some(prepared) = trial else {
        print(a.json.on, &v, &text)?;
        return Ok(Decided::Accept);
    };
    let written = trial::Written {
        conf_lines: &conf_lines,
        hba_line: &hba_line,
        create_roles: &create_roles,
        roles: &a.role,
        hosts: &a.host,
        clients: clients
            .iter()
            .map(|(r, cdir, _)| conninfo(r, cdir))
            .collect(),
        server_crt: &server_crt,
        root_crt: &root_crt,
        root_crl: &root_crl,
    };
    let report = if a.json.on {
        trial::run(&prepared, &written, now, |_| Ok(()))?
    } else {
        out!("{text}");
        outln!(
            "\n# --try: the files above on a throwaway PostgreSQL server on 127.0.0.1 \
             (hostaddr=127.0.0.1 next to each printed host=, so that verify-full checks the \
             certificate against the printed name while the connection stays local)"
        );
        trial::run(&prepared, &written, now, |step| {
            outln!("{} {}", step.mark(), step.detail);
            Ok(())
        })?
    };
    if a.json.on {
        let mut v = v;
        v["try"] = serde_json::to_value(&report).map_err(|e| CliError::Other(e.to_string()))?;
        outln!("{v}");
    } else if report.passed {
        outln!("--try: every step held");
    } else {
        let missing = report.missing();
        if missing.is_empty() {
            outln!("--try: FAILED (see the ✗ above)");
        } else {
            outln!("--try: FAILED (not reached: {})", missing.join(", "));
        }
    }
    Ok(if report.passed {
        Decided::Accept
    } else {
        Decided::Reject
    })
}

/// `now` as the verifier counts time.
fn unix_time(now: OffsetDateTime) -> pgtls_verify::UnixTime {
    pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ))
}

/// A path as a postgresql.conf string value.
fn conf_path(p: &Path) -> String {
    pgtls_hba::conf::quote_string(&p.display().to_string())
}
