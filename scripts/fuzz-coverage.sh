#!/usr/bin/env bash
# scripts/fuzz-coverage.sh [TARGET...]: source coverage of the pgtls crates reached by each
# target's corpus (fuzz/corpus/<target>/, seeds and everything the long runs found).
#
# Builds coverage-instrumented binaries with `cargo fuzz coverage` (stable toolchain,
# RUSTC_BOOTSTRAP=1), replays the corpus, and prints, per target, the line and region
# coverage of the source files under pgtls-*/src that the target links (llvm-cov report
# of the files whose path contains the crate it is about). Needs the llvm-tools
# component (`rustup component add llvm-tools`: llvm-cov and llvm-profdata of the same
# LLVM as rustc). Output: a Markdown table, and fuzz/coverage/<target>/report.txt.
# CORPUS=DIR reads the corpora from DIR/<target> instead (for example the main checkout's
# fuzz/corpus when this runs in a clean git worktree of a commit).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz"
CORPUS=${CORPUS:-$ROOT/fuzz/corpus}
export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR
SYSROOT=$(rustc --print sysroot)
LLVM_BIN="$SYSROOT/lib/rustlib/x86_64-unknown-linux-gnu/bin"
if [ ! -x "$LLVM_BIN/llvm-cov" ]; then
    echo "fuzz-coverage: llvm-cov missing: run rustup component add llvm-tools" >&2
    exit 1
fi
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

# Which crate's sources a target is about (the others it links are counted in "all").
crates_of() {
    case $1 in
        hba_*|ident_parse) echo "pgtls-hba/src" ;;
        conninfo|hostname|chain_verify) echo "pgtls-verify/src" ;;
        csr_sign|crl_parse|key_load|cert_issue) echo "pgtls-core/src" ;;
        ffi_*) echo "pgtls-ffi/src" ;;
    esac
}

echo "| Target | inputs | crate | lines covered | regions covered | all pgtls-* lines |"
echo "|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
    n=$(find "$CORPUS/$t" -type f | wc -l)
    cargo fuzz coverage "$t" "$CORPUS/$t" >"/tmp/pgtls-cov-$t.log" 2>&1 || {
        tail -20 "/tmp/pgtls-cov-$t.log" >&2
        echo "fuzz-coverage: $t failed" >&2
        exit 1
    }
    bin="target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$t"
    prof="coverage/$t/coverage.profdata"
    "$LLVM_BIN/llvm-cov" report "$bin" -instr-profile="$prof" \
        --ignore-filename-regex='(\.cargo|rustc|/fuzz/|pgtls-testkit)' >"coverage/$t/report.txt"
    crate=$(crates_of "$t")
    sum=$(awk -v c="$crate" '
        $1 ~ c { rt += $2; rm += $3; lt += $8; lm += $9 }
        $1 ~ /pgtls-/ { at += $8; am += $9 }
        END {
            printf "%.1f%% (%d/%d) | %.1f%% (%d/%d) | %.1f%% (%d/%d)",
                lt ? 100 * (lt - lm) / lt : 0, lt - lm, lt,
                rt ? 100 * (rt - rm) / rt : 0, rt - rm, rt,
                at ? 100 * (at - am) / at : 0, at - am, at
        }' "coverage/$t/report.txt")
    echo "| \`$t\` | $n | $crate | $sum |"
done
