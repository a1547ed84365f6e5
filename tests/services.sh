#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL and Redis on free local ports.
#
#   tests/services.sh COMMAND [ARGS...]
#
# DATABASE_URL or CELERY_BROKER_URL already set: that service is used as it is
# and not started. The PostgreSQL started here gets a streaming hot-standby
# replica beside it (about one second more; START_REPLICA=0 leaves it out),
# and DATABASE_REPLICA_URLS points at it; a DATABASE_REPLICA_URLS already set
# is left alone. Missing packages (postgresql, redis-server, chromium) are
# installed with apt-get (as root, or through sudo). Everything started here is
# stopped when the command ends, whatever its outcome; the command's exit
# status is this script's.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
state="$here/.services/run-$$"
# PostgreSQL runs as the postgres user when this script runs as root, and that
# user must reach its data directory: a clone in /root or in a mode-700 folder
# is out of its reach. The throw-away cluster therefore lives in a folder of
# its own under /tmp, which every user can reach.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    echo "services: apt-get update" >&2
    as_root apt-get update -qq >&2
    apt_updated=1
  fi
  echo "services: installing $*" >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pids_to_stop=()
pg_dir=""
replica_dir=""
cleanup() {
  local status=$?
  if [ -n "$replica_dir" ] && [ -f "$replica_dir/data/postmaster.pid" ]; then
    run_pg "$PG_BIN/pg_ctl" -D "$replica_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    run_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  for pid in "${pids_to_stop[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  [ -n "$replica_dir" ] && rm -rf "$replica_dir"
  rm -rf "$state"
  exit $status
}
trap cleanup EXIT INT TERM

mkdir -p "$state"

# PostgreSQL refuses to run as root: use the postgres system user then.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${DATABASE_URL:-}" ]; then
  PG_BIN=$(pg_bindir) || { apt_install postgresql; PG_BIN=$(pg_bindir); }
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  pg_dir=$(mktemp -d /tmp/omni-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
  pg_port=$(free_port)
  # initdb's pg_hba.conf trusts replication connections from 127.0.0.1, and
  # wal_level=replica is the default: a standby can stream from this cluster.
  pg_options="-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c wal_level=replica -c max_wal_senders=5"
  run_pg "$PG_BIN/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  run_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir $pg_options" start >/dev/null
  run_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres omni
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/omni"
  echo "services: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port" >&2

  if [ "${START_REPLICA:-1}" = 1 ] && [ -z "${DATABASE_REPLICA_URLS:-}" ]; then
    # A real streaming replica: a base backup of the primary that keeps
    # replaying its WAL (-R writes primary_conninfo and standby.signal) and
    # answers read-only queries (hot standby).
    replica_dir=$(mktemp -d /tmp/omni-pg-replica.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$replica_dir"
    replica_port=$(free_port)
    run_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U postgres -D "$replica_dir/data" \
      -R -X stream -c fast >/dev/null
    run_pg "$PG_BIN/pg_ctl" -D "$replica_dir/data" -l "$replica_dir/log" -w -t 60 \
      -o "-p $replica_port -k $replica_dir $pg_options -c hot_standby=on" start >/dev/null
    export DATABASE_REPLICA_URLS="postgres://postgres@127.0.0.1:$replica_port/omni"
    # Tests that stop and restart the replica find its data directory here.
    export OMNI_TEST_REPLICA_DATA="$replica_dir/data"
    echo "services: PostgreSQL streaming replica on 127.0.0.1:$replica_port" >&2
  fi
fi

if [ -z "${CELERY_BROKER_URL:-}" ]; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$state" --logfile "$state/redis.log" --daemonize no >/dev/null &
  pids_to_stop+=($!)
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  export CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/0"
  echo "services: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$redis_port" >&2
fi

if [ -z "${CHROMIUM_PATH:-}" ]; then
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  export CHROMIUM_PATH=$(command -v chromium)
fi

"$@"
