"""``portrait benchmark sketch``: the sketch model on CUFS beside its peers, as a report.

Scores come from :mod:`portraitcli.evaluation.sketch` (the paper's protocol); this module
adds the paired differences, the checkerboard measure, the tables in ``sketch.md`` and the
picture grids. Other ONNX generators with the same contract (``--compare NAME=ONNX``) are
scored beside the shipped model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from portraitcli.benchmark.pictures import grid, label
from portraitcli.benchmark.report import manifest_block, write_report
from portraitcli.evaluation.sketch import (
    N_FS2K_SPIKE,
    N_REAL,
    PAPER,
    Generator,
    TestSet,
    baselines,
    configure_peers,
    load_test_sets,
    model_size,
    onnx_generator,
    real_faces,
    real_photo_identity,
    score,
    settings,
    style_kid,
)
from portraitcli.evaluation.stats import paired_difference
from portraitcli.face.align import blank_outside
from portraitcli.io.image import write_text_atomic
from portraitcli.metrics.spectrum import NEIGHBOUR_BAND, nyquist_spike
from portraitcli.runtime.weights import ModelSpec
from portraitcli.types import Template

#: Real photos (of the N_REAL) whose sketches are compared with the artists' by KID.
N_KID = 500


def previous_models(spec: ModelSpec) -> dict[str, Path]:
    """The manifest's older sketch models (``{"sketch-v4 (previous)": path}``), scored beside the shipped one."""
    from portraitcli.runtime.weights import find_model, load_manifest, verify

    models = load_manifest(spec.path.parent)
    older = [n for n, e in models.items() if e.get("task") == spec.task and n != spec.name]
    return {f"{n} (previous)": verify(find_model(n, spec.path.parent)) for n in older}


def _manifest_size(path: Path) -> tuple[int, int] | None:
    """The template size the manifest records for a shipped ONNX file, else None."""
    from portraitcli.runtime.weights import find_model, load_manifest

    for name, entry in load_manifest(path.parent).items() if (path.parent / "manifest.json").is_file() else []:
        if entry.get("file") == path.name:
            tpl = find_model(name, path.parent).template
            return tpl.size if tpl is not None else None
    return None


#: The row of the shipped model as ``portrait sketch`` runs it (exposure matching on).
MATCHED = "ours, exposure matched (portrait sketch)"


#: The widest cell of the real-photo grid, px (CUFS's width; a 384 px crop is shown reduced).
GRID_WIDTH = 200

#: The peers the picture grids show beside ours.
PEERS_SHOWN = ("dodge-and-burn pencil sketch", "OpenCV pencilSketch")


