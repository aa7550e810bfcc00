"""Model definitions: one wrapper for every supported backbone.

``PneumoniaNet`` takes the preprocessed grey image exactly as ``viewer.core.preprocess`` makes it
(float32, (N, 1, H, W), values in [0, 1]), repeats it to three channels, applies the ImageNet
normalisation and returns one logit per image (positive class: PNEUMONIA). Because normalisation is
inside the module, the exported ONNX graph takes the same input as the training loop.

Every backbone ends in ``features`` (the last convolutional block, *after* its final non-linearity)
followed by global average pooling -> dropout -> one linear unit. For such a head Grad-CAM of the
logit is ReLU(sum_k w_k * A_k) / (H*W) (engineering guide section 3), which ``cam()`` computes and the
ONNX export puts in the graph. ``features`` is also the target layer for ``pytorch_grad_cam``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

ARCHITECTURES = ("mobilenet_v2", "densenet161", "densenet121", "resnet18", "efficientnet_b0")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet_model(arch: str) -> nn.Module:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return getattr(torchvision.models, arch)(weights=None)


def _backbone(arch: str, m: nn.Module) -> tuple[nn.Module, int]:
    """(features ending in the last conv block's activation, channels) of an ImageNet model."""
    if arch == "mobilenet_v2":
        return m.features, m.last_channel  # features[-1] ends in ReLU6
    if arch in ("densenet161", "densenet121"):
        # torchvision applies F.relu after features in forward(); make it part of the block.
        return nn.Sequential(m.features, nn.ReLU(inplace=False)), m.classifier.in_features
    if arch == "resnet18":
        feats = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)
        return feats, m.fc.in_features
    if arch == "efficientnet_b0":
        return m.features, m.classifier[1].in_features  # features[-1] ends in SiLU
    raise AssertionError(arch)


class PneumoniaNet(nn.Module):
    def __init__(self, arch: str = "mobilenet_v2", dropout: float = 0.2, imagenet_state: dict | None = None):
        super().__init__()
        self.arch = arch
        imagenet = _imagenet_model(arch)
        if imagenet_state is not None:
            imagenet.load_state_dict(imagenet_state, strict=True)
        self.features, channels = _backbone(arch, imagenet)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, 1)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x.expand(-1, 3, -1, -1) - self.mean) / self.std

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.normalise(x))

    def head(self, fmap: torch.Tensor) -> torch.Tensor:
        pooled = fmap.mean(dim=(2, 3))
        return self.classifier(self.dropout(pooled)).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))

    def cam(self, fmap: torch.Tensor) -> torch.Tensor:
        """Raw Grad-CAM of the logit from the last feature maps: (N, C, h, w) -> (N, h, w)."""
        w = self.classifier.weight[0] / (fmap.shape[2] * fmap.shape[3])
        return torch.relu(torch.einsum("nchw,c->nhw", fmap, w))

    def forward_with_cam(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.forward_features(x)
        return self.head(fmap), self.cam(fmap)

    def backbone_parameters(self):
        return self.features.parameters()


def build_model(arch: str = "mobilenet_v2", init: str | None = "none", dropout: float = 0.2) -> PneumoniaNet:
    """Build a model. ``init``: "none", "imagenet" (torchvision's own weights, needs them cached
    locally), or a path to an ImageNet state-dict file for the torchvision architecture."""
    state = None
    if init and init != "none":
        if init == "imagenet":
            weights = torchvision.models.get_model_weights(arch).DEFAULT
            state = weights.get_state_dict(progress=False)
        else:
            path = Path(init)
            if not path.is_file():
                raise FileNotFoundError(f"--init: no weights file at {path}")
            state = torch.load(path, map_location="cpu", weights_only=True)
    return PneumoniaNet(arch, dropout, imagenet_state=state)
