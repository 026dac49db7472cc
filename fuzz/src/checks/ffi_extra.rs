//! The C ABI entry points added after the first ffi targets: the pg_hba request
//! builder (`pgtls_hba_request_*` + `pgtls_hba_evaluate_request`), the usermap
//! decision (`pgtls_ident_usermap`), the client-certificate decision
//! (`pgtls_verify_client` + `pgtls_client_decision_*`) and `pgtls_ca_load` (with
//! `pgtls_ca_chain_to_pem` and `pgtls_ca_create_intermediate`). Each answer must be
//! the Rust API's answer. Called from `ffi_verdict` (structured, on the bytes the
//! original checks leave) and `ffi_bytes` (raw).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;
use std::sync::OnceLock;

use ::pgtls_hba::{
    Decision, HbaFile, IdentFile, NoSource, Outcome, Replication, Request, UsermapOutcome,
};
use pgtls_core::{Ca, Certificate, CertificateParams, KeyPair, Validity};
use pgtls_ffi::{
    PGTLS_HBA_REQUEST_GSS, PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
    PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL, PGTLS_HBA_REQUEST_TLS, pgtls_buf, pgtls_ca,
    pgtls_ca_certificate, pgtls_ca_chain_to_pem, pgtls_ca_create_intermediate, pgtls_ca_free,
    pgtls_ca_load, pgtls_cert_free, pgtls_cert_serial, pgtls_client_decision,
    pgtls_client_decision_free, pgtls_client_decision_log, pgtls_client_decision_message,
    pgtls_client_decision_outcome, pgtls_client_decision_to_json, pgtls_client_decision_undecided,
    pgtls_error, pgtls_hba as CHba, pgtls_hba_decision, pgtls_hba_decision_free,
    pgtls_hba_decision_line, pgtls_hba_decision_message, pgtls_hba_decision_method,
    pgtls_hba_decision_outcome, pgtls_hba_decision_to_json, pgtls_hba_evaluate_request,
    pgtls_hba_request, pgtls_hba_request_add_role, pgtls_hba_request_add_server_address,
    pgtls_hba_request_free, pgtls_hba_request_new, pgtls_hba_request_set_address,
    pgtls_hba_request_set_client_hostname, pgtls_hba_request_set_flags,
    pgtls_hba_request_set_user_exists, pgtls_ident, pgtls_ident_free, pgtls_ident_parse,
    pgtls_ident_usermap, pgtls_key, pgtls_key_free, pgtls_key_parse, pgtls_status,
    pgtls_usermap_decision, pgtls_usermap_decision_free, pgtls_usermap_decision_line,
    pgtls_usermap_decision_log, pgtls_usermap_decision_outcome, pgtls_usermap_decision_undecided,
    pgtls_verify_client,
};
use time::Duration;

use super::cabi::{
    buf_bytes, c_form, c_text, client_word, hba_word, opt_parts, take_error, usermap_word,
};
use super::core::{NOW, fixture, now, revoked_serial};
use super::input::Reader;

// ------------------------------------------------------------------ hba

/// The verdict, line, method and message `pgtls_hba_decision_*` must show for `d`.
fn expected_hba(d: &Decision) -> (&'static str, u32, Option<String>, Option<String>) {
    let (verdict, message) = match &d.outcome {
        Outcome::Matched { .. } if d.proceeds() => ("match", d.message.clone()),
        Outcome::Matched { .. } => ("reject", d.message.clone()),
        Outcome::NoMatch => ("no-match", d.message.clone()),
        Outcome::NotLoaded { message } => ("not-loaded", Some(message.clone())),
        Outcome::Undecided { reason, .. } => ("undecided", Some(reason.clone())),
        _ => ("undecided", d.message.clone()),
    };
    (
        verdict,
        d.line_number().unwrap_or(0),
        d.method().map(|m| m.as_str().to_owned()),
        message.as_deref().map(c_form),
    )
}

/// Reads a decision's accessors and frees it.
fn take_hba_decision(
    dec: *mut pgtls_hba_decision,
) -> (String, u32, Option<String>, Option<String>) {
    assert!(!dec.is_null(), "Ok without a decision");
    // SAFETY: dec is live until freed here.
    unsafe {
        let v = (
            hba_word(pgtls_hba_decision_outcome(dec)).to_owned(),
            pgtls_hba_decision_line(dec),
            c_text(pgtls_hba_decision_method(dec)),
            c_text(pgtls_hba_decision_message(dec)),
        );
        // The JSON says the same (with the message as built, NULs included).
        let mut json: *mut pgtls_buf = ptr::null_mut();
        assert_eq!(
            pgtls_hba_decision_to_json(dec, &mut json, ptr::null_mut()),
            pgtls_status::Ok
        );
        let j: serde_json::Value =
            serde_json::from_slice(&buf_bytes(json)).expect("decision JSON parses");
        assert_eq!(j["verdict"].as_str(), Some(v.0.as_str()), "JSON verdict");
        assert_eq!(j["line"].as_u64().unwrap_or(0), u64::from(v.1), "JSON line");
        assert_eq!(j["method"].as_str(), v.2.as_deref(), "JSON method");
        assert_eq!(j["message"].as_str().map(c_form), v.3, "JSON message");
        pgtls_hba_decision_free(dec);
        v
    }
}

