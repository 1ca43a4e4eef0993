"""Means over training seeds: grouping by recipe, the statistics, and the draw report's ranking."""

from __future__ import annotations

import dataclasses
import statistics

import pytest

from portraitcli.benchmark.draw import _seed_mean_table, seed_means
from portraitcli.benchmark.seeds import seed_groups
from portraitcli.train.draw.config import DrawConfig


def _config(**changes) -> dict:
    cfg = dataclasses.asdict(DrawConfig(**changes))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}


def test_rows_group_by_recipe_and_average_over_seeds() -> None:
    old = _config(seed=2)
    del old["ema_decay"], old["lambda_perc"]  # a run saved before these fields: trained without them
    configs = {
        "a0": _config(seed=0),
        "a1": _config(seed=1, threads=8, device="cuda"),  # where it ran is not the recipe
        "a2": old,
        "b0": _config(mode="pix2pix", seed=0),
        "b1": _config(mode="pix2pix", seed=1),
        "b1 again": _config(mode="pix2pix", seed=1),  # the same model scored twice: first kept
        "c0": _config(ema_decay=0.995),  # one seed: no group
        "xdog": {},
    }
    rows = {name: {"fid": 100.0 + i * 7.5, "kid": 0.1 + i / 100} for i, name in enumerate(configs)}
    groups = seed_groups(rows, configs, ["fid", "kid"], DrawConfig)
    assert [g.rows for g in groups] == [["a0", "a1", "a2"], ["b0", "b1"]]
    assert [g.seeds for g in groups] == [[0, 1, 2], [0, 1]]
    for g in groups:
        for m in ("fid", "kid"):
            values = [rows[n][m] for n in g.rows]
            assert g.mean[m] == pytest.approx(statistics.fmean(values))
            assert g.sd[m] == pytest.approx(statistics.stdev(values))


def test_a_measure_a_carried_row_lacks_is_left_out_of_its_group() -> None:
    configs = {
        "s0": _config(seed=0),
        "s1": _config(seed=1),
        "t0": _config(seed=0, size=128),
        "t1": _config(seed=1, size=128),
    }
    rows = {
        "s0": {"fid": 1.0, "spike": 2.0},
        "s1": {"fid": 3.0},
        "t0": {"fid": 1.0, "spike": 2.0},
        "t1": {"fid": 3.0, "spike": 4.0},
    }
    s, t = seed_groups(rows, configs, ["fid", "spike"], DrawConfig)
    assert (s.mean, t.mean) == ({"fid": 2.0}, {"fid": 2.0, "spike": 3.0})


def test_an_old_run_without_the_upsample_field_is_another_recipe() -> None:
    old = _config(seed=1)
    del old["upsample"]  # saved before the option: transposed convolutions (SAVED_DEFAULTS)
    configs = {"new": _config(seed=0), "old": old}
    rows = {n: {"fid": 1.0} for n in configs}
    assert seed_groups(rows, configs, ["fid"], DrawConfig) == []


def _report(full: list[float], rival: list[float], style1_n: int = 619) -> dict:
    """A draw report whose full-model and pix2pix rows have these overall FIDs (all else equal)."""

    def metrics(fid: float) -> dict:
        m = {"fid": fid, "kid": 0.1, "ssim": 0.5}
        for s in (1, 2, 3):
            m |= {f"fid_style{s}": 150.0, f"kid_style{s}": 0.15, f"ssim_style{s}": 0.5}
        return m

    baselines, runs = {}, {}
    for seed, fid in enumerate(full[1:], start=1):
        baselines[f"full, seed {seed}"] = metrics(fid)
        runs[f"full, seed {seed}"] = {"run": "r", "config": _config(seed=seed)}
    for seed, fid in enumerate(rival):
        baselines[f"pix2pix, seed {seed}"] = metrics(fid)
        runs[f"pix2pix, seed {seed}"] = {"run": "r", "config": _config(mode="pix2pix", seed=seed)}
    baselines["pix2pix, seed 0"]["kid"] = 0.2  # pix2pix loses on KID everywhere it can
    return {
        "model": "draw-vX",
        "metrics": metrics(full[0]),
        "baselines": baselines,
        "ablation_runs": runs,
        "model_config": _config(seed=0),
        "settings": {"n_per_style": {"1": style1_n, "2": 381, "3": 45}},
    }


def test_the_report_ranks_the_full_model_on_seed_means() -> None:
    # Seed 0 alone would rank pix2pix first (110 < 120); the means rank the full model first.
    result = _report(full=[120.0, 100.0, 110.0], rival=[110.0, 130.0, 140.0])
    result["seed_means"] = seed_means(result)
    assert [g["name"] for g in result["seed_means"]] == ["full model", "pix2pix U-Net"]
    assert result["seed_means"][0]["rows"] == ["ours (draw-vX)", "full, seed 1", "full, seed 2"]
    text = "\n".join(_seed_mean_table(result))
    assert "| full model | 0, 1, 2 | 110.00 ± 10.00 |" in text
    # The per-style columns tie (150 = 150): a tie is not a win. Style 3 (45 pairs) is not ranked.
    assert "not the lowest in 4 of 6 ranked columns" in text
    assert "fid (lower" not in text and "kid (lower" not in text
    assert "fid_style1 (lower: pix2pix U-Net)" in text and "style3" not in text.split("ranked columns")[1]


def test_the_report_says_when_the_full_model_wins_every_ranked_column() -> None:
    result = _report(full=[120.0, 100.0, 110.0], rival=[130.0, 130.0, 140.0], style1_n=99)
    for row in [result["metrics"], *result["baselines"].values()]:
        if row is not result["metrics"] and row["fid"] >= 130:
            row |= {"fid_style1": 160.0, "kid_style1": 0.2, "fid_style2": 160.0, "kid_style2": 0.2}
    result["seed_means"] = seed_means(result)
    text = "\n".join(_seed_mean_table(result))
    assert "lowest in all 4 ranked columns (fid, kid, fid_style2, kid_style2) against pix2pix U-Net" in text


def test_the_sketch_report_names_recipes_by_their_change_from_the_shipped_one() -> None:
    from portraitcli.benchmark.sketch import _seed_mean_table
    from portraitcli.benchmark.sketch import seed_means as sketch_seed_means
    from portraitcli.train.sketch.config import SketchConfig

    def cfg(**changes) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(SketchConfig(**changes)).items()
        }

    def row(ssim: float) -> dict:
        return {"ssim": ssim, "psnr": 15.0, "ssim_ar": 0.55, "psnr_ar": 14.0, "ssim_std": 0.05, "kind": "ablation"}

    result = {
        "model": "sketch-vX",
        "metrics": {k: v for k, v in row(0.640).items() if k != "kind"},
        "model_config": cfg(seed=0),
        "baselines": {"ours, seed 1": row(0.650), "no SE": row(0.644), "no SE, seed 1": row(0.648)},
        "ablation_runs": {
            "ours, seed 1": {"config": cfg(seed=1)},
            "no SE": {"config": cfg(use_se=False)},
            "no SE, seed 1": {"config": cfg(use_se=False, seed=1)},
        },
    }
    result["seed_means"] = sketch_seed_means(result)
    assert [g["name"] for g in result["seed_means"]] == ["our recipe", "our recipe, use_se False"]
    assert set(result["seed_means"][0]["mean"]) == {"ssim", "psnr", "ssim_ar", "psnr_ar"}
    text = "\n".join(_seed_mean_table(result))
    assert "| our recipe | 0, 1 | 0.6450 ± 0.0071 |" in text
    assert "at least our recipe's: our recipe, use_se False." in text
