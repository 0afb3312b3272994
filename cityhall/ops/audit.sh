#!/usr/bin/env bash
# `make audit`: known vulnerabilities in the locked dependency set (requirements.lock).
#
# Exit 0: audited, nothing known. Exit 1: a known vulnerability (pip-audit lists it). Exit 3:
# no vulnerability database could be reached (pypi.org's JSON API, then OSV), so nothing was
# audited; .ci/run reports that loudly instead of failing, because CI machines may only reach
# a package mirror. An advisory we accept is listed in AUDIT_IGNORE below with its reason.
set -uo pipefail
cd "$(dirname "$0")/../.."

# Accepted advisories: "--ignore-vuln ID" with a comment saying why. None so far.
AUDIT_IGNORE=()

packages=$(grep -cv '^#' requirements.lock)
for service in pypi osv; do
  out=$(.venv/bin/pip-audit --requirement requirements.lock --no-deps --disable-pip \
        --vulnerability-service "$service" --progress-spinner off "${AUDIT_IGNORE[@]}" 2>&1)
  status=$?
  unaudited=$(grep -c "could not be audited" <<<"$out")
  if grep -qE "ConnectionError|NameResolutionError|Max retries exceeded" <<<"$out" \
     || [ "$unaudited" -ge "$packages" ]; then
    echo "audit: the $service vulnerability service is not reachable from here"
    continue
  fi
  echo "$out"
  echo "audit: checked against $service"
  exit "$status"
done
echo "audit: NOT RUN - no vulnerability database reachable (pypi.org, api.osv.dev)" >&2
exit 3
