"""Training of the destylize model (IFRP) on the pairs of ``portrait data stylized-pairs``.

Reference:
    Shiri et al., "Identity-preserving Face Recovery from Portraits", WACV 2018, eq. 1-5. With
    x the stylized, misaligned input, y the aligned real face, G the SRN and D the DN::

        L_G = ||G(x) - y||^2 + lambda_n * BCE(D(G(x)), 1) + eta_n * sum_l ||phi_l(G(x)) - phi_l(y)||^2
        L_D = BCE(D(y), 1) + BCE(D(G(x)), 0)

    where ||.||^2 is the squared Frobenius norm of one image (summed over its pixels or
    feature elements) and every term is averaged over the batch, as in the paper; phi are the
    ImageNet MobileNetV2 feature maps standing in for the paper's VGG-19 relu3_2 (not
    obtainable offline), lambda_n = max(1e-2 * 0.995^n, 1e-2 / 2) and
    eta_n = max(1e-3 * 0.995^n, 1e-3 / 2) at epoch n. The paper trains both networks with
    RMSprop (lr 1e-3, batch 64); the default here is Adam at batch 8 (see ``DestylizeConfig``).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F_nn
from rich.console import Console
from rich.progress import track

from portraitcli.data.stylized import (
    load_model_sketches,
    misalignment_theta,
    model_sketches_record,
    read_record,
    rescale_misalignment,
)
from portraitcli.evaluation.sketch import dodge_and_burn
from portraitcli.io import read_image
from portraitcli.metrics.identity import FaceDescriptor, retrieval_ratio, template_box
from portraitcli.metrics.pixel import psnr, ssim
from portraitcli.models.destylize import crops_to_input, output_to_faces
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run
from portraitcli.train.common.losses import LEGACY_SSIM_RANGE, FaceIdentityLoss, ssim_map
from portraitcli.train.common.networks import SEUNet
from portraitcli.train.common.perceptual import PerceptualFeatures
from portraitcli.train.destylize.config import DestylizeConfig
from portraitcli.train.destylize.networks import (
    DN,
    SRN,
    AlignedUNet,
    CanvasHead,
    affine_warp,
    first_theta,
    output_head,
    set_output_head,
)

ARCHS = ("srn", "unet", "mobilenet")
SKETCH_SOURCES = ("dodge", "model", "model+draw")


def load_pairs(pairs_dir: Path, split: str = "train") -> tuple[list[str], np.ndarray, np.ndarray]:
    """The (input, target) pairs of ``pairs_dir/train``: names, inputs and targets (N, S, S, 3)
    uint8 (S the pairs' ``size``, 128 or 256 px).

    Raises:
        UsageError: the folder is not a ``portrait data stylized-pairs`` output.
    """
    names = sorted(read_record(pairs_dir)[split])
    inputs = np.stack([read_image(pairs_dir / split / "input" / f"{n}.jpg").rgb for n in track(names, "reading")])
    targets = np.stack([read_image(pairs_dir / split / "target" / f"{n}.png").rgb for n in names])
    return names, inputs, targets


def load_thetas(record: dict, names: list[str]) -> np.ndarray:
    """The recorded misalignment of each training input as ``affine_grid`` matrices.

    Args:
        record: the pairs' ``pairs.json`` (:func:`~portraitcli.data.stylized.read_record`).

    Returns:
        (N, 2, 3) float32, in ``names`` order (:func:`~portraitcli.data.stylized.misalignment_theta`).
    """
    size = record["config"]["render"]
    return np.stack([misalignment_theta(record["train"][n]["misalignment"], size) for n in names])


def random_grayscale(images: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Each image replaced by its grayscale with probability ``p``, as torchvision's ``RandomGrayscale``.

    Args:
        images: (N, H, W, 3) uint8 RGB.
        p: probability in [0, 1]; 0 returns ``images`` itself and draws nothing from ``rng``.

    Returns:
        (N, H, W, 3) uint8; a chosen image holds its luma Y = 0.299 R + 0.587 G + 0.114 B
        (ITU-R BT.601, OpenCV's ``COLOR_RGB2GRAY``) in all three channels.
    """
    if p <= 0:
        return images
    chosen = rng.random(len(images)) < p
    if not chosen.any():
        return images
    out = images.copy()
    for i in np.flatnonzero(chosen):
        out[i] = cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY)[..., None]
    return out


