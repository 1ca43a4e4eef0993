"""``portrait info``: versions, ONNX Runtime providers, weights folder, known problems."""

from __future__ import annotations

from typing import Annotated

import typer


def info(json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Show versions, the ONNX Runtime providers, the weights folder and install problems."""
    import importlib.metadata
    import json
    import platform

    from portraitcli import __version__
    from portraitcli.runtime.session import FIX_BOTH_INSTALLED, installed_runtimes

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    report: dict = {
        "portraitcli": __version__,
        "python": platform.python_version(),
        "packages": {d: version(d) for d in ("numpy", "pillow", "opencv-python-headless", "dlib-bin", "torch")},
        "onnxruntime": installed_runtimes(),
        "problems": [],
    }
    runtimes = installed_runtimes()
    if len(runtimes) > 1:
        report["problems"].append(f"both onnxruntime and onnxruntime-gpu are installed; fix: {FIX_BOTH_INSTALLED}")
    elif not runtimes:
        report["problems"].append("no ONNX Runtime installed: pip install onnxruntime")
    else:
        import onnxruntime as ort

        report["providers"] = ort.get_available_providers()
    try:
        from portraitcli.runtime.weights import load_manifest, weights_dir

        report["weights_dir"] = str(weights_dir())
        report["models"] = sorted(load_manifest())
    except Exception as e:  # reported, not raised: this command diagnoses
        report["problems"].append(str(e))
    if json_out:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        print(f"{key}: {value}")


def register(app: typer.Typer) -> None:
    app.command("info")(info)
