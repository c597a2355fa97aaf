"""Inversion: SeFa factorization and the batched projector (methods sefa, w, wplus).

    from stylebridge.invert import invert
    res = invert(G, images, method="wplus", steps=300)   # images [N, C, H, W] in [-1, 1]
    res.ws        # [N, num_ws, w_dim]; feed to any generator derived from G

The names below load on first use (PEP 562), so that `stylebridge.invert.options` (the
choices the command line shows in --help) does not import torch.
"""

from __future__ import annotations

from stylebridge.utils.lazy import lazy_attributes

_HOME = {"InversionResult": "api", "invert": "api", "invert_folder": "api", "render_saved": "api",
         "ProjectorConfig": "projector", "Basis": "sefa", "factorize": "sefa", "load_basis": "sefa",
         "save_basis": "sefa"}

__all__ = list(_HOME)

__getattr__ = lazy_attributes(__name__, _HOME)