fn request_flags(req: &Request) -> u32 {
    let mut flags = 0;
    if req.tls {
        flags |= PGTLS_HBA_REQUEST_TLS;
    }
    if req.gss {
        flags |= PGTLS_HBA_REQUEST_GSS;
    }
    flags
        | match req.replication {
            Replication::Physical => PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL,
            Replication::Logical => PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
            _ => 0,
        }
}

/// Server interface address sets: `(text handed to the C ABI, what it means)`.
fn server_address_sets(i: usize) -> Vec<(&'static str, (IpAddr, u8))> {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    match i {
        0 => vec![("10.1.2.1/24", (v4(10, 1, 2, 1), 24))],
        1 => Vec::new(),
        2 => vec![("127.0.0.1", (v4(127, 0, 0, 1), 32))],
        3 => vec![
            ("::1/128", (IpAddr::V6(Ipv6Addr::LOCALHOST), 128)),
            ("10.0.0.5/8", (v4(10, 0, 0, 5), 8)),
        ],
        4 => vec![("10.0.0.0/0", (v4(10, 0, 0, 0), 0))],
        _ => vec![("127.0.0.1/8", (v4(127, 0, 0, 1), 8))],
    }
}

/// A setter call that must fail and leave the request as it was.
fn failing_setter(request: *mut pgtls_hba_request, which: usize) {
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: request is live; the slices are valid (or deliberately (NULL, n > 0),
    // which the library must refuse without reading).
    let (st, want) = unsafe {
        match which {
            0 => (
                pgtls_hba_request_set_flags(
                    request,
                    PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL | PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
                    &mut err,
                ),
                pgtls_status::InvalidArgument,
            ),
            1 => (
                pgtls_hba_request_set_flags(request, 0x100, &mut err),
                pgtls_status::InvalidArgument,
            ),
            2 => {
                let a = "fe80::1%lo";
                (
                    pgtls_hba_request_set_address(request, a.as_ptr(), a.len(), &mut err),
                    pgtls_status::ParseValue,
                )
            }
            3 => {
                let a = "10.0.0.1/33";
                (
                    pgtls_hba_request_add_server_address(request, a.as_ptr(), a.len(), &mut err),
                    pgtls_status::ParseValue,
                )
            }
            4 => (
                pgtls_hba_request_add_role(request, "x".as_ptr(), 0, &mut err),
                pgtls_status::InvalidArgument,
            ),
            5 => (
                pgtls_hba_request_set_client_hostname(request, ptr::null(), 3, &mut err),
                pgtls_status::NullArgument,
            ),
            6 => {
                let a = b"\xff\xfe";
                (
                    pgtls_hba_request_set_address(request, a.as_ptr(), a.len(), &mut err),
                    pgtls_status::InvalidUtf8,
                )
            }
            _ => (
                pgtls_hba_request_set_flags(ptr::null_mut(), 0, &mut err),
                pgtls_status::NullArgument,
            ),
        }
    };
    assert_eq!(st, want, "failing setter {which}");
    take_error(st, err, "request setter");
}

/// `pgtls_hba_evaluate_request` with a request built through every setter equals
/// `evaluate` on the same `Request` (verdict, line, method, message, whatever the
/// records are: host names, `samehost`/`samenet`, missing roles included); a
/// setter that fails changes nothing; the request that `pgtls_hba_evaluate` would
/// build gives the same decision both ways; NULL handles are refused.
pub fn hba_request(
    r: &mut Reader<'_>,
    text: &str,
    file: &HbaFile,
    hba: *const CHba,
    base: &Request,
) {
    let mut req = base.clone();
    req.user_exists = !r.bool();
    match r.below(6) {
        0 => {}
        1 => req.client_hostname = None,
        2 => req.client_hostname = Some("db.example.test".to_owned()),
        3 => req.client_hostname = Some("DB.Example.TEST".to_owned()),
        4 => req.client_hostname = Some("x.example.test".to_owned()),
        _ => req.client_hostname = Some("other.test".to_owned()),
    }
    let servers = server_address_sets(r.below(6));
    req.server_addresses = servers.iter().map(|(_, a)| *a).collect();
    if r.bool() {
        req.member_of.push("admin".to_owned());
    }
    let bad_setter = r.bool().then(|| r.below(8));

    // Build it through the C ABI.
    let mut request: *mut pgtls_hba_request = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: valid slices and out pointers.
    let st = unsafe {
        pgtls_hba_request_new(
            req.database.as_ptr(),
            req.database.len(),
            req.user.as_ptr(),
            req.user.len(),
            &mut request,
            &mut err,
        )
    };
    assert_eq!(st, pgtls_status::Ok, "pgtls_hba_request_new");
    assert!(!request.is_null() && err.is_null());
    let addr = req.address.map(|a| a.to_string());
    let (hn, hn_len) = opt_parts(req.client_hostname.as_deref());
    let (ap, al) = opt_parts(addr.as_deref());
    // SAFETY: request is live; every slice is valid; errors are not asked for
    // (err_out NULL is allowed) because every call must succeed.
    unsafe {
        assert_eq!(
            pgtls_hba_request_set_address(request, ap, al, ptr::null_mut()),
            pgtls_status::Ok
        );
        assert_eq!(
            pgtls_hba_request_set_flags(request, request_flags(&req), ptr::null_mut()),
            pgtls_status::Ok
        );
        for role in &req.member_of {
            assert_eq!(
                pgtls_hba_request_add_role(request, role.as_ptr(), role.len(), ptr::null_mut()),
                pgtls_status::Ok
            );
        }
        assert_eq!(
            pgtls_hba_request_set_user_exists(request, req.user_exists, ptr::null_mut()),
            pgtls_status::Ok
        );
        assert_eq!(
            pgtls_hba_request_set_client_hostname(request, hn, hn_len, ptr::null_mut()),
            pgtls_status::Ok
        );
        for (s, _) in &servers {
            assert_eq!(
                pgtls_hba_request_add_server_address(request, s.as_ptr(), s.len(), ptr::null_mut()),
                pgtls_status::Ok,
                "server address {s}"
            );
        }
    }
    if let Some(which) = bad_setter {
        failing_setter(request, which);
    }

    let d = ::pgtls_hba::evaluate(file, &req);
    let mut dec: *mut pgtls_hba_decision = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: live handles, valid out pointers.
    let st = unsafe { pgtls_hba_evaluate_request(hba, request, &mut dec, &mut err) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_hba_evaluate_request");
    let (v, line, method, message) = expected_hba(&d);
    let got = take_hba_decision(dec);
    assert_eq!(
        got,
        (v.to_owned(), line, method, message),
        "pgtls_hba_evaluate_request differs from evaluate\n{text}{req:?}"
    );
    let undecided = matches!(d.outcome, Outcome::Undecided { .. });
    assert!(
        !(undecided && got.0 == "match"),
        "an undecided evaluation proceeds"
    );

    // The plain request (no host name, no server addresses, the role exists)
    // through a fresh builder decides as `evaluate` does.
    let mut plain = req.clone();
    plain.client_hostname = None;
    plain.server_addresses.clear();
    plain.user_exists = true;
    let mut dec1: *mut pgtls_hba_decision = ptr::null_mut();
    // SAFETY: request is live until freed here; slices valid.
    unsafe {
        // Server addresses cannot be removed: a fresh request for this part.
        pgtls_hba_request_free(request);
        request = ptr::null_mut();
        assert_eq!(
            pgtls_hba_request_new(
                plain.database.as_ptr(),
                plain.database.len(),
                plain.user.as_ptr(),
                plain.user.len(),
                &mut request,
                ptr::null_mut(),
            ),
            pgtls_status::Ok
        );
        assert_eq!(
            pgtls_hba_request_set_address(request, ap, al, ptr::null_mut()),
            pgtls_status::Ok
        );
        assert_eq!(
            pgtls_hba_request_set_flags(request, request_flags(&plain), ptr::null_mut()),
            pgtls_status::Ok
        );
        for role in &plain.member_of {
            assert_eq!(
                pgtls_hba_request_add_role(request, role.as_ptr(), role.len(), ptr::null_mut()),
                pgtls_status::Ok
            );
        }
        assert_eq!(
            pgtls_hba_evaluate_request(hba, request, &mut dec1, ptr::null_mut()),
            pgtls_status::Ok
        );
    }
    let d_plain = ::pgtls_hba::evaluate(file, &plain);
    let (v, line, method, message) = expected_hba(&d_plain);
    let want = (v.to_owned(), line, method, message);
    assert_eq!(take_hba_decision(dec1), want, "builder vs evaluate\n{text}");

    // NULL handles and outputs.
    let mut dec: *mut pgtls_hba_decision = ptr::null_mut();
    for (h, q, out) in [
        (ptr::null(), request.cast_const(), true),
        (hba, ptr::null(), true),
        (hba, request.cast_const(), false),
    ] {
        let mut err: *mut pgtls_error = ptr::null_mut();
        let out_ptr: *mut *mut pgtls_hba_decision = if out { &mut dec } else { ptr::null_mut() };
        // SAFETY: NULL handles must be refused without a read.
        let st = unsafe { pgtls_hba_evaluate_request(h, q, out_ptr, &mut err) };
        assert_eq!(st, pgtls_status::NullArgument);
        assert!(dec.is_null(), "output written on failure");
        take_error(st, err, "pgtls_hba_evaluate_request(NULL)");
    }
    // SAFETY: freed once.
    unsafe { pgtls_hba_request_free(request) };
}

// ---------------------------------------------------------------- ident

const IDENT_MAPS: &[&str] = &["m", "other", "\"m\""];
const IDENT_SYSTEM: &[&str] = &[
    "alice",
    "bob",
    "Alice",
    "/^(.*)$",
    "/^(a|b)(.*)$",
    "/^b(.*)@example$",
    "/^(.*?)x$",
    "/(a)\\1",
    "/[",
    "\"/^c\"",
    "all",
];
const IDENT_PG: &[&str] = &[
    "alice",
    "bob",
    "ALICE",
    "\\1",
    "+staff",
    "all",
    "/^a",
    "\"+staff\"",
    "carol",
];
const NAMES: &[&str] = &["alice", "bob", "Alice", "carol", "bob@example", "ALICE"];

/// Generated pg_ident.conf text.
pub fn ident_text(r: &mut Reader<'_>) -> String {
    let n = r.below(5);
    (0..n)
        .map(|_| {
            format!(
                "{} {} {}\n",
                r.pick(IDENT_MAPS),
                r.pick(IDENT_SYSTEM),
                r.pick(IDENT_PG)
            )
        })
        .collect()
}

/// Parses `text` through `pgtls_ident_parse` (which must succeed).
fn c_ident(text: &str, major: u32) -> *mut pgtls_ident {
    let mut ident: *mut pgtls_ident = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: valid slice and out pointers.
    let st = unsafe { pgtls_ident_parse(text.as_ptr(), text.len(), major, &mut ident, &mut err) };
    assert_eq!(st, pgtls_status::Ok, "pgtls_ident_parse");
    assert!(!ident.is_null() && err.is_null());
    ident
}

/// `pgtls_ident_usermap` equals `IdentFile::check_usermap` (verdict, line, log,
/// the undecided reason) and never allows what the Rust API does not.
/// Returns the C pg_ident.conf for the client-certificate check (caller frees).
pub fn ident_usermap(r: &mut Reader<'_>, major: u32) -> (String, IdentFile, *mut pgtls_ident) {
    let text = ident_text(r);
    let version = ::pgtls_hba::PgVersion::new(major).expect("modelled version");
    let file = IdentFile::parse("pg_ident.conf", text.as_bytes(), version, &NoSource);
    let ident = c_ident(&text, major);
    let map = r.pick(&[None, Some(""), Some("m"), Some("other")]);
    let system = r.pick(NAMES);
    let pg = r.pick(NAMES);
    let roles: Vec<String> = match r.below(4) {
        0 => Vec::new(),
        1 => vec!["staff".to_owned()],
        2 => vec!["staff".to_owned(), "admin".to_owned()],
        // One name with a comma: one role, never split.
        _ => vec!["staff, admin".to_owned()],
    };
    let role_ptrs: Vec<*const u8> = roles.iter().map(|r| r.as_ptr()).collect();
    let role_lens: Vec<usize> = roles.iter().map(String::len).collect();
    let ci = r.bool();
    let d = file.check_usermap(map, system, pg, &roles, ci);
    let (mp, ml) = opt_parts(map);
    let mut dec: *mut pgtls_usermap_decision = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: live ident, valid slices and out pointers.
    let st = unsafe {
        pgtls_ident_usermap(
            ident,
            mp,
            ml,
            system.as_ptr(),
            system.len(),
            pg.as_ptr(),
            pg.len(),
            role_ptrs.as_ptr(),
            role_lens.as_ptr(),
            roles.len(),
            ci,
            &mut dec,
            &mut err,
        )
    };
    assert_eq!(st, pgtls_status::Ok, "pgtls_ident_usermap");
    let (verdict, undecided) = match &d.outcome {
        UsermapOutcome::Allowed => ("allowed", None),
        UsermapOutcome::Denied => ("denied", None),
        UsermapOutcome::Error => ("error", None),
        UsermapOutcome::Unsupported(why) => ("undecided", Some(c_form(why))),
        _ => ("undecided", Some(String::new())),
    };
    // SAFETY: dec is live until freed.
    unsafe {
        let ctx = || format!("{text}map={map:?} {system} -> {pg} roles={roles:?} ci={ci}");
        let got = usermap_word(pgtls_usermap_decision_outcome(dec));
        assert_eq!(got, verdict, "usermap verdict\n{}", ctx());
        assert_eq!(
            pgtls_usermap_decision_line(dec),
            d.line.as_ref().map_or(0, |(_, n)| *n),
            "usermap line\n{}",
            ctx()
        );
        assert_eq!(
            c_text(pgtls_usermap_decision_log(dec)),
            d.log.as_deref().map(c_form),
            "usermap log\n{}",
            ctx()
        );
        let why = c_text(pgtls_usermap_decision_undecided(dec));
        assert_eq!(why.is_some(), undecided.is_some(), "{}", ctx());
        if matches!(d.outcome, UsermapOutcome::Unsupported(_)) {
            assert_eq!(why, undecided, "undecided reason\n{}", ctx());
        }
        pgtls_usermap_decision_free(dec);
    }

    (text, file, ident)
}

// ---------------------------------------------------- client certificates

/// Pre-issued client certificates (PEM), made once: for every name in [`NAMES`],
/// one issued by the fixture CA, one by the other CA, one expired, one revoked.
fn client_certs() -> &'static Vec<String> {
    static C: OnceLock<Vec<String>> = OnceLock::new();
    C.get_or_init(|| {
        let f = fixture();
        let key = f.leaf_key.public_key();
        let mut v = Vec::new();
        for name in NAMES {
            let ok = CertificateParams::client(name, Validity::days_from(now(), 30))
                .expect("client params");
            v.push(f.ca.issue(&ok, &key, now()).expect("leaf").to_pem());
            v.push(f.other.issue(&ok, &key, now()).expect("leaf").to_pem());
            let mut old = ok.clone();
            old.validity = Validity {
                not_before: now() - Duration::days(60),
                not_after: now() - Duration::days(30),
            };
            v.push(f.ca.issue(&old, &key, now()).expect("leaf").to_pem());
            let mut revoked = ok;
            revoked.serial = Some(revoked_serial());
            v.push(f.ca.issue(&revoked, &key, now()).expect("leaf").to_pem());
        }
        v
    })
}

const CLIENT_HBA: &[&str] = &[
    "hostssl all all 0.0.0.0/0 cert",
    "hostssl all all 0.0.0.0/0 cert map=m",
    "hostssl all all 0.0.0.0/0 cert clientname=DN map=m",
    "host all all 0.0.0.0/0 scram-sha-256 clientcert=verify-full",
    "hostssl all all 0.0.0.0/0 trust clientcert=verify-ca",
    "hostssl all all 0.0.0.0/0 md5 clientcert=verify-full map=m",
    "hostssl all all 0.0.0.0/0 trust",
    "local all all peer",
    "hostnossl all all 0.0.0.0/0 cert",
    "hostssl all all 0.0.0.0/0 cert map=other",
    "hostssl all all 0.0.0.0/0 cert clientcert=verify-ca",
    "hostssl all all 0.0.0.0/0 bogus",
];

/// `pgtls_verify_client` equals `pgtls_verify::server::decide_client`: the same
/// success or failure; verdict `accept` / `reject` / `undecided` as the Rust
/// decision says (undecided never accepts); the same message, log and reason;
/// on failure an error object and no output.
pub fn client_decision(
    r: &mut Reader<'_>,
    major: u32,
    ident_file: &IdentFile,
    ident: *const pgtls_ident,
) {
    let f = fixture();
    let line = r.pick(CLIENT_HBA);
    let with_ident = !r.bool();
    let user = r.pick(NAMES);
    let crl = r.bool();
    let certs = client_certs();
    let mut chain = match r.below(certs.len() + 2) {
        i if i < certs.len() => certs[i].clone().into_bytes(),
        _ => Vec::new(),
    };
    chain.extend_from_slice(r.bytes(64));
    let ca_path = f.root.to_string_lossy().into_owned();
    let crl_path = crl.then(|| f.crl.to_string_lossy().into_owned());

    let version = ::pgtls_hba::PgVersion::new(major).expect("modelled version");
    let mut tls = pgtls_verify::server::ServerTls::new(&f.root, version);
    tls.ssl_crl_file = crl.then(|| f.crl.clone());
    let rust = (if chain.is_empty() {
        Ok(None)
    } else {
        pgtls_verify::read_chain_pem(&chain).map(Some)
    })
    .and_then(|c| {
        pgtls_verify::server::decide_client(
            &tls,
            line,
            with_ident.then_some(ident_file),
            user,
            c.as_deref(),
            pgtls_verify::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                u64::try_from(NOW).unwrap_or(0),
            )),
        )
    });

    let (cp, cl) = opt_parts(crl_path.as_deref());
    let mut dec: *mut pgtls_client_decision = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: valid slices, live (or NULL) ident, valid out pointers.
    let st = unsafe {
        pgtls_verify_client(
            line.as_ptr(),
            line.len(),
            ca_path.as_ptr(),
            ca_path.len(),
            cp,
            cl,
            if with_ident { ident } else { ptr::null() },
            user.as_ptr(),
            user.len(),
            if chain.is_empty() {
                ptr::null()
            } else {
                chain.as_ptr()
            },
            chain.len(),
            major,
            NOW,
            &mut dec,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(d), pgtls_status::Ok) => {
            assert!(!dec.is_null() && err.is_null());
            let want = if d.undecided().is_some() {
                "undecided"
            } else if d.accepted() {
                "accept"
            } else {
                "reject"
            };
            // SAFETY: dec is live until freed.
            unsafe {
                let verdict = client_word(pgtls_client_decision_outcome(dec));
                let ctx = || format!("{line} user={user} ident={with_ident} crl={crl} {d:?}");
                assert_eq!(verdict, want, "client verdict\n{}", ctx());
                assert_eq!(
                    c_text(pgtls_client_decision_undecided(dec)),
                    d.undecided().map(c_form),
                    "{}",
                    ctx()
                );
                assert_eq!(
                    c_text(pgtls_client_decision_message(dec)),
                    d.message().map(c_form),
                    "{}",
                    ctx()
                );
                assert_eq!(
                    c_text(pgtls_client_decision_log(dec)),
                    d.log().map(c_form),
                    "{}",
                    ctx()
                );
                // The JSON is the library's report: the same verdict, and the
                // undecided reason.
                let mut json: *mut pgtls_buf = ptr::null_mut();
                assert_eq!(
                    pgtls_client_decision_to_json(dec, &mut json, ptr::null_mut()),
                    pgtls_status::Ok
                );
                let j: serde_json::Value =
                    serde_json::from_slice(&buf_bytes(json)).expect("decision JSON parses");
                assert_eq!(j["verdict"].as_str(), Some(want), "JSON verdict\n{}", ctx());
                assert_eq!(j["undecided"].as_str(), d.undecided(), "{}", ctx());
                assert_eq!(j["message"].as_str(), d.message(), "{}", ctx());
                assert!(
                    !(d.undecided().is_some() && d.accepted()),
                    "Rust decision both undecided and accepted\n{}",
                    ctx()
                );
                pgtls_client_decision_free(dec);
            }
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(dec.is_null(), "output written on failure");
            take_error(s, err, "pgtls_verify_client");
        }
        (r, s) => panic!("pgtls_verify_client {s:?} but the Rust API {r:?} ({line})"),
    }
    // NULL accessors are NULL / INVALID, never a read.
    // SAFETY: NULL is allowed for every accessor.
    unsafe {
        assert_eq!(
            pgtls_client_decision_outcome(ptr::null()),
            pgtls_ffi::pgtls_client_outcome::Invalid
        );
        assert!(pgtls_client_decision_undecided(ptr::null()).is_null());
    }
}

