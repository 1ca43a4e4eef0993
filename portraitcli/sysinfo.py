"""Facts about the machine, recorded with training runs and benchmarks (no heavy imports)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    """CPU model, logical CPU count and platform string."""
    return {"processor": cpu_name(), "cpu_count": os.cpu_count(), "platform": platform.platform()}
