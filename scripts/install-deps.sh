#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for pgtls's tests: the PostgreSQL 15
# server and client, its server headers (PGXS extension), openssl, valgrind and Go,
# and the clients scripts/pg-versions.sh fetches the other PostgreSQL versions with
# (pip, npm, unzip). Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v psql >/dev/null || need+=(postgresql-client-15)
command -v openssl >/dev/null || need+=(openssl)
# hba_connections uses `ip` to check that ::1 is on the loopback interface.
command -v ip >/dev/null || need+=(iproute2)
# The C ABI's consumers (scripts/test-ffi.sh): C and C++ compilers, pkg-config,
# make, valgrind, Go for the cgo bindings, PGXS for the PostgreSQL extension.
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
command -v go >/dev/null || need+=(golang-go)
# scripts/pg-versions.sh: PostgreSQL 14-18 from PyPI, 12 and 13 from npm.
command -v pip >/dev/null || command -v pip3 >/dev/null || need+=(python3-pip)
command -v npm >/dev/null || need+=(npm)
command -v unzip >/dev/null || need+=(unzip)
# completions_man renders `pgtls man` with groff and man -l; pki_batch runs a batch
# under a pseudo-terminal with script(1).
command -v groff >/dev/null || need+=(groff-base)
command -v man >/dev/null || need+=(man-db)
command -v script >/dev/null || need+=(bsdutils)
# tls_features_live: a passwd entry of the test's own for libpq's `~` (getpwuid) rows.
[ -f /usr/lib/x86_64-linux-gnu/libnss_wrapper.so ] || need+=(libnss-wrapper)
[ -f /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk ] && [ -f /usr/include/postgresql/15/server/postgres.h ] ||
  need+=(postgresql-server-dev-15)
if [ "${#need[@]}" -eq 0 ]; then
  echo "install-deps: nothing to install"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root or install them: apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
