//! `ldapurl=`: OpenLDAP's `ldap_url_parse` (historic flags) as far as
//! pg_hba.conf needs it, with `ldap_err2string` texts for its failures.

use crate::hba::{HbaOptions, LineError};

/// `ldap_err2string` of the LDAP_URL_ERR_* codes (they reuse result-code texts).
fn url_err(code: u8) -> &'static str {
    match code {
        3 => "Time limit exceeded",                   // BADSCHEME
        4 => "Size limit exceeded",                   // BADENCLOSURE
        5 => "Compare False",                         // BADURL
        6 => "Compare True",                          // BADHOST
        7 => "Authentication method not supported",   // BADATTRS
        8 => "Strong(er) authentication required",    // BADSCOPE
        9 => "Partial results and referral received", // BADFILTER
        _ => "Referral",                              // BADEXTS
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(h) = h {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Applies an `ldapurl` value to the options.
pub(crate) fn apply(val: &str, o: &mut HbaOptions) -> Result<(), LineError> {
    let fail = |code: u8| {
        Err(LineError::new_pub(format!(
            "could not parse LDAP URL \"{val}\": {}",
            url_err(code)
        )))
    };
    let mut rest = val.trim_start();
    let enclosed = rest.starts_with('<');
    if enclosed {
        rest = &rest[1..];
    }
    // `get`, not `[..4]`: the value may have a multi-byte character there (found by the
    // hba_parse fuzzer; fuzz/regressions/hba_parse/crash-622678379a41…).
    if let Some(p) = rest.get(..4)
        && p.eq_ignore_ascii_case("URL:")
    {
        rest = &rest[4..];
    }
    let lower = rest.to_ascii_lowercase();
    let (scheme, after) = if lower.starts_with("ldap://") {
        ("ldap", &rest[7..])
    } else if lower.starts_with("ldaps://") {
        ("ldaps", &rest[8..])
    } else if lower.starts_with("ldapi://") {
        ("ldapi", &rest[8..])
    } else if lower.starts_with("cldap://") {
        ("cldap", &rest[8..])
    } else {
        return fail(3);
    };
    let mut after = after.to_owned();
    if enclosed {
        if !after.ends_with('>') {
            return fail(4);
        }
        after.pop();
    }
    if scheme != "ldap" && scheme != "ldaps" {
        return Err(LineError::new_pub(format!(
            "unsupported LDAP URL scheme: {scheme}"
        )));
    }
    let (hostport, path) = match after.find(['/', '?']) {
        Some(i) => (&after[..i], Some(&after[i..])),
        None => (after.as_str(), None),
    };
    let (host, port) = match hostport.rfind(':') {
        Some(i) if !hostport.starts_with('[') || hostport[..i].ends_with(']') => {
            let p = &hostport[i + 1..];
            let n: i64 = match p.parse() {
                Ok(n) if (1..=65535).contains(&n) => n,
                _ => return fail(5),
            };
            (&hostport[..i], i32::try_from(n).unwrap_or(0))
        }
        _ => (hostport, if scheme == "ldaps" { 636 } else { 389 }),
    };
    let host = pct_decode(host);
    if !host.is_empty() {
        o.ldapserver = Some(host);
    }
    o.ldapscheme = Some(scheme.to_owned());
    o.ldapport = port;
    o.ldapscope = 0;
    if let Some(path) = path {
        // With a '/', the DN is whatever comes before '?' (possibly empty).
        let has_dn = path.starts_with('/');
        let path = path.strip_prefix('/').unwrap_or(path);
        let mut parts = path.splitn(5, '?');
        let dn = parts.next().unwrap_or("");
        if has_dn {
            o.ldapbasedn = Some(pct_decode(dn));
        }
        if let Some(attrs) = parts.next()
            && !attrs.is_empty()
        {
            let first = attrs.split(',').next().unwrap_or("");
            o.ldapsearchattribute = Some(pct_decode(first));
        }
        if let Some(scope) = parts.next()
            && !scope.is_empty()
        {
            o.ldapscope = match scope.to_ascii_lowercase().as_str() {
                "base" => 0,
                "one" | "onelevel" => 1,
                "sub" | "subtree" => 2,
                "subord" | "subordinate" | "children" => 3,
                _ => return fail(8),
            };
        }
        if let Some(filter) = parts.next()
            && !filter.is_empty()
        {
            o.ldapsearchfilter = Some(pct_decode(filter));
        }
        if let Some(exts) = parts.next()
            && exts.is_empty()
        {
            return fail(10);
        }
    }
    Ok(())
}
