"""Publish a finished run into ``weights/``: the ONNX file and its manifest entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from portraitcli.errors import UsageError
from portraitcli.io.image import write_text_atomic
from portraitcli.runtime.weights import sha256_of as sha256_file


def run_seconds(run_dir: Path) -> float:
    """Training time of a run: the sum of its epochs' seconds in ``log.jsonl``."""
    total = 0.0
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if "epoch" in rec:
            total += float(rec.get("seconds", 0.0))
    return total


def run_resumes(run_dir: Path) -> list[dict[str, Any]]:
    """The ``resume`` events of a run's ``log.jsonl`` (see ``runs.log_resume``), oldest first."""
    lines = (run_dir / "log.jsonl").read_text().splitlines()
    return [rec for rec in map(json.loads, lines) if rec.get("event") == "resume"]


def _hardware(env: dict[str, Any]) -> str:
    return f"{env.get('processor')}, {env.get('torch_threads')} torch threads" + (
        f", {env['cuda']}" if env.get("cuda") else ", CPU only"
    )


def _command(argv: list[str], task: str) -> str:
    """The command line of a run, as a user would type it."""
    if argv and Path(argv[0]).name == "portrait":
        return " ".join(["portrait", *argv[1:]])
    return " ".join(argv)  # started some other way: record it as typed


#: The input contract of an export that records none (the sketch models').
DEFAULT_INPUT = {
    "layout": "NCHW",
    "channels": "RGB",
    "dtype": "float32",
    "range": [-1, 1],
    "size_multiple": 16,
    "padding": "reflect",
}


def _describe_data(config: dict[str, Any]) -> str:
    """The training data of a run, in words (from its ``config.json``)."""
    if config.get("data_name"):
        data = str(config["data_name"])
        if config.get("n_real_photos"):  # cartoon's unpaired terms on real photos
            data += (
                f"; and {config['n_real_photos']} UTKFace training-split photos without cartoons "
                "(the unpaired adversarial and identity terms)"
            )
        return data
    task, cfg = config.get("task", "sketch"), config["config"]
    n, n_val = config.get("n_train"), config.get("n_val")
    held_out = f" ({n_val} more held out for validation)" if n_val else ""
    if task == "draw":
        return f"{cfg.get('dataset', 'fs2k').upper()} train split, {n} aligned pairs{held_out}"
    if task == "recon3d":
        photos = f"UTKFace seeded train split, {n} aligned faces{held_out}, no 3-D labels"
        if config.get("n_synth_train"):
            synth = Path(cfg.get("synth_train", "")).name or "synth_train"
            photos += (
                f"; and {config['n_synth_train']} synthetic Surrey Face Model renders with known depth ({synth}, "
                "portrait data synth-depth, a seed other than the benchmark's 0) for the view-depth network"
            )
        return photos
    if task == "destylize":
        return f"stylized UTKFace pairs (portrait data stylized-pairs), {n} pairs{held_out}"
    data = f"CUFS CUHK student, {n or 88} training pairs"
    if config.get("n_unpaired"):
        data += f", and {config['n_unpaired']} FS2K training photos without sketches (unpaired)"
    if config.get("n_tone"):
        data += (
            f"; {config['n_tone']} FS2K training photos with their artists' style-{cfg.get('tone_style')} "
            "drawings (the tone term)"
        )
    return data


def _template_source(template: dict[str, Any], config: dict[str, Any]) -> str:
    if template.get("source"):
        return str(template["source"])
    if config.get("task", "sketch") == "sketch":
        return f"mean dlib 5-point landmarks on {template['n']} CUFS training photos"
    n = template.get("n")
    return f"fitted on the dlib 5-point landmarks of {n} training photos" if n else "fitted on the training photos"


