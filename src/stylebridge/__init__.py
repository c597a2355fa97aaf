"""stylebridge: unsupervised image-to-image translation with pretrained StyleGAN2 models."""

__version__ = "0.1.0"

__all__ = ["__version__"]
