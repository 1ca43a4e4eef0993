"""Networks of the draw model: wavelet feature disentanglement and reconstruction.

Reference:
    Guo et al., "Generating Artistic Portraits from Face Photos with Feature
    Disentanglement and Reconstruction", Electronics 2024. The generator has

    - an image generator: a U-Net on the photo;
    - a feature-disentanglement module: a Haar DWT splitting the photo into the cA (LL),
      cH, cV and cD sub-bands;
    - an information generator: a second U-Net on the wavelet coefficients, predicting the
      sub-bands of a set of feature maps;
    - a feature-reconstruction module: the inverse DWT, back to image space;
    - a cross-modal fusion module merging the image features and the reconstructed wavelet
      features (concatenation, a 3x3 convolution, squeeze-and-excitation channel attention
      and a spatial attention map) before the output convolution.

    The drawing style (FS2K's three) is a one-hot code given as constant input planes to
    both U-Nets, as FS2K's FSGAN baseline conditions its generator.

Ablations (``DrawGenerator(mode=...)``), as in the paper's table:
    - ``full``: as above.
    - ``no-disentangle``: the wavelet transform is replaced by a plain space-to-depth
      rearrangement (``pixel_unshuffle`` / ``pixel_shuffle``): the second stream keeps its
      U-Net and its resolution but sees pixels, not frequency sub-bands.
    - ``no-info``: no information generator: the photo's sub-bands go through a 1x1
      convolution straight to the IDWT and the fusion.
    - ``pix2pix``: the image generator alone (a U-Net, no SE block), the pix2pix baseline.

Shapes: input (N, 3 + S, H, W) float: RGB photo in [-1, 1] then S one-hot style planes
(0 or 1); output (N, 1, H, W) float in [-1, 1] (tanh), the grayscale drawing. H and W must
be multiples of 2 ** (len(channels) + 1) (32 with the default four levels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from portraitcli.train.common.networks import MobileNetUNet, PatchDiscriminator, SEUNet, SqueezeExcitation
from portraitcli.train.common.wavelet import HaarDWT, HaarIDWT

MODES = ("full", "no-disentangle", "no-info", "pix2pix")
ENCODERS = ("se-unet", "mobilenet")
N_STYLES = 3

__all__ = ["MODES", "N_STYLES", "CrossModalFusion", "DrawGenerator", "PatchDiscriminator"]


class CrossModalFusion(nn.Module):
    """Fuse image-stream and wavelet-stream feature maps of the same size.

    ``f = ReLU(IN(conv3x3([a, b])))`` (no IN with ``norm="none"``), then channel attention (SE) and a spatial attention
    map ``sigmoid(conv7x7([mean_c f, max_c f]))`` (CBAM's spatial branch, Woo et al.,
    ECCV 2018) multiplying f.

    Shape:
        (N, Ca, H, W), (N, Cb, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self, a_channels: int, b_channels: int, out_channels: int, norm: str = "instance") -> None:
        super().__init__()
        self.mix = nn.Sequential(
            nn.Conv2d(a_channels + b_channels, out_channels, 3, 1, 1, bias=norm == "none"),
            nn.InstanceNorm2d(out_channels) if norm == "instance" else nn.Identity(),
            nn.ReLU(inplace=True),
        )
        self.channel = SqueezeExcitation(out_channels, reduction=4)
        self.spatial = nn.Conv2d(2, 1, 7, 1, 3)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        f = self.channel(self.mix(torch.cat([a, b], dim=1)))
        stats = torch.cat([f.mean(1, keepdim=True), f.amax(1, keepdim=True)], dim=1)
        return f * torch.sigmoid(self.spatial(stats))


class DrawGenerator(nn.Module):
    """Photo + style code -> drawing, with the wavelet information stream (module docstring).

    Args:
        channels: widths of the image U-Net's levels.
        info_channels: widths of the information U-Net's levels (it runs at half size).
        wavelet_features: k, feature maps reconstructed by the IDWT (the information
            generator predicts their 4k sub-band coefficients).
        n_styles: S, the number of drawing styles.
        mode: ``full`` or an ablation (:data:`MODES`).
        upsample: the U-Nets' decoder up-sampling, ``transpose`` or ``resize``
            (:class:`~portraitcli.train.common.networks.SEUNet`).
        encoder: the image generator: ``se-unet`` (trained from scratch) or ``mobilenet``
            (:class:`~portraitcli.train.common.networks.MobileNetUNet`: the ImageNet
            MobileNetV2 encoder, fine-tuned, the style planes entering its stem and
            bottleneck; draw-v3).
        norm: ``instance`` or ``none`` in the information U-Net and the fusion (``none``
            makes the whole generator compute the same on a crop as on the whole face, for
            training on random crops; with ``encoder="mobilenet"`` the image stream has no
            normalisation anyway).
    """

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 64, 128, 256),
        info_channels: tuple[int, ...] = (24, 48, 96, 192),
        wavelet_features: int = 16,
        n_styles: int = N_STYLES,
        mode: str = "full",
        upsample: str = "transpose",
        encoder: str = "se-unet",
        norm: str = "instance",
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self.mode, self.n_styles, self.k = mode, n_styles, wavelet_features
        if encoder == "mobilenet":
            self.image_generator: nn.Module = MobileNetUNet(1, use_se=mode != "pix2pix", cond_channels=n_styles)
            c_image = MobileNetUNet.DECODER[-1]
        else:
            self.image_generator = SEUNet(3 + n_styles, 1, channels, mode != "pix2pix", upsample, norm)
            c_image = channels[0]
        if mode == "pix2pix":
            return
        self.dwt, self.idwt = HaarDWT(3), HaarIDWT(wavelet_features)
        if mode == "no-info":
            self.information_generator = None
            self.to_subbands = nn.Conv2d(12 + n_styles, 4 * wavelet_features, 1)
        else:
            self.information_generator = SEUNet(12 + n_styles, 1, info_channels, True, upsample, norm)
            self.to_subbands = nn.Conv2d(info_channels[0], 4 * wavelet_features, 3, 1, 1)
        self.fusion = CrossModalFusion(c_image, wavelet_features, channels[0], norm)
        self.head = nn.Conv2d(channels[0], 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "pix2pix":
            return self.image_generator(x)
        photo, style = x[:, :3], x[:, 3:]
        image_features = self.image_generator.features(x)
        if self.mode == "no-disentangle":
            bands = F.pixel_unshuffle(photo, 2)
        else:
            bands = self.dwt(photo)
        style_half = style[:, :, ::2, ::2]
        h = torch.cat([bands, style_half], dim=1)
        if self.information_generator is not None:
            h = self.information_generator.features(h)
        coeffs = self.to_subbands(h)
        if self.mode == "no-disentangle":
            wavelet_features = F.pixel_shuffle(coeffs, 2)
        else:
            wavelet_features = self.idwt(coeffs)
        return torch.tanh(self.head(self.fusion(image_features, wavelet_features)))
