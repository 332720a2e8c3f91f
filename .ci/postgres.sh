#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite (no system service involved).
#
#   .ci/postgres.sh start    initdb into ${TMPDIR:-/tmp}/gateway-pg-PID.XXXXXX, start it on
#                            127.0.0.1 (port 54329 or the next free one), create gateway_test
#   .ci/postgres.sh url      print postgresql+psycopg://postgres@127.0.0.1:PORT/gateway_test
#   .ci/postgres.sh status   say whether it is running
#   .ci/postgres.sh stop     stop it and delete the data directory
#
# State lives in var/ci-postgres/state in the repository. As root the server
# runs as the `postgres` OS user (postgres refuses to run as root).
# Env: PG_BINDIR (server bin dir), GATEWAY_PG_PORT (first port to try, 54329).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$ROOT/var/ci-postgres"
STATE_FILE="$STATE_DIR/state"
DB_NAME=gateway_test
DB_USER=postgres
FIRST_PORT="${GATEWAY_PG_PORT:-54329}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    printf '%s\n' "$PG_BINDIR"
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$d" ] && command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir)
  fi
  if [ -z "$d" ] && command -v initdb >/dev/null 2>&1; then
    d=$(dirname "$(command -v initdb)")
  fi
  printf '%s\n' "$d"
}

ensure_bindir() {
  BINDIR=$(find_bindir)
  if [ -z "$BINDIR" ] || [ ! -x "$BINDIR/initdb" ] || [ ! -x "$BINDIR/pg_ctl" ]; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
      log "PostgreSQL server binaries not found; apt-get install postgresql"
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o DPkg::Lock::Timeout=600 update -qq
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >&2
      BINDIR=$(find_bindir)
    fi
  fi
  [ -n "$BINDIR" ] && [ -x "$BINDIR/initdb" ] && [ -x "$BINDIR/pg_ctl" ] \
    || die "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql or set PG_BINDIR"
}

