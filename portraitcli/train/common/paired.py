"""One training step of a conditional GAN on aligned pairs (pix2pix, plus an optional perceptual term).

Reference:
    Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
    CVPR 2017, with least-squares GAN losses (Mao et al., ICCV 2017). With x the input and
    y its aligned target::

        L_G = L_lsgan(D(x, G(x)), 1) + lambda_l1 |G(x) - y| + lambda_perc perc(G(x), y)
            + lambda_fm sum_l |D_l(x, G(x)) - D_l(x, y)| / L
            + lambda_id (1 - cos(FaceNet(G(x)), FaceNet(x)))
            + lambda_hist W1(patch histograms of G(x), of y)
            + lambda_nyq Nyquist(G(x), y)
        L_D = (L_lsgan(D(x, y), 1) + L_lsgan(D(x, G(x)), 0)) / 2

    where ``D_l`` are the discriminator's intermediate activations (pix2pixHD's feature
    matching loss, Wang et al., CVPR 2018) and FaceNet the face recognizer's embedding
    (Schroff et al., CVPR 2015; the identity term, optional), and W1 the per-window histogram
    loss (:func:`~portraitcli.train.common.losses.patch_histogram_loss`, optional), Nyquist the
    spectral term against checkerboards (:func:`~portraitcli.train.common.losses.nyquist_loss`, optional).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from portraitcli.nets.vgg import VGG19Features
from portraitcli.nets.vgg import perceptual_loss as vgg_perceptual_loss
from portraitcli.train.common.losses import FaceIdentityLoss, lsgan_loss, nyquist_loss, patch_histogram_loss
from portraitcli.train.common.perceptual import PerceptualFeatures, perceptual_loss


def discriminator_features(D: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """A PatchGAN's activations after each LeakyReLU, then its score map (the last item)."""
    feats = []
    h = x
    for layer in D.net:
        h = layer(h)
        if isinstance(layer, torch.nn.LeakyReLU):
            feats.append(h)
    return [*feats, h]


def paired_gan_step(
    G: torch.nn.Module,
    D: torch.nn.Module,
    opt_G: torch.optim.Optimizer,
    opt_D: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lambda_l1: float,
    perceptual: PerceptualFeatures | VGG19Features | None = None,
    lambda_perc: float = 0.0,
    lambda_fm: float = 0.0,
    identity: FaceIdentityLoss | None = None,
    lambda_hist: float = 0.0,
    hist_patch: int = 16,
    lambda_nyq: float = 0.0,
) -> dict[str, float]:
    """Update G, then D, on inputs x (N, C_in, H, W) and targets y (N, C_out, H, W) in [-1, 1].

    D sees the input and the (real or generated) target concatenated on channels. The
    perceptual term is MobileNetV2's (:func:`portraitcli.train.common.perceptual.perceptual_loss`)
    or VGG-19's (:func:`portraitcli.nets.vgg.perceptual_loss`), by the network given.
    ``identity`` (RGB inputs and outputs) adds its weighted FaceNet distance between the
    output and the input photo: the person is kept where the target is a restyled face.
    ``lambda_hist`` > 0 adds the histogram loss on ``hist_patch`` px windows, ``lambda_nyq`` > 0
    the Nyquist term.

    Returns:
        ``loss_G_gan``, ``loss_G_l1``, ``loss_D`` (and ``loss_G_perc``, ``loss_G_fm``, ``loss_G_id``,
        ``loss_G_hist``, ``loss_G_nyq`` with those terms; ``loss_G_id`` before its weight).

    Raises:
        FloatingPointError: a loss is not finite.
    """
    fake = G(x)
    D.requires_grad_(False)
    fake_feats = discriminator_features(D, torch.cat([x, fake], 1)) if lambda_fm > 0 else None
    fake_score = fake_feats[-1] if fake_feats is not None else D(torch.cat([x, fake], 1))
    out = {"loss_G_gan": lsgan_loss(fake_score, True), "loss_G_l1": F.l1_loss(fake, y)}
    loss_G = out["loss_G_gan"] + lambda_l1 * out["loss_G_l1"]
    if perceptual is not None:
        if isinstance(perceptual, VGG19Features):
            out["loss_G_perc"] = vgg_perceptual_loss(perceptual, fake, y)
        else:
            out["loss_G_perc"] = perceptual_loss(perceptual, fake, y)
        loss_G = loss_G + lambda_perc * out["loss_G_perc"]
    if fake_feats is not None:
        with torch.no_grad():
            real_feats = discriminator_features(D, torch.cat([x, y], 1))
        pairs = list(zip(fake_feats[:-1], real_feats[:-1]))
        out["loss_G_fm"] = torch.stack([F.l1_loss(a, b) for a, b in pairs]).mean()
        loss_G = loss_G + lambda_fm * out["loss_G_fm"]
    if lambda_hist > 0:
        out["loss_G_hist"] = patch_histogram_loss(fake, y, hist_patch)
        loss_G = loss_G + lambda_hist * out["loss_G_hist"]
    if lambda_nyq > 0:
        out["loss_G_nyq"] = nyquist_loss(fake, y)
        loss_G = loss_G + lambda_nyq * out["loss_G_nyq"]
    if identity is not None:
        out["loss_G_id"] = identity.distance(fake, x)
        loss_G = loss_G + identity.weight * out["loss_G_id"]
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    D.requires_grad_(True)
    real_score, fake_score = D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1))
    out["loss_D"] = 0.5 * (lsgan_loss(real_score, True) + lsgan_loss(fake_score, False))
    opt_D.zero_grad(set_to_none=True)
    out["loss_D"].backward()
    opt_D.step()
    values = {k: v.item() for k, v in out.items()}
    if not all(math.isfinite(v) for v in values.values()):
        raise FloatingPointError(f"non-finite loss: {values}")
    return values
