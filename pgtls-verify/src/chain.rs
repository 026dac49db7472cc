//! Chain verification as OpenSSL 3.0's `X509_verify_cert` does it for libpq
//! (and for the server's client-certificate check).
//!
//! libpq loads `sslrootcert` with `SSL_CTX_load_verify_locations`, passes a
//! pass-through `verify_cb`, sets no `X509_V_FLAG_PARTIAL_CHAIN`, and OpenSSL
//! checks the `sslserver` purpose (libpq-tls spec §3.4). rustls-webpki
//! disagrees with that in several places (v1 certificates, a self-signed
//! server certificate that is its own anchor, non-self-signed certificates in
//! the root file, `nsCertType`, CRL semantics; see context/CRATES.md §3), so
//! this module follows OpenSSL's steps itself, in OpenSSL's order:
//!
//! 1. `build_chain`: trusted-first issuer search, the peer's certificates as
//!    untrusted; a chain is trusted when a self-signed certificate from the
//!    trust store ends it.
//! 2. `check_extensions`: unhandled critical extensions, CA flags
//!    (`X509_check_ca`), purpose, path length.
//! 3. `check_auth_level`: security level 2 key sizes and digests.
//! 4. `check_revocation` with `CRL_CHECK|CRL_CHECK_ALL` when CRLs are loaded.
//! 5. `internal_verify`: signatures and validity periods, top down.
//! 6. `check_name_constraints` (DNS and IP subtrees).
//!
//! The first failure stops, as with libpq's pass-through callback.

use std::fmt;

use crate::cert::{
    self, Cert, Crl, KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_AGREEMENT, KU_KEY_ENCIPHERMENT,
    NS_SSL_CA, NS_SSL_CLIENT, NS_SSL_SERVER, OID_CLIENT_AUTH, OID_MS_SGC, OID_NS_SGC,
    OID_SERVER_AUTH, San,
};

/// OpenSSL's default maximum verification depth (`X509_VERIFY_PARAM` "default").
pub(crate) const MAX_DEPTH: usize = 100;
/// `build_chain` extends a chain up to one certificate past [`MAX_DEPTH`]
/// and reports `certificate chain too long` when that is still not trusted
/// (checked with `openssl verify` on a cycle of cross-signed trusted CAs:
/// error depth 101).
const CHAIN_LIMIT: usize = MAX_DEPTH + 1;

/// The work one verification may do, as rustls-webpki's `Budget` bounds its path
/// building (after Go's CVE-2018-16875 and mozilla::pkix). OpenSSL's `build_chain` never
/// backtracks: each of at most `CHAIN_LIMIT + 1` steps looks at every candidate once, the
/// chain's signatures are checked once each, and one CRL per certificate. The limits are
/// that work, so they never stop a verification OpenSSL would finish; what they rule out
/// is any change that would make a hostile root file, CRL file or chain cost more than
/// linear work (backtracking over candidates is exponential). Exhausting the budget fails
/// closed with OpenSSL's `unspecified certificate verification error`.
#[derive(Debug)]
pub(crate) struct Budget {
    issuer_checks: usize,
    crl_checks: usize,
    signatures: usize,
}

impl Budget {
    /// The budget for a chain of `peer` certificates, `trusted` store certificates and
    /// `crls` CRLs.
    pub(crate) fn for_inputs(peer: usize, trusted: usize, crls: usize) -> Self {
        let steps = CHAIN_LIMIT + 1;
        Self {
            issuer_checks: steps.saturating_mul(peer.saturating_add(trusted)),
            crl_checks: steps.saturating_mul(crls),
            signatures: 2 * steps,
        }
    }

    fn spend(left: &mut usize, depth: usize, c: &Cert) -> Result<(), ChainFailure> {
        match left.checked_sub(1) {
            Some(n) => {
                *left = n;
                Ok(())
            }
            None => Err(fail(X509Reason::Unspecified, depth, c)),
        }
    }
}

