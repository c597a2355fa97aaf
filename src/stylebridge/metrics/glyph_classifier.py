"""A small CNN that tells which of the 62 characters A-Z a-z 0-9 a 32 px glyph shows.

It measures content preservation of glyph translations (the share of outputs still read as
the input's character) and gives a feature space for a glyph FID (`features`). Trained on
real glyphs of every domain's training fonts (stylebridge.data.glyphs), validated on the
held-out fonts; the shipped weights (glyph_classifier.safetensors, fp16) sit beside this file
with their config and accuracy record (glyph_classifier.json).

Input: images in the generators' range [-1, 1] (ink +1 on -1), float [N, C, H, W]; uint8
images (ink 255) are converted; RGB is averaged to grey; other sizes are resampled to 32.

Content accuracy merges the characters that no classifier can tell apart from a single
glyph in some fonts (`MERGE_GROUPS`, chosen from the confusions on held-out real glyphs):
a prediction counts when it falls in the label's group.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stylebridge.errors import CheckpointError, StylebridgeError
from stylebridge.utils.config import ConfigData
from stylebridge.utils.io import atomic_path, atomic_write_text

CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
SHIPPED = Path(__file__).with_name("glyph_classifier.safetensors")

# Characters that share a shape in common fonts: 'o'/'O'/'0' and 'l'/'I'/'1' are the same
# stroke in many faces (on held-out real glyphs these two groups make most of the errors);
# 'c'/'C' etc. differ only in size, which the baseline-anchored framing keeps (real glyphs are
# rarely confused) but a generator may not keep exactly.
MERGE_GROUPS: tuple[str, ...] = ("cC", "oO0", "sS", "vV", "wW", "xX", "zZ", "lI1")


def merge_map(groups: tuple[str, ...] = MERGE_GROUPS) -> np.ndarray:
    """int64 [62]: each label -> the smallest label of its group, groups joined transitively
    (a label in no group maps to itself)."""
    m = np.arange(len(CHARS), dtype=np.int64)
    changed = True
    while changed:  # union of overlapping groups
        changed = False
        for g in groups:
            idx = [CHARS.index(c) for c in g]
            low = m[idx].min()
            for i in idx:
                root = m[i]
                if root != low:
                    m[m == root] = low
                    changed = True
    return m


def case_map() -> np.ndarray:
    """int64 [62]: MERGE_GROUPS plus every letter with its other case (case-insensitive)."""
    return merge_map(MERGE_GROUPS + tuple(c + c.lower() for c in CHARS if c.isupper()))


@dataclass
class GlyphClassifierConfig(ConfigData):
    img_resolution: int = 32        # input size (square)
    channels: tuple[int, ...] = (16, 32, 64)  # conv widths of the three 2x-downsampling stages
    feature_dim: int = 128          # penultimate layer: the space of the glyph FID
    num_classes: int = 62           # A-Z a-z 0-9
    dropout: float = 0.3            # before the last layer, training only

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)
        if self.img_resolution % (2 ** len(self.channels)) != 0:
            raise CheckpointError(f"img_resolution {self.img_resolution} must divide by {2 ** len(self.channels)}")


class GlyphClassifier(nn.Module):
    def __init__(self, config: GlyphClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or GlyphClassifierConfig()
        layers: list[nn.Module] = []
        cin = 1
        for cout in c.channels:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                       nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            cin = cout
        self.conv = nn.Sequential(*layers)
        side = c.img_resolution // 2 ** len(c.channels)
        self.fc = nn.Linear(cin * side * side, c.feature_dim)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.feature_dim, c.num_classes)

    def prepare(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Any glyph batch -> float [N, 1, R, R] in [-1, 1] on this module's device."""
        x = torch.as_tensor(images)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise StylebridgeError(f"glyph images must be [N, C, H, W], got shape {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            x = x.float() / 127.5 - 1.0
        x = x.float().to(self.head.weight.device)
        if x.shape[1] in (3, 4):
            x = x[:, :3].mean(dim=1, keepdim=True)
        elif x.shape[1] != 1:
            raise StylebridgeError(f"glyph images need 1 or 3 channels, got {x.shape[1]}")
        r = self.config.img_resolution
        if x.shape[-2:] != (r, r):
            x = F.interpolate(x, size=(r, r), mode="area" if x.shape[-1] > r else "bilinear", align_corners=None)
        return x

    def features(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = self.prepare(images)
        assert x.shape[1:] == (1, self.config.img_resolution, self.config.img_resolution)
        return F.relu(self.fc(self.conv(x).flatten(1)))

    def forward(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        return self.head(self.drop(self.features(images)))

    @torch.no_grad()
    def predict(self, images: torch.Tensor | np.ndarray, batch: int = 1024) -> np.ndarray:
        was = self.training
        self.eval()
        out = [self(images[i:i + batch]).argmax(1).cpu() for i in range(0, len(images), batch)]
        self.train(was)
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------------------
# Metrics


def accuracies(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """exact, merged (MERGE_GROUPS) and case-insensitive accuracy of predicted labels."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if len(labels) == 0:
        return {"exact": math.nan, "merged": math.nan, "case_insensitive": math.nan}
    mm, cm = merge_map(), case_map()
    return {
        "exact": float((pred == labels).mean()),
        "merged": float((mm[pred] == mm[labels]).mean()),
        "case_insensitive": float((cm[pred] == cm[labels]).mean()),
    }


def content_accuracy(classifier: GlyphClassifier, images, labels) -> float:
    """Share of `images` the classifier reads as their label's character, with the merge
    table MERGE_GROUPS (the content-accuracy metric of the font demo)."""
    labels = np.asarray(torch.as_tensor(labels).cpu())
    if len(labels) != len(images):
        raise StylebridgeError(f"{len(images)} images but {len(labels)} labels")
    return accuracies(classifier.predict(images), labels)["merged"]


@torch.no_grad()
def features(images, classifier: GlyphClassifier | None = None, batch: int = 1024) -> np.ndarray:
    """float64 [N, feature_dim] penultimate activations, for a classifier-space FID."""
    classifier = classifier or load_glyph_classifier()
    was = classifier.training
    classifier.eval()
    out = [classifier.features(images[i:i + batch]).double().cpu() for i in range(0, len(images), batch)]
    classifier.train(was)
    return torch.cat(out).numpy()


# ----------------------------------------------------------------------------------------
# Saving and loading


def save_glyph_classifier(model: GlyphClassifier, path: str | Path, record: dict | None = None) -> None:
    """Weights as fp16 safetensors at `path`, config (and training record) as JSON beside it."""
    from safetensors.torch import save_file

    path = Path(path)
    sd = {k: (v.half() if v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp), metadata={"format": "stylebridge-glyph-classifier"})
    meta = {"config": model.config.to_dict(), "chars": CHARS, "merge_groups": list(MERGE_GROUPS)}
    meta.update(record or {})
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1) + "\n")


def load_glyph_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> GlyphClassifier:
    """Load a saved classifier (default: the shipped one) in eval mode, fp32."""
    from safetensors.torch import load_file

    path = Path(path) if path is not None else SHIPPED
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise CheckpointError(f"glyph classifier {path} (with {meta_path.name} beside it) not found")
    try:
        meta = json.loads(meta_path.read_text())
        model = GlyphClassifier(GlyphClassifierConfig.from_dict(meta["config"]))
        sd = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
        model.load_state_dict(sd)
    except CheckpointError:
        raise
    except Exception as e:  # corrupt JSON, truncated safetensors, wrong tensor shapes
        raise CheckpointError(f"glyph classifier {path} cannot be read: {e}") from e
    return model.eval().to(device)


# ----------------------------------------------------------------------------------------
# Training


def augment(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Random whole-pixel shifts (up to `shift`) and ink-intensity scaling of [-1, 1] glyphs:
    generated glyphs are a little off-centre and less crisp than rendered ones."""
    n, _, h, w = x.shape
    pad = F.pad(x[:, 0], (shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
    rows = dy[:, None] + torch.arange(h)[None]
    cols = dx[:, None] + torch.arange(w)[None]
    out = pad[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    gain = 0.6 + 0.4 * torch.rand(n, 1, 1, generator=gen)
    return ((out + 1.0) * gain - 1.0)[:, None]


def train_glyph_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    val_images: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    *,
    weights: np.ndarray | None = None,
    config: GlyphClassifierConfig | None = None,
    epochs: int = 12,
    batch: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
) -> tuple[GlyphClassifier, dict]:
    """Train on uint8 glyphs [N, 1, R, R] with labels [N]; `weights` [N] sets how often each
    sample is drawn (e.g. to balance domains). Returns the model (eval mode) and a record of
    the run (options, time, validation accuracies per epoch)."""
    if len(images) != len(labels) or len(images) == 0:
        raise StylebridgeError(f"need as many labels as images, got {len(images)} and {len(labels)}")
    with torch.random.fork_rng(devices=[]):  # seeded by `seed` alone; the caller's global state is restored
        torch.manual_seed(seed)  # initialisation draws from torch's global stream
        gen = torch.Generator().manual_seed(seed)
        model = GlyphClassifier(config)
        x_all = torch.as_tensor(images)
        y_all = torch.as_tensor(labels, dtype=torch.int64)
        p = torch.as_tensor(weights if weights is not None else np.ones(len(labels)), dtype=torch.float64)
        steps_per_epoch = max(1, len(labels) // batch)
        total = epochs * steps_per_epoch
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.15)
        history = []
        t0 = time.perf_counter()
        for ep in range(epochs):
            model.train()
            idx = torch.multinomial(p, steps_per_epoch * batch, replacement=True, generator=gen)
            loss_sum = 0.0
            for s in range(steps_per_epoch):
                b = idx[s * batch:(s + 1) * batch]
                x = augment(model.prepare(x_all[b]), gen)
                loss = F.cross_entropy(model(x), y_all[b], label_smoothing=0.05)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item()
            entry = {"epoch": ep + 1, "loss": loss_sum / steps_per_epoch, "seconds": time.perf_counter() - t0}
            if val_images is not None and val_labels is not None:
                entry["val"] = accuracies(model.predict(val_images), np.asarray(val_labels))
            history.append(entry)
            if log:
                log(json.dumps(entry))
        model.eval()
        record = {"train": {"samples": int(len(labels)), "epochs": epochs, "batch": batch, "lr": lr, "seed": seed,
                            "seconds": round(time.perf_counter() - t0, 1), "threads": torch.get_num_threads()},
                  "history": history}
        return model, record


def train_shipped(out: str | Path = SHIPPED, epochs: int = 10, seed: int = 0) -> dict:
    """Reproduce the shipped classifier: render every domain's fonts (scripts/install-fonts.sh
    first), train on the training fonts with the domains balanced (each drawn in proportion to
    the square root of its size), report accuracy on each domain's held-out fonts, save."""
    from stylebridge.data.glyphs import DOMAINS, render_domain

    train, held = {}, {}
    for style in DOMAINS:
        train[style] = render_domain(style, "train")
        held[style] = render_domain(style, "heldout")
    x = np.concatenate([g.images for g in train.values()])
    y = np.concatenate([g.labels for g in train.values()])
    w = np.concatenate([np.full(len(g), 1.0 / math.sqrt(len(g))) for g in train.values()])
    vx = np.concatenate([g.images for g in held.values()])
    vy = np.concatenate([g.labels for g in held.values()])
    model, record = train_glyph_classifier(x, y, vx, vy, weights=w, epochs=epochs, seed=seed)
    record["fonts"] = {s: {"train": len(train[s].fonts), "heldout": len(held[s].fonts)} for s in DOMAINS}
    record["heldout_accuracy"] = {s: accuracies(model.predict(g.images), g.labels) for s, g in held.items()}
    record["train_accuracy"] = {s: accuracies(model.predict(g.images), g.labels) for s, g in train.items()}
    save_glyph_classifier(model, out, record)
    return record


if __name__ == "__main__":  # python -m stylebridge.metrics.glyph_classifier [OUT]
    import sys

    torch.set_num_threads(1)  # the shipped classifier was trained on one thread (its record says how many)
    rec = train_shipped(*(sys.argv[1:2]))
    print(json.dumps({"heldout_accuracy": rec["heldout_accuracy"], "fonts": rec["fonts"]}, indent=1))
