"""Model transformation: fine-tuning (frozen mapping, FreezeD, ADA / DiffAugment),
training from scratch, exact resume, multi-process training, and layer swap.

    from stylebridge.train import TrainOptions, finetune, train, swap_layers
    finetune(TrainOptions(base="ffhq.pkl", data="anime/", outdir="runs/anime", iters=12000))
    G_ts = swap_layers(G_s, G_t, resolution=16)
"""

from __future__ import annotations

from pathlib import Path

from stylebridge.train.options import TrainOptions
from stylebridge.utils.lazy import lazy_attributes

# Layer swap loads on first use (PEP 562): the command line's --help imports no torch.
__getattr__ = lazy_attributes(__name__, {"ls_to_resolution": "swap", "swap_checkpoints": "swap",
                                         "swap_layers": "swap", "with_strength": "swap"})


def finetune(options: TrainOptions) -> Path:
    """Fine-tune `options.base` on `options.data`; returns the last snapshot's path.
    The mapping network is frozen unless `options.freeze_mapping` is False."""
    from stylebridge.train.loop import run

    return run(options)


def train(options: TrainOptions) -> Path:
    """Train the architecture `options.config` from random initialisation."""
    from stylebridge.train.loop import run

    return run(options)


def finetune_options(**kwargs) -> TrainOptions:
    """TrainOptions with fine-tuning defaults (frozen mapping)."""
    kwargs.setdefault("freeze_mapping", True)
    return TrainOptions(**kwargs)


__all__ = ["TrainOptions", "finetune", "train", "finetune_options", "swap_layers", "swap_checkpoints",
           "ls_to_resolution"]
