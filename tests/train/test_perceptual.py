from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.train.common import perceptual  # noqa: E402
from tests.conftest import needs_mobilenet_weights  # noqa: E402


def _imagenet_batch(images: list[np.ndarray]) -> torch.Tensor:
    from PIL import Image

    x = np.stack([np.asarray(Image.fromarray(im).resize((224, 224), Image.Resampling.BICUBIC)) for im in images])
    t = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(perceptual.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(perceptual.IMAGENET_STD).view(1, 3, 1, 1)
    return (t - mean) / std


def test_mobilenet_v2_loads_strictly_and_classifies_imagenet_photos() -> None:
    needs_mobilenet_weights()
    from skimage import data

    net = perceptual.imagenet_mobilenet_v2()
    with torch.no_grad():
        top5 = net(_imagenet_batch([data.chelsea(), data.coffee()])).topk(5).indices.numpy()
    assert set(top5[0]) & {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert set(top5[1]) & {967, 968, 504}  # espresso, cup, coffee mug


def test_perceptual_loss_is_zero_for_equal_images_and_differentiable() -> None:
    needs_mobilenet_weights()
    feats = perceptual.PerceptualFeatures()
    feats.train()  # stays in eval mode: ImageNet batch-norm statistics
    assert not feats.training and not any(p.requires_grad for p in feats.parameters())
    a = torch.rand(2, 3, 64, 64) * 2 - 1
    out = feats(a)
    assert [o.shape[1] for o in out] == [24, 32, 96] and out[0].shape[-1] == 16
    assert perceptual.perceptual_loss(feats, a, a).item() == 0.0
    b = a.clone().requires_grad_()
    loss = perceptual.perceptual_loss(feats, b + 0.1 * torch.randn_like(b), a)
    loss.backward()
    assert loss.item() > 0 and b.grad is not None and b.grad.abs().sum() > 0
    assert feats(torch.zeros(1, 1, 32, 32))[0].shape == (1, 24, 8, 8)  # gray input
