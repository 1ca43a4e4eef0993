"""Destylize model evaluation: IFRP's tables 1 and 2 on our stylized UTKFace test faces (no report writing).

Protocol (Shiri et al., WACV 2018, adapted):

- Inputs: the test faces of ``portrait data stylized-pairs`` in each seen test style
  (``test/seen/sNN``) and each unseen style (``test/unseen/sNN``), misaligned and stylized;
  targets: the aligned real faces (``test/target``). "Sketch" column: the CUFS CUHK-student
  test sketches against their photos, both warped into the same 128x128 template with the
  landmarks detected on the photo (the sketch is pixel-aligned with it).
- PSNR (dB) and SSIM (Wang et al. setting, RGB channel mean) of each recovered face against
  its target, averaged per column.
- Face retrieval ratio, top-1 and top-5 (IFRP Table 2): each recovered face queries the
  gallery of all real test targets (UTKFace has no identity labels, so each file is its own
  identity); dlib's 128-d descriptor computed at the template's face box (the faces are
  aligned, no detection). For the sketch column the gallery is the 100 CUFS test photos.
- Face consistency ratio (``fcr``) across all seen and unseen styles
  (:func:`portraitcli.metrics.identity.consistency_ratio`).
- Round trip of the product (beyond the paper): the same CUFS test photos drawn by the shipped
  ``sketch`` model ("sketch_roundtrip") and by the shipped ``draw`` model in its three styles
  ("draw_roundtrip"), each model in its own crop template and warped back, then recovered and
  scored against the photo like the sketch column. The sketch model learned from the CUFS
  *training* sketches and destylize was trained on its drawings of UTKFace faces, so the
  first is a seen style; draw's styles are unseen by destylize. The test people are unseen by
  all models.

Baselines computed the same way: the stylized input itself, and any ONNX generator with the
destylize contract given as a run folder (the plain U-Net trained on the same pairs). A
reference row, the mean training face output for every input, shows how much of the PSNR and
SSIM a model earns from the input rather than from the average face (its retrieval is at
chance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from portraitcli.io import read_image
from portraitcli.metrics.pixel import psnr, ssim

#: (S, S, 3) uint8 stylized input -> (S', S', 3) uint8 recovered face (resized to S by :func:`score`).
RecoverFn = Callable[[np.ndarray], np.ndarray]
#: (photo (H, W, 3) uint8 RGB, its detected landmarks (5, 2) px) -> (H, W) uint8 drawing in the photo's frame.
DrawFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: The table's columns in order: the paper's, then the product round trips.
COLUMNS = ("seen", "unseen", "sketch", "sketch_roundtrip", "draw_roundtrip")
#: The paper's numbers (its own data and styles; not re-measured).
PAPER = {
    "psnr_seen": 27.08,
    "ssim_seen": 0.93,
    "psnr_unseen": 24.83,
    "ssim_unseen": 0.91,
    "psnr_sketch": 24.89,
    "ssim_sketch": 0.92,
    "frr5_seen": 0.8693,
    "frr5_unseen": 0.7452,
    "frr5_sketch": 0.9105,
}


@dataclass
class Column:
    """One column of the table: inputs, targets, the style of each input, the target index."""

    inputs: list[np.ndarray]
    targets: np.ndarray  # (M, S, S, 3) the gallery of real faces
    truth: np.ndarray  # (N,) index of each input's target in ``targets``
    styles: list[str]
    names: list[str]


def load_columns(
    pairs_dir: Path,
    record: dict,
    data: Path | None,
    round_trips: dict[str, dict[str, DrawFn]] | None = None,
    test_faces: int | None = None,
    seed: int = 0,
) -> dict[str, Column]:
    """The columns of a pairs folder and its ``pairs.json``.

    Seen and unseen always; if ``data`` holds CUFS, the sketch column and one column per
    entry of ``round_trips`` ({column: {style: drawing function}}, :func:`product_round_trips`).
    With ``test_faces``, the seen and unseen inputs are those of a seeded choice of that many
    test faces (in every style; the gallery keeps all test faces): a 256 px model takes about
    0.1 s per input on two cores, and the two columns hold ten inputs per face.
    """
    names = sorted(record["test"])
    targets = np.stack([read_image(pairs_dir / "test" / "target" / f"{n}.png").rgb for n in names])
    rows = np.arange(len(names))
    if test_faces is not None and test_faces < len(names):
        rows = np.sort(np.random.default_rng([seed, 7]).choice(len(names), test_faces, replace=False))
    columns = {}
    for group in ("seen", "unseen"):
        inputs, truth, styles, keys = [], [], [], []
        for style_dir in sorted((pairs_dir / "test" / group).iterdir()):
            for i in rows:
                n = names[i]
                inputs.append(read_image(style_dir / f"{n}.jpg").rgb)
                truth.append(i)
                styles.append(style_dir.name)
                keys.append(f"{style_dir.name}/{n}")
        columns[group] = Column(inputs, targets, np.array(truth), styles, keys)
    if data is not None and (data / "cufs").is_dir():
        columns |= cufs_columns(data, record["template"], "test", {"sketch": None, **(round_trips or {})})
    return columns


def cufs_sketch_column(
    data: Path, template: dict, split: str = "test", drawers: dict[str, DrawFn] | None = None
) -> Column:
    """One column of :func:`cufs_columns`: the artist's sketches (``drawers`` None) or the
    drawings of ``drawers``. ``split="train"`` (88 pairs) is the trainer's sketch validation;
    the benchmark uses ``test`` (100 pairs)."""
    return cufs_columns(data, template, split, {"column": drawers})["column"]


def cufs_columns(
    data: Path, template: dict, split: str, drawer_sets: dict[str, dict[str, DrawFn] | None]
) -> dict[str, Column]:
    """CUFS CUHK-student columns of one split in the template's framing: photos (targets) and, per
    column, the artist's sketches or drawings of the photos (inputs).

    Each pair is aligned by the photo's detected landmarks (the sketches are traced over the
    photos); pairs whose photo has no detected face are left out. Each photo is detected and
    aligned once; the columns share one targets array.

    Args:
        drawer_sets: {column: drawers}; drawers None: the artist's sketches; else {style:
            function} that draw each photo (one input per photo and style, photo by photo).
    """
    from portraitcli.data.cufs import cufs_pairs, load_pair
    from portraitcli.face.align import similarity_transform, warp_affine
    from portraitcli.face.detect import FaceDetector

    detector = FaceDetector()
    kps = np.asarray(template["kps"], np.float64)
    size = tuple(template["size"])
    targets: list[np.ndarray] = []
    parts: dict[str, tuple[list, list, list, list]] = {key: ([], [], [], []) for key in drawer_sets}
    for pair in cufs_pairs(data, "cuhk_student", split):
        photo, sketch = load_pair(pair)
        faces = detector.detect(photo)
        if not faces:
            continue
        M, photo_kps = similarity_transform(faces[0].kps, kps), faces[0].kps
        for key, drawers in drawer_sets.items():
            inputs, truth, styles, names = parts[key]
            drawings = {"sketch": sketch} if drawers is None else {k: f(photo, photo_kps) for k, f in drawers.items()}
            for style, drawing in drawings.items():
                inputs.append(np.repeat(warp_affine(drawing, M, size)[..., None], 3, axis=2))
                truth.append(len(targets))
                styles.append(style)
                names.append(pair.name if drawers is None else f"{style}/{pair.name}")
        targets.append(warp_affine(photo, M, size))
    photos = np.stack(targets)
    return {
        key: Column(inputs, photos, np.array(truth), styles, names)
        for key, (inputs, truth, styles, names) in parts.items()
    }


def product_round_trips(threads: int = 2) -> dict[str, dict[str, DrawFn]]:
    """Drawing functions of the shipped ``sketch`` and ``draw`` models, for the round-trip columns.

    Each draws a photo in the model's own crop template (found from the photo's landmarks)
    and warps the drawing back (:func:`portraitcli.data.stylized.sketch_in_frame`). A task
    with no usable shipped model is left out.

    Returns:
        {"sketch_roundtrip": {model name: fn}, "draw_roundtrip": {"<model name> style <s>": fn}}.
    """
    import functools

    from portraitcli.data.stylized import sketch_in_frame
    from portraitcli.errors import WeightsError
    from portraitcli.models.base import load_model
    from portraitcli.models.draw import STYLES

    round_trips: dict[str, dict[str, DrawFn]] = {}
    for task, kwargs in (("sketch", [{}]), ("draw", [{"style": s} for s in STYLES])):
        try:
            model = load_model(task, "cpu", threads)
        except WeightsError:
            continue
        round_trips[f"{task}_roundtrip"] = {
            " ".join([model.spec.name, *(f"{k} {v}" for k, v in kw.items())]): functools.partial(
                sketch_in_frame, model=model, **kw
            )
            for kw in kwargs
        }
    return round_trips


def mean_training_face(pairs_dir: Path, record: dict) -> np.ndarray | None:
    """(S, S, 3) uint8 mean of the training targets of a pairs folder (S its ``size``); None without them."""
    paths = [pairs_dir / "train" / "target" / f"{n}.png" for n in sorted(record.get("train", {}))]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    total = np.zeros((), np.float64)
    for p in paths:
        total = total + read_image(p).rgb
    return np.round(total / len(paths)).astype(np.uint8)


def query_rows(col: Column, frr_faces: int | None, seed: int = 0) -> np.ndarray:
    """Indices of the inputs of ``col`` that query the gallery for FRR and FCR.

    All of them by default; with ``frr_faces`` the inputs of a seeded choice of that many
    target faces, the same faces in every style (the gallery stays whole). dlib's
    descriptor is the benchmark's slow part (about 50 ms a face on one core).
    """
    present = np.unique(col.truth)  # the target faces that have inputs (all, without test_faces)
    if frr_faces is None or frr_faces >= len(present):
        return np.arange(len(col.inputs))
    chosen = np.random.default_rng(seed).choice(present, frr_faces, replace=False)
    return np.flatnonzero(np.isin(col.truth, chosen))


def score(
    recover: RecoverFn,
    columns: dict[str, Column],
    descriptor: Any,
    box: tuple,
    galleries: dict[str, np.ndarray],
    queries: dict[str, np.ndarray] | None = None,
    skin: np.ndarray | None = None,
) -> tuple[dict, dict]:
    """Metrics of one method over all columns, and its outputs per column.

    ``galleries`` holds each column's (M, 128) descriptors of the real faces, computed once
    for all methods. PSNR and SSIM average over every input; FRR and FCR over each column's
    ``queries`` rows (:func:`query_rows`; all inputs when None). Outputs of another size
    than the targets are resized to them first (Pillow bicubic,
    :func:`~portraitcli.models.destylize.resize_square`): a model of another resolution
    (destylize-v5's 128 px on 256 px pairs) is scored on the same targets. With ``skin`` (the
    template's :func:`~portraitcli.metrics.color.skin_mask`), also ``skin_de_X``: the mean
    over the column's inputs of the CIE76 delta E between the recovered and the real face's
    mean skin colours (:func:`~portraitcli.metrics.color.skin_delta_e`; 0 is the same tone).
    """
    from portraitcli.metrics.color import skin_delta_e
    from portraitcli.metrics.identity import consistency_ratio, retrieval_ratio
    from portraitcli.models.destylize import resize_square

    metrics: dict[str, float] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    by_style: dict[str, np.ndarray] = {}
    for key, col in columns.items():
        side = col.targets.shape[1]
        outs = [resize_square(recover(x), side) for x in col.inputs]
        outputs[key] = outs
        metrics[f"psnr_{key}"] = float(np.mean([psnr(o, col.targets[t]) for o, t in zip(outs, col.truth)]))
        metrics[f"ssim_{key}"] = float(np.mean([ssim(o, col.targets[t]) for o, t in zip(outs, col.truth)]))
        if skin is not None:
            des = [skin_delta_e(o, col.targets[t], skin) for o, t in zip(outs, col.truth)]
            metrics[f"skin_de_{key}"] = float(np.mean(des))
        rows = query_rows(col, None) if queries is None else queries[key]
        q = descriptor.embed([outs[i] for i in rows], box=box)
        truth, styles = col.truth[rows], [col.styles[i] for i in rows]
        g = galleries[key]
        metrics[f"frr1_{key}"] = retrieval_ratio(q, g, 1, truth)["top1"]
        metrics[f"frr5_{key}"] = retrieval_ratio(q, g, 5, truth)["top5"]
        if key in ("seen", "unseen"):
            for style in sorted(set(styles)):
                in_style = [i for i, s in enumerate(styles) if s == style]
                by_style[f"{key}/{style}"] = q[in_style][np.argsort(truth[in_style])]
    if len(by_style) >= 2:
        metrics["fcr"] = consistency_ratio(by_style)["consistency"]
    return metrics, outputs


def onnx_recover(path: Path, threads: int = 2) -> RecoverFn:
    """A recover function from an ONNX file with the destylize contract."""
    from portraitcli.models.destylize import DestylizeModel
    from portraitcli.runtime.session import create_session

    return DestylizeModel(None, create_session(str(path), "cpu", threads)).run  # type: ignore[arg-type]
