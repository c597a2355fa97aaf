"""Inversion: SeFa factorization and the batched projector (methods sefa, w, wplus).

    from stylebridge.invert import invert
    res = invert(G, images, method="wplus", steps=300)   # images [N, C, H, W] in [-1, 1]
    res.ws        # [N, num_ws, w_dim]; feed to any generator derived from G
"""

from stylebridge.invert.api import InversionResult, invert, invert_folder, render_saved
from stylebridge.invert.projector import ProjectorConfig
from stylebridge.invert.sefa import Basis, factorize, load_basis, save_basis

__all__ = ["InversionResult", "invert", "invert_folder", "render_saved", "ProjectorConfig", "Basis", "factorize",
           "load_basis", "save_basis"]
