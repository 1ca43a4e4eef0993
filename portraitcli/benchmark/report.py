"""What every benchmark report carries for the manifest: the test metrics of the shipped models.

A benchmark never writes ``weights/manifest.json`` itself; it puts a ``manifest_metrics``
block into its JSON report, and ``portrait train publish --metrics REPORT.json`` copies the
block into the manifest entries whose file has the same sha256.
"""

from __future__ import annotations

from typing import Any


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
