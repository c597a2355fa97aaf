"""One factory and a registry of named architectures (timm style).

`create_generator("stylegan2-256")` or `create_generator("tiny-16", img_channels=1)`;
unknown names list the valid ones. Every registered config is exercised at tiny size by
tests/networks/test_registry.py.
"""

from __future__ import annotations

import dataclasses

from stylebridge.errors import StylebridgeError
from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig, matching_discriminator
from stylebridge.networks.stylegan2 import Discriminator, Generator

CONFIGS: dict[str, GeneratorConfig] = {
    # NVIDIA's official StyleGAN2 configs (config-f: channel_base 32768 = rosinality channel_multiplier 2).
    "stylegan2-1024": GeneratorConfig(img_resolution=1024, channel_base=32768, num_fp16_res=4, conv_clamp=256),
    "stylegan2-512": GeneratorConfig(img_resolution=512, channel_base=32768, num_fp16_res=4, conv_clamp=256),
    "stylegan2-256": GeneratorConfig(img_resolution=256, channel_base=16384, num_fp16_res=4, conv_clamp=256),
    # stylegan2-ada 'paper256' style config at 128 / 64 px for small jobs.
    "stylegan2-128": GeneratorConfig(img_resolution=128, channel_base=16384, mapping_layers=8),
    "stylegan2-64": GeneratorConfig(img_resolution=64, channel_base=16384, mapping_layers=8),
    # Small CPU-trainable configs (the glyph demo and tests).
    "glyph-32": GeneratorConfig(img_resolution=32, img_channels=1, z_dim=128, w_dim=128,
                                mapping_layers=4, channel_base=2048, channel_max=128),
    "tiny-32": GeneratorConfig(img_resolution=32, z_dim=32, w_dim=32, mapping_layers=2,
                               channel_base=256, channel_max=32),
    "tiny-16": GeneratorConfig(img_resolution=16, z_dim=16, w_dim=16, mapping_layers=2,
                               channel_base=128, channel_max=16),
}


def get_config(name: str, **overrides) -> GeneratorConfig:
    if name not in CONFIGS:
        raise StylebridgeError(f"unknown architecture {name!r}; known: {', '.join(sorted(CONFIGS))}")
    return dataclasses.replace(CONFIGS[name], **overrides)


def create_generator(name: str | GeneratorConfig, **overrides) -> Generator:
    cfg = name if isinstance(name, GeneratorConfig) else get_config(name, **overrides)
    return Generator(cfg)


def create_discriminator(g: str | GeneratorConfig, **overrides) -> Discriminator:
    gcfg = g if isinstance(g, GeneratorConfig) else get_config(g)
    return Discriminator(dataclasses.replace(matching_discriminator(gcfg), **overrides))


def list_configs() -> list[str]:
    return sorted(CONFIGS)


__all__ = ["CONFIGS", "get_config", "create_generator", "create_discriminator", "list_configs", "DiscriminatorConfig"]
