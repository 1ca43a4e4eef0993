"""Finding input images and mirroring their paths into an output folder."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from portraitcli.errors import BadInputError, UsageError
from portraitcli.io.image import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes.

    Attributes:
        input: the image to read.
        rel: its path relative to the root it was found under (mirrored in the output).
        output: the output path (the base name when one input gives several outputs).
    """

    input: Path
    rel: Path
    output: Path


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def _walk(root: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    files: list[Path] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            dirnames[:] = sorted(
                n for n in dirnames if not n.startswith(".") and (exclude is None or (d / n).resolve() != exclude)
            )
            files += [d / n for n in sorted(filenames) if _is_image(d / n)]
    else:
        files = sorted(p for p in root.iterdir() if p.is_file() and _is_image(p))
    return files


def discover(inputs: list[str], recursive: bool = False, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """Expand files, folders and glob patterns into (file, relative path) pairs.

    A folder contributes its images (``recursive``: its whole tree, hidden entries skipped),
    each relative to the folder; a glob contributes its matches relative to the part of
    the pattern before the first wildcard; a file contributes itself under its name. When
    several roots are given, each root's name is put in front of the relative paths, so
    outputs never collide. The result is sorted and without duplicates.

    Args:
        inputs: paths or patterns as typed on the command line.
        recursive: descend into sub-folders.
        exclude: a folder to leave out (the output folder, when it lies inside an input).

    Raises:
        BadInputError: a path does not exist, or a pattern matches nothing.
    """
    exclude = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, Path, str]] = []  # (file, rel, root label)
    for item in inputs:
        p = Path(item)
        if glob.has_magic(item):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=recursive))
            parts = Path(item).parts
            base = (
                Path(*parts[: next(i for i, s in enumerate(parts) if glob.has_magic(s))])
                if len(parts) > 1
                else Path(".")
            )
            files = [m for m in matches if m.is_file() and _is_image(m)]
            if not files:
                raise BadInputError(f"{item}: the pattern matches no image file")
            found += [(m, m.relative_to(base) if m.is_relative_to(base) else Path(m.name), str(base)) for m in files]
        elif p.is_dir():
            found += [(f, f.relative_to(p), p.name or str(p)) for f in _walk(p, recursive, exclude)]
        elif p.exists():
            found.append((p, Path(p.name), ""))
        else:
            raise BadInputError(f"{item}: no such file or folder")
    roots = {label for _, _, label in found if label}
    prefix = len(inputs) > 1 and len(roots) > 1
    seen: set[Path] = set()
    out: list[tuple[Path, Path]] = []
    for f, rel, label in found:
        key = f.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append((f, Path(label) / rel if (prefix and label) else rel))
    return sorted(out, key=lambda t: str(t[1]))


def plan_outputs(files: list[tuple[Path, Path]], out_dir: Path, ext: str | None = None) -> list[Job]:
    """Mirror relative paths under ``out_dir``.

    The output keeps the input's extension unless ``ext`` is given. When a forced
    extension makes two outputs collide (``a.jpg`` and ``a.png`` -> ``a.png``), every
    colliding output keeps its input extension in the name (``a.jpg.png``, ``a.png.png``).

    Raises:
        UsageError: ``ext`` is not an image extension.
    """
    if ext is not None:
        ext = ext if ext.startswith(".") else f".{ext}"
        if ext.lower() not in IMAGE_EXTENSIONS:
            raise UsageError(f"--ext {ext}: use one of {', '.join(sorted(IMAGE_EXTENSIONS))}")
    targets = [rel.with_suffix(ext) if ext else rel for _, rel in files]
    counts: dict[str, int] = {}
    for t in targets:
        counts[str(t).lower()] = counts.get(str(t).lower(), 0) + 1
    jobs = []
    for (src, rel), t in zip(files, targets):
        if counts[str(t).lower()] > 1:
            t = rel.with_name(rel.name + ext) if ext else rel
        jobs.append(Job(src, rel, out_dir / t))
    return jobs
