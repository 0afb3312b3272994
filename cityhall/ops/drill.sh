#!/usr/bin/env bash
# `make drill`: the point-in-time recovery drill on the private cluster (payments/drill.py). The
# drill's payments go into a database of their own (machiba_drill) in the same cluster: its WAL,
# archive and backups are the city's, its rows are not.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${DATABASE_URL:-}" ]; then
  echo "drill: DATABASE_URL points elsewhere; the drill restores the private cluster only" \
    "(README \"Backups and point-in-time recovery\" for other clusters)" >&2
  exit 2
fi
PG_PORT=${MACHIBA_PG_PORT:-5439}
DB=machiba_drill
psql=(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$PG_PORT" -U machiba -X -q -v ON_ERROR_STOP=1)
if ! "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
  "${psql[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
export DATABASE_URL="postgis://machiba@127.0.0.1:$PG_PORT/$DB"
mkdir -p var/log
if ! .venv/bin/python manage.py migrate --check >/dev/null 2>&1; then
  echo "drill: preparing the database $DB (migrations; details in var/log/drill.log)"
  .venv/bin/python manage.py migrate --noinput > var/log/drill.log 2>&1 \
    || { tail -n 20 var/log/drill.log >&2; exit 1; }
fi
exec .venv/bin/python manage.py drill "$@"
