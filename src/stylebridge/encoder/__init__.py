"""Feed-forward inversion: an e4e-style encoder into W+ for one base generator."""

from stylebridge.encoder.network import Encoder, EncoderConfig, base_hash, check_base, load_encoder, save_encoder
from stylebridge.encoder.train import EncoderTrainOptions, train_encoder

__all__ = ["Encoder", "EncoderConfig", "EncoderTrainOptions", "base_hash", "check_base", "load_encoder",
           "save_encoder", "train_encoder"]
