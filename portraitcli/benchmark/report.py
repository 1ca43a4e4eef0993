"""The one report writer of the benchmarks, and the manifest block every report carries.

A report is ``TASK.json`` (the whole result, standard JSON), ``TASK.md`` (its tables for
people) and optionally ``TASK_per_image.csv``, each written atomically into one folder.

A benchmark never writes ``weights/manifest.json`` itself; it puts a ``manifest_metrics``
block into its JSON report, and ``portrait train publish --metrics REPORT.json`` copies the
block into the manifest entries whose file has the same sha256.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portraitcli.io.image import write_csv_atomic, write_text_atomic
from portraitcli.metrics.evaluate import json_safe

if TYPE_CHECKING:
    from portraitcli.runtime.weights import ModelSpec


def write_report(
    out_dir: Path,
    task: str,
    result: dict[str, Any],
    markdown: Callable[[dict[str, Any], Path], None],
    per_image: tuple[Sequence[str], Iterable[Sequence[object]]] | None = None,
) -> None:
    """Write ``TASK.json``, ``TASK.md`` (by ``markdown(result, path)``) and, with ``per_image``
    (header, rows), ``TASK_per_image.csv`` into ``out_dir`` (created if missing).

    Non-finite numbers are written as ``null`` (standard JSON).

    Raises:
        BadInputError: ``out_dir`` cannot be written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / f"{task}.json", json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
    if per_image is not None:
        write_csv_atomic(out_dir / f"{task}_per_image.csv", *per_image)
    markdown(result, out_dir / f"{task}.md")


def manifest_block(name: str, sha256: str, metrics: dict[str, float], split: str, measured_by: str) -> dict[str, Any]:
    """``{name: {"sha256", "metrics"}}`` for a report's ``manifest_metrics``.

    Args:
        name: the manifest name (``sketch-v4``).
        sha256: the hex digest of the scored file.
        metrics: the test metrics; kept to 5 significant digits (SIDE is about 0.007).
        split: the test data, in words.
        measured_by: the command that measured them.
    """
    return {
        name: {
            "sha256": sha256,
            "metrics": {
                **{k: float(f"{v:.5g}") for k, v in metrics.items()},
                "split": split,
                "measured_by": measured_by,
            },
        }
    }


def previous_models(spec: ModelSpec) -> dict[str, Path]:
    """The manifest's older models of the shipped one's task (``{"sketch-v4 (previous)": path}``), scored beside it."""
    from portraitcli.runtime.weights import find_model, load_manifest, verify

    models = load_manifest(spec.path.parent)
    older = [n for n, e in models.items() if e.get("task") == spec.task and n != spec.name]
    return {f"{n} (previous)": verify(find_model(n, spec.path.parent)) for n in older}


def manifest_size(path: Path) -> tuple[int, int] | None:
    """The template size the manifest records for a shipped ONNX file, else None."""
    from portraitcli.runtime.weights import find_model, load_manifest

    for name, entry in load_manifest(path.parent).items() if (path.parent / "manifest.json").is_file() else []:
        if entry.get("file") == path.name:
            tpl = find_model(name, path.parent).template
            return tpl.size if tpl is not None else None
    return None
