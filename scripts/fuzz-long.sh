#!/usr/bin/env bash
# scripts/fuzz-long.sh: long fuzzing, accumulated over time in fuzz/LEDGER.tsv.
#
#   scripts/fuzz-long.sh [-s SLICE_SECONDS] [-t TOTAL_SECONDS] [-g GOAL_SECONDS] [-j WORKERS] [-n] [-N] [TARGET...]
#
# Runs the release fuzz binaries (`cargo fuzz build -O`, AddressSanitizer) in slices of
# SLICE_SECONDS (default 600), round robin over TARGETs (default: every target, the one
# with the least accumulated time first), WORKERS at a time (default 1), until
# TOTAL_SECONDS of wall clock have passed (default: one round; a slice that would
# pass the deadline is shortened, and none starts with less than a minute left). Every slice grows the
# target's corpus fuzz/corpus/<target>/ (git ignores all but the committed seed-*
# files, so the corpus persists on this machine between sessions) and appends one row
# to fuzz/LEDGER.tsv: start and end (UTC), commit, target, wall seconds, CPU seconds of
# the fuzzer, executions, coverage (cov, ft), corpus size, result. `-n` runs the
# fuzzers under `nice -n 19`, so they only use CPU nobody else wants; the CPU column
# is what they actually got. `-N` does not build: the binaries are in FUZZ_TARGET_DIR
# (built from a clean worktree, say) and PGTLS_FUZZ_COMMIT names their commit.
#
# `-g GOAL_SECONDS` fuzzes toward a goal of accumulated fuzzer CPU per target instead:
# each round takes only the targets below the goal, the one closest to it first, and
# gives each a slice of what it still lacks (capped at SLICE_SECONDS), so on a bounded
# session as many targets as possible reach the goal; it stops when all have.
#
# A crash or property violation ends that slice with result "CRASH <artifact>"; the
# input is in fuzz/artifacts/<target>/ and the script exits non-zero at the end.
# scripts/fuzz-ledger.sh sums the ledger per target (the table in FUZZING.md).
set -euo pipefail

SELF=$(realpath "$0")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
cd "$ROOT/fuzz"
LEDGER="$ROOT/fuzz/LEDGER.tsv"
BIN="${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}/x86_64-unknown-linux-gnu/release"

if [ "${1:-}" = "--slice" ]; then
    # One slice: --slice TARGET SECONDS NICE DEADLINE (epoch seconds, 0: none)
    t=$2 secs=$3 nice=$4 deadline=$5
    if [ "$deadline" != 0 ]; then
        left=$((deadline - $(date +%s)))
        [ "$left" -ge 60 ] || exit 0
        [ "$left" -lt "$secs" ] && secs=$left
    fi
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$(mktemp "/tmp/pgtls-fuzz-$t.XXXXXX.log")
    times=$(mktemp)
    start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    s0=$(date +%s)
    pre=()
    [ "$nice" = 1 ] && pre=(nice -n 19)
    rc=0
    dict=()
    [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
    /usr/bin/time -f '%U %S' -o "$times" "${pre[@]}" "$BIN/$t" "corpus/$t" "${dict[@]}" \
        -max_total_time="$secs" -max_len=16384 -timeout=20 -rss_limit_mb=3072 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
    wall=$(($(date +%s) - s0))
    end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    cpu=$(awk 'END { printf "%d", $1 + $2 }' "$times")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    if [ "$rc" = 0 ]; then
        result=clean
    else
        art=$(grep -o 'artifacts/[^ ]*' "$log" | tail -1 || true)
        result="CRASH ${art:-exit $rc, log $log}"
        tail -n 60 "$log" >&2
    fi
    commit=${PGTLS_FUZZ_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD)}
    row=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$start" "$end" "$commit" "$t" \
        "$wall" "$cpu" "${execs:-0}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")
    (
        flock 9
        [ -s "$LEDGER" ] || printf 'start\tend\tcommit\ttarget\twall_s\tcpu_s\texecutions\tcov\tft\tcorpus\tresult\n' >"$LEDGER"
        printf '%s\n' "$row" >>"$LEDGER"
    ) 9>>"$LEDGER.lock"
    echo "$row"
    rm -f "$times"
    [ "$rc" = 0 ] && rm -f "$log"
    exit "$rc"
