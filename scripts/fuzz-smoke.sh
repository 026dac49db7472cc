#!/usr/bin/env bash
# scripts/fuzz-smoke.sh [SECONDS]: the CI fuzz smoke. Builds every cargo-fuzz target
# in fuzz/ on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo-fuzz
# passes; AddressSanitizer works), then runs each target for SECONDS (default 10, or
# $FUZZ_SECONDS) starting from its committed seed corpus fuzz/corpus/<target>/seed-*.
# New corpus entries go to a scratch directory, so the tree stays clean.
#
# A crash or property violation fails the script; the input is in
# fuzz/artifacts/<target>/. Keep it: copy it into fuzz/regressions/<target>/ once the
# bug is fixed (pgtls-ffi/tests/fuzz_regressions.rs replays that directory).
#
# Budget: about 3-4 minutes to build on 2 cores from a clean fuzz/target, then
# 11 targets x SECONDS. Installs cargo-fuzz (36 s) if it is missing.
set -euo pipefail

SECS=${1:-${FUZZ_SECONDS:-10}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1
# The fuzz workspace has its own target dir (fuzz/target), whatever the caller set;
# FUZZ_TARGET_DIR chooses another one (for example a scratch dir for a clean-build timing).
unset CARGO_TARGET_DIR
TD=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
    TD=(--target-dir "$FUZZ_TARGET_DIR")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
cargo fuzz build "${TD[@]}"
echo "fuzz-smoke: build took $(($(date +%s) - start)) s"

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
failed=()
for t in $(cargo fuzz list); do
    mkdir -p "$SCRATCH/$t"
    if [ ! -d "corpus/$t" ] || ! ls "corpus/$t"/seed-* >/dev/null 2>&1; then
        echo "fuzz-smoke: corpus/$t has no seed-* file" >&2
        failed+=("$t (no seeds)")
        continue
    fi
    echo "fuzz-smoke: $t for ${SECS}s"
    # -max_len: certificate chains and pg_hba.conf files are larger than libFuzzer's
    # default guess from the seeds would allow growing to.
    dict=()
    [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
    if ! cargo fuzz run "${TD[@]}" "$t" "$SCRATCH/$t" "corpus/$t" -- "${dict[@]}" \
        -max_total_time="$SECS" -max_len=16384 -timeout=20 -rss_limit_mb=3072 \
        -print_final_stats=1 2>"$SCRATCH/$t.log"; then
        tail -n 60 "$SCRATCH/$t.log" >&2
        failed+=("$t")
    else
        grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$SCRATCH/$t.log" || true
    fi
done

echo "fuzz-smoke: total $(($(date +%s) - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]}" >&2
    echo "fuzz-smoke: reproducers are in fuzz/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz-smoke: all targets ran clean"
