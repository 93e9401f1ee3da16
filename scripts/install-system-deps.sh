#!/usr/bin/env bash
# Install the Debian/Ubuntu packages given as arguments, if any is missing.
#
#   scripts/install-system-deps.sh [--best-effort] PACKAGE...
#
# Runs `apt-get update` once and `apt-get install --no-install-recommends`
# only when something is missing, so a second run costs nothing. Services
# that packages such as nginx or apache2 would start on install are kept
# stopped (the tests start their own, on loopback, with their own config).
# With --best-effort a package that cannot be installed is reported and
# skipped (the tests that need it then fail or skip by themselves);
# without it, any failure is fatal.
set -euo pipefail

best_effort=0
if [[ "${1:-}" == "--best-effort" ]]; then
    best_effort=1
    shift
fi

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "[web2] system packages present: $*"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "[web2] not root and no sudo: cannot install ${missing[*]}" >&2
        exit $((best_effort ? 0 : 1))
    fi
fi

export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -q -y -o DPkg::Lock::Timeout=300)

# Keep services from starting during the install (a container has no init,
# and the tests run their own servers).
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

echo "[web2] installing system packages: ${missing[*]}"
"${apt[@]}" update
if ! "${apt[@]}" install --no-install-recommends "${missing[@]}"; then
    if [[ $best_effort -eq 0 ]]; then
        exit 1
    fi
    for pkg in "${missing[@]}"; do
        "${apt[@]}" install --no-install-recommends "$pkg" \
            || echo "[web2] WARNING: could not install $pkg" >&2
    done
fi
