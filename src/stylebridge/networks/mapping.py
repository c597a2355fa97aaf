"""StyleGAN2's mapping network z (+ class) -> w, with NVIDIA's parameter names; the
discriminator's conditional models use it to embed their class labels."""

from __future__ import annotations

import torch
import torch.nn as nn

from stylebridge.networks import ops
from stylebridge.networks.layers import FullyConnectedLayer
from stylebridge.networks.layers import assert_shape as _assert_shape


class MappingNetwork(nn.Module):
    def __init__(
        self,
        z_dim: int,                      # Input latent (z) size, 0 = no latent.
        c_dim: int,                      # Conditioning label size, 0 = no label.
        w_dim: int,                      # Intermediate latent (w) size.
        num_ws: int | None,              # Number of w vectors to broadcast to (None = no broadcast).
        num_layers: int = 8,             # Number of fully connected layers.
        embed_features: int | None = None,  # Label embedding size (None = w_dim).
        layer_features: int | None = None,  # Hidden layer size (None = w_dim).
        lr_multiplier: float = 0.01,     # Learning-rate multiplier of the layers.
        w_avg_beta: float | None = 0.995,  # Decay of the tracked mean of w (None = no tracking).
    ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed_features = w_dim if embed_features is None else embed_features
        if c_dim == 0:
            embed_features = 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,                 # [N, z_dim]
        c: torch.Tensor | None = None,          # [N, c_dim]
        truncation_psi: float = 1.0,            # 1 = no truncation; 0 = always w_avg
        truncation_cutoff: int | None = None,   # truncate only the first `cutoff` ws (None = all)
        update_w_avg: bool = False,             # track the running mean of w (training)
    ) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            _assert_shape(z, [None, self.z_dim], "z")
            x = ops.normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is class-conditional: pass c with shape [N, {self.c_dim}]")
            _assert_shape(c, [None, self.c_dim], "c")
            y = ops.normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg and self.w_avg_beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            assert self.w_avg_beta is not None
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x
