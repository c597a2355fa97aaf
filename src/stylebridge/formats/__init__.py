"""Checkpoint formats: native safetensors, NVIDIA pickles, rosinality .pt, NVIDIA TF pickles."""

from stylebridge.formats.loader import Checkpoint, detect_format, load_checkpoint, load_strict
from stylebridge.formats.native import read_native, round_to, save_checkpoint

__all__ = ["Checkpoint", "detect_format", "load_checkpoint", "load_strict", "read_native", "round_to",
           "save_checkpoint"]