def load_jitters(record: dict, names: list[str], size: int) -> np.ndarray:
    """The recorded misalignment of each training input in a ``size`` px frame.

    Returns:
        (N, 2, 3) float64 ``cv2.warpAffine`` matrices, aligned -> misaligned pixels, in
        ``names`` order (:func:`~portraitcli.data.stylized.rescale_misalignment`).
    """
    render = record["config"]["render"]
    return np.stack([rescale_misalignment(record["train"][n]["misalignment"], render, size) for n in names])


def pencil_sketch_dodge(rgb: np.ndarray, sigma: float, shade: float) -> np.ndarray:
    """:func:`~portraitcli.evaluation.sketch.dodge_and_burn` in all three channels: (H, W, 3) uint8."""
    return np.repeat(dodge_and_burn(rgb, sigma, shade)[..., None], 3, axis=2)


def random_sketch(
    inputs: np.ndarray,
    faces: np.ndarray,
    jitters: np.ndarray,
    p: float,
    rng: np.random.Generator,
    drawn: np.ndarray | None = None,
) -> np.ndarray:
    """Each input replaced with probability ``p`` by a pencil sketch of its real face, misaligned as the input.

    The face is warped by its recorded misalignment (border reflected) and drawn by
    :func:`pencil_sketch_dodge` with ``sigma`` log-uniform in [2, 8] px and ``shade``
    uniform in [0, 0.6] (at 128 px; the range spans thin outlines to shaded drawings), or,
    given ``drawn``, that aligned drawing is warped instead (one of its drawings, uniformly
    at random, where each face has several).

    Args:
        inputs: (N, H, W, 3) uint8 RGB, the stylized inputs.
        faces: (N, H, W, 3) uint8 RGB, the aligned real faces (the targets).
        jitters: (N, 2, 3) float, :func:`load_jitters` at H px.
        p: probability in [0, 1]; 0 returns ``inputs`` itself and draws nothing from ``rng``.
        drawn: (N, H, W) or (N, K, H, W) uint8, aligned drawings of ``faces``
            (:func:`load_drawings`), or None for the dodge filter.

    Returns:
        (N, H, W, 3) uint8.
    """
    if p <= 0:
        return inputs
    chosen = rng.random(len(inputs)) < p
    params = np.stack([np.exp(rng.uniform(np.log(2), np.log(8), len(inputs))), rng.uniform(0, 0.6, len(inputs))], 1)
    if not chosen.any():
        return inputs
    # which of several drawings per face (drawn only then, so other runs keep their random stream)
    which = rng.integers(0, drawn.shape[1], len(inputs)) if drawn is not None and drawn.ndim == 4 else None
    out = inputs.copy()
    h, w = inputs.shape[1:3]
    for i in np.flatnonzero(chosen):
        if drawn is None:
            source = faces[i]
        else:
            source = drawn[i] if which is None else drawn[i, which[i]]
        moved = cv2.warpAffine(source, jitters[i], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        out[i] = pencil_sketch_dodge(moved, *params[i]) if drawn is None else moved[..., None]
    return out


def load_drawings(pairs_dir: Path, names: list[str], sketch_source: str) -> np.ndarray | None:
    """The model drawings ``sketch_source`` trains on, in ``names`` order: (N, H, W) uint8 for
    ``model`` (the sketch model's), (N, 2, H, W) for ``model+draw`` (the sketch model's and the
    draw model's), None for ``dodge``.

    Raises:
        UsageError: the drawings were not made (:func:`~portraitcli.data.stylized.load_model_sketches`).
    """
    if sketch_source == "dodge":
        return None
    if sketch_source == "model":
        return load_model_sketches(pairs_dir, names)
    return np.stack([load_model_sketches(pairs_dir, names, task) for task in ("sketch", "draw")], 1)


def describe_training_data(data_name: str, cfg: DestylizeConfig, pairs_dir: Path) -> str:
    """The training data in words, as the manifest records it: ``data_name`` (the pairs,
    written when the run started) plus the sketch inputs of ``cfg``, the run's last
    configuration (a resume may have added them)."""
    if not cfg.draws_sketches:
        return data_name

    def drawn_by(task: str) -> str:
        return (model_sketches_record(pairs_dir, task) or {}).get("model", f"the shipped {task} model")

    if cfg.sketch_source == "model":
        what = f"{drawn_by('sketch')}'s drawings of their real faces (portrait data pair-sketches)"
    elif cfg.sketch_source == "model+draw":
        what = (
            f"{drawn_by('sketch')}'s or {drawn_by('draw')}'s drawings of their real faces, half each (draw's in a "
            "random style per face; portrait data pair-sketches --task sketch / draw)"
        )
    else:
        what = "colour-dodge pencil sketches of their real faces"
    return f"{data_name}; from epoch {cfg.sketch_from_epoch + 1}, {cfg.p_sketch:.0%} of the inputs were {what}"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1], as the shipped model's input."""
    return torch.from_numpy(crops_to_input(images))


