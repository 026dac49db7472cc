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

for t in hba_parse ident_parse hba_eval conninfo hostname chain_verify csr_sign crl_parse key_load ffi_bytes cert_issue ffi_verdict store_files; do
    mkdir -p "$C/$t"
    rm -f "$C/$t"/seed-*
done

# ---- pg_hba.conf: byte 0 = version (12 + b % 7: 3 = PG15), byte 1 = ssl on
i=0
for f in "$ROOT"/testdata/hba/rules/*.conf; do
    [ "$(stat -c %s "$f")" -le 4096 ] || continue
    i=$((i + 1))
    { printf '\x03\x01'; cat "$f"; } >"$C/hba_parse/seed-$(basename "$f")"
    # The first 40 also as PG 16 without ssl; every file as PG 15 (the ldapurl,
    # include and option files come late in the corpus).
    [ $i -le 40 ] || continue
    { printf '\x04\x00'; cat "$f"; } >"$C/hba_parse/seed-pg16-$(basename "$f")"
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
# cert_issue through to the handshake signatures: one attribute (CN "test"), one
# dNSName, a server or client certificate, 31 days, no serial, the key algorithm
# (Ed25519, P-384, P-256), then the handshake flag and the message.
for u in 1 2; do
    for a in 0 1 2; do
        printf "\x00\x01\x00\x00\x04test\x00\x01\x00\x00\x02ab\x00\x0$u\x01\x00\x00\x0$a\x01handshake message" \
            >"$C/cert_issue/seed-handshake-u$u-a$a"
    done
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
# Flag 64: handshake signatures over the leaf; with flag 2 the leaf is the fixture
# leaf, whose key signs.
printf '\x42\x00\x03\x00\x00' >"$C/chain_verify/seed-handshake-fixture-leaf"
for c in v1-cn rsa-chain chain-intermediate; do
    { printf '\x40\x00\x03\x00\x00'; cat "$G/cases/$c/chain.pem"; } >"$C/chain_verify/seed-handshake-$c"
done
# DER, 2-byte length prefixed
openssl x509 -in "$G/cases/chain-direct/chain.pem" -outform DER -out "$TMP/leaf.der"
python3 - "$TMP/leaf.der" "$C/chain_verify/seed-der" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\x02\x00\x03\x00\x00' + len(d).to_bytes(2, 'big') + d)
PY
# chain_verify with the root file as input (flag 8: the 2-byte length-prefixed bytes
# after the host are the root file; flag 16: they follow the fixture's root; flag 32:
# verify just after the leaf's notBefore, as the gen.sh certificates are made today).
lp() { python3 -c 'import sys; d=sys.stdin.buffer.read(); sys.stdout.buffer.write(len(d).to_bytes(2,"big")+d)'; }
for c in chain-intermediate chain-intermediate-in-rootcert chain-intermediate-only-in-rootcert chain-root-bundle chain-pathlen-ok chain-ed25519-root cross-sent-both; do
    [ -f "$G/cases/$c/root.pem" ] || continue
    { printf '\x28\x00\x03\x00\x00'; lp <"$G/cases/$c/root.pem"; cat "$G/cases/$c/chain.pem"; } >"$C/chain_verify/seed-rootfile-$c"
done
openssl x509 -in "$G/cases/chain-direct/root.pem" -trustout -addtrust serverAuth -out "$TMP/trusted.pem"
{ printf '\x28\x00\x03\x00\x00'; lp <"$TMP/trusted.pem"; cat "$G/cases/chain-direct/chain.pem"; } >"$C/chain_verify/seed-rootfile-trusted"
crl1=$(find "$G" -name '*.crl' -o -name 'crl*.pem' | sort | head -1)
{ printf '\x12\x00\x03\x00\x00'; lp <"$crl1"; } >"$C/chain_verify/seed-rootfile-fixture-plus-crl"
{ printf '\x12\x00\x03\x00\x00'; printf -- '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n' | lp; } >"$C/chain_verify/seed-rootfile-fixture-plus-garbage"
{ printf '\x0a\x00\x03\x00\x00'; printf 'no PEM here\n' | lp; } >"$C/chain_verify/seed-rootfile-empty"
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

# ---- ffi_verdict: structured, random; long enough to reach the request builder,
# usermap and client-certificate parts at the end of the layout
for n in 1 2 3 4 5 6; do
    head -c $((n * 24)) /dev/urandom >"$C/ffi_verdict/seed-$n"
    head -c $((300 + n * 60)) /dev/urandom >"$C/ffi_verdict/seed-tail-$n"
done
# hand-made ones for chosen paths (host names, samehost/samenet, a missing role,
# usermap allowed/undecided, client certificates accepted, revoked, from another CA)
python3 - "$C/ffi_verdict" <<'PY'
import sys, os
# Hand-made ffi_verdict inputs reaching chosen paths of the structured layout
# (fuzz/src/checks/ffi.rs ffi_verdict, then ffi_extra.rs verdict_tail). p(i) is a
# 2-byte pick/below index, b(x) a bool/u8.
out = sys.argv[1]
def p(i): return bytes([i >> 8, i & 255])
def b(x): return bytes([x])
def head(rule, req):
    # PG15, sslmode disable, host 0, no CRL, no leaf, empty chain; ssl on; 1 rule
    return b(3) + p(0) + p(0) + b(0) + b(0) + b(0) + b(1) + p(0) + rule + req
def rule(t, db, user, method, addr=None):
    return p(t) + p(db) + p(user) + p(method) + (p(addr) if addr is not None else b'')
def req_tcp10(db=0, user=0, tls=1, member=0, hostname=1, ip=(1, 2, 3)):
    return p(db) + p(user) + p(1) + bytes(ip) + b(tls) + b(0) + b(member) + p(0) + b(hostname)
def req_local127(db=0, user=0, tls=1, member=0):
    return p(db) + p(user) + p(2) + b(tls) + b(0) + b(member) + p(0) + b(0)
def tail(user_missing=0, hostname=0, servers=0, admin=0, bad=None):
    return b(user_missing) + p(hostname) + p(servers) + b(admin) + (b(1) + p(bad) if bad is not None else b(0))
def ident(lines, mp, sysu, pgu, roles=0, ci=0):
    s = p(len(lines)) + b''.join(p(m) + p(x) + p(y) for m, x, y in lines)
    return s + p(mp) + p(sysu) + p(pgu) + p(roles) + b(ci)
def client(line, user=0, with_ident=1, crl=1, chain=0, extra=b''):
    return p(line) + b(0 if with_ident else 1) + p(user) + b(crl) + p(chain) + b(len(extra)) + extra
seeds = {
    # host name record, client host name given; pg_ident \1 allows alice; cert map=m accepts
    'hostname-map-accept': head(rule(1, 0, 0, 0, 9), req_tcp10()) + tail(hostname=2, bad=2)
        + ident([(0, 3, 3)], 2, 0, 0) + client(1),
    # ambiguous capture with \1: usermap and client decision undecided
    'undecided': head(rule(1, 0, 0, 0, 0), req_tcp10()) + tail(bad=0)
        + ident([(0, 4, 3)], 2, 0, 0) + client(1),
    # samehost with the server's 127.0.0.1; role membership via +staff
    'samehost-staff': head(rule(2, 0, 2, 2, 5), req_local127(member=1)) + tail(servers=2, admin=1)
        + ident([(0, 0, 4), (1, 1, 1)], 2, 0, 0, roles=1) + client(0, chain=4),
    # the role does not exist: +staff cannot match; revoked client certificate
    'missing-role': head(rule(1, 0, 2, 1, 0), req_tcp10(member=1)) + tail(user_missing=1, servers=3)
        + ident([(0, 1, 1)], 3, 1, 1, ci=1) + client(0, chain=3),
    # samenet: 10.1.3.3 is outside the server's 10.1.2.1/24; regex error line in pg_ident.conf, expired client certificate, garbage after it
    'samenet-error': head(rule(1, 0, 0, 0, 6), req_tcp10(hostname=0, ip=(1, 3, 3))) + tail(servers=0, bad=3)
        + ident([(0, 8, 0), (0, 0, 0)], 2, 0, 0) + client(2, chain=2, extra=b'-----BEGIN CERTIFICATE-----\nAAAA'),
    # other CA's certificate, verify-full with map; no certificate at all
    'other-ca': head(rule(3, 0, 0, 0, 1), req_tcp10()) + tail(hostname=4, servers=4)
        + ident([(0, 5, 0)], 2, 4, 0) + client(10, chain=1),
    'no-cert': head(rule(1, 0, 0, 0, 10), req_tcp10()) + tail(hostname=3)
        + ident([], 0, 0, 0) + client(0, chain=24),
}
for name, data in seeds.items():
    with open(os.path.join(out, 'seed-crafted-' + name), 'wb') as f:
        f.write(data)
PY

# ---- ffi_bytes, pgtls_ca_load: CA certificate (+ chain), then its key, then an
# optional "\0pass:<passphrase>" (see fuzz/src/checks/ffi_extra.rs ca_load_parts)
A="$TMP/ca"
mkdir -p "$A"
caext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$A/root.key"
openssl req -x509 -new -key "$A/root.key" -subj "/O=pgtls seeds/CN=Seed Root" -days 7300 \
    -set_serial 1 "${caext[@]}" -out "$A/root.crt"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$A/int.key"
openssl req -new -key "$A/int.key" -subj "/O=pgtls seeds/CN=Seed Intermediate" -out "$A/int.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$A/int.ext"
openssl x509 -req -in "$A/int.csr" -CA "$A/root.crt" -CAkey "$A/root.key" -set_serial 2 \
    -days 3650 -extfile "$A/int.ext" -out "$A/int.crt" 2>/dev/null
openssl pkcs8 -topk8 -in "$A/root.key" -passout pass:secret -out "$A/root-enc.key"
openssl ec -in "$A/root.key" -out "$A/root-sec1.key" 2>/dev/null
cat "$A/root.crt" "$A/root.key" >"$C/ffi_bytes/seed-ca-root"
cat "$A/root.crt" "$A/root-sec1.key" >"$C/ffi_bytes/seed-ca-root-sec1"
{ cat "$A/root.crt" "$A/root-enc.key"; printf '\0pass:secret'; } >"$C/ffi_bytes/seed-ca-root-enc"
{ cat "$A/root.crt" "$A/root-enc.key"; printf '\0pass:wrong'; } >"$C/ffi_bytes/seed-ca-root-enc-wrong"
cat "$A/int.crt" "$A/root.crt" "$A/int.key" >"$C/ffi_bytes/seed-ca-intermediate"
cat "$A/root.crt" "$A/int.key" >"$C/ffi_bytes/seed-ca-mismatch"

# ---- ffi_bytes, pgtls_store_sign_csr / _revoke: a CSR, then an optional
# "\0sign:<usage>\0<names>\0<reason>" (see fuzz/src/checks/ffi_store.rs sign_parts)
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0db.example.test, 127.0.0.1\0keyCompromise'; } >"$C/ffi_bytes/seed-sign-server-names"
{ cat "$C/csr_sign/seed-p384.der"; printf '\0sign:server\0\0superseded'; } >"$C/ffi_bytes/seed-sign-server-der"
{ cat "$C/csr_sign/seed-ed25519.pem"; printf '\0sign:client\0\0cessationOfOperation'; } >"$C/ffi_bytes/seed-sign-client"
{ cat "$C/csr_sign/seed-rsa.pem"; printf '\0sign:client\0db.example.test'; } >"$C/ffi_bytes/seed-sign-client-names"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0DNS:x,IP:1.2.3.4.5\0'; } >"$C/ffi_bytes/seed-sign-bad-names"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0\0bogusReason'; } >"$C/ffi_bytes/seed-sign-bad-reason"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:ca'; } >"$C/ffi_bytes/seed-sign-bad-usage"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0\0unspecified'; } >"$C/ffi_bytes/seed-sign-unspecified"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0\0certificate-hold'; } >"$C/ffi_bytes/seed-sign-hold"
{ cat "$C/csr_sign/seed-p256.pem"; printf '\0sign:server\0\0removeFromCRL'; } >"$C/ffi_bytes/seed-sign-remove"

# ---- store_files: serial, crlnumber (length-prefixed), CRL choice (2 bytes: 0 none,
# 1 the CA's own, 2 bytes follow), operation (2 bytes: 0 issue, 1 revoke, 2 CRL), then
# index.txt. The index of a real `openssl ca` store (valid, revoked with a reason, on
# hold with an instruction, key compromise with its time), and hand-made edge cases.
S="$TMP/store"
mkdir -p "$S/newcerts" "$S/private"
: >"$S/index.txt"
echo 01 >"$S/serial"
echo 01 >"$S/crlnumber"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Seed Store CA" \
    -keyout "$S/private/cakey.pem" -out "$S/cacert.pem" -days 3650 2>/dev/null
cat >"$S/ca.cnf" <<CNF
[ ca ]
default_ca = s
[ s ]
dir = $S
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/cacert.pem
private_key = \$dir/private/cakey.pem
default_md = sha256
default_days = 30
default_crl_days = 7
policy = p
unique_subject = no
[ p ]
commonName = supplied
CNF
for cn in alice bob carol dave; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=seeds/CN=$cn" \
        -keyout "$TMP/$cn.key" -out "$TMP/$cn.csr" 2>/dev/null
    openssl ca -batch -config "$S/ca.cnf" -in "$TMP/$cn.csr" -out "$TMP/$cn.crt" 2>/dev/null
done
openssl ca -config "$S/ca.cnf" -revoke "$TMP/bob.crt" -crl_reason keyCompromise 2>/dev/null
openssl ca -config "$S/ca.cnf" -revoke "$TMP/carol.crt" -crl_hold holdInstructionReject 2>/dev/null
openssl ca -config "$S/ca.cnf" -revoke "$TMP/dave.crt" -crl_compromise 20261031120000Z 2>/dev/null
openssl ca -config "$S/ca.cnf" -gencrl -out "$TMP/store.crl" 2>/dev/null
python3 - "$C/store_files" "$S" <<'PY'
import sys
out, store = sys.argv[1], sys.argv[2]
def seed(name, serial, crlnumber, crl_choice, op, index, crl_bytes=b""):
    b = bytes([len(serial)]) + serial + bytes([len(crlnumber)]) + crlnumber
    b += bytes([0, crl_choice])
    if crl_choice == 2:
        b += bytes([len(crl_bytes)]) + crl_bytes
    b += bytes([0, op]) + index
    open(f"{out}/seed-{name}", "wb").write(b)
rd = lambda f: open(f"{store}/{f}", "rb").read()
for op in range(3):
    seed(f"openssl-ca-op{op}", rd("serial"), rd("crlnumber"), 1, op, rd("index.txt"))
v1 = b"V\t361122000000Z\t\t01\tunknown\t/CN=alice\n"
r2 = b"R\t361122000000Z\t261101120000Z,keyCompromise\t02\tunknown\t/O=pgtls/CN=bob\n"
e3 = b"E\t241122000000Z\t\t03\tunknown\t/CN=old\n"
v4 = b"V\t20511122000000Z\t\t0A1B2C3D4E5F60718293A4B5C6D7E8F901234567\tunknown\t/DC=org/DC=example/CN=carol\n"
u7 = b"R\t361122000000Z\t261101120000Z\t07\tunknown\t/CN=no reason\n"
for op in range(3):
    seed(f"empty-op{op}", b"01\n", b"01\n", 0, op, b"")
    seed(f"mixed-op{op}", b"08\n", b"03\n", 1, op, v1 + r2 + e3 + u7)
    seed(f"four-digit-year-op{op}", b"4000000000000000000000000000000000000001\n", b"FF\n", 0, op, v1 + v4)
seed("crlnumber-ff", b"02\n", b"FF\n", 1, 2, v1 + r2)
seed("serial-taken", b"01\n", b"01\n", 0, 0, v1)
seed("truncated", b"02\n", b"01\n", 0, 0, v1 + b"V\t3611")
seed("junk-crl", b"02\n", b"02\n", 2, 2, v1, b"-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n")
seed("crlf", b"02\r\n", b"02\r\n", 0, 1, v1.replace(b"\n", b"\r\n"))
PY

du -sh "$C"
