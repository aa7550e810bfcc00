"""Batched augmentation on uint8 224 x 224 radiographs, done in torch on the whole batch.

Chosen for radiographs: small rotation / scale / translation / anisotropic stretch (positioning
and the squashed 224 x 224 copies in the data), brightness / contrast / gamma (exposure and
processing differences between machines), mild Gaussian blur or noise (resolution, JPEG).

The ``strong`` preset (``--aug strong``, the recipe study in ``docs/MODEL_STUDY.md``) widens exposure and
contrast, adds a random tone curve, JPEG re-encoding at random quality (the official test split exists only as
re-encoded 224 x 224 copies, half of train does not) and random erasing of border strips and of small
corner patches where text markers and rulers sit: shortcuts the network must not lean on.

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
    tone_p: float = 0.0  # random S-shaped / inverse-S tone curve (film processing differences)
    jpeg_p: float = 0.0  # re-encode as JPEG at quality jpeg_quality[0]..[1]
    jpeg_quality: tuple[int, int] = (40, 95)
    border_p: float = 0.0  # per side: erase a strip of up to border_max of the size
    border_max: float = 0.12
    marker_p: float = 0.0  # erase one small patch in a random corner (markers, text)


PRESETS = {
    "base": AugmentConfig(),
    "strong": AugmentConfig(
        rotate_deg=12.0,
        scale=0.15,
        stretch=0.10,
        translate=0.08,
        brightness=0.2,
        contrast=0.35,
        gamma=0.5,
        blur_p=0.25,
        noise_p=0.25,
        tone_p=0.5,
        jpeg_p=0.5,
        border_p=0.25,
        marker_p=0.4,
    ),
}


def preset(name: str) -> AugmentConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


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
    x = x.clamp(0, 1)
    if cfg.tone_p > 0:
        x = _tone_curve(x, rand(n) < cfg.tone_p, u(-4.0, 4.0).view(n, 1, 1, 1))
    if cfg.border_p > 0 or cfg.marker_p > 0:
        x = _erase(x, cfg, rand)
    if cfg.jpeg_p > 0:
        x = _jpeg(x, rand(n) < cfg.jpeg_p, u(*cfg.jpeg_quality))
    return x


def _tone_curve(x: torch.Tensor, sel: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Blend toward a logistic curve of strength |k| (k > 0: more contrast in the mid-tones, k < 0: less)."""
    if not sel.any():
        return x
    s = torch.sigmoid(k.abs() * (x - 0.5) * 2)
    lo, hi = torch.sigmoid(-k.abs()), torch.sigmoid(k.abs())
    curved = (s - lo) / (hi - lo).clamp_min(1e-6)
    # k < 0: the inverse curve (flattens mid-tones) = reflection of the S about the diagonal, approximated
    # by 2x - S(x), clipped
    curved = torch.where(k > 0, curved, (2 * x - curved).clamp(0, 1))
    return torch.where(sel.view(-1, 1, 1, 1), curved, x)


def _erase(x: torch.Tensor, cfg: AugmentConfig, rand) -> torch.Tensor:
    n, _, h, w = x.shape
    x = x.clone()
    side = rand(n, 4) < cfg.border_p
    width = rand(n, 4) * cfg.border_max
    fill = rand(n, 4)
    patch = rand(n) < cfg.marker_p
    corner = (rand(n) * 4).long().clamp_max(3)
    psize = 0.06 + rand(n, 2) * 0.10
    pfill = rand(n)
    for i in range(n):
        for s in range(4):
            if not side[i, s]:
                continue
            if s in (0, 1):
                k = int(float(width[i, s]) * h)
                rows = slice(0, k) if s == 0 else slice(h - k, h)
                x[i, :, rows, :] = fill[i, s]
            else:
                k = int(float(width[i, s]) * w)
                cols = slice(0, k) if s == 2 else slice(w - k, w)
                x[i, :, :, cols] = fill[i, s]
        if patch[i]:
            ph, pw = int(float(psize[i, 0]) * h), int(float(psize[i, 1]) * w)
            c = int(corner[i])
            r0 = 2 if c in (0, 1) else h - ph - 2
            c0 = 2 if c in (0, 2) else w - pw - 2
            x[i, :, r0 : r0 + ph, c0 : c0 + pw] = pfill[i]
    return x


def _jpeg(x: torch.Tensor, sel: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Re-encode the selected images as 8-bit JPEG (OpenCV) at the drawn quality."""
    if not sel.any():
        return x
    import cv2
    import numpy as np

    x = x.clone()
    for i in torch.nonzero(sel).flatten().tolist():
        img = (x[i, 0].detach().float().cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        if ok:
            dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
            x[i, 0] = torch.from_numpy(dec.astype(np.float32) / 255.0).to(x.device)
    return x
