"""Training of the sketch model: CycleGAN with SE-U-Net generators and supervised L1.

Reference:
    Liao and Lin, "Research on Sketching Face Headshot Generation based on Improved
    CycleGAN". Losses (X photos, Y sketches, G: X -> Y, F: Y -> X):

    L_G = L_lsgan(D_Y(G(x)), 1) + L_lsgan(D_X(F(y)), 1)
        + lambda_cycle * (|F(G(x)) - x| + |G(F(y)) - y|)
        + lambda_identity * lambda_cycle * (|G(y) - y| + |F(x) - x|)
        + lambda_sup * (|G(x) - y| + |F(y) - x|)

    (plus, with ``unpaired``, the same adversarial, cycle and identity terms on photos
    without a sketch: see :func:`_step`) with least-squares discriminators and Adam(lr 2e-4, beta1 0.5) and step decay.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F_nn
from rich.console import Console

from portraitcli.data.cufs import cufs_pairs, load_pair
from portraitcli.metrics.pixel import BT601_LUMA, ssim
from portraitcli.models.sketch import photo_to_tensor, sketch_to_tensor, tensor_to_sketch
from portraitcli.nets.vgg import PERCEPTUAL_LAYERS, VGG19Features, mean_style_distance, perceptual_loss
from portraitcli.train.common.augment import paired_jitter, random_crop
from portraitcli.train.common.average import AVERAGE_KEY, weight_average
from portraitcli.train.common.checkpoint import save_checkpoint
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run, tensors
from portraitcli.train.common.losses import LEGACY_SSIM_RANGE, ImagePool, lsgan_loss, patch_histogram_loss, ssim_loss
from portraitcli.train.common.networks import MobileNetUNet, PatchDiscriminator, SEUNet
from portraitcli.train.common.onnx_init import load_init
from portraitcli.train.sketch.backdrop import backdrop_mask, random_background, replace_backdrop
from portraitcli.train.sketch.config import SketchConfig
from portraitcli.train.sketch.unpaired import unpaired_photos
from portraitcli.types import Exposure, Template

VARIANTS = ("cyclegan-l1", "cyclegan", "pix2pix-l1", "perceptual")
GENERATORS = ("se-unet", "mobilenet-unet")
SELECTIONS = ("best-val", "last")
#: The VGG-19 layers of the ``lambda_style`` term (their Grams hold the strokes' texture; deeper ones the layout).
SKETCH_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_4")


def augment(
    photo: np.ndarray, sketch: np.ndarray, cfg: SketchConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The config's paired jitter (:func:`portraitcli.train.common.augment.paired_jitter`)."""
    return paired_jitter(photo, sketch, rng, cfg.augment_shift, cfg.augment_scale, cfg.augment_color)


def _tone_pairs(data: Path, cfg: SketchConfig, console: Console) -> list[tuple[np.ndarray, np.ndarray]]:
    """FS2K training photos and their drawings of ``cfg.tone_style``, aligned to the sketch
    framing: ``[((H, W, 3) uint8 RGB, (H, W) uint8)]``. The photos keep their own exposure (not
    matched to CUFS's): the artists' tones are to be learned from photos as they come."""
    from portraitcli.data.drawing import aligned_pairs

    template = _template(data, cfg.crop_scale)
    framing = {"size": list(template.size), "kps": np.asarray(template.kps).tolist()}
    pairs = aligned_pairs(data, "fs2k", "train", framing, None, cfg.tone_style)
    console.print(f"tone pairs: {len(pairs.names)} FS2K style-{cfg.tone_style} training drawings")
    return list(zip(pairs.photos, pairs.drawings, strict=True))


