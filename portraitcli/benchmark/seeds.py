"""Means over training seeds of the benchmark rows that share one training recipe.

A GAN trained for a CPU budget lands somewhere different with every seed: on FS2K the draw
model's FID moved by 6 between two seeds of the same recipe, more than the gaps between the
methods of the paper's ablation. One row per method is then one draw from each method's
spread, and ranking methods on it ranks the seeds. This module groups the trained rows of a
report by recipe (the training config with the seed and the settings that do not change the
model taken out), and gives each recipe trained with two or more seeds its mean and its
sample standard deviation (ddof 1) over the seeds, per metric.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from portraitcli.train.common.runs import saved_config

#: Config fields that do not change what a run learns (or, ``seed``, that the means are over).
NOT_RECIPE = frozenset({"seed", "threads", "device", "eval_every", "checkpoint_every"})


@dataclass(frozen=True)
class SeedGroup:
    """The rows of one recipe, trained with different seeds.

    Attributes:
        recipe: the training config without the ``NOT_RECIPE`` fields (JSON values).
        rows: the report's row names, in seed order.
        seeds: their seeds, ascending, distinct.
        mean: {metric: mean over the rows}.
        sd: {metric: sample standard deviation over the rows (ddof 1)}.
    """

    recipe: dict[str, Any]
    rows: list[str]
    seeds: list[int]
    mean: dict[str, float]
    sd: dict[str, float]


def recipe_of(config_cls: type, saved: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe of a saved training config: every field but ``NOT_RECIPE``, JSON-shaped.

    Fields the saved config lacks (it predates them) are filled as
    :func:`~portraitcli.train.common.runs.saved_config` does, so an old run and a new one
    trained the same way have equal recipes.

    Raises:
        UsageError: the saved config has a field ``config_cls`` does not know.
    """
    full = dataclasses.asdict(saved_config(config_cls, dict(saved)))
    return json.loads(json.dumps({k: v for k, v in full.items() if k not in NOT_RECIPE}))


def seed_groups(
    rows: Mapping[str, Mapping[str, Any]],
    configs: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[str],
    config_cls: type,
) -> list[SeedGroup]:
    """Group trained rows by recipe and average each metric over the seeds of a recipe.

    Args:
        rows: {row name: {metric: float}} as in a report's ``metrics`` / ``baselines``.
        configs: {row name: saved training config (with ``seed``)} of the trained rows; rows
            without a config (classical baselines) are not grouped.
        metrics: the metric keys to average; a key that a member row lacks (a measure added
            after that row was scored and carried) is left out of its group.
        config_cls: the task's config dataclass (fills the fields old configs lack).

    Returns:
        One :class:`SeedGroup` per recipe with at least two distinct seeds, in the order of
        the first row of each recipe. Of two rows with the same recipe and seed (the same
        model scored twice), the first is kept.
    """
    by_recipe: dict[str, dict[int, str]] = {}
    recipes: dict[str, dict[str, Any]] = {}
    for name, cfg in configs.items():
        if name not in rows or not cfg:
            continue
        recipe = recipe_of(config_cls, cfg)
        key = json.dumps(recipe, sort_keys=True)
        recipes[key] = recipe
        by_recipe.setdefault(key, {}).setdefault(int(cfg["seed"]), name)
    groups = []
    for key, members in by_recipe.items():
        if len(members) < 2:
            continue
        seeds = sorted(members)
        names = [members[s] for s in seeds]
        shared = [m for m in metrics if all(m in rows[n] for n in names)]
        values = {m: np.array([float(rows[n][m]) for n in names]) for m in shared}
        groups.append(
            SeedGroup(
                recipe=recipes[key],
                rows=names,
                seeds=seeds,
                mean={m: float(v.mean()) for m, v in values.items()},
                sd={m: float(v.std(ddof=1)) for m, v in values.items()},
            )
        )
    return groups


def report_seed_means(
    result: Mapping[str, Any], config_cls: type, describe: Callable[[dict[str, Any], dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """The seed means of a benchmark report's trained rows, for its JSON and its tables.

    The trained rows are the report's own model (``metrics``, trained with ``model_config``)
    and the ablation runs (``baselines`` rows named in ``ablation_runs``).

    Args:
        result: the report (``model``, ``metrics``, ``baselines``, optional ``model_config``
            and ``ablation_runs``).
        config_cls: the task's config dataclass; its defaults are the reference recipe.
        describe: (recipe, {field: value} where the recipe differs from ``config_cls()``'s
            defaults) -> the group's name in the tables.

    Returns:
        ``[{"name", "recipe", "rows", "seeds", "mean", "sd"}]`` (see :class:`SeedGroup`) over
        every metric of ``result["metrics"]`` but the ``*_std`` spreads; the report's model
        is named ``"ours (MODEL)"`` in ``rows``.
    """
    ours = f"ours ({result['model']})"
    rows = {ours: result["metrics"], **result["baselines"]}
    configs = {ours: result.get("model_config") or {}}
    configs |= {name: r["config"] for name, r in result.get("ablation_runs", {}).items()}
    metrics = [k for k in result["metrics"] if not k.endswith("_std")]
    defaults = json.loads(json.dumps(dataclasses.asdict(config_cls())))
    out = []
    for g in seed_groups(rows, configs, metrics, config_cls):
        changed = {k: v for k, v in g.recipe.items() if v != defaults.get(k)}
        out.append({"name": describe(g.recipe, changed), **dataclasses.asdict(g)})
    return out


def mean_sd(group: Mapping[str, Any], key: str, scale: float = 1.0, digits: int = 2) -> str:
    """A table cell ``"mean ± sd"`` of a :func:`report_seed_means` group's metric, times ``scale``."""
    return f"{scale * group['mean'][key]:.{digits}f} ± {scale * group['sd'][key]:.{digits}f}"
