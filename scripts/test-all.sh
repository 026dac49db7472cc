#!/usr/bin/env bash
# Runs every check pgtls has: formatting, lints, all tests (unit, openssl
# cross-checks, real PostgreSQL 15 clusters on 127.0.0.1), and the docs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TERM_COLOR=never
step() { printf '\n=== %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"
cargo test --workspace --locked
step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
step "all checks passed"
