"""Translation (Eq. 4 and Eq. 10 of the paper): invert with the source model, generate with
the target models.

* plain: I_t = G_t(Inv(I_s, G_s)), the full inverted code in every layer;
* multi-modal: content code w_c (inverted) in the first k style inputs, appearance code
  w_a = mapping(z) truncated toward the TARGET's mean w in the rest, one z per seed;
* reference-guided: w_a = Inv(reference, G_t). Codes from an inversion are already in W
  and are never sent through the mapping network again;
* multi-domain: each input is inverted once, then rendered by every target;
* style strength (beyond the paper): each target drawn with its synthesis weights at a
  multiple of their step from the base's (`Zoo.model`; default: the zoo's record, else 1).

If the inversion optimised per-image noise maps, they are part of the code and are used
by every target too (so G_s -> G_s reproduces the reconstruction exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from stylebridge.errors import StylebridgeError
from stylebridge.invert.api import InversionResult, invert, render
from stylebridge.invert.options import DEFAULT_METHOD, DEFAULT_PERCEPTUAL, ENCODER_METHOD
from stylebridge.networks.stylegan2 import Generator
from stylebridge.train.strength import check_strength
from stylebridge.translate.options import APPEARANCE_CHOICES, APPEARANCES, AUTO_APPEARANCE, DEFAULT_TRUNCATION
from stylebridge.translate.zoo import Zoo


def default_content_layers(G: Generator) -> int:
    """Content code in every style input except the last block's (its two convolutions and
    its toRGB): the paper puts w_c in "most generator layers" and w_a in "the last few"."""
    return G.num_ws - 3 if G.num_ws > 3 else 1


@dataclass
class TranslationResult:
    source: str
    inputs: torch.Tensor                          # [N, C, H, W] in [-1, 1] (model resolution)
    inversion: InversionResult                    # ws [N, num_ws, w_dim], reconstruction, noise
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)   # target -> [N, K, C, H, W]
    labels: dict[str, list[str]] = field(default_factory=dict)       # target -> K column names
    content_layers: int = 0
    strengths: dict[str, float] = field(default_factory=dict)        # target -> style strength drawn


def appearance_codes(G: Generator, seeds: Sequence[int], truncation_psi: float) -> torch.Tensor:
    """w_a = mapping(z) for z = RandomState(seed).randn(1, z_dim), truncated toward G's mean w."""
    device = G.mapping.w_avg.device
    z = torch.cat([torch.from_numpy(np.random.RandomState(s).randn(1, G.z_dim)) for s in seeds]).to(device)
    with torch.no_grad():
        return G.mapping(z.float(), None, truncation_psi=truncation_psi).cpu()


def with_mean_appearance(G: Generator, ws: torch.Tensor, k: int) -> torch.Tensor:
    """Codes ws [N, num_ws, w_dim] with G's mean w in every style input from k on: appearance
    'mean' (equal to `mix` with `appearance_codes(G, seeds, 0.0)`)."""
    out = ws.clone()
    out[:, k:] = G.mapping.w_avg.detach().to(out.device, out.dtype)
    return out


def mix(content: torch.Tensor, appearance: torch.Tensor, k: int) -> torch.Tensor:
    """content [num_ws, w_dim] in the first k inputs, appearance [M, num_ws, w_dim] elsewhere."""
    out = appearance.clone()
    out[:, :k] = content[:k]
    return out


