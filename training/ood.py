"""Out-of-distribution score: class-conditional Mahalanobis distance of pooled features (Lee et al. 2018).

For each tapped layer t (global-average-pooled features f_t of dimension D_t) the training split gives a
PCA projection P_t (k_t components), the class means m_c in that space and ONE shared covariance S_t
(Ledoit-Wolf shrinkage of the class-centred features). With L_t L_t^T = S_t^-1 the distance to class c is

    d_c(f) = || (f - mu) P L - m_c L ||^2 = || f A_t - B_tc ||^2,   A_t = P_t L_t,  B_tc = (mu P_t + m_c) L_t

so the graph needs one MatMul, one Sub, a ReduceSum and a ReduceMin per layer. The layer's score is
min_c d_c / k_t (about 1 for a typical training image); the image's score is the mean over layers, and for
an ensemble the mean over members. Statistics come from the training split only; the threshold is a
quantile of the validation split (``export`` records both in the model metadata).

Layers: the last feature block (what the classifier reads) plus earlier blocks, which still describe the
image (texture, edges, grey-level structure) after fine-tuning, whereas the last block of a two-class
network keeps mostly what separates the two classes (the recipe study compares choices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.models import PneumoniaNet

DEFAULT_TAPS = (13, 16, -1)  # MobileNetV2: end of the 96-, 160- and 1280-channel stages
DEFAULT_COMPONENTS = 64


def feature_blocks(net: PneumoniaNet) -> list[nn.Module]:
    """The backbone as a flat list of blocks (MobileNetV2: the 19 entries of ``features``)."""
    blocks = list(net.features.children())
    if len(blocks) == 2 and isinstance(blocks[0], nn.Sequential) and isinstance(blocks[1], nn.ReLU):
        blocks = list(blocks[0].children()) + blocks[1:]  # densenet: Sequential(features, relu)
    return blocks


def tapped_forward(net: PneumoniaNet, x: torch.Tensor, taps: tuple[int, ...]) -> tuple[torch.Tensor, list]:
    """(last feature map, [pooled features of each tapped block]) in one pass."""
    blocks = feature_blocks(net)
    want = {t % len(blocks) for t in taps}
    h = net.normalise(x)
    pooled = {}
    for i, b in enumerate(blocks):
        h = b(h)
        if i in want:
            pooled[i] = h.mean(dim=(2, 3))
    return h, [pooled[t % len(blocks)] for t in taps]


@dataclass(frozen=True)
class LayerStats:
    tap: int
    a: np.ndarray  # (D, k)
    b: np.ndarray  # (C, k)


def fit_layer(features: np.ndarray, labels: np.ndarray, tap: int, components: int) -> LayerStats:
    from sklearn.covariance import LedoitWolf
    from sklearn.decomposition import PCA

    f = np.asarray(features, np.float64)
    k = int(min(components, f.shape[1], f.shape[0] - 1))
    pca = PCA(n_components=k, svd_solver="full", random_state=0).fit(f)
    z = pca.transform(f)
    classes = np.unique(labels)
    means = np.stack([z[labels == c].mean(0) for c in classes])
    centred = z - means[np.searchsorted(classes, labels)]
    cov = LedoitWolf().fit(centred).covariance_
    chol = np.linalg.cholesky(np.linalg.inv(cov))  # L L^T = S^-1
    p = pca.components_.T  # (D, k)
    a = p @ chol
    b = (pca.mean_ @ p + means) @ chol
    return LayerStats(tap, a.astype(np.float32), b.astype(np.float32))


def layer_scores_np(features: np.ndarray, stats: LayerStats) -> np.ndarray:
    y = np.asarray(features, np.float64) @ stats.a.astype(np.float64)
    d = ((y[:, None, :] - stats.b[None].astype(np.float64)) ** 2).sum(-1)
    return d.min(1) / stats.a.shape[1]


class OodHead(nn.Module):
    """Torch form of the score for one member (the exported graph is this module)."""

    def __init__(self, stats: list[LayerStats]):
        super().__init__()
        self.taps = tuple(s.tap for s in stats)
        for i, s in enumerate(stats):
            self.register_buffer(f"a{i}", torch.from_numpy(s.a))
            self.register_buffer(f"b{i}", torch.from_numpy(s.b))

    def forward(self, pooled: list[torch.Tensor]) -> torch.Tensor:
        scores = []
        for i, f in enumerate(pooled):
            a, b = getattr(self, f"a{i}"), getattr(self, f"b{i}")
            y = f.float() @ a
            d = ((y.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(-1)
            scores.append(d.min(dim=1).values / a.shape[1])
        return torch.stack(scores, 0).mean(0)


@torch.no_grad()
def pooled_features(
    net: PneumoniaNet,
    images_u8: np.ndarray,
    taps: tuple[int, ...],
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(logits, [pooled features per tap]) for cached uint8 (N, S, S) images, fp32, no augmentation."""
    net.eval()
    logits, feats = [], [[] for _ in taps]
    starts = range(0, len(images_u8), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="features", unit="batch")
    for s in starts:
        x = torch.from_numpy(np.array(images_u8[s : s + batch_size])).float().div_(255.0).unsqueeze(1)
        fmap, pooled = tapped_forward(net, x, taps)
        logits.append(net.head(fmap).numpy())
        for i, p in enumerate(pooled):
            feats[i].append(p.numpy())
    return np.concatenate(logits), [np.concatenate(f) for f in feats]


def fit_member(
    tr_feats: list[np.ndarray],
    tr_labels: np.ndarray,
    taps: tuple[int, ...],
    components: int = DEFAULT_COMPONENTS,
) -> list[LayerStats]:
    return [fit_layer(f, tr_labels, t, components) for f, t in zip(tr_feats, taps, strict=True)]


def member_scores_np(feats: list[np.ndarray], stats: list[LayerStats]) -> np.ndarray:
    return np.mean([layer_scores_np(f, s) for f, s in zip(feats, stats, strict=True)], axis=0)


__all__ = [
    "DEFAULT_COMPONENTS",
    "DEFAULT_TAPS",
    "LayerStats",
    "OodHead",
    "feature_blocks",
    "fit_layer",
    "fit_member",
    "layer_scores_np",
    "member_scores_np",
    "pooled_features",
    "tapped_forward",
]
