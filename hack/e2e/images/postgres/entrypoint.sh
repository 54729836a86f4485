#!/bin/sh
# First start (empty PGDATA): initdb with POSTGRES_USER (default postgres) as superuser and
# POSTGRES_PASSWORD (scram-sha-256 for TCP; or POSTGRES_HOST_AUTH_METHOD=trust and no password, as
# the python-test Task's sidecar runs it), create POSTGRES_DB, run /docker-entrypoint-initdb.d/*,
# then run the server in the foreground.
set -eu
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
[ "$POSTGRES_HOST_AUTH_METHOD" = trust ] || : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host="$POSTGRES_HOST_AUTH_METHOD" -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all 0.0.0.0/0 %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  # Like the official image: *.sql and *.sh from /docker-entrypoint-initdb.d, in name order.
  for f in /docker-entrypoint-initdb.d/*; do
    if [ "${f%.sql}" != "$f" ]; then
      psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f"
    elif [ "${f%.sh}" != "$f" ]; then
      # shellcheck source=/dev/null # whatever a deployment mounts there
      . "$f"
    fi
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "entrypoint: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
if [ "${1:-}" = postgres ]; then
  shift
  exec postgres -D "$PGDATA" "$@"
fi
exec "$@"
