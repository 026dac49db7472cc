#!/usr/bin/env bash
# scripts/fuzz-ledger.sh [LEDGER]: the accumulated fuzzing per target, from fuzz/LEDGER.tsv
# (written by scripts/fuzz-long.sh), as the Markdown table FUZZING.md shows.
#
# Columns: slices run; wall-clock and CPU time summed (CPU is what the fuzzer process got:
# under `nice -n 19` on a busy machine it is less than the wall clock; "?" rows from before
# the CPU column existed count as wall time in the CPU-or-wall total); executions summed;
# the highest coverage (cov = edges, ft = features) and the last corpus size reported;
# crashes found.
set -euo pipefail
LEDGER=${1:-$(cd "$(dirname "$0")/.." && pwd)/fuzz/LEDGER.tsv}
awk -F'\t' '
NR == 1 { next }
{
    t = $4
    if (!(t in slices)) order[++n] = t
    slices[t]++
    wall[t] += $5
    if ($6 == "?") { cpuq[t] += $5 } else { cpu[t] += $6 }
    execs[t] += $7
    if ($8 + 0 > cov[t]) cov[t] = $8 + 0
    if ($9 + 0 > ft[t]) ft[t] = $9 + 0
    if ($10 != "?") corp[t] = $10
    if ($11 != "clean") crash[t]++
}
function hm(s) { return sprintf("%d h %02d min", s / 3600, (s % 3600) / 60) }
END {
    # stable order: by name
    m = 0
    for (i = 1; i <= n; i++) names[++m] = order[i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (names[j] < names[i]) { x = names[i]; names[i] = names[j]; names[j] = x }
    print "| Target | slices | wall | CPU (+ wall of rows without CPU) | executions | max cov | max ft | corpus | crashes |"
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= m; i++) {
        t = names[i]
        extra = cpuq[t] > 0 ? sprintf(" (+ %d s)", cpuq[t]) : ""
        printf "| `%s` | %d | %s | %s%s | %d | %d | %d | %s | %d |\n", t, slices[t], hm(wall[t]), hm(cpu[t]), extra, execs[t], cov[t], ft[t], corp[t], crash[t]
        W += wall[t]; C += cpu[t]; Q += cpuq[t]; E += execs[t]; K += crash[t]
    }
    printf "| **all** | | %s | %s (+ %d s) | %d | | | | %d |\n", hm(W), hm(C), Q, E, K
}' "$LEDGER"
