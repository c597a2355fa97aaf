#!/bin/sh
# Install the blackletter fonts that Debian does not package, from pinned npm @fontsource
# packages (OFL): their latin regular/bold .woff files go to ~/.local/share/fonts/stylebridge-npm/,
# a folder `stylebridge data glyphs` searches. Idempotent; needs a reachable npm registry
# (and installs Debian's npm when it is missing). Called by install-fonts.sh; the list must match `npm=` in
# src/stylebridge/data/glyph_fonts.py (a test checks).
#
#   sh scripts/install-npm-fonts.sh            # install what is missing
#   sh scripts/install-npm-fonts.sh --check    # only report what is missing (exit 1 if any)
set -eu

PACKAGES="
    @fontsource/fruktur@5.3.0
    @fontsource/grenze-gotisch@5.3.0
    @fontsource/jacquard-12@5.3.0
    @fontsource/jacquard-24@5.3.0
    @fontsource/new-rocker@5.3.0
    @fontsource/pirata-one@5.3.0
    @fontsource/unifrakturcook@5.3.0
    @fontsource/unifrakturmaguntia@5.3.0
"
dest="${STYLEBRIDGE_NPM_FONTS:-$HOME/.local/share/fonts/stylebridge-npm}"

missing=""
for p in $PACKAGES; do
    name=${p#@fontsource/}; name=${name%@*}
    ls "$dest/$name"-latin-*-normal.woff >/dev/null 2>&1 || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-npm-fonts: all npm fonts are installed in $dest"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "install-npm-fonts: missing:$missing"
    exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
    sh "$(dirname "$0")/apt-install.sh" install-npm-fonts npm
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"
for p in $missing; do
    name=${p#@fontsource/}; name=${name%@*}
    (cd "$tmp" && npm pack --silent "$p" >/dev/null)
    tar -xzf "$tmp"/fontsource-"$name"-*.tgz -C "$tmp" --wildcards \
        "package/files/$name-latin-400-normal.woff" "package/files/$name-latin-700-normal.woff" 2>/dev/null || true
    found=$(ls "$tmp"/package/files/"$name"-latin-*-normal.woff 2>/dev/null || true)
    [ -n "$found" ] || { echo "install-npm-fonts: $p has no latin .woff files" >&2; exit 1; }
    mv "$tmp"/package/files/"$name"-latin-*-normal.woff "$dest"/
    rm -rf "$tmp"/package "$tmp"/*.tgz
    echo "install-npm-fonts: $p"
done
echo "install-npm-fonts: done ($dest)"
