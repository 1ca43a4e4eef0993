"""Fuzz the image reader with atheris for a bounded time (not part of the test suite).

The property: for any bytes, ``read_image`` either returns the library's contract
((H, W, 3) uint8 RGB, optional (H, W) uint8 alpha, each side >= 16 px) or raises
``BadInputError``; nothing else escapes (no other exception, no crash, no hang).

    pip install atheris
    python benchmarks/fuzz_read_image.py -max_total_time=300          # 5 minutes
    python benchmarks/fuzz_read_image.py CORPUS_DIR -max_total_time=300 -rss_limit_mb=2048

A seed corpus of small valid files in every read format (and a few broken ones) is written
to ``CORPUS_DIR`` (default ``.fuzz_corpus/``) on the first run. A failure prints the input
that caused it (saved by libFuzzer as ``crash-*``); rerun with that file as the argument.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports():
    from PIL import Image

    from portraitcli.errors import BadInputError
    from portraitcli.io.image import MIN_SIDE, read_image

SCRATCH = Path(tempfile.mkdtemp(prefix="fuzz_read_image_")) / "input"


def seed_corpus(folder: Path) -> None:
    """A few small valid images of every read format and mode, plus truncated copies."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8))
    samples = {
        "rgb.jpg": (rgb, "JPEG"),
        "rgb.png": (rgb, "PNG"),
        "rgba.png": (rgb.convert("RGBA"), "PNG"),
        "gray.webp": (rgb.convert("L"), "WEBP"),
        "p.bmp": (rgb.convert("P"), "BMP"),
        "cmyk.tif": (rgb.convert("CMYK"), "TIFF"),
        "i16.png": (Image.fromarray(rng.integers(0, 65535, (20, 20), dtype=np.uint16)), "PNG"),
    }
    for name, (img, fmt) in samples.items():
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        (folder / name).write_bytes(buf.getvalue())
        (folder / f"cut_{name}").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


def test_one_input(data: bytes) -> None:
    SCRATCH.write_bytes(data)
    try:
        image = read_image(SCRATCH)
    except BadInputError:
        return
    rgb, alpha = image.rgb, image.alpha
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, (rgb.shape, rgb.dtype)
    assert min(rgb.shape[:2]) >= MIN_SIDE, rgb.shape
    assert alpha is None or (alpha.dtype == np.uint8 and alpha.shape == rgb.shape[:2])


def main() -> None:
    args = sys.argv[:]
    positional = [a for a in args[1:] if not a.startswith("-")]
    if not positional:
        corpus = Path(".fuzz_corpus")
        args.insert(1, str(corpus))
    else:
        corpus = Path(positional[0])
    if corpus.is_dir() or not corpus.exists():
        if not corpus.exists() or not any(corpus.iterdir()):
            seed_corpus(corpus)
    if not any(a.startswith("-max_total_time") or a.startswith("-runs") for a in args):
        args.append("-max_total_time=60")
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
