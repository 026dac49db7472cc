//! `require_auth` (libpq 16+): the keyword's grammar (`pqConnectOptions2`) and
//! the check of each authentication request the server makes
//! (`check_expected_areq`; 18: `pg_SASL_init`'s mechanism check), made on the
//! server's bytes before tokio-postgres sees them, so that a request that is
//! not allowed is never answered.

use pgtls_verify::PgVersion;
use pgtls_verify::client_cert::CertMode;

/// `AUTH_REQ_*` codes.
pub(crate) const OK: i32 = 0;
const PASSWORD: i32 = 3;
const MD5: i32 = 5;
const GSS: i32 = 7;
const GSS_CONT: i32 = 8;
const SSPI: i32 = 9;
pub(crate) const SASL: i32 = 10;
pub(crate) const SASL_CONT: i32 = 11;
const SASL_FIN: i32 = 12;

const fn bit(code: i32) -> u32 {
    1 << code
}

const SASL_BITS: u32 = bit(SASL) | bit(SASL_CONT) | bit(SASL_FIN);

/// A parsed `require_auth` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequireAuth {
    /// The value as given (libpq's messages quote it).
    text: String,
    /// `auth_required`: an authentication exchange must have completed.
    required: bool,
    /// `allowed_auth_methods`.
    methods: u32,
    /// 18's `allowed_sasl_mechs`: SCRAM-SHA-256, OAUTHBEARER.
    scram: bool,
    oauth: bool,
    version: PgVersion,
}

impl RequireAuth {
    /// libpq's parse; `text` is the value as given, possibly empty (libpq
    /// then allows no method at all but a server that asks for none).
    pub(crate) fn parse(text: &str, version: PgVersion) -> Result<Self, String> {
        let mut r = Self {
            text: text.to_string(),
            required: false,
            methods: 0,
            scram: false,
            oauth: false,
            version,
        };
        if text.is_empty() {
            return Ok(r);
        }
        let v18 = version >= PgVersion::V18;
        r.required = true;
        let mut negated = false;
        for (i, part) in text.split(',').enumerate() {
            let mut method = part;
            if let Some(m) = part.strip_prefix('!') {
                if i == 0 {
                    r.required = false;
                    r.methods = u32::MAX;
                    r.scram = true;
                    r.oauth = v18;
                } else if !negated {
                    return Err(format!(
                        "negative require_auth method \"{part}\" cannot be mixed with non-negative methods"
                    ));
                }
                negated = true;
                method = m;
            } else if negated {
                return Err(format!(
                    "require_auth method \"{part}\" cannot be mixed with negative methods"
                ));
            }
            let duplicate =
                || format!("require_auth method \"{part}\" is specified more than once");
            let bits = match method {
                "password" => bit(PASSWORD),
                "md5" => bit(MD5),
                "gss" => bit(GSS) | bit(GSS_CONT),
                "sspi" => bit(SSPI) | bit(GSS_CONT),
                "scram-sha-256" if !v18 => SASL_BITS,
                "scram-sha-256" | "oauth" if v18 => {
                    let slot = if method == "oauth" {
                        &mut r.oauth
                    } else {
                        &mut r.scram
                    };
                    if *slot != negated {
                        return Err(duplicate());
                    }
                    *slot = !negated;
                    continue;
                }
                "none" => {
                    // "!none": an exchange is required; "none": it is not.
                    if r.required == negated {
                        return Err(duplicate());
                    }
                    r.required = negated;
                    continue;
                }
                _ => return Err(format!("invalid require_auth value: \"{method}\"")),
            };
            if negated {
                if r.methods & bits == 0 {
                    return Err(duplicate());
                }
                r.methods &= !bits;
            } else {
                if r.methods & bits == bits {
                    return Err(duplicate());
                }
                r.methods |= bits;
            }
        }
        if v18 {
            let any_mech = r.scram || r.oauth;
            if !negated && any_mech {
                r.methods |= SASL_BITS;
            } else if negated && !any_mech {
                r.methods &= !SASL_BITS;
            }
        }
        Ok(r)
    }

    fn failed(&self, reason: &str) -> String {
        format!(
            "authentication method requirement \"{}\" failed: {reason}",
            self.text
        )
    }

    /// `check_expected_areq`'s `require_auth` part for request `code`;
    /// `finished`: the client has sent its last authentication message.
    pub(crate) fn check(&self, code: i32, finished: bool) -> Result<(), String> {
        let allowed = match code {
            OK => {
                if !self.required || finished {
                    return Ok(());
                }
                return Err(self.failed("server did not complete authentication"));
            }
            PASSWORD | MD5 | GSS | GSS_CONT | SSPI | SASL | SASL_CONT | SASL_FIN => {
                self.methods & bit(code) != 0
            }
            _ => false,
        };
        if allowed {
            return Ok(());
        }
        let reason = match code {
            PASSWORD => "server requested a cleartext password",
            MD5 => "server requested a hashed password",
            GSS | GSS_CONT => "server requested GSSAPI authentication",
            SSPI => "server requested SSPI authentication",
            SASL | SASL_CONT | SASL_FIN => "server requested SASL authentication",
            _ => "server requested an unknown authentication type",
        };
        Err(self.failed(reason))
    }

