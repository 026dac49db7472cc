#!/usr/bin/env bash
# Builds and installs pgtls_ext (PGXS), creates it in a throwaway PostgreSQL
# cluster on 127.0.0.1 and calls each function. Certificates come from the
# openssl command (an independent implementation), the hba oracle is the
# server's own pg_hba_file_rules view.
#   test.sh STAGE   (STAGE: a staged libpgtls from scripts/test-ffi.sh)
set -euo pipefail
STAGE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${PGTLS_PG_BINDIR:-$(pg_config --bindir)}
[ -x "$BIN/initdb" ] || { echo "pg-extension: $BIN/initdb missing: apt-get install postgresql-15" >&2; exit 1; }
command -v openssl >/dev/null || { echo "pg-extension: openssl missing: apt-get install openssl" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "pg-extension: make install needs root (PostgreSQL's lib and share dirs)" >&2; exit 1; }

BUILD=$STAGE/pg-extension
rm -rf "$BUILD"; cp -r "$HERE" "$BUILD"
make -s -C "$BUILD" clean >/dev/null
make -s -C "$BUILD" EXTRA_CFLAGS="${EXTRA_CFLAGS:-}"
# The extension must not export Rust or pgtls symbols into the backend.
if nm -D --defined-only "$BUILD/pgtls_ext.so" | awk '{print $3}' | grep -v '^pgtls_ext_\|^Pg_magic_func$\|^pg_finfo_pgtls_ext_\|^_init$\|^_fini$' | grep -q .; then
  echo "pg-extension: unexpected exports:" >&2
  nm -D --defined-only "$BUILD/pgtls_ext.so" >&2
  exit 1
fi
make -s -C "$BUILD" install

WORK=$(mktemp -d /tmp/pgtls-ext.XXXXXX)
chmod 755 "$WORK"
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -INT "$PID" 2>/dev/null || true; for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
chown postgres:postgres "$WORK"
runuser -u postgres -- "$BIN/initdb" -A trust -U postgres --no-sync -D "$WORK/data" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$BIN/pg_ctl" -w -D "$WORK/data" -l "$WORK/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c fsync=off" start >/dev/null
PID=$(head -1 "$WORK/data/postmaster.pid")
psql_() { psql -X -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -U postgres -d postgres "$@"; }
fail() { echo "pg-extension: $*" >&2; exit 1; }

psql_ -c "CREATE EXTENSION pgtls_ext" >/dev/null
[ "$(psql_ -c 'select pgtls_version()')" = "$(pkg-config --modversion pgtls)" ] || fail "version"

# pg_hba_file_rules is the oracle for the rules pgtls reads from hba_file.
cat >> "$WORK/data/pg_hba.conf" <<'HBA'
host all all 0.0.0.0/0 trust
hostssl all all ::/0 cert clientcert=verify-full
HBA
psql_ -c "select pg_reload_conf()" >/dev/null
sleep 0.5
want=$(psql_ -c "select json_agg(json_build_array(line_number, type, database, user_name, address, auth_method) order by line_number) from pg_hba_file_rules")
got=$(psql_ -c "select json_agg(json_build_array(r->'line_number', r->'type', r->'database', r->'user_name', r->'address', r->'auth_method') order by (r->>'line_number')::int) from json_array_elements(pgtls_hba_rules()) r")
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))' "$want" "$got")" = True ] ||
  fail "pgtls_hba_rules() differs from pg_hba_file_rules:\n$want\n$got"
lint=$(psql_ -c "select pgtls_lint_hba_file()")
echo "$lint" | grep -q '"severity":"error"' || fail "lint found no error in an hba_file with trust over TCP: $lint"

# A certificate made by openssl; its serial is the oracle.
(cd "$WORK" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
   -subj "/CN=Ext Test CA" -days 3 -out ca.crt 2>/dev/null &&
 openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
   -subj "/CN=ext.example" -out srv.csr 2>/dev/null &&
 printf 'subjectAltName=DNS:ext.example\nbasicConstraints=CA:FALSE\n' > ext.cnf &&
 openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
   -extfile ext.cnf -out srv.crt 2>/dev/null)
chown -R postgres "$WORK"
serial=$(openssl x509 -in "$WORK/srv.crt" -noout -serial | sed 's/serial=//')
pem=$(cat "$WORK/srv.crt")
got=$(psql_ -v pem="$pem" <<< "select pgtls_cert_summary(:'pem')->>'serial'")
[ "$got" = "$serial" ] || fail "serial: pgtls $got, openssl $serial"

ok=$(psql_ -v pem="$pem" <<< "select pgtls_chain_verdict(:'pem', 'host=ext.example sslmode=verify-full sslrootcert=$WORK/ca.crt')->>'verdict'")
[ "$ok" = accept ] || fail "verdict for the right host: $ok"
bad=$(psql_ -v pem="$pem" <<< "select pgtls_chain_verdict(:'pem', 'host=other.example sslmode=verify-full sslrootcert=$WORK/ca.crt')->>'message'")
case "$bad" in *'does not match host name "other.example"'*) ;; *) fail "verdict for a wrong host: $bad" ;; esac

# Errors become ERRORs; the session and the backend go on.
out=$(psql_ -v ON_ERROR_STOP=0 -c "select pg_backend_pid()" -c "select pgtls_cert_summary('garbage')" -c "select pg_backend_pid()" 2>&1 || true)
echo "$out" | grep -q 'ERROR:  pgtls: certificate:' || fail "no pgtls ERROR: $out"
[ "$(echo "$out" | grep -E '^[0-9]+$' | sort -u | wc -l)" = 1 ] || fail "backend changed: $out"
if nm -D --defined-only "$STAGE/lib/libpgtls.so" | grep -q ' pgtls_testing_panic$'; then
  psql_ -c "CREATE FUNCTION pgtls_testing_panic() RETURNS void AS 'pgtls_ext', 'pgtls_ext_testing_panic' LANGUAGE C" >/dev/null
  out=$(psql_ -v ON_ERROR_STOP=0 -c "select pg_backend_pid()" -c "select pgtls_testing_panic()" -c "select pg_backend_pid()" 2>&1 || true)
  echo "$out" | grep -q 'ERROR:  pgtls: testing panic: pgtls panicked' || fail "panic not reported: $out"
  [ "$(echo "$out" | grep -E '^[0-9]+$' | sort -u | wc -l)" = 1 ] || fail "backend died on a Rust panic: $out"
fi
grep -q 'server process .* was terminated' "$WORK/server.log" && fail "a backend crashed: $(cat "$WORK/server.log")"
echo "pg-extension: all functions answered"
