#!/usr/bin/env bash
# Starts and stops the private PostgreSQL+PostGIS and Redis under ./var/.
# A service whose URL is given in the environment (DATABASE_URL, REDIS_URL) is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${MACHIBA_VAR_DIR:-$PWD/var}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${MACHIBA_PG_PORT:-5439}
REDIS_PORT=${MACHIBA_REDIS_PORT:-6389}

# Where the cluster lives. initdb and pg_ctl refuse to run as root, so as root the cluster runs
# as the postgres user, who often cannot enter the checkout (root's home, a `mktemp -d` folder:
# mode 0700). Then the cluster lives in a folder of this checkout's own under /var/lib/machiba/
# (named by a hash of the checkout's path) and var/pg points to it, so `make stop` and the next
# `make run` find it again. A cluster already in var/pg itself (older checkouts, or a non-root
# user) stays where it is.
cluster_home() {
  if [ "$(id -u)" -eq 0 ] && [ ! -d "$VAR/pg" ] || [ -L "$VAR/pg" ]; then
    echo "${MACHIBA_CLUSTER_ROOT:-/var/lib/machiba}/$(printf '%s' "$VAR" | sha256sum | cut -c1-16)"
  else
    echo "$VAR"
  fi
}
CLUSTER_HOME=$(cluster_home)
PGDATA="$CLUSTER_HOME/pg"
PGSOCKET="$CLUSTER_HOME/pgsocket"
# pgBackRest keeps the cluster's WAL archive and base backups beside it (var/pgbackrest), so the
# postgres user that runs archive_command can write there. conf.d/ takes a city's additions, such
# as a second, remote repository (README "Backups and point-in-time recovery").
PGBR_HOME="$CLUSTER_HOME/pgbackrest"
PGBR_CONF="$PGBR_HOME/pgbackrest.conf"
PGBR=(pgbackrest "--config=$PGBR_CONF" "--config-include-path=$PGBR_HOME/conf.d" --stanza=machiba)
# A segment is archived at least once a minute when anything was written: the most a lost disk
# can take with it (the worst-case RPO of README "Backups and point-in-time recovery").
ARCHIVE_TIMEOUT=${MACHIBA_ARCHIVE_TIMEOUT:-60}