    /// 18's `pg_SASL_init`: the mechanism libpq selected must be allowed.
    pub(crate) fn check_mechanism(&self, mechanism: &str) -> Result<(), String> {
        if self.version < PgVersion::V18 {
            return Ok(());
        }
        let allowed = if mechanism == "OAUTHBEARER" {
            self.oauth
        } else {
            self.scram
        };
        if allowed {
            Ok(())
        } else {
            Err(self.failed(&format!("server requested {mechanism} authentication")))
        }
    }
}

/// What is checked on the server's authentication requests for one
/// connection (shared by every attempt).
#[derive(Clone, Debug)]
pub(crate) struct AuthRules {
    pub(crate) require_auth: Option<RequireAuth>,
    pub(crate) certmode: CertMode,
    /// `channel_binding=disable` (libpq then never picks SCRAM-SHA-256-PLUS).
    pub(crate) channel_binding_disabled: bool,
    /// `channel_binding=require` (its refusals come before 18's mechanism check).
    pub(crate) channel_binding_required: bool,
}

/// The mechanism libpq's `pg_SASL_init` selects from the server's list (the
/// body of `AuthenticationSASL` after its code), or `None` when it finds
/// none it supports or refuses first (SCRAM-SHA-256-PLUS over plaintext).
pub(crate) fn selected_mechanism(
    list: &[u8],
    tls: bool,
    channel_binding_disabled: bool,
) -> Option<&'static str> {
    let mut selected = None;
    for name in list.split(|b| *b == 0).take_while(|n| !n.is_empty()) {
        match name {
            b"SCRAM-SHA-256-PLUS" => {
                if !tls {
                    return None;
                }
                if !channel_binding_disabled {
                    selected = Some("SCRAM-SHA-256-PLUS");
                }
            }
            b"SCRAM-SHA-256" if selected.is_none() => selected = Some("SCRAM-SHA-256"),
            b"OAUTHBEARER" if selected.is_none() => selected = Some("OAUTHBEARER"),
            _ => {}
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p16(s: &str) -> Result<RequireAuth, String> {
        RequireAuth::parse(s, PgVersion::V16)
    }

    fn p18(s: &str) -> Result<RequireAuth, String> {
        RequireAuth::parse(s, PgVersion::V18)
    }

    #[test]
    fn grammar_and_refusals() {
        assert_eq!(
            p16("password,!md5").unwrap_err(),
            "negative require_auth method \"!md5\" cannot be mixed with non-negative methods"
        );
        assert_eq!(
            p16("!md5,password").unwrap_err(),
            "require_auth method \"password\" cannot be mixed with negative methods"
        );
        assert_eq!(
            p16("md5,md5").unwrap_err(),
            "require_auth method \"md5\" is specified more than once"
        );
        assert_eq!(
            p16("!none,!none").unwrap_err(),
            "require_auth method \"!none\" is specified more than once"
        );
        // A list starts required: one "none" lifts that, a second is a duplicate.
        assert!(p16("none").is_ok());
        assert!(p16("none,none").is_err());
        assert_eq!(
            p16("oauth").unwrap_err(),
            "invalid require_auth value: \"oauth\""
        );
        assert!(p18("oauth").is_ok());
        assert_eq!(
            p16("password,").unwrap_err(),
            "invalid require_auth value: \"\""
        );
        assert_eq!(
            p16(" password").unwrap_err(),
            "invalid require_auth value: \" password\""
        );
    }

    #[test]
    fn checks() {
        let r = p16("password").unwrap();
        assert!(r.check(PASSWORD, false).is_ok());
        assert_eq!(
            r.check(MD5, false).unwrap_err(),
            "authentication method requirement \"password\" failed: server requested a hashed password"
        );
        assert_eq!(
            r.check(OK, false).unwrap_err(),
            "authentication method requirement \"password\" failed: server did not complete authentication"
        );
        assert!(r.check(OK, true).is_ok());
        let r = p16("!scram-sha-256").unwrap();
        assert!(r.check(SASL, false).is_err());
        assert!(r.check(OK, false).is_ok());
        // 18: the SASL request passes, the mechanism does not.
        let r = p18("!scram-sha-256").unwrap();
        assert!(r.check(SASL, false).is_ok());
        assert_eq!(
            r.check_mechanism("SCRAM-SHA-256-PLUS").unwrap_err(),
            "authentication method requirement \"!scram-sha-256\" failed: server requested SCRAM-SHA-256-PLUS authentication"
        );
        // Empty: nothing allowed but a server that asks for nothing.
        let r = p16("").unwrap();
        assert!(r.check(OK, false).is_ok());
        assert!(r.check(PASSWORD, false).is_err());
        assert_eq!(
            selected_mechanism(b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", true, false),
            Some("SCRAM-SHA-256-PLUS")
        );
        assert_eq!(
            selected_mechanism(b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", true, true),
            Some("SCRAM-SHA-256")
        );
        assert_eq!(
            selected_mechanism(b"SCRAM-SHA-256\0\0", false, false),
            Some("SCRAM-SHA-256")
        );
    }
}
