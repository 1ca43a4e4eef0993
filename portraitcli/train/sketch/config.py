"""Training configuration of the sketch model (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class SketchConfig:
    """Hyper-parameters of ``portrait train sketch``.

    ``variant`` picks the paper's model or an ablation:
      - ``cyclegan-l1``: the paper: CycleGAN (G, F, D_X, D_Y) + supervised L1 both ways.
      - ``cyclegan``: plain CycleGAN with the SE-U-Net (``lambda_sup`` forced to 0).
      - ``pix2pix-l1``: G alone trained with the supervised L1 only (no discriminator).
      - ``perceptual``: sketch-v5. G (``generator="mobilenet-unet"``: an ImageNet
        MobileNetV2 encoder, fine-tuned, with the SE bottleneck) and one discriminator D_Y;
        on the CUFS pairs the supervised L1 and SSIM terms plus a VGG-19 feature loss
        (``lambda_perc``), on unpaired FS2K training photos a VGG-19 content loss to the
        grayscale photo (``lambda_content``, deep layers only: the structure, not the
        tone), and D_Y's least-squares adversarial term (``lambda_adv``) on both. F and the
        cycle are dropped: on the unpaired photos the content loss ties G(x) to x directly,
        at a third of the cost.
    ``use_se=False`` removes the SE block (the "no SE" ablation). ``upsample`` picks G's and
    F's decoders (:class:`~portraitcli.train.common.networks.SEUNet`): ``transpose``, 4x4
    stride-2 transposed convolutions (sketch-v1 to v3, and every run saved before the option),
    or ``resize`` (the default since sketch-v4), nearest x2 then a 3x3 convolution, which
    prints no period-2 checkerboard.

    ``select`` picks the generator that is exported: ``last`` the final one (the shipped
    recipe); ``best-val`` the one with the best mean SSIM on ``val_pairs`` AR *training*
    pairs (a population the model never trains on; never the test split), checked every
    ``eval_every`` epochs. Measured (run 00006, 30 epochs, best-val picked epoch 10): CUHK
    test SSIM 0.6289, AR 0.5626, against 0.6363 / 0.5420 for the last epoch of the 50-epoch
    recipe: early stopping on AR trades CUHK fidelity for generalization.

    ``ema_decay > 0`` keeps an exponential moving average of G's weights (updated after
    every step, ``w_ema <- d * w_ema + (1 - d) * w``, as in Karras et al. 2018 / Yazici et al.
    2019, "The unusual effectiveness of averaging in GAN training") and exports it instead
    of the last G; the average damps the adversarial game's step-to-step oscillation.
    Measured (run 00014, ``lambda_sup=10 ema_decay=0.995``, 50 epochs): CUHK test SSIM
    0.6400 with the average against 0.6355 with the last G of the same run (paired 95%
    interval of the difference +0.0042 .. +0.0048), AR 0.5448 against 0.5409; raising
    ``lambda_sup`` from 2 to 10 changed the last G's score by -0.0008 (run 00004: 0.6363).

    ``unpaired="fs2k"`` (CycleGAN variants only) adds ``unpaired_batch`` FS2K *training*
    photos per step, aligned to the CUFS framing and exposure-matched
    (:mod:`portraitcli.train.sketch.unpaired`), to the unsupervised terms: D_Y judges G(x_u),
    the cycle and identity terms ask F to recover x_u, D_X sees x_u as real. No supervised
    term touches them (they have no CUFS sketch).

    ``p_backdrop`` > 0 (needs ``unpaired``): with that probability a CUFS pair's photo has its
    studio backdrop (:func:`~portraitcli.train.sketch.backdrop.backdrop_mask`, grown by
    ``backdrop_grow`` pixels) replaced by a random window of an unpaired photo while the
    artist's white paper stays the target (:mod:`portraitcli.train.sketch.backdrop`).

    ``tone_style`` > 0 (``perceptual`` only): FS2K *training* photos and their artists'
    drawings of that style, aligned to the sketch framing, add ``lambda_tone`` times the L1
    distance between G(x) and the drawing after ``tone_pool`` x ``tone_pool`` average pooling:
    the artists' layout of paper and shading on everyday photos (white backgrounds and skin
    of any tone), not their lines, which differ from CUFS's. ``tone_loss="hist"`` compares
    the distributions of gray values in co-located ``tone_pool`` px windows instead
    (:func:`~portraitcli.train.common.losses.patch_histogram_loss`, draw-v4's term): how much
    paper and how much stroke, not only their mean.

    ``lambda_style`` (``perceptual`` with unpaired photos) weighs a style loss between the
    unpaired photos' sketches and the batch's artist sketches: their mean VGG-19 Gram
    matrices at relu1_2, relu2_2 and relu3_4 (:func:`~portraitcli.nets.vgg.mean_style_distance`),
    the texture of the artists' strokes without any photo's layout.

    ``crop_scale`` multiplies the CUFS framing (200x250): 1.92 gives sketch-v5's 384x480;
    the 200x250 CUFS pairs are enlarged (bicubic) to it and the unpaired photos aligned at
    it. ``train_crop`` > 0 trains on random square crops of that side: the fully
    convolutional G sees faces at their native scale at a fraction of the cost.

    The defaults are the sketch-v4 recipe: the paper's losses, ``lambda_ssim=100``
    on the evaluation's SSIM (``ssim_as_evaluated``), ``ema_decay=0.995`` and resize
    decoders. Measured (50 epochs, 2 CPU cores, 47 min): CUHK test SSIM 0.6508 (seed 0,
    shipped) and 0.6509 (seed 1), AR 0.5517 and 0.5824. With ConvT decoders (sketch-v3,
    seed 0, 29 min, run 00041): CUHK 0.6484, AR 0.5591. sketch-v2, the
    same recipe with the SSIM term on the [-1, 1] tensors unshifted (``LEGACY_SSIM_RANGE``,
    which is not the evaluation's SSIM: the luminance term differs wherever the local mean
    is mid-gray), 0.6439 with the average and 0.6413 with the last G; sketch-v1
    (``lambda_ssim=40``, no average) 0.6363, and ``lambda_ssim=10`` 0.6228: the SSIM weight
    buys most of the gain. Runs saved before a field existed trained without it
    (``SAVED_DEFAULTS``).
    """

    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {
        "lambda_ssim": 0.0,
        "ema_decay": 0.0,
        "device": "cpu",
        "ssim_as_evaluated": False,
        "upsample": "transpose",
    }

    variant: str = "cyclegan-l1"
    use_se: bool = True
    upsample: str = "resize"  # G's and F's decoders: "resize" (nearest x2 + 3x3) or "transpose" (ConvT 4x4 s2)
    channels: tuple[int, ...] = (32, 64, 128, 256)
    ndf: int = 32
    epochs: int = 50
    batch_size: int = 4
    lr: float = 2e-4
    beta1: float = 0.5
    lr_milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of the epochs
    lr_gamma: float = 0.3
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle, as in CycleGAN's code
    lambda_sup: float = 2.0
    lambda_ssim: float = 100.0  # our addition: weight of 1 - SSIM(G(x), y); 0 = the paper's losses
    ssim_as_evaluated: bool = True  # SSIM on 8-bit values; False: on [-1, 1] unshifted (sketch-v1/v2)
    ema_decay: float = 0.995  # export the EMA of G's weights; 0: export the last G
    pool_size: int = 50
    augment_shift: float = 0.03  # max shift, fraction of the side
    augment_scale: float = 0.05  # max relative zoom
    augment_color: float = 0.15  # max brightness / contrast / saturation change
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # or "cuda" (a lent GPU); runs are bit-reproducible only on the CPU
    eval_every: int = 5
    val_pairs: int = 20
    select: str = "last"  # or "best-val"
    checkpoint_every: int = 5
    subset: str = "cuhk_student"
    unpaired: str = ""  # "fs2k": FS2K training photos in the cycle / adversarial terms (no pair); "": none
    unpaired_batch: int = 4  # unpaired photos per step, beside the batch of CUFS pairs
    generator: str = "se-unet"  # or "mobilenet-unet" (ImageNet MobileNetV2 encoder, sketch-v5)
    crop_scale: float = 1.0  # the crop: CUFS's 200x250 times this (1.92: 384x480)
    train_crop: int = 0  # > 0: train on random square crops of this side (multiple of 16)
    lambda_adv: float = 1.0  # "perceptual": weight of D_Y's adversarial term
    lambda_perc: float = 0.0  # "perceptual": VGG-19 feature loss G(x) <-> y on the pairs
    lambda_content: float = 0.0  # "perceptual": VGG-19 content loss G(x_u) <-> gray(x_u), unpaired photos
    p_backdrop: float = 0.0  # probability of replacing a pair's studio backdrop by an unpaired photo window
    backdrop_grow: int = 2  # pixels the backdrop mask is grown by (at the crop size)
    tone_style: int = 0  # > 0: FS2K training pairs of this drawing style (1-3) add the tone term; 0: none
    lambda_tone: float = 10.0  # weight of the tone term: L1 of G(x) and the drawing, both average-pooled
    tone_pool: int = 16  # the tone term's average-pooling factor (only the layout of light and dark)
    tone_loss: str = "pool"  # "pool": L1 of the pooled images; "hist": patch_histogram_loss on tone_pool px windows
    tone_batch: int = 2  # tone pairs per step
    lambda_style: float = 0.0  # "perceptual": mean-Gram style loss of G(x_u) to the batch's artist sketches; 0 = none
    init: str = ""  # fine-tuning: a checkpoint whose G and D_Y start this run, or a shipped ONNX (G only); "": none
