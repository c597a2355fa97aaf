"""Feed-forward inversion: an e4e-style encoder into W+ for one base generator.

The names below load on first use (PEP 562), so that `stylebridge.encoder.options` (the
defaults the command line shows in --help) does not import torch.
"""

from __future__ import annotations

from stylebridge.utils.lazy import lazy_attributes

_HOME = {"Encoder": "network", "EncoderConfig": "network", "base_hash": "network", "check_base": "network",
         "load_encoder": "network", "save_encoder": "network", "EncoderTrainOptions": "options",
         "train_encoder": "train"}

__all__ = list(_HOME)

__getattr__ = lazy_attributes(__name__, _HOME)
