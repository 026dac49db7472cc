//! The rustls crypto provider for connecting to PostgreSQL as libpq does:
//! aws-lc-rs's default provider plus ECDHE on secp521r1.
//!
//! PostgreSQL's `ssl_ecdh_curve` (PG 12–17; `prime256v1` by default) names the
//! one curve the server does ECDHE on: OpenSSL 3 then offers only that group.
//! (PG 18 replaces it with `ssl_groups`, a list, `X25519:prime256v1` by
//! default; a list of groups none of which rustls has still fails.)
//! libpq (OpenSSL) offers `secp521r1`; rustls' aws-lc-rs provider does not, so a
//! server with `ssl_ecdh_curve = 'secp521r1'` refuses every rustls client
//! (`no suitable key share`) that psql connects to. In TLS 1.2 the client's
//! groups also bound the curves of the server's ECDSA certificate (RFC 8422
//! 5.1), so a P-521 server key fails the same way. [`crypto_provider`] closes
//! both gaps; [`crate::probe`] uses it, and so should a rustls client built
//! around [`crate::LibpqVerifier`].

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::agreement::{self, ECDH_P521, EphemeralPrivateKey, UnparsedPublicKey};
use aws_lc_rs::rand::SystemRandom;
use rustls::crypto::{ActiveKeyExchange, CryptoProvider, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// A P-521 point, uncompressed (SEC1 2.3.3): `04 || X || Y`, 66 bytes each.
const P521_POINT_LEN: usize = 1 + 2 * 66;

/// Ephemeral ECDH on secp521r1 (NIST P-521), with aws-lc-rs.
pub static SECP521R1: &dyn SupportedKxGroup = &Secp521r1;

struct Secp521r1;

impl fmt::Debug for Secp521r1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("secp521r1")
    }
}

impl SupportedKxGroup for Secp521r1 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let key = EphemeralPrivateKey::generate(&ECDH_P521, &SystemRandom::new())
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        let public = key
            .compute_public_key()
            .map_err(|_| Error::FailedToGetRandomBytes)?
            .as_ref()
            .to_vec();
        Ok(Box::new(Secp521r1Exchange { key, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }

    fn fips(&self) -> bool {
        // P-521 ECDH is an approved scheme (SP 800-56A rev. 3); FIPS mode is
        // the module's, as for rustls' own P-256 / P-384.
        aws_lc_rs::try_fips_mode().is_ok()
    }
}

struct Secp521r1Exchange {
    key: EphemeralPrivateKey,
    public: Vec<u8>,
}

impl ActiveKeyExchange for Secp521r1Exchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // TLS sends only uncompressed points (RFC 8446 4.2.8.2, RFC 8422 5.4.1);
        // aws-lc-rs checks that the point is on the curve.
        if peer.len() != P521_POINT_LEN || peer.first() != Some(&0x04) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        let peer = UnparsedPublicKey::new(&ECDH_P521, peer);
        agreement::agree_ephemeral(self.key, peer, (), |secret| Ok(SharedSecret::from(secret)))
            .map_err(|()| PeerMisbehaved::InvalidKeyShare.into())
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

/// aws-lc-rs's default provider with [`SECP521R1`] added after its own
/// groups (so it is offered, as OpenSSL offers it, but never preferred).
pub fn crypto_provider() -> CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups.push(SECP521R1);
    provider
}

/// [`crypto_provider`] in an `Arc`, as rustls' config builders take it.
pub fn crypto_provider_arc() -> Arc<CryptoProvider> {
    Arc::new(crypto_provider())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn two_exchanges_agree() {
        let a = SECP521R1.start().unwrap();
        let b = SECP521R1.start().unwrap();
        assert_eq!(a.pub_key().len(), P521_POINT_LEN);
        assert_eq!(a.group(), NamedGroup::secp521r1);
        let (pa, pb) = (a.pub_key().to_vec(), b.pub_key().to_vec());
        assert_ne!(pa, pb);
        let sa = a.complete(&pb).unwrap();
        let sb = b.complete(&pa).unwrap();
        assert_eq!(sa.secret_bytes(), sb.secret_bytes());
        assert_eq!(sa.secret_bytes().len(), 66);
    }

    #[test]
    fn bad_peer_points_are_refused() {
        let other = SECP521R1.start().unwrap().pub_key().to_vec();
        let mut off_curve = other.clone();
        off_curve[P521_POINT_LEN - 1] ^= 1;
        let mut compressed = vec![0x02 | (other[P521_POINT_LEN - 1] & 1)];
        compressed.extend_from_slice(&other[1..67]);
        let p256 = rustls::crypto::aws_lc_rs::kx_group::SECP256R1
            .start()
            .unwrap()
            .pub_key()
            .to_vec();
        let mut not_04 = other.clone();
        not_04[0] = 0x06;
        for (what, peer) in [
            ("empty", Vec::new()),
            ("off the curve", off_curve),
            ("compressed", compressed),
            ("a P-256 point", p256),
            ("hybrid form", not_04),
            ("truncated", other[..P521_POINT_LEN - 1].to_vec()),
            ("all zero", vec![0; P521_POINT_LEN]),
        ] {
            let kx = SECP521R1.start().unwrap();
            assert!(
                matches!(
                    kx.complete(&peer),
                    Err(Error::PeerMisbehaved(PeerMisbehaved::InvalidKeyShare))
                ),
                "{what} accepted"
            );
        }
    }

    #[test]
    fn the_provider_offers_secp521r1_last() {
        let p = crypto_provider();
        let names: Vec<NamedGroup> = p.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(names.last(), Some(&NamedGroup::secp521r1));
        assert!(names.contains(&NamedGroup::secp256r1));
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == NamedGroup::secp521r1)
                .count(),
            1
        );
    }
}
