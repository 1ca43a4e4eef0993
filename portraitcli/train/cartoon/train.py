"""Training of the 2-D cartoon generator on the Toonify-style pairs of ``datasets/toon``.

A U-Net, RGB to RGB, trained as a conditional GAN (pix2pix) with pixel, perceptual,
feature-matching and optionally FaceNet identity losses
(:func:`portraitcli.train.common.paired.paired_gan_step`), Adam(lr 2e-4, beta1 0.5) and step
decay. cartoon-v2 is the ImageNet MobileNetV2 U-Net
(:class:`~portraitcli.train.common.networks.MobileNetUNet`, fine-tuned) with VGG-19 features
and feature matching, then fine-tuned with the identity term; cartoon-v1 (the defaults) was the
sketch model's SE-U-Net from scratch with MobileNetV2 features
(:class:`~portraitcli.train.cartoon.config.CartoonConfig`). The photos are detected
and aligned (photo and toon with the same similarity) to a template fitted on their
landmarks, the framing in which ``portrait cartoon3d`` crops real photos; with ``train_crop``
each step sees random windows of it. The toon "photos" are StyleGAN images, so the input
gets strong color, blur and resolution augmentation to reach real photos.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from rich.console import Console

from portraitcli.data.toon import aligned_toon_pairs
from portraitcli.metrics.pixel import psnr
from portraitcli.models.cartoon import photo_to_input, tensor_to_image
from portraitcli.train.cartoon.config import CartoonConfig
from portraitcli.train.common.augment import paired_jitter, random_crop
from portraitcli.train.common.checkpoint import load_checkpoint
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run, tensors
from portraitcli.train.common.losses import FaceIdentityLoss
from portraitcli.train.common.networks import MobileNetUNet, PatchDiscriminator, SEUNet
from portraitcli.train.common.optim import adam_step_decay
from portraitcli.train.common.paired import paired_gan_step
from portraitcli.train.common.perceptual import perceptual_network

GENERATORS = ("mobilenet-unet", "se-unet")


def build(cfg: CartoonConfig, pretrained: bool = True) -> tuple[torch.nn.Module, PatchDiscriminator]:
    """G (RGB -> RGB, ``cfg.generator``) and the conditional PatchGAN D (photo and cartoon, 6 channels).

    Raises:
        ValueError: an unknown generator.
    """
    if cfg.generator == "mobilenet-unet":
        G: torch.nn.Module = MobileNetUNet(3, decoder=tuple(cfg.decoder), pretrained=pretrained)  # type: ignore[arg-type]
    elif cfg.generator == "se-unet":
        G = SEUNet(3, 3, cfg.channels)
    else:
        raise ValueError(f"generator {cfg.generator!r}: expected one of {GENERATORS}")
    return G, PatchDiscriminator(6, cfg.ndf)


def _blur(photo: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    if rng.random() >= p:
        return photo
    return cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 1.5))


def _downscale(photo: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """With probability ``p``, the photo shrunk 1.5-3x (area) and enlarged back (bicubic): the
    detail of a small real face (UTKFace's are 200 px) in a 512 px crop."""
    if rng.random() >= p:
        return photo
    h, w = photo.shape[:2]
    f = rng.uniform(1.5, 3.0)
    small = cv2.resize(photo, (max(8, round(w / f)), max(8, round(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def evaluate(G: torch.nn.Module, photos: np.ndarray, toons: np.ndarray, device: str = "cpu") -> dict[str, float]:
    """Mean L1 ([-1, 1] units) and PSNR (dB) of G's cartoons against the held-out toons."""
    G.eval()
    l1s, psnrs = [], []
    with torch.no_grad():
        for photo, toon in zip(photos, toons):
            y = G(torch.from_numpy(photo_to_input(photo))[None].to(device)).cpu().numpy()[0]
            out = tensor_to_image(y, *toon.shape[:2])
            l1s.append(np.abs(out.astype(np.float32) - toon).mean() / 127.5)
            psnrs.append(psnr(out, toon))
    G.train()
    return {"val_l1": float(np.mean(l1s)), "val_psnr": float(np.mean(psnrs))}


def train(cfg: CartoonConfig, data: Path, run_dir: Path, console: Console | None = None) -> Path:
    """Train (or resume) the cartoon generator in ``run_dir``; return the final checkpoint.

    Resumes from the newest checkpoint; the order and augmentation of epoch e depend only
    on (seed, e).
    """
    console = console or Console(stderr=True)
    seed_run(cfg)
    template, photos, toons, names = aligned_toon_pairs(data, cfg.size)
    order = np.random.default_rng([cfg.seed, 7]).permutation(len(names))
    val, keep = np.sort(order[: cfg.n_val]), np.sort(order[cfg.n_val :])
    G, D = build(cfg)
    if cfg.init:  # fine-tuning: start from another run's networks (a resume then overwrites them)
        load_checkpoint(Path(cfg.init), {"G": G, "D": D})
    G.to(cfg.device)
    D.to(cfg.device)
    perceptual = perceptual_network(cfg.perceptual).to(cfg.device)
    identity = None
    if cfg.lambda_id > 0:
        from portraitcli.metrics.identity import template_box
        from portraitcli.nets.facenet import FaceNet, face_crop_box

        box = face_crop_box(template_box(np.asarray(template["kps"])))
        identity = FaceIdentityLoss(FaceNet().to(cfg.device), box, cfg.lambda_id)
    objects = adam_step_decay({"G": G, "D": D}, cfg.lr, cfg.beta1, cfg.epochs, cfg.lr_milestones, cfg.lr_gamma)
    opt_G, opt_D = objects["opt_G"], objects["opt_D"]
    extra = {
        "task": "cartoon",
        "data": str(data),
        "n_train": len(keep),
        "n_val": len(val),
        "data_name": f"toon train pairs (Toonify-style), {len(keep)} aligned pairs ({len(val)} held out)",
        "val_names": [names[i] for i in val],
    }
    run = start_run(run_dir, cfg, objects, extra, template, console)
    G.train()
    D.train()

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        meter = LossMeter()
        for idx in shuffled_batches(keep, cfg.batch_size, rng):
            xs, ys = [], []
            for i in idx:
                photo, toon = paired_jitter(
                    photos[i], toons[i], rng, cfg.augment_shift, cfg.augment_scale, cfg.augment_color
                )
                photo = _downscale(_blur(photo, rng, cfg.augment_blur), rng, cfg.augment_downscale)
                photo, toon = random_crop(photo, toon, cfg.train_crop, rng)
                xs.append(photo_to_input(photo))
                ys.append(photo_to_input(toon))
            x, y = tensors(xs, cfg.device), tensors(ys, cfg.device)
            meter.add(
                paired_gan_step(
                    G, D, opt_G, opt_D, x, y, cfg.lambda_l1, perceptual, cfg.lambda_perc, cfg.lambda_fm, identity
                )
            )
        return meter.mean()

    return fit(
        run,
        cfg,
        objects,
        train_epoch,
        optimizer=opt_G,
        validate=lambda epoch: evaluate(G, photos[val], toons[val], cfg.device),
    )