/// The structured tail of `ffi_verdict`: the request builder against the hba file
/// already parsed, then usermap and client-certificate decisions.
pub fn verdict_tail(
    r: &mut Reader<'_>,
    major: u32,
    text: &str,
    file: &HbaFile,
    hba: *const CHba,
    req: &Request,
) {
    hba_request(r, text, file, hba, req);
    let (_, ident_file, ident) = ident_usermap(r, major);
    client_decision(r, major, &ident_file, ident);
    // SAFETY: freed once.
    unsafe { pgtls_ident_free(ident) };
}

// ------------------------------------------------------------- CA load

/// Splits raw bytes into the `pgtls_ca_load` arguments: the certificate part is
/// everything before the first PEM block whose label names a private key (all of
/// it when there is none, then the key part is empty); a passphrase is whatever
/// follows the last `"\0pass:"` (`Some(b"")` for a bare marker), cut off the end.
pub fn ca_load_parts(data: &[u8]) -> (&[u8], &[u8], Option<&[u8]>) {
    const MARK: &[u8] = b"\0pass:";
    let (body, pass) = match data.windows(MARK.len()).rposition(|w| w == MARK) {
        Some(i) => (&data[..i], Some(&data[i + MARK.len()..])),
        None => (data, None),
    };
    let mut at = None;
    let mut from = 0;
    while let Some(p) = body[from..]
        .windows(11)
        .position(|w| w == b"-----BEGIN ")
        .map(|p| p + from)
    {
        let end = body[p..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |e| p + e);
        if body[p..end].windows(11).any(|w| w == b"PRIVATE KEY") {
            at = Some(p);
            break;
        }
        from = p + 11;
    }
    match at {
        Some(p) => (&body[..p], &body[p..], pass),
        None => (body, &[], pass),
    }
}

