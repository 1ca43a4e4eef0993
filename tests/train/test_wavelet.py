from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pywt = pytest.importorskip("pywt")

from portraitcli.train.common.wavelet import HaarDWT, HaarIDWT  # noqa: E402


def test_dwt_matches_pywavelets() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 16, 24))
    y = HaarDWT(3)(torch.from_numpy(x).float()).double().numpy()
    assert y.shape == (2, 12, 8, 12)
    for n in range(2):
        for c in range(3):
            cA, (cH, cV, cD) = pywt.dwt2(x[n, c], "haar")
            for band, ref in enumerate((cA, cH, cV, cD)):
                np.testing.assert_allclose(y[n, band * 3 + c], ref, atol=1e-5)


def test_idwt_matches_pywavelets_and_reconstructs() -> None:
    rng = np.random.default_rng(1)
    bands = rng.normal(size=(1, 8, 5, 7))  # C = 2 channels of 4 sub-bands
    x = HaarIDWT(2)(torch.from_numpy(bands).float()).double().numpy()
    assert x.shape == (1, 2, 10, 14)
    for c in range(2):
        ref = pywt.idwt2((bands[0, c], (bands[0, 2 + c], bands[0, 4 + c], bands[0, 6 + c])), "haar")
        np.testing.assert_allclose(x[0, c], ref, atol=1e-5)
    img = torch.from_numpy(rng.normal(size=(3, 4, 32, 32))).float()
    torch.testing.assert_close(HaarIDWT(4)(HaarDWT(4)(img)), img, atol=1e-5, rtol=0)


def test_odd_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        HaarDWT(1)(torch.zeros(1, 1, 5, 4))
    with pytest.raises(ValueError, match="4C"):
        HaarIDWT(1)(torch.zeros(1, 3, 4, 4))


def test_dwt_idwt_export_to_onnx(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from portraitcli.train.common.export import export_onnx

    class Roundtrip(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dwt, self.idwt = HaarDWT(3), HaarIDWT(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            bands = self.dwt(x)
            return self.idwt(bands * torch.tensor([2.0, 1.0, 1.0, 1.0]).repeat_interleave(3).view(1, 12, 1, 1))

    x = torch.randn(1, 3, 32, 48)
    # parity of ONNX Runtime with torch is checked by export_onnx (atol 1e-5)
    export_onnx(Roundtrip(), x, tmp_path / "dwt.onnx", atol=1e-5)
    export_onnx(HaarDWT(3), x, tmp_path / "dwt_only.onnx", atol=1e-5)