/// The reason OpenSSL's verifier gives (the `X509_V_ERR_*` code libpq hides
/// behind `certificate verify failed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum X509Reason {
    /// 1: `unspecified certificate verification error`; pgtls gives it only when a
    /// verification exhausts its work budget, which OpenSSL's algorithm never does.
    Unspecified,
    /// 2: an issuer in the trust store is not self-signed and its issuer is unknown.
    UnableToGetIssuerCert,
    /// 3: CRL checking is on and no usable CRL covers a certificate.
    UnableToGetCrl,
    /// 6
    UnableToDecodeIssuerPublicKey,
    /// 7
    CertSignatureFailure,
    /// 8
    CrlSignatureFailure,
    /// 9
    CertNotYetValid,
    /// 10
    CertHasExpired,
    /// 11
    CrlNotYetValid,
    /// 12
    CrlHasExpired,
    /// 18: a lone self-signed certificate that is not trusted.
    DepthZeroSelfSignedCert,
    /// 19
    SelfSignedCertInChain,
    /// 20: no issuer anywhere.
    UnableToGetIssuerCertLocally,
    /// 21
    UnableToVerifyLeafSignature,
    /// 22
    CertChainTooLong,
    /// 23
    CertRevoked,
    /// 79 (OpenSSL 3.0's number; 24 in 1.1)
    InvalidCa,
    /// 25
    PathLengthExceeded,
    /// 26
    InvalidPurpose,
    /// 33
    UnableToGetCrlIssuer,
    /// 34
    UnhandledCriticalExtension,
    /// 35
    KeyUsageNoCrlSign,
    /// 36
    UnhandledCriticalCrlExtension,
    /// 41
    InvalidExtension,
    /// 44
    DifferentCrlScope,
    /// 47
    PermittedViolation,
    /// 48
    ExcludedViolation,
    /// 66
    EeKeyTooSmall,
    /// 67
    CaKeyTooSmall,
    /// 68
    CaMdTooWeak,
}

impl X509Reason {
    /// OpenSSL's numeric `X509_V_ERR_*` code.
    pub fn code(self) -> u32 {
        use X509Reason::*;
        match self {
            Unspecified => 1,
            UnableToGetIssuerCert => 2,
            UnableToGetCrl => 3,
            UnableToDecodeIssuerPublicKey => 6,
            CertSignatureFailure => 7,
            CrlSignatureFailure => 8,
            CertNotYetValid => 9,
            CertHasExpired => 10,
            CrlNotYetValid => 11,
            CrlHasExpired => 12,
            DepthZeroSelfSignedCert => 18,
            SelfSignedCertInChain => 19,
            UnableToGetIssuerCertLocally => 20,
            UnableToVerifyLeafSignature => 21,
            CertChainTooLong => 22,
            CertRevoked => 23,
            InvalidCa => 79,
            PathLengthExceeded => 25,
            InvalidPurpose => 26,
            UnableToGetCrlIssuer => 33,
            UnhandledCriticalExtension => 34,
            KeyUsageNoCrlSign => 35,
            UnhandledCriticalCrlExtension => 36,
            InvalidExtension => 41,
            DifferentCrlScope => 44,
            PermittedViolation => 47,
            ExcludedViolation => 48,
            EeKeyTooSmall => 66,
            CaKeyTooSmall => 67,
            CaMdTooWeak => 68,
        }
    }