def to_images(t: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] -> (N, H, W, 3) uint8, as the shipped model's output."""
    return output_to_faces(t.detach().cpu().numpy())


def build(cfg: DestylizeConfig, pretrained: bool = True) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The generator of ``cfg.arch`` at ``cfg.size`` and the DN (``pretrained`` False: the
    ImageNet encoders of ``mobilenet`` start random, for shape tests)."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {cfg.arch!r}")
    if cfg.arch == "srn":
        G: torch.nn.Module = SRN(cfg.channels, cfg.use_stn, cfg.skips, cfg.stn_grid, size=cfg.size)
    elif cfg.arch == "mobilenet":
        G = AlignedUNet(cfg.size, pretrained)
    else:
        G = SEUNet(3, 3, cfg.channels, use_se=False)
    if cfg.mean_canvas:
        set_output_head(G, CanvasHead(output_head(G), cfg.size))
    return G, DN(cfg.ndf)


def optimizers(cfg: DestylizeConfig, G: torch.nn.Module, D: torch.nn.Module) -> tuple[torch.optim.Optimizer, ...]:
    """The optimizers of G and D named by ``cfg.optimizer`` (``adam`` or ``rmsprop``).

    Raises:
        ValueError: another name.
    """
    if cfg.optimizer == "adam":
        return tuple(torch.optim.Adam(m.parameters(), cfg.lr, betas=(cfg.beta1, 0.999)) for m in (G, D))
    if cfg.optimizer == "rmsprop":
        return tuple(torch.optim.RMSprop(m.parameters(), cfg.lr) for m in (G, D))
    raise ValueError(f"optimizer must be adam or rmsprop, got {cfg.optimizer!r}")


def decayed(weight: float, epoch: int) -> float:
    """IFRP's per-epoch decay of a loss weight: ``max(w * 0.995^n, w / 2)``."""
    return max(weight * 0.995**epoch, weight / 2)


class ValidationRetrieval:
    """Face retrieval ratio of recovered validation faces among the real validation faces.

    The benchmark's protocol (:func:`~portraitcli.metrics.identity.retrieval_ratio`, dlib
    descriptors at the template's face box) on the held-out training pairs, so the identity
    can be followed and tuned without the test split. The gallery is small (``n_val``
    faces against the benchmark's 1,000), so the ratios run higher than the test's.

    Args:
        targets: (N, 128, 128, 3) uint8 RGB real faces, the gallery (query i's identity is i).
        kps: (5, 2) template landmarks (the pairs record's ``template["kps"]``).
    """

    def __init__(self, targets: np.ndarray, kps: np.ndarray) -> None:
        self.descriptor = FaceDescriptor()
        self.box = template_box(np.asarray(kps))
        self.gallery = self.descriptor.embed(targets, self.box)

    def __call__(self, faces: np.ndarray) -> dict[str, float]:
        """(N, 128, 128, 3) uint8 recovered faces, in the targets' order -> ``val_frr1``, ``val_frr5``."""
        query = self.descriptor.embed(faces, self.box)
        return {f"val_frr{k}": retrieval_ratio(query, self.gallery, k)[f"top{k}"] for k in (1, 5)}


