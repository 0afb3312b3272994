#!/usr/bin/env bash
# `make run`: the demo city, then web, worker and beat under honcho, each logging to var/log/.
# Prints only the URL, the demo logins and where the logs are.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-8000}
mkdir -p var/log var/run var/metrics var/private var/media var/mail var/cache

if ! .venv/bin/python manage.py seed_demo > var/log/seed.log 2>&1; then
  tail -n 20 var/log/seed.log >&2
  echo "run: seed_demo failed (var/log/seed.log)" >&2
  exit 1
fi

# prometheus_client's multiprocess files belong to one run of the processes that wrote them.
find var/metrics -mindepth 1 -delete
export PROMETHEUS_MULTIPROC_DIR="$PWD/var/metrics" XDG_CACHE_HOME="$PWD/var/cache"

# Started as root, the web server, the worker and beat run as the system user `machiba`: they
# handle uploads and render documents from what people typed, and need no privilege for it.
SERVICE_USER=machiba
service_user_ready() {
  id "$SERVICE_USER" >/dev/null 2>&1 \
    || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$SERVICE_USER"
  # The user must be able to pass through the folders above the checkout and above the Python
  # the .venv was made from (root's home is 0700, and pyenv lives there): it is given search (x)
  # permission on exactly those it cannot enter, by an ACL entry.
  local target path part
  for target in "$PWD" "$(dirname "$(readlink -f .venv/bin/python)")"; do
    path=""
    IFS=/ read -ra parts <<< "${target#/}"
    for part in "${parts[@]}"; do
      path="$path/$part"
      if ! runuser -u "$SERVICE_USER" -- test -x "$path"; then
        setfacl -m "u:$SERVICE_USER:x" "$path" 2>/dev/null || return 1
      fi
    done
  done
  chown -R "$SERVICE_USER:" var/run var/metrics var/private var/media var/mail var/cache
  runuser -u "$SERVICE_USER" -- test -r manage.py -a -x .venv/bin/python
}
MACHIBA_AS=""
if [ "$(id -u)" -eq 0 ]; then
  if service_user_ready; then
    MACHIBA_AS="runuser -u $SERVICE_USER --"
  else
    echo "run: could not let the user $SERVICE_USER reach $PWD (no ACL support?); running as root" \
      | tee -a var/log/web.log >&2
  fi
fi
export MACHIBA_AS

echo "Machiba is starting at http://127.0.0.1:$PORT/  (staff: http://127.0.0.1:$PORT/staff/)"
sed -n '/^Demo logins/,$p' var/log/seed.log
echo "Logs: var/log/web.log, var/log/worker.log, var/log/beat.log (seed: var/log/seed.log)." \
  "Stop with Ctrl-C or make stop."
echo $$ > var/run/honcho.pid
PATH="$PWD/.venv/bin:$PATH" exec .venv/bin/honcho -f Procfile start