    /// What an operator does about this reason when it is the *server* refusing
    /// a client certificate (PostgreSQL sets `X509_V_FLAG_CRL_CHECK |
    /// X509_V_FLAG_CRL_CHECK_ALL` once `ssl_crl_file` or `ssl_crl_dir` is set),
    /// for the reasons whose fix is not obvious from the text.
    pub fn server_side_hint(self) -> Option<&'static str> {
        use X509Reason::*;
        match self {
            UnableToGetCrl => Some(
                "with ssl_crl_file/ssl_crl_dir set, the server checks a CRL for every CA of \
                 the client's chain: each CA in ssl_ca_file that issues (a CA of) it needs a \
                 current CRL there",
            ),
            CrlHasExpired => Some(
                "the CRL's nextUpdate has passed: publish a new CRL (`pgtls crl`), install it \
                 and reload the server; until then every client certificate is refused",
            ),
            CrlNotYetValid => Some("the CRL's thisUpdate is in the future: check the clocks"),
            _ => None,
        }
    }

    /// OpenSSL 3.0's text for the code (`X509_verify_cert_error_string`).
    pub fn text(self) -> &'static str {
        use X509Reason::*;
        match self {
            Unspecified => "unspecified certificate verification error",
            UnableToGetIssuerCert => "unable to get issuer certificate",
            UnableToGetCrl => "unable to get certificate CRL",
            UnableToDecodeIssuerPublicKey => "unable to decode issuer public key",
            CertSignatureFailure => "certificate signature failure",
            CrlSignatureFailure => "CRL signature failure",
            CertNotYetValid => "certificate is not yet valid",
            CertHasExpired => "certificate has expired",
            CrlNotYetValid => "CRL is not yet valid",
            CrlHasExpired => "CRL has expired",
            DepthZeroSelfSignedCert => "self-signed certificate",
            SelfSignedCertInChain => "self-signed certificate in certificate chain",
            UnableToGetIssuerCertLocally => "unable to get local issuer certificate",
            UnableToVerifyLeafSignature => "unable to verify the first certificate",
            CertChainTooLong => "certificate chain too long",
            CertRevoked => "certificate revoked",
            InvalidCa => "invalid CA certificate",
            PathLengthExceeded => "path length constraint exceeded",
            InvalidPurpose => "unsuitable certificate purpose",
            UnableToGetCrlIssuer => "unable to get CRL issuer certificate",
            UnhandledCriticalExtension => "unhandled critical extension",
            KeyUsageNoCrlSign => "key usage does not include CRL signing",
            UnhandledCriticalCrlExtension => "unhandled critical CRL extension",
            InvalidExtension => "invalid or inconsistent certificate extension",
            DifferentCrlScope => "Different CRL scope",
            PermittedViolation => "permitted subtree violation",
            ExcludedViolation => "excluded subtree violation",
            EeKeyTooSmall => "EE certificate key too weak",
            CaKeyTooSmall => "CA certificate key too weak",
            CaMdTooWeak => "CA signature digest algorithm too weak",
        }
    }

    /// How specific the reason is, webpki-style: a higher rank says more
    /// about what is wrong (used when several candidate chains are compared).
    pub fn rank(self) -> u32 {
        use X509Reason::*;
        match self {
            Unspecified => 5,
            UnableToGetIssuerCertLocally
            | UnableToGetIssuerCert
            | DepthZeroSelfSignedCert
            | SelfSignedCertInChain => 10,
            CertChainTooLong => 15,
            InvalidCa
            | PathLengthExceeded
            | InvalidPurpose
            | UnhandledCriticalExtension
            | InvalidExtension => 20,
            EeKeyTooSmall | CaKeyTooSmall | CaMdTooWeak => 25,
            UnableToGetCrl
            | UnableToGetCrlIssuer
            | DifferentCrlScope
            | KeyUsageNoCrlSign
            | UnhandledCriticalCrlExtension => 30,
            CrlHasExpired | CrlNotYetValid | CrlSignatureFailure => 35,
            CertRevoked => 40,
            UnableToDecodeIssuerPublicKey | CertSignatureFailure | UnableToVerifyLeafSignature => {
                45
            }
            CertNotYetValid | CertHasExpired => 50,
            PermittedViolation | ExcludedViolation => 55,
        }
    }
}

impl fmt::Display for X509Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// The certificate purpose checked (`X509_PURPOSE_SSL_SERVER` on the client,
/// `X509_PURPOSE_SSL_CLIENT` on the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    SslServer,
    SslClient,
}

/// The trust store: the root file's certificates and any CRLs, and whether
/// CRL checking is on.
#[derive(Clone, Debug, Default)]
pub(crate) struct Store {
    pub(crate) trusted: Vec<Cert>,
    pub(crate) crls: Vec<Crl>,
    pub(crate) crl_check: bool,
}

/// Where verification stopped: reason, depth and the certificate concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFailure {
    /// OpenSSL's reason.
    pub reason: X509Reason,
    /// Depth in the chain (0 = leaf).
    pub depth: usize,
    /// Subject of the certificate concerned.
    pub subject: String,
}

/// One certificate of a verified chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLink {
    /// Depth (0 = leaf).
    pub depth: usize,
    /// Subject, one line.
    pub subject: String,
    /// Whether it came from the trust store (root file) rather than the peer.
    pub from_trust_store: bool,
}

fn fail(reason: X509Reason, depth: usize, c: &Cert) -> ChainFailure {
    ChainFailure {
        reason,
        depth,
        subject: c.subject_text(),
    }
}

/// Verifies `peer` (leaf first, as sent) against `store` at time `now`
/// (seconds since the Unix epoch).
pub(crate) fn verify(
    peer: &[Cert],
    store: &Store,
    purpose: Purpose,
    now: i64,
) -> Result<Vec<ChainLink>, ChainFailure> {
    let mut budget = Budget::for_inputs(peer.len(), store.trusted.len(), store.crls.len());
    verify_within(peer, store, purpose, now, &mut budget)
}