def evaluate(
    G: torch.nn.Module,
    inputs: np.ndarray,
    targets: np.ndarray,
    device: str,
    batch: int = 32,
    thetas: np.ndarray | None = None,
    retrieval: ValidationRetrieval | None = None,
    prefix: str = "val_",
) -> dict:
    """Mean PSNR (dB) and SSIM (Wang setting, RGB) of G on pairs; with ``thetas`` the
    inputs' misalignment is undone first (``oracle_align``); with ``retrieval`` (built on
    these ``targets``) also the retrieval ratios ``val_frr1`` / ``val_frr5`` in [0, 1].
    Keys start with ``prefix`` instead of ``val_`` where given."""
    G.eval()
    ps, ss, faces = [], [], []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            x = to_tensor(inputs[i : i + batch]).to(device)
            if thetas is not None:
                x = affine_warp(x, torch.from_numpy(thetas[i : i + batch]).to(device))
            out = to_images(G(x))
            faces.append(out)
            for o, t in zip(out, targets[i : i + batch]):
                ps.append(psnr(o, t))
                ss.append(ssim(o, t))
    G.train()
    scores = {"val_psnr": float(np.mean(ps)), "val_ssim": float(np.mean(ss))}
    if retrieval is not None:
        scores.update(retrieval(np.concatenate(faces)))
    return {prefix + k.removeprefix("val_"): v for k, v in scores.items()}


def sketch_validation(data: Path | None, cfg: DestylizeConfig, template: dict) -> tuple | None:
    """The sketch validation set: (inputs, targets, retrieval or None), or None when
    ``cfg.val_sketch`` is off, the run is ``oracle_align`` or ``data`` holds no CUFS.

    The CUFS CUHK-student *training* sketches and photos in the template framing
    (:func:`~portraitcli.evaluation.destylize.cufs_sketch_column`), so that the test
    sketches of the benchmark stay unseen by every choice made on the validation.
    """
    if not cfg.val_sketch or cfg.oracle_align or data is None or not (data / "cufs").is_dir():
        return None  # an oracle_align model needs each input's recorded misalignment
    from portraitcli.evaluation.destylize import cufs_sketch_column

    col = cufs_sketch_column(data, template, split="train")
    inputs = np.stack(col.inputs)
    retrieval = ValidationRetrieval(col.targets, template["kps"]) if cfg.val_retrieval else None
    return inputs, col.targets, retrieval


def validation_scores(
    G: torch.nn.Module,
    device: str,
    inputs: np.ndarray,
    targets: np.ndarray,
    thetas: np.ndarray | None,
    retrieval: ValidationRetrieval | None,
    sketches: tuple | None,
) -> dict:
    """An epoch's validation record: :func:`evaluate` on the held-out pairs (``thetas``: their
    misalignment undone, ``oracle_align``) and, given :func:`sketch_validation`'s set, on the
    sketches with keys ``val_sketch_*``."""
    scores = evaluate(G, inputs, targets, device, thetas=thetas, retrieval=retrieval)
    if sketches is not None:
        s_inputs, s_targets, s_retrieval = sketches
        scores.update(evaluate(G, s_inputs, s_targets, device, retrieval=s_retrieval, prefix="val_sketch_"))
    return scores


