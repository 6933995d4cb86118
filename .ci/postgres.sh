#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for plock's PostgreSQL tests and measurements.
#
#   .ci/postgres.sh run COMMAND...   start a cluster, run COMMAND with PLOCK_TEST_POSTGRES set
#                                    to its connection string, stop and delete the cluster
#   .ci/postgres.sh start DIR        start a cluster in DIR (new) and print its connection string
#   .ci/postgres.sh stop DIR         stop the cluster in DIR and delete DIR
#
# The server binaries are PostgreSQL's (15 or newer: PG_BINDIR, else the newest of
# /usr/lib/postgresql/*/bin); when there are none and this runs as root, Debian's `postgresql`
# package is installed. initdb refuses to run as root, so as root the cluster belongs to the
# unprivileged `postgres` user (created when missing). The server listens on 127.0.0.1 on a
# free port, and on a Unix socket in the cluster's folder; nothing outside that folder is used.
set -euo pipefail

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  echo "${newest:-}"
}

bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian's postgresql package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir=$(find_bindir)
  fi
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "no PostgreSQL server binaries (set PG_BINDIR, or install Debian's postgresql package)" >&2
  exit 1
fi

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

start() {
  local dir=$1
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_owner "$bindir/initdb" --pgdata="$dir/data" --username=plock --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  local port
  port=$(free_port)
  # A cluster that lives for one test run needs no sync; PLOCK_POSTGRES_DURABLE=1 keeps the
  # server's defaults, for measurements.
  local settings="-c fsync=off -c full_page_writes=off"
  [ "${PLOCK_POSTGRES_DURABLE:-0}" = 1 ] && settings=""
  as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --silent \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
        -c max_connections=60 $settings" start \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "host=127.0.0.1 port=$port user=plock dbname=postgres" >"$dir/connection"
  cat "$dir/connection"
}

stop() {
  local dir=$1
  as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --silent stop || true
  rm -rf "$dir"
}

case "${1:-}" in
  run)
    shift
    dir=$(mktemp -d /tmp/plock-postgres.XXXXXX)
    trap 'stop "$dir"' EXIT
    PLOCK_TEST_POSTGRES=$(start "$dir")
    export PLOCK_TEST_POSTGRES
    echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $PLOCK_TEST_POSTGRES" >&2
    "$@"
    ;;
  start) start "${2:?the cluster folder}" ;;
  stop) stop "${2:?the cluster folder}" ;;
  *)
    echo "usage: $0 run COMMAND... | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
