"""Ablation rows scored by an earlier run of a benchmark, carried into a regenerated report.

A run folder (``runs/``, ignored by git) does not outlive the machine that trained it; the
report in ``docs/benchmarks/`` does. When a benchmark is regenerated (a new shipped model, a
new ablation) without every earlier run folder at hand, ``--keep-ablations`` carries each
ablation row recorded in the old report, with its per-image scores, instead of dropping it.

A carried row is the same measurement, not an estimate: the same model file (its sha256 is
kept), the same test split, the same protocol. The protocol is checked: rows are carried
only when the old report's ``settings`` equal the new ones (library versions aside), else
:class:`~portraitcli.errors.UsageError` is raised. Each carried row is marked
``"carried": true`` in ``ablation_runs`` and named in the markdown, with the training
config that reproduces its model.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portraitcli.errors import UsageError

#: Keys of ``settings`` that may differ between two runs of the same protocol.
VOLATILE_SETTINGS = ("versions",)


@dataclass
class RecordedAblations:
    """Ablation rows read back from a report.

    Attributes:
        rows: {name: the row as in the report's ``baselines``}.
        runs: {name: the report's ``ablation_runs`` entry, plus ``"carried": True``}.
        per_image: {name: {image: {column: float}}}: the per-image CSV's numeric columns.
    """

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_image: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _protocol(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k not in VOLATILE_SETTINGS}


def recorded_ablations(
    report: Path, per_image_csv: Path, settings: dict[str, Any], skip: Iterable[str] = ()
) -> RecordedAblations:
    """Read the ablation rows of an earlier report, for carrying into a new one.

    Args:
        report: the earlier ``TASK.json`` (holds ``baselines``, ``ablation_runs``, ``settings``).
        per_image_csv: its per-image CSV (columns ``method``, ``image``, then numeric ones).
        settings: the new run's protocol settings; they must equal the report's, library
            versions aside.
        skip: names not to carry (rows that are being re-scored).

    Returns:
        The rows; empty when the report does not exist or records no ablation run.

    Raises:
        UsageError: the report's protocol differs from ``settings``, or a carried row has no
            per-image scores in the CSV.
    """
    out = RecordedAblations()
    if not report.is_file():
        return out
    old = json.loads(report.read_text())
    skipped = set(skip)
    names = [n for n in old.get("ablation_runs", {}) if n not in skipped]
    if not names:
        return out
    if _protocol(old.get("settings", {})) != _protocol(settings):
        raise UsageError(
            f"{report}: scored with another protocol than this run's; its ablation rows cannot be kept "
            "(rescore them with --ablation NAME=RUN_DIR)"
        )
    scores: dict[str, dict[str, dict[str, float]]] = {n: {} for n in names}
    if per_image_csv.is_file():
        with per_image_csv.open(newline="") as f:
            for rec in _per_image_rows(f):
                if rec["method"] in scores:
                    scores[rec["method"]][rec["image"]] = {
                        k: float(v) for k, v in rec.items() if k not in ("method", "image")
                    }
    for name in names:
        if not scores[name]:
            raise UsageError(f"{per_image_csv}: no per-image scores for the recorded ablation {name!r}")
        out.rows[name] = old["baselines"][name]
        out.runs[name] = {**old["ablation_runs"][name], "carried": True}
        out.per_image[name] = scores[name]
    return out


def _per_image_rows(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """The rows of a per-image CSV as dicts, its first column (``method``) possibly unquoted.

    Reports written before the draw benchmark quoted its CSV hold rows such as
    ``full model, ConvT decoders (draw-v1),photo1/image0788,1,0.47``: a row with more fields
    than the header has its leading fields joined back into the method name (the image
    names and the numbers hold no commas).
    """
    reader = csv.reader(lines)
    header = next(reader)
    for fields in reader:
        extra = len(fields) - len(header)
        if extra > 0:
            fields = [",".join(fields[: extra + 1]), *fields[extra + 1 :]]
        yield dict(zip(header, fields))


def carried_note(result: dict[str, Any]) -> list[str]:
    """Markdown lines naming the carried rows of a report (none: no lines)."""
    carried = [f"{name} (run {r['run']})" for name, r in result.get("ablation_runs", {}).items() if r.get("carried")]
    if not carried:
        return []
    return [
        "",
        "Rows carried from an earlier run of this benchmark (`--keep-ablations`: the same model file by "
        "sha256, the same test split and protocol; its run folder was not at hand to rescore): "
        + ", ".join(carried)
        + ".",
    ]
