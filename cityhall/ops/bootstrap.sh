#!/usr/bin/env bash
# Installs what Machiba needs and is missing: Debian packages, a .venv, the Python packages.
# A second run finds everything in place and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3 redis-server
  gdal-bin libgdal32 libgeos-c1v5 libproj25 binutils
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-ipaexfont
  chromium poppler-utils gettext wrk
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
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
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
  echo "bootstrap: installing Python packages"
  .venv/bin/python -m pip install -q --upgrade "pip>=24"
  # requirements.lock (`make lock`) pins every package: a fresh machine gets the audited set.
  .venv/bin/python -m pip install -q "${lock[@]}" -e '.[dev]'
  echo "$digest" > "$stamp"
fi