def validation_split(n: int, cfg: DestylizeConfig) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (validation, training) of ``n`` training pairs: ``cfg.n_val`` held out, seeded."""
    order = np.random.default_rng([cfg.seed, 5]).permutation(n)
    return np.sort(order[: cfg.n_val]), np.sort(order[cfg.n_val :])


def validate_run(run_dir: Path, pairs_dir: Path, data: Path | None, checkpoint: Path | None = None) -> dict:
    """A run's validation scores, as its log records them, for any saved checkpoint.

    For checkpoints logged before a validation existed (``val_sketch``) or to score another
    epoch again. Uses the run's own config, held-out pairs and template; the sketch
    validation runs whenever ``data`` holds CUFS, whatever the run's ``val_sketch`` (not for
    ``oracle_align`` runs: :func:`sketch_validation`).

    Args:
        checkpoint: a ``checkpoints/epoch-NNNN.pt``; default the newest.

    Returns:
        ``{"epoch", "val_psnr", "val_ssim", "val_frr1", "val_frr5"}`` plus ``val_sketch_*``
        (PSNR in dB, the rest in [0, 1]).

    Raises:
        UsageError: no checkpoint, ``checkpoint`` does not exist, or ``run_dir`` is not a
            destylize run folder.
    """
    from portraitcli.errors import UsageError
    from portraitcli.train.common.checkpoint import latest_checkpoint, load_checkpoint
    from portraitcli.train.common.runs import saved_config

    checkpoint = checkpoint or latest_checkpoint(run_dir)
    if checkpoint is None or not (run_dir / "config.json").is_file():
        raise UsageError(f"{run_dir}: not a destylize run folder with a checkpoint")
    if not checkpoint.is_file():
        kept = ", ".join(sorted(f.name for f in checkpoint.parent.glob("epoch-*.pt"))) or "none"
        raise UsageError(f"{checkpoint}: no such checkpoint (kept: {kept})")
    cfg = saved_config(DestylizeConfig, json.loads((run_dir / "config.json").read_text())["config"])
    cfg = replace(cfg, val_retrieval=True, val_sketch=True)
    names, inputs, targets = load_pairs(pairs_dir)
    record = read_record(pairs_dir)
    template = record["template"]
    val_idx = validation_split(len(names), cfg)[0]
    thetas = load_thetas(record, names)[val_idx] if cfg.oracle_align else None  # as the trainer validates
    G = build(cfg)[0]
    epoch = int(load_checkpoint(checkpoint, {"G": G})["epoch"])
    torch.set_num_threads(cfg.threads)
    retrieval = ValidationRetrieval(targets[val_idx], template["kps"])
    sketches = sketch_validation(data, cfg, template)
    return {
        "epoch": epoch,
        **validation_scores(G, "cpu", inputs[val_idx], targets[val_idx], thetas, retrieval, sketches),
    }


def train(
    cfg: DestylizeConfig, pairs_dir: Path, run_dir: Path, console: Console | None = None, data: Path | None = None
) -> Path:
    """Train (or resume) a destylize model in ``run_dir``; return the final checkpoint.

    ``cfg.n_val`` training pairs (seeded) are held out as the validation set; with ``data``
    (the datasets folder) also the CUFS training sketches (:func:`sketch_validation`).
    Resumes from the newest checkpoint; epoch e's order, grayscale and sketch draws depend
    only on (seed, e).

    Raises:
        UsageError: bad pairs folder, unknown ``sketch_source``, or its model sketches missing.
    """
    from portraitcli.errors import UsageError

    if cfg.sketch_source not in SKETCH_SOURCES:
        raise UsageError(f"sketch_source must be one of {SKETCH_SOURCES}, got {cfg.sketch_source!r}")
    console = console or Console(stderr=True)
    seed_run(cfg)
    names, inputs, targets = load_pairs(pairs_dir)
    if targets.shape[1] != cfg.size:
        raise UsageError(
            f"{pairs_dir} holds {targets.shape[1]} px pairs; train them with --set size={targets.shape[1]}"
        )
    record = read_record(pairs_dir)
    thetas = load_thetas(record, names) if cfg.oracle_align or cfg.align_weight > 0 else None
    jitters = load_jitters(record, names, targets.shape[1]) if cfg.draws_sketches else None
    drawn = load_drawings(pairs_dir, names, cfg.sketch_source) if cfg.draws_sketches else None
    val_idx, train_idx = validation_split(len(names), cfg)
    retrieval = ValidationRetrieval(targets[val_idx], record["template"]["kps"]) if cfg.val_retrieval else None
    sketches = sketch_validation(data, cfg, record["template"])
    G, D = build(cfg)
    G.to(cfg.device)
    D.to(cfg.device)
    phi = PerceptualFeatures(cfg.id_layers).to(cfg.device) if cfg.eta_id > 0 else None
    facenet = None
    if cfg.lambda_facenet > 0:
        from portraitcli.nets.facenet import FaceNet, face_crop_box

        facenet = FaceIdentityLoss(
            FaceNet().to(cfg.device), face_crop_box(template_box(record["template"]["kps"])), cfg.lambda_facenet
        )
    opt_G, opt_D = optimizers(cfg, G, D)
    sched_G = torch.optim.lr_scheduler.ExponentialLR(opt_G, cfg.lr_decay)
    sched_D = torch.optim.lr_scheduler.ExponentialLR(opt_D, cfg.lr_decay)
    objects = {"G": G, "D": D, "opt_G": opt_G, "opt_D": opt_D, "sched_G": sched_G, "sched_D": sched_D}

    def init_canvas() -> None:
        head = output_head(G)
        if isinstance(head, CanvasHead):
            # the mean in numpy: a float tensor of every training face would take about 1 GB
            head.init_canvas(to_tensor(targets[train_idx].mean(0, keepdims=True))[0].to(cfg.device))

    extra = {
        "task": "destylize",
        "data": str(pairs_dir),
        "data_name": f"UTKFace stylized pairs ({len(train_idx)} train, seen styles {record['seen_styles']})",
        "n_train": len(train_idx),
        "n_val": len(val_idx),
    }
    run = start_run(run_dir, cfg, objects, extra, record["template"], console, on_fresh=init_canvas)
    ssim_range = (-1.0, 1.0) if cfg.ssim_as_evaluated else LEGACY_SSIM_RANGE

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        batches = shuffled_batches(train_idx, cfg.batch_size, rng)
        if cfg.epoch_pairs > 0:
            batches = batches[: max(1, cfg.epoch_pairs // cfg.batch_size)]
        lam, eta = decayed(cfg.lambda_adv, epoch), decayed(cfg.eta_id, epoch)
        meter = LossMeter()
        for idx in track(batches, f"epoch {epoch + 1}/{cfg.epochs}", console=console, transient=True):
            x_np = random_grayscale(inputs[idx], cfg.p_gray, rng)
            if jitters is not None and epoch >= cfg.sketch_from_epoch:
                x_np = random_sketch(
                    x_np, targets[idx], jitters[idx], cfg.p_sketch, rng, None if drawn is None else drawn[idx]
                )
            x = to_tensor(x_np).to(cfg.device)
            y = to_tensor(targets[idx]).to(cfg.device)
            theta = None if thetas is None else torch.from_numpy(thetas[idx]).to(cfg.device)
            if cfg.oracle_align:
                x = affine_warp(x, theta)  # type: ignore[arg-type]  # undo the misalignment
            align = (theta, cfg.align_weight) if cfg.align_weight > 0 else None
            meter.add(
                _step(
                    G, D, phi, opt_G, opt_D, x, y, lam, eta, align, cfg.r1_gamma, cfg.lambda_ssim, ssim_range, facenet
                )
            )
        return {**meter.mean(), "lambda_adv": lam, "eta_id": eta, "pairs": len(batches) * cfg.batch_size}

    def validate(epoch: int) -> dict[str, float]:
        val_thetas = thetas[val_idx] if cfg.oracle_align and thetas is not None else None
        return validation_scores(G, cfg.device, inputs[val_idx], targets[val_idx], val_thetas, retrieval, sketches)

    return fit(run, cfg, objects, train_epoch, optimizer=opt_G, validate=validate, eval_every=cfg.eval_every)


def _frobenius_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_i||_F^2`` per sample (summed over all its elements), averaged over the batch."""
    return (a - b).pow(2).flatten(1).sum(1).mean()