/// [`verify`] with an explicit budget.
pub(crate) fn verify_within(
    peer: &[Cert],
    store: &Store,
    purpose: Purpose,
    now: i64,
    budget: &mut Budget,
) -> Result<Vec<ChainLink>, ChainFailure> {
    let Some(leaf) = peer.first() else {
        return Err(ChainFailure {
            reason: X509Reason::UnableToGetIssuerCertLocally,
            depth: 0,
            subject: String::new(),
        });
    };
    let (chain, num_untrusted) = build_chain(leaf, peer, &store.trusted, now, budget)?;
    check_extensions(&chain, num_untrusted, purpose)?;
    check_auth_level(&chain)?;
    if store.crl_check {
        check_revocation(&chain, &store.crls, now, budget)?;
    }
    internal_verify(&chain, now, budget)?;
    check_name_constraints(&chain)?;
    Ok(chain
        .iter()
        .enumerate()
        .map(|(i, c)| ChainLink {
            depth: i,
            subject: c.subject_text(),
            from_trust_store: i >= num_untrusted,
        })
        .collect())
}

/// The certificates of `store` that a successful verification of `peer` uses (the
/// anchor and any store certificate on the way), or `None` when it does not verify.
pub(crate) fn store_path(
    peer: &[Cert],
    store: &Store,
    purpose: Purpose,
    now: i64,
) -> Option<Vec<Cert>> {
    verify(peer, store, purpose, now).ok()?;
    let leaf = peer.first()?;
    let mut budget = Budget::for_inputs(peer.len(), store.trusted.len(), store.crls.len());
    let (chain, num_untrusted) = build_chain(leaf, peer, &store.trusted, now, &mut budget).ok()?;
    Some(
        chain
            .get(num_untrusted..)
            .unwrap_or_default()
            .iter()
            .map(|c| (*c).clone())
            .collect(),
    )
}

/// `ossl_x509_likely_issued(issuer, subject)`.
fn likely_issued(issuer: &Cert, subject: &Cert) -> bool {
    issuer.subject().matches(subject.issuer())
        && cert::akid_matches(issuer, subject.extensions().authority_key_id.as_ref())
        && cert::sig_alg_matches_key(issuer.public_key(), subject.signature())
}

fn time_ok(c: &Cert, now: i64) -> bool {
    c.not_before() <= now && now < c.not_after()
}

/// `find_issuer` (untrusted certificates: one already in the chain is
/// skipped) / `X509_STORE_CTX_get1_issuer` (the trusted store: no such
/// check, so a cycle of cross-signed trusted CAs runs to the depth limit):
/// the first time-valid candidate, else the one expiring last.
fn find_issuer<'a>(
    cands: &'a [Cert],
    x: &Cert,
    chain: &[&Cert],
    now: i64,
    from_store: bool,
    budget: &mut Budget,
) -> Result<Option<&'a Cert>, ChainFailure> {
    let mut best: Option<&Cert> = None;
    for c in cands {
        Budget::spend(&mut budget.issuer_checks, chain.len(), x)?;
        if !likely_issued(c, x) {
            continue;
        }
        let in_chain = !from_store && chain.iter().any(|m| m.der() == c.der());
        if in_chain && !(x.is_self_issued() && chain.len() == 1) {
            continue;
        }
        if time_ok(c, now) {
            return Ok(Some(c));
        }
        if best.is_none_or(|b| c.not_after() > b.not_after()) {
            best = Some(c);
        }
    }
    Ok(best)
}

