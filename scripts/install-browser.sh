#!/bin/sh
# Install the headless browser the web-app tests drive (tests/app): Debian's chromium and its
# chromedriver. Idempotent: nothing runs when both are present. Needs root (or sudo) and a
# reachable apt mirror. About 300 MB on disk.
#
#   sh scripts/install-browser.sh            # install what is missing
#   sh scripts/install-browser.sh --check    # only report (exit 1 if missing)
set -eu

PACKAGES="chromium chromium-driver"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ] && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "install-browser: chromium and chromedriver are installed"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "install-browser: missing:$missing"
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-browser: run as root (or install sudo)" >&2; exit 2; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing$missing"
# Update the package lists only when an install fails for want of them.
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing || {
    $SUDO apt-get update
    # shellcheck disable=SC2086
    $SUDO apt-get install -y --no-install-recommends $missing
}
echo "install-browser: done"
