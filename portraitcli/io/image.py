"""Reading and writing images safely.

Everything that decodes or encodes pixels goes through :func:`read_image` and
:func:`write_image`: they apply EXIF orientation, convert every input mode (grayscale,
16-bit, CMYK, palette, alpha) to the library's ``(H, W, 3) uint8 RGB`` contract with the
alpha kept aside, refuse bad input with :class:`BadInputError`, and write atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from portraitcli.errors import BadInputError, UsageError
from portraitcli.types import LoadedImage

#: Pillow format name by file extension, for input discovery and output encoding.
IMAGE_EXTENSIONS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
#: The formats read (Pillow's names), whatever the file's extension: MPO is the multi-picture
#: JPEG that cameras and phones write (its first picture is read).
READ_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF"})
#: Output formats that can store an alpha channel.
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
#: Largest accepted image, in pixels (about 64 megapixels; Pillow's own bomb limit is 89 MP).
MAX_PIXELS = 64_000_000
#: Smallest accepted side, in pixels.
MIN_SIDE = 16


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale a 16-bit or 32-bit integer / float image to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        hi = 1.0 if arr.max(initial=0.0) <= 1.0 else 255.0
        return np.clip(np.rint(arr / hi * 255.0), 0, 255).astype(np.uint8)
    # Integer data wider than 8 bits: Pillow's 16-bit modes ("I;16", "I") hold 0..65535.
    hi = 65535 if arr.max(initial=0) > 255 else 255
    return np.clip(np.rint(arr.astype(np.float64) * (255.0 / hi)), 0, 255).astype(np.uint8)


def _decode(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert a loaded Pillow image of any mode to (rgb, alpha)."""
    mode = img.mode
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA" if ("transparency" in img.info or mode == "PA") else "RGB")
        mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        gray = _to_uint8(np.asarray(img))
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if mode == "1":
        img = img.convert("L")
        mode = "L"
    if mode == "L":
        gray = np.asarray(img)
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if mode == "LA":
        arr = np.asarray(img)
        return np.repeat(arr[:, :, :1], 3, axis=2), np.ascontiguousarray(arr[:, :, 1])
    if mode in ("RGBA", "RGBa", "La"):
        arr = np.asarray(img.convert("RGBA"))
        return np.ascontiguousarray(arr[:, :, :3]), np.ascontiguousarray(arr[:, :, 3])
    if mode != "RGB":  # CMYK, YCbCr, LAB, HSV, RGBX ...
        img = img.convert("RGB")
    return np.asarray(img).copy(), None