/// `build_chain` (crypto/x509/x509_vfy.c), trusted-first, no partial chains.
fn build_chain<'a>(
    leaf: &'a Cert,
    peer: &'a [Cert],
    trusted: &'a [Cert],
    now: i64,
    budget: &mut Budget,
) -> Result<(Vec<&'a Cert>, usize), ChainFailure> {
    let mut chain: Vec<&Cert> = vec![leaf];
    let mut num_untrusted = 1usize;
    let mut search_untrusted = true;
    loop {
        let num = chain.len();
        let Some(&curr) = chain.last() else { break };
        let mut extended = false;
        if num <= CHAIN_LIMIT
            && let Some(issuer) = find_issuer(trusted, curr, &chain, now, true, budget)?
        {
            let mut ok = true;
            if !curr.is_self_signed() {
                chain.push(issuer);
            } else if curr.der() != issuer.der() {
                // A self-signed untrusted mimic of a trust anchor.
                ok = false;
            } else {
                num_untrusted = num - 1;
                if let Some(slot) = chain.last_mut() {
                    *slot = issuer;
                }
            }
            if ok {
                search_untrusted = false;
                // check_trust: a self-signed certificate from the store is trusted.
                if chain
                    .get(num_untrusted..)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.is_self_signed())
                {
                    return Ok((chain, num_untrusted));
                }
                if chain.last().is_some_and(|c| !c.is_self_signed()) {
                    continue;
                }
                break;
            }
        }
        if search_untrusted && !curr.is_self_signed() && num <= CHAIN_LIMIT {
            let rest = peer.get(1..).unwrap_or_default();
            if let Some(issuer) = find_issuer(rest, curr, &chain, now, false, budget)? {
                chain.push(issuer);
                num_untrusted += 1;
                extended = true;
            }
        }
        if !extended {
            break;
        }
    }
    let num = chain.len();
    let top_depth = num - 1;
    let top = chain.last().copied().unwrap_or(leaf);
    if num > CHAIN_LIMIT {
        return Err(fail(X509Reason::CertChainTooLong, top_depth, top));
    }
    if top.is_self_signed() && num == 1 {
        return Err(fail(X509Reason::DepthZeroSelfSignedCert, 0, top));
    }
    if top.is_self_signed() {
        return Err(fail(X509Reason::SelfSignedCertInChain, top_depth, top));
    }
    if num_untrusted < num {
        return Err(fail(X509Reason::UnableToGetIssuerCert, top_depth, top));
    }
    Err(fail(
        X509Reason::UnableToGetIssuerCertLocally,
        top_depth,
        top,
    ))
}

/// `X509_check_purpose` for one certificate (`ca` = checked as an issuer).
fn purpose_ok(c: &Cert, purpose: Purpose, ca: bool) -> bool {
    let eku_has = |oids: &[&str]| {
        c.extensions()
            .ext_key_usage
            .as_ref()
            .is_none_or(|ekus| ekus.iter().any(|e| oids.contains(&e.as_str())))
    };
    let ku_has = |bits: u16| c.extensions().key_usage.is_none_or(|ku| ku & bits != 0);
    let ns_has = |bits: u8| c.extensions().ns_cert_type.is_none_or(|ns| ns & bits != 0);
    let eku_ok = match purpose {
        Purpose::SslServer => eku_has(&[OID_SERVER_AUTH, OID_NS_SGC, OID_MS_SGC]),
        Purpose::SslClient => eku_has(&[OID_CLIENT_AUTH]),
    };
    if !eku_ok {
        return false;
    }
    if ca {
        // check_ssl_ca
        let r = c.check_ca();
        return r != 0
            && (r != 5
                || c.extensions()
                    .ns_cert_type
                    .is_some_and(|ns| ns & NS_SSL_CA != 0));
    }
    match purpose {
        Purpose::SslServer => {
            ns_has(NS_SSL_SERVER)
                && ku_has(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)
        }
        Purpose::SslClient => {
            ku_has(KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT) && ns_has(NS_SSL_CLIENT)
        }
    }
}

/// `check_extensions`.
fn check_extensions(
    chain: &[&Cert],
    _num_untrusted: usize,
    purpose: Purpose,
) -> Result<(), ChainFailure> {
    let num = chain.len();
    let mut plen: u64 = 0;
    for (i, c) in chain.iter().enumerate() {
        if c.extensions().unhandled_critical.is_some() {
            return Err(fail(X509Reason::UnhandledCriticalExtension, i, c));
        }
        if c.extensions().invalid {
            return Err(fail(X509Reason::InvalidExtension, i, c));
        }
        let ca = c.check_ca();
        if i > 0 && (ca == 0 || (i + 1 < num && ca != 1)) {
            return Err(fail(X509Reason::InvalidCa, i, c));
        }
        if !purpose_ok(c, purpose, i > 0) {
            return Err(fail(X509Reason::InvalidPurpose, i, c));
        }
        if i > 1
            && let Some(pl) = c.path_len()
            && plen > u64::from(pl)
        {
            return Err(fail(X509Reason::PathLengthExceeded, i, c));
        }
        if i > 0 && !c.is_self_issued() {
            plen += 1;
        }
    }
    Ok(())
}

