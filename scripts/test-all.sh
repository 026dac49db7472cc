#!/usr/bin/env bash
# Runs every check pgtls has: formatting, lints, all tests (unit, openssl
# cross-checks, real PostgreSQL clusters on 127.0.0.1), the docs, the C ABI's
# consumers (C, Python, Go, a PostgreSQL extension) and a fuzz smoke run.
#
# The version-parameterised suites run on every PostgreSQL major version 12 to
# 18 (PGTLS_PG_VERSIONS, default all): the full matrix on 15 (the system's), and
# on the others what differs between versions plus a sample of the rest
# (PGTLS_PG_MATRIX=sample). The full matrix on every version:
#   PGTLS_PG_MATRIX=full bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# PostgreSQL 12-14 and 16-18 (cached; a no-op once fetched).
bash scripts/pg-versions.sh
export PGTLS_PG_VERSIONS="${PGTLS_PG_VERSIONS:-all}"
export PGTLS_PG_MATRIX="${PGTLS_PG_MATRIX:-sample}"
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"
cargo test --workspace --locked
step "cargo test -p pgtls --all-features (the facade's optional modules)"
cargo test -p pgtls --all-features --locked --test facade
step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# cargo test already ran the C (ASan/UBSan), Python, Go and PostgreSQL-extension
# consumers (pgtls-ffi/tests/consumers.rs); valgrind is the slow one left.
step "C ABI test suite under valgrind"
bash scripts/test-ffi.sh valgrind
step "fuzz smoke (every target, stable toolchain)"
bash scripts/fuzz-smoke.sh
step "all checks passed"
