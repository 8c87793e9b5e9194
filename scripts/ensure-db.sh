#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers and prints the admin URL to use.
# 1. $DATABASE_URL's server, or the local default (postgres@localhost:5432), when it answers.
# 2. Otherwise a throwaway cluster under var/pg on port 54329, started with the system's
#    PostgreSQL binaries, which are installed from Debian/Ubuntu packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url() { # the server part of a URL, pointed at the always-present `postgres` database
  local url="$1"
  echo "${url%/*}/postgres"
}

answers() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

candidate="${DATABASE_URL:-postgres://postgres@localhost:5432/vibeinsight}"
if command -v psql >/dev/null && answers "$(admin_url "$candidate")"; then
  admin_url "$candidate"
  exit 0
fi

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$dir" ] && echo "$dir"
}

if [ -z "$(pg_bin)" ]; then
  echo "ensure-db: installing PostgreSQL from the distribution's packages" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq postgresql postgresql-client >&2
fi
bin=$(pg_bin)
data="$PWD/var/pg"
port=54329
url="postgres://postgres@127.0.0.1:${port}/postgres"
if answers "$url"; then echo "$url"; exit 0; fi

run_pg() { # initdb/pg_ctl refuse to run as root; use the postgres user then
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data" && chown postgres "$(dirname "$data")"
  run_pg "'$bin/initdb' -D '$data' -U postgres --auth=trust -E UTF8 >/dev/null"
fi
run_pg "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -w -o '-p $port -k /tmp -c listen_addresses=127.0.0.1' start >/dev/null"
echo "ensure-db: started a local cluster in $data on port $port" >&2
echo "$url"