def _export_settings(exported: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What the export added to the trained networks (a recon3d ``prior_blend``) and, when it
    was a later command than the training's (a resumed run re-exported), that command."""
    out: dict[str, Any] = {k: exported[k] for k in ("prior_blend",) if k in exported}
    argv = exported.get("argv")
    if argv and argv != config.get("argv"):
        out["export_command"] = _command(argv, config.get("task", ""))
    return out


def _export_record(run_dir: Path) -> dict[str, Any]:
    """The run's ``export.json`` (epoch, and optionally the model's input / output contract and license)."""
    path = run_dir / "export.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _init_run(config: dict[str, Any], task: str) -> dict[str, Any]:
    """``{"init_run": ...}`` for a run that started from another run's checkpoint (``--set
    init=RUN/checkpoints/epoch-N.pt``): that run's command, effective config (the command's
    defaults may have changed since), seed, duration and hardware, so the entry records the
    whole recipe; empty otherwise or when that run folder is gone."""
    init = config.get("config", {}).get("init")
    if not init:
        return {}
    if Path(init).suffix == ".onnx":  # a shipped model: its own manifest entry holds its recipe
        return {"init_run": _shipped_model_record(Path(init))}
    run_dir = Path(init).parent.parent
    if not (run_dir / "config.json").is_file():
        return {"init_run": {"checkpoint": init, "note": "its run folder was not found when publishing"}}
    first = json.loads((run_dir / "config.json").read_text())
    return {
        "init_run": {
            "checkpoint": init,
            "command": _command(first.get("argv") or [], task),
            "config": first["config"],
            "seed": first["config"].get("seed"),
            "duration_s": round(run_seconds(run_dir), 1),
            "hardware": _hardware(first.get("environment", {})),
            "run": run_dir.name,
        }
    }


def _shipped_model_record(onnx: Path) -> dict[str, Any]:
    """The init record of a run that started from a shipped model (``--set init=weights/NAME.onnx``):
    the file, its sha256 and, from the manifest beside it, that model's name and training record."""
    record: dict[str, Any] = {"onnx": str(onnx)}
    if not onnx.is_file():
        return {**record, "note": "the file was not found when publishing"}
    record["sha256"] = sha256_file(onnx)
    manifest = onnx.parent / "manifest.json"
    models = json.loads(manifest.read_text()).get("models", {}) if manifest.is_file() else {}
    for name, entry in models.items():
        if entry.get("sha256") == record["sha256"]:
            return {**record, "model": name, "training": entry.get("training", {})}
    return {**record, "note": "no manifest entry with this sha256 beside the file"}


def publish_run(run_dir: Path, name: str, weights: Path, extra: dict[str, Any] | None = None) -> Path:
    """Copy ``run_dir/model.onnx`` to ``weights/NAME.onnx`` and write its manifest entry.

    The entry records the file, sha256, input contract, template, and the run's training
    data, command line, seed, duration and hardware. Test metrics are left to the
    benchmark, which measures the published file.

    Raises:
        UsageError: the run folder lacks model.onnx, config.json or template.json.
    """
    for f in ("model.onnx", "config.json", "template.json", "log.jsonl"):
        if not (run_dir / f).is_file():
            raise UsageError(f"{run_dir}: {f} is missing; is the run finished and exported?")
    task, _, version = name.rpartition("-v")
    if not task or not version.isdigit():
        raise UsageError(f"--name {name}: expected TASK-vN, e.g. sketch-v1")
    config = json.loads((run_dir / "config.json").read_text())
    template = json.loads((run_dir / "template.json").read_text())
    weights.mkdir(parents=True, exist_ok=True)
    dst = weights / f"{name}.onnx"
    shutil.copyfile(run_dir / "model.onnx", dst)
    manifest_path = weights / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"models": {}}
    old = manifest["models"].get(name, {})
    exported = _export_record(run_dir)
    resumes = run_resumes(run_dir)
    hardware = list(dict.fromkeys(_hardware(r.get("environment", {})) for r in [config, *resumes]))
    entry = {
        "task": task,
        "version": int(version),
        "file": dst.name,
        "sha256": sha256_file(dst),
        "bytes": dst.stat().st_size,
        "input": exported.get("input", DEFAULT_INPUT),
        "output": exported.get("output", {"layout": "NCHW", "channels": "gray", "range": [-1, 1]}),
        "template": {
            "size": template["size"],
            "kps": template["kps"],
            "source": _template_source(template, config),
            **({"exposure": template["exposure"]} if "exposure" in template else {}),
        },
        "license": exported.get(
            "license", "model weights: research and non-commercial use (trained on CUFS); code: MIT"
        ),
        "training": {
            "data": exported.get("data_name") or _describe_data(config),  # the export's words know a resume's data
            "command": _command(config.get("argv") or [], task),
            "argv": config.get("argv"),
            **({"resume_commands": [_command(r["argv"], task) for r in resumes]} if resumes else {}),
            "config": resumes[-1]["config"] if resumes else config["config"],
            "seed": config["config"].get("seed"),
            "duration_s": round(run_seconds(run_dir), 1),
            "hardware": "; ".join(hardware),
            "git_sha": config.get("git_sha"),
            "run": run_dir.name,
            "selected_epoch": exported.get("epoch"),
            **_export_settings(exported, config),
            **_init_run(config, task),
        },
        "metrics": old.get("metrics", {}) if old.get("sha256") == sha256_file(dst) else {},
        **(extra or {}),
    }
    manifest["models"][name] = entry
    write_text_atomic(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return dst


def record_metrics(weights: Path, reports: list[Path]) -> list[str]:
    """Copy the test metrics of benchmark reports into the manifest: the only writer of them.

    Each report's ``manifest_metrics`` block (see :mod:`portraitcli.benchmark.report`) names
    models with the sha256 of the file it scored; an entry is updated only when its file
    has that digest, so numbers never attach to other weights.

    Returns:
        The names of the entries updated.

    Raises:
        UsageError: a report is unreadable or has no ``manifest_metrics``; a named model is
            not in the manifest or its sha256 differs.
    """
    manifest_path = weights / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    updated = []
    for report in reports:
        try:
            block = json.loads(report.read_text()).get("manifest_metrics")
        except (OSError, json.JSONDecodeError) as e:
            raise UsageError(f"--metrics {report}: cannot read the report ({e})") from None
        if not block:
            raise UsageError(f"--metrics {report}: no manifest_metrics (a benchmark of the shipped models writes it)")
        for name, rec in block.items():
            entry = manifest["models"].get(name)
            if entry is None:
                raise UsageError(f"--metrics {report}: {name} is not in {manifest_path}")
            if entry["sha256"] != rec["sha256"]:
                raise UsageError(f"--metrics {report}: it scored another file than {name}'s (sha256 differs)")
            entry["metrics"] = rec["metrics"]
            updated.append(name)
    write_text_atomic(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return updated
