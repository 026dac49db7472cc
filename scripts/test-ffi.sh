#!/usr/bin/env bash
# Builds libpgtls (pgtls-capi, the exports of pgtls-ffi) and runs every consumer of its C ABI:
#   c             examples/c: the example, and the C test suite under
#                 AddressSanitizer + UndefinedBehaviorSanitizer
#   valgrind      the C test suite once under valgrind (zero leaks, no errors)
#   python        examples/python: ctypes bindings with their tests
#   go            examples/go: cgo bindings with `go test`
#   pg-extension  examples/pg-extension: a PGXS extension, built with each
#                 PostgreSQL version's own pg_config (14 to 18; PGTLS_PG_VERSIONS
#                 selects), installed into a private copy of that installation
#                 and called in a throwaway cluster of that version on 127.0.0.1
#                 (12 and 13 have no server headers: reported as not run)
#
# usage: scripts/test-ffi.sh [--lib-dir DIR] [CONSUMER...]   (default: all)
# --lib-dir: use libpgtls.so/libpgtls.a already built there (built with the
# `test-hooks` feature); otherwise cargo builds them.
# A missing tool is a failure with the package to install, never a skip.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB_DIR=
CONSUMERS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lib-dir) LIB_DIR=$2; shift 2 ;;
    c|valgrind|python|go|pg-extension) CONSUMERS+=("$1"); shift ;;
    all) CONSUMERS+=(c valgrind python go pg-extension); shift ;;
    *) echo "test-ffi: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#CONSUMERS[@]} -gt 0 ] || CONSUMERS=(c valgrind python go pg-extension)

need() { # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || { echo "test-ffi: $1 is missing: apt-get install $2" >&2; exit 1; }
}
need cc gcc
need pkg-config pkg-config

if [ -z "$LIB_DIR" ]; then
  (cd "$ROOT" && cargo build -p pgtls-capi --features test-hooks --locked)
  LIB_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/debug
fi
[ -f "$LIB_DIR/libpgtls.so" ] && [ -f "$LIB_DIR/libpgtls.a" ] ||
  { echo "test-ffi: no libpgtls.so/libpgtls.a in $LIB_DIR" >&2; exit 1; }

# Stage an installation: lib/ (SONAME file + symlink + static), include/, pkg-config.
header=$ROOT/include/pgtls.h
ver() { sed -n "s/^#define PGTLS_VERSION_$1 \([0-9]*\)$/\1/p" "$header"; }
VERSION="$(ver MAJOR).$(ver MINOR).$(ver PATCH)"
STAGE=$(mktemp -d /tmp/pgtls-ffi-stage.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/lib/pkgconfig" "$STAGE/include" "$STAGE/work"
cp "$LIB_DIR/libpgtls.so" "$STAGE/lib/libpgtls.so.$VERSION"
ln -s "libpgtls.so.$VERSION" "$STAGE/lib/libpgtls.so"
cp "$LIB_DIR/libpgtls.a" "$STAGE/lib/libpgtls.a"
cp "$header" "$STAGE/include/pgtls.h"
sed -e "s|@PREFIX@|$STAGE|" -e "s|@VERSION@|$VERSION|" "$ROOT/pgtls-ffi/pgtls.pc.in" \
  > "$STAGE/lib/pkgconfig/pgtls.pc"
export PKG_CONFIG_PATH=$STAGE/lib/pkgconfig
export LD_LIBRARY_PATH=$STAGE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PGTLS_LIB=$STAGE/lib/libpgtls.so
[ "$(pkg-config --modversion pgtls)" = "$VERSION" ] || { echo "test-ffi: pkg-config broken" >&2; exit 1; }
# The test hooks are compiled in when the library exports them.
EXTRA_CFLAGS=
# (nm's output is read whole first: with pipefail, `nm | grep -q` fails when
# grep exits early and nm gets SIGPIPE.)
SYMBOLS=$(nm -D --defined-only "$STAGE/lib/libpgtls.so")
if grep -q ' pgtls_testing_panic$' <<<"$SYMBOLS"; then
  EXTRA_CFLAGS=-DPGTLS_TEST_HOOKS
fi
export EXTRA_CFLAGS

step() { printf '\n=== test-ffi: %s\n' "$*"; }

run_c() {
  step "C example and test suite (ASan + UBSan)"
  make -s -C "$ROOT/examples/c" OUT="$STAGE/c" check
  mkdir -p "$STAGE/work/example"
  "$STAGE/c/example" "$STAGE/work/example"
}

run_valgrind() {
  need valgrind valgrind
  step "C test suite under valgrind"
  make -s -C "$ROOT/examples/c" OUT="$STAGE/c" "$STAGE/c/test_ffi"
  PGTLS_TEST_NO_PASSPHRASE=1 valgrind -q --error-exitcode=99 --suppressions="$ROOT/examples/c/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible "$STAGE/c/test_ffi"
}

run_python() {
  need python3 python3
  step "Python ctypes bindings"
  if python3 -c 'import pytest' 2>/dev/null; then
    (cd "$ROOT/examples/python" && python3 -m pytest -q -p no:cacheprovider test_pgtls.py)
  else
    echo "(pytest not installed: running the same tests with unittest)"
    (cd "$ROOT/examples/python" && python3 -m unittest -v test_pgtls)
  fi
}

run_go() {
  need go golang-go
  step "Go cgo bindings"
  # The staging path changes every run; cgo flags in the environment are part of
  # Go's cache key, so a cached build never links against a removed stage.
  # EXTRA_CFLAGS (-DPGTLS_TEST_HOOKS) lets the tests reach pgtls_testing_panic.
  need openssl openssl
  (cd "$ROOT/examples/go" && CGO_ENABLED=1 GOFLAGS=-mod=mod \
    CGO_CFLAGS="$(pkg-config --cflags pgtls) $EXTRA_CFLAGS" CGO_LDFLAGS="$(pkg-config --libs pgtls)" \
    go test -count=1 ./...)
}

run_pg_extension() {
  # Each version's pg_config, PGXS and server headers are checked by test.sh.
  need make make
  step "PostgreSQL extension"
  bash "$ROOT/examples/pg-extension/test.sh" "$STAGE"
}

for c in "${CONSUMERS[@]}"; do
  case "$c" in
    c) run_c ;;
    valgrind) run_valgrind ;;
    python) run_python ;;
    go) run_go ;;
    pg-extension) run_pg_extension ;;
  esac
done
step "passed: ${CONSUMERS[*]}"
