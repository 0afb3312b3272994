#!/usr/bin/env bash
# Installs what Machiba needs and is missing: Debian packages, a .venv, the Python packages.
# A second run finds everything in place and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3 redis-server
  gdal-bin libgdal32 libgeos-c1v5 libproj25 binutils
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont
  chromium poppler-utils gettext wrk acl pgbackrest
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  mkdir -p var/log
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"; } > var/log/apt.log 2>&1 \
    || { tail -n 20 var/log/apt.log >&2; exit 1; }
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    # Debian's python3 ships venv's ensurepip separately.
    rm -rf .venv
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
    "$PYTHON" -m venv .venv
  fi
fi

stamp=.venv/.machiba-installed
lock=()
[ -f requirements.lock ] && lock=(-c requirements.lock)
digest=$(cat pyproject.toml "${lock[@]:1}" | sha256sum | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  mkdir -p var/log
  log=var/log/bootstrap.log
  # pip's own output goes to the log; the terminal gets one line (or the log's end on failure).
  if ! { .venv/bin/python -m pip install -q --upgrade "pip>=24" \
    && .venv/bin/python -m pip install "${lock[@]}" -e '.[dev]'; } > "$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "bootstrap: installing Python packages failed (see $log)" >&2
    exit 1
  fi
  echo "bootstrap: installed $(.venv/bin/python -m pip list --format=freeze 2>/dev/null | wc -l) Python packages into .venv (details: $log)"
  echo "$digest" > "$stamp"
fi

# `make test` lints the Kubernetes manifests with checkov, which lives in a venv of its own
# (.venv/checkov): its pins (packaging<24, an older cyclonedx-python-lib) conflict with the
# project's, so it cannot sit in .venv. Pinned in deploy/kubernetes/checkov-requirements.txt.
if [ "${1:-}" = checkov ]; then
  pins=deploy/kubernetes/checkov-requirements.txt
  stamp=.venv/checkov/.machiba-installed
  digest=$(sha256sum "$pins" | cut -c1-64)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    mkdir -p var/log
    if ! { "$PYTHON" -m venv .venv/checkov \
      && .venv/checkov/bin/python -m pip install --no-deps -r "$pins"; } > var/log/checkov-install.log 2>&1; then
      tail -n 20 var/log/checkov-install.log >&2
      echo "bootstrap: installing checkov failed (see var/log/checkov-install.log)" >&2
      exit 1
    fi
    echo "bootstrap: installed checkov into .venv/checkov"
    echo "$digest" > "$stamp"
  fi
fi
