"""Translation between domains whose models derive from one base (zoo + translator).

    from stylebridge.translate import Translator, Zoo
    res = Translator(Zoo.from_dir("zoo/")).translate(images, to="all")

The names below load on first use (PEP 562), so that `stylebridge.translate.options` (the
choices the command line shows in --help) does not import torch.
"""

from __future__ import annotations

from stylebridge.utils.lazy import lazy_attributes

_HOME = {"Translator": "translator", "TranslationResult": "translator", "default_content_layers": "translator",
         "Zoo": "zoo"}

__all__ = list(_HOME)

__getattr__ = lazy_attributes(__name__, _HOME)
