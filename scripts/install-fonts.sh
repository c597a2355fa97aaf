#!/bin/sh
# Install the Debian font packages the glyph domains of the embedded font demo are rendered
# from (`stylebridge data glyphs`, src/stylebridge/data/glyph_fonts.py). Pinned for Debian 12
# (bookworm); idempotent: packages already installed are left alone and nothing runs when all
# are present. Needs root (or sudo) and a reachable apt mirror. About 60 MB on disk. Then
# install-npm-fonts.sh adds blackletter fonts from npm (@fontsource; needs npm).
#
#   sh scripts/install-fonts.sh            # install what is missing
#   sh scripts/install-fonts.sh --check    # only report what is missing (exit 1 if any)
set -eu

PACKAGES="
    fonts-adf-accanthis
    fonts-adf-baskervald
    fonts-adf-berenis
    fonts-adf-gillius
    fonts-adf-irianis
    fonts-adf-libris
    fonts-adf-romande
    fonts-adf-switzera
    fonts-adf-tribun
    fonts-adf-universalis
    fonts-adf-verana
    fonts-aenigma
    fonts-amiga
    fonts-arkpandora
    fonts-atarismall
    fonts-b612
    fonts-blankenburg
    fonts-breip
    fonts-cabin
    fonts-cantarell
    fonts-cardo
    fonts-century-catalogue
    fonts-cherrybomb
    fonts-clear-sans
    fonts-comic-neue
    fonts-croscore
    fonts-crosextra-caladea
    fonts-crosextra-carlito
    fonts-dancingscript
    fonts-dejavu-core
    fonts-dejavu-extra
    fonts-dkg-handwriting
    fonts-dosis
    fonts-dotgothic16
    fonts-ebgaramond
    fonts-ecolier-court
    fonts-fantasma
    fonts-fanwood
    fonts-freefont-ttf
    fonts-gamaliel
    fonts-glasstty
    fonts-go
    fonts-gotico-antiqua
    fonts-goudybookletter
    fonts-havana
    fonts-inter
    fonts-isabella
    fonts-junction
    fonts-karla
    fonts-kaushanscript
    fonts-kristi
    fonts-lato
    fonts-leckerli-one
    fonts-liberation2
    fonts-lindenhill
    fonts-linuxlibertine
    fonts-lmodern
    fonts-lobster
    fonts-lobstertwo
    fonts-manrope
    fonts-national-park
    fonts-noto-mono
    fonts-oldstandard
    fonts-open-sans
    fonts-opendin
    fonts-oxygen
    fonts-paratype
    fonts-pc
    fonts-pc-extra
    fonts-play
    fonts-quattrocento
    fonts-quicksand
    fonts-rampart
    fonts-roboto-slab
    fonts-roboto-unhinted
    fonts-rufscript
    fonts-sil-andika
    fonts-sil-charis
    fonts-sil-gentiumplus
    fonts-sixtyfour
    fonts-sjfonts
    fonts-sora
    fonts-staypuft
    fonts-stix
    fonts-summersby
    fonts-texgyre
    fonts-tlwg-purisa-ttf
    fonts-train
    fonts-tuffy
    fonts-unifont
    fonts-urw-base35
    fonts-vollkorn
    fonts-yrsa-rasa
"

status=0
# shellcheck disable=SC2086
sh "$(dirname "$0")/apt-install.sh" install-fonts ${1:+"$1"} $PACKAGES || status=$?
# Blackletter fonts Debian does not package (npm @fontsource, pinned there).
sh "$(dirname "$0")/install-npm-fonts.sh" ${1:+"$1"} || status=$?
exit $status
