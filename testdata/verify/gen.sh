#!/usr/bin/env bash
# gen.sh OUTDIR: makes the certificate cases of the pgtls-verify differential suite
# (pgtls-cli/tests/verify_server.rs and verify_client.rs) with the openssl CLI.
#
# Fresh keys on every run (ECDSA P-256 unless a case says RSA); validity periods are
# relative to "now" except for the expired / not-yet-valid cases, which use fixed dates
# far from now. Writes:
#   OUTDIR/cases.tsv    one server case per line (see README.md for the columns)
#   OUTDIR/clients.tsv  one client certificate per line: name, chain, key
#   OUTDIR/client/      the server-side trust files for verify_client.rs
# Every path in the .tsv files is relative to OUTDIR.
set -euo pipefail

OUT=${1:?usage: gen.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
export OPENSSL_CONF=/dev/null

# ---------------------------------------------------------------- configuration files

cat >req.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
EOF

# BMPString subjects (UTF-16: every ASCII character carries a NUL byte).
cat >req-bmp.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
string_mask = MASK:0x800
[dn]
CN = db.example.com
EOF

cat >ca.cnf <<'EOF'
[ca]
default_ca = ca_default
[ca_default]
dir = $ENV::CADIR
database = $dir/index.txt
new_certs_dir = $dir/new
certificate = $dir/crt.pem
private_key = $dir/key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 30
policy = pol_any
unique_subject = no
copy_extensions = none
preserve = yes
[pol_any]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
userId = optional
EOF

cat >ext.cnf <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[int]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_pathlen0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_not_ca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_no_bc]
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_eku_client]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_ku_no_certsign]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_nscert_client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
nsCertType = client
subjectAltName = DNS:db.example.com
[leaf_eku_any]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
subjectAltName = DNS:db.example.com
[leaf_ku_keyagreement]
basicConstraints = CA:FALSE
keyUsage = critical, keyAgreement
subjectAltName = DNS:db.example.com
[int_nc_example_net]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
nameConstraints = critical, permitted;DNS:example.net
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_nc_example_com]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
nameConstraints = critical, permitted;DNS:example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_akid_bogus]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:db.example.com
authorityKeyIdentifier = DER:30:16:80:14:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33
[leaf_unknown_critical]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:db.example.com
1.3.6.1.4.1.55555.1 = critical, DER:05:00
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:db.example.com
[leaf_nosan]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[leaf_is_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
subjectAltName = DNS:db.example.com
[leaf_eku_client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:db.example.com
[leaf_ku_certsign]
basicConstraints = CA:FALSE
keyUsage = critical, keyCertSign
subjectAltName = DNS:db.example.com
[leaf_selfsigned]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:db.example.com
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[client_eku_server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
EOF

# A leaf extension section with the given subjectAltName value.
san_section() { # NAME SANVALUE
    printf '[%s]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nsubjectAltName = %s\n' \
        "$1" "$2" >>ext.cnf
}

# DER helpers for hand-made SANs (embedded NUL, bad IP length).
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
tlv() { printf '%s%02x%s' "$1" $((${#2} / 2)) "$2"; } # TAG HEXVALUE (short lengths only)

# ---------------------------------------------------------------- keys, CAs, signing

key() { # FILE [rsa|rsa-pss|p384|p521|ed25519|ed448]
    case "${2:-}" in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    rsa-pss) openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
    p521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$1" ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
    ed448) openssl genpkey -algorithm ED448 -out "$1" ;;
    *) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    esac
    chmod 600 "$1"
}

csr() { # KEY SUBJ OUT [config]
    openssl req -new -config "${4:-req.cnf}" -key "$1" ${2:+-subj "$2"} -out "$3"
}

newca_dir() { # NAME
    mkdir -p "ca/$1/new"
    : >"ca/$1/index.txt"
    echo 1000 >"ca/$1/serial"
    echo 1000 >"ca/$1/crlnumber"
}

mkroot() { # NAME SUBJ [key type, as for key()]
    newca_dir "$1"
    key "ca/$1/key.pem" "${3:-}"
    openssl req -new -x509 -key "ca/$1/key.pem" -subj "$2" -days 3650 \
        -extensions root -config <(cat req.cnf ext.cnf) -out "ca/$1/crt.pem"
}

# sign CSR ISSUER EXTSECTION OUT [openssl-ca options...]; EXTSECTION "-" makes a v1 cert.
sign() {
    local csr=$1 issuer=$2 ext=$3 out=$4
    shift 4
    local extargs=(-extfile ext.cnf -extensions "$ext")
    [ "$ext" = - ] && extargs=()
    if [ $# -eq 0 ]; then
        # x509 -req keeps the request's subject exactly (multi-valued RDNs, order, string types).
        openssl x509 -req -in "$csr" -CA "ca/$issuer/crt.pem" -CAkey "ca/$issuer/key.pem" \
            -days 3650 -out "$out" "${extargs[@]}" 2>/dev/null
    else
        # openssl ca for what x509 -req cannot do (-startdate/-enddate).
        CADIR="ca/$issuer" openssl ca -batch -notext -config ca.cnf -in "$csr" -out "$out" \
            "${extargs[@]}" "$@" 2>/dev/null
    fi
}

mkint() { # NAME SUBJ ISSUER EXTSECTION [rsa] [openssl-ca options]
    local name=$1 subj=$2 issuer=$3 ext=$4 kt=${5:-}
    shift 5 || shift $#
    newca_dir "$name"
    key "ca/$name/key.pem" "$kt"
    csr "ca/$name/key.pem" "$subj" "ca/$name/csr.pem"
    sign "ca/$name/csr.pem" "$issuer" "$ext" "ca/$name/crt.pem" "$@"
}

# A self-signed root with fixed dates (openssl ca -selfsign): NAME SUBJ STARTDATE ENDDATE
mkroot_dated() {
    newca_dir "$1"
    key "ca/$1/key.pem"
    csr "ca/$1/key.pem" "$2" "ca/$1/csr.pem"
    CADIR="ca/$1" openssl ca -batch -notext -config ca.cnf -selfsign -keyfile "ca/$1/key.pem" \
        -in "ca/$1/csr.pem" -out "ca/$1/crt.pem" -extfile ext.cnf -extensions root \
        -startdate "$3" -enddate "$4" 2>/dev/null
}

# leaf DIR SUBJ ISSUER EXTSECTION [rsa] [extra openssl-ca options]: DIR/key.pem + DIR/leaf.pem
leaf() {
    local dir=$1 subj=$2 issuer=$3 ext=$4 kt=${5:-}
    shift 5 || shift $#
    mkdir -p "$dir"
    key "$dir/key.pem" "$kt"
    csr "$dir/key.pem" "$subj" "$dir/csr.pem"
    sign "$dir/csr.pem" "$issuer" "$ext" "$dir/leaf.pem" "$@"
}

revoke() { # CA CERT
    CADIR="ca/$1" openssl ca -config ca.cnf -revoke "$2" 2>/dev/null
}

gencrl() { # CA OUT [extra options]
    local ca=$1 out=$2
    shift 2
    CADIR="ca/$ca" openssl ca -config ca.cnf -gencrl -out "$out" "$@" 2>/dev/null
}

cat_files() { # OUT FILES...
    local out=$1
    shift
    cat "$@" >"$out"
}

# ---------------------------------------------------------------- the server PKI

mkroot rootA "/O=pgtls-verifydiff/CN=Root A"
mkroot rootB "/O=pgtls-verifydiff/CN=Root B"
mkroot rootR "/O=pgtls-verifydiff/CN=Root RSA" rsa
mkint intA "/O=pgtls-verifydiff/CN=Intermediate A" rootA int
mkint intR "/O=pgtls-verifydiff/CN=Intermediate RSA" rootR int rsa
mkint intNotCA "/O=pgtls-verifydiff/CN=Intermediate CA:FALSE" rootA int_not_ca
mkint intNoBC "/O=pgtls-verifydiff/CN=Intermediate without basicConstraints" rootA int_no_bc
mkint intP0 "/O=pgtls-verifydiff/CN=Intermediate pathlen 0" rootA int_pathlen0
mkint intP0sub "/O=pgtls-verifydiff/CN=Intermediate under pathlen 0" intP0 int
mkint intEkuClient "/O=pgtls-verifydiff/CN=Intermediate EKU clientAuth" rootA int_eku_client
mkint intKuNoCertSign "/O=pgtls-verifydiff/CN=Intermediate without keyCertSign" rootA int_ku_no_certsign
mkint intExpired "/O=pgtls-verifydiff/CN=Intermediate expired" rootA int "" \
    -startdate 20200101000000Z -enddate 20210101000000Z
mkint intNcNet "/O=pgtls-verifydiff/CN=Intermediate NC example.net" rootA int_nc_example_net
mkint intNcCom "/O=pgtls-verifydiff/CN=Intermediate NC example.com" rootA int_nc_example_com
mkint intV1 "/O=pgtls-verifydiff/CN=Intermediate v1" rootA -
# Intermediate A cross-signed by Root B: same subject and key as intA.
newca_dir intAx
cp ca/intA/key.pem ca/intAx/key.pem
csr ca/intAx/key.pem "/O=pgtls-verifydiff/CN=Intermediate A" ca/intAx/csr.pem
sign ca/intAx/csr.pem rootB int ca/intAx/crt.pem
mkroot rootEd "/O=pgtls-verifydiff/CN=Root Ed25519" ed25519
# Roots whose signatures on leaves are RSASSA-PSS (openssl's default salt length for a
# PSS key is the maximum, not the hash length), Ed448 and ECDSA P-521.
mkroot rootPss "/O=pgtls-verifydiff/CN=Root RSA-PSS" rsa-pss
mkroot rootEd448 "/O=pgtls-verifydiff/CN=Root Ed448" ed448
mkroot rootP521 "/O=pgtls-verifydiff/CN=Root P-521" p521
mkroot_dated rootExpired "/O=pgtls-verifydiff/CN=Root expired" 20200101000000Z 20210101000000Z

: >cases.tsv
# case_line NAME CHAIN ROOT CRL CRLDIR HOSTS [FLAGS]; the key is cases/NAME/key.pem.
# FLAGS: "home" (root file and CRL go to $HOME/.postgresql), "hostname" (a host-name case:
# the variant without a root file is not run, libpq checks no names then), "env" (also run
# with sslmode, root file and CRL given as PGSSLMODE, PGSSLROOTCERT, PGSSLCRL, PGSSLCRLDIR),
# "badmode" (also run with the misspelt sslmodes Require and verify_full).
case_line() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "cases/$1/key.pem" "$3" "$4" "$5" "$6" "${7:--}" >>cases.tsv
}

# Host-name cases: a leaf signed by Root A, sent alone, root file = Root A.
hostcase() { # NAME SUBJ EXTSECTION HOSTS
    leaf "cases/$1" "$2" rootA "$3"
    cp "cases/$1/leaf.pem" "cases/$1/chain.pem"
    case_line "$1" "cases/$1/chain.pem" ca/rootA/crt.pem - - "$4" hostname
}

D=/O=pgtls-verifydiff
hostcase cn-only "$D/CN=db.example.com" leaf_nosan \
    "db.example.com,DB.EXAMPLE.COM,other.example.com,db.example.com.,127.0.0.1"
hostcase cn-uppercase "$D/CN=DB.Example.COM" leaf_nosan "db.example.com,DB.EXAMPLE.COM"
hostcase v1-cn "$D/CN=db.example.com" - "db.example.com,x.example.com"
san_section san_dns "DNS:db.example.com"
hostcase san-dns "$D/CN=db.example.com" san_dns "db.example.com,x.example.com,example.com"
san_section san_dns_cn_differ "DNS:san.example.com"
hostcase san-dns-cn-differ "$D/CN=cn.example.com" san_dns_cn_differ "cn.example.com,san.example.com"
san_section san_many "DNS:a.example.com, DNS:b.example.com, DNS:c.example.com"
hostcase san-many "$D/CN=cn.example.com" san_many "d.example.com,b.example.com,cn.example.com"
san_section san_two "DNS:a.example.com, DNS:b.example.com"
hostcase san-two "$D/CN=cn.example.com" san_two "c.example.com,a.example.com"
san_section san_wildcard "DNS:*.example.com"
hostcase san-wildcard "$D/CN=wild" san_wildcard \
    "a.example.com,a.b.example.com,example.com,A.EXAMPLE.COM,.example.com,a..example.com,..example.com,a.b..example.com,a...example.com"
san_section san_wildcard_plus_cn "DNS:*.example.com"
hostcase san-wildcard-plus-cn "$D/CN=example.com" san_wildcard_plus_cn "example.com,x.example.com"
san_section san_wildcard_upper "DNS:*.EXAMPLE.com"
hostcase san-wildcard-upper "$D/CN=x" san_wildcard_upper "a.example.com,A.Example.COM"
san_section san_star_only "DNS:*"
hostcase san-star-only "$D/CN=x" san_star_only "a,*,x"
san_section san_wildcard_short "DNS:*.a"
hostcase san-wildcard-short "$D/CN=x" san_wildcard_short "b.a,.a,a"
san_section san_partial_wildcard "DNS:f*.example.com"
hostcase san-partial-wildcard "$D/CN=partial" san_partial_wildcard \
    "foo.example.com,f*.example.com,f.example.com"
san_section san_wildcard_middle "DNS:a.*.example.com"
hostcase san-wildcard-middle "$D/CN=middle" san_wildcard_middle "a.b.example.com,a.*.example.com"
san_section san_wildcard_tld "DNS:*.com"
hostcase san-wildcard-tld "$D/CN=tld" san_wildcard_tld "example.com,a.example.com"
hostcase cn-wildcard "$D/CN=*.example.com" leaf_nosan "a.example.com,example.com,a.b.example.com"
san_section san_uppercase "DNS:DB.Example.COM"
hostcase san-uppercase "$D/CN=x" san_uppercase "db.example.com,DB.EXAMPLE.COM"
san_section san_trailing_dot "DNS:db.example.com."
hostcase san-trailing-dot "$D/CN=x" san_trailing_dot "db.example.com,db.example.com."
hostcase cn-trailing-dot "$D/CN=db.example.com." leaf_nosan "db.example.com.,db.example.com"
san_section san_ip4 "IP:127.0.0.1"
hostcase san-ip4 "$D/CN=ip.example.com" san_ip4 \
    "127.0.0.1,127.1,0x7f.0.0.1,127.0.0.2,ip.example.com,::ffff:127.0.0.1,127.000.000.001,0177.0.0.1,2130706433,127.0.0.1.,127.0.0.1x"
san_section san_ip6 "IP:::1"
hostcase san-ip6 "$D/CN=ip6.example.com" san_ip6 "::1,0:0:0:0:0:0:0:1,127.0.0.1,ip6.example.com,[::1],::1%lo,::0:1"
san_section san_ipv4_mapped "IP:::ffff:127.0.0.1"
hostcase san-ipv4-mapped "$D/CN=mapped" san_ipv4_mapped "127.0.0.1,::ffff:127.0.0.1,::ffff:7f00:1"
san_section san_dns_holds_ip "DNS:127.0.0.1"
hostcase san-dns-holds-ip "$D/CN=x" san_dns_holds_ip "127.0.0.1,127.1"
san_section san_dns_cn_ip "DNS:db.example.com"
hostcase san-dns-cn-ip "$D/CN=127.0.0.1" san_dns_cn_ip "127.0.0.1,db.example.com,127.0.0.2"
san_section san_ip_other_cn_ip "IP:10.0.0.1"
hostcase san-ip-other-cn-ip "$D/CN=127.0.0.1" san_ip_other_cn_ip "127.0.0.1,10.0.0.1"
san_section san_ip_and_dns "IP:127.0.0.1, DNS:db.example.com, IP:::1"
hostcase san-ip-and-dns "$D/CN=cn.example.com" san_ip_and_dns \
    "db.example.com,127.0.0.1,::1,cn.example.com,10.1.1.1,other.example.com"
hostcase cn-ip "$D/CN=127.0.0.1" leaf_nosan "127.0.0.1,127.1,0x7f.0.0.1,2130706433"
hostcase cn-ip6 "$D/CN=::1" leaf_nosan "::1,0:0:0:0:0:0:0:1"
hostcase multi-cn "$D/CN=first.example.com/CN=second.example.com" leaf_nosan \
    "first.example.com,second.example.com"
hostcase multi-value-rdn "$D/CN=db.example.com+OU=ops" leaf_nosan "db.example.com,ops"
san_section san_email_only "email:ops@example.com"
hostcase san-email-only "$D/CN=db.example.com" san_email_only "db.example.com,other.example.com"
san_section san_uri_and_dns "URI:https://db.example.com/, DNS:db.example.com"
hostcase san-uri-and-dns "$D/CN=x" san_uri_and_dns "db.example.com,x"
hostcase no-names "$D/OU=no names" leaf_nosan "db.example.com,127.0.0.1"
# Hand-made SANs: an embedded NUL in a dNSName before a valid one; an iPAddress of 3 bytes.
san_section san_embedded_nul "DER:$(tlv 30 "$(tlv 82 "$(hex db.example.com)00$(hex .evil.example)")$(tlv 82 "$(hex db.example.com)")")"
hostcase san-embedded-nul "$D/CN=db.example.com" san_embedded_nul "db.example.com,other.example.com"
san_section san_nul_after_match "DER:$(tlv 30 "$(tlv 82 "$(hex db.example.com)")$(tlv 82 "$(hex x.example.com)00$(hex .evil)")")"
hostcase san-nul-after-match "$D/CN=x" san_nul_after_match "db.example.com,y.example.com"
san_section san_ip_badlen "DER:$(tlv 30 "$(tlv 87 7f0000)$(tlv 82 "$(hex db.example.com)")")"
hostcase san-ip-badlen "$D/CN=db.example.com" san_ip_badlen "db.example.com,127.0.0.1"
# A BMPString CN: its bytes hold NULs (libpq uses the raw ASN.1 bytes).
mkdir -p cases/cn-bmpstring
key cases/cn-bmpstring/key.pem
csr cases/cn-bmpstring/key.pem "" cases/cn-bmpstring/csr.pem req-bmp.cnf
sign cases/cn-bmpstring/csr.pem rootA leaf_nosan cases/cn-bmpstring/leaf.pem
cp cases/cn-bmpstring/leaf.pem cases/cn-bmpstring/chain.pem
case_line cn-bmpstring cases/cn-bmpstring/chain.pem ca/rootA/crt.pem - - "db.example.com"

# Chain cases: leaf with SAN db.example.com.
L=db.example.com
chaincase() { # NAME ISSUER EXTSECTION SENT-EXTRA ROOTFILES [rsa] [openssl-ca options]
    local name=$1 issuer=$2 ext=$3 sent=$4 roots=$5 kt=${6:-}
    shift 5
    shift || true
    leaf "cases/$name" "$D/CN=$L" "$issuer" "$ext" "$kt" "$@"
    # shellcheck disable=SC2086
    cat_files "cases/$name/chain.pem" "cases/$name/leaf.pem" $sent
    # shellcheck disable=SC2086
    cat_files "cases/$name/root.pem" $roots
}
chain_case_line() { # NAME [CRL] [CRLDIR] [HOSTS] [FLAGS]
    case_line "$1" "cases/$1/chain.pem" "cases/$1/root.pem" "${2:--}" "${3:--}" "${4:-$L,other.example.com}" "${5:--}"
}

chaincase chain-direct rootA leaf "" ca/rootA/crt.pem
chain_case_line chain-direct - - "" env,badmode
chaincase chain-intermediate intA leaf ca/intA/crt.pem ca/rootA/crt.pem
chain_case_line chain-intermediate
chaincase chain-intermediate-missing intA leaf "" ca/rootA/crt.pem
chain_case_line chain-intermediate-missing
chaincase chain-intermediate-in-rootcert intA leaf "" "ca/rootA/crt.pem ca/intA/crt.pem"
chain_case_line chain-intermediate-in-rootcert
chaincase chain-intermediate-only-in-rootcert intA leaf "" ca/intA/crt.pem
chain_case_line chain-intermediate-only-in-rootcert
chaincase chain-sent-int-rootcert-int-only intA leaf ca/intA/crt.pem ca/intA/crt.pem
chain_case_line chain-sent-int-rootcert-int-only
chaincase chain-full-with-root intA leaf "ca/intA/crt.pem ca/rootA/crt.pem" ca/rootA/crt.pem
chain_case_line chain-full-with-root
chaincase chain-full-with-root-wrong-anchor intA leaf "ca/intA/crt.pem ca/rootA/crt.pem" ca/rootB/crt.pem
chain_case_line chain-full-with-root-wrong-anchor
chaincase chain-root-bundle intA leaf ca/intA/crt.pem "ca/rootB/crt.pem ca/rootA/crt.pem"
chain_case_line chain-root-bundle
chaincase chain-wrong-order intA leaf "ca/rootA/crt.pem ca/intA/crt.pem" ca/rootA/crt.pem
chain_case_line chain-wrong-order
chaincase chain-int-not-ca intNotCA leaf ca/intNotCA/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-not-ca
chaincase chain-int-no-bc intNoBC leaf ca/intNoBC/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-no-bc
chaincase chain-pathlen-exceeded intP0sub leaf "ca/intP0sub/crt.pem ca/intP0/crt.pem" ca/rootA/crt.pem
chain_case_line chain-pathlen-exceeded
chaincase chain-pathlen-ok intP0 leaf ca/intP0/crt.pem ca/rootA/crt.pem
chain_case_line chain-pathlen-ok
chaincase wrong-ca rootB leaf "" ca/rootA/crt.pem
chain_case_line wrong-ca - - "" env
chaincase leaf-expired rootA leaf "" ca/rootA/crt.pem "" -startdate 20200101000000Z -enddate 20210101000000Z
chain_case_line leaf-expired
chaincase leaf-not-yet-valid rootA leaf "" ca/rootA/crt.pem "" -startdate 20900101000000Z -enddate 20910101000000Z
chain_case_line leaf-not-yet-valid
chaincase leaf-eku-clientauth rootA leaf_eku_client "" ca/rootA/crt.pem
chain_case_line leaf-eku-clientauth
chaincase leaf-ku-certsign-only rootA leaf_ku_certsign "" ca/rootA/crt.pem
chain_case_line leaf-ku-certsign-only
chaincase leaf-is-ca rootA leaf_is_ca "" ca/rootA/crt.pem
chain_case_line leaf-is-ca
chaincase leaf-nscerttype-client rootA leaf_nscert_client "" ca/rootA/crt.pem
chain_case_line leaf-nscerttype-client
chaincase leaf-eku-any rootA leaf_eku_any "" ca/rootA/crt.pem
chain_case_line leaf-eku-any
chaincase leaf-ku-keyagreement rootA leaf_ku_keyagreement "" ca/rootA/crt.pem
chain_case_line leaf-ku-keyagreement
chaincase chain-int-eku-clientauth intEkuClient leaf ca/intEkuClient/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-eku-clientauth
chaincase chain-int-ku-no-certsign intKuNoCertSign leaf ca/intKuNoCertSign/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-ku-no-certsign
chaincase chain-int-expired intExpired leaf ca/intExpired/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-expired
chaincase root-expired rootExpired leaf "" ca/rootExpired/crt.pem
chain_case_line root-expired
chaincase chain-extra-unrelated rootA leaf ca/rootB/crt.pem ca/rootA/crt.pem
chain_case_line chain-extra-unrelated
chaincase chain-int-nameconstraints-violated intNcNet leaf ca/intNcNet/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-nameconstraints-violated
chaincase chain-int-nameconstraints-ok intNcCom leaf ca/intNcCom/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-nameconstraints-ok
chaincase chain-int-v1 intV1 leaf ca/intV1/crt.pem ca/rootA/crt.pem
chain_case_line chain-int-v1
chaincase leaf-akid-mismatch rootA leaf_akid_bogus "" ca/rootA/crt.pem
chain_case_line leaf-akid-mismatch
chaincase leaf-unknown-critical-ext rootA leaf_unknown_critical "" ca/rootA/crt.pem
chain_case_line leaf-unknown-critical-ext
# Cross-signing: the server sends Intermediate A as signed by Root B ...
chaincase cross-sent-wrong-root intA leaf ca/intAx/crt.pem ca/rootA/crt.pem
chain_case_line cross-sent-wrong-root
chaincase cross-sent-int-in-root intA leaf ca/intAx/crt.pem "ca/rootA/crt.pem ca/intA/crt.pem"
chain_case_line cross-sent-int-in-root
chaincase cross-sent-right-root intA leaf ca/intAx/crt.pem ca/rootB/crt.pem
chain_case_line cross-sent-right-root
# ... or both versions (Root B's first), or Root A's while the root file trusts Root B's path.
chaincase cross-sent-both intA leaf "ca/intAx/crt.pem ca/intA/crt.pem" ca/rootA/crt.pem
chain_case_line cross-sent-both
chaincase cross-root-file-other-path intA leaf ca/intA/crt.pem "ca/rootB/crt.pem ca/intAx/crt.pem"
chain_case_line cross-root-file-other-path
chaincase rsa-chain intR leaf ca/intR/crt.pem ca/rootR/crt.pem rsa
chain_case_line rsa-chain
chaincase rsa-leaf-ec-root rootA leaf "" ca/rootA/crt.pem rsa
chain_case_line rsa-leaf-ec-root
# Other key types: RSA-PSS (id-RSASSA-PSS public key), P-384, Ed25519 leaf and root.
chaincase leaf-rsa-pss rootA leaf "" ca/rootA/crt.pem rsa-pss
chain_case_line leaf-rsa-pss
chaincase leaf-p384 rootA leaf "" ca/rootA/crt.pem p384
chain_case_line leaf-p384
chaincase leaf-ed25519 rootA leaf "" ca/rootA/crt.pem ed25519
chain_case_line leaf-ed25519
chaincase chain-ed25519-root rootEd leaf "" ca/rootEd/crt.pem
chain_case_line chain-ed25519-root
chaincase leaf-p521 rootA leaf "" ca/rootA/crt.pem p521
chain_case_line leaf-p521
chaincase leaf-ed448 rootA leaf "" ca/rootA/crt.pem ed448
chain_case_line leaf-ed448
chaincase chain-p521-root rootP521 leaf "" ca/rootP521/crt.pem
chain_case_line chain-p521-root
chaincase chain-rsa-pss-root rootPss leaf "" ca/rootPss/crt.pem
chain_case_line chain-rsa-pss-root
chaincase chain-ed448-root rootEd448 leaf "" ca/rootEd448/crt.pem
chain_case_line chain-ed448-root

# Self-signed leaf: trusted only when it is itself in the root file.
for n in self-signed-leaf self-signed-leaf-untrusted; do
    mkdir -p "cases/$n"
    key "cases/$n/key.pem"
    openssl req -new -x509 -key "cases/$n/key.pem" -subj "$D/CN=$L" -days 3650 \
        -extensions leaf_selfsigned -config <(cat req.cnf ext.cnf) -out "cases/$n/chain.pem"
done
cp cases/self-signed-leaf/chain.pem cases/self-signed-leaf/root.pem
chain_case_line self-signed-leaf
cp ca/rootA/crt.pem cases/self-signed-leaf-untrusted/root.pem
chain_case_line self-signed-leaf-untrusted

# Root files that exist but are unusable.
chaincase root-empty rootA leaf "" /dev/null
chain_case_line root-empty
chaincase root-garbage rootA leaf "" /dev/null
echo "this is not a certificate" >cases/root-garbage/root.pem
chain_case_line root-garbage
chaincase root-is-directory rootA leaf "" /dev/null
rm cases/root-is-directory/root.pem
mkdir cases/root-is-directory/root.pem
chain_case_line root-is-directory
# sslrootcert=system: an ordinary (missing) relative file name before PG16.
chaincase rootcert-system rootA leaf "" ca/rootA/crt.pem
case_line rootcert-system cases/rootcert-system/chain.pem system - - "$L,other.example.com"
# No host, only hostaddr.
chaincase hostaddr-only rootA leaf "" ca/rootA/crt.pem
case_line hostaddr-only cases/hostaddr-only/chain.pem cases/hostaddr-only/root.pem - - "-"

# CRL cases.
chaincase crl-revoked-leaf rootA leaf "" ca/rootA/crt.pem
revoke rootA cases/crl-revoked-leaf/leaf.pem
chaincase crl-not-revoked rootA leaf "" ca/rootA/crt.pem
chaincase crl-expired rootA leaf "" ca/rootA/crt.pem
chaincase crl-not-yet-valid rootA leaf "" ca/rootA/crt.pem
chaincase crl-wrong-issuer rootA leaf "" ca/rootA/crt.pem
chaincase crl-missing-file rootA leaf "" ca/rootA/crt.pem
chaincase crl-garbage-file rootA leaf "" ca/rootA/crt.pem
chaincase crl-chain-partial intA leaf ca/intA/crt.pem ca/rootA/crt.pem
chaincase crl-chain-full intA leaf ca/intA/crt.pem ca/rootA/crt.pem
chaincase crl-revoked-intermediate intA leaf ca/intA/crt.pem ca/rootA/crt.pem
chaincase crl-dir-revoked rootA leaf "" ca/rootA/crt.pem
chaincase crl-dir-not-revoked rootA leaf "" ca/rootA/crt.pem
chaincase crl-home-revoked rootA leaf "" ca/rootA/crt.pem
chaincase home-root rootA leaf "" ca/rootA/crt.pem
chaincase home-root-wrong-ca rootB leaf "" ca/rootA/crt.pem
# Root A's CRL (revokes crl-revoked-leaf, crl-home-revoked and crl-dir-revoked), current.
revoke rootA cases/crl-home-revoked/leaf.pem
revoke rootA cases/crl-dir-revoked/leaf.pem
chaincase crl-file-and-dir rootA leaf "" ca/rootA/crt.pem
revoke rootA cases/crl-file-and-dir/leaf.pem
chaincase root-file-with-crl rootA leaf "" ca/rootA/crt.pem
revoke rootA cases/root-file-with-crl/leaf.pem
mkdir -p crl
gencrl rootA crl/rootA.pem
gencrl rootB crl/rootB.pem
gencrl rootA crl/rootA-expired.pem -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z
gencrl rootA crl/rootA-future.pem -crl_lastupdate 20900101000000Z -crl_nextupdate 20900201000000Z
gencrl intA crl/intA.pem
cat crl/rootA.pem crl/intA.pem >crl/rootA+intA.pem
cp -r ca/rootA ca/rootA-int-revoked
revoke rootA-int-revoked ca/intA/crt.pem
gencrl rootA-int-revoked crl/rootA-int-revoked.pem
cat crl/rootA-int-revoked.pem crl/intA.pem >crl/rootA-int-revoked+intA.pem
echo "garbage" >crl/garbage.pem

chain_case_line crl-revoked-leaf crl/rootA.pem - "" env
# A CRL inside the root file is loaded with it, but CRL checking is only switched on by sslcrl.
cat crl/rootA.pem >>cases/root-file-with-crl/root.pem
chain_case_line root-file-with-crl
chain_case_line crl-not-revoked crl/rootA.pem - "" env
chain_case_line crl-expired crl/rootA-expired.pem
chain_case_line crl-not-yet-valid crl/rootA-future.pem
chain_case_line crl-wrong-issuer crl/rootB.pem
chain_case_line crl-missing-file crl/does-not-exist.pem
chain_case_line crl-garbage-file crl/garbage.pem
chain_case_line crl-chain-partial crl/rootA.pem
chain_case_line crl-chain-full crl/rootA+intA.pem
chain_case_line crl-revoked-intermediate crl/rootA-int-revoked+intA.pem
# CRL directories in OpenSSL's hashed layout.
mkdir -p crl/dir-revoking crl/dir-clean
cp crl/rootA.pem crl/dir-revoking/
openssl rehash crl/dir-revoking
# dir-clean holds a CRL of Root A revoking nothing that the case's leaf would hit.
cp -r ca/rootA ca/rootA-clean
: >ca/rootA-clean/index.txt
gencrl rootA-clean crl/dir-clean/rootA-clean.pem
openssl rehash crl/dir-clean
chain_case_line crl-dir-revoked - crl/dir-revoking "" env
# Both: a file CRL of Root A that revokes nothing, and a directory whose Root A CRL revokes the leaf.
chain_case_line crl-file-and-dir crl/dir-clean/rootA-clean.pem crl/dir-revoking
chain_case_line crl-dir-not-revoked - crl/dir-clean
# Defaults in $HOME/.postgresql: root.crt (and root.crl).
cp crl/rootA.pem cases/crl-home-revoked/root.crl
case_line crl-home-revoked cases/crl-home-revoked/chain.pem cases/crl-home-revoked/root.pem \
    cases/crl-home-revoked/root.crl - "$L" home
case_line home-root cases/home-root/chain.pem cases/home-root/root.pem - - "$L,other.example.com" home
case_line home-root-wrong-ca cases/home-root-wrong-ca/chain.pem cases/home-root-wrong-ca/root.pem - - "$L" home

# ---------------------------------------------------------------- the client PKI

mkroot clientRoot "/O=pgtls-verifydiff/CN=Client Root"
mkroot clientOther "/O=pgtls-verifydiff/CN=Other Client Root"
mkint clientInt "/O=pgtls-verifydiff/CN=Client Intermediate" clientRoot int
: >clients.tsv
client() { # NAME SUBJ ISSUER SENT-EXTRA [openssl-ca options]; CLIENT_EXT overrides the section
    local name=$1 subj=$2 issuer=$3 sent=$4
    shift 4
    leaf "clients/$name" "$subj" "$issuer" "${CLIENT_EXT:-client}" "" "$@"
    # shellcheck disable=SC2086
    cat_files "clients/$name/chain.pem" "clients/$name/leaf.pem" $sent
    printf '%s\t%s\t%s\n' "$name" "clients/$name/chain.pem" "clients/$name/key.pem" >>clients.tsv
}
C=/O=pgtls-verifydiff
client alice "$C/CN=alice" clientRoot ""
client bob "$C/CN=bob" clientRoot ""
client Alice-upper "$C/CN=Alice" clientRoot ""
client carol-dn "/C=DE/O=pgtls-verifydiff/OU=db/CN=carol" clientRoot ""
client comma-cn "$C/CN=dave\\, jr" clientRoot ""
client multi-rdn "$C/CN=erin+UID=e1" clientRoot ""
client no-cn "$C/OU=nobody" clientRoot ""
client alice-via-int "$C/CN=alice" clientInt ca/clientInt/crt.pem
client alice-int-not-sent "$C/CN=alice" clientInt ""
client alice-other-ca "$C/CN=alice" clientOther ""
client alice-expired "$C/CN=alice" clientRoot "" -startdate 20200101000000Z -enddate 20210101000000Z
client mallory-revoked "$C/CN=mallory" clientRoot ""
client alice-revoked "$C/CN=alice" clientRoot ""
client alice-not-yet-valid "$C/CN=alice" clientRoot "" -startdate 20900101000000Z -enddate 20910101000000Z
CLIENT_EXT=client_eku_server client alice-eku-server "$C/CN=alice" clientRoot ""
mkint clientInt2 "/O=pgtls-verifydiff/CN=Client Intermediate 2 (revoked)" clientRoot int
client alice-via-revoked-int "$C/CN=alice" clientInt2 ca/clientInt2/crt.pem
revoke clientRoot ca/clientInt2/crt.pem
# Subjects that -subj cannot express: a UTF-8 CN, and a BMPString CN (NUL bytes inside).
client_cnf() { # NAME REQ-CONFIG
    mkdir -p "clients/$1"
    key "clients/$1/key.pem"
    csr "clients/$1/key.pem" "" "clients/$1/csr.pem" "$2"
    sign "clients/$1/csr.pem" clientRoot client "clients/$1/leaf.pem"
    cp "clients/$1/leaf.pem" "clients/$1/chain.pem"
    printf '%s\t%s\t%s\n' "$1" "clients/$1/chain.pem" "clients/$1/key.pem" >>clients.tsv
}
printf '[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\nstring_mask = utf8only\n[dn]\nO = pgtls-verifydiff\nCN = jos\xc3\xa9\n' >req-utf8.cnf
client_cnf utf8-cn req-utf8.cnf
# A T61String CN holding the Latin-1 byte 0xE9 (the DN prints it as UTF-8, \C3\A9).
printf '[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = default\n[dn]\nO = pgtls-verifydiff\nCN = jos\xe9\n' >req-t61.cnf
client_cnf t61-cn req-t61.cnf
printf '[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = MASK:0x800\n[dn]\nCN = alice\n' >req-bmp-client.cnf
client_cnf bmp-cn req-bmp-client.cnf
revoke clientRoot clients/mallory-revoked/leaf.pem
revoke clientRoot clients/alice-revoked/leaf.pem
mkdir -p client
cp ca/clientRoot/crt.pem client/ca.pem
cat ca/clientRoot/crt.pem ca/clientInt/crt.pem >client/ca-bundle.pem
gencrl clientRoot client/root.crl
gencrl clientInt client/int.crl
gencrl clientInt2 client/int2.crl
cat client/root.crl client/int.crl client/int2.crl >client/crl.pem
mkdir -p client/crldir
cp client/root.crl client/int.crl client/int2.crl client/crldir/
openssl rehash client/crldir

echo "gen.sh: $(wc -l <cases.tsv) server cases, $(wc -l <clients.tsv) client certificates in $OUT"
