#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster: TEST_DATABASE_URL points at it.
# As root the server runs as the postgres user (it refuses root). Under CI=true a missing
# server is a failure; elsewhere the PostgreSQL pass is skipped with a message.
set -euo pipefail

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
  for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bindir=$candidate; done
fi
if [ ! -x "$bindir/initdb" ]; then
  if [ "${CI:-}" = "true" ]; then echo "PostgreSQL server not installed (initdb missing)" >&2; exit 1; fi
  echo "PostgreSQL server not installed: skipping the PostgreSQL pass (apt-get install postgresql)" >&2
  exit 0
fi

dir=$(mktemp -d /tmp/portal-pg.XXXXXX)
port=${PORTAL_TEST_PG_PORT:-$(( 55000 + RANDOM % 5000 ))}
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"

cleanup() { as_pg "$bindir/pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

as_pg "$bindir/initdb -D $dir/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
as_pg "$bindir/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off' start" >/dev/null
"$bindir/psql" -q -h 127.0.0.1 -p "$port" -U postgres -c 'create database portal_test' >/dev/null

export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/portal_test"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port"
"$@"