def _step(
    G: torch.nn.Module,
    D: torch.nn.Module,
    phi: PerceptualFeatures | None,
    opt_G: torch.optim.Optimizer,
    opt_D: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    eta: float,
    align: tuple[torch.Tensor, float] | None = None,
    r1_gamma: float = 0.0,
    lambda_ssim: float = 0.0,
    ssim_range: tuple[float, float] = (-1.0, 1.0),
    facenet: FaceIdentityLoss | None = None,
) -> dict[str, float]:
    """One step: G on pixel + adversarial + identity losses (the module docstring's L_G), then D.

    ``align`` = (target (N, 2, 3) matrices, weight) adds the weight times
    ``||theta - target||_F^2`` (batch mean) of the generator's first spatial transformer
    (:func:`~portraitcli.train.destylize.networks.first_theta`). ``r1_gamma`` > 0
    adds the R1 penalty to L_D (Mescheder et al., "Which Training Methods for GANs do actually
    Converge?", ICML 2018, eq. 9): ``gamma / 2 * ||grad_y D(y)||^2`` on the real faces, batch
    mean, logged as ``loss_r1`` (the squared norm, before the weight). ``lambda_ssim`` > 0
    adds ``lambda_ssim * sum(1 - SSIM map)`` to L_G, summed over an image's valid SSIM map (the
    evaluation's SSIM, :func:`~portraitcli.train.common.losses.ssim_map` with ``ssim_range``
    the images' value range) like the other terms, batch mean; logged as ``loss_ssim``,
    ``1 - mean SSIM``. ``facenet`` adds its weighted cosine identity distance
    (:class:`FaceIdentityLoss`), logged as ``loss_facenet`` (the distance, before the weight).

    Returns the per-element means for the log (``loss_pixel``: MSE in [-1, 1] units,
    ``loss_id``: feature MSE, ``loss_align``: squared error per matrix entry), not the
    per-image sums that are optimized.
    """
    fake = G(x)
    sse_align = torch.zeros((), device=x.device)
    if align is not None:
        sse_align = _frobenius_sq(first_theta(G), align[0])
    D.requires_grad_(False)
    logits = D(fake)
    sse_pixel = _frobenius_sq(fake, y)
    loss_adv = F_nn.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    sse_id = torch.zeros((), device=x.device)
    n_id = 1
    if phi is not None:
        pairs = list(zip(phi(fake), phi(y)))
        sse_id = sum(_frobenius_sq(a, b) for a, b in pairs)  # type: ignore[assignment]
        n_id = sum(a[0].numel() for a, _ in pairs)
    dssim = None
    if lambda_ssim > 0:
        dssim = 1 - ssim_map(fake, y, ssim_range)
    id_fn = facenet.distance(fake, y) if facenet is not None else None
    opt_G.zero_grad(set_to_none=True)
    (
        sse_pixel
        + lam * loss_adv
        + eta * sse_id
        + (align[1] * sse_align if align else 0)
        + (lambda_ssim * dssim.flatten(1).sum(1).mean() if dssim is not None else 0)
        + (facenet.weight * id_fn if id_fn is not None and facenet is not None else 0)
    ).backward()
    opt_G.step()
    D.requires_grad_(True)
    real = y.detach().requires_grad_(r1_gamma > 0)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_D = F_nn.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F_nn.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    r1 = None
    if r1_gamma > 0:
        (grad_real,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        r1 = grad_real.pow(2).flatten(1).sum(1).mean()
        loss_D = loss_D + r1_gamma / 2 * r1
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    out = {
        "loss_pixel": sse_pixel.item() / fake[0].numel(),
        "loss_adv": loss_adv.item(),
        "loss_id": float(sse_id.detach()) / n_id,
        "loss_D": loss_D.item(),
    }
    if align is not None:
        out["loss_align"] = sse_align.item() / 6
    if r1 is not None:
        out["loss_r1"] = r1.item()
    if dssim is not None:
        out["loss_ssim"] = dssim.mean().item()
    if id_fn is not None:
        out["loss_facenet"] = id_fn.item()
    if not all(math.isfinite(v) for v in out.values()):
        raise FloatingPointError(f"non-finite loss: {out}")
    return out