fi

SLICE=600 TOTAL=0 GOAL=0 JOBS=1 NICE=0 BUILD=1
while getopts 's:t:g:j:nN' o; do
    case $o in
        s) SLICE=$OPTARG ;;
        t) TOTAL=$OPTARG ;;
        g) GOAL=$OPTARG ;;
        j) JOBS=$OPTARG ;;
        n) NICE=1 ;;
        N) BUILD=0 ;;
        *) sed -n '2,20p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
TD=()
[ -n "${FUZZ_TARGET_DIR:-}" ] && TD=(--target-dir "$FUZZ_TARGET_DIR")
if [ "$BUILD" = 1 ]; then
    cargo fuzz build -O "${TD[@]}"
    # The commit the binaries were built from (+dirty: with uncommitted source changes).
    PGTLS_FUZZ_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
    git -C "$ROOT" diff --quiet HEAD -- pgtls-core/src pgtls-hba/src pgtls-verify/src \
        pgtls-ffi/src fuzz/src fuzz/fuzz_targets || PGTLS_FUZZ_COMMIT+=+dirty
elif [ -z "${PGTLS_FUZZ_COMMIT:-}" ]; then
    # -N: binaries built elsewhere (FUZZ_TARGET_DIR, e.g. from a clean git worktree);
    # PGTLS_FUZZ_COMMIT must say from which commit.
    echo "fuzz-long: -N needs PGTLS_FUZZ_COMMIT (the commit the binaries were built from)" >&2
    exit 2
fi
export PGTLS_FUZZ_COMMIT

accumulated() {
    awk -F'\t' -v t="$1" 'NR > 1 && $4 == t { s += $6 } END { printf "%d", s }' "$LEDGER" 2>/dev/null || echo 0
}

# Targets by accumulated CPU seconds, least first (ties: name).
order() {
    for t in "$@"; do
        acc=$(accumulated "$t")
        printf '%s %s\n' "${acc:-0}" "$t"
    done | sort -n -k1,1 -k2,2 | awk '{ print $2 }'
}

# -g: "TARGET SECONDS" for each target below the goal, the smallest need first. The
# slice asks for 2 % and 30 s more than the need: the fuzzer's CPU is a little below
# its wall clock even on an idle core.
goal_round() {
    for t in "$@"; do
        acc=$(accumulated "$t")
        need=$((GOAL - ${acc:-0}))
        [ "$need" -gt 0 ] || continue
        secs=$((need + need / 50 + 30))
        [ "$secs" -gt "$SLICE" ] && secs=$SLICE
        printf '%s %s %s\n' "$need" "$t" "$secs"
    done | sort -n -k1,1 -k2,2 | awk '{ print $2, $3 }'
}

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
deadline=0
[ "$TOTAL" -gt 0 ] && deadline=$(($(date +%s) + TOTAL))
failed=0
while :; do
    if [ "$GOAL" -gt 0 ]; then
        mapfile -t round < <(goal_round "${targets[@]}")
        [ "${#round[@]}" -gt 0 ] || break
        printf '%s\n' "${round[@]}" |
            xargs -P "$JOBS" -L 1 sh -c 'exec "$0" --slice "$3" "$4" "$1" "$2"' \
                "$SELF" "$NICE" "$deadline" || failed=1
        # A target whose last slice crashed waits for a fix instead of crashing again.
        kept=()
        for t in "${targets[@]}"; do
            last=$(awk -F'\t' -v t="$t" 'NR > 1 && $4 == t { r = $11 } END { print r }' "$LEDGER")
            case $last in CRASH*) ;; *) kept+=("$t") ;; esac
        done
        targets=("${kept[@]}")
        [ "${#targets[@]}" -gt 0 ] || break
        [ "$deadline" -eq 0 ] || [ "$(date +%s)" -lt $((deadline - 60)) ] || break
        continue
    else
        mapfile -t round < <(order "${targets[@]}")
        printf '%s\n' "${round[@]}" |
            xargs -P "$JOBS" -I{} "$SELF" --slice {} "$SLICE" "$NICE" "$deadline" || failed=1
    fi
    [ "$deadline" -gt 0 ] && [ "$(date +%s)" -lt $((deadline - 60)) ] || break
done
exit "$failed"