def cufs_grid(test: TestSet, ours: Generator, base: dict[str, Generator], path: Path) -> None:
    """Picture grid of 8 evenly spaced test faces: photo, ours, artist, the peers of :data:`PEERS_SHOWN`."""
    idx = np.linspace(0, len(test.photos) - 1, 8).round().astype(int)
    rows = []
    for i in idx:
        photo, sketch = test.photos[i], test.sketches[i]
        cells = [("photo", photo), ("ours", ours(photo)), ("artist", sketch)]
        cells += [(name, base[name](photo)) for name in PEERS_SHOWN]
        rows.append([label(Image.fromarray(a), f"{test.names[i]} {n}" if n == "photo" else n) for n, a in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    grid(rows).save(path, optimize=True)


def real_photos_grid(
    data: Path,
    model_path: Path,
    path: Path,
    n_fs2k: int = 5,
    template: Template | None = None,
    peers: dict[str, Generator] | None = None,
) -> None:
    """Astronaut and FS2K test photos through detect -> align -> sketch, as ``portrait sketch``
    draws them (blank paper where the framing reaches past the photo).

    With a ``template`` that records an exposure, a second row shows the sketches of the
    crops as they are, beside ``portrait sketch``'s default (exposure matched); then the
    ``peers`` named in :data:`PEERS_SHOWN`.
    """
    faces = real_faces(data, n_fs2k, astronaut=True)

    def cell(image: np.ndarray, text: str) -> Image.Image:  # at most GRID_WIDTH px wide: docs stay small
        img = Image.fromarray(image)
        if img.width > GRID_WIDTH:
            img = img.resize((GRID_WIDTH, round(img.height * GRID_WIDTH / img.width)), Image.Resampling.LANCZOS)
        return label(img, text)

    rows = [[cell(a.crop, name) for name, a in faces]]

    def row(generate: Generator, text: str) -> list[Image.Image]:
        return [cell(blank_outside(generate(a.crop), a.valid), text) for _, a in faces]

    if template is not None and template.exposure is not None:
        rows.append(row(onnx_generator(model_path, template=template), "ours (exposure matched)"))
    rows.append(row(onnx_generator(model_path), "ours, photo as it is" if len(rows) > 1 else "ours"))
    for name in [*PEERS_SHOWN, *(n for n in peers or {} if n.endswith("(previous)"))]:
        if peers is not None and name in peers:
            rows.append(row(peers[name], name))
    grid(rows).save(path, optimize=True)


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


def _fsim(row: dict, key: str) -> str:
    return _fmt(row[key]) if key in row else ""


def write_markdown(result: dict, path: Path) -> None:
    """The tables of ``sketch.json`` for people: scores, paired differences, training configs."""
    m = result["metrics"]
    lines = [
        "# sketch: CUFS benchmark",
        "",
        f"Model `{result['model']}` (sha256 `{result['sha256'][:12]}...`), regenerated by "
        "`portrait benchmark sketch --data ../shared/datasets`"
        + (" with the `--compare` models named in sketch.json" if result.get("compared") else "")
        + ". SSIM: scikit-image, Gaussian window sigma 1.5, population covariance, data_range 255, "
        "8-bit grayscale at 200x250; PSNR in dB; FSIM: Zhang et al. 2011, grayscale, the artist's sketch as "
        "the reference (`portraitcli.metrics.fsim`, after the authors' FeatureSIM.m). "
        "Every model row takes the CUFS photo as it is "
        "(the paper's protocol; a model framed at a larger crop gets it enlarged, bicubic, and its sketch "
        "shrunk back, area averaging); the row *exposure matched* is what `portrait sketch` does by default: "
        "the face's brightness and contrast are first matched to the training photos'. The filter peers' "
        "settings are chosen on the CUHK training pairs and scaled with the crop's width.",
        "",
        "| method | kind | CUHK SSIM (n=100) | ours - row, CUHK SSIM (95% CI) | CUHK PSNR | CUHK FSIM | "
        "AR SSIM (n=23) | AR PSNR | AR FSIM |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| **ours ({result['model']})** | model | **{_fmt(m['ssim'])}** | | {_fmt(m['psnr'], 2)} | "
        f"{_fsim(m, 'fsim')} | {_fmt(m['ssim_ar'])} | {_fmt(m['psnr_ar'], 2)} | {_fsim(m, 'fsim_ar')} |",
    ]
    for name, b in result["baselines"].items():
        diff = result.get("ssim_diff_vs_ours", {}).get(name)
        cell = f"{diff['mean']:+.4f} [{diff['ci95'][0]:+.4f}, {diff['ci95'][1]:+.4f}]" if diff else ""
        lines.append(
            f"| {name} | {b.get('kind', 'baseline')} | {_fmt(b['ssim'])} | {cell} | {_fmt(b['psnr'], 2)} | "
            f"{_fsim(b, 'fsim')} | {_fmt(b['ssim_ar'])} | {_fmt(b['psnr_ar'], 2)} | {_fsim(b, 'fsim_ar')} |"
        )
    better = [n for n, b in result["baselines"].items() if b["ssim"] >= m["ssim"]]
    tied = [n for n, d in result.get("ssim_diff_vs_ours", {}).items() if d["ci95"][0] <= 0 <= d["ci95"][1]]
    lines += [
        "",
        "Rows with a CUHK SSIM at least ours: " + (", ".join(better) if better else "none") + ".",
        "Rows not told apart from ours (the paired bootstrap 95% interval of the difference contains 0; it "
        "resamples the test images only, so it does not cover the spread between training seeds): "
        + (", ".join(tied) if tied else "none")
        + ".",
    ]
    lines += _identity_table(result)
    lines += _checkerboard_table(result)
    lines += [
        "",
        "The paper's CUHK SSIM (its own table; not re-measured here): "
        + ", ".join(f"{k} {v}" for k, v in PAPER.items())
        + ".",
        "",
        "![CUFS test faces: photo, ours, artist, dodge-and-burn, OpenCV pencilSketch](../images/sketch_cufs_grid.png)",
        "",
        "Real photos from outside CUFS (scikit-image's astronaut, FS2K test photos), detected and aligned to the "
        "CUFS framing:",
        "",
        "![real photos](../images/sketch_real.png)",
        "",
    ]
    write_text_atomic(path, "\n".join(lines))


def _identity_table(result: dict) -> list[str]:
    """Identity kept on real photos, for every row measured on them."""
    if "real_photos" not in result:
        return []
    m = result["metrics"]
    rows = [(f"**ours ({result['model']})**", m)] + [
        (name, b) for name, b in result["baselines"].items() if "id_top1_real" in b
    ]
    return [
        "",
        "Real photos: " + result["real_photos"]["set"] + ". `id_top1_real`: the share of outputs whose "
        "nearest photo among all of them is their own; `id_dist_real`: the mean descriptor distance "
        "output -> photo (dlib's same-person threshold is 0.6). The grayscale photo is the ceiling; the "
        "mean training sketch is chance.",
        "",
        "",
        "Style: " + result["real_photos"].get("kid", "no KID measured") + "; lower is closer to the artists "
        "(x 1e3 in the table).",
        "",
        "| method | id_top1_real | id_dist_real | KID x 1e3 vs artists |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {r['id_top1_real']:.3f} | {r['id_dist_real']:.3f} | "
            + (f"{1e3 * r['kid']:.1f} |" if "kid" in r else "|")
            for name, r in rows
        ],
    ]


def _checkerboard_table(result: dict) -> list[str]:
    """The Nyquist spike of every row that was measured for it (rows scored before it was: none)."""
    board = result.get("checkerboard")
    if not board:
        return []
    m = result["metrics"]
    rows = [(f"**ours ({result['model']})**", m)] + [
        (name, b) for name, b in result["baselines"].items() if "spike_fs2k" in b
    ]
    lines = [
        "",
        "Checkerboard: the Nyquist spike of the output, the mean DFT magnitude on the Nyquist row and column "
        f"over that on the rows and columns {board['neighbour_band_bins'][0]} to "
        f"{board['neighbour_band_bins'][1]} bins away (`portraitcli.metrics.spectrum.nyquist_spike`; 1.0: no "
        f"period-2 pattern; the artists' CUHK test sketches: {_fmt(board['artist_cuhk'], 2)}). FS2K: "
        f"{board['spike_fs2k']}.",
        "",
        "| method | CUHK test photos | FS2K test photos |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {_fmt(r['spike_cuhk'], 2)} | {_fmt(r['spike_fs2k'], 2)} |" for name, r in rows]
    return lines


def run(
    data: Path,
    model_path: Path | None = None,
    compare: dict[str, Path] | None = None,
    out_dir: Path = Path("docs/benchmarks"),
    images_dir: Path | None = Path("docs/images"),
    n_real: int = N_REAL,
    peers: bool = True,
) -> dict:
    """Score the shipped (or given) model, the training-free peers and the ``compare`` models;
    write ``sketch.json``, ``sketch.md`` and ``sketch_per_image.csv`` into ``out_dir``.

    Args:
        data: the datasets folder (holds ``cufs/`` and ``fs2k/``).
        model_path: an ONNX file; None = the shipped sketch model (sha256-checked).
        compare: {name: ONNX file with the sketch model's contract}, scored beside it.
        out_dir: where the report goes.
        images_dir: where the picture grids go; None skips them.
        n_real: FS2K test photos (evenly spaced; all 1,045 by default) on which identity is
            measured (:func:`~portraitcli.evaluation.sketch.real_photo_identity`).
        peers: score the filter peers, the exposure-matched run and the previous models beside
            the model; False scores the model and the grayscale photo (the identity ceiling)
            only, several times faster (a check of the model, not the docs' table).

    Returns:
        The result dict written to ``sketch.json``.
    """
    from portraitcli.runtime.weights import find_model, sha256_of, verify

    shipped = model_path is None
    spec = find_model("sketch") if shipped else None
    if spec is not None:
        model_path, model_name = verify(spec), spec.name
        size = spec.template.size if spec.template is not None else None
    else:
        model_name, size = model_path.name, model_size(model_path)
    tests = load_test_sets(data)
    ours = onnx_generator(model_path, size=size)
    previous = previous_models(spec) if spec is not None and peers else {}
    compare = {**previous, **(compare or {})}
    per_image: dict[str, dict] = {}

    fs2k = [a.crop for _, a in real_faces(data, N_FS2K_SPIKE)]  # the model's own output, unblanked

    def both(generate: Generator, label: str) -> dict:
        cuhk, ar = score(generate, tests["cuhk"]), score(generate, tests["ar"])
        per_image[label] = {**cuhk["per_image"], **ar["per_image"]}
        return {
            "ssim": cuhk["ssim"],
            "psnr": cuhk["psnr"],
            "ssim_ar": ar["ssim"],
            "psnr_ar": ar["psnr"],
            "fsim": cuhk["fsim"],
            "fsim_ar": ar["fsim"],
            "spike_cuhk": cuhk["spike"],
            "spike_fs2k": float(np.mean([nyquist_spike(generate(crop)) for crop in fs2k])),
            "ssim_std": cuhk["ssim_std"],
            "psnr_std": cuhk["psnr_std"],
            "ssim_ar_std": ar["ssim_std"],
            "psnr_ar_std": ar["psnr_std"],
        }

    result: dict = {
        "task": "sketch",
        "model": model_name,
        "sha256": sha256_of(model_path),
        "dataset": "CUFS (CUHK student test: 100 pairs; AR test: 23 pairs)",
        "split": "test",
        "n": len(tests["cuhk"].photos),
        "n_ar": len(tests["ar"].photos),
    }
    metrics = both(ours, "ours")
    result["metrics"] = {
        k: metrics[k] for k in ("ssim", "psnr", "fsim", "ssim_ar", "psnr_ar", "fsim_ar", "spike_cuhk", "spike_fs2k")
    }
    result["checkerboard"] = {  # the Nyquist spike of the outputs; its settings apart from the SSIM protocol's
        "measure": "portraitcli.metrics.spectrum.nyquist_spike on the 8-bit 200x250 output (1.0: no spike)",
        "neighbour_band_bins": list(NEIGHBOUR_BAND),
        "spike_cuhk": "the 100 CUHK test photos",
        "spike_fs2k": f"{len(fs2k)} of {N_FS2K_SPIKE} FS2K test photos (evenly spaced; the others had no face), "
        "detected and aligned to the CUFS framing",
        "artist_cuhk": float(np.mean([nyquist_spike(s) for s in tests["cuhk"].sketches])),
    }
    result["spread"] = {k: metrics[k] for k in metrics if k.endswith("_std")}
    settings_chosen = configure_peers(data) if peers else {}
    base = baselines(data, settings_chosen)
    if not peers:
        base = {name: base[name] for name in ("grayscale photo",)}
    result["baselines"] = {}
    matched_row = peers and spec is not None and spec.template is not None and spec.template.exposure is not None
    if matched_row:
        matched = onnx_generator(model_path, template=spec.template, size=size)
        result["baselines"][MATCHED] = {**both(matched, MATCHED), "kind": "model"}
    result["baselines"] |= {name: {**both(g, name), "kind": "baseline"} for name, g in base.items()}
    others = {
        name: onnx_generator(path, size=model_size(path) or _manifest_size(path)) for name, path in compare.items()
    }
    for name, generate in others.items():
        result["baselines"][name] = {**both(generate, name), "kind": "model"}
    if compare:
        result["compared"] = {name: {"file": str(path), "sha256": sha256_of(path)} for name, path in compare.items()}
    cuhk_names = tests["cuhk"].names
    ours_ssim = np.array([per_image["ours"][n]["ssim"] for n in cuhk_names])
    result["ssim_diff_vs_ours"] = {  # paired bootstrap over the CUHK test images (a sibling of "baselines")
        name: paired_difference(ours_ssim, np.array([per_image[name][n]["ssim"] for n in cuhk_names]))
        for name in result["baselines"]
    }
    result["paper_ssim_cuhk"] = PAPER
    result["settings"] = {**settings(), "peers": {"chosen on": "CUHK training SSIM", **settings_chosen}}
    generators = {"ours": ours, **base, **others}
    if MATCHED in result["baselines"]:
        generators[MATCHED] = onnx_generator(model_path, template=spec.template, size=size)
    template = find_model("sketch").template if spec is None else spec.template
    faces = real_faces(data, n_real)
    identity = real_photo_identity(generators, faces, template)
    kid_faces = faces[:: max(1, len(faces) // N_KID)][:N_KID]
    artists = tests["cuhk"].sketches + tests["ar"].sketches
    kid = style_kid(generators, kid_faces, artists)
    result["metrics"].update({k: v for k, v in identity.pop("ours").items() if k != "n_real"})
    result["metrics"]["kid"] = kid.pop("ours")["kid"]
    for name, scores in identity.items():
        result["baselines"][name].update(scores)
        result["baselines"][name].update(kid[name])
    result["real_photos"] = {
        "set": f"FS2K test photos with a detected face ({result['baselines']['grayscale photo']['n_real']} of "
        f"{n_real} asked), aligned to the sketch template; dlib descriptors at the template's face box",
        "kid": f"KID of the sketches of {len(kid_faces)} of these photos (evenly spaced) against the "
        f"{len(artists)} artists' CUFS test sketches (CUHK and AR), TF-Inception pool3 features",
    }
    if spec is not None:
        result["manifest_metrics"] = manifest_block(
            model_name,
            result["sha256"],
            result["metrics"],
            "CUFS test: CUHK student 100 pairs (ssim, psnr, spike_cuhk), AR 23 pairs (ssim_ar, psnr_ar); "
            "spike_fs2k: FS2K test photos aligned to the CUFS framing (the Nyquist spike of the outputs, 1.0: none)",
            "portrait benchmark sketch",
        )

    rows = (
        [label, img, f"{v['ssim']:.6f}", f"{v['psnr']:.4f}"]
        for label, values in per_image.items()
        for img, v in values.items()
    )
    write_report(out_dir, "sketch", result, write_markdown, (["method", "image", "ssim", "psnr"], rows))
    if images_dir is not None:
        images_dir.mkdir(parents=True, exist_ok=True)
        cufs_grid(tests["cuhk"], ours, base, images_dir / "sketch_cufs_grid.png")
        template = spec.template if spec is not None else None
        real_photos_grid(data, model_path, images_dir / "sketch_real.png", template=template, peers={**base, **others})
    return result