/// What `pgtls_ca_load` does, through the Rust API.
fn rust_ca_load(cert: &[u8], key: &[u8], pass: Option<&[u8]>) -> Result<Ca, String> {
    let e = |e: pgtls_core::Error| e.to_string();
    let mut certs = Certificate::chain_from_pem_or_der(cert, "CA certificate")
        .map_err(e)?
        .into_iter();
    let Some(first) = certs.next() else {
        return Err("CA certificate: no certificate".to_owned());
    };
    let key = KeyPair::from_pem_or_der(key, pass, "CA key").map_err(e)?;
    Ca::from_parts(first, key, certs.collect(), "CA certificate").map_err(e)
}

/// A fixed key for intermediates (a pgtls_key and its Rust twin).
fn intermediate_key() -> &'static (KeyPair, String) {
    static K: OnceLock<(KeyPair, String)> = OnceLock::new();
    K.get_or_init(|| {
        let k = KeyPair::generate(pgtls_core::KeyAlgorithm::EcdsaP256).expect("key");
        let pem = k.to_pem();
        (k, pem)
    })
}

fn call_ca_load(
    cert: (*const u8, usize),
    key: (*const u8, usize),
    pass: (*const u8, usize),
) -> (pgtls_status, *mut pgtls_ca, *mut pgtls_error) {
    let mut ca: *mut pgtls_ca = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: each (ptr, len) is a valid slice or (NULL, n), which the library
    // must refuse without reading.
    let st = unsafe {
        pgtls_ca_load(
            cert.0, cert.1, key.0, key.1, pass.0, pass.1, &mut ca, &mut err,
        )
    };
    (st, ca, err)
}

