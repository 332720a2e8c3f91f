#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite (no system service involved).
#
#   .ci/postgres.sh start    initdb into ${TMPDIR:-/tmp}/gateway-pg-PID.XXXXXX, start it on
#                            127.0.0.1 (port 54329 or the next free one), create gateway_test
#   .ci/postgres.sh start-replica    a streaming replica of it (pg_basebackup -R, hot
#                            standby) on port GATEWAY_PG_REPLICA_PORT (PORT+10 or the next
#                            free one)
#   .ci/postgres.sh start-pgbouncer  PgBouncer in pool_mode = transaction in front of it
#                            (and of the replica, as database gateway_test_replica, when
#                            that runs) on GATEWAY_PGBOUNCER_PORT (PORT+20 or the next
#                            free one); apt-get installs pgbouncer when missing (as root)
#   .ci/postgres.sh url [primary|replica|pgbouncer]
#                            print postgresql+psycopg://postgres@127.0.0.1:PORT/gateway_test
#                            (the replica's or PgBouncer's port for those)
#   .ci/postgres.sh status   say whether it is running (and the replica, PgBouncer)
#   .ci/postgres.sh stop     stop it all and delete the data directories
#
# State lives in var/ci-postgres/state in the repository. As root the servers
# run as the `postgres` OS user (postgres and pgbouncer refuse to run as root).
# Env: PG_BINDIR (server bin dir), GATEWAY_PG_PORT (first port to try, 54329),
# GATEWAY_PG_REPLICA_PORT, GATEWAY_PGBOUNCER_PORT (first ports to try for those).
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
# As PostgreSQL and PgBouncer bind: a port whose last connections linger in TIME_WAIT
# (a cluster just stopped) is free for them.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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

# The first free port from $1 on (50 tries).
free_port_from() {
  local port=$1 tries=0
  until port_free "$port"; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || die "no free port in $1..$(($1 + 49))"
    port=$((port + 1))
  done
  printf '%s\n' "$port"
}

# Stop PgBouncer and the replica, if the state names them, and delete their directories.
stop_extras() {
  if [ -n "${BOUNCER_DIR:-}" ]; then
    local pid
    pid=$(cat "$BOUNCER_DIR/pgbouncer.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true  # PgBouncer's immediate shutdown
      local i
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    [ -f "$BOUNCER_DIR/pgbouncer.log" ] && cp "$BOUNCER_DIR/pgbouncer.log" "$STATE_DIR/" 2>/dev/null || true
    case "$BOUNCER_DIR" in
      */gateway-pg-bouncer-*) [ -f "$BOUNCER_DIR/pgbouncer.ini" ] && rm -rf -- "$BOUNCER_DIR" ;;
      *) log "refusing to remove unexpected directory '$BOUNCER_DIR'" ;;
    esac
    log "PgBouncer stopped"
  fi
  if [ -n "${REPLICA_DATA:-}" ]; then
    if [ -f "$REPLICA_DATA/postmaster.pid" ]; then
      as_owner "$BINDIR/pg_ctl" -D "$REPLICA_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    [ -f "$REPLICA_DATA/server.log" ] && cp "$REPLICA_DATA/server.log" "$STATE_DIR/replica.log" 2>/dev/null || true
    remove_datadir "$REPLICA_DATA" || true
    log "replica stopped"
  fi
}

