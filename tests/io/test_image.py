from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraitcli.errors import BadInputError, UsageError
from portraitcli.io import check_distinct, read_image, write_image
from portraitcli.io import image as image_io


def _gradient(w: int = 64, h: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 128)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".bmp", ".tif"])
def test_roundtrip_formats(tmp_path: Path, ext: str) -> None:
    rgb = _gradient()
    path = write_image(tmp_path / f"a{ext}", rgb)
    loaded = read_image(path)
    assert loaded.rgb.shape == rgb.shape and loaded.rgb.dtype == np.uint8
    tol = 8 if ext in (".jpg", ".webp") else 0
    assert np.abs(loaded.rgb.astype(int) - rgb).max() <= tol
    assert loaded.alpha is None


def test_exif_orientation_applied(tmp_path: Path) -> None:
    rgb = _gradient(64, 32)  # landscape; EXIF orientation 6 = rotate 90 CW to display
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rot.jpg"
    Image.fromarray(rgb).save(path, exif=exif, quality=95)
    loaded = read_image(path)
    assert loaded.rgb.shape == (64, 32, 3)
    expected = np.rot90(rgb, k=-1)  # 90 degrees clockwise
    assert np.abs(loaded.rgb.astype(int) - expected).mean() < 3


def test_rgba_png_alpha_split_and_reattached(tmp_path: Path) -> None:
    rgb = _gradient()
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[10:30, 10:40] = 255
    src = tmp_path / "in.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(src)
    loaded = read_image(src)
    assert loaded.rgb.shape == rgb.shape
    np.testing.assert_array_equal(loaded.alpha, alpha)
    out = write_image(tmp_path / "out.png", loaded.rgb[:, :, 0], loaded.alpha)
    with Image.open(out) as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im)[:, :, 3], alpha)


def test_alpha_composited_over_white_for_jpeg(tmp_path: Path) -> None:
    gray = np.zeros((32, 32), np.uint8)
    alpha = np.zeros((32, 32), np.uint8)
    out = read_image(write_image(tmp_path / "o.jpg", gray, alpha))
    assert out.rgb.min() > 240  # fully transparent black -> white


def test_16bit_grayscale_png(tmp_path: Path) -> None:
    arr = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(arr).save(path)
    loaded = read_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (30, 40, 3)
    np.testing.assert_allclose(loaded.rgb[:, :, 0], arr / 257.0, atol=0.51)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_gradient()).convert("CMYK").save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    loaded = read_image(path)
    assert loaded.rgb.shape == (48, 64, 3)
    assert np.abs(loaded.rgb.astype(int) - _gradient()).mean() < 6


def test_palette_with_transparency(tmp_path: Path) -> None:
    pal = Image.fromarray(_gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    path = tmp_path / "pal.png"
    pal.save(path, transparency=0)
    loaded = read_image(path)
    assert loaded.rgb.shape == (48, 64, 3)
    assert loaded.alpha is not None and loaded.alpha.min() == 0 and loaded.alpha.max() == 255


def test_grayscale_input(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    Image.fromarray(_gradient()[:, :, 0]).save(path)
    loaded = read_image(path)
    assert loaded.rgb.shape == (48, 64, 3)
    assert (loaded.rgb[:, :, 0] == loaded.rgb[:, :, 2]).all()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated_jpeg(tmp_path: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_gradient(256, 256)).save(buf, "JPEG", quality=95)
    path = tmp_path / "trunc.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: _write(d / "empty.jpg", b""), "empty file"),
        (_truncated_jpeg, "truncated"),
        (lambda d: _write(d / "text.png", b"not an image\n"), "not an image"),
        (lambda d: Image.new("RGB", (8, 40)).save(d / "tiny.png") or d / "tiny.png", "at least 16 px"),
        (lambda d: d / "missing.png", "cannot read"),
        (lambda d: d, "is a folder"),
    ],
)
def test_bad_inputs_raise_bad_input(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(BadInputError, match=message):
        read_image(path)


def test_decompression_bomb_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(path)  # 100 MP, a few kB on disk
    assert path.stat().st_size < 100_000
    with pytest.raises(BadInputError, match="decompression bomb"):
        read_image(path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, fp, format=None, **kw):  # noqa: A002
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(BadInputError, match="cannot write"):
        write_image(tmp_path / "x.png", _gradient())
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_existing_atomically(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    write_image(target, np.zeros((20, 20), np.uint8))
    write_image(target, np.full((20, 20), 200, np.uint8))
    assert read_image(target).rgb.min() == 200
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_csv_is_written_whole_and_quotes_commas(tmp_path: Path) -> None:
    import csv

    target = tmp_path / "t.csv"
    rows = [["full model, seed 1", "photo1/image0788", 0.5], ["xdog", "a", 1]]
    image_io.write_csv_atomic(target, ["method", "image", "ssim"], rows)
    with target.open(newline="") as f:
        assert list(csv.reader(f)) == [["method", "image", "ssim"], *[[str(c) for c in r] for r in rows]]

    def failing_rows():
        yield ["a", "b", 1]
        raise RuntimeError("a row could not be made")

    with pytest.raises(RuntimeError):
        image_io.write_csv_atomic(target, ["method", "image", "ssim"], failing_rows())
    assert target.read_text().startswith('method,image,ssim\n"full model, seed 1"')  # the old table, whole
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_unknown_output_extension(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown output extension"):
        write_image(tmp_path / "x.gif", _gradient())


def test_output_equal_to_input_refused(tmp_path: Path) -> None:
    src = write_image(tmp_path / "a.png", _gradient())
    with pytest.raises(UsageError, match="refusing to overwrite"):
        check_distinct(src, tmp_path / "." / "a.png")
    check_distinct(src, tmp_path / "b.png")


def test_limits_are_documented_values() -> None:
    assert image_io.MIN_SIDE == 16
    assert image_io.MAX_PIXELS <= Image.MAX_IMAGE_PIXELS


def test_written_files_get_the_umask_mode(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        path = write_image(tmp_path / "m.png", _gradient())
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_16_bit_grayscale_png_round_trips(tmp_path: Path) -> None:
    depth = (np.arange(40 * 30, dtype=np.uint32).reshape(40, 30) * 53 % 65536).astype(np.uint16)
    write_image(tmp_path / "d.png", depth)
    with Image.open(tmp_path / "d.png") as im:
        assert im.mode == "I;16"
        np.testing.assert_array_equal(np.asarray(im), depth)
    with pytest.raises(UsageError):
        write_image(tmp_path / "d.jpg", depth)  # JPEG has no 16-bit gray


def test_atomic_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    from portraitcli.io.image import atomic_folder

    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("model failed")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("1")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("2")
    assert (out / "sub" / "b.txt").read_text() == "2"
    (out / "mine.txt").write_text("keep")
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("new")
    assert (out / "a.txt").read_text() == "new" and (out / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
