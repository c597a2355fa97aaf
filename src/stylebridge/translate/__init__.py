"""Translation between domains whose models derive from one base (zoo + translator)."""

from stylebridge.translate.translator import TranslationResult, Translator, default_content_layers
from stylebridge.translate.zoo import Zoo

__all__ = ["Zoo", "Translator", "TranslationResult", "default_content_layers"]
