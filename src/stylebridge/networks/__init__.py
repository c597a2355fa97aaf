"""StyleGAN2 networks in pure PyTorch (CPU and CUDA, no compiled extensions)."""

from stylebridge.networks.config import DiscriminatorConfig, GeneratorConfig, matching_discriminator
from stylebridge.networks.registry import create_discriminator, create_generator, get_config, list_configs
from stylebridge.networks.stylegan2 import Discriminator, Generator, style_mix, z_from_seed

__all__ = [
    "Generator", "Discriminator", "GeneratorConfig", "DiscriminatorConfig", "matching_discriminator",
    "create_generator", "create_discriminator", "get_config", "list_configs", "style_mix", "z_from_seed",
]
