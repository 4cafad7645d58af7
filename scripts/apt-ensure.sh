#!/usr/bin/env bash
# Install Debian packages, but only those not installed yet.
# Usage: scripts/apt-ensure.sh PKG...
# Fast when everything is present (dpkg checks only, no apt-get update).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 PKG..." >&2
    exit 2
fi

missing=()
for pkg in "$@"; do
    # dpkg -s also succeeds for removed packages whose config files remain:
    # require the status to be "install ok installed".
    if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
        continue
    fi
    missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "==> system packages present: $*"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
else
    SUDO=(sudo)
fi

apt_opts=(-q -o DPkg::Lock::Timeout=300)

echo "==> missing system packages: ${missing[*]}"
echo "==> apt-get update (may take a while)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update </dev/null >/dev/null
echo "==> apt-get install ${missing[*]} (may take several minutes)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null
echo "==> system packages installed: ${missing[*]}"
