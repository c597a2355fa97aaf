#!/bin/sh
# Install the Debian packages given after LABEL that are not installed yet (idempotent).
# Shared by install-fonts.sh and install-browser.sh. Needs root (or sudo) and an apt mirror.
#
#   sh scripts/apt-install.sh LABEL [--check] PACKAGE...
#   --check: only report what is missing (exit 1 if anything is)
set -eu
label=$1; shift
check=""
if [ "${1:-}" = "--check" ]; then check=1; shift; fi

missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "$label: all $# packages are installed"
    exit 0
fi
if [ -n "$check" ]; then
    echo "$label: missing:$missing"
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "$label: run as root (or install sudo)" >&2; exit 2; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "$label: installing$missing"
# Update the package lists only when an install fails for want of them.
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing || {
    $SUDO apt-get update
    # shellcheck disable=SC2086
    $SUDO apt-get install -y --no-install-recommends $missing
}
echo "$label: done"