as_postgres() {
  # initdb and pg_ctl refuse to run as root. From /, since postgres may not enter the checkout
  # (its tools then complain that they cannot change back to it).
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# PostgreSQL's defaults suit a small shared host; the ledger's batch runs write a million rows at
# a time (checkpoints every 30 s with the default max_wal_size). docker-compose.yml uses the same.
PG_TUNING="-c shared_buffers=512MB -c max_wal_size=4GB -c work_mem=16MB -c maintenance_work_mem=256MB"
PG_ARCHIVING="-c archive_mode=on -c archive_timeout=$ARCHIVE_TIMEOUT -c archive_command='${PGBR[*]} archive-push %p'"

# The pgBackRest configuration of this cluster, written at every start (ports and paths follow
# the environment). Full backups are kept for 14 days, and with them the WAL to recover to any
# moment since the oldest one.
write_pgbackrest_conf() {
  mkdir -p "$PGBR_HOME/conf.d" "$PGBR_HOME/repo" "$PGBR_HOME/log" "$PGBR_HOME/spool" \
    "$PGBR_HOME/lock"
  cat > "$PGBR_CONF" <<CONF
# Written by cityhall/ops/services.sh at each start; put additions in conf.d/*.conf.
[global]
repo1-path=$PGBR_HOME/repo
repo1-retention-full-type=time
repo1-retention-full=14
compress-type=lz4
start-fast=y
archive-async=y
process-max=2
spool-path=$PGBR_HOME/spool
lock-path=$PGBR_HOME/lock
log-path=$PGBR_HOME/log
log-level-console=warn

[machiba]
pg1-path=$PGDATA
pg1-port=$PG_PORT
pg1-socket-path=$PGSOCKET
pg1-user=machiba
CONF
  if [ "$(id -u)" -eq 0 ]; then
    # Not recursive: the repository's files are the postgres user's already, and many.
    chown postgres:postgres "$PGBR_HOME" "$PGBR_HOME"/{conf.d,repo,log,spool,lock} "$PGBR_CONF"
  fi
  chmod 750 "$PGBR_HOME"
  chmod 700 "$PGBR_HOME/conf.d"  # a remote repository's keys go there
  if [ "$CLUSTER_HOME" != "$VAR" ]; then
    ln -sfn "$PGBR_HOME" "$VAR/pgbackrest"
  fi
}

pg_setting() {
  "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U machiba -X -q -d postgres -tAc "SHOW $1" 2>/dev/null
}

start_postgres() {
  mkdir -p "$VAR"
  if [ "$CLUSTER_HOME" != "$VAR" ]; then
    mkdir -p "$CLUSTER_HOME"
    chmod 755 "$(dirname "$CLUSTER_HOME")" "$CLUSTER_HOME"
    printf '%s\n' "$VAR" > "$CLUSTER_HOME/checkout"  # whose cluster this is
    ln -sfn "$PGDATA" "$VAR/pg"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "services: creating the PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA" "$PGSOCKET"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres:postgres "$PGDATA" "$PGSOCKET"
    fi
    chmod 700 "$PGDATA"
    as_postgres "$PGBIN/initdb" -D "$PGDATA" -U machiba --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null
  fi
  write_pgbackrest_conf
  local options="-p $PG_PORT -k $PGSOCKET -c listen_addresses=127.0.0.1 -c fsync=${MACHIBA_PG_FSYNC:-on} $PG_TUNING $PG_ARCHIVING"
  if ! as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 -o "$options" \
      start >/dev/null
    echo "services: PostgreSQL listening on 127.0.0.1:$PG_PORT"
  elif [ "$(pg_setting archive_command)" != "${PGBR[*]} archive-push %p" ]; then
    # A cluster started before WAL archiving existed (or with other paths): once.
    echo "services: restarting PostgreSQL to archive its WAL with pgBackRest"
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 -m fast \
      -o "$options" restart >/dev/null
  fi
  if [ ! -s "$PGBR_HOME/repo/backup/machiba/backup.info" ]; then
    as_postgres "${PGBR[@]}" stanza-create >/dev/null
    echo "services: WAL archived by pgBackRest into $VAR/pgbackrest (make drill tests a recovery)"
  fi
  local psql=("$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U machiba -X -q -v ON_ERROR_STOP=1)
  if ! "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='machiba'" | grep -q 1; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE machiba"
  fi
  for db in machiba template1; do
    "${psql[@]}" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm;" 2>/dev/null
  done
}

start_redis() {
  mkdir -p "$VAR/redis"
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" --daemonize yes \
      --pidfile "$VAR/redis/redis.pid" --logfile "$VAR/redis/redis.log" --save "60 1" >/dev/null
    for _ in $(seq 50); do
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "services: Redis listening on 127.0.0.1:$REDIS_PORT"
  fi
}

stop_all() {
  if [ -f "$VAR/run/honcho.pid" ]; then
    kill "$(cat "$VAR/run/honcho.pid")" 2>/dev/null || true
    rm -f "$VAR/run/honcho.pid"
  fi
  if [ -z "${REDIS_URL:-}" ] && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
    echo "services: Redis stopped"
  fi
  if [ -z "${DATABASE_URL:-}" ] && [ -s "$PGDATA/PG_VERSION" ] \
    && as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    echo "services: PostgreSQL stopped"
  fi
}

case "${1:-}" in
  start)
    [ -n "${DATABASE_URL:-}" ] || start_postgres
    [ -n "${REDIS_URL:-}" ] || start_redis
    ;;
  stop) stop_all ;;
  # `services.sh pgbackrest info|backup --type=incr|…`: pgBackRest on the private cluster, as the
  # user that owns it, with its configuration (the recovery drill uses it too).
  pgbackrest)
    shift
    as_postgres "${PGBR[@]}" "$@"
    ;;
  *) echo "usage: $0 start|stop|pgbackrest ARGS" >&2; exit 2 ;;
esac