/// `check_auth_level` at security level 2 (Debian's OpenSSL default).
fn check_auth_level(chain: &[&Cert]) -> Result<(), ChainFailure> {
    let num = chain.len();
    for (i, c) in chain.iter().enumerate() {
        if cert::key_too_weak(c.public_key()) {
            let r = if i == 0 {
                X509Reason::EeKeyTooSmall
            } else {
                X509Reason::CaKeyTooSmall
            };
            return Err(fail(r, i, c));
        }
        if i + 1 < num && cert::sig_digest_too_weak(c.signature()) {
            return Err(fail(X509Reason::CaMdTooWeak, i, c));
        }
    }
    Ok(())
}

// CRL score bits (x509_vfy.c).
const CRL_SCORE_NOCRITICAL: u32 = 0x100;
const CRL_SCORE_SCOPE: u32 = 0x080;
const CRL_SCORE_TIME: u32 = 0x040;
const CRL_SCORE_ISSUER_NAME: u32 = 0x020;
const CRL_SCORE_VALID: u32 = CRL_SCORE_NOCRITICAL | CRL_SCORE_TIME | CRL_SCORE_SCOPE;
const CRL_SCORE_ISSUER_CERT: u32 = 0x018;
const CRL_SCORE_SAME_PATH: u32 = 0x008;
const CRL_SCORE_AKID: u32 = 0x004;

fn crl_time(crl: &Crl, now: i64) -> Option<X509Reason> {
    if crl.this_update() > now {
        return Some(X509Reason::CrlNotYetValid);
    }
    if let Some(next) = crl.next_update()
        && next <= now
    {
        return Some(X509Reason::CrlHasExpired);
    }
    None
}

/// `get_crl_score` + `crl_akid_check` + `crl_crldp_check`, reduced to full
/// (non-indirect, non-delta, all-reasons) CRLs. Returns (score, issuer index).
fn crl_score(chain: &[&Cert], depth: usize, crl: &Crl, now: i64) -> (u32, Option<usize>) {
    let Some(x) = chain.get(depth) else {
        return (0, None);
    };
    // Deltas, indirect CRLs and reason-partitioned CRLs need OpenSSL's
    // extended CRL support, which libpq does not enable.
    if crl.is_delta()
        || crl
            .issuing_distribution_point()
            .as_ref()
            .is_some_and(|p| p.indirect || p.some_reasons)
    {
        return (0, None);
    }
    let mut score = 0;
    if !crl.issuer().matches(x.issuer()) {
        return (0, None);
    }
    score |= CRL_SCORE_ISSUER_NAME;
    if !crl.has_unhandled_critical_extension() {
        score |= CRL_SCORE_NOCRITICAL;
    }
    if crl_time(crl, now).is_none() {
        score |= CRL_SCORE_TIME;
    }
    // crl_akid_check
    let last = chain.len() - 1;
    let mut cidx = if depth != last { depth + 1 } else { depth };
    let mut issuer = None;
    if let Some(ci) = chain.get(cidx)
        && cert::akid_matches(ci, crl.authority_key_id())
    {
        score |= CRL_SCORE_AKID | CRL_SCORE_ISSUER_CERT;
        issuer = Some(cidx);
    } else {
        cidx += 1;
        while let Some(ci) = chain.get(cidx) {
            if ci.subject().matches(crl.issuer()) && cert::akid_matches(ci, crl.authority_key_id())
            {
                score |= CRL_SCORE_AKID | CRL_SCORE_SAME_PATH;
                issuer = Some(cidx);
                break;
            }
            cidx += 1;
        }
    }
    if score & CRL_SCORE_AKID == 0 {
        return (0, None);
    }
    // crl_crldp_check
    let scope_ok = (|| {
        let idp = crl.issuing_distribution_point();
        if idp.is_some_and(|p| p.only_attr) {
            return false;
        }
        if x.is_ca_flag() {
            if idp.is_some_and(|p| p.only_user) {
                return false;
            }
        } else if idp.is_some_and(|p| p.only_ca) {
            return false;
        }
        if let Some(dps) = &x.extensions().crl_dp {
            for names in dps {
                match idp.and_then(|p| p.uris.as_ref()) {
                    None => return true,
                    Some(uris) => {
                        if names.iter().any(|n| uris.contains(n)) {
                            return true;
                        }
                    }
                }
            }
        }
        idp.is_none_or(|p| p.uris.is_none())
    })();
    if scope_ok {
        score |= CRL_SCORE_SCOPE;
    }
    (score, issuer)
}

