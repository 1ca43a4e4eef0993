"""Configuration dataclasses from the command line and from saved runs (no torch needed).

``--set key=value`` overrides (:func:`apply_overrides`) and the rebuilding of a run's saved
configuration (:func:`saved_config`) serve the trainers and the data commands alike.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

from portraitcli.errors import UsageError

C = TypeVar("C")


def saved_config(config_cls: type[C], saved: dict[str, Any]) -> C:
    """Rebuild a config dataclass from its saved fields (``config.json``, a checkpoint's meta).

    Lists come back as tuples. A field the saved dict lacks (the run predates it) takes the
    class's ``SAVED_DEFAULTS`` value when it has one (the behaviour before the field
    existed), else today's default.

    Raises:
        UsageError: the saved dict has a field the class does not (a newer or other task's run).
    """
    unknown = sorted(set(saved) - {f.name for f in dataclasses.fields(config_cls)})  # type: ignore[arg-type]
    if unknown:
        raise UsageError(f"saved config has fields {config_cls.__name__} does not know: {', '.join(unknown)}")
    values = {**getattr(config_cls, "SAVED_DEFAULTS", {}), **saved}
    return config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def apply_overrides(config: C, overrides: list[str]) -> C:
    """Return a copy of a config dataclass with ``key=value`` overrides applied.

    Values are parsed as JSON when possible (numbers, booleans, lists), else kept as
    strings; tuples are rebuilt from JSON lists.

    Raises:
        UsageError: malformed override or unknown key.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise UsageError(f"--set {item!r}: expected key=value")
        if key not in fields:
            raise UsageError(f"--set {key}: unknown key; known: {', '.join(sorted(fields))}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        current = getattr(config, key)
        if isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        changes[key] = value
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]
