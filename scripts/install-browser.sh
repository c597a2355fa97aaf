#!/bin/sh
# Install the headless browser the web-app tests drive (tests/app): Debian's chromium and its
# chromedriver. Idempotent: nothing runs when both are present. Needs root (or sudo) and a
# reachable apt mirror. About 300 MB on disk.
#
#   sh scripts/install-browser.sh            # install what is missing
#   sh scripts/install-browser.sh --check    # only report (exit 1 if missing)
set -eu

PACKAGES="chromium chromium-driver"

# shellcheck disable=SC2086
exec sh "$(dirname "$0")/apt-install.sh" install-browser ${1:+"$1"} $PACKAGES
