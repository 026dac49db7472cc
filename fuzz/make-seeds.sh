#!/usr/bin/env bash
# make-seeds.sh: (re)writes the committed seed corpora fuzz/corpus/<target>/seed-*
# from the project's own test files (testdata/hba, testdata/verify/gen.sh output) and
# a few openssl-made keys, CSRs and CRLs. Run from anywhere; needs bash and openssl.
# Seeds are small on purpose (the whole set stays well under 1 MB).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
C="$HERE/corpus"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OPENSSL_CONF=/dev/null

for t in hba_parse ident_parse hba_eval conninfo hostname chain_verify csr_sign crl_parse key_load ffi_bytes cert_issue ffi_verdict; do
    mkdir -p "$C/$t"
    rm -f "$C/$t"/seed-*
done

# ---- pg_hba.conf: byte 0 = version (12 + b % 7: 3 = PG15), byte 1 = ssl on
i=0
for f in "$ROOT"/testdata/hba/rules/*.conf; do
    [ "$(stat -c %s "$f")" -le 4096 ] || continue
    i=$((i + 1))
    { printf '\x03\x01'; cat "$f"; } >"$C/hba_parse/seed-$(basename "$f")"
    { printf '\x04\x00'; cat "$f"; } >"$C/hba_parse/seed-pg16-$(basename "$f")"
    [ $i -lt 40 ] || break
done

# ---- pg_ident.conf: version, case flag, system user, pg user, file
for f in "$ROOT"/testdata/hba/ident/*; do
    [ -f "$f" ] || continue
    { printf '\x03\x00\x05alice\x03bob'; cat "$f"; } >"$C/ident_parse/seed-$(basename "$f")"
done

# ---- structured targets: a few fixed byte strings
for n in 1 2 3 4 5 6 7 8; do
    head -c $((n * 24)) /dev/urandom >"$C/hba_eval/seed-$n"
    head -c $((n * 16)) /dev/urandom >"$C/hostname/seed-$n"
    head -c $((n * 20)) /dev/urandom >"$C/cert_issue/seed-$n"
done

# ---- conninfo
n=0
while IFS= read -r line; do
    n=$((n + 1))
    printf '%s' "$line" >"$C/conninfo/seed-$n"
done <<'CONNINFO'
host=db.example.test sslmode=verify-full sslrootcert=/etc/pg/root.crt
host='db example' port = 5432 dbname='a\'b' user=\\x sslmode=require
hostaddr=127.0.0.1 host=db sslmode=verify-ca sslcrl=/x/crl.pem sslcrldir=/x/crl.d sslsni=1
postgresql://alice:secret@db.example.test:5432/app?sslmode=verify-full&sslrootcert=system
postgres://[::1]:5433,db2:5432/app?sslmode=prefer&application_name=x%20y
postgresql:///app?host=/var/run/postgresql&sslmode=disable
postgresql://%2Fvar%2Frun%2Fpostgresql/app
sslmode=allow sslnegotiation=direct sslcertmode=require requiressl=1
service=foo password='' options='-c x=y'
host=a,b,c port=1,2,3 load_balance_hosts=random
CONNINFO

# ---- certificates, chains, CRLs from testdata/verify/gen.sh
bash "$ROOT/testdata/verify/gen.sh" "$TMP/gen" >/dev/null 2>&1
G="$TMP/gen"
for c in chain-direct chain-intermediate cn-only cn-bmpstring multi-cn san-dns san-ip san-embedded-nul san-ip-badlen v1-cn leaf-is-ca rsa-chain no-names; do
    [ -f "$G/cases/$c/chain.pem" ] || continue
    # chain_verify: flags, version (2 bytes: 3 = PG15), host (2 bytes), then PEM
    { printf '\x00\x00\x03\x00\x00'; cat "$G/cases/$c/chain.pem"; } >"$C/chain_verify/seed-$c"
    { printf '\x03\x00\x03\x00\x01'; cat "$G/cases/$c/chain.pem"; } >"$C/chain_verify/seed-crl-$c"
    cp "$G/cases/$c/chain.pem" "$C/ffi_bytes/seed-$c.pem"
    [ -f "$G/cases/$c/key.pem" ] && cp "$G/cases/$c/key.pem" "$C/ffi_bytes/seed-$c.key"
done
printf '\x02\x00\x03\x00\x00' >"$C/chain_verify/seed-fixture-leaf"
printf '\x07\x00\x03\x00\x01' >"$C/chain_verify/seed-fixture-revoked"
# DER, 2-byte length prefixed
openssl x509 -in "$G/cases/chain-direct/chain.pem" -outform DER -out "$TMP/leaf.der"
python3 - "$TMP/leaf.der" "$C/chain_verify/seed-der" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\x02\x00\x03\x00\x00' + len(d).to_bytes(2, 'big') + d)
PY
for crl in $(find "$G" -name '*.crl' -o -name 'crl*.pem' | sort | head -8); do
    name=$(echo "${crl#$G/}" | tr '/' '_')
    cp "$crl" "$C/crl_parse/seed-$name"
    cp "$crl" "$C/ffi_bytes/seed-$name"
    openssl crl -in "$crl" -outform DER -out "$C/crl_parse/seed-$name.der" 2>/dev/null || true
done

# ---- keys and CSRs
K="$TMP/k"
mkdir -p "$K"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/p256.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/p384.pem"
openssl genpkey -algorithm ED25519 -out "$K/ed25519.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem"
openssl ec -in "$K/p256.pem" -out "$K/p256-sec1.pem" 2>/dev/null
openssl rsa -in "$K/rsa.pem" -traditional -out "$K/rsa-pkcs1.pem" 2>/dev/null
openssl pkcs8 -topk8 -in "$K/p256.pem" -passout pass:secret -out "$K/p256-enc.pem"
openssl pkey -in "$K/p256.pem" -outform DER -out "$K/p256.der"
openssl ec -in "$K/p256.pem" -aes256 -passout pass:secret -out "$K/p256-legacy-enc.pem" 2>/dev/null
for k in p256 p384 ed25519 rsa p256-sec1 rsa-pkcs1 p256-der; do
    f="$K/$k.pem"; [ "$k" = p256-der ] && f="$K/p256.der"
    { printf '\x00'; cat "$f"; } >"$C/key_load/seed-$k"
done
{ printf '\x01'; cat "$K/p256-enc.pem"; } >"$C/key_load/seed-p256-enc"
{ printf '\x00'; cat "$K/p256-enc.pem"; } >"$C/key_load/seed-p256-enc-nopass"
{ printf '\x01'; cat "$K/p256-legacy-enc.pem"; } >"$C/key_load/seed-p256-legacy-enc"
cp "$K/p256.pem" "$C/ffi_bytes/seed-p256.key"
for k in p256 p384 ed25519 rsa; do
    openssl req -new -key "$K/$k.pem" -subj "/DC=org/DC=example/CN=$k.example.test" \
        -addext "subjectAltName=DNS:$k.example.test,IP:127.0.0.1" -out "$C/csr_sign/seed-$k.pem"
    openssl req -in "$C/csr_sign/seed-$k.pem" -outform DER -out "$C/csr_sign/seed-$k.der"
done
openssl req -new -key "$K/p384.pem" -sha256 -subj "/CN=p384-sha256" -out "$C/csr_sign/seed-p384-sha256.pem"
cp "$C/csr_sign/seed-p256.pem" "$C/ffi_bytes/seed-p256.csr"
du -sh "$C"
