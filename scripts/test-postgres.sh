#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the test suite and prints its DATABASE_URL.
# Uses Debian's postgresql package; the cluster lives in /tmp and listens on 127.0.0.1 only.
#   scripts/test-postgres.sh start   -> prints postgres://newsarchive:newsarchive@127.0.0.1:PORT/newsarchive
#   scripts/test-postgres.sh stop
set -euo pipefail
PORT=${NEWSARCHIVE_TEST_PG_PORT:-54329}
DATA=${NEWSARCHIVE_TEST_PG_DIR:-/tmp/newsarchive-test-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(runuser -u postgres --)

case "${1:-start}" in
  start)
    if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      rm -rf "$DATA"
      mkdir -p "$DATA" && [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
      "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
      "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off" start >/dev/null
      "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
        "CREATE ROLE newsarchive LOGIN CREATEDB PASSWORD 'newsarchive'" >/dev/null
      "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c \
        "CREATE DATABASE newsarchive OWNER newsarchive" >/dev/null
    fi
    echo "postgres://newsarchive:newsarchive@127.0.0.1:$PORT/newsarchive"
    ;;
  stop)
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