/// `pgtls_ca_load` on raw bytes cut into certificate, key and passphrase
/// ([`ca_load_parts`]): it succeeds exactly when the Rust path it documents
/// (`chain_from_pem_or_der` + `KeyPair::from_pem_or_der` + `Ca::from_parts`)
/// does; then the certificate, the chain PEM and an intermediate made under it
/// agree with Rust's; failures carry an error object and write no output;
/// `(NULL, n > 0)` in any argument is `PGTLS_STATUS_NULL_ARGUMENT`, as is a NULL
/// `ca_out`.
pub fn ca_load(data: &[u8]) {
    let (cert, key, pass) = ca_load_parts(data);
    let rust = rust_ca_load(cert, key, pass);
    // Some(b"") is an empty passphrase: a non-NULL pointer (inside or just past
    // `data`) with length 0.
    let pass_arg = pass.map_or((ptr::null(), 0), |p| (p.as_ptr(), p.len()));
    let (st, ca, err) = call_ca_load(
        (cert.as_ptr(), cert.len()),
        (key.as_ptr(), key.len()),
        pass_arg,
    );
    match (&rust, st) {
        (Ok(rca), pgtls_status::Ok) => {
            assert!(!ca.is_null() && err.is_null());
            ca_loaded(ca, rca);
            // SAFETY: freed once.
            unsafe { pgtls_ca_free(ca) };
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(ca.is_null(), "pgtls_ca_load: output written on failure");
            take_error(s, err, "pgtls_ca_load");
        }
        (r, s) => panic!(
            "pgtls_ca_load {s:?} but the Rust API {:?}",
            r.as_ref().map(|_| ())
        ),
    }

    // (NULL, n > 0) anywhere, and a NULL ca_out.
    let n = data.len().max(1);
    let real = (data.as_ptr(), data.len());
    for args in [
        ((ptr::null(), n), real, (ptr::null(), 0)),
        (real, (ptr::null(), n), (ptr::null(), 0)),
        (real, real, (ptr::null(), n)),
    ] {
        let (st, ca, err) = call_ca_load(args.0, args.1, args.2);
        assert_eq!(st, pgtls_status::NullArgument, "(NULL, n) accepted");
        assert!(ca.is_null());
        take_error(st, err, "pgtls_ca_load(NULL, n)");
    }
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: a NULL ca_out must be refused before any work.
    let st = unsafe {
        pgtls_ca_load(
            cert.as_ptr(),
            cert.len(),
            key.as_ptr(),
            key.len(),
            ptr::null(),
            0,
            ptr::null_mut(),
            &mut err,
        )
    };
    assert_eq!(st, pgtls_status::NullArgument, "NULL ca_out");
    take_error(st, err, "pgtls_ca_load(ca_out NULL)");
}

