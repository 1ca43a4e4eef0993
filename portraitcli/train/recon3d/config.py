"""Training configuration of the 3-D reconstruction (override with ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recon3dConfig:
    """Hyper-parameters of ``portrait train recon3d`` (Unsup3d's, narrower and shorter).

    ``data`` picks the training faces: ``utkface`` (real photos aligned to the synthetic
    protocol's template), ``cartoon`` (their 2-D cartoons by ``cartoon_model``, a run's
    ``model.onnx``, or the shipped cartoon model when empty), or ``both``.

    ``prior_steps``: before the photometric training, the depth network is fitted for this
    many steps to a shape prior, ``prior``: ``ellipsoid`` the mean-face half-ellipsoid
    (:func:`portraitcli.models.recon3d.ellipsoid_depth`), the 3-D cartoon paper's (after
    GAN2Shape) initialisation, or ``mean-face`` the Surrey Face Model's mean face itself
    (:func:`portraitcli.face.shape.mean_face_depth`). Without a prior the
    reconstruction can settle into the hollow-face solution (a concave face lit from the
    opposite side explains the shading as well): run 00013, which had no prior, predicted
    depth anti-correlated with the truth (r = -0.57 on synth_depth after 5 epochs).

    ``lambda_view``: weight of a weak viewpoint supervision, the squared difference (in units
    of ``ROTATION_RANGE``) between the predicted yaw and the one solved from each training
    face's five landmarks on the mean face
    (:func:`portraitcli.face.shape.landmark_pose`); the view network is also fitted
    to them for ``prior_steps`` steps first. Without it, run 00015 (ellipsoid prior) predicted
    yaws with a spread of 1 degree where the faces turn by tens, and its depth bent to
    explain the turns.

    ``lambda_pseudo_view``: weight of the viewpoint self-supervision
    (:func:`portraitcli.train.recon3d.train.pseudo_view_loss`): each face's reconstruction
    rendered from a random view (pitch +-``pseudo_pitch``, yaw +-``pseudo_yaw`` degrees, a
    common range of head poses in portraits) and the view network asked to read it back.

    ``synth_train``: synthetic faces with known shape (``portrait data synth-depth`` with a
    seed other than the test set's 0) as supervision beside the unsupervised losses on
    photos: each step adds a batch of them (:func:`portraitcli.train.recon3d.train.synthetic_batch`,
    ``synth_texture`` of them re-rendered with a real face as albedo) with the terms of
    :func:`portraitcli.train.recon3d.train.synthetic_loss`: ``lambda_view_depth`` for the
    view-depth network (``view_depth``, which needs ``synth_train``), and optionally
    ``lambda_synth`` / ``lambda_synth_view`` for Unsup3d's canonical depth and viewpoint.
    Trained only on photos, the canonical depth learns the mean face and little of the
    person (its deviation from the mean face correlated 0.12 with the truth, issue 35's
    ``residual_depth_corr``); supervising it (weights 1 and 1) left that at 0.05 after two
    epochs, with a pitch error of 7 degrees, while the pixel-aligned view-depth network
    reached 0.73 on validation renders in 1,500 steps (docs/experiments/log.md).

    ``prior_blend``: the exported model's depth is ``d + prior_blend (prior - d)`` (the prior
    shifted to the depth's mean; :func:`portraitcli.train.recon3d.networks.shrink_to_prior`).
    With ``val_synth`` set, the end of training logs SIDE / MAD on it for blends 0 .. 1, to
    choose it there (never on the test set); set it and re-export by resuming the finished
    run with ``--set prior_blend=...``.
    """

    data: str = "utkface"
    cartoon_model: str = ""
    size: int = 64
    nf: int = 24  # 32 exports 35 MB, over the 25 MB cap; 24 exports about 20 MB
    zdim: int = 128
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4  # Adam, as Unsup3d
    lambda_flip: float = 0.5  # the symmetry term: weight of the flipped reconstruction's losses
    lambda_perc: float = 1.0
    lambda_smooth: float = 0.01  # depth smoothness (the 3-D cartoon paper)
    perceptual_layers: tuple[int, ...] = (3,)  # MobileNetV2 features[3]: stride 4 (16x16 at 64 px)
    warp_iterations: int = 10
    prior: str = "mean-face"  # or "ellipsoid"
    prior_steps: int = 500
    lambda_view: float = 1.0
    lambda_pseudo_view: float = 0.0
    prior_blend: float = 0.0  # export: shrink the depth towards the prior by this much (0 .. 1)
    pseudo_yaw: float = 30.0  # degrees: the random views of the pseudo-view term
    pseudo_pitch: float = 15.0
    n_val: int = 100  # training faces held out for the progress signal
    synth_train: str = ""  # synthetic faces with known shape (portrait data synth-depth, seed != 0): supervision
    view_depth: bool = False  # add the view-depth network (ImageNet MobileNetV2 U-Net), trained on synth_train
    lambda_view_depth: float = 1.0
    lr_view_depth: float = 3e-4
    lambda_synth: float = 0.0  # canonical depth supervision on synth_train
    lambda_synth_view: float = 0.0  # viewpoint supervision on synth_train
    synth_texture: float = 0.5  # share of the synthetic faces re-rendered with a real face's colours
    val_synth: str = ""  # synthetic faces with true depth (portrait data synth-depth, seed != 0): SIDE / MAD each epoch
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    checkpoint_every: int = 1
