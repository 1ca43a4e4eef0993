"""Training of the fast arbitrary-style model (:class:`~portraitcli.train.stylize.networks.StyleTransferNet`).

The decoder learns to minimise Gatys et al.'s objective on VGG-19 for any (content, style)
pair (after the config's feature transform, WCT or AdaIN), as Huang and Belongie (2017) train
AdaIN's decoder: content loss at conv4_2 to the content photo, Gram-matrix style loss at
relu1_1..relu5_1 to the style image (:func:`~portraitcli.nets.vgg.content_distance`,
:func:`~portraitcli.nets.vgg.style_distance`). Contents are portraits (FS2K,
CUFS, UTKFace training photos); styles are paintings (WikiArt224), FS2K drawings and toons
(:mod:`portraitcli.data.styles`), the benchmark's held-out styles excluded. Everything is
decoded once into memory at ``scale_max * crop`` px on the short side.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from rich.console import Console
from rich.progress import track

from portraitcli.data.styles import read_rgb, training_contents, training_styles, trim_bars
from portraitcli.nets.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19Features, content_distance, style_distance
from portraitcli.train.common.loop import LossMeter, fit, seed_run, start_run, tensors
from portraitcli.train.common.optim import adam_step_decay
from portraitcli.train.stylize.config import StylizeConfig
from portraitcli.train.stylize.networks import StyleTransferNet


def build(cfg: StylizeConfig, pretrained: bool = True) -> StyleTransferNet:
    """The network of ``cfg`` (ImageNet encoder unless ``pretrained`` is False)."""
    return StyleTransferNet(tuple(cfg.decoder), cfg.transform, pretrained=pretrained)


def resize_short(rgb: np.ndarray, side: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 so that its short side is ``side`` px (area filter down, cubic up)."""
    h, w = rgb.shape[:2]
    s = side / min(h, w)
    size = (max(side, round(w * s)), max(side, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _subsample(files: list[Path], n: int) -> list[Path]:
    """``n`` of ``files``, evenly spaced (all when ``n`` is 0 or at least their number)."""
    if n <= 0 or n >= len(files):
        return files
    return [files[i] for i in np.linspace(0, len(files) - 1, n).astype(int)]


def load_images(files: list[Path], side: int, trim: bool = False, label: str = "loading") -> list[np.ndarray]:
    """Decode ``files`` as RGB with their short side at ``side`` px (``trim``: cut black bars first)."""
    out = []
    for f in track(files, description=label, transient=True):
        rgb = read_rgb(f)
        out.append(resize_short(trim_bars(rgb) if trim else rgb, side))
    return out


def random_view(rgb: np.ndarray, crop: int, scale_max: float, rng: np.random.Generator) -> np.ndarray:
    """A random ``crop`` x ``crop`` view: short side resized to U(crop, scale_max crop), random place and flip."""
    side = int(rng.uniform(crop, scale_max * crop + 1))
    img = resize_short(rgb, side) if side != min(rgb.shape[:2]) else rgb
    h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    view = img[y : y + crop, x : x + crop]
    return view[:, ::-1] if rng.random() < 0.5 else view


def to_input(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [-1, 1]."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 127.5 - 1.0


def gatys_objective(
    vgg: VGG19Features, out: torch.Tensor, content: torch.Tensor, style: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (content_distance, style_distance) of ``out`` to ``content`` and ``style``,
    (N,) each; the targets' features carry no gradient."""
    fo = vgg(out)
    with torch.no_grad():
        fc, fs = vgg(content), vgg(style)
    return content_distance(fo, fc), style_distance(fo, fs)


#: ``portrait stylize --face``: the aligned face at the sketch models' CUFS framing, this wide.
FACE_WIDTH = 512


def face_template(data: Path) -> dict:
    """The framing ``portrait stylize --face`` crops at: CUFS's (hair and shoulders), 512x640."""
    from portraitcli.data.cufs import cufs_template, scale_template

    template = scale_template(cufs_template(data), FACE_WIDTH / 200)
    template.pop("exposure", None)
    return {**template, "source": f"the CUFS framing of the sketch models, scaled to {FACE_WIDTH} px wide"}


def train(cfg: StylizeConfig, data: Path, run_dir: Path, console: Console | None = None) -> Path:
    """Train (or resume) the fast style model in ``run_dir``; return the final checkpoint.

    Resumes from the newest checkpoint; the batches of epoch e depend only on (seed, e).
    """
    console = console or Console(stderr=True)
    seed_run(cfg)
    if cfg.crop % StyleTransferNet.factor:
        from portraitcli.errors import UsageError

        raise UsageError(f"crop={cfg.crop}: must be a multiple of {StyleTransferNet.factor}")
    side = int(cfg.scale_max * cfg.crop)
    content_files = _subsample(training_contents(data, cfg.n_utkface), cfg.max_per_source)
    styles = training_styles(data)
    order = np.random.default_rng([cfg.seed, 3]).permutation(len(content_files))
    val_idx, train_idx = np.sort(order[: cfg.n_val]), np.sort(order[cfg.n_val :])
    contents = load_images(content_files, side, label="content photos")
    pools = {
        "wikiart": load_images(_subsample(styles.wikiart, cfg.max_per_source), side, trim=True, label="paintings"),
        "drawings": load_images(_subsample(styles.drawings, cfg.max_per_source), side, label="FS2K drawings"),
        "toons": load_images(_subsample(styles.toons, cfg.max_per_source), side, label="toons"),
    }
    net = build(cfg).to(cfg.device)
    vgg = VGG19Features((*STYLE_LAYERS, CONTENT_LAYER)).to(cfg.device)
    objects = adam_step_decay({"G": net}, cfg.lr, 0.9, cfg.epochs, cfg.lr_milestones, cfg.lr_gamma)
    opt = objects["opt_G"]
    extra = {
        "task": "stylize",
        "data": str(data),
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "n_styles": {k: len(v) for k, v in pools.items()},
        "data_name": (
            f"{len(train_idx)} portraits (FS2K, CUFS and UTKFace training photos) x "
            f"{sum(len(v) for v in pools.values())} styles (WikiArt224 {len(pools['wikiart'])}, "
            f"FS2K drawings {len(pools['drawings'])}, toons {len(pools['toons'])}; the benchmark's styles held out)"
        ),
        "val_names": [str(content_files[i]) for i in val_idx],
    }
    run = start_run(run_dir, cfg, objects, extra, lambda: face_template(data), console)
    net.train()

    def draw_style(rng: np.random.Generator) -> np.ndarray:
        u = rng.random()
        name = "wikiart" if u < cfg.p_wikiart else ("drawings" if u < (1 + cfg.p_wikiart) / 2 else "toons")
        pool = pools[name]
        return random_view(pool[int(rng.integers(len(pool)))], cfg.crop, cfg.scale_max, rng)

    def train_epoch(epoch: int, rng: np.random.Generator) -> dict[str, float]:
        meter = LossMeter()
        for _ in range(cfg.steps_per_epoch):
            idx = rng.choice(train_idx, cfg.batch_size)
            xc = tensors([to_input(random_view(contents[i], cfg.crop, cfg.scale_max, rng)) for i in idx], cfg.device)
            xs = tensors([to_input(draw_style(rng)) for _ in idx], cfg.device)
            out = net(xc, xs, torch.ones(1, device=cfg.device))
            c_loss, s_loss = gatys_objective(vgg, out, xc, xs)
            loss = cfg.lambda_content * c_loss.mean() + cfg.lambda_style * s_loss.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            meter.add({"content": c_loss.mean().item(), "style": s_loss.mean().item()})
        return meter.mean()

    val_rng = np.random.default_rng([cfg.seed, 5])
    val_pairs = [
        (to_input(random_view(contents[i], cfg.crop, 1.0, val_rng)), to_input(draw_style(val_rng))) for i in val_idx
    ]

    def validate(epoch: int) -> dict[str, float]:
        net.eval()
        with torch.no_grad():
            xc = tensors([c for c, _ in val_pairs], cfg.device)
            xs = tensors([s for _, s in val_pairs], cfg.device)
            c_loss, s_loss = gatys_objective(vgg, net(xc, xs, torch.ones(1, device=cfg.device)), xc, xs)
        net.train()
        return {"val_content": float(c_loss.mean()), "val_style": float(s_loss.mean())}

    return fit(run, cfg, objects, train_epoch, optimizer=opt, validate=validate)
