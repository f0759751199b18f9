#!/usr/bin/env bash
# Starts a throwaway PostgreSQL primary and a streaming standby (pg_basebackup) on loopback, for
# the replica tests, and prints two URLs: the primary's, then the standby's. Debian's binaries,
# clusters under /tmp, run as the postgres user when started as root.
#   scripts/test-postgres-replica.sh start   -> two lines: primary URL, standby URL
#   scripts/test-postgres-replica.sh stop
set -euo pipefail
PORT=${NEWSARCHIVE_TEST_PG_REPLICA_PORT:-54331}
STANDBY_PORT=$((PORT + 1))
ROOT=${NEWSARCHIVE_TEST_PG_REPLICA_DIR:-/tmp/newsarchive-test-pg-replica}
PRIMARY=$ROOT/primary
STANDBY=$ROOT/standby
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(runuser -u postgres --)
OPTIONS="-c listen_addresses=127.0.0.1 -k /tmp -c fsync=off"

running() { "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if ! running "$PRIMARY" || ! running "$STANDBY"; then
      "$0" stop
      rm -rf "$ROOT"
      mkdir -p "$ROOT"
      [ "$(id -u)" = 0 ] && chown postgres: "$ROOT"
      "${RUN_AS[@]}" "$BIN/initdb" -D "$PRIMARY" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
      "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PRIMARY" -l "$ROOT/primary.log" -w \
        -o "-p $PORT $OPTIONS" start >/dev/null
      "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
        "CREATE ROLE newsarchive LOGIN CREATEDB PASSWORD 'newsarchive'" >/dev/null
      "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
        "CREATE DATABASE newsarchive OWNER newsarchive" >/dev/null
      # -R writes standby.signal and the primary's address: the copy starts as a standby.
      "${RUN_AS[@]}" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$STANDBY" \
        -R -X stream -c fast >/dev/null
      "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$STANDBY" -l "$ROOT/standby.log" -w \
        -o "-p $STANDBY_PORT $OPTIONS" start >/dev/null
    fi
    echo "postgres://newsarchive:newsarchive@127.0.0.1:$PORT/newsarchive"
    echo "postgres://newsarchive:newsarchive@127.0.0.1:$STANDBY_PORT/newsarchive"
    ;;
  stop)
    for cluster in "$STANDBY" "$PRIMARY"; do
      [ -d "$cluster" ] && "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$cluster" -m fast stop >/dev/null 2>&1 || true
    done
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
