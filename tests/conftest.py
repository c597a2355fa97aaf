import importlib.util
import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, int(os.environ.get("OMP_NUM_THREADS", "2")))))


@pytest.fixture
def tiny_cfg():
    from stylebridge.networks import get_config

    return get_config("tiny-16")


def randomize_(module: torch.nn.Module, seed: int = 0, scale: float = 0.3) -> torch.nn.Module:
    """Give every parameter (and the mean w) non-trivial values, so tests see noise, biases etc."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
        for name, b in module.named_buffers():
            if name.endswith("w_avg"):
                b.copy_(torch.randn(b.shape, generator=g))
    return module


def derived(G: torch.nn.Module, seed: int, scale: float = 0.2) -> torch.nn.Module:
    """A stand-in for a fine-tuned model: the same mapping, a perturbed synthesis network."""
    import copy

    Gt = copy.deepcopy(G)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in Gt.synthesis.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return Gt


def load_script(name: str):
    """scripts/NAME.py as a module (the scripts are not a package), for tests that call them."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
