"""Batched augmentation on uint8 224 x 224 radiographs, done in torch on the whole batch.

Chosen for radiographs: small rotation / scale / translation / anisotropic stretch (positioning
and the squashed 224 x 224 copies in the data), brightness / contrast / gamma (exposure and
processing differences between machines), mild Gaussian blur or noise (resolution, JPEG).

No horizontal flip: a chest radiograph has a fixed laterality (heart on the left, gastric bubble,
the "L"/"R" marker); a flipped film is an image the model never meets in practice, and the left-right
asymmetry of the cardiac silhouette is information the model may use to separate normal anatomy
from consolidation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 10.0
    scale: float = 0.12  # +- relative zoom
    stretch: float = 0.08  # +- relative anisotropic stretch
    translate: float = 0.06  # +- fraction of the image size
    brightness: float = 0.12  # +- additive, in [0, 1] units
    contrast: float = 0.20  # +- multiplicative around the mean
    gamma: float = 0.25  # log-uniform in [1/(1+g), 1+g]
    blur_p: float = 0.2
    noise_p: float = 0.2
    noise_std: float = 0.03


def augment(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """x: float (N, 1, H, W) in [0, 1] -> augmented batch, same shape, clipped to [0, 1]."""
    n = x.shape[0]
    dev = x.device
    # Random numbers come from the generator's own device (the CPU generator of the training loop) and move
    # to the batch's device: a CPU generator cannot draw CUDA tensors.
    rng_dev = generator.device if generator is not None else dev

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=rng_dev).to(dev)

    def u(lo: float, hi: float) -> torch.Tensor:
        return rand(n) * (hi - lo) + lo

    ang = u(-cfg.rotate_deg, cfg.rotate_deg) * math.pi / 180
    s = u(1 - cfg.scale, 1 + cfg.scale)
    st = u(1 - cfg.stretch, 1 + cfg.stretch)
    sx, sy = s * st, s / st
    tx, ty = u(-cfg.translate, cfg.translate) * 2, u(-cfg.translate, cfg.translate) * 2
    cos, sin = torch.cos(ang), torch.sin(ang)
    # affine_grid maps output -> input coordinates: use the inverse of scale for a zoom-in by s.
    theta = torch.stack(
        [
            torch.stack([cos / sx, -sin / sx, tx], 1),
            torch.stack([sin / sy, cos / sy, ty], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = u(1 - cfg.contrast, 1 + cfg.contrast).view(n, 1, 1, 1)
    b = u(-cfg.brightness, cfg.brightness).view(n, 1, 1, 1)
    x = ((x - mean) * c + mean + b).clamp(0, 1)
    g = torch.exp(u(-math.log1p(cfg.gamma), math.log1p(cfg.gamma))).view(n, 1, 1, 1)
    x = x.clamp_min(1e-6) ** g

    if cfg.blur_p > 0:
        sel = rand(n) < cfg.blur_p
        if sel.any():
            k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=dev)
            k = (k[:, None] * k[None, :]) / 256.0
            blurred = F.conv2d(F.pad(x[sel], (2, 2, 2, 2), mode="replicate"), k.view(1, 1, 5, 5))
            x = x.clone()
            x[sel] = blurred
    if cfg.noise_p > 0:
        sel = (rand(n) < cfg.noise_p).view(n, 1, 1, 1)
        noise = torch.randn(x.shape, generator=generator, device=rng_dev).to(dev) * cfg.noise_std
        x = x + noise * sel
    return x.clamp(0, 1)
