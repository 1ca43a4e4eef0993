"""Training configuration of the destylize model (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DestylizeConfig:
    """Hyper-parameters of ``portrait train destylize``.

    ``arch``: ``srn`` (the paper's Style Removal Network with spatial transformers),
    ``unet`` (the plain U-Net baseline: the sketch model's U-Net without SE block, same
    losses and budget) or ``mobilenet`` (the v6 candidate,
    :class:`~portraitcli.train.destylize.networks.AlignedUNet`: a spatial transformer on the
    image, localized by ImageNet MobileNetV2, then an ImageNet MobileNetV2 U-Net). ``size``:
    the pairs' side in px (``portrait data stylized-pairs --set size=...``; the v6 candidate
    trains at 256).
    ``use_stn=False`` / ``skips=False`` are ablations of the SRN.
    Loss weights follow IFRP: pixel MSE + ``lambda_adv`` * adversarial + ``eta_id`` *
    identity (feature) loss, the last two decayed per epoch n as ``max(w * 0.995^n, w / 2)``.

    Losses use the paper's normalization: the pixel and identity terms are squared
    Frobenius norms (sums over an image's pixels / feature elements), the adversarial term a
    per-image logistic loss, all averaged over the batch. With per-pixel *means* instead,
    lambda 1e-2 weighs the adversarial term 49,152 times (3x128x128) more than the paper
    does; that version trained worse than the mean face (validation 13.4 dB / SSIM 0.31
    after 300 steps, against 14.9 / 0.52 without it).

    ``mean_canvas`` (:class:`~portraitcli.train.destylize.networks.CanvasHead`): the generator
    starts from the mean training face and learns the difference. ``optimizer``: ``adam``
    (lr 2e-4, beta1 0.5) by default; ``rmsprop`` is the paper's choice (lr 1e-3 at batch 64;
    at batch 8, 1e-3 stalled at the mean face for two epochs and 1e-4 learned slowly).
    300-step probes on 1,300 training pairs, validation PSNR / SSIM: RMSprop 1e-4 without the
    adversarial term 14.43 / 0.39 (200 steps), Adam 14.53 / 0.41, Adam with the canvas
    14.87 / 0.52.

    Alignment (our diagnostics and addition; the paper's STNs learn from the losses alone):
    ``oracle_align`` undoes each input's recorded misalignment
    (:func:`~portraitcli.data.stylized.misalignment_theta`) before G, in training and
    validation: an upper bound that says how much the misalignment costs; its model expects
    aligned input and is refused by the export. ``lambda_align > 0`` supervises the first
    encoder STN's affine matrix with the recorded misalignment (weight times the squared
    Frobenius norm of the difference, batch mean); at inference the STN still aligns
    without landmarks. It applies only where there is such an STN and the inputs are
    misaligned (:attr:`align_weight`): the U-Net baseline, ``use_stn=false`` and
    ``oracle_align`` runs train without it. ``stn_grid`` > 0 gives the STNs' localization
    networks a pooled g x g map instead of global pooling, so they can see where the face is
    (:class:`~portraitcli.train.destylize.networks.SpatialTransformer`). destylize-v2 to
    v5 (the defaults) use both; runs saved before these fields existed trained without
    them (``SAVED_DEFAULTS``), as did runs saved before the sketch inputs existed.

    ``epoch_pairs`` > 0 makes an epoch a seeded random subset of that many training pairs
    (a different one each epoch), so that a run at 256 px, where a pass over all pairs takes
    about half an hour on two cores, still validates and saves a checkpoint every few minutes.

    ``r1_gamma`` > 0 regularizes the discriminator with the R1 penalty (see
    :func:`~portraitcli.train.destylize.train._step`), which the paper does not use.
    ``lambda_ssim`` > 0 adds a structural term to the generator's loss, the SSIM dissimilarity
    summed over the image like the other terms (Zhao et al., IEEE TCI 2017; the sketch model's
    ``lambda_ssim``), on the faces as 8-bit values like the evaluation's SSIM
    (``ssim_as_evaluated``; runs 00039-00040, saved before that field, computed it on the
    [-1, 1] tensors unshifted, which is not the evaluation's SSIM).

    ``lambda_facenet`` > 0 adds ``lambda_facenet * (1 - cos(FaceNet(fake), FaceNet(real)))``
    (batch mean) to L_G: a face recognizer's identity loss (:mod:`portraitcli.nets.facenet`,
    on the template's face box grown 1.4x, 160 px), beside the ImageNet-feature ``eta_id``
    term. The benchmark scores identity with dlib's descriptor, a different network. The
    pixel term sums about 49,000 squared errors per 128 px face (about 1,500 at MSE 0.03), so
    a cosine distance of 0.3-0.6 needs a weight near 1e3 to pull as hard.
    ``p_gray``: each training input is replaced by its grayscale (luma in all three channels)
    with this probability (:func:`~portraitcli.train.destylize.train.random_grayscale`), so
    that colourless portraits such as pencil sketches are not outside the training inputs.
    ``p_sketch``: from epoch ``sketch_from_epoch`` on (0-based), each training input is
    replaced with this probability by a synthetic pencil sketch of its real face under the
    same recorded misalignment (:func:`~portraitcli.train.destylize.train.random_sketch`), so
    that the network sees grayscale line-and-tone drawings whose identity is the target's.
    ``sketch_source``: ``dodge`` draws them with a colour-dodge filter (no CUFS image is
    used, the CUFS sketches stay an unseen style); ``model`` takes the shipped sketch
    model's drawings of the training faces (``portrait data pair-sketches``), so that
    destylize learns to undo what ``portrait sketch`` makes. That model learned from the
    CUFS *training* sketches, so the benchmark's CUFS column is then no longer an unseen
    style, though its 100 test faces stay unseen by both models. ``model+draw`` takes, for
    each replaced input, the sketch model's or the draw model's drawing (half each; ``portrait
    data pair-sketches --task draw`` draws every face once, in a random style), so that it
    also undoes ``portrait draw``; the benchmark's draw round trip is then a seen style.
    ``val_sketch``: where the datasets folder holds CUFS, also validate on its 88 CUHK-student
    *training* sketches (to their photos, in the template framing): PSNR, SSIM and retrieval
    logged as ``val_sketch_*``. The benchmark's sketch column uses the test split only.
    """

    SAVED_DEFAULTS: ClassVar[dict[str, object]] = {
        "stn_grid": 0,
        "oracle_align": False,
        "lambda_align": 0.0,
        "val_sketch": False,
        "p_sketch": 0.0,
        "sketch_from_epoch": 0,
        "sketch_source": "dodge",
        "ssim_as_evaluated": False,
    }

    arch: str = "srn"
    size: int = 128  # px, the pairs' side (the v6 candidate: 256)
    channels: tuple[int, ...] = (32, 64, 128, 256)
    use_stn: bool = True
    skips: bool = True
    stn_grid: int = 8  # STN localization map size (0: global pooling, destylize-v1)
    ndf: int = 32
    mean_canvas: bool = True
    epochs: int = 36  # destylize-v5 (v2 was 12, v3 24, v4 30), the last 6 with sketch inputs
    batch_size: int = 8
    epoch_pairs: int = 0  # training pairs per epoch, a fresh random subset each epoch (0: all)
    optimizer: str = "adam"  # or "rmsprop" (the paper's)
    lr: float = 2e-4
    beta1: float = 0.5  # Adam only
    lr_decay: float = 0.99  # per epoch
    lambda_adv: float = 1e-2
    eta_id: float = 1e-3
    lambda_ssim: float = 0.0  # weight of the summed SSIM dissimilarity (0: off, as the paper)
    lambda_facenet: float = 0.0  # weight of FaceNet's cosine identity distance (0: off; e.g. 1e3, see the docstring)
    ssim_as_evaluated: bool = True  # SSIM on 8-bit values (False: on [-1, 1] unshifted, runs 00039-00040)
    r1_gamma: float = 0.0  # R1 penalty on D's gradient at real faces (0: off, as the paper)
    id_layers: tuple[int, ...] = (3, 6, 13)  # MobileNetV2 feature stages (strides 4, 8, 16)
    oracle_align: bool = False  # diagnostic: undo the recorded misalignment before G
    lambda_align: float = 1e4  # weight of the first encoder STN's supervision (see align_weight)
    n_val: int = 100  # training pairs held out for the progress signal
    val_retrieval: bool = True  # also dlib retrieval top-1/5 among the held-out faces (about 7 s)
    val_sketch: bool = True  # also the CUFS training sketches, where the datasets folder has them
    p_gray: float = 0.0  # probability of a grayscale training input
    p_sketch: float = 0.25  # probability of a pencil sketch of the real face as the input (destylize-v5)
    sketch_from_epoch: int = 30  # first epoch (0-based) with p_sketch
    sketch_source: str = "model"  # the sketch model's drawings; "model+draw"; "dodge" (a colour-dodge filter)
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    eval_every: int = 1
    checkpoint_every: int = 1

    @property
    def draws_sketches(self) -> bool:
        """Whether the run replaces inputs by sketches in any epoch (``p_sketch`` > 0 and
        ``epochs`` past ``sketch_from_epoch``)."""
        return self.p_sketch > 0 and self.epochs > self.sketch_from_epoch

    @property
    def align_weight(self) -> float:
        """``lambda_align`` where it applies (an SRN with STNs, or the v6 image aligner, on
        misaligned inputs), else 0."""
        has_stn = (self.arch == "srn" and self.use_stn) or self.arch == "mobilenet"
        return self.lambda_align if has_stn and not self.oracle_align else 0.0
