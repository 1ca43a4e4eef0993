"""Training of the 3-D reconstruction: Unsup3d's photo-geometric autoencoder, on real faces.

Reference:
    S. Wu, C. Rupprecht, A. Vedaldi, "Unsupervised Learning of Probably Symmetric
    Deformable 3D Objects from Images in the Wild", CVPR 2020 (Unsup3d). No 3-D labels:
    the networks explain each face as depth, albedo, viewpoint and light, and the renderer
    (:mod:`portraitcli.train.recon3d.renderer`) must reproduce the face from them; the face
    is assumed probably symmetric, so the horizontally flipped depth and albedo must also
    reproduce it, with the confidence maps saying where it is not symmetric::

        L = l1(I^, I, s1) + lambda_flip l1(I^', I, s1') + lambda_perc (perc(I^, I, s2)
            + lambda_flip perc(I^', I, s2')) + lambda_smooth |grad d|

    ``I^`` the reconstruction, ``I^'`` the one from the flipped depth and albedo; the last
    term is the depth smoothness of the 3-D cartoon paper (lambda 0.01). Adam, lr 1e-4.
    Before it, the depth network starts from a shape prior (:func:`fit_prior`; the paper's
    ellipsoid or the 3-D face model's mean face) and the view network from the viewpoints
    solved from each face's landmarks (:func:`fit_views`), which also weakly supervise the
    viewpoint during training (``lambda_view``).

Not in the paper: with ``synth_train``, each step also takes a batch of synthetic faces with
known shape (:func:`synthetic_batch`) and supervises the view-depth network on them
(:func:`synthetic_loss`; recon3d-v2), optionally also the canonical depth and viewpoint.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from portraitcli.face.shape import mean_face_depth
from portraitcli.models.recon3d import ellipsoid_depth
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run
from portraitcli.train.common.perceptual import PerceptualFeatures
from portraitcli.train.recon3d.config import Recon3dConfig
from portraitcli.train.recon3d.data import (
    aligned_faces,
    cached_landmark_views,
    cartoon_faces,
    synthetic_faces,
    synthetic_template,
)
from portraitcli.train.recon3d.losses import perceptual_nll, photometric_loss, smoothness_loss
from portraitcli.train.recon3d.networks import ROTATION_RANGE, InferenceNet, Recon3dNet
from portraitcli.train.recon3d.renderer import render

DATASETS = ("utkface", "cartoon", "both")
PRIORS = ("mean-face", "ellipsoid")
PRIOR_BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)


def to_tensor(faces: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 RGB -> (N, 3, S, S) float32 in [-1, 1]."""
    return torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def view_loss(view: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean squared yaw error in units of ``ROTATION_RANGE``; ``labels`` (N, 2) pitch, yaw in degrees, NaN rows skipped.

    Only the yaw is supervised: five landmarks determine the pitch weakly (r = 0.50 against
    the rendered pose on synthetic faces, against 0.93 for the yaw) and with a bias (mean
    -9.5 degrees over the UTKFace training faces), so the pitch is left to the photometric losses.
    """
    known = ~labels[:, 1].isnan()
    if not known.any():
        return view.new_zeros(())
    return (((view[known, 1] - labels[known, 1]) / ROTATION_RANGE) ** 2).mean()


def random_views(n: int, cfg: Recon3dConfig, rng: np.random.Generator) -> torch.Tensor:
    """(n, 6) viewpoints: pitch, yaw uniform in +-``cfg.pseudo_pitch``, +-``cfg.pseudo_yaw`` degrees; the rest 0."""
    views = np.zeros((n, 6), np.float32)
    views[:, 0] = rng.uniform(-cfg.pseudo_pitch, cfg.pseudo_pitch, n)
    views[:, 1] = rng.uniform(-cfg.pseudo_yaw, cfg.pseudo_yaw, n)
    return torch.from_numpy(views)


def pseudo_view_loss(
    net: Recon3dNet,
    out: dict[str, torch.Tensor],
    image: torch.Tensor,
    cfg: Recon3dConfig,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Viewpoint self-supervision from the model's own faces turned to random views.

    Each face's reconstruction (its predicted depth, albedo and light, detached) is rendered
    from a random pitch and yaw (:func:`random_views`); where the turned face leaves the
    frame empty, the photo's own pixels fill it. The view network must then read that pitch
    and yaw back: the mean squared error in units of ``ROTATION_RANGE``. Only the view
    network learns from it. The landmarks supervise the yaw of real faces but hardly the
    pitch (:func:`view_loss`), and left to the photometric losses both came out compressed
    (run 00018: predicted yaw = 0.48 x the true one on synthetic faces, the pitch nearly
    constant); this teaches the whole range. After GAN2Shape's random-view pseudo samples
    (Pan et al., "Do 2D GANs Know 3D Shape?", ICLR 2021), here used for the viewpoint only.
    """
    views = random_views(image.shape[0], cfg, rng).to(image.device)
    with torch.no_grad():
        turned, _, mask = render(
            out["depth"].detach(), out["albedo"].detach(), views, out["light"].detach(), iterations=cfg.warp_iterations
        )
        turned = torch.where(mask[:, None] > 0.5, turned, image)
    pred = net.predict_view(turned)
    return (((pred[:, :2] - views[:, :2]) / ROTATION_RANGE) ** 2).mean()


def losses(
    net: Recon3dNet,
    features: PerceptualFeatures,
    image: torch.Tensor,
    cfg: Recon3dConfig,
    view_labels: torch.Tensor | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """Every loss term of one batch (N, 3, S, S) in [-1, 1]; ``loss`` is the weighted total (module docstring).

    ``view_labels`` (N, 2): the landmark pitch and yaw of each face (degrees, NaN unknown),
    for the ``lambda_view`` term; ``rng`` draws the random views of the
    ``lambda_pseudo_view`` term (:func:`pseudo_view_loss`), which is left out without it.
    """
    n = image.shape[0]
    out = net(image)
    depth = torch.cat([out["depth"], out["depth"].flip(-1)])
    albedo = torch.cat([out["albedo"], out["albedo"].flip(-1)])
    recon, _, mask = render(
        depth, albedo, out["view"].repeat(2, 1), out["light"].repeat(2, 1), iterations=cfg.warp_iterations
    )
    valid = (mask[:n] * mask[n:])[:, None]
    sigma = out["confidence"]
    with torch.no_grad():
        target_features = features(image)
    recon_features = features(recon)
    terms = {
        "loss_l1": photometric_loss(recon[:n], image, sigma[:, 0:1], valid),
        "loss_l1_flip": photometric_loss(recon[n:], image, sigma[:, 1:2], valid),
        "loss_perc": perceptual_nll([f[:n] for f in recon_features], target_features, sigma[:, 2:3], valid),
        "loss_perc_flip": perceptual_nll([f[n:] for f in recon_features], target_features, sigma[:, 3:4], valid),
        "loss_smooth": smoothness_loss(out["depth"]),
    }
    terms["loss"] = (
        terms["loss_l1"]
        + cfg.lambda_flip * terms["loss_l1_flip"]
        + cfg.lambda_perc * (terms["loss_perc"] + cfg.lambda_flip * terms["loss_perc_flip"])
        + cfg.lambda_smooth * terms["loss_smooth"]
    )
    if view_labels is not None and cfg.lambda_view > 0:
        terms["loss_view"] = view_loss(out["view"], view_labels)
        terms["loss"] = terms["loss"] + cfg.lambda_view * terms["loss_view"]
    if rng is not None and cfg.lambda_pseudo_view > 0:
        terms["loss_pseudo_view"] = pseudo_view_loss(net, out, image, cfg, rng)
        terms["loss"] = terms["loss"] + cfg.lambda_pseudo_view * terms["loss_pseudo_view"]
    return terms


#: The unit of the supervised depth terms: 0.01 camera units (a face is 0.15 high).
DEPTH_UNIT = 0.01
#: Weight of the depth's finite differences against its level in :func:`synthetic_loss`.
GRADIENT_WEIGHT = 10.0
#: Weight of the depth off the face (the far plane) against the face's in :func:`synthetic_loss`.
OFF_FACE_WEIGHT = 0.25


def synthetic_batch(
    synth: dict[str, torch.Tensor], idx: np.ndarray, photos: torch.Tensor, cfg: Recon3dConfig, rng: np.random.Generator
) -> dict[str, torch.Tensor]:
    """One batch of synthetic faces for :func:`synthetic_loss`, mirrored at random and partly re-textured.

    Args:
        synth: :func:`~portraitcli.train.recon3d.data.synthetic_faces` as tensors: ``image``
            (M, 3, S, S) in [-1, 1], ``depth``, ``mask``, ``view_depth``, ``view_mask``
            (M, S, S) (masks as float), ``view`` (M, 3).
        idx: (N,) rows to take.
        photos: (P, 3, S, S) real training faces in [-1, 1] (the re-texturing's albedos).

    A share ``cfg.synth_texture`` of the faces is re-rendered by the training renderer
    (:func:`~portraitcli.train.recon3d.renderer.render`) from its true canonical depth and
    viewpoint with a random real training face (the whole aligned photo) as albedo, lit as
    the renders are (ambient 0.3 .. 0.6, diffuse 0.4 .. 0.7, direction +-0.6): the face's
    relief carries the photo's colours, the far plane around it the photo's background. The
    renders alone are uniformly coloured masks on black, which no photo resembles.

    Returns:
        The keys of ``synth`` for the N faces.
    """
    take = torch.from_numpy(idx)
    batch = {k: v[take] for k, v in synth.items()}
    flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
    for k, v in batch.items():
        if k != "view":
            mirror = flip.view(-1, *[1] * (v.dim() - 1))
            batch[k] = torch.where(mirror, v.flip(-1), v)
    sign = torch.where(flip[:, None], torch.tensor([1.0, -1.0, -1.0]), torch.ones(3))
    batch["view"] = batch["view"] * sign  # a mirrored face turns and rolls the other way
    textured = torch.from_numpy(rng.random(len(idx)) < cfg.synth_texture)
    if textured.any():
        k = int(textured.sum())
        albedo = photos[torch.from_numpy(rng.choice(len(photos), k))]
        ambient, diffuse = rng.uniform(0.3, 0.6, k), rng.uniform(0.4, 0.7, k)
        light = np.stack([ambient, diffuse, rng.uniform(-0.6, 0.6, k), rng.uniform(-0.6, 0.6, k)], 1)
        views = torch.cat([batch["view"][textured], torch.zeros(k, 3)], 1)
        with torch.no_grad():
            drawn, _, seen = render(
                batch["depth"][textured], albedo, views, torch.from_numpy(light).float(), iterations=cfg.warp_iterations
            )
        image = batch["image"].clone()
        image[textured] = torch.where(seen[:, None] > 0.5, drawn.clamp(-1.0, 1.0), albedo)  # unseen: the photo as it is
        batch["image"] = image
    return batch


def _offset_free_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """The depth terms of :func:`synthetic_loss` for (N, S, S) maps, in units of :data:`DEPTH_UNIT`."""
    err = pred - target
    n_mask = mask.sum(dim=(1, 2), keepdim=True).clamp_min(1.0)
    err = err - (err * mask).sum(dim=(1, 2), keepdim=True) / n_mask
    off = (1.0 - mask) * inside
    level = (err.abs() * mask).sum() / n_mask.sum()
    level = level + OFF_FACE_WEIGHT * (err.abs() * off).sum() / off.sum().clamp_min(1.0)
    mx, my = mask[:, :, 1:] * mask[:, :, :-1], mask[:, 1:] * mask[:, :-1]
    gx = ((err[:, :, 1:] - err[:, :, :-1]).abs() * mx).sum() / mx.sum().clamp_min(1.0)
    gy = ((err[:, 1:] - err[:, :-1]).abs() * my).sum() / my.sum().clamp_min(1.0)
    return (level + GRADIENT_WEIGHT * (gx + gy)) / DEPTH_UNIT


def synthetic_loss(net: Recon3dNet, batch: dict[str, torch.Tensor], cfg: Recon3dConfig) -> dict[str, torch.Tensor]:
    """Supervised depth and viewpoint of synthetic faces with known shape (:func:`synthetic_batch`).

    Each depth term is the mean absolute difference between the predicted and the true
    depth over the face, up to a constant offset (the difference's mean over the face is
    removed: the networks fix the distance themselves), plus ``OFF_FACE_WEIGHT`` times the
    same over the rest of the map inside the far border (the target there is the flat far
    plane the renders show: left free, the network put surfaces in front of the face there,
    which a turned view then shows instead of the face), plus ``GRADIENT_WEIGHT`` times the
    mean absolute difference of their x and y finite differences on the face (the surface's
    orientation, which the shading shows; a pixel's step is about a tenth of the face's
    relief), in units of :data:`DEPTH_UNIT`:

    - ``loss_synth_view_depth`` (the view-depth network against the render's depth), with a view-depth network;
    - ``loss_synth_depth`` (the canonical depth against the frontal mesh), when ``cfg.lambda_synth`` > 0;
    - ``loss_synth_view``: the mean squared pitch, yaw, roll error in units of
      ``ROTATION_RANGE``, when ``cfg.lambda_synth_view`` > 0.

    ``loss`` is their weighted sum (``lambda_view_depth``, ``lambda_synth``, ``lambda_synth_view``).
    """
    image, inside = batch["image"], 1.0 - net.border
    terms: dict[str, torch.Tensor] = {}
    loss = image.new_zeros(())
    if net.view_depth_net is not None:
        pred = net.predict_view_depth(image)
        terms["loss_synth_view_depth"] = _offset_free_l1(pred, batch["view_depth"], batch["view_mask"], inside)
        loss = loss + cfg.lambda_view_depth * terms["loss_synth_view_depth"]
    if cfg.lambda_synth > 0:
        pred = net.canonical_depth(image)
        terms["loss_synth_depth"] = _offset_free_l1(pred, batch["depth"], batch["mask"], inside)
        loss = loss + cfg.lambda_synth * terms["loss_synth_depth"]
    if cfg.lambda_synth_view > 0:
        error = (net.predict_view(image)[:, :3] - batch["view"]) / ROTATION_RANGE
        terms["loss_synth_view"] = (error**2).mean()
        loss = loss + cfg.lambda_synth_view * terms["loss_synth_view"]
    terms["loss"] = loss
    return terms


def prior_depth(cfg: Recon3dConfig, data: Path | None, size: int) -> np.ndarray:
    """The (size, size) depth the depth network starts from (``cfg.prior``).

    Raises:
        ValueError: unknown prior, or ``mean-face`` without a datasets folder.
    """
    if cfg.prior == "ellipsoid":
        return ellipsoid_depth((size, size))
    if cfg.prior == "mean-face" and data is not None:
        return mean_face_depth(data, size)
    raise ValueError(f"prior must be one of {PRIORS} (mean-face needs the datasets folder), got {cfg.prior!r}")


def fit_prior(
    net: Recon3dNet,
    faces: torch.Tensor,
    cfg: Recon3dConfig,
    console: Console | None = None,
    target: np.ndarray | None = None,
) -> float:
    """Fit the depth network to a prior depth for ``cfg.prior_steps`` steps; return the last loss.

    The 3-D cartoon paper's (and GAN2Shape's) shape initialisation. The loss is the mean
    squared difference to ``target`` (S, S) (by default the ellipsoid,
    :func:`portraitcli.models.recon3d.ellipsoid_depth`) up to a constant offset (the depth
    network fixes the mean depth itself), over the pixels inside the 2-px border, in camera
    units squared; Adam at ``cfg.lr``, batches of ``cfg.batch_size`` faces drawn with the
    run's seed.
    """
    size = faces.shape[-1]
    target = ellipsoid_depth((size, size)) if target is None else target
    goal = torch.from_numpy(target).float().to(cfg.device)
    inside = 1.0 - net.border
    opt = torch.optim.Adam(net.depth_net.parameters(), cfg.lr, betas=(0.9, 0.999))
    rng = np.random.default_rng([cfg.seed, 11])
    value = math.nan
    for step in range(cfg.prior_steps):
        idx = torch.from_numpy(rng.choice(len(faces), cfg.batch_size, replace=False))
        diff = (net.canonical_depth(faces[idx].to(cfg.device)) - goal) * inside
        diff = diff - diff.sum(dim=(1, 2), keepdim=True) / inside.sum()
        loss = (diff**2 * inside).sum() / (inside.sum() * len(idx))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        if console is not None and (step + 1) % 100 == 0:
            console.print(f"depth prior: step {step + 1}/{cfg.prior_steps}, rms {math.sqrt(value):.2e}")
    return value


def fit_views(net: Recon3dNet, faces: torch.Tensor, labels: torch.Tensor, cfg: Recon3dConfig) -> float:
    """Fit the view network to the landmark views (:func:`view_loss`) for ``cfg.prior_steps`` steps.

    Faces without a label are left out; returns the last loss (0 when no face has one).
    """
    known = torch.nonzero(~labels[:, 1].isnan())[:, 0]
    if len(known) == 0:
        return 0.0
    opt = torch.optim.Adam(net.view_net.parameters(), cfg.lr, betas=(0.9, 0.999))
    rng = np.random.default_rng([cfg.seed, 13])
    value = 0.0
    for _ in range(cfg.prior_steps):
        idx = known[torch.from_numpy(rng.choice(len(known), min(cfg.batch_size, len(known)), replace=False))]
        loss = view_loss(net(faces[idx].to(cfg.device))["view"], labels[idx].to(cfg.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
    return value


def evaluate(net: Recon3dNet, faces: torch.Tensor, cfg: Recon3dConfig) -> dict[str, float]:
    """Mean |reconstruction - face| over the valid pixels ([-1, 1] units), mean |yaw| (degrees), valid share."""
    net.eval()
    l1, yaw, valid = [], [], []
    with torch.no_grad():
        for i in range(0, len(faces), 32):
            x = faces[i : i + 32].to(cfg.device)
            out = net(x)
            recon, _, mask = render(
                out["depth"], out["albedo"], out["view"], out["light"], iterations=cfg.warp_iterations
            )
            m = mask[:, None]
            l1.append(((recon - x).abs().mean(1, keepdim=True) * m).sum().item() / max(m.sum().item(), 1.0))
            yaw.append(out["view"][:, 1].abs().mean().item())
            valid.append(m.mean().item())
    net.train()
    return {"val_l1": float(np.mean(l1)), "val_abs_yaw": float(np.mean(yaw)), "val_valid": float(np.mean(valid))}


def evaluate_depth(
    net: Recon3dNet,
    synth: dict[str, np.ndarray],
    cfg: Recon3dConfig,
    prior: np.ndarray | None = None,
    prior_blend: float = 0.0,
    mean_depths: np.ndarray | None = None,
) -> dict[str, float]:
    """SIDE and MAD of the networks on synthetic faces with true depth, by the benchmark's protocol.

    ``synth``: the keys of ``synth_depth/test.npz`` (a validation set of
    ``portrait data synth-depth``, never the test set); the depth shrunk towards ``prior`` by
    ``prior_blend`` as the exported model would (:class:`InferenceNet`). Returns
    ``val_side`` (plain value) and ``val_mad`` (degrees), and with ``mean_depths`` (the posed
    mean faces, :func:`portraitcli.evaluation.cartoon3d.posed_mean_depths`) the median
    ``val_residual_corr``; with a view-depth network the same of its depth as
    ``val_view_depth_side`` / ``_mad`` / ``_residual_corr``.
    """
    from portraitcli.evaluation.cartoon3d import score
    from portraitcli.models.recon3d import inverse_warp

    net.eval()
    graph = InferenceNet(net, None if prior is None else torch.from_numpy(prior).float(), prior_blend).to(cfg.device)

    def predict(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            depth, _, view, *_ = graph(to_tensor(image[None]).to(cfg.device))
        _, view_depth, _ = inverse_warp(depth[0].cpu().double().numpy(), view[0].cpu().double().numpy())
        return view_depth

    def predict_view_depth(image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net.predict_view_depth(to_tensor(image[None]).to(cfg.device))[0].cpu().double().numpy()

    out = {}
    predictors = {"val": predict}
    if net.view_depth_net is not None:
        predictors["val_view_depth"] = predict_view_depth
    for name, fn in predictors.items():
        result = score(fn, synth, cfg.size, mean_depths)
        out[f"{name}_side"], out[f"{name}_mad"] = result["side"], result["mad"]
        if mean_depths is not None:
            out[f"{name}_residual_corr"] = result["residual_depth_corr"]
    net.train()
    return out


def cartoon_model_file(cfg: Recon3dConfig) -> Path:
    """The cartoon generator that makes the ``cartoon`` training faces: ``cfg.cartoon_model``
    (a run's ``model.onnx``), or the shipped one (checksum verified).

    Raises:
        WeightsError: no cartoon model is shipped and none was given.
    """
    if cfg.cartoon_model:
        return Path(cfg.cartoon_model)
    from portraitcli.runtime.weights import find_model, verify

    return verify(find_model("cartoon"))


def train(cfg: Recon3dConfig, data: Path, run_dir: Path, cache: Path | None, console: Console | None = None) -> Path:
    """Train (or resume) the reconstruction networks in ``run_dir``; return the final checkpoint.

    Writes ``template.json`` (the synthetic protocol's crop template), aligns the training
    faces (cached), holds out ``cfg.n_val`` of them, then trains. Resumes from the newest
    checkpoint; the order of epoch e depends only on (seed, e).

    Raises:
        ValueError: unknown training data.
    """
    console = console or Console(stderr=True)
    if cfg.data not in DATASETS:
        raise ValueError(f"data must be one of {DATASETS}, got {cfg.data!r}")
    if cfg.prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {cfg.prior!r}")
    if cfg.view_depth and not cfg.synth_train:
        raise ValueError("view_depth needs synth_train (portrait data synth-depth --seed 11 --n 12000)")
    seed_run(cfg)
    template = synthetic_template(data, cfg.size)
    everything = aligned_faces(data, template, cache)
    order = np.random.default_rng([cfg.seed, 7]).permutation(len(everything["names"]))
    val_idx, train_idx = np.sort(order[: cfg.n_val]), np.sort(order[cfg.n_val :])
    sources = [everything] if cfg.data != "cartoon" else []
    if cfg.data != "utkface":
        toons = cartoon_faces(data, template, cache, cartoon_model_file(cfg))
        if toons["names"] != everything["names"]:
            raise ValueError("the cartoons' faces differ from the photos' (detector or split changed); clear the cache")
        sources.append(toons)
    # "both": the photos and their cartoons, the same faces' labels twice; validation on the first
    train_faces = torch.cat([to_tensor(source["faces"][train_idx]) for source in sources])
    val_faces = to_tensor(sources[0]["faces"][val_idx])
    train_idx = np.concatenate([train_idx] * len(sources))
    synth_val = None
    if cfg.val_synth:
        if not Path(cfg.val_synth).is_file():
            raise ValueError(f"val_synth: {cfg.val_synth} is not a file (make one with portrait data synth-depth)")
        with np.load(cfg.val_synth) as z:
            synth_val = {k: z[k] for k in ("image", "depth", "mask", "pose") if k in z.files}
    val_mean_depths = None
    if synth_val is not None and "pose" in synth_val:
        from portraitcli.evaluation.cartoon3d import posed_mean_depths

        val_mean_depths = posed_mean_depths(synth_val, cfg.size)
    synth_train = None
    if cfg.synth_train:
        rendered = synthetic_faces(Path(cfg.synth_train), cfg.size)
        synth_train = {k: torch.from_numpy(v).float() for k, v in rendered.items() if k != "image"}
        synth_train["image"] = to_tensor(rendered["image"])
    labels = None
    if cfg.lambda_view > 0:
        views = cached_landmark_views(data, everything["faces"], everything["names"], cache)
        labels = torch.from_numpy(views[train_idx]).float()

    net = Recon3dNet(cfg.nf, cfg.zdim, cfg.size, view_depth=cfg.view_depth).to(cfg.device)
    features = PerceptualFeatures(cfg.perceptual_layers).to(cfg.device)
    view_depth_params = [] if net.view_depth_net is None else list(net.view_depth_net.parameters())
    others = [p for name, p in net.named_parameters() if not name.startswith("view_depth_net.")]
    groups = [{"params": others}]
    if view_depth_params:
        groups.append({"params": view_depth_params, "lr": cfg.lr_view_depth})
    opt = torch.optim.Adam(groups, cfg.lr, betas=(0.9, 0.999))
    objects = {"net": net, "opt": opt}
    extra = {
        "task": "recon3d",
        "data": str(data),
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "n_no_face": everything["n_no_face"],
        "val_names": [everything["names"][i] for i in val_idx],
        "n_synth_train": 0 if synth_train is None else len(synth_train["image"]),
    }
    run = start_run(run_dir, cfg, objects, extra, template, console)
    if run.start_epoch == 0 and cfg.prior_steps > 0:
        t0 = time.time()
        rms = math.sqrt(fit_prior(net, train_faces, cfg, console, prior_depth(cfg, data, cfg.size)))
        run.log.write(event="depth prior", prior=cfg.prior, steps=cfg.prior_steps, rms=rms, seconds=time.time() - t0)
        if labels is not None:
            t0 = time.time()
            loss_view = fit_views(net, train_faces, labels, cfg)
            n_known = int((~labels.isnan().any(1)).sum())
            run.log.write(
                event="view prior",
                steps=cfg.prior_steps,
                loss_view=loss_view,
                n_labelled=n_known,
                seconds=time.time() - t0,
            )
    net.train()

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        meter = LossMeter()
        for idx in shuffled_batches(len(train_faces), cfg.batch_size, rng):
            x = train_faces[torch.from_numpy(idx)]
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x).to(cfg.device)
            batch_labels = None
            if labels is not None:  # a mirrored face turns the other way: yaw changes sign
                batch_labels = labels[torch.from_numpy(idx)].clone()
                batch_labels[flip, 1] *= -1
                batch_labels = batch_labels.to(cfg.device)
            terms = losses(net, features, x, cfg, batch_labels, rng)
            if synth_train is not None:
                pick = rng.choice(len(synth_train["image"]), len(idx), replace=False)
                batch = synthetic_batch(synth_train, pick, train_faces, cfg, rng)
                synthetic = synthetic_loss(net, {k: v.to(cfg.device) for k, v in batch.items()}, cfg)
                terms["loss"] = terms["loss"] + synthetic.pop("loss")
                terms.update(synthetic)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            values = {k: v.item() for k, v in terms.items()}
            if not all(math.isfinite(v) for v in values.values()):
                raise FloatingPointError(f"non-finite loss: {values}")
            meter.add(values)
        return meter.mean()

    def validate(epoch: int) -> dict[str, float]:
        scores = evaluate(net, val_faces, cfg)
        if synth_val is not None:
            scores.update(evaluate_depth(net, synth_val, cfg, mean_depths=val_mean_depths))
        return scores

    def finish() -> int:
        if synth_val is not None:  # the shrinkage towards the prior, measured on the validation faces
            prior = prior_depth(cfg, data, cfg.size)
            table = {f"{a:g}": evaluate_depth(net, synth_val, cfg, prior, a, val_mean_depths) for a in PRIOR_BLENDS}
            run.log.write(event="prior blend on val_synth", table=table, exported=cfg.prior_blend)
            console.print(f"prior blend on val_synth (choose with --set prior_blend=...): {table}")
        return cfg.epochs

    return fit(run, cfg, objects, train_epoch, validate=validate, finish=finish)
