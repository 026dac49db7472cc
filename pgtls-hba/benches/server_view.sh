#!/bin/sh
# Time PostgreSQL loading a 10,000-line pg_hba.conf into pg_hba_file_rules,
# to set beside `cargo bench -p pgtls-hba --bench hba` ("parse 10000 lines").
# The file is the same synthetic one the benchmark parses.
# Usage (as root, PostgreSQL 15 in /usr/lib/postgresql/15/bin):
#   sh pgtls-hba/benches/server_view.sh [runs]
set -eu
BIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RUNS=${1:-20}
DIR=$(mktemp -d /tmp/pgtls-hba-bench.XXXXXX)
chmod 755 "$DIR"
trap 'runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
python3 - "$DIR/big.conf" <<'PY'
import sys
out = ["# synthetic pg_hba.conf\n"]
for i in range(10000):
    a, b = (i // 250) % 250, i % 250
    m = i % 5
    if m == 0: out.append(f'hostssl db{i},"app {i}" u{i},+g{a} 10.{a}.{b}.0/24 scram-sha-256 clientcert=verify-full\n')
    elif m == 1: out.append(f"host    db{i} all 10.{a}.{b}.0 255.255.255.0 md5   # line {i}\n")
    elif m == 2: out.append(f"hostnossl all u{i} fd00:{a:x}:{b:x}::/48 reject\n")
    elif m == 3: out.append(f"hostssl all all 172.16.{a}.{b}/32 cert map=m{a}\n")
    else: out.append(f"local   db{i} u{i} peer map=m{b}\n")
open(sys.argv[1], "w").write("".join(out))
PY
printf 'local all all trust\n' > "$DIR/hba.conf"
chown -R postgres "$DIR"
runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" -A trust >/dev/null
cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = 5598
hba_file = '$DIR/hba.conf'
ssl = off
CONF
runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
cp "$DIR/big.conf" "$DIR/hba.conf"   # the view re-reads the file; the loaded rules stay trust
chown postgres "$DIR/hba.conf"
{
  printf '%s\n' '\timing on'
  i=0
  while [ $i -lt "$RUNS" ]; do echo 'select count(*) from pg_hba_file_rules;'; i=$((i+1)); done
} | runuser -u postgres -- psql -h "$DIR" -p 5598 -X -q -At postgres | grep '^Time' | \
  awk '{ print $2 }' | sort -n | \
  awk '{ t[NR]=$1 } END { printf "pg_hba_file_rules, 10000 lines: median %.1f ms, min %.1f ms over %d runs\n", t[int((NR+1)/2)], t[1], NR }'
