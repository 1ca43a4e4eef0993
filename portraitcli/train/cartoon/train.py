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
from portraitcli.train.common.loop import LossMeter, fit, seed_run, shuffled_batches, start_run, tensors
from portraitcli.train.common.losses import FaceIdentityLoss, lsgan_loss
from portraitcli.train.common.networks import MobileNetUNet, PatchDiscriminator, SEUNet
from portraitcli.train.common.onnx_init import load_init
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


def real_photo_step(
    G: torch.nn.Module,
    D_real: torch.nn.Module,
    opt_G: torch.optim.Optimizer,
    opt_D_real: torch.optim.Optimizer,
    photos: torch.Tensor,
    toons: torch.Tensor,
    lambda_gan: float,
    identity: FaceIdentityLoss | None = None,
    lambda_id: float = 0.0,
) -> dict[str, float]:
    """Update G, then ``D_real``, on real photos without targets (:class:`CartoonConfig` ``lambda_real_gan``).

    ``L_G = lambda_gan L_lsgan(D_real(G(p)), 1) + lambda_id (1 - cos(FaceNet(G(p)), FaceNet(p)))``,
    ``L_D = (L_lsgan(D_real(t), 1) + L_lsgan(D_real(G(p)), 0)) / 2``: the unconditional
    discriminator sees toons ``t`` and cartoons of real photos ``p``, both (N, 3, S, S) in [-1, 1]
    (least-squares GAN, Mao et al. 2017).

    Returns:
        ``loss_G_real_gan``, ``loss_D_real`` (and, unweighted, ``loss_G_real_id`` with ``identity``
        and ``lambda_id`` > 0).
    """
    fake = G(photos)
    D_real.requires_grad_(False)
    out = {"loss_G_real_gan": lsgan_loss(D_real(fake), True)}
    loss = lambda_gan * out["loss_G_real_gan"]
    if identity is not None and lambda_id > 0:
        out["loss_G_real_id"] = identity.distance(fake, photos)
        loss = loss + lambda_id * out["loss_G_real_id"]
    opt_G.zero_grad(set_to_none=True)
    loss.backward()
    opt_G.step()
    D_real.requires_grad_(True)
    out["loss_D_real"] = 0.5 * (lsgan_loss(D_real(toons), True) + lsgan_loss(D_real(fake.detach()), False))
    opt_D_real.zero_grad(set_to_none=True)
    out["loss_D_real"].backward()
    opt_D_real.step()
    return {k: v.item() for k, v in out.items()}


def real_training_photos(data: Path, template: dict, cache: Path | None) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB: UTKFace's seeded train split (the split the benchmarks' test faces
    are not in), detected and aligned to the cartoon ``template`` (cached)."""
    from portraitcli.train.recon3d.data import aligned_faces

    return aligned_faces(data, template, cache, cache_name="cartoon-utkface")["faces"]


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


def train(
    cfg: CartoonConfig, data: Path, run_dir: Path, console: Console | None = None, cache: Path | None = None
) -> Path:
    """Train (or resume) the cartoon generator in ``run_dir``; return the final checkpoint.

    Resumes from the newest checkpoint; the order and augmentation of epoch e depend only
    on (seed, e). ``cache`` keeps the aligned real photos of ``lambda_real_gan``.
    """
    console = console or Console(stderr=True)
    seed_run(cfg)
    template, photos, toons, names = aligned_toon_pairs(data, cfg.size)
    order = np.random.default_rng([cfg.seed, 7]).permutation(len(names))
    val, keep = np.sort(order[: cfg.n_val]), np.sort(order[cfg.n_val :])
    G, D = build(cfg)
    if cfg.init:  # fine-tuning: start from another run's networks (a resume then overwrites them)
        load_init(Path(cfg.init), {"G": G, "D": D})
    G.to(cfg.device)
    D.to(cfg.device)
    networks = {"G": G, "D": D}
    real_photos = None
    if cfg.lambda_real_gan > 0:
        real_photos = real_training_photos(data, template, cache if cache is not None else run_dir.parent / "cache")
        networks["D_real"] = PatchDiscriminator(3, cfg.ndf).to(cfg.device)
    perceptual = perceptual_network(cfg.perceptual).to(cfg.device)
    identity = None
    if cfg.lambda_id > 0 or cfg.lambda_real_id > 0:
        from portraitcli.metrics.identity import template_box
        from portraitcli.nets.facenet import FaceNet, face_crop_box

        box = face_crop_box(template_box(np.asarray(template["kps"])))
        identity = FaceIdentityLoss(FaceNet().to(cfg.device), box, cfg.lambda_id)
    objects = adam_step_decay(networks, cfg.lr, cfg.beta1, cfg.epochs, cfg.lr_milestones, cfg.lr_gamma)
    opt_G, opt_D = objects["opt_G"], objects["opt_D"]
    extra = {
        "task": "cartoon",
        "data": str(data),
        "n_train": len(keep),
        "n_val": len(val),
        "data_name": f"toon train pairs (Toonify-style), {len(keep)} aligned pairs ({len(val)} held out)",
        "val_names": [names[i] for i in val],
        "n_real_photos": 0 if real_photos is None else len(real_photos),
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
            paired_id = identity if cfg.lambda_id > 0 else None
            values = paired_gan_step(
                G, D, opt_G, opt_D, x, y, cfg.lambda_l1, perceptual, cfg.lambda_perc, cfg.lambda_fm, paired_id
            )
            if real_photos is not None:
                pick = rng.choice(len(real_photos), len(idx), replace=False)
                real = [p[:, ::-1] if rng.random() < 0.5 else p for p in real_photos[pick]]
                xr = tensors([photo_to_input(np.ascontiguousarray(p)) for p in real], cfg.device)
                values.update(
                    real_photo_step(
                        G,
                        objects["D_real"],
                        opt_G,
                        objects["opt_D_real"],
                        xr,
                        y,
                        cfg.lambda_real_gan,
                        identity,
                        cfg.lambda_real_id,
                    )  # fmt: skip
                )
            meter.add(values)
        return meter.mean()

    return fit(
        run,
        cfg,
        objects,
        train_epoch,
        optimizer=opt_G,
        validate=lambda epoch: evaluate(G, photos[val], toons[val], cfg.device),
    )
