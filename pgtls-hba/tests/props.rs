//! Property tests: parsing never panics, and the file renders back byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgtls_hba::{
    HbaFile, IdentFile, MemorySource, PgVersion, Request, ServerSettings, evaluate, lint,
};
use proptest::prelude::*;

/// Bytes biased towards pg_hba.conf syntax, so that deep paths are reached.
fn hba_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"local".to_vec()),
        Just(b"host".to_vec()),
        Just(b"hostssl".to_vec()),
        Just(b"hostnossl".to_vec()),
        Just(b"hostgssenc".to_vec()),
        Just(b"all".to_vec()),
        Just(b"replication".to_vec()),
        Just(b"samerole".to_vec()),
        Just(b"+g".to_vec()),
        Just(b"/^a(b)$".to_vec()),
        Just(b"10.0.0.0/8".to_vec()),
        Just(b"::1/128".to_vec()),
        Just(b"255.0.0.0".to_vec()),
        Just(b"samenet".to_vec()),
        Just(b".example.com".to_vec()),
        Just(b"trust".to_vec()),
        Just(b"cert".to_vec()),
        Just(b"ldap".to_vec()),
        Just(b"radius".to_vec()),
        Just(b"scram-sha-256".to_vec()),
        Just(b"map=m".to_vec()),
        Just(b"clientcert=verify-ca".to_vec()),
        Just(b"ldapurl=ldap://h/dc=x?uid?sub".to_vec()),
        Just(b"radiusservers=\"1.2.3.4,h\"".to_vec()),
        Just(b"@inc".to_vec()),
        Just(b"include".to_vec()),
        Just(b"include_dir".to_vec()),
        Just(b"d".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"#".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\0".to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn source() -> MemorySource {
    MemorySource::new()
        .with("/d/inc", "a, \"b\" @inc2\n")
        .with("/d/inc2", "all\n")
        .with("/d/d/x.conf", "local all all trust\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_and_round_trips(bytes in hba_like()) {
        let src = source();
        for v in [PgVersion::V12, PgVersion::V15, PgVersion::V16, PgVersion::V18] {
            for ssl in [false, true] {
                let f = HbaFile::parse("/d/pg_hba.conf", &bytes, ServerSettings::new(v, ssl), &src);
                prop_assert_eq!(f.text(), &bytes[..]);
                prop_assert_eq!(f.physical_lines().concat(), bytes.clone());
                let _ = f.view_rows();
                let _ = evaluate(&f, &Request::local("d", "u"));
                let _ = evaluate(&f, &Request::tcp("10.1.2.3".parse().unwrap(), "d", "u").with_tls(true));
            }
            let i = IdentFile::parse("/d/pg_ident.conf", &bytes, v, &src);
            let _ = i.view_rows();
            let _ = i.check_usermap(Some("d"), "a", "b", &[], false);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let f = HbaFile::parse("/d/pg_hba.conf", &bytes, ServerSettings::default(), &source());
        prop_assert_eq!(f.text(), &bytes[..]);
        let _ = lint(&f, None);
        let _ = IdentFile::parse("/d/pg_ident.conf", &bytes, PgVersion::V16, &source());
    }

    #[test]
    fn display_round_trips_text(text in "[ -~\t\n\r]{0,200}") {
        let f = HbaFile::parse_str(&text, ServerSettings::default());
        prop_assert_eq!(f.to_string(), text.as_str());
        let i = IdentFile::parse_str(&text, PgVersion::V15);
        prop_assert_eq!(i.to_string(), text);
    }

    #[test]
    fn inserting_a_line_keeps_the_rest(text in "[ -~\t\n]{0,200}", at in 0u32..20) {
        let f = HbaFile::parse_str(&text, ServerSettings::default());
        let out = String::from_utf8(f.with_line_inserted(at, "local all all reject")).unwrap();
        let removed = out.replacen("local all all reject\n", "", 1);
        // Appending to a file without a final newline adds one before the line.
        let with_newline = format!("{}\n", text);
        prop_assert!(removed == text || removed == with_newline);
    }
}
