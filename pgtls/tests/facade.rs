//! The facade's modules are its crates whole, including what was added since: the
//! rotation and audit modules of pgtls-verify, and (feature `audit`) pgtls-postgres's
//! `audit` as `pgtls::postgres::audit`.

#[test]
fn rotation_and_audit_are_reachable_through_verify() {
    assert_eq!(
        pgtls::verify::rotation::SCHEMA_VERSION,
        pgtls_verify::rotation::SCHEMA_VERSION
    );
    let clients = pgtls::verify::rotation::parse_clients("clients.tsv", b"a\tsslmode=disable\n");
    assert_eq!(clients.map(|c| c.len()), Ok(1));
    fn takes(_: Option<&pgtls::verify::audit::Report>) {}
    takes(None);
}

/// `cargo test -p pgtls --features audit`.
#[cfg(feature = "audit")]
#[test]
fn the_audit_feature_gives_postgres_audit() {
    let opts = pgtls::postgres::Options::new();
    // A conninfo libpq refuses is refused before any connection.
    assert!(pgtls::postgres::audit::identity(&opts, "bogus=1").is_err());
}