/// `check_revocation` with `X509_V_FLAG_CRL_CHECK_ALL`: every certificate of
/// the chain, the self-signed top included, needs a CRL from its issuer.
fn check_revocation(
    chain: &[&Cert],
    crls: &[Crl],
    now: i64,
    budget: &mut Budget,
) -> Result<(), ChainFailure> {
    for (depth, x) in chain.iter().enumerate() {
        let mut best: Option<(&Crl, u32, Option<usize>)> = None;
        for crl in crls {
            Budget::spend(&mut budget.crl_checks, depth, x)?;
            let (score, issuer) = crl_score(chain, depth, crl, now);
            if score == 0 {
                continue;
            }
            match best {
                Some((b, bs, _))
                    if score < bs || (score == bs && crl.this_update() <= b.this_update()) => {}
                _ => best = Some((crl, score, issuer)),
            }
        }
        let Some((crl, score, issuer_idx)) = best else {
            return Err(fail(X509Reason::UnableToGetCrl, depth, x));
        };
        // check_crl
        let Some(issuer) = issuer_idx.and_then(|i| chain.get(i)) else {
            return Err(fail(X509Reason::UnableToGetCrlIssuer, depth, x));
        };
        if issuer
            .extensions()
            .key_usage
            .is_some_and(|ku| ku & KU_CRL_SIGN == 0)
        {
            return Err(fail(X509Reason::KeyUsageNoCrlSign, depth, x));
        }
        if score & CRL_SCORE_SCOPE == 0 {
            return Err(fail(X509Reason::DifferentCrlScope, depth, x));
        }
        if score & CRL_SCORE_TIME == 0
            && let Some(r) = crl_time(crl, now)
        {
            return Err(fail(r, depth, x));
        }
        Budget::spend(&mut budget.signatures, depth, x)?;
        if !cert::verify_signature(issuer.public_key(), crl.signature(), crl.tbs()) {
            return Err(fail(X509Reason::CrlSignatureFailure, depth, x));
        }
        // cert_crl
        if crl.has_unhandled_critical_extension() {
            return Err(fail(X509Reason::UnhandledCriticalCrlExtension, depth, x));
        }
        if crl.revokes(x.serial()) {
            return Err(fail(X509Reason::CertRevoked, depth, x));
        }
        let _ = CRL_SCORE_VALID;
    }
    Ok(())
}

/// `internal_verify`: signatures and validity, from the top down. The
/// self-signed top's own signature is not checked (OpenSSL skips it unless
/// `X509_V_FLAG_CHECK_SS_SIGNATURE`).
fn internal_verify(chain: &[&Cert], now: i64, budget: &mut Budget) -> Result<(), ChainFailure> {
    let Some(mut n) = chain.len().checked_sub(1) else {
        return Ok(());
    };
    let Some(&top) = chain.get(n) else {
        return Ok(());
    };
    let mut xi = top;
    let mut xs = top;
    if !likely_issued(top, top) {
        if n == 0 {
            return Err(fail(X509Reason::UnableToVerifyLeafSignature, 0, top));
        }
        n -= 1;
        xs = chain.get(n).copied().unwrap_or(top);
    }
    loop {
        if !std::ptr::eq(xs, xi) {
            Budget::spend(&mut budget.signatures, n, xs)?;
        }
        if !std::ptr::eq(xs, xi)
            && !cert::verify_signature(xi.public_key(), xs.signature(), xs.tbs())
        {
            return Err(fail(X509Reason::CertSignatureFailure, n, xs));
        }
        if xs.not_before() > now {
            return Err(fail(X509Reason::CertNotYetValid, n, xs));
        }
        if xs.not_after() <= now {
            return Err(fail(X509Reason::CertHasExpired, n, xs));
        }
        if n == 0 {
            return Ok(());
        }
        n -= 1;
        xi = xs;
        xs = chain.get(n).copied().unwrap_or(xs);
    }
}

fn dns_within(name: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    if name.len() < base.len() {
        return false;
    }
    let off = name.len() - base.len();
    let tail = name.get(off..).unwrap_or_default();
    if off > 0 && base.first() != Some(&b'.') && name.get(off - 1) != Some(&b'.') {
        return false;
    }
    tail.eq_ignore_ascii_case(base)
}

