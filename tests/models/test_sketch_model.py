from __future__ import annotations

import numpy as np

from portraitcli.models.sketch import photo_to_tensor, sketch_to_tensor, tensor_to_sketch


def test_pre_and_post_processing_roundtrip() -> None:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (250, 200, 3), dtype=np.uint8)
    x = photo_to_tensor(photo)
    assert x.shape == (3, 256, 208) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0
    gray = photo[:, :, 0]
    y = sketch_to_tensor(gray)
    assert y.shape == (1, 256, 208)
    np.testing.assert_array_equal(tensor_to_sketch(y, 250, 200), gray)
    # the padding is a reflection, centred
    np.testing.assert_allclose(x[:, 3:253, 4:204], photo.transpose(2, 0, 1) / 127.5 - 1, atol=1e-6)


def test_odd_sizes_and_clipping() -> None:
    photo = np.zeros((33, 47, 3), np.uint8)
    x = photo_to_tensor(photo)
    assert x.shape[1] % 16 == 0 and x.shape[2] % 16 == 0
    out = tensor_to_sketch(np.full((1,) + x.shape[1:], 3.0, np.float32), 33, 47)
    assert out.shape == (33, 47) and out.dtype == np.uint8 and (out == 255).all()