def _new_backdrop(
    photo: np.ndarray, mask: np.ndarray, sources: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """``photo`` (H, W, 3) uint8 with its backdrop ``mask`` replaced by a random window of one of ``sources``."""
    return replace_backdrop(photo, mask, random_background(sources, photo.shape[1::-1], rng))


def _enlarge(pair: tuple[np.ndarray, np.ndarray], size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """A CUFS pair (200x250) at the model's crop ``size`` (W, H), bicubic; unchanged when None or equal."""
    photo, sketch = pair
    if size is None or photo.shape[1::-1] == tuple(size):
        return photo, sketch
    return tuple(cv2.resize(a, tuple(size), interpolation=cv2.INTER_CUBIC) for a in (photo, sketch))  # type: ignore[return-value]


def _luma(photo: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [-1, 1] -> (N, 1, H, W) BT.601 luma, F's identity-loss input."""
    w = torch.tensor(BT601_LUMA, dtype=photo.dtype, device=photo.device).view(1, 3, 1, 1)
    return (photo * w).sum(1, keepdim=True)


def sketcher(
    G: torch.nn.Module, device: str = "cpu", size: tuple[int, int] | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """G as the sketch model's contract, in torch: photo (H, W, 3) uint8 RGB -> (H, W) uint8
    sketch, as the ONNX model runs it (:mod:`portraitcli.models.sketch` pre- and post-processing).
    ``size`` (W, H): the model's crop; a photo of another size is resized to it (bicubic)
    and the sketch back (area), as the evaluation does. G must be in eval mode."""

    @torch.no_grad()
    def generate(photo: np.ndarray) -> np.ndarray:
        h, w = photo.shape[:2]
        if size is not None and (w, h) != tuple(size):
            photo = cv2.resize(photo, tuple(size), interpolation=cv2.INTER_CUBIC)
        y = G(torch.from_numpy(photo_to_tensor(photo))[None].to(device)).cpu().numpy()[0]
        out = tensor_to_sketch(y, *photo.shape[:2])
        return out if out.shape == (h, w) else cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)

    return generate


def crop_size(cfg: SketchConfig) -> tuple[int, int]:
    """The model's crop (W, H): the CUFS framing times ``cfg.crop_scale``."""
    from portraitcli.data.cufs import scale_template
    from portraitcli.models.sketch import CROP_SIZE

    return tuple(scale_template({"size": list(CROP_SIZE), "kps": []}, cfg.crop_scale)["size"])  # type: ignore[return-value]


def evaluate_ssim(
    G: torch.nn.Module,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    device: str = "cpu",
    size: tuple[int, int] | None = None,
) -> float:
    """Mean SSIM (Wang setting, 8-bit gray) of G on a list of (photo, sketch) pairs, at the
    pairs' size (G runs at ``size``, see :func:`sketcher`)."""
    G.eval()
    generate = sketcher(G, device, size)
    scores = [ssim(generate(photo), sketch) for photo, sketch in pairs]
    G.train()
    return float(np.mean(scores))


def _template(data: Path, scale: float = 1.0) -> Template:
    """The sketch template measured on the CUFS training photos, with their exposure, at ``scale``."""
    from portraitcli.data.cufs import cufs_template, scale_template

    tpl = scale_template(cufs_template(data), scale)
    return Template(tuple(tpl["size"]), np.asarray(tpl["kps"], np.float32), Exposure(**tpl["exposure"]))  # type: ignore[arg-type]


def generator(cfg: SketchConfig) -> torch.nn.Module:
    """G as ``cfg`` builds it, untrained (the MobileNetV2 encoder with its ImageNet weights):
    (N, 3, H, W) photo -> (N, 1, H, W) sketch, both in [-1, 1]."""
    if cfg.generator == "mobilenet-unet":
        return MobileNetUNet(1, use_se=cfg.use_se)
    return SEUNet(3, 1, cfg.channels, cfg.use_se, cfg.upsample)


def build(cfg: SketchConfig) -> dict[str, torch.nn.Module]:
    """The networks of a variant: G always; F, D_X, D_Y for the CycleGAN variants; D_Y for ``perceptual``."""
    nets: dict[str, torch.nn.Module] = {"G": generator(cfg)}
    if cfg.variant == "perceptual":
        nets["D_Y"] = PatchDiscriminator(1, cfg.ndf)
    elif cfg.variant != "pix2pix-l1":
        nets["F"] = SEUNet(1, 3, cfg.channels, cfg.use_se, cfg.upsample)
        nets["D_X"] = PatchDiscriminator(3, cfg.ndf)
        nets["D_Y"] = PatchDiscriminator(1, cfg.ndf)
    return nets


def train(cfg: SketchConfig, data: Path, run_dir: Path, console: Console | None = None) -> Path:
    """Train (or resume) a sketch model in ``run_dir``; return the checkpoint to export.

    Resumes from the newest ``run_dir/checkpoints/epoch-*.pt`` when present. The data
    order and augmentation of epoch e depend only on (seed, e), so a resumed run sees the
    same batches as an uninterrupted one. With ``cfg.select == "best-val"`` the generator
    of the epoch with the best validation SSIM is kept in ``run_dir/checkpoints/best.pt``
    (G and the run's meta only) and returned; with ``"last"`` the final checkpoint is.

    Args:
        cfg: the configuration.
        data: the datasets folder (holding ``cufs/``) or the ``cufs`` folder.
        run_dir: the run folder (created by the caller).
    """
    console = console or Console(stderr=True)
    if cfg.variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {cfg.variant!r}")
    if cfg.select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {cfg.select!r}")
    if cfg.generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {cfg.generator!r}")
    if cfg.train_crop % 16:
        raise ValueError(f"train_crop must be a multiple of 16, got {cfg.train_crop}")
    if cfg.variant == "cyclegan":  # no supervision at all: neither L1 nor SSIM to the pair
        cfg = dataclasses.replace(cfg, lambda_ssim=0.0)
    lambda_sup = 0.0 if cfg.variant == "cyclegan" else cfg.lambda_sup
    seed_run(cfg)
    size = crop_size(cfg) if cfg.crop_scale != 1 else None  # None: the pairs as they are (200x250)
    train_pairs = [_enlarge(load_pair(p), size) for p in cufs_pairs(data, cfg.subset, "train")]
    # Validation: AR training pairs (never the test split), a cheap progress signal.
    val_pairs = [load_pair(p) for p in cufs_pairs(data, "ar", "train")[: cfg.val_pairs]]
    nets = build(cfg)
    if cfg.init:  # fine-tuning: start from another run's networks (a resume then overwrites them)
        load_init(Path(cfg.init), {k: nets[k] for k in ("G", "D_X", "D_Y", "F") if k in nets})
    for net in nets.values():
        net.to(cfg.device)
    G = nets["G"]
    cycle = cfg.variant not in ("pix2pix-l1", "perceptual")
    adversarial = cfg.variant != "pix2pix-l1"
    if cfg.unpaired and not adversarial:
        raise ValueError("unpaired photos need a CycleGAN or perceptual variant (G alone has no unsupervised term)")
    unpaired = unpaired_photos(cfg.unpaired, data, _template(data, cfg.crop_scale), console) if cfg.unpaired else []
    if cfg.p_backdrop > 0 and not unpaired:
        raise ValueError("p_backdrop needs unpaired photos (unpaired=fs2k) to take the new backgrounds from")
    if cfg.tone_style and cfg.variant != "perceptual":
        raise ValueError("tone_style needs the perceptual variant")
    if cfg.tone_loss not in ("pool", "hist"):
        raise ValueError(f"tone_loss must be 'pool' or 'hist', got {cfg.tone_loss!r}")
    if cfg.lambda_style > 0 and (cfg.variant != "perceptual" or not cfg.unpaired):
        raise ValueError("lambda_style needs the perceptual variant with unpaired photos (unpaired=fs2k)")
    tone = _tone_pairs(data, cfg, console) if cfg.tone_style else []
    backdrops = [backdrop_mask(p, grow=cfg.backdrop_grow) for p, _ in train_pairs] if cfg.p_backdrop > 0 else []
    vgg = VGG19Features(PERCEPTUAL_LAYERS).to(cfg.device) if cfg.variant == "perceptual" else None
    opt_G = torch.optim.Adam(
        [p for k in ("G", "F") if k in nets for p in nets[k].parameters()], cfg.lr, betas=(cfg.beta1, 0.999)
    )
    objects: dict[str, object] = {**nets, "opt_G": opt_G}
    if adversarial:
        opt_D = torch.optim.Adam(
            [p for k in ("D_X", "D_Y") if k in nets for p in nets[k].parameters()], cfg.lr, betas=(cfg.beta1, 0.999)
        )
        objects["opt_D"] = opt_D
    milestones = [max(1, round(f * cfg.epochs)) for f in cfg.lr_milestones]
    schedulers = [
        torch.optim.lr_scheduler.MultiStepLR(o, milestones, cfg.lr_gamma)
        for o in ([opt_G, opt_D] if adversarial else [opt_G])
    ]
    for i, s in enumerate(schedulers):
        objects[f"sched_{i}"] = s
    G_ema = weight_average(G, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if G_ema is not None:
        objects[AVERAGE_KEY] = G_ema

    pool_X, pool_Y = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
    if cycle:
        objects.update(pool_X=pool_X, pool_Y=pool_Y)
    elif adversarial:
        objects.update(pool_Y=pool_Y)
    extra = {"task": "sketch", "data": str(data), "n_train": len(train_pairs)}
    if tone:
        extra["n_tone"] = len(tone)
    if unpaired:
        extra["n_unpaired"] = len(unpaired)
    run = start_run(run_dir, cfg, objects, extra, None, console)  # type: ignore[arg-type]
    best_path = run_dir / "checkpoints" / "best.pt"
    best = {"val": -math.inf, "epoch": 0}
    if best_path.exists():
        meta = torch.load(best_path, map_location="cpu", weights_only=True)["meta"]
        best.update(val=float(meta["val_ssim"]), epoch=int(meta["epoch"]))
    for net in nets.values():
        net.train()

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        pool_X.rng = random.Random(cfg.seed * 1000 + 2 * epoch)
        pool_Y.rng = random.Random(cfg.seed * 1000 + 2 * epoch + 1)
        meter = LossMeter()
        for idx in shuffled_batches(len(train_pairs), cfg.batch_size, rng, drop_last=False):
            pairs = [train_pairs[i] for i in idx]
            if backdrops:  # drawn only when on, so runs without it keep their batches
                pairs = [
                    (_new_backdrop(photo, backdrops[i], unpaired, rng), sketch)
                    if rng.random() < cfg.p_backdrop
                    else (photo, sketch)
                    for i, (photo, sketch) in zip(idx, pairs, strict=True)
                ]
            xs, ys = zip(*(random_crop(*augment(*pair, cfg, rng), cfg.train_crop, rng) for pair in pairs))
            x = tensors([photo_to_tensor(p) for p in xs], cfg.device)
            y = tensors([sketch_to_tensor(s) for s in ys], cfg.device)
            x_u = None
            if unpaired:
                picks = rng.integers(0, len(unpaired), cfg.unpaired_batch)
                # the photos' own jitter; the second image is a stand-in (they have no sketch)
                us = [
                    paired_jitter(
                        unpaired[i], unpaired[i][..., 0], rng, cfg.augment_shift, cfg.augment_scale, cfg.augment_color
                    )[0]
                    for i in picks
                ]
                us = [random_crop(u, u[..., 0], cfg.train_crop, rng)[0] for u in us] if vgg is not None else us
                x_u = tensors([photo_to_tensor(p) for p in us], cfg.device)
            tone_xy = None
            if tone:
                ts = [
                    random_crop(*augment(*tone[i], cfg, rng), cfg.train_crop, rng)
                    for i in rng.integers(0, len(tone), cfg.tone_batch)
                ]
                tone_xy = (
                    tensors([photo_to_tensor(p) for p, _ in ts], cfg.device),
                    tensors([sketch_to_tensor(d) for _, d in ts], cfg.device),
                )
            if vgg is not None:
                meter.add(perceptual_step(nets, opt_G, opt_D, vgg, x, y, cfg, pool_Y, x_u, tone_xy))
            else:
                meter.add(_step(nets, opt_G, objects.get("opt_D"), x, y, cfg, lambda_sup, pool_X, pool_Y, x_u))
            if G_ema is not None:
                G_ema.update_parameters(G)
        return meter.mean()

    def validate(epoch: int) -> dict[str, float]:
        scores = {"val_ssim_ar_train": evaluate_ssim(G, val_pairs, cfg.device, size)}
        if G_ema is not None:
            scores["val_ssim_ar_train_ema"] = evaluate_ssim(G_ema.module, val_pairs, cfg.device, size)
        if scores["val_ssim_ar_train"] > best["val"]:
            best.update(val=scores["val_ssim_ar_train"], epoch=epoch)
            save_checkpoint(best_path, {"G": G}, epoch=epoch, val_ssim=best["val"], config=asdict(cfg))
        return scores

    def finish() -> int:
        if cfg.select != "best-val":
            return cfg.epochs
        console.print(f"selected epoch {best['epoch']} (validation SSIM {best['val']:.4f})")
        return int(best["epoch"])

    final = fit(
        run, cfg, objects, train_epoch, optimizer=opt_G, validate=validate, eval_every=cfg.eval_every, finish=finish
    )
    return best_path if cfg.select == "best-val" else final


def _ssim_term(fake_y: torch.Tensor, y: torch.Tensor, cfg: SketchConfig, out: dict[str, float]) -> torch.Tensor:
    """``lambda_ssim * (1 - SSIM(G(x), y))`` (0 when the weight is 0); logs ``loss_G_ssim``."""
    if cfg.lambda_ssim <= 0:
        return torch.zeros((), dtype=fake_y.dtype, device=fake_y.device)
    loss_G_ssim = ssim_loss(fake_y, y, (-1.0, 1.0) if cfg.ssim_as_evaluated else LEGACY_SSIM_RANGE)
    out["loss_G_ssim"] = loss_G_ssim.item()
    return cfg.lambda_ssim * loss_G_ssim


def _step(
    nets: dict[str, torch.nn.Module],
    opt_G: torch.optim.Optimizer,
    opt_D: torch.optim.Optimizer | None,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: SketchConfig,
    lambda_sup: float,
    pool_X: ImagePool,
    pool_Y: ImagePool,
    x_u: torch.Tensor | None = None,
) -> dict[str, float]:
    """One optimisation step on a batch of photos x (N,3,H,W) and sketches y (N,1,H,W).

    ``x_u`` (M,3,H,W): unpaired photos (CycleGAN variants), which enter the adversarial,
    cycle and identity terms only: D_Y(G(x_u)), |F(G(x_u)) - x_u|, |F(luma(x_u)) - x_u|, and
    D_X sees them as real photos.
    """
    G = nets["G"]
    if cfg.variant == "pix2pix-l1":
        fake_y = G(x)
        loss = F_nn.l1_loss(fake_y, y)
        out = {"loss_G_sup": loss.item()}
        loss = loss + _ssim_term(fake_y, y, cfg, out)
        opt_G.zero_grad(set_to_none=True)
        loss.backward()
        opt_G.step()
        return out

    Fn, D_X, D_Y = nets["F"], nets["D_X"], nets["D_Y"]
    y3 = y.expand(-1, 3, -1, -1)
    # --- generators
    for d in (D_X, D_Y):
        d.requires_grad_(False)
    fake_y = G(x)
    fake_x = Fn(y)
    rec_x = Fn(fake_y)
    rec_y = G(fake_x)
    loss_G_gan = lsgan_loss(D_Y(fake_y), True) + lsgan_loss(D_X(fake_x), True)
    loss_G_cycle = F_nn.l1_loss(rec_x, x) + F_nn.l1_loss(rec_y, y)
    loss = loss_G_gan + cfg.lambda_cycle * loss_G_cycle
    out = {"loss_G_gan": loss_G_gan.item(), "loss_G_cycle": loss_G_cycle.item()}
    if cfg.lambda_identity > 0:
        idt_y = G(y3)
        idt_x = Fn(_luma(x))
        loss_G_idt = F_nn.l1_loss(idt_y, y) + F_nn.l1_loss(idt_x, x)
        loss = loss + cfg.lambda_identity * cfg.lambda_cycle * loss_G_idt
        out["loss_G_idt"] = loss_G_idt.item()
    fake_yu = None
    if x_u is not None:
        fake_yu = G(x_u)
        loss_G_gan_u = lsgan_loss(D_Y(fake_yu), True)
        loss_G_cycle_u = F_nn.l1_loss(Fn(fake_yu), x_u)
        loss = loss + loss_G_gan_u + cfg.lambda_cycle * loss_G_cycle_u
        out.update(loss_G_gan_u=loss_G_gan_u.item(), loss_G_cycle_u=loss_G_cycle_u.item())
        if cfg.lambda_identity > 0:
            loss = loss + cfg.lambda_identity * cfg.lambda_cycle * F_nn.l1_loss(Fn(_luma(x_u)), x_u)
    if lambda_sup > 0:
        loss_G_sup = F_nn.l1_loss(fake_y, y) + F_nn.l1_loss(fake_x, x)
        loss = loss + lambda_sup * loss_G_sup
        out["loss_G_sup"] = loss_G_sup.item()
        loss = loss + _ssim_term(fake_y, y, cfg, out)
    opt_G.zero_grad(set_to_none=True)
    loss.backward()
    opt_G.step()
    # --- discriminators
    for d in (D_X, D_Y):
        d.requires_grad_(True)
    assert opt_D is not None
    fy = pool_Y.query(fake_y if fake_yu is None else torch.cat([fake_y, fake_yu]))
    fx = pool_X.query(fake_x)
    real_x = x if x_u is None else torch.cat([x, x_u])
    loss_D_Y = 0.5 * (lsgan_loss(D_Y(y), True) + lsgan_loss(D_Y(fy), False))
    loss_D_X = 0.5 * (lsgan_loss(D_X(real_x), True) + lsgan_loss(D_X(fx), False))
    opt_D.zero_grad(set_to_none=True)
    (loss_D_X + loss_D_Y).backward()
    opt_D.step()
    out.update(loss_D_X=loss_D_X.item(), loss_D_Y=loss_D_Y.item())
    if not all(math.isfinite(v) for v in out.values()):
        raise FloatingPointError(f"non-finite loss: {out}")
    return out


def perceptual_step(
    nets: dict[str, torch.nn.Module],
    opt_G: torch.optim.Optimizer,
    opt_D: torch.optim.Optimizer,
    vgg: VGG19Features,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: SketchConfig,
    pool_Y: ImagePool,
    x_u: torch.Tensor | None = None,
    tone: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, float]:
    """One step of the ``perceptual`` variant (sketch-v5) on pairs x (N,3,H,W), y (N,1,H,W)
    and unpaired photos x_u (M,3,H,W) or None::

        L_G = lambda_adv L_lsgan(D_Y(G(x)), 1) + lambda_sup |G(x) - y| + lambda_ssim (1 - SSIM(G(x), y))
            + lambda_perc perc(G(x), y)
            + lambda_adv L_lsgan(D_Y(G(x_u)), 1) + lambda_content perc_deep(G(x_u), luma(x_u))
            + lambda_tone |pool(G(x_t)) - pool(y_t)| + lambda_style style(G(x_u), y)
        L_D = (L_lsgan(D_Y(y), 1) + L_lsgan(D_Y(pool(G(.))), 0)) / 2

    with ``perc`` the scale-free VGG-19 feature loss (:func:`~portraitcli.nets.vgg.perceptual_loss`)
    on relu1_2, relu2_2, relu3_4, relu4_4, ``perc_deep`` the same on relu3_4 and relu4_4, and
    ``pool`` ``tone_pool`` x ``tone_pool`` average pooling of the tone pairs ``tone`` = (x_t
    (K,3,H,W), y_t (K,1,H,W)) or None; ``style`` :func:`~portraitcli.nets.vgg.mean_style_distance`
    on :data:`SKETCH_STYLE_LAYERS`.
    """
    G, D_Y = nets["G"], nets["D_Y"]
    D_Y.requires_grad_(False)
    fake_y = G(x)
    loss_G_gan = lsgan_loss(D_Y(fake_y), True)
    loss_G_sup = F_nn.l1_loss(fake_y, y)
    loss_G_perc = perceptual_loss(vgg, fake_y, y)
    out = {"loss_G_gan": loss_G_gan.item(), "loss_G_sup": loss_G_sup.item(), "loss_G_perc": loss_G_perc.item()}
    loss = cfg.lambda_adv * loss_G_gan + cfg.lambda_sup * loss_G_sup + cfg.lambda_perc * loss_G_perc
    loss = loss + _ssim_term(fake_y, y, cfg, out)
    fake_yu = None
    if x_u is not None:
        fake_yu = G(x_u)
        loss_G_gan_u = lsgan_loss(D_Y(fake_yu), True)
        loss_G_content = perceptual_loss(vgg, fake_yu, _luma(x_u), PERCEPTUAL_LAYERS[2:])
        loss = loss + cfg.lambda_adv * loss_G_gan_u + cfg.lambda_content * loss_G_content
        out.update(loss_G_gan_u=loss_G_gan_u.item(), loss_G_content=loss_G_content.item())
        if cfg.lambda_style > 0:
            with torch.no_grad():
                artists = vgg(y.expand(-1, 3, -1, -1))
            loss_G_style = mean_style_distance(vgg(fake_yu.expand(-1, 3, -1, -1)), artists, SKETCH_STYLE_LAYERS)
            loss = loss + cfg.lambda_style * loss_G_style
            out["loss_G_style"] = loss_G_style.item()
    if tone is not None:
        k, fake_t = cfg.tone_pool, G(tone[0])
        if cfg.tone_loss == "hist":  # the windows' gray-value distributions: paper and strokes in proportion
            loss_G_tone = patch_histogram_loss(fake_t, tone[1], k)
        else:
            loss_G_tone = F_nn.l1_loss(F_nn.avg_pool2d(fake_t, k), F_nn.avg_pool2d(tone[1], k))
        loss = loss + cfg.lambda_tone * loss_G_tone
        out["loss_G_tone"] = loss_G_tone.item()
    opt_G.zero_grad(set_to_none=True)
    loss.backward()
    opt_G.step()
    D_Y.requires_grad_(True)
    fy = pool_Y.query(fake_y if fake_yu is None else torch.cat([fake_y, fake_yu]))
    loss_D_Y = 0.5 * (lsgan_loss(D_Y(y), True) + lsgan_loss(D_Y(fy), False))
    opt_D.zero_grad(set_to_none=True)
    loss_D_Y.backward()
    opt_D.step()
    out["loss_D_Y"] = loss_D_Y.item()
    if not all(math.isfinite(v) for v in out.values()):
        raise FloatingPointError(f"non-finite loss: {out}")
    return out
