"""Picture grids for the benchmark reports in docs/."""

from __future__ import annotations

from PIL import Image, ImageDraw


def label(img: Image.Image, text: str) -> Image.Image:
    """The image with a white 18 px caption band above it (RGB)."""
    out = Image.new("RGB", (img.width, img.height + 18), "white")
    out.paste(img.convert("RGB"), (0, 18))
    ImageDraw.Draw(out).text((4, 3), text, fill="black")
    return out


def grid(rows: list[list[Image.Image]], gap: int = 4) -> Image.Image:
    """Rows of images pasted on a white canvas, ``gap`` px apart."""
    w = max(sum(c.width for c in r) + gap * (len(r) - 1) for r in rows)
    h = sum(max(c.height for c in r) for r in rows) + gap * (len(rows) - 1)
    canvas = Image.new("RGB", (w, h), "white")
    y = 0
    for r in rows:
        x = 0
        for c in r:
            canvas.paste(c, (x, y))
            x += c.width + gap
        y += max(c.height for c in r) + gap
    return canvas