class Translator:
    """`Translator(zoo).translate(images, to="all", modes=3)`; the CLI and the app use it."""

    def __init__(self, zoo: Zoo, method: str | None = None, perceptual: str = DEFAULT_PERCEPTUAL,
                 batch_size: int = 8, **invert_options):
        """`method`: the inversion (invert/options.py METHODS); None = the zoo's default
        (`Zoo.default_method`: its encoder where it lists one, else W+)."""
        self.zoo = zoo
        self.method = method or zoo.default_method()
        self.perceptual, self.batch_size = perceptual, batch_size
        self.invert_options = invert_options

    def inversion_for(self, model: str) -> tuple[str, dict]:
        """(method, invert() options) for images of `model`. Method 'encoder' uses the zoo's
        encoder, which belongs to the base, its codes refined by the zoo's recorded steps unless
        steps are given (`Zoo.default_encoder_steps`): other models (reference images of a
        target, a source other than the base) are inverted with the default method instead."""
        method, options = self.method, dict(self.invert_options)
        if method == ENCODER_METHOD:
            if model == self.zoo.base:
                options["encoder"] = self.zoo.encoder()
                if options.get("steps") is None:  # the zoo's recorded refinement of its codes
                    options["steps"] = self.zoo.default_encoder_steps()
            else:
                method = DEFAULT_METHOD
                options.pop("feedback", None)
                if not options.get("steps"):  # the encoder's 0 refinement steps: the default's own
                    options.pop("steps", None)
        return method, options

    def appearance_for(self, source: str, appearance: str | None = None) -> str:
        """The plain column's appearance (translate/options.py) for images of `source`: as given,
        or for None / 'auto' the zoo's default for the inversion those images get."""
        if appearance is None or appearance == AUTO_APPEARANCE:
            return self.zoo.default_appearance(self.inversion_for(source)[0])
        if appearance not in APPEARANCES:
            raise StylebridgeError(f"appearance must be one of {', '.join(APPEARANCE_CHOICES)}, "
                                   f"got {str(appearance)[:40]!r}")
        return appearance

    def strengths_for(self, targets: Sequence[str], strength: float | dict[str, float] | None = None
                      ) -> dict[str, float]:
        """Each target's style strength: `strength` for all of them (a number), for those it
        names (a dict; the others and None: the zoo's record, `Zoo.default_strength`). A dict
        naming a model that is not a target is refused (a typo would silently do nothing)."""
        if isinstance(strength, dict):
            stray = [n for n in strength if n not in targets]
            if stray:
                raise StylebridgeError(f"style strength given for {', '.join(stray)}, not among the targets "
                                       f"({', '.join(targets)})")
            return {t: check_strength(strength[t]) if t in strength else self.zoo.default_strength(t)
                    for t in targets}
        return {t: self.zoo.default_strength(t) if strength is None else check_strength(strength) for t in targets}

    def invert(self, model: str, images: torch.Tensor, callback=None) -> InversionResult:
        """Invert images of `model` (see `inversion_for` for method 'encoder')."""
        G = self.zoo[model]
        self._check_images(G, images)
        method, options = self.inversion_for(model)
        return invert(G, images, method, D=self.zoo.discriminator(model), perceptual=self.perceptual,
                      batch_size=self.batch_size, callback=callback, **options)

    @staticmethod
    def _check_images(G: Generator, images: torch.Tensor) -> None:
        want = (G.img_channels, G.img_resolution, G.img_resolution)
        if images.ndim != 4 or tuple(images.shape[1:]) != want:
            raise StylebridgeError(f"images have shape {tuple(images.shape)}; this model takes [N, {want[0]}, "
                                   f"{want[1]}, {want[2]}] (load them with stylebridge.data.images.load_image)")

    def translate(
        self,
        images: torch.Tensor,                          # [N, C, H, W] in [-1, 1]
        to: str | Sequence[str] = "all",               # target names, 'a,b' or 'all' (all but the source)
        source: str | None = None,                     # source model (default: the zoo's base)
        modes: int = 0,                                # multi-modal variants per input and target
        seed: int = 0,                                 # first appearance seed (seeds seed..seed+modes-1)
        content_layers: int | None = None,             # k; default: all but the last block's inputs
        truncation_psi: float = DEFAULT_TRUNCATION,    # of the appearance codes, toward the target's mean w
        reference: torch.Tensor | None = None,         # [R, C, H, W] reference images of the target domain
        inversion: InversionResult | None = None,      # reuse a finished inversion of `images`
        callback=None,
        appearance: str | None = None,                 # plain column: 'input', 'mean' or None = 'auto'
                                                       # (translate/options.py, `appearance_for`)
        strength: float | dict[str, float] | None = None,  # style strength (`strengths_for`): every
                                                       # target's, some targets' by name, or None:
                                                       # each target's zoo record (else 1)
    ) -> TranslationResult:
        source = source or self.zoo.base
        targets = self.zoo.resolve(to, exclude=source)  # 'all': every model but the source
        for t in targets:
            self.zoo.check_pair(source, t)
        Gs = self.zoo[source]
        self._check_images(Gs, images)
        if modes < 0:
            raise StylebridgeError(f"modes must be >= 0, got {modes}")
        k = default_content_layers(Gs) if content_layers is None else content_layers
        if not 1 <= k <= Gs.num_ws:
            raise StylebridgeError(f"content layers must be between 1 and {Gs.num_ws} for this model, got {k}")
        if not 0.0 <= truncation_psi <= 1.0:
            raise StylebridgeError(f"truncation must be between 0 and 1, got {truncation_psi}")
        appearance = self.appearance_for(source, appearance)
        strengths = self.strengths_for(targets, strength)
        if inversion is None:
            inversion = self.invert(source, images, callback)
        result = TranslationResult(source, images, inversion, content_layers=k, strengths=strengths)
        seeds = list(range(seed, seed + modes))
        for t in targets:
            Gt = self.zoo.model(t, strengths[t])
            ws = with_mean_appearance(Gt, inversion.ws, k) if appearance == "mean" else inversion.ws
            columns, labels = [render(Gt, ws, inversion.noise)], ["translation"]
            if modes:
                wa = appearance_codes(Gt, seeds, truncation_psi)
                columns += [self._render_mixed(Gt, inversion, wa, k, i) for i in range(modes)]
                labels += [f"seed {s}" for s in seeds]
            if reference is not None:
                self._check_images(Gt, reference)
                ref_ws = self.invert(t, reference).ws  # already in W: used as is, never re-mapped
                # (inverted with the target as trained: the reference is of its domain)
                columns += [self._render_mixed(Gt, inversion, ref_ws, k, i) for i in range(ref_ws.shape[0])]
                labels += [f"reference {i}" for i in range(ref_ws.shape[0])]
            result.outputs[t] = torch.stack(columns, dim=1)
            result.labels[t] = labels
        return result

    @staticmethod
    def _render_mixed(Gt: Generator, inversion: InversionResult, wa: torch.Tensor, k: int, i: int) -> torch.Tensor:
        """Column i: every input's content code with appearance code wa[i]."""
        n = inversion.ws.shape[0]
        ws = torch.stack([mix(inversion.ws[j], wa[i:i + 1], k)[0] for j in range(n)])
        return render(Gt, ws, inversion.noise)
