"""Training of the draw model: conditional GAN with the wavelet generator, on FS2K.

Reference:
    Guo et al., "Generating Artistic Portraits from Face Photos with Feature
    Disentanglement and Reconstruction", Electronics 2024: adversarial plus pixel losses.
    Here (x: photo and style planes, y: the artist's drawing)::

        L_G = L_lsgan(D(x, G(x)), 1) + lambda_l1 * |G(x) - y| [+ lambda_perc * perc(G(x), y)]
        L_D = (L_lsgan(D(x, y), 1) + L_lsgan(D(x, G(x)), 0)) / 2

    with a conditional PatchGAN D (pix2pix, Isola et al., CVPR 2017), least-squares GAN
    losses (Mao et al., ICCV 2017), Adam(lr 2e-4, beta1 0.5) and step decay
    (:func:`portraitcli.train.common.paired.paired_gan_step`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from portraitcli.data.drawing import AlignedPairs, aligned_pairs, drawing_template
from portraitcli.metrics.pixel import ssim
from portraitcli.models.draw import drawing_to_tensor, photo_to_input, tensor_to_drawing
from portraitcli.nets.vgg import VGG19Features
from portraitcli.train.common.augment import paired_jitter, random_crop
from portraitcli.train.common.average import AVERAGE_KEY, weight_average
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run, tensors
from portraitcli.train.common.onnx_init import load_init
from portraitcli.train.common.optim import adam_step_decay
from portraitcli.train.common.paired import paired_gan_step
from portraitcli.train.common.perceptual import PerceptualFeatures, perceptual_network
from portraitcli.train.draw.config import DrawConfig
from portraitcli.train.draw.networks import MODES, N_STYLES, DrawGenerator, PatchDiscriminator


def build(cfg: DrawConfig) -> tuple[DrawGenerator, PatchDiscriminator]:
    """G of the configured mode and the conditional discriminator D (photo, style, drawing)."""
    G = DrawGenerator(
        cfg.channels, cfg.info_channels, cfg.wavelet_features, N_STYLES, cfg.mode, cfg.upsample, cfg.encoder, cfg.norm
    )
    D = PatchDiscriminator(3 + N_STYLES + 1, cfg.ndf)
    return G, D


def split_validation(pairs: AlignedPairs, per_style: int, seed: int) -> tuple[AlignedPairs, AlignedPairs]:
    """Hold out ``per_style`` training pairs of each style (seeded) as the validation set."""
    rng = np.random.default_rng([seed, 7])
    val = []
    for style in np.unique(pairs.styles):
        idx = np.flatnonzero(pairs.styles == style)
        val.extend(rng.choice(idx, min(per_style, len(idx) // 2), replace=False).tolist())
    keep = np.setdiff1d(np.arange(len(pairs.names)), val)
    return pairs.subset(keep), pairs.subset(np.sort(np.array(val, np.int64)))


def evaluate(G: torch.nn.Module, pairs: AlignedPairs, device: str = "cpu") -> dict[str, float]:
    """Mean L1 (in [-1, 1] units) and SSIM (Wang setting, 8-bit gray) of G on aligned pairs."""
    G.eval()
    l1s, ssims = [], []
    with torch.no_grad():
        for photo, drawing, style in zip(pairs.photos, pairs.drawings, pairs.styles):
            y = G(torch.from_numpy(photo_to_input(photo, int(style)))[None].to(device)).cpu().numpy()[0]
            out = tensor_to_drawing(y, *drawing.shape)
            l1s.append(np.abs(out.astype(np.float32) - drawing).mean() / 127.5)
            ssims.append(ssim(out, drawing))
    G.train()
    return {"val_l1": float(np.mean(l1s)), "val_ssim": float(np.mean(ssims))}


def train(cfg: DrawConfig, data: Path, run_dir: Path, cache: Path | None, console: Console | None = None) -> Path:
    """Train (or resume) a draw model in ``run_dir``; return the final checkpoint path.

    With ``cfg.ema_decay > 0`` the checkpoints also hold the weight average of G
    (``G_ema``), updated after every step, which the export takes.

    Fits the crop template on the training photos (``run_dir/template.json``), aligns the
    pairs (cached in ``cache``), holds out ``cfg.val_per_style`` pairs per style, then
    trains. Resumes from the newest ``checkpoints/epoch-*.pt``; the order and jitter of
    epoch e depend only on (seed, e), so a resumed run sees the same batches.

    Raises:
        ValueError: unknown mode.
    """
    console = console or Console(stderr=True)
    if cfg.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {cfg.mode!r}")
    if cfg.train_crop % 32:
        raise ValueError(f"train_crop must be a multiple of 32, got {cfg.train_crop}")
    if cfg.perceptual not in ("mobilenet", "vgg19"):
        raise ValueError(f"perceptual must be 'mobilenet' or 'vgg19', got {cfg.perceptual!r}")
    seed_run(cfg)
    template = drawing_template(data, cfg.dataset, cfg.size, cache)
    everything = aligned_pairs(data, cfg.dataset, "train", template, cache)
    train_set, val_set = split_validation(everything, cfg.val_per_style, cfg.seed)
    G, D = build(cfg)
    if cfg.init:  # fine-tuning: start from another run's networks (a resume then overwrites them)
        load_init(Path(cfg.init), {"G": G, "D": D}, in_channels=3 + N_STYLES)
    G.to(cfg.device)
    D.to(cfg.device)
    objects = adam_step_decay({"G": G, "D": D}, cfg.lr, cfg.beta1, cfg.epochs, cfg.lr_milestones, cfg.lr_gamma)
    opt_G, opt_D = objects["opt_G"], objects["opt_D"]
    perceptual: PerceptualFeatures | VGG19Features | None = None
    if cfg.lambda_perc > 0:
        perceptual = perceptual_network(cfg.perceptual)
        perceptual.to(cfg.device)
    G_ema = weight_average(G, cfg.ema_decay) if cfg.ema_decay > 0 else None
    if G_ema is not None:
        objects[AVERAGE_KEY] = G_ema
    extra = {
        "task": "draw",
        "data": str(data),
        "n_train": len(train_set.names),
        "n_val": len(val_set.names),
        "n_no_face": everything.n_no_face,
        "val_names": val_set.names,
    }
    run = start_run(run_dir, cfg, objects, extra, template, console)
    G.train()
    D.train()

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        meter = LossMeter()
        for idx in shuffled_batches(len(train_set.names), cfg.batch_size, rng):
            xs, ys = [], []
            for i in idx:
                photo, drawing = paired_jitter(
                    train_set.photos[i],
                    train_set.drawings[i],
                    rng,
                    cfg.augment_shift,
                    cfg.augment_scale,
                    cfg.augment_color,
                )
                photo, drawing = random_crop(photo, drawing, cfg.train_crop, rng)
                xs.append(photo_to_input(photo, int(train_set.styles[i])))
                ys.append(drawing_to_tensor(drawing))
            x, y = tensors(xs, cfg.device), tensors(ys, cfg.device)
            step = paired_gan_step(
                G, D, opt_G, opt_D, x, y, cfg.lambda_l1, perceptual, cfg.lambda_perc, cfg.lambda_fm,
                lambda_hist=cfg.lambda_hist, hist_patch=cfg.hist_patch, lambda_nyq=cfg.lambda_nyq,
            )  # fmt: skip
            meter.add(step)
            if G_ema is not None:
                G_ema.update_parameters(G)
        return meter.mean()

    def validate(epoch: int) -> dict[str, float]:
        scores = evaluate(G, val_set, cfg.device)
        if G_ema is not None:
            scores.update({f"{k}_ema": v for k, v in evaluate(G_ema.module, val_set, cfg.device).items()})
        return scores

    return fit(run, cfg, objects, train_epoch, optimizer=opt_G, validate=validate, eval_every=cfg.eval_every)
