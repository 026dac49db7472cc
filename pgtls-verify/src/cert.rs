//! Certificates and CRLs: pgtls-x509's, which carry what OpenSSL's verifier consults.

pub(crate) use pgtls_x509::consts::{
    KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_AGREEMENT, KU_KEY_ENCIPHERMENT, NS_SSL_CA,
    NS_SSL_CLIENT, NS_SSL_SERVER, OID_CLIENT_AUTH, OID_MS_SGC, OID_NS_SGC, OID_SERVER_AUTH,
};
pub(crate) use pgtls_x509::{
    Certificate as Cert, Crl, GeneralName as San, akid_matches, key_too_weak, sig_alg_matches_key,
    sig_digest_too_weak, verify_signature,
};