cmd_start() {
  if load_state; then
    if is_running; then
      log "already running on 127.0.0.1:$PORT (data: $PGDATA)"
      return 0
    fi
    log "removing stale cluster $PGDATA"
    stop_extras
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

# A directory of the cluster owner's under TMPDIR (or /tmp when the owner cannot reach it).
owned_tempdir() {
  local base="${TMPDIR:-/tmp}" dir
  dir=$(mktemp -d "${base%/}/$1.XXXXXX")
  if is_root; then
    chown "$RUNAS" "$dir"
    if ! as_owner test -w "$dir"; then
      rmdir "$dir"
      dir=$(mktemp -d "/tmp/$1.XXXXXX")
      chown "$RUNAS" "$dir"
    fi
  fi
  chmod 700 "$dir"
  printf '%s\n' "$dir"
}

cmd_start_replica() {
  load_state && is_running || die "the primary is not running (run: .ci/postgres.sh start)"
  if [ -n "${REPLICA_DATA:-}" ] && [ -f "$REPLICA_DATA/postmaster.pid" ]; then
    log "replica already running on 127.0.0.1:$REPLICA_PORT (data: $REPLICA_DATA)"
    return 0
  fi
  local port
  # Global: the EXIT trap runs after this function has returned.
  dir=$(owned_tempdir "gateway-pg-replica-$$")
  STARTED_OK=
  trap '[ -n "$STARTED_OK" ] || { as_owner "$BINDIR/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true; [ -f "$dir/server.log" ] && tail -n 30 "$dir/server.log" >&2; remove_datadir "$dir" || true; }' EXIT
  # The initdb cluster trusts replication connections from 127.0.0.1; -R writes
  # primary_conninfo and standby.signal: a hot standby streaming from the primary.
  log "pg_basebackup from 127.0.0.1:$PORT into $dir"
  as_owner "$BINDIR/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -D "$dir" \
    -R -X stream -c fast --no-sync 2>&1 >/dev/null \
    | { grep -v "skipping special file" >&2 || true; } \
    || die "pg_basebackup failed"
  local sockdir="$dir"
  [ "${#dir}" -le 80 ] || sockdir=""
  as_owner tee -a "$dir/postgresql.conf" >/dev/null <<CONF

# --- the throwaway cluster's streaming replica (.ci/postgres.sh start-replica) ---
unix_socket_directories = '$sockdir'
hot_standby = on
wal_receiver_status_interval = 1s
CONF
  port=$(free_port_from "${GATEWAY_PG_REPLICA_PORT:-$((PORT + 10))}")
  as_owner "$BINDIR/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 60 start \
    >/dev/null || die "the replica failed to start (server log above)"
  local i
  for i in $(seq 1 60); do
    [ "$("$BINDIR/psql" -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" -Atc \
      "select pg_is_in_recovery() and pg_last_wal_replay_lsn() is not null" 2>/dev/null)" = t ] && break
    [ "$i" -lt 60 ] || die "the replica is not streaming after 30 s"
    sleep 0.5
  done
  printf "REPLICA_DATA='%s'\nREPLICA_PORT='%s'\n" "$dir" "$port" >>"$STATE_FILE"
  STARTED_OK=1
  log "replica running on 127.0.0.1:$port (data: $dir)"
}

find_pgbouncer() {
  command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true
}

cmd_start_pgbouncer() {
  load_state && is_running || die "the primary is not running (run: .ci/postgres.sh start)"
  if [ -n "${BOUNCER_DIR:-}" ] && [ -f "$BOUNCER_DIR/pgbouncer.pid" ] \
      && kill -0 "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null; then
    log "PgBouncer already running on 127.0.0.1:$BOUNCER_PORT"
    return 0
  fi
  local bouncer
  bouncer=$(find_pgbouncer)
  if [ -z "$bouncer" ] && is_root && command -v apt-get >/dev/null 2>&1; then
    log "pgbouncer not found; apt-get install pgbouncer"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends pgbouncer >&2
    bouncer=$(find_pgbouncer)
  fi
  [ -n "$bouncer" ] || die "pgbouncer not found; install it (scripts/system-deps.sh)"
  local dir port replica=""
  dir=$(owned_tempdir "gateway-pg-bouncer-$$")
  port=$(free_port_from "${GATEWAY_PGBOUNCER_PORT:-$((PORT + 20))}")
  if [ -n "${REPLICA_PORT:-}" ]; then
    replica="${DB_NAME}_replica = host=127.0.0.1 port=$REPLICA_PORT dbname=$DB_NAME"
  fi
  # Transaction pooling with fewer server connections than clients: consecutive
  # transactions of one client land on different server connections, as in production.
  as_owner tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
$DB_NAME = host=127.0.0.1 port=$PORT dbname=$DB_NAME
$replica

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $DB_USER
pool_mode = transaction
default_pool_size = 10
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  printf '"%s" ""\n' "$DB_USER" | as_owner tee "$dir/userlist.txt" >/dev/null
  as_owner "$bouncer" -d "$dir/pgbouncer.ini" >&2 \
    || { tail -n 20 "$dir/pgbouncer.log" >&2 2>/dev/null; die "pgbouncer failed to start"; }
  local i
  for i in $(seq 1 60); do
    "$BINDIR/psql" -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" -Atc "select 1" \
      >/dev/null 2>&1 && break
    [ "$i" -lt 60 ] || { tail -n 20 "$dir/pgbouncer.log" >&2; die "PgBouncer not answering after 30 s"; }
    sleep 0.5
  done
  printf "BOUNCER_DIR='%s'\nBOUNCER_PORT='%s'\n" "$dir" "$port" >>"$STATE_FILE"
  log "PgBouncer $("$bouncer" --version | head -1 | awk '{print $2}') (transaction pooling) on 127.0.0.1:$port"
}

cmd_stop() {
  if ! load_state; then
    log "not running (no $STATE_FILE)"
    return 0
  fi
  stop_extras
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
  local port=$PORT
  case "${1:-primary}" in
    primary) ;;
    replica) port=${REPLICA_PORT:-}; [ -n "$port" ] || die "no replica (run: .ci/postgres.sh start-replica)" ;;
    pgbouncer) port=${BOUNCER_PORT:-}; [ -n "$port" ] || die "no PgBouncer (run: .ci/postgres.sh start-pgbouncer)" ;;
    *) die "url of what? primary, replica or pgbouncer" ;;
  esac
  printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$port" "$DB_NAME"
}

cmd_status() {
  if load_state && is_running; then
    echo "running on 127.0.0.1:$PORT (data: $PGDATA)"
    [ -z "${REPLICA_PORT:-}" ] || echo "replica on 127.0.0.1:$REPLICA_PORT (data: $REPLICA_DATA)"
    [ -z "${BOUNCER_PORT:-}" ] || echo "PgBouncer on 127.0.0.1:$BOUNCER_PORT"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  start-replica) cmd_start_replica ;;
  start-pgbouncer) cmd_start_pgbouncer ;;
  stop) cmd_stop ;;
  url) cmd_url "${2:-primary}" ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|start-replica|start-pgbouncer|stop|url [primary|replica|pgbouncer]|status" >&2; exit 2 ;;
esac