/// A loaded CA: its certificate and chain PEM are the Rust CA's, and
/// `pgtls_ca_create_intermediate` succeeds exactly when `Ca::create_intermediate`
/// does, making a CA whose chain is the loaded CA's certificate and chain.
fn ca_loaded(ca: *mut pgtls_ca, rca: &Ca) {
    let mut cert = ptr::null_mut();
    // SAFETY: ca is live; the certificate is an owned copy, freed once.
    let serial = unsafe {
        assert_eq!(
            pgtls_ca_certificate(ca, &mut cert, ptr::null_mut()),
            pgtls_status::Ok
        );
        let serial = c_text(pgtls_cert_serial(cert));
        pgtls_cert_free(cert);
        serial
    };
    assert_eq!(serial, Some(rca.certificate().serial_hex()));
    let mut pem: *mut pgtls_buf = ptr::null_mut();
    // SAFETY: live ca, valid out pointer.
    let st = unsafe { pgtls_ca_chain_to_pem(ca, &mut pem, ptr::null_mut()) };
    assert_eq!(st, pgtls_status::Ok);
    let mut want = rca.certificate().to_pem();
    for c in rca.chain() {
        want.push_str(&c.to_pem());
    }
    let got = buf_bytes(pem);
    assert_eq!(got, want.into_bytes(), "pgtls_ca_chain_to_pem");

    let (rkey, key_pem) = intermediate_key();
    let subject = "/O=pgtls fuzz/CN=Fuzz Intermediate";
    let days = 30;
    let params = CertificateParams::ca(
        pgtls_core::DistinguishedName::parse_openssl(subject).expect("name"),
        Validity::days_from(now(), days),
        None,
    );
    let rkey2 = KeyPair::from_pem_or_der(rkey.to_pkcs8_der(), None, "key").expect("key copy");
    let rust = rca.create_intermediate(&params, rkey2, now());
    let mut key: *mut pgtls_key = ptr::null_mut();
    // SAFETY: valid slice and out pointer.
    let st = unsafe {
        pgtls_key_parse(
            key_pem.as_ptr(),
            key_pem.len(),
            ptr::null(),
            0,
            &mut key,
            ptr::null_mut(),
        )
    };
    assert_eq!(st, pgtls_status::Ok);
    let mut inter: *mut pgtls_ca = ptr::null_mut();
    let mut err: *mut pgtls_error = ptr::null_mut();
    // SAFETY: live handles, valid slices and out pointers.
    let st = unsafe {
        pgtls_ca_create_intermediate(
            ca,
            subject.as_ptr(),
            subject.len(),
            key,
            days,
            -1,
            NOW,
            &mut inter,
            &mut err,
        )
    };
    match (&rust, st) {
        (Ok(_), pgtls_status::Ok) => {
            let mut pem: *mut pgtls_buf = ptr::null_mut();
            // SAFETY: live inter, valid out pointer.
            let st = unsafe { pgtls_ca_chain_to_pem(inter, &mut pem, ptr::null_mut()) };
            assert_eq!(st, pgtls_status::Ok);
            let chain =
                Certificate::chain_from_pem_or_der(&buf_bytes(pem), "chain").expect("chain PEM");
            assert_eq!(chain.len(), 2 + rca.chain().len(), "intermediate chain");
            assert!(chain[0].is_signed_by(rca.certificate()));
            assert!(chain[1] == *rca.certificate());
            assert!(chain[2..] == *rca.chain());
            // SAFETY: freed once.
            unsafe { pgtls_ca_free(inter) };
        }
        (Err(_), s) if s != pgtls_status::Ok => {
            assert!(inter.is_null(), "output written on failure");
            take_error(s, err, "pgtls_ca_create_intermediate");
        }
        (r, s) => panic!(
            "pgtls_ca_create_intermediate {s:?} but the Rust API {:?}",
            r.as_ref().map(|_| ()).map_err(ToString::to_string)
        ),
    }
    // SAFETY: freed once.
    unsafe { pgtls_key_free(key) };
}