def read_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read an image file into the library's contract.

    Reads JPEG, PNG, WebP, BMP and TIFF, told by the file's content, not its name (the first
    frame of an animated or multi-page file); other formats are refused. Applies the
    EXIF orientation; converts grayscale, 16-bit, CMYK and palette images to RGB; splits
    off the alpha channel (palette transparency included).

    Args:
        path: the file to read.

    Returns:
        LoadedImage with ``rgb`` (H, W, 3) uint8 RGB and ``alpha`` (H, W) uint8 or None.

    Raises:
        BadInputError: the path does not exist, is not a readable file, is empty, is not an
            image, is in a format not listed above, is truncated or corrupt, has a side under
            :data:`MIN_SIDE` px, or has more than :data:`MAX_PIXELS` pixels (decompression bomb).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise BadInputError(f"{p}: cannot read ({e.strerror or e})") from None
    if p.is_dir():
        raise BadInputError(f"{p}: is a folder, not an image file")
    if size == 0:
        raise BadInputError(f"{p}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise BadInputError(
                        f"{p}: {w}x{h} is {w * h / 1e6:.0f} megapixels, over the limit of "
                        f"{MAX_PIXELS / 1e6:.0f} (possible decompression bomb)"
                    )
                fmt = img.format or "?"
                if fmt not in READ_FORMATS:
                    raise BadInputError(
                        f"{p}: is a {fmt} image; portraitcli reads JPEG, PNG, WebP, BMP and TIFF (convert it first)"
                    )
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb, alpha = _decode(img)
    except BadInputError:
        raise
    except UnidentifiedImageError:
        raise BadInputError(f"{p}: not an image file Pillow can identify") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise BadInputError(f"{p}: decompression bomb refused ({e})") from None
    except PermissionError as e:
        raise BadInputError(f"{p}: cannot read ({e.strerror})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise BadInputError(f"{p}: corrupt or truncated image ({e})") from None
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise BadInputError(f"{p}: image is {w}x{h} px; each side must be at least {MIN_SIDE} px")
    return LoadedImage(rgb=rgb, alpha=alpha, path=p, format=fmt)


def output_format(path: str | os.PathLike[str]) -> str:
    """Pillow format name for an output path, from its extension.

    Raises:
        UsageError: the extension is not one of :data:`IMAGE_EXTENSIONS`.
    """
    ext = Path(path).suffix.lower()
    try:
        return IMAGE_EXTENSIONS[ext]
    except KeyError:
        known = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise UsageError(f"{path}: unknown output extension {ext or '(none)'!r}; use one of {known}") from None


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    alpha: np.ndarray | None = None,
    quality: int = 95,
) -> Path:
    """Write an image atomically; the format follows the extension.

    The pixels go to a temporary file in the destination folder, which is then renamed
    over ``path``: a reader never sees a partly written file, and an error leaves nothing.

    Args:
        path: destination; its extension picks the format (see :data:`IMAGE_EXTENSIONS`).
        image: (H, W, 3) uint8 RGB or (H, W) uint8 grayscale; (H, W) uint16 grayscale
            for PNG and TIFF (16-bit data such as depth maps).
        alpha: optional (H, W) uint8 alpha to re-attach. Stored for PNG, WebP and TIFF;
            for JPEG and BMP the image is composited over white instead.
        quality: JPEG / WebP quality, 1-100.

    Returns:
        The path written.

    Raises:
        UsageError: unknown extension, or shapes that do not fit.
        BadInputError: the destination folder cannot be written.
    """
    p = Path(path)
    fmt = output_format(p)
    img = np.asarray(image)
    wide = img.dtype == np.uint16 and img.ndim == 2 and fmt in ("PNG", "TIFF") and alpha is None
    if not wide and (img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3)):
        raise UsageError(f"write_image needs (H, W) or (H, W, 3) uint8, got {img.shape} {img.dtype}")
    if alpha is not None:
        alpha = np.asarray(alpha, dtype=np.uint8)
        if alpha.shape != img.shape[:2]:
            raise UsageError(f"alpha {alpha.shape} does not match image {img.shape[:2]}")
        if fmt in _ALPHA_FORMATS:
            rgb = img if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)
            pil = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
        else:
            a = alpha.astype(np.float32)[..., None] / 255.0
            base = img.astype(np.float32) if img.ndim == 3 else img.astype(np.float32)[..., None]
            comp = np.rint(base * a + 255.0 * (1.0 - a)).astype(np.uint8)
            pil = Image.fromarray(comp if img.ndim == 3 else comp[..., 0])
    else:
        pil = Image.fromarray(img)
    kwargs: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_part_prefix(p), suffix=".part", dir=p.parent)
    except OSError as e:
        raise BadInputError(f"{p}: cannot write ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            pil.save(f, format=fmt, **kwargs)
        os.chmod(tmp, _new_file_mode())  # mkstemp makes 0600; give the usual umask-based mode
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise BadInputError(f"{p}: cannot write ({e.strerror or e})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a file atomically (temporary file in the same folder + rename).

    Raises:
        BadInputError: the destination cannot be written.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_part_prefix(p), suffix=".part", dir=p.parent)
    except OSError as e:
        raise BadInputError(f"{p}: cannot write ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise BadInputError(f"{p}: cannot write ({e.strerror or e})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_gif(path: str | os.PathLike[str], frames: Sequence[np.ndarray], duration_ms: int = 80) -> Path:
    """Write an animated GIF that loops forever, atomically (Pillow; adaptive palette per frame).

    Args:
        frames: (H, W, 3) uint8 RGB images, all the same size, at least one.
        duration_ms: display time of each frame.

    Returns:
        The path written.
    """
    import io

    if not frames:
        raise ValueError("write_gif: no frames")
    images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return write_bytes_atomic(path, buf.getvalue())


def write_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write a NumPy array as ``.npy`` atomically (:func:`write_bytes_atomic`)."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.asarray(array))
    return write_bytes_atomic(path, buf.getvalue())


def write_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """Write NumPy arrays as a compressed ``.npz`` atomically (:func:`write_bytes_atomic`)."""
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a UTF-8 text file atomically (:func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode())


def write_csv_atomic(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV table atomically (:func:`write_bytes_atomic`): ``csv.writer`` quoting (a
    field holding a comma is quoted), ``\\n`` line ends, UTF-8."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return write_text_atomic(path, buf.getvalue())


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], protect: Collection[Path] = frozenset()) -> Iterator[Path]:
    """Fill a folder without ever leaving it half written: yield a temporary sibling folder,
    then move its contents into ``path``.

    A new ``path`` appears at once (one rename); into an existing folder each file is moved
    with an atomic rename, replacing a file of the same name and leaving other files alone.
    On an error the temporary folder is removed and ``path`` is untouched.

    Args:
        path: the folder to fill.
        protect: resolved paths that must never be replaced (the run's inputs); checked
            for every file before the first one is moved.

    Raises:
        BadInputError: the parent folder cannot be written, or ``path`` is a file.
        UsageError: a file to be moved would replace one of ``protect``.
    """
    import shutil

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise BadInputError(f"{p} is a file; the outputs need a folder")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_part_prefix(p), suffix=".part", dir=p.parent))
    except OSError as e:
        raise BadInputError(f"{p}: cannot write ({e.strerror or e})") from None
    try:
        yield tmp
        if not p.exists():
            os.chmod(tmp, 0o777 & ~_umask())
            os.replace(tmp, p)
            return
        moves = sorted(tmp.rglob("*"))
        for src in moves:
            dst = p / src.relative_to(tmp)
            if Path(os.path.realpath(dst)) in protect:
                raise UsageError(f"{dst}: output path is an input of this run; refusing to overwrite an input")
        for src in moves:
            dst = p / src.relative_to(tmp)
            if src.is_dir():
                dst.mkdir(exist_ok=True)
            else:
                os.replace(src, dst)
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> BGR (or back): for handing pixels to OpenCV functions that assume BGR."""
    return np.ascontiguousarray(image[:, :, ::-1])


#: Temporary names: ``.NAME.PID.RANDOM.part`` (files) or the same folder name.
_PART = re.compile(r"\A\..+\.(\d+)\.[A-Za-z0-9_]{8}\.part\Z")


def _part_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Remove the temporary ``.part`` files and folders that an earlier run left behind
    (killed before it could clean up): those whose process no longer exists.

    Args:
        folders: the folders to sweep (not recursive); missing ones are ignored.

    Returns:
        The paths removed.
    """
    import shutil

    removed: list[Path] = []
    for folder in {Path(f) for f in folders}:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            m = _PART.match(entry.name)
            if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _new_file_mode() -> int:
    """The mode a plainly created file gets: 0o666 minus the process umask."""
    return 0o666 & ~_umask()


def check_distinct(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Refuse to write an output over its own input.

    Raises:
        UsageError: ``dst`` is the same file as ``src`` (after resolving links).
    """
    s, d = Path(src), Path(dst)
    same = s.resolve() == d.resolve()
    if not same and d.exists():
        try:
            same = os.path.samefile(s, d)
        except OSError:
            same = False
    if same:
        raise UsageError(f"{dst}: output path is the input file; refusing to overwrite an input")
