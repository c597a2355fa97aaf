"""Pinned font lists of the glyph domains (used by glyphs.py).

Each domain lists file-name patterns (fnmatch, matched against the names of the font files
found under the font folders) of fonts that `scripts/install-fonts.sh` installs from Debian
12 packages (and, for blackletter, from pinned npm @fontsource packages), chosen by looking at
every candidate rendered at 32 px; fonts that lack any of
the 62 glyphs are skipped when rendering. The held-out fonts (about 20% of each domain,
whole families, and designs not cloned by a training font) are only for evaluation: the
classifier is validated on them and content accuracy / realism are measured on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainSpec:
    description: str
    packages: tuple[str, ...]    # Debian packages providing the fonts (see scripts/install-fonts.sh)
    fonts: tuple[str, ...]       # file-name patterns (fnmatch) of the domain's font files
    heldout: frozenset[str]      # file stems (patterns allowed) held out for evaluation
    exclude: tuple[str, ...] = ()  # file-name patterns dropped again (small caps, hairlines)
    npm: tuple[str, ...] = ()    # pinned npm @fontsource packages (their latin .woff files; see
                                 # scripts/install-npm-fonts.sh)


BASE = DomainSpec(
    description="ordinary text faces: serif, sans, slab and monospace, upright and italic",
    packages=(
        "fonts-liberation2", "fonts-urw-base35", "fonts-texgyre", "fonts-croscore", "fonts-crosextra-caladea",
        "fonts-crosextra-carlito", "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-open-sans", "fonts-lato",
        "fonts-roboto-unhinted", "fonts-roboto-slab", "fonts-sil-gentiumplus", "fonts-ebgaramond",
        "fonts-linuxlibertine", "fonts-freefont-ttf", "fonts-cantarell", "fonts-cabin", "fonts-go",
        "fonts-oldstandard", "fonts-vollkorn", "fonts-sil-charis", "fonts-sil-andika", "fonts-lmodern",
        "fonts-goudybookletter", "fonts-oxygen", "fonts-quicksand", "fonts-dosis", "fonts-tuffy",
        "fonts-arkpandora", "fonts-adf-accanthis", "fonts-adf-baskervald", "fonts-adf-berenis",
        "fonts-adf-gillius", "fonts-adf-irianis", "fonts-adf-libris", "fonts-adf-romande", "fonts-adf-switzera",
        "fonts-adf-tribun", "fonts-adf-universalis", "fonts-adf-verana", "fonts-cardo", "fonts-fanwood",
        "fonts-quattrocento", "fonts-lindenhill", "fonts-karla", "fonts-junction", "fonts-clear-sans",
        "fonts-b612", "fonts-paratype", "fonts-stix", "fonts-century-catalogue", "fonts-yrsa-rasa",
        "fonts-inter", "fonts-noto-mono", "fonts-manrope", "fonts-sora", "fonts-play", "fonts-opendin",
    ),
    fonts=(
        "Liberation*.ttf", "Nimbus*.otf", "C059-*.otf", "P052-*.otf", "URWBookman-*.otf", "URWGothic-*.otf",
        "texgyre[abchpst]*-*.otf", "Arimo-*.ttf", "Tinos-*.ttf", "Cousine-*.ttf", "Caladea-*.ttf",
        "Carlito-*.ttf", "DejaVuSans*.ttf", "DejaVuSerif*.ttf", "OpenSans-*.ttf", "Lato-*.ttf",
        "Roboto-*.ttf", "RobotoCondensed-*.ttf", "RobotoSlab-*.otf", "Gentium*Plus-*.ttf", "EBGaramond*.otf",
        "LinLibertine_R*.otf", "LinBiolinum_R*.otf", "Free*.ttf", "Cantarell-*.otf", "Cabin-*.otf",
        "Go-*.ttf", "OldStandard-*.ttf", "Vollkorn-*.ttf", "CharisSIL-*.ttf", "Andika-*.ttf",
        "lmroman1[027]-*.otf", "lmsans1[027]-*.otf", "lmmono10-*.otf", "GoudyBookletter1911.otf",
        "Oxygen*.ttf", "Quicksand-*.ttf", "Dosis-*.otf", "Tuffy*.ttf", "Tymes*.ttf", "Aerial*.ttf",
        "Veranda*.ttf", "AccanthisADFStd-*.otf", "BaskervaldADFStd*.otf", "BerenisADFPro-*.otf",
        "GilliusADF-*.otf", "IrianisADFStd-*.otf", "LibrisADFStd-*.otf", "RomandeADFStd-*.otf",
        "SwitzeraADF-*.otf", "TribunADFStd-*.otf", "UniversalisADFStd-*.otf", "Verana*.otf", "Cardo*.ttf",
        "Fanwood*.otf", "Quattrocento-Regular.otf", "LindenHill*.otf", "Karla-*.otf", "Junction.otf",
        "ClearSans-*.ttf", "B612*.otf", "PT[CFMNSZ]5*F.ttf", "PT[CFMNSZ]7*F.ttf", "STIX-*.otf",
        "Century-Catalogue.ttf", "Yrsa-*.ttf", "Rasa-*.ttf", "Inter-*.otf", "Noto*Mono-*.ttf",
        "Manrope-*.ttf", "Sora-*.otf", "Play-*.ttf", "OSP-DIN.ttf",
    ),
    heldout=frozenset({
        "Lato-*", "Vollkorn-*", "Cabin-*", "Gentium*Plus-*", "Cantarell-*", "Go-*", "OldStandard-*",
        "Yrsa-*", "Quicksand-*", "GoudyBookletter1911", "Fanwood*", "LindenHill*", "ClearSans-*",
        "Manrope-*", "LibrisADFStd-*", "RobotoSlab-*",
    }),
    exclude=("*Smallcaps*", "*Hairline*", "*Thin*", "*ExtraLight*"),
)

SCRIPT = DomainSpec(
    description="script, calligraphic and handwritten faces",
    packages=(
        "fonts-dancingscript", "fonts-kaushanscript", "fonts-kristi", "fonts-lobstertwo", "fonts-lobster",
        "fonts-comic-neue", "fonts-sjfonts", "fonts-dkg-handwriting", "fonts-breip", "fonts-rufscript",
        "fonts-ecolier-court", "fonts-leckerli-one", "fonts-havana", "fonts-isabella", "fonts-tlwg-purisa-ttf",
        "fonts-summersby", "fonts-staypuft", "fonts-fantasma", "fonts-cherrybomb", "fonts-urw-base35",
        "fonts-texgyre", "fonts-adf-romande", "fonts-aenigma",
    ),
    fonts=(
        "DancingScript-*.otf", "KaushanScript-Regular.otf", "Kristi.ttf", "LobsterTwo-*.otf", "lobster.otf",
        "ComicNeue-*.otf", "Delphine.ttf", "SteveHand.ttf", "dkg*.ttf", "Breip.ttf", "breipfont.ttf",
        "Rufscript010.ttf", "LeckerliOne-Regular.ttf", "Havana-Regular.otf",
        "Isabella.ttf", "Purisa*.ttf", "summersby.ttf", "StayPuft.ttf", "Fantasma-Bold.otf",
        "CherryBomb-Regular.otf", "Z003-MediumItalic.otf", "texgyrechorus-mediumitalic.otf",
        "RomandeADFScriptStd-Italic.otf", "aescrawl.ttf", "madscrwl.ttf", "jmacscrl.ttf",
    ),
    heldout=frozenset({"DancingScript-*", "Purisa*", "Havana-Regular", "SteveHand", "Z003-MediumItalic"}),
)

PIXEL = DomainSpec(
    description="pixel faces from PC ROMs, home computers and terminals",
    packages=("fonts-pc", "fonts-pc-extra", "fonts-sixtyfour", "fonts-amiga", "fonts-unifont",
              "fonts-glasstty", "fonts-atarismall", "fonts-dotgothic16", "fonts-aenigma"),
    fonts=(
        "Px_*.ttf", "C-64-Regular.ttf", "Amiga-Regular.ttf", "unifont.otf", "Glass_TTY_VT220.ttf",
        "AtariSmall.ttf", "DotGothic16-Regular.ttf", "8bitlim.ttf", "8bitlimr.ttf", "pixlkrud.ttf",
        "zeldadxt.ttf",
    ),
    heldout=frozenset({"Px_Verite_*", "Px_TandyNew_*", "Px_IBM_PS2thin*", "Px_ATI_*", "C-64-Regular",
                       "DotGothic16-Regular"}),
)

OUTLINE = DomainSpec(
    description="outlined (hollow) display faces",
    packages=("fonts-national-park", "fonts-rampart", "fonts-train", "fonts-aenigma"),
    fonts=(
        "NationalPark-Outline.otf", "RampartOne-Regular.ttf", "TrainOne-Regular.ttf", "8bitlimo.ttf",
        "8blimro.ttf", "Unxgalo.ttf", "Unxgalwo.ttf", "amalgamo.ttf", "ataxiao.ttf", "b2sqol1.ttf",
        "b2sqol2.ttf", "compc1o.ttf", "compc2o.ttf", "compc3o.ttf", "crkdwno1.ttf",
        "crkdwno2.ttf", "gaposiso.ttf", "hbevel.ttf", "interso.ttf", "lucid2o.ttf",
        "lucido.ttf", "neuralol.ttf", "obloquyo.ttf", "quantfh.ttf", "quantrh.ttf", "queasyol.ttf",
        "rotundo.ttf", "spaciouo.ttf", "tsextolo.ttf", "handmedo.ttf",
    ),
    heldout=frozenset({"TrainOne-Regular", "Unxgal*", "lucid*", "rotundo", "b2sqol*", "handmedo"}),
)

BLACKLETTER = DomainSpec(
    description="blackletter (textura, fraktur, rotunda, gotico-antiqua): few free fonts, a few-shot domain",
    packages=("fonts-blankenburg", "fonts-gamaliel", "fonts-gotico-antiqua"),
    fonts=("Blankenburg_UNZ1A.ttf", "Gamaliel.ttf", "Hamlet-Tertia18.otf", "Jessen-*.otf",
           "Zainer-GoticoAntiqua96G.otf", "fruktur-latin-400-normal.woff", "grenze-gotisch-latin-*-normal.woff",
           "jacquard-12-latin-400-normal.woff", "jacquard-24-latin-400-normal.woff",
           "new-rocker-latin-400-normal.woff", "pirata-one-latin-400-normal.woff",
           "unifrakturcook-latin-700-normal.woff", "unifrakturmaguntia-latin-400-normal.woff"),
    heldout=frozenset({"Gamaliel", "pirata-one-*", "unifrakturcook-*"}),
    npm=("@fontsource/fruktur@5.3.0", "@fontsource/grenze-gotisch@5.3.0", "@fontsource/jacquard-12@5.3.0",
         "@fontsource/jacquard-24@5.3.0", "@fontsource/new-rocker@5.3.0", "@fontsource/pirata-one@5.3.0",
         "@fontsource/unifrakturcook@5.3.0", "@fontsource/unifrakturmaguntia@5.3.0"),
)

DOMAINS: dict[str, DomainSpec] = {
    "base": BASE,
    "script": SCRIPT,
    "pixel": PIXEL,
    "outline": OUTLINE,
    "blackletter": BLACKLETTER,
}
