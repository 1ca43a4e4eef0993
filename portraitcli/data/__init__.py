"""Readers of the datasets' layouts (no torch): paths, splits and pairs.

Datasets are never copied into the project: they are reached through ``--data`` or the
``PORTRAIT_DATA`` environment variable (the folder holding ``cufs/``, ``fs2k/``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

from portraitcli.errors import UsageError

ENV_VAR = "PORTRAIT_DATA"


def data_root(option: str | os.PathLike[str] | None = None) -> Path:
    """The datasets folder: ``option`` if given, else ``$PORTRAIT_DATA``.

    Raises:
        UsageError: neither is set, or the folder does not exist.
    """
    value = option if option is not None else os.environ.get(ENV_VAR)
    if not value:
        raise UsageError(f"no dataset folder: pass --data DIR or set {ENV_VAR}")
    root = Path(value).expanduser()
    if not root.is_dir():
        raise UsageError(f"dataset folder {root} does not exist")
    return root


def optional_data_root(option: str | os.PathLike[str] | None = None) -> Path | None:
    """:func:`data_root` where ``option`` or ``$PORTRAIT_DATA`` is given, else None (for optional datasets).

    Raises:
        UsageError: the folder given does not exist.
    """
    return data_root(option) if (option is not None or os.environ.get(ENV_VAR)) else None


def dataset_dir(root: Path, name: str) -> Path:
    """``root/name`` if ``root`` is the datasets folder, or ``root`` itself if it is ``name``.

    Raises:
        UsageError: neither holds the dataset.
    """
    for cand in (root / name, root):
        if cand.name == name and cand.is_dir():
            return cand
    raise UsageError(f"{root}: no {name}/ dataset folder here")
