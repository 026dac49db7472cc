#!/usr/bin/env bash
# scripts/fuzz-coverage.sh [TARGET...]: source coverage of the pgtls crates reached by each
# target's corpus (fuzz/corpus/<target>/, seeds and everything the long runs found).
#
# Builds coverage-instrumented binaries with `cargo fuzz coverage` (stable toolchain,
# RUSTC_BOOTSTRAP=1), replays the corpus, and prints Markdown: per target, the lines
# covered in the pgtls-*/src files it reaches at all; then, all targets merged, the line
# and region coverage of every pgtls-*/src file. Needs the llvm-tools component (`rustup
# component add llvm-tools`: llvm-cov and llvm-profdata of rustc's LLVM). Reports stay
# in fuzz/coverage/ (<target>/report.txt, all.txt; not committed).
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

REPORT_ARGS=(--ignore-filename-regex='(\.cargo|rustc|/fuzz/|pgtls-testkit|/rustlib/)')

# Lines of pgtls-*/src covered, over the files the target reaches at all (a file with
# no covered line is not "about" this target): "covered/total in N files".
reached() {
    awk '$1 ~ /^pgtls-[a-z]+\/src\// && $9 < $8 { n++; lt += $8; lm += $9 }
        END { printf "%d | %d/%d (%.1f%%)", n, lt - lm, lt, lt ? 100 * (lt - lm) / lt : 0 }' "$1"
}

echo "| Target | inputs | files reached | lines covered in them |"
echo "|---|---|---|---|"
objects=()
profiles=()
# A running fuzzer replaces corpus files as it finds smaller inputs: replay a snapshot.
SNAP=$(mktemp -d)
trap 'rm -rf "$SNAP"' EXIT
for t in "${targets[@]}"; do
    cp -r "$CORPUS/$t" "$SNAP/$t"
    n=$(find "$SNAP/$t" -type f | wc -l)
    # cargo fuzz coverage merges every .profraw in coverage/<target>/raw/, and its
    # per-worker batch files from an earlier run with more batches would stay there:
    # start from nothing, so the report is this corpus and only this corpus.
    rm -rf "coverage/$t/raw" "coverage/$t/coverage.profdata"
    cargo fuzz coverage "$t" "$SNAP/$t" >"/tmp/pgtls-cov-$t.log" 2>&1 || {
        tail -20 "/tmp/pgtls-cov-$t.log" >&2
        echo "fuzz-coverage: $t failed" >&2
        exit 1
    }
    bin="target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$t"
    prof="coverage/$t/coverage.profdata"
    "$LLVM_BIN/llvm-cov" report "$bin" -instr-profile="$prof" "${REPORT_ARGS[@]}" >"coverage/$t/report.txt"
    objects+=(-object "$bin")
    profiles+=("$prof")
    echo "| \`$t\` | $n | $(reached "coverage/$t/report.txt") |"
done

# All targets together, file by file: what the fuzzers reach of the code base.
"$LLVM_BIN/llvm-profdata" merge -sparse "${profiles[@]}" -o coverage/all.profdata
"$LLVM_BIN/llvm-cov" report "${objects[@]:1}" -instr-profile=coverage/all.profdata \
    "${REPORT_ARGS[@]}" >coverage/all.txt
echo
echo "All targets together (lines covered, regions covered), per source file:"
echo
echo "| File | lines | regions |"
echo "|---|---|---|"
awk '$1 ~ /^pgtls-[a-z]+\/src\// {
        printf "| `%s` | %d/%d (%s) | %d/%d (%s) |\n", $1, $8 - $9, $8, $10, $2 - $3, $2, $4
        lt += $8; lm += $9; rt += $2; rm += $3
    }
    END { printf "| **all** | %d/%d (%.1f%%) | %d/%d (%.1f%%) |\n", lt - lm, lt, 100 * (lt - lm) / lt, rt - rm, rt, 100 * (rt - rm) / rt }' coverage/all.txt
