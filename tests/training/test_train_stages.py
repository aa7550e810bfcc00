"""training.train.set_stage: what the frozen and fine-tuning stages leave trainable, for each backbone."""

from __future__ import annotations

import pytest

from training.models import build_model
from training.train import TrainConfig, set_stage


def trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize("arch", ["mobilenet_v2", "densenet121"])
def test_freeze_blocks_freezes_only_the_first_blocks(arch):
    model = build_model(arch, "none", 0.2)
    cfg = TrainConfig(data="d", out="o", arch=arch, freeze_epochs=1, freeze_blocks=4)
    assert set_stage(model, 0, cfg) == "frozen"
    assert trainable(model.features) == 0 and trainable(model.classifier) > 0
    assert set_stage(model, 1, cfg) == "finetune"
    total = sum(p.numel() for p in model.features.parameters())
    # most of the backbone trains; the first four blocks (the stem) do not
    assert 0.5 * total < trainable(model.features) < total