# Run a command as the cluster owner.
as_owner() {
  if [ "$RUNAS" = "$(id -un)" ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$RUNAS" -- "$@"
  else
    su -s /bin/sh "$RUNAS" -c "$(printf '%q ' "$@")"
  fi
}

load_state() {
  [ -f "$STATE_FILE" ] || return 1
  # shellcheck disable=SC1090
  . "$STATE_FILE"
  [ -n "${PGDATA:-}" ] && [ -n "${PORT:-}" ] && [ -n "${BINDIR:-}" ] && [ -n "${RUNAS:-}" ]
}

is_running() {
  [ -f "$PGDATA/postmaster.pid" ] && as_owner "$BINDIR/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

port_free() {
  local port=$1
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Refuse to rm -rf anything that is not one of our data directories.
remove_datadir() {
  local dir=$1
  [ -d "$dir" ] || return 0
  case "$dir" in
    */gateway-pg-*) ;;
    *) log "refusing to remove unexpected data dir '$dir'"; return 1 ;;
  esac
  if [ -f "$dir/PG_VERSION" ] || [ -f "$dir/postgresql.conf" ] || [ -z "$(ls -A "$dir")" ]; then
    rm -rf -- "$dir"
  else
    log "refusing to remove '$dir': does not look like a PostgreSQL data dir"
    return 1
  fi
}

cmd_start() {
  if load_state; then
    if is_running; then
      log "already running on 127.0.0.1:$PORT (data: $PGDATA)"
      return 0
    fi
    log "removing stale cluster $PGDATA"
    as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    remove_datadir "$PGDATA" || true
    rm -f "$STATE_FILE"
  fi

  ensure_bindir
  RUNAS=$(id -un)
  if is_root; then
    RUNAS=postgres
    id -u "$RUNAS" >/dev/null 2>&1 || RUNAS=nobody
  fi

  mkdir -p "$STATE_DIR"
  local base="${TMPDIR:-/tmp}"
  PGDATA=$(mktemp -d "${base%/}/gateway-pg-$$.XXXXXX")
  STARTED_OK=
  trap '[ -n "$STARTED_OK" ] || { as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true; [ -f "$PGDATA/server.log" ] && tail -n 30 "$PGDATA/server.log" >&2; remove_datadir "$PGDATA" || true; }' EXIT
  if is_root; then
    chown "$RUNAS" "$PGDATA"
    if ! as_owner test -w "$PGDATA"; then
      # e.g. TMPDIR under /root: the postgres user cannot reach it
      rmdir "$PGDATA"
      PGDATA=$(mktemp -d "/tmp/gateway-pg-$$.XXXXXX")
      chown "$RUNAS" "$PGDATA"
    fi
  fi
  chmod 700 "$PGDATA"

  log "initdb $PGDATA (PostgreSQL $("$BINDIR/pg_ctl" --version | awk '{print $3}'), as $RUNAS)"
  local out
  # C.UTF-8, as a production cluster's UTF-8 locale would: with the C locale pg_trgm sees
  # no Arabic letters and similar cases fall back to Python (core/voice/similar.py).
  out=$(as_owner "$BINDIR/initdb" -D "$PGDATA" -U "$DB_USER" --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync 2>&1) \
    || out=$(as_owner "$BINDIR/initdb" -D "$PGDATA" -U "$DB_USER" --auth=trust -E UTF8 \
      --no-locale --no-sync 2>&1) \
    || { printf '%s\n' "$out" >&2; die "initdb failed"; }

  # Unix sockets only in the data dir (short path), otherwise TCP only.
  local sockdir="$PGDATA"
  [ "${#PGDATA}" -le 80 ] || sockdir=""
  as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF

# --- throwaway test cluster (.ci/postgres.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
CONF

  local port=$FIRST_PORT tries=0
  while :; do
    tries=$((tries + 1))
    [ "$tries" -le 50 ] || die "no free port in $FIRST_PORT..$((FIRST_PORT + 49))"
    if ! port_free "$port"; then
      port=$((port + 1))
      continue
    fi
    as_owner rm -f "$PGDATA/server.log"
    if as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -o "-p $port" -w -t 60 start >/dev/null; then
      break
    fi
    # lost a race for the port? try the next one; anything else is fatal
    if grep -q 'could not bind\|Address already in use' "$PGDATA/server.log" 2>/dev/null; then
      log "port $port taken meanwhile, trying the next one"
      port=$((port + 1))
      continue
    fi
    die "PostgreSQL failed to start (server log above)"
  done
  PORT=$port

  local i
  for i in $(seq 1 60); do
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    [ "$i" -lt 60 ] || die "server not ready after 30s"
    sleep 0.5
  done

  "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" "$DB_NAME"

  cat >"$STATE_FILE" <<STATE
PGDATA='$PGDATA'
PORT='$PORT'
BINDIR='$BINDIR'
RUNAS='$RUNAS'
STATE
  STARTED_OK=1
  log "running on 127.0.0.1:$PORT (data: $PGDATA)"
}

cmd_stop() {
  if ! load_state; then
    log "not running (no $STATE_FILE)"
    return 0
  fi
  if [ -f "$PGDATA/postmaster.pid" ]; then
    as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_owner "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || true
  fi
  if [ -f "$PGDATA/postmaster.pid" ] && is_running; then
    die "could not stop the server in $PGDATA"
  fi
  # keep the server log around for post-mortems
  [ -f "$PGDATA/server.log" ] && cp "$PGDATA/server.log" "$STATE_DIR/server.log" 2>/dev/null || true
  remove_datadir "$PGDATA" || die "left $PGDATA in place"
  rm -f "$STATE_FILE"
  log "stopped; removed $PGDATA"
}

cmd_url() {
  load_state || die "not started (run: .ci/postgres.sh start)"
  printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$PORT" "$DB_NAME"
}

cmd_status() {
  if load_state && is_running; then
    echo "running on 127.0.0.1:$PORT (data: $PGDATA)"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
