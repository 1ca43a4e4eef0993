"""Finding input images and mirroring their paths into an output folder."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from portraitcli.errors import BadInputError
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


def is_pattern(item: str) -> bool:
    """A glob pattern: has a wildcard (``*``, ``?``, ``[``) and is not itself an existing path
    (a folder named ``x[`` is a folder)."""
    return glob.has_magic(item) and not os.path.lexists(item)


def _root_label(root: Path) -> str:
    """A name for an input root that is safe to put under the output folder: the resolved
    folder's own name (``..`` and absolute paths become plain names), ``root`` for ``/``."""
    return Path(os.path.realpath(root)).name or "root"


def _safe_rel(path: Path, base: Path) -> Path:
    """``path`` relative to ``base`` with no ``..`` or absolute part; the file name alone
    when it cannot be expressed so (a pattern such as ``a/*/../b.jpg``)."""
    rel = Path(os.path.normpath(path.relative_to(base))) if path.is_relative_to(base) else Path(path.name)
    if rel.is_absolute() or ".." in rel.parts:
        return Path(path.name)
    return rel


def discover(inputs: list[str], recursive: bool = False, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """Expand files, folders and glob patterns into (file, relative path) pairs.

    A folder contributes its images (``recursive``: its whole tree, hidden entries skipped),
    each relative to the folder; a glob contributes its matches relative to the part of
    the pattern before the first wildcard; a file contributes itself under its name. When
    several roots are given, each root's own name (the resolved folder's name, so ``..``
    or ``/abs/g1`` give a plain ``g1``) is put in front of the relative paths. A relative
    path never holds ``..`` nor is absolute, so it always lies under an output folder. The
    result is sorted and without duplicates.

    Args:
        inputs: paths or patterns as typed on the command line.
        recursive: descend into sub-folders.
        exclude: a folder to leave out (the output folder, when it lies inside an input).

    Raises:
        BadInputError: a path does not exist, a pattern matches nothing, or nothing at all
            was found (a folder without images).
    """
    exclude = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, Path, str]] = []  # (file, rel, root label)
    for item in inputs:
        p = Path(item)
        if is_pattern(item):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=recursive))
            parts = p.parts
            magic = next(i for i, s in enumerate(parts) if glob.has_magic(s))
            base = Path(*parts[:magic]) if magic > 0 else Path(".")
            files = [m for m in matches if m.is_file() and _is_image(m)]
            if not files:
                raise BadInputError(f"{item}: the pattern matches no image file")
            label = _root_label(base)
            found += [(m, _safe_rel(m, base), label) for m in files]
        elif p.is_dir():
            found += [(f, _safe_rel(f, p), _root_label(p)) for f in _walk(p, recursive, exclude)]
        elif p.exists():
            found.append((p, Path(p.name), ""))
        else:
            raise BadInputError(f"{item}: no such file or folder")
    if not found:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        hint = "" if recursive else "; -r descends into sub-folders"
        raise BadInputError(f"{' '.join(inputs)}: no image files found (accepted: {kinds}){hint}")
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


def empty_roots(inputs: list[str], found: list[Path]) -> list[str]:
    """The folder inputs under which none of the ``found`` files lies (for a warning when
    others do): read off the discovered files, without walking the folders again."""
    found_real = [Path(os.path.realpath(f)) for f in found]
    folders = [(item, Path(os.path.realpath(item))) for item in inputs if not is_pattern(item) and Path(item).is_dir()]
    return [item for item, root in folders if not any(f.is_relative_to(root) for f in found_real)]