fn ip_within(ip: &[u8], base: &[u8]) -> bool {
    let n = ip.len();
    if base.len() != n * 2 {
        return false;
    }
    let (addr, mask) = base.split_at(n);
    ip.iter()
        .zip(addr)
        .zip(mask)
        .all(|((a, b), m)| a & m == b & m)
}

/// A CN that looks like a host name (OpenSSL's `cn2dnsid`), for name constraints.
fn cn_as_dns(c: &Cert) -> Option<Vec<u8>> {
    let text = c.subject().first_common_name()?.text()?;
    let b = text.as_bytes();
    if b.is_empty() || !b.contains(&b'.') || b.first() == Some(&b'.') || b.last() == Some(&b'.') {
        return None;
    }
    let mut prev_dot = false;
    for &ch in b {
        let dot = ch == b'.';
        if dot && prev_dot {
            return None;
        }
        if !(ch.is_ascii_alphanumeric() || ch == b'-' || ch == b'_' || dot) {
            return None;
        }
        prev_dot = dot;
    }
    Some(b.to_vec())
}

/// `check_name_constraints`, for dNSName and iPAddress subtrees.
fn check_name_constraints(chain: &[&Cert]) -> Result<(), ChainFailure> {
    for (i, x) in chain.iter().enumerate() {
        if i > 0 && x.is_self_issued() {
            continue;
        }
        let mut names: Vec<San> = x.extensions().san.clone().unwrap_or_default();
        if i == 0
            && !names.iter().any(|n| matches!(n, San::Dns(_)))
            && let Some(cn) = cn_as_dns(x)
        {
            names.push(San::Dns(cn));
        }
        for (j, ca) in chain.iter().enumerate().skip(i + 1) {
            let Some((permitted, excluded)) = &ca.extensions().name_constraints else {
                continue;
            };
            let _ = j;
            for n in &names {
                let within = |s: &San| match (n, s) {
                    (San::Dns(d), San::Dns(b)) => dns_within(d, b),
                    (San::Ip(ip), San::Ip(b)) => ip_within(ip, b),
                    _ => false,
                };
                let same_type = |s: &San| {
                    matches!(
                        (n, s),
                        (San::Dns(_), San::Dns(_)) | (San::Ip(_), San::Ip(_))
                    )
                };
                if !matches!(n, San::Dns(_) | San::Ip(_)) {
                    continue;
                }
                if permitted.iter().any(same_type) && !permitted.iter().any(within) {
                    return Err(fail(X509Reason::PermittedViolation, i, x));
                }
                if excluded.iter().any(within) {
                    return Err(fail(X509Reason::ExcludedViolation, i, x));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_fails_closed() {
        let leaf = Cert::for_name_checks(None, Some(b"db"));
        let store = Store {
            trusted: vec![Cert::for_name_checks(None, None); 3],
            crls: Vec::new(),
            crl_check: false,
        };
        let peer = [leaf];
        let mut tiny = Budget {
            issuer_checks: 2,
            crl_checks: 0,
            signatures: 0,
        };
        let err = verify_within(&peer, &store, Purpose::SslServer, 1, &mut tiny).unwrap_err();
        assert_eq!(err.reason, X509Reason::Unspecified);
        assert_eq!(err.reason.code(), 1);
        // The budget for these inputs is enough for OpenSSL's whole walk.
        let err = verify(&peer, &store, Purpose::SslServer, 1).unwrap_err();
        assert_ne!(err.reason, X509Reason::Unspecified);
    }

    #[test]
    fn dns_constraint_rules_follow_openssl_nc_dns() {
        assert!(dns_within(b"db.example.com", b"example.com"));
        assert!(dns_within(b"example.com", b"example.com"));
        assert!(!dns_within(b"badexample.com", b"example.com"));
        assert!(dns_within(b"a.example.com", b".example.com"));
        assert!(!dns_within(b"example.com", b".example.com"));
        assert!(dns_within(b"anything", b""));
    }

    #[test]
    fn ip_constraint_uses_mask() {
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0]));
    }

    #[test]
    fn reason_texts_and_codes_are_openssls() {
        assert_eq!(X509Reason::CertHasExpired.code(), 10);
        assert_eq!(
            X509Reason::UnableToGetIssuerCertLocally.text(),
            "unable to get local issuer certificate"
        );
        assert!(X509Reason::CertRevoked.rank() > X509Reason::UnableToGetCrl.rank());
    }
}
