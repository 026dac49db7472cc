#!/bin/sh
# Time `pgtls hba lint` on the slowest file found for its witness search:
# host names, comma lists with +groups, non-contiguous netmasks, samenet and
# samerole, sameuser with host-name suffixes, N records (default 600, the
# largest file lint analyses). See BENCHMARKS.md ("pgtls-hba").
# Usage: sh pgtls-hba/benches/lint_worst.sh [N] [path to pgtls]
set -eu
N=${1:-600}
PGTLS=${2:-target/release/pgtls}
DIR=$(mktemp -d /tmp/pgtls-lint-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++) {
    m = i % 4
    if (m == 0) printf "host db%d,db%d u%d,+g%d h%d.example.com md5\n", i, i + 1, i, i, i
    else if (m == 1) printf "hostnossl all +g%d 10.%d.0.0 255.255.0.255 scram-sha-256\n", i, i % 250
    else if (m == 2) printf "host samerole u%d samenet trust\n", i
    else printf "hostssl sameuser all .d%d.example.org cert\n", i
  }
}' > "$DIR/pg_hba.conf"
start=$(date +%s.%N)
"$PGTLS" hba lint "$DIR/pg_hba.conf" --pg-version 15 > "$DIR/out" 2>&1 || true
end=$(date +%s.%N)
echo "lint $N records: $(echo "$end - $start" | bc) s, $(wc -l < "$DIR/out") lines of output"
